//! Generalized randomized response (k-RR, "direct encoding").
//!
//! Warner 1965; Kairouz, Oh, Viswanath 2014; analysed as a pure protocol in Wang et al.,
//! USENIX Security 2017. The device reports its true index with probability
//! `p = e^ε/(e^ε+k−1)` and each other index with `q = 1/(e^ε+k−1)`.
//! `Var* = (e^ε+k−2)/(e^ε−1)²`. Report: one `u32` (8 bytes with the tag).
//! Encode O(1); fold O(1); estimate O(k).

use crate::error::ConfigError;
use crate::error::ReportError;
use crate::math::{LikelihoodRatio, PureParams, Threshold};
use crate::mechanism::check_domain_size;
use crate::mechanism::family::{MechanismFamily, check_index, wrong_variant};
use crate::mechanism::{Mechanism, MechanismKind};
use crate::report::Report;

/// Largest domain GRR accepts (its variance grows linearly in k; beyond this use OLH).
pub const MAX_K: u32 = 1 << 20;

/// Validated GRR parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrrParams {
    /// Domain size.
    pub k: u32,
    /// Probability of reporting the true index, as a threshold rounded down.
    pub keep: Threshold,
}

impl GrrParams {
    /// GRR for ε over `k` values.
    pub fn new(epsilon: f64, k: u32) -> Result<Self, ConfigError> {
        check_domain_size(k, MAX_K, "grr")?;
        Ok(Self {
            k,
            keep: keep_threshold(epsilon, k),
        })
    }

    /// Exact (p, q): `p = t/2^64`, `q = (1 − p)/(k − 1)`.
    pub fn pure(&self) -> PureParams {
        PureParams {
            p: self.keep.probability(),
            q: self.keep.complement() / f64::from(self.k - 1),
        }
    }

    /// `P[y = v | v] / P[y = v | u]` = `t·(k−1) / (2^64 − t)`.
    pub fn likelihood_ratio(&self) -> LikelihoodRatio {
        keep_ratio(self.keep, self.k)
    }
}

impl MechanismFamily for GrrParams {
    fn kind(&self) -> MechanismKind {
        MechanismKind::Grr
    }

    fn resolved(&self) -> Mechanism {
        Mechanism::Grr
    }

    fn k(&self) -> u32 {
        self.k
    }

    fn pure(&self) -> PureParams {
        GrrParams::pure(self)
    }

    fn likelihood_ratio(&self) -> Option<LikelihoodRatio> {
        Some(GrrParams::likelihood_ratio(self))
    }

    /// Tag and index: 8 bytes.
    fn report_bytes(&self) -> usize {
        4 + 4
    }

    /// The index is below k.
    fn check_report(&self, report: &Report) -> Result<(), ReportError> {
        match report {
            Report::Grr(r) => check_index(r.value, self.k),
            other => Err(wrong_variant(self, other)),
        }
    }
}

/// The "keep the true value" threshold of randomized response over `k` outputs, rounded down:
/// shared by GRR and local hashing (which runs GRR over its `g` hash buckets).
pub(crate) fn keep_threshold(epsilon: f64, k: u32) -> Threshold {
    let e = libm::exp(epsilon);
    Threshold::at_most(e / (e + f64::from(k) - 1.0))
}

/// Likelihood ratio of randomized response over `k` outputs with keep threshold `t`.
pub(crate) fn keep_ratio(keep: Threshold, k: u32) -> LikelihoodRatio {
    LikelihoodRatio {
        numerator: (u128::from(keep.0), u128::from(k - 1)),
        denominator: ((1u128 << 64) - u128::from(keep.0), 1),
    }
}
