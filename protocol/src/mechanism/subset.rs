//! Subset Selection (k-subset): the lowest-variance frequency oracle known for small domains.
//!
//! Wang et al., "Mutual information optimally local private discrete distribution estimation"
//! (2016); Ye and Barg, "Optimal schemes for discrete distribution estimation under locally
//! differential privacy", IEEE Trans. Inf. Theory 2018. The device reports a set Z of w distinct
//! values: its own with probability `p = w·e^ε/(w·e^ε + k − w)` plus w − 1 others uniformly,
//! otherwise w others uniformly. Every set holding the value is then e^ε times as likely as
//! every set without it. A report supports every value it holds, so as a pure protocol
//! `p = w·e^ε/(w·e^ε + k − w)` and `q = (p·(w − 1) + (1 − p)·w)/(k − 1)`.
//!
//! The set size minimizing `Var* = q(1−q)/(p−q)²` is close to `k/(e^ε + 1)`; [`optimal_w`]
//! evaluates the integers around it. Report: the w values, strictly increasing `u32`s
//! (`12 + 4w` bytes with the tag). Encode O(w) draws and O(k/64) words; fold O(w).

use crate::error::ConfigError;
use crate::error::ReportError;
use crate::math::{LikelihoodRatio, PureParams, Threshold};
use crate::mechanism::check_domain_size;
use crate::mechanism::family::{MechanismFamily, check_subset, wrong_variant};
use crate::mechanism::{Mechanism, MechanismKind};
use crate::report::Report;

/// Largest domain Subset Selection accepts; reports grow as k/(e^ε + 1) values.
pub const MAX_K: u32 = 1 << 16;

/// Validated Subset Selection parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubsetParams {
    /// Domain size.
    pub k: u32,
    /// Values per report, `1 ≤ w < k`.
    pub w: u32,
    /// Probability that the true value is in the set (rounded down).
    pub include: Threshold,
}

/// `Var*` of Subset Selection with set size `w` (floating point, for choosing w).
fn var_star(epsilon: f64, k: u32, w: u32) -> f64 {
    let (k, w) = (f64::from(k), f64::from(w));
    let e = libm::exp(epsilon);
    let p = w * e / (w * e + k - w);
    let q = (p * (w - 1.0) + (1.0 - p) * w) / (k - 1.0);
    q * (1.0 - q) / ((p - q) * (p - q))
}

/// The set size with the smallest variance among the integers near `k/(e^ε + 1)`.
pub fn optimal_w(epsilon: f64, k: u32) -> u32 {
    if k < 3 {
        return 1;
    }
    let center = f64::from(k) / (libm::exp(epsilon) + 1.0);
    let center = if center.is_finite() { center } else { 1.0 };
    let low = (libm::floor(center) as i64 - 2).max(1) as u32;
    let high = (libm::ceil(center) as i64 + 2).min(i64::from(k) - 1) as u32;
    let mut best = low;
    for w in low..=high {
        if var_star(epsilon, k, w) < var_star(epsilon, k, best) {
            best = w;
        }
    }
    best
}

impl SubsetParams {
    /// Subset Selection for ε over `k` values with sets of `w` values (`None`: optimal).
    pub fn new(epsilon: f64, k: u32, w: Option<u32>) -> Result<Self, ConfigError> {
        check_domain_size(k, MAX_K, "ss")?;
        let w = w.unwrap_or_else(|| optimal_w(epsilon, k));
        if !(1..k).contains(&w) {
            return Err(ConfigError::SubsetSizeOutOfRange { w, k });
        }
        let e = libm::exp(epsilon);
        let wf = f64::from(w);
        let include = Threshold::at_most(wf * e / (wf * e + f64::from(k) - wf));
        Ok(Self { k, w, include })
    }

    /// Exact (p, q): `p = t/2^64`, `q = (p(w − 1) + (1 − p)w)/(k − 1)`.
    pub fn pure(&self) -> PureParams {
        let p = self.include.probability();
        let w = f64::from(self.w);
        PureParams {
            p,
            q: (p * (w - 1.0) + self.include.complement() * w) / f64::from(self.k - 1),
        }
    }

    /// `P[Z | v] / P[Z | v']` for v ∈ Z, v' ∉ Z: `t·(k − w) / ((2^64 − t)·w)`.
    pub fn likelihood_ratio(&self) -> LikelihoodRatio {
        LikelihoodRatio {
            numerator: (u128::from(self.include.0), u128::from(self.k - self.w)),
            denominator: (
                (1u128 << 64) - u128::from(self.include.0),
                u128::from(self.w),
            ),
        }
    }

    /// 64-bit words of a bitset over the domain.
    pub const fn words(&self) -> usize {
        self.k.div_ceil(64) as usize
    }
}

impl MechanismFamily for SubsetParams {
    fn kind(&self) -> MechanismKind {
        MechanismKind::Ss
    }

    fn resolved(&self) -> Mechanism {
        Mechanism::Ss { w: Some(self.w) }
    }

    fn k(&self) -> u32 {
        self.k
    }

    fn pure(&self) -> PureParams {
        SubsetParams::pure(self)
    }

    fn likelihood_ratio(&self) -> Option<LikelihoodRatio> {
        Some(SubsetParams::likelihood_ratio(self))
    }

    /// Tag, length and w values.
    fn report_bytes(&self) -> usize {
        4 + 8 + 4 * self.w as usize
    }

    /// w strictly increasing values below k.
    fn check_report(&self, report: &Report) -> Result<(), ReportError> {
        match report {
            Report::Ss(r) => check_subset(&r.values, self.w, self.k),
            other => Err(wrong_variant(self, other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_optimal_size_beats_its_neighbours_and_oue_at_small_k() {
        for (k, eps) in [(16u32, 0.5f64), (16, 1.0), (64, 2.0), (1024, 1.0)] {
            let w = optimal_w(eps, k);
            let best = var_star(eps, k, w);
            for other in 1..k {
                assert!(
                    best <= var_star(eps, k, other) * (1.0 + 1e-12),
                    "k={k} ε={eps}"
                );
            }
        }
        // At k = 16 and ε = 1, OUE's 4e^ε/(e^ε−1)² is about 15% above Subset Selection's.
        let e = 1f64.exp();
        let oue = 4.0 * e / ((e - 1.0) * (e - 1.0));
        let ss = var_star(1.0, 16, optimal_w(1.0, 16));
        assert!(oue / ss > 1.1, "{}", oue / ss);
    }

    #[test]
    fn bad_sizes_are_refused() {
        assert!(SubsetParams::new(1.0, 16, Some(0)).is_err());
        assert!(SubsetParams::new(1.0, 16, Some(16)).is_err());
        assert!(SubsetParams::new(1.0, 2, None).is_ok());
    }
}
