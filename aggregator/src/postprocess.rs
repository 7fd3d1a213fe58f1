//! Consistency post-processing of unbiased estimates.
//!
//! Unbiased estimates can be negative and need not sum to n. **Norm-Sub** (Wang, Lopuhaä-Zwakenberg,
//! Chen, Li, "Locally Differentially Private Frequency Estimation with Consistency", NDSS 2020)
//! finds the δ with `Σ_v max(ĉ_v − δ, 0) = n` and returns `max(ĉ_v − δ, 0)`: non-negative, summing
//! to n, usually lower error on the whole vector — but **biased**, so it is always returned
//! beside the unbiased estimates, never instead of them.

/// Norm-Sub: non-negative counts summing to `n`, as close to `estimates` as a common shift allows.
pub fn norm_sub(estimates: &[f64], n: f64) -> Vec<f64> {
    if estimates.is_empty() {
        return Vec::new();
    }
    if n <= 0.0 {
        return vec![0.0; estimates.len()];
    }
    let mut sorted: Vec<f64> = estimates
        .iter()
        .map(|x| if x.is_nan() { 0.0 } else { *x })
        .collect();
    sorted.sort_by(|a, b| b.total_cmp(a));
    // The kept set is a prefix of the sorted values; find the longest prefix whose smallest
    // element stays above the shift that makes the prefix sum to n.
    let mut prefix = 0.0;
    let mut delta = sorted.first().copied().unwrap_or(0.0) - n;
    for (i, value) in sorted.iter().enumerate() {
        prefix += value;
        let candidate = (prefix - n) / (i as f64 + 1.0);
        if *value > candidate {
            delta = candidate;
        } else {
            break;
        }
    }
    estimates
        .iter()
        .map(|x| {
            if x.is_nan() {
                0.0
            } else {
                (x - delta).max(0.0)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_to_n_and_is_non_negative() {
        let est = [50.0, 30.0, -10.0, 5.0, -2.0];
        let out = norm_sub(&est, 60.0);
        let total: f64 = out.iter().sum();
        assert!((total - 60.0).abs() < 1e-9, "{out:?}");
        assert!(out.iter().all(|x| *x >= 0.0));
        // The shift is common: kept values keep their differences.
        assert!((out[0] - out[1] - 20.0).abs() < 1e-9);
        assert_eq!(out[2], 0.0);
    }

    #[test]
    fn raises_when_estimates_sum_below_n() {
        let out = norm_sub(&[10.0, 10.0], 40.0);
        assert_eq!(out, vec![20.0, 20.0]);
    }
}
