//! # ldp-tests
//!
//! End-to-end tests across the ldp-telemetry crates (the tests live in `tests/e2e/`), and the
//! statistical helpers they share: tolerances derived from the variance formulas, never tuned.

pub mod fuzz;
pub mod postgres;
pub mod server;
pub mod store_contract;
pub mod webdriver;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use statrs::distribution::{Beta, ChiSquared, ContinuousCDF};

/// A reproducible simulation RNG from a label and a repetition number.
pub fn seeded_rng(label: &str, rep: u64) -> ChaCha20Rng {
    let mut seed = [0u8; 32];
    for (i, b) in label.bytes().enumerate() {
        seed[i % 24] ^= b.rotate_left((i / 24) as u32);
    }
    seed[24..].copy_from_slice(&rep.to_le_bytes());
    ChaCha20Rng::from_seed(seed)
}

/// Two-sided interval `[lo, hi]` for a χ²(df) variable divided by df (a sample variance ratio)
/// with total tail probability `alpha`.
pub fn chi2_ratio_interval(df: f64, alpha: f64) -> (f64, f64) {
    let dist = ChiSquared::new(df).expect("df > 0");
    (
        dist.inverse_cdf(alpha / 2.0) / df,
        dist.inverse_cdf(1.0 - alpha / 2.0) / df,
    )
}

/// Checks repeated estimates of every value against the truth and the variance formula.
///
/// * mean: for every value, `|mean − c_v| ≤ z · sqrt(Var/R)` (Var from the formula with the
///   true c_v);
/// * variance: `T = Σ_v (R−1)·s²_v / Var_v` is χ²(k(R−1)) when the estimates of different values
///   are independent (exactly so for unary encoding and local hashing with per-report seeds;
///   GRR's correlations are O(1/(e^ε+k)) and change the spread of T by under 5%), so
///   `T / (k(R−1))` must lie in the two-sided χ² interval at level `alpha`.
///
/// Returns a description of the first violation.
pub struct RepeatedEstimates {
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
    reps: u64,
}

impl RepeatedEstimates {
    /// Empty, for `k` values.
    pub fn new(k: usize) -> Self {
        Self {
            sum: vec![0.0; k],
            sum_sq: vec![0.0; k],
            reps: 0,
        }
    }

    /// Adds one repetition's estimates.
    pub fn add(&mut self, estimates: &[f64]) {
        for ((s, q), x) in self.sum.iter_mut().zip(&mut self.sum_sq).zip(estimates) {
            *s += x;
            *q += x * x;
        }
        self.reps += 1;
    }

    /// Checks means within `z` standard errors and the pooled variance ratio within the χ²
    /// interval at `alpha`. `variance(v)` is the formula's variance of value v's estimate.
    pub fn check(
        &self,
        truth: &[u64],
        variance: impl Fn(usize) -> f64,
        z: f64,
        alpha: f64,
    ) -> Result<VarianceSummary, String> {
        let expected: Vec<f64> = truth.iter().map(|&c| c as f64).collect();
        self.check_expected(&expected, variance, z, alpha)
    }

    /// [`RepeatedEstimates::check`] against expected counts that need not be whole (a
    /// mechanism whose devices' own randomness decides which value they count towards).
    pub fn check_expected(
        &self,
        truth: &[f64],
        variance: impl Fn(usize) -> f64,
        z: f64,
        alpha: f64,
    ) -> Result<VarianceSummary, String> {
        let r = self.reps as f64;
        let mut t = 0.0;
        for (v, &c) in truth.iter().enumerate() {
            let mean = self.sum[v] / r;
            let var = variance(v);
            let se_mean = (var / r).sqrt();
            if (mean - c).abs() > z * se_mean {
                return Err(format!(
                    "value {v}: mean estimate {mean:.1} vs truth {c} is {:.2} standard errors off (limit {z})",
                    (mean - c) / se_mean
                ));
            }
            let sample_var = (self.sum_sq[v] - r * mean * mean) / (r - 1.0);
            t += sample_var / var;
        }
        let k = truth.len() as f64;
        let ratio = t / k;
        let (lo, hi) = chi2_ratio_interval(k * (r - 1.0), alpha);
        if ratio < lo || ratio > hi {
            return Err(format!(
                "empirical/theoretical variance ratio {ratio:.4} outside the chi-square interval [{lo:.4}, {hi:.4}] at alpha {alpha}"
            ));
        }
        Ok(VarianceSummary { ratio, lo, hi })
    }
}

/// The pooled variance ratio and its acceptance interval.
#[derive(Debug, Clone, Copy)]
pub struct VarianceSummary {
    /// Mean of empirical/theoretical variance over values.
    pub ratio: f64,
    /// Lower end of the acceptance interval.
    pub lo: f64,
    /// Upper end of the acceptance interval.
    pub hi: f64,
}

/// The two-sided Clopper–Pearson interval of `successes` out of `trials` at level 1 − alpha.
pub fn clopper_pearson(successes: u64, trials: u64, alpha: f64) -> (f64, f64) {
    let (s, t) = (successes as f64, trials as f64);
    let lo = if successes == 0 {
        0.0
    } else {
        Beta::new(s, t - s + 1.0).unwrap().inverse_cdf(alpha / 2.0)
    };
    let hi = if successes == trials {
        1.0
    } else {
        Beta::new(s + 1.0, t - s)
            .unwrap()
            .inverse_cdf(1.0 - alpha / 2.0)
    };
    (lo, hi)
}
