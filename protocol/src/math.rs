//! The shared math: integer Bernoulli thresholds, the "pure protocol" estimator and its variance.
//!
//! Every probability a client draws with is an integer threshold `t` out of 2^64 (the event is
//! "a uniform `u64` is `< t`"). Thresholds are rounded in the direction that gives **more**
//! privacy, with a margin that dwarfs floating-point error, so the effective ε computed from the
//! integers actually used never exceeds the configured ε. The aggregator debiases with the exact
//! probabilities of those integers ([`Threshold::probability`]), so rounding costs no bias.
//!
//! For a pure protocol (Wang et al., "Locally Differentially Private Protocols for Frequency
//! Estimation", USENIX Security 2017) with `P[support v | v] = p` and `P[support v | u != v] = q`,
//! the unbiased count estimate from the support count `S_v` over `n` reports is
//! `ĉ_v = (S_v − n·q) / (p − q)` with
//! `Var[ĉ_v] = n·q(1−q)/(p−q)² + c_v·(1−p−q)/(p−q)` ([`PureParams::count_variance`]).

use serde::{Deserialize, Serialize};

/// 2^64 as a float, the denominator of every [`Threshold`].
pub const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

/// Relative safety margin applied when rounding a probability to a threshold: 2^-40, far above
/// the few ulps of error in `exp` and a division, far below any statistical effect.
pub(crate) const MARGIN: f64 = 1.0 / 1_099_511_627_776.0;

/// A probability represented exactly as `t / 2^64`: a uniform `u64` below `t` is a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Threshold(pub u64);

impl Threshold {
    /// The largest threshold whose probability is at most `p` (less than `p` by a relative
    /// margin of 2^-40, so floating-point error in computing `p` can only make it smaller).
    /// Use it for "report the truth" probabilities.
    pub fn at_most(p: f64) -> Self {
        if p.is_nan() || p <= 0.0 {
            return Self(0);
        }
        let scaled = p * (1.0 - MARGIN) * TWO_POW_64;
        if scaled >= TWO_POW_64 {
            return Self(u64::MAX);
        }
        // `as` truncates toward zero: rounding down.
        Self(scaled as u64)
    }

    /// The smallest threshold whose probability is at least `p` (greater than `p` by a relative
    /// margin of 2^-40). Use it for "report a given false value" probabilities.
    pub fn at_least(p: f64) -> Self {
        if p.is_nan() || p <= 0.0 {
            return Self(0);
        }
        let scaled = libm::ceil(p * (1.0 + MARGIN) * TWO_POW_64);
        if scaled >= TWO_POW_64 {
            return Self(u64::MAX);
        }
        Self(scaled as u64)
    }

    /// The exact probability `t / 2^64`, as the nearest `f64`.
    pub fn probability(self) -> f64 {
        self.0 as f64 / TWO_POW_64
    }

    /// The exact complement `(2^64 − t) / 2^64`, as the nearest `f64`.
    pub fn complement(self) -> f64 {
        // 2^64 − t computed exactly in u128, then converted once.
        ((1u128 << 64) - u128::from(self.0)) as f64 / TWO_POW_64
    }
}

/// An exact likelihood ratio `numerator / denominator` of two output probabilities: the
/// worst-case `P[y | v] / P[y | v']` of a mechanism, from the integer thresholds it uses.
/// Effective ε = ln(ratio); tests compare it with e^ε in exact integer arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LikelihoodRatio {
    /// Numerator, a product of integers (may exceed 2^64, so it is kept as two factors).
    pub numerator: (u128, u128),
    /// Denominator, likewise a product of two factors.
    pub denominator: (u128, u128),
}

impl LikelihoodRatio {
    /// ln(ratio) rounded toward more privacy loss (upward by a relative 2^-40), for bookkeeping.
    pub fn epsilon_upper_bound(&self) -> f64 {
        let num = self.numerator.0 as f64 * self.numerator.1 as f64;
        let den = self.denominator.0 as f64 * self.denominator.1 as f64;
        if den == 0.0 {
            return f64::INFINITY;
        }
        let eps = libm::log(num / den);
        eps + eps.abs() * MARGIN + f64::EPSILON
    }
}

/// Parameters of a pure frequency oracle: `P[support v | v] = p`, `P[support v | u ≠ v] = q`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PureParams {
    /// Probability that a report supports its true value.
    pub p: f64,
    /// Probability that a report supports a given other value.
    pub q: f64,
}

impl PureParams {
    /// The unbiased count estimate `(S_v − n·q)/(p − q)`.
    #[inline]
    pub fn debias(&self, support: f64, n: f64) -> f64 {
        (support - n * self.q) / (self.p - self.q)
    }

    /// `Var[ĉ_v] = n·q(1−q)/(p−q)² + c_v·(1−p−q)/(p−q)` for `n` reports of which `c_v` hold v.
    pub fn count_variance(&self, n: f64, c_v: f64) -> f64 {
        let d = self.p - self.q;
        n * self.q * (1.0 - self.q) / (d * d) + c_v * (1.0 - self.p - self.q) / d
    }

    /// `Var* = q(1−q)/(p−q)²`: the variance of a count estimate per report, ignoring the
    /// `c_v` term (the reference figure of merit in DESIGN.md §4).
    pub fn var_star(&self) -> f64 {
        let d = self.p - self.q;
        self.q * (1.0 - self.q) / (d * d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_round_in_the_private_direction() {
        for p in [1e-9, 0.1, 0.25, 0.5, 0.75, 0.999_999] {
            let down = Threshold::at_most(p);
            let up = Threshold::at_least(p);
            assert!(down.probability() < p);
            assert!(up.probability() > p);
            // Within the 2^-40 margin plus one unit of the integer grid.
            let tolerance = 2e-12 + 1.0 / (p * TWO_POW_64);
            assert!(
                (down.probability() / p - 1.0).abs() < tolerance,
                "{p} {down:?}"
            );
            assert!((up.probability() / p - 1.0).abs() < tolerance, "{p} {up:?}");
        }
        assert_eq!(Threshold::at_most(0.0), Threshold(0));
        assert_eq!(Threshold::at_least(2.0), Threshold(u64::MAX));
    }

    #[test]
    fn variance_formula_matches_hand_computation() {
        let pp = PureParams { p: 0.5, q: 0.25 };
        // n q(1-q)/(p-q)^2 = 100 * 0.1875 / 0.0625 = 300; c(1-p-q)/(p-q) = 10 * 0.25/0.25 = 10.
        assert!((pp.count_variance(100.0, 10.0) - 310.0).abs() < 1e-9);
    }
}
