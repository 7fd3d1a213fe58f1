//! Unary encoding: SUE (basic one-time RAPPOR) and OUE (optimized unary encoding).
//!
//! Wang et al., USENIX Security 2017. The device sends k bits; the bit of its value is 1 with
//! probability p, every other bit with probability q, all independently.
//! SUE: `p = e^{ε/2}/(e^{ε/2}+1)`, `q = 1/(e^{ε/2}+1)`, `Var* = e^{ε/2}/(e^{ε/2}−1)²`.
//! OUE: `p = 1/2`, `q = 1/(e^ε+1)`, `Var* = 4e^ε/(e^ε−1)²`.
//! Report: `ceil(k/64)` little-endian `u64` words (bit i of the domain is bit `i % 64` of word
//! `i / 64`; padding bits are zero). Encode O(k/64) words; fold O(k/64) words; estimate O(k).

use crate::error::ConfigError;
use crate::error::ReportError;
use crate::math::{LikelihoodRatio, PureParams, Threshold};
use crate::mechanism::check_domain_size;
use crate::mechanism::family::{MechanismFamily, check_bits, wrong_variant};
use crate::mechanism::{Mechanism, MechanismKind};
use crate::plausibility::{FALSE_REJECTION, OnesRange};
use crate::report::Report;

/// Largest domain unary encoding accepts: a report is then 8 KiB.
pub const MAX_K: u32 = 1 << 16;

/// Validated unary-encoding parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnaryParams {
    /// Domain size (number of bits).
    pub k: u32,
    /// Probability that the true value's bit is 1 (rounded down).
    pub one_if_true: Threshold,
    /// Probability that any other bit is 1 (rounded up).
    pub one_if_false: Threshold,
    /// OUE (true) or SUE (false).
    pub optimized: bool,
    /// The number of ones an honest report holds but for a [`FALSE_REJECTION`] share: the
    /// collector counts only reports in this range ([`crate::plausibility`]).
    pub honest: OnesRange,
}

impl UnaryParams {
    /// SUE for ε over `k` values.
    pub fn symmetric(epsilon: f64, k: u32) -> Result<Self, ConfigError> {
        check_domain_size(k, MAX_K, "sue")?;
        let e = libm::exp(epsilon / 2.0);
        Ok(Self::with_honest_range(
            k,
            Threshold::at_most(e / (e + 1.0)),
            Threshold::at_least(1.0 / (e + 1.0)),
            false,
        ))
    }

    /// OUE for ε over `k` values.
    pub fn optimized(epsilon: f64, k: u32) -> Result<Self, ConfigError> {
        check_domain_size(k, MAX_K, "oue")?;
        let e = libm::exp(epsilon);
        Ok(Self::with_honest_range(
            k,
            Threshold::at_most(0.5),
            Threshold::at_least(1.0 / (e + 1.0)),
            true,
        ))
    }

    fn with_honest_range(k: u32, p: Threshold, q: Threshold, optimized: bool) -> Self {
        let pure = PureParams {
            p: p.probability(),
            q: q.probability(),
        };
        Self {
            k,
            one_if_true: p,
            one_if_false: q,
            optimized,
            honest: OnesRange::new(k, pure, FALSE_REJECTION),
        }
    }

    /// `(p', q')`: the per-bit probabilities among the reports the collector counts (those in
    /// the honest range), which its estimator uses; they differ from [`UnaryParams::pure`] by
    /// less than [`FALSE_REJECTION`].
    pub fn counted(&self) -> PureParams {
        self.honest.counted(self.k, self.pure())
    }

    /// Whether the collector counts a report with these bits (its ones in the honest range).
    #[inline]
    pub fn plausible(&self, bits: &[u64]) -> bool {
        let ones: u32 = bits.iter().map(|w| w.count_ones()).sum();
        self.honest.keeps(ones)
    }

    /// Number of 64-bit words in a report.
    pub const fn words(&self) -> usize {
        (self.k as usize).div_ceil(64)
    }

    /// Exact (p, q) of the thresholds.
    pub fn pure(&self) -> PureParams {
        PureParams {
            p: self.one_if_true.probability(),
            q: self.one_if_false.probability(),
        }
    }

    /// Worst case over outputs: `p(1−q) / ((1−p) q)` with the integer thresholds.
    pub fn likelihood_ratio(&self) -> LikelihoodRatio {
        let full = 1u128 << 64;
        let tp = u128::from(self.one_if_true.0);
        let tq = u128::from(self.one_if_false.0);
        LikelihoodRatio {
            numerator: (tp, full - tq),
            denominator: (full - tp, tq),
        }
    }
}

impl MechanismFamily for UnaryParams {
    fn kind(&self) -> MechanismKind {
        if self.optimized {
            MechanismKind::Oue
        } else {
            MechanismKind::Sue
        }
    }

    fn resolved(&self) -> Mechanism {
        if self.optimized {
            Mechanism::Oue
        } else {
            Mechanism::Sue
        }
    }

    fn k(&self) -> u32 {
        self.k
    }

    fn pure(&self) -> PureParams {
        UnaryParams::pure(self)
    }

    fn likelihood_ratio(&self) -> Option<LikelihoodRatio> {
        Some(UnaryParams::likelihood_ratio(self))
    }

    /// Tag, length and ⌈k/64⌉ words.
    fn report_bytes(&self) -> usize {
        4 + 8 + 8 * self.words()
    }

    /// Exactly ⌈k/64⌉ words, padding bits zero.
    fn check_report(&self, report: &Report) -> Result<(), ReportError> {
        match report {
            Report::Sue(r) if !self.optimized => check_bits(&r.bits, self.words(), self.k),
            Report::Oue(r) if self.optimized => check_bits(&r.bits, self.words(), self.k),
            other => Err(wrong_variant(self, other)),
        }
    }
}
