//! "What is trending", done honestly: which values' shares rose significantly between a
//! baseline and the latest epoch.
//!
//! For every value v, the share estimate is `ŝ = ĉ_v / n` with variance `Var(ĉ_v) / n²` from the
//! mechanism's variance formula. The two periods hold disjoint reports, so the difference has
//! variance `Var(ŝ_now) + Var(ŝ_base)` and
//!
//! ```text
//! z_v = (ŝ_now − ŝ_base) / sqrt(Var(ŝ_now) + Var(ŝ_base))
//! ```
//!
//! is approximately standard normal when the share did not change (n large: the estimates are
//! sums of independent reports). A value is reported when `z_v > Φ⁻¹(1 − α/k)`: a one-sided
//! test at level α with a Bonferroni correction over the k values tested, so the probability
//! that **any** unchanged value is reported is at most α (the family-wise false-positive
//! level). There is no other threshold.

use crate::alpha::Alpha;
use crate::error::AggregateError;
use crate::estimate::{Estimates, Z_95};

/// A value whose share rose significantly.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Trend {
    /// Domain index.
    pub index: u32,
    /// Estimated share in the latest period.
    pub share_now: f64,
    /// Its 95% interval.
    pub share_now_ci95: [f64; 2],
    /// Estimated share over the baseline period.
    pub share_baseline: f64,
    /// Its 95% interval.
    pub share_baseline_ci95: [f64; 2],
    /// The z-score of the rise.
    pub z: f64,
}

/// The outcome of a trending test.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrendingReport {
    /// Family-wise false-positive level α.
    pub alpha: f64,
    /// Values tested (k).
    pub tested: usize,
    /// The z-score a rise must exceed: `Φ⁻¹(1 − α/k)`.
    pub z_threshold: f64,
    /// Reports in the latest period.
    pub n_now: u64,
    /// Reports in the baseline period.
    pub n_baseline: u64,
    /// The significant rises, largest z first.
    pub rising: Vec<Trend>,
}

/// Compares `now` with `baseline` (estimates of the same campaign over disjoint periods) and
/// returns the values whose share rose significantly at family-wise level `alpha`.
pub fn trending(
    now: &Estimates,
    baseline: &Estimates,
    alpha: Alpha,
) -> Result<TrendingReport, AggregateError> {
    if now.values.len() != baseline.values.len() || now.mechanism != baseline.mechanism {
        return Err(AggregateError::InvalidArgument(
            "the two periods belong to different campaigns".into(),
        ));
    }
    if now.values.is_empty() {
        // An open domain: no values, and Φ⁻¹(1 − α/0) would be undefined.
        return Err(AggregateError::InvalidArgument(
            "there are no values to test (an open domain has none)".into(),
        ));
    }
    if now.n == 0 || baseline.n == 0 {
        return Err(AggregateError::InvalidArgument(
            "both periods need reports".into(),
        ));
    }
    let tested = now.values.len();
    let z_threshold = alpha.z_threshold(tested);
    let (n_now, n_base) = (now.n as f64, baseline.n as f64);
    let mut rising: Vec<Trend> = now
        .values
        .iter()
        .zip(&baseline.values)
        .filter_map(|(a, b)| {
            let (s_now, se_now) = (a.count / n_now, a.std_error / n_now);
            let (s_base, se_base) = (b.count / n_base, b.std_error / n_base);
            let se = (se_now * se_now + se_base * se_base).sqrt();
            let z = (s_now - s_base) / se;
            (se > 0.0 && z > z_threshold).then_some(Trend {
                index: a.index,
                share_now: s_now,
                share_now_ci95: [s_now - Z_95 * se_now, s_now + Z_95 * se_now],
                share_baseline: s_base,
                share_baseline_ci95: [s_base - Z_95 * se_base, s_base + Z_95 * se_base],
                z,
            })
        })
        .collect();
    rising.sort_by(|a, b| b.z.total_cmp(&a.z));
    Ok(TrendingReport {
        alpha: alpha.get(),
        tested,
        z_threshold,
        n_now: now.n,
        n_baseline: baseline.n,
        rising,
    })
}

#[cfg(test)]
mod tests {
    use ldp_protocol::MechanismKind;

    use super::*;
    use crate::estimate::ValueEstimate;

    fn estimates(n: u64, values: Vec<ValueEstimate>) -> Estimates {
        Estimates {
            mechanism: MechanismKind::Rappor,
            n,
            values,
        }
    }

    fn value(index: u32, count: f64, std_error: f64) -> ValueEstimate {
        ValueEstimate {
            index,
            count,
            std_error,
            ci95_low: count - Z_95 * std_error,
            ci95_high: count + Z_95 * std_error,
            norm_sub_count: count.max(0.0),
        }
    }

    #[test]
    fn no_values_to_test_is_an_error_not_a_panic() {
        let empty = estimates(100, Vec::new());
        assert!(matches!(
            trending(&empty, &empty, Alpha::DEFAULT),
            Err(AggregateError::InvalidArgument(_))
        ));
    }

    #[test]
    fn zero_counts_and_zero_standard_errors_report_nothing() {
        let zeros = estimates(100, vec![value(0, 0.0, 0.0), value(1, 0.0, 0.0)]);
        let report = trending(&zeros, &zeros, Alpha::DEFAULT).unwrap();
        assert!(report.rising.is_empty());
        assert_eq!(report.tested, 2);
        let none = estimates(0, vec![value(0, 0.0, 0.0), value(1, 0.0, 0.0)]);
        assert!(trending(&none, &zeros, Alpha::DEFAULT).is_err());
    }
}
