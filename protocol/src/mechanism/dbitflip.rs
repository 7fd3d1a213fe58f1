//! dBitFlip: a memoized histogram of a number, for numeric campaigns that devices report
//! epoch after epoch.
//!
//! Ding, Kulkarni, Yekhanin, "Collecting Telemetry Data Privately", NeurIPS 2017 (deployed in
//! Windows telemetry). The campaign's range [lo, hi] carries `k` evenly spaced points
//! `g_0 = lo, …, g_{k−1} = hi`; in units of `t ∈ [−1, 1]` point j is `t_j = −1 + 2j/(k − 1)`.
//! A device draws, once per campaign and from its secret, a rounding offset α ∈ [0, 1) and d of
//! the k points (without replacement). Then per report:
//!
//! - **α-point rounding.** A value between two points, `t_l ≤ t ≤ t_{l+1}`, is rounded up to
//!   point `l + 1` when its fraction `(t − t_l)/(t_{l+1} − t_l)` exceeds α, else down to `l`.
//!   Over the devices' α the rounding is unbiased (`E[t_v] = t`), and one device's rounded
//!   value moves only when its value crosses the device's own α.
//! - **Bits.** One bit per sampled point j: 1 with probability `p = e^{ε/2}/(e^{ε/2} + 1)`
//!   when j is the rounded point v, with `q = 1 − p` otherwise. Two values change at most two
//!   bits, so a report's likelihood ratio is `(p/q)² ≤ e^ε` (`p` is an integer threshold,
//!   rounded down, and `q` its exact complement).
//!
//! **Memoization.** Every point other than v gets the same distribution whatever v is, so a
//! report depends on the value only through which of the device's d points it rounds to, or
//! none: d + 1 possible responses, each drawn once from the device secret and repeated
//! exactly. A device whose rounded value stays in one of those cases sends the same bits every
//! epoch; over its life it reveals one ε-private response per case it has been in, at most
//! `min(changes + 1, d + 1)·ε`. So ε∞ = ε.
//!
//! **Estimation.** For point v, with `n_v` the reports whose device sampled v and `o_v` those
//! of them with bit 1, the count estimate `ĉ_v = (k/d)·(o_v − q·n_v)/(p − q)` is unbiased over
//! the devices' samples and bits, with variance
//! `(k/d)·(c_v·(p³ + q³) + (n − c_v)·p·q)/(p − q)² − c_v`. The mean of t is
//! `Σ_v ĉ_v·t_v / n` — unbiased for the mean of the values clamped into the range, since the
//! rounding is — and one device's contribution `Z = (k/d)·Σ_{j ∈ S} t_j(b_j − q)/(p − q)` has
//! `E[Z²] = (k/d)·(p·q·Σ_j t_j² + (p³ + q³ − p·q)·E[t_v²])/(p − q)²` ([`DBitFlipParams::variance`]).
//!
//! Report: the d sampled points (`u32`, strictly increasing) and the bits (`u64`, bit i for the
//! i-th point): `12 + 4d + 8` bytes whatever the value. Encode O(d); fold O(d); estimate O(k).

use crate::error::{ConfigError, ReportError};
use crate::math::{LikelihoodRatio, PureParams, Threshold};
use crate::mechanism::family::{MechanismFamily, check_subset, wrong_variant};
use crate::mechanism::{Mechanism, MechanismKind};
use crate::report::Report;
use serde::{Deserialize, Serialize};

/// Points when none are given.
pub const DEFAULT_POINTS: u32 = 32;
/// Most points.
pub const MAX_POINTS: u32 = 4096;
/// Points sampled per device when none are given.
pub const DEFAULT_SAMPLED: u32 = 4;
/// Most points sampled per device (the bits fit one word).
pub const MAX_SAMPLED: u32 = 64;

/// dBitFlip as written in a campaign: `{"dbitflip": {"points": 32, "sampled": 4}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DBitFlipSpec {
    /// Evenly spaced points k over the range, ends included (default 32).
    #[serde(default)]
    pub points: Option<u32>,
    /// Points d each device samples and reports a bit for (default 4, at most k and 64).
    #[serde(default)]
    pub sampled: Option<u32>,
}

/// Validated dBitFlip parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DBitFlipParams {
    /// Points k.
    pub points: u32,
    /// Points sampled per device, d.
    pub sampled: u32,
    /// `p = e^{ε/2}/(e^{ε/2} + 1)`, rounded down: a bit's probability of 1 at the device's
    /// rounded point (elsewhere `q = 1 − p`).
    pub keep: Threshold,
}

impl DBitFlipParams {
    /// dBitFlip at ε (per report) with the spec's points and samples.
    pub fn new(spec: &DBitFlipSpec, epsilon: f64) -> Result<Self, ConfigError> {
        let points = spec.points.unwrap_or(DEFAULT_POINTS);
        if !(2..=MAX_POINTS).contains(&points) {
            return Err(ConfigError::InvalidNumeric(
                "dbitflip needs 2 to 4096 points",
            ));
        }
        let sampled = spec.sampled.unwrap_or(DEFAULT_SAMPLED).min(points);
        if !(1..=MAX_SAMPLED).contains(&sampled) || spec.sampled.is_some_and(|d| d > points) {
            return Err(ConfigError::InvalidNumeric(
                "dbitflip samples 1 to 64 points per device, and at most its points",
            ));
        }
        let e = libm::exp(epsilon / 2.0);
        let keep = Threshold::at_most(e / (e + 1.0));
        if keep.probability() <= 0.5 {
            return Err(ConfigError::InvalidNumeric(
                "epsilon too small for dbitflip's thresholds",
            ));
        }
        Ok(Self {
            points,
            sampled,
            keep,
        })
    }

    /// `(p, q)` of one bit from the threshold.
    pub fn bit_probabilities(&self) -> (f64, f64) {
        (self.keep.probability(), self.keep.complement())
    }

    /// The position of point j in units of t: `−1 + 2j/(k − 1)`.
    #[inline]
    pub fn point(&self, j: u32) -> f64 {
        -1.0 + 2.0 * f64::from(j) / f64::from(self.points - 1)
    }

    /// The two points around t ∈ [−1, 1] and the fraction of the way from the lower to the
    /// upper: `(l, f)` with `t = t_l + f·(t_{l+1} − t_l)`, `0 ≤ f ≤ 1`, `l + 1 < k`.
    pub fn bracket(&self, t: f64) -> (u32, f64) {
        let span = f64::from(self.points - 1);
        let position = ((t.clamp(-1.0, 1.0) + 1.0) / 2.0 * span).clamp(0.0, span);
        let lower = (libm::floor(position) as u32).min(self.points - 2);
        (lower, (position - f64::from(lower)).clamp(0.0, 1.0))
    }

    /// `(k/d)/(p − q)²`: the scale of one sampled bit's contribution to a count.
    fn scale(&self) -> f64 {
        let (p, q) = self.bit_probabilities();
        f64::from(self.points) / f64::from(self.sampled) / ((p - q) * (p - q))
    }

    /// `(E[(b − q)²] at the device's point, elsewhere) = (p³ + q³, p·q)`.
    fn bit_moments(&self) -> (f64, f64) {
        let (p, q) = self.bit_probabilities();
        (p * p * p + q * q * q, p * q)
    }

    /// The variance of the count estimate of a point that `count` of `n` reports round to.
    pub fn count_variance(&self, count: f64, n: f64) -> f64 {
        let (at, elsewhere) = self.bit_moments();
        self.scale() * (count * at + (n - count) * elsewhere) - count
    }

    /// The exact variance of one device's estimate Z of its t (units of t), over its α, its
    /// sample and its bits: `E[Z²] − t²`.
    pub fn variance(&self, t: f64) -> f64 {
        let (lower, f) = self.bracket(t);
        let (low, high) = (self.point(lower), self.point(lower + 1));
        let rounded_square = (1.0 - f) * low * low + f * high * high;
        self.second_moment(rounded_square) - t * t
    }

    /// `E[Z²]` for a device whose rounded point's square has mean `rounded_square`.
    pub fn second_moment(&self, rounded_square: f64) -> f64 {
        let (at, elsewhere) = self.bit_moments();
        let all: f64 = (0..self.points)
            .map(|j| {
                let t = self.point(j);
                t * t
            })
            .sum();
        self.scale() * (elsewhere * all + (at - elsewhere) * rounded_square)
    }

    /// The worst-case ratio of one report: two bits flip, `(p/q)²`, exactly.
    pub fn likelihood_ratio(&self) -> LikelihoodRatio {
        let t = u128::from(self.keep.0);
        let rest = (1u128 << 64) - t;
        LikelihoodRatio {
            numerator: (t, t),
            denominator: (rest, rest),
        }
    }
}

impl MechanismFamily for DBitFlipParams {
    fn kind(&self) -> MechanismKind {
        MechanismKind::DBitFlip
    }

    fn resolved(&self) -> Mechanism {
        Mechanism::DBitFlip(DBitFlipSpec {
            points: Some(self.points),
            sampled: Some(self.sampled),
        })
    }

    /// 0: a numeric domain has no values to count (the points are the mechanism's own).
    fn k(&self) -> u32 {
        0
    }

    /// One bit's `(p, q)`.
    fn pure(&self) -> PureParams {
        let (p, q) = self.bit_probabilities();
        PureParams { p, q }
    }

    fn likelihood_ratio(&self) -> Option<LikelihoodRatio> {
        Some(DBitFlipParams::likelihood_ratio(self))
    }

    fn memoized(&self) -> bool {
        true
    }

    /// A response is repeated exactly, so what one response reveals is one report's ε.
    fn epsilon_permanent(&self) -> Option<f64> {
        Some(DBitFlipParams::likelihood_ratio(self).epsilon_upper_bound())
    }

    /// Tag, the points' length and the points, the bits: `12 + 4d + 8` bytes.
    fn report_bytes(&self) -> usize {
        4 + 8 + 4 * self.sampled as usize + 8
    }

    /// d strictly increasing points below k; no bit beyond the d-th.
    fn check_report(&self, report: &Report) -> Result<(), ReportError> {
        match report {
            Report::DBitFlip(r) => {
                check_subset(&r.points, self.sampled, self.points)?;
                if self.sampled < 64 && r.bits >> self.sampled != 0 {
                    return Err(ReportError::PaddingBitsSet);
                }
                Ok(())
            }
            other => Err(wrong_variant(self, other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(epsilon: f64, points: u32, sampled: u32) -> DBitFlipParams {
        let spec = DBitFlipSpec {
            points: Some(points),
            sampled: Some(sampled),
        };
        DBitFlipParams::new(&spec, epsilon).unwrap()
    }

    #[test]
    fn one_report_is_as_private_as_configured() {
        for epsilon in [0.05, 0.5, 1.0, 4.0, 20.0] {
            let p = params(epsilon, 16, 4);
            let eps = p.likelihood_ratio().epsilon_upper_bound();
            assert!(
                eps <= epsilon + 1e-9 && eps > epsilon - 1e-6,
                "{eps} vs {epsilon}"
            );
        }
    }

    #[test]
    fn the_rounding_brackets_every_value() {
        let p = params(1.0, 5, 2);
        assert_eq!(p.bracket(-1.0), (0, 0.0));
        assert_eq!(p.bracket(1.0), (3, 1.0));
        let (l, f) = p.bracket(0.25);
        assert_eq!(l, 2);
        assert!((f - 0.5).abs() < 1e-12);
        assert_eq!(p.bracket(f64::NAN).0, 0);
    }

    #[test]
    fn the_variance_is_the_sum_over_outcomes() {
        // k = 3 points, d = 1: enumerate the sampled point, the bit, and the rounding.
        let p = params(1.0, 3, 1);
        let (pp, q) = p.bit_probabilities();
        for t in [-1.0, -0.4, 0.0, 0.7, 1.0] {
            let (lower, f) = p.bracket(t);
            let mut mean = 0.0;
            let mut square = 0.0;
            for (v, weight) in [(lower, 1.0 - f), (lower + 1, f)] {
                for j in 0..3 {
                    for bit in [0.0, 1.0] {
                        let p1 = if j == v { pp } else { q };
                        let prob = weight / 3.0 * if bit == 1.0 { p1 } else { 1.0 - p1 };
                        let z = 3.0 * p.point(j) * (bit - q) / (pp - q);
                        mean += prob * z;
                        square += prob * z * z;
                    }
                }
            }
            assert!((mean - t).abs() < 1e-9, "t={t}: {mean}");
            assert!((square - t * t - p.variance(t)).abs() < 1e-9, "t={t}");
        }
    }

    #[test]
    fn bad_settings_are_refused() {
        for (points, sampled) in [(Some(1), None), (Some(5000), None), (Some(8), Some(9))] {
            let spec = DBitFlipSpec { points, sampled };
            assert!(DBitFlipParams::new(&spec, 1.0).is_err(), "{spec:?}");
        }
        let spec = DBitFlipSpec {
            points: Some(100),
            sampled: Some(65),
        };
        assert!(DBitFlipParams::new(&spec, 1.0).is_err());
        let spec = DBitFlipSpec {
            points: Some(2),
            sampled: None,
        };
        assert_eq!(DBitFlipParams::new(&spec, 1.0).unwrap().sampled, 2);
        assert_eq!(
            DBitFlipParams::new(&DBitFlipSpec::default(), 1.0)
                .unwrap()
                .report_bytes(),
            12 + 16 + 8
        );
    }
}
