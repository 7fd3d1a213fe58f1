//! Longitudinal unary encodings: L-SUE and L-OUE, for devices that report every epoch.
//!
//! Arcolezi, Couchot, Al Bouna, Xiao, "Improving the Utility of Locally Differentially Private
//! Protocols for Longitudinal and Multidimensional Frequency Estimates" (2022; L-GRR, L-SUE,
//! L-OUE and the mixed variants). The device one-hot encodes its value into k bits and
//! randomizes them twice:
//!
//! - the **permanent** response (PRR), memoized per value: a 1-bit stays 1 with `p1`, a 0-bit
//!   becomes 1 with `q1`, at ε∞ = ln(p1(1−q1)/(q1(1−p1))) — SUE's `p1 = e^{ε∞/2}/(e^{ε∞/2}+1)`,
//!   `q1 = 1 − p1` for L-SUE, OUE's `p1 = 1/2`, `q1 = 1/(e^ε∞+1)` for L-OUE;
//! - the **instantaneous** response (IRR) of the PRR per report: `p2`, `q2` of the same kind
//!   (symmetric for L-SUE; `p2 = 1/2` for L-OUE), chosen so that one report is ε₁-private
//!   (ε₁ < ε∞ is the campaign's `epsilon`).
//!
//! Everything one value's reports reveal together is bounded by ε∞ (its PRR), however many
//! reports the device sends; a device that changes value reveals one PRR per distinct value.
//!
//! **Probabilities.** One report's bit is 1 with `p = p1·p2 + (1−p1)·q2` where the true bit is
//! 1 and `q = q1·p2 + (1−q1)·q2` where it is 0: a pure protocol, `Var*` = q(1−q)/(p−q)², and
//! one report's ratio `p(1−q)/(q(1−p))`. The thresholds are kept at 48-bit precision (multiples
//! of 2^16), so that the exact ratio fits 128-bit factors; the IRR threshold is the one, found
//! by bisection over those integers, that puts the ratio as close below e^ε₁ as they allow.
//! Report: a unary report, `12 + 8⌈k/64⌉` bytes. Encode O(k/64) words; fold as SUE/OUE.

use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, ReportError};
pub use crate::limits::MAX_EPSILON_PERMANENT;
use crate::math::{LikelihoodRatio, PureParams, Threshold};
use crate::mechanism::check_domain_size;
use crate::mechanism::family::{MechanismFamily, check_bits, wrong_variant};
use crate::mechanism::{Mechanism, MechanismKind};
use crate::plausibility::{FALSE_REJECTION, OnesRange};
use crate::report::Report;

/// Largest domain (k bits per report, as SUE and OUE).
pub const MAX_K: u32 = 1 << 16;

/// The longitudinal parameters of a campaign: `{"l_oue": {"epsilon_permanent": 4}}`. The
/// campaign's `epsilon` is ε₁, the privacy of one report.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongitudinalSpec {
    /// ε∞, the bound on everything one value's reports reveal together (default: twice the
    /// campaign's ε); must exceed the campaign's ε and be at most
    /// [`MAX_EPSILON_PERMANENT`].
    #[serde(default)]
    pub epsilon_permanent: Option<f64>,
}

/// Validated L-SUE or L-OUE parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongitudinalUnaryParams {
    /// Domain size.
    pub k: u32,
    /// L-OUE (true) or L-SUE.
    pub optimized: bool,
    /// PRR: probability that a 1-bit stays 1 (p1).
    pub prr_one: Threshold,
    /// PRR: probability that a 0-bit becomes 1 (q1).
    pub prr_zero: Threshold,
    /// IRR: probability that a PRR 1-bit is reported 1 (p2).
    pub irr_one: Threshold,
    /// IRR: probability that a PRR 0-bit is reported 1 (q2).
    pub irr_zero: Threshold,
    /// ε∞ as configured, bit for bit (it goes into the canonical encoding).
    epsilon_permanent_bits: u64,
    /// The number of ones an honest report holds but for a [`FALSE_REJECTION`] share: the
    /// collector counts only reports in this range ([`crate::plausibility`]). A fresh device's
    /// report has every bit independent, the true one with p and the others with q (both
    /// responses chained), so the range is SUE's and OUE's for that (p, q).
    pub honest: OnesRange,
}

/// 2^48: the thresholds' scale once their low 16 bits are dropped.
const T: u128 = 1 << 48;

/// A threshold rounded down to a multiple of 2^16.
fn down(t: Threshold) -> Threshold {
    Threshold(t.0 & !0xffff)
}

/// A threshold rounded up to a multiple of 2^16 (at most 2^64 − 2^16).
fn up(t: Threshold) -> Threshold {
    Threshold(t.0.saturating_add(0xffff).min(u64::MAX - 0xffff) & !0xffff)
}

/// A threshold's 48-bit integer.
fn int(t: Threshold) -> u128 {
    u128::from(t.0 >> 16)
}

/// One report's exact ratio `p(1−q)/(q(1−p))` from the four 48-bit integers.
fn ratio(prr_one: u128, prr_zero: u128, irr_one: u128, irr_zero: u128) -> LikelihoodRatio {
    let p = prr_one * irr_one + (T - prr_one) * irr_zero;
    let q = prr_zero * irr_one + (T - prr_zero) * irr_zero;
    LikelihoodRatio {
        numerator: (p, T * T - q),
        denominator: (q, T * T - p),
    }
}

impl LongitudinalUnaryParams {
    /// L-SUE (`optimized` false) or L-OUE over `k` values with one report's ε₁ = `epsilon`
    /// and the spec's ε∞.
    pub fn new(
        spec: &LongitudinalSpec,
        epsilon: f64,
        k: u32,
        optimized: bool,
    ) -> Result<Self, ConfigError> {
        check_domain_size(k, MAX_K, if optimized { "l_oue" } else { "l_sue" })?;
        let invalid = ConfigError::InvalidLongitudinal;
        let eps_inf = spec.epsilon_permanent.unwrap_or(2.0 * epsilon);
        if !eps_inf.is_finite() || eps_inf > MAX_EPSILON_PERMANENT {
            return Err(invalid("epsilon_permanent must be finite and at most 40"));
        }
        if eps_inf <= epsilon {
            return Err(invalid(
                "epsilon_permanent must exceed the campaign's epsilon (one report's)",
            ));
        }
        let (prr_one, prr_zero) = if optimized {
            (
                Threshold(1 << 63),
                up(Threshold::at_least(1.0 / (libm::exp(eps_inf) + 1.0))),
            )
        } else {
            let e = libm::exp(eps_inf / 2.0);
            let one = down(Threshold::at_most(e / (e + 1.0)));
            // q1 = 1 − p1 exactly: 2^64 − t (a multiple of 2^16 too).
            (one, Threshold(0u64.wrapping_sub(one.0)))
        };
        let (irr_one, irr_zero) = irr(prr_one, prr_zero, optimized, epsilon);
        let mut params = Self {
            k,
            optimized,
            prr_one,
            prr_zero,
            irr_one,
            irr_zero,
            epsilon_permanent_bits: eps_inf.to_bits(),
            honest: OnesRange { lo: 0, hi: k },
        };
        if params.irr_one.0 <= params.irr_zero.0 {
            return Err(invalid(
                "epsilon and epsilon_permanent are too close for 48-bit thresholds",
            ));
        }
        // L-OUE's IRR keeps p2 = 1/2, so even q2 = 0 cannot give one report more than a
        // certain ε for a given ε∞; a campaign asking for more would silently get less.
        if params.likelihood_ratio().epsilon_upper_bound() < epsilon - 1e-3 {
            return Err(invalid(
                "l_oue cannot give one report this epsilon with this epsilon_permanent (its \
                 instantaneous response keeps half of the ones): raise epsilon_permanent or use \
                 l_sue",
            ));
        }
        params.honest = OnesRange::new(k, params.pure(), FALSE_REJECTION);
        Ok(params)
    }

    /// ε∞ as configured.
    pub fn epsilon_permanent(&self) -> f64 {
        f64::from_bits(self.epsilon_permanent_bits)
    }

    /// Words per report, ⌈k/64⌉.
    pub const fn words(&self) -> usize {
        self.k.div_ceil(64) as usize
    }

    /// Whether the collector counts a report with these bits (its ones in the honest range).
    #[inline]
    pub fn plausible(&self, bits: &[u64]) -> bool {
        let ones: u32 = bits.iter().map(|w| w.count_ones()).sum();
        self.honest.keeps(ones)
    }

    /// `(p', q')`: the per-bit probabilities among the reports the collector counts, which its
    /// estimator uses; they differ from [`LongitudinalUnaryParams::pure`] by less than
    /// [`FALSE_REJECTION`].
    pub fn counted(&self) -> PureParams {
        self.honest.counted(self.k, self.pure())
    }

    /// Exact (p, q) of one report from the thresholds.
    pub fn pure(&self) -> PureParams {
        let (p1, q1) = (self.prr_one.probability(), self.prr_zero.probability());
        let (p2, q2) = (self.irr_one.probability(), self.irr_zero.probability());
        PureParams {
            p: p1 * p2 + (1.0 - p1) * q2,
            q: q1 * p2 + (1.0 - q1) * q2,
        }
    }

    /// One report's worst-case ratio `p(1−q)/(q(1−p))`, in integers.
    pub fn likelihood_ratio(&self) -> LikelihoodRatio {
        ratio(
            int(self.prr_one),
            int(self.prr_zero),
            int(self.irr_one),
            int(self.irr_zero),
        )
    }

    /// The PRR's ratio `p1(1−q1)/(q1(1−p1))`, at most e^ε∞: what all of one value's reports
    /// reveal together.
    pub fn permanent_ratio(&self) -> LikelihoodRatio {
        let (p1, q1) = (int(self.prr_one), int(self.prr_zero));
        LikelihoodRatio {
            numerator: (p1, T - q1),
            denominator: (q1, T - p1),
        }
    }
}

/// The IRR thresholds that bring one report's ratio as close below e^ε₁ as 48-bit integers
/// allow: L-SUE's symmetric `(x, 1 − x)` with the largest x, L-OUE's `(1/2, y)` with the
/// smallest y. The ratio is monotone in x and y, so bisection finds them; a candidate is
/// accepted when its ratio, computed in `f64` (relative error about 10⁻¹⁵), is at most
/// `e^ε₁·(1 − 2⁻⁴⁰)`.
fn irr(
    prr_one: Threshold,
    prr_zero: Threshold,
    optimized: bool,
    epsilon: f64,
) -> (Threshold, Threshold) {
    let bound = libm::exp(epsilon) * (1.0 - 1.0 / 1_099_511_627_776.0);
    let (p1, q1) = (int(prr_one), int(prr_zero));
    let fits = |one: u128, zero: u128| {
        let r = ratio(p1, q1, one, zero);
        let num = r.numerator.0 as f64 * r.numerator.1 as f64;
        let den = r.denominator.0 as f64 * r.denominator.1 as f64;
        den > 0.0 && num <= bound * den
    };
    let half = T / 2;
    let scaled = |x: u128| Threshold((x as u64) << 16);
    if optimized {
        // The smallest y in [0, T/2] that fits (y = T/2 always does: ratio 1).
        let (mut lo, mut hi) = (0u128, half);
        if fits(half, 0) {
            return (scaled(half), Threshold(0));
        }
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if fits(half, mid) { hi = mid } else { lo = mid }
        }
        (scaled(half), scaled(hi))
    } else {
        // The largest x in [T/2, T − 1] that fits (x = T/2 always does: ratio 1).
        let (mut lo, mut hi) = (half, T - 1);
        if fits(hi, T - hi) {
            return (scaled(hi), scaled(T - hi));
        }
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if fits(mid, T - mid) {
                lo = mid
            } else {
                hi = mid
            }
        }
        (scaled(lo), scaled(T - lo))
    }
}

impl MechanismFamily for LongitudinalUnaryParams {
    fn kind(&self) -> MechanismKind {
        if self.optimized {
            MechanismKind::LOue
        } else {
            MechanismKind::LSue
        }
    }

    fn resolved(&self) -> Mechanism {
        let spec = LongitudinalSpec {
            epsilon_permanent: Some(self.epsilon_permanent()),
        };
        if self.optimized {
            Mechanism::LOue(spec)
        } else {
            Mechanism::LSue(spec)
        }
    }

    fn k(&self) -> u32 {
        self.k
    }

    fn pure(&self) -> PureParams {
        LongitudinalUnaryParams::pure(self)
    }

    fn likelihood_ratio(&self) -> Option<LikelihoodRatio> {
        Some(LongitudinalUnaryParams::likelihood_ratio(self))
    }

    fn memoized(&self) -> bool {
        true
    }

    fn epsilon_permanent(&self) -> Option<f64> {
        Some(self.permanent_ratio().epsilon_upper_bound())
    }

    /// Tag, word count and the words: `12 + 8⌈k/64⌉` bytes.
    fn report_bytes(&self) -> usize {
        4 + 8 + 8 * self.words()
    }

    /// Exactly ⌈k/64⌉ words, padding bits zero.
    fn check_report(&self, report: &Report) -> Result<(), ReportError> {
        match report {
            Report::LSue(r) if !self.optimized => check_bits(&r.bits, self.words(), self.k),
            Report::LOue(r) if self.optimized => check_bits(&r.bits, self.words(), self.k),
            other => Err(wrong_variant(self, other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_report_is_as_private_as_configured_and_the_memo_as_eps_inf() {
        for optimized in [false, true] {
            for (eps_inf, eps_1) in [
                (4.0, 1.0),
                (2.0, 0.5),
                (1.5, 0.9),
                (10.0, 0.1),
                (40.0, 20.0),
            ] {
                let spec = LongitudinalSpec {
                    epsilon_permanent: Some(eps_inf),
                };
                let p = LongitudinalUnaryParams::new(&spec, eps_1, 100, optimized).unwrap();
                let one = p.likelihood_ratio().epsilon_upper_bound();
                assert!(
                    one <= eps_1 + 1e-9 && one > eps_1 - 1e-3,
                    "{optimized} {one} vs {eps_1}"
                );
                // At ε∞ = 40, OUE's q1 ≈ 4·10⁻¹⁸ rounds up to 2⁻⁴⁸: a smaller ε∞, never larger.
                let memo = p.permanent_ratio().epsilon_upper_bound();
                assert!(memo <= eps_inf + 1e-9, "{memo} vs {eps_inf}");
                assert!(
                    eps_inf > 30.0 || memo > eps_inf - 1e-3,
                    "{memo} vs {eps_inf}"
                );
                let pure = p.pure();
                assert!(pure.p > pure.q);
            }
        }
    }

    #[test]
    fn bad_settings_are_refused() {
        for bad in [1.0, 0.5, f64::NAN, 40.5] {
            let spec = LongitudinalSpec {
                epsilon_permanent: Some(bad),
            };
            assert!(
                LongitudinalUnaryParams::new(&spec, 1.0, 100, true).is_err(),
                "{bad}"
            );
        }
        // L-OUE at ε∞ = 1 reaches ε ≈ 0.77 per report at most: 0.9 is refused, 0.7 is not.
        let tight = |eps: f64| {
            let spec = LongitudinalSpec {
                epsilon_permanent: Some(1.0),
            };
            LongitudinalUnaryParams::new(&spec, eps, 100, true)
        };
        assert!(tight(0.9).is_err() && tight(0.7).is_ok());
        let default = LongitudinalUnaryParams::new(&LongitudinalSpec::default(), 1.5, 100, false);
        assert_eq!(default.unwrap().epsilon_permanent(), 3.0);
    }
}
