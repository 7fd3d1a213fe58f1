//! LOLOHA: longitudinal local hashing, for devices that report the same value epoch after
//! epoch.
//!
//! Arcolezi, Pinzón, Palamidessi, Gambs, "Frequency Estimation of Evolving Data Under Local
//! Differential Privacy", EDBT 2023. A device fixes one hash function for the campaign (its
//! seed, derived from the device secret) and hashes its value into `g` buckets: `x = H(v)`.
//! Two randomized responses over the g buckets follow:
//!
//! - the **permanent** one, `x' = GRR_g(x)` at ε∞ (`p1 = e^ε∞/(e^ε∞+g−1)`), memoized per
//!   bucket: the same bucket always gets the same `x'`, so however many reports the device
//!   sends, an observer learns at most what one GRR at ε∞ per distinct bucket tells;
//! - the **instantaneous** one, `y = GRR_g(x')` with `p2` chosen so that one report alone is
//!   ε₁-private (ε₁ < ε∞ is the campaign's `epsilon`).
//!
//! A device that changes its value reveals a new bucket's permanent response, so its lifetime
//! loss is at most `min(changes + 1, g)·ε∞` — bounded by g however long it reports, which is
//! why g is small.
//!
//! **Probabilities.** With `q1 = (1−p1)/(g−1)` and `q2 = (1−p2)/(g−1)`, one report keeps the
//! bucket with `ps = p1·p2 + (1−p1)·q2` and names a given other bucket with
//! `qs = p1·q2 + q1·p2 + (g−2)·q1·q2`; `p2` solves `ps/qs = e^ε₁`. The two thresholds are kept
//! at 48-bit precision (multiples of 2^16 out of 2^64, rounded down, so both ratios only
//! shrink), which lets the exact ratio `ps/qs` be written in 128-bit integers
//! ([`LolohaParams::likelihood_ratio`]).
//!
//! **Estimation.** A report `(seed, y)` supports every value v with `H_seed(v) = y`: a device
//! holding v supports it with `ps`, any other device with `1/g` (its hash of v is uniform and
//! independent of its report). So as a pure protocol `p = ps`, `q = 1/g`, the estimate is
//! `(S_v − n/g)/(ps − 1/g)` and its variance `n·q(1−q)/(p−q)² + c_v(1−p−q)/(p−q)` — the
//! paper's estimator, `ps − 1/g = (p1 − 1/g)(p2 − q2)`.
//!
//! **g.** By default the paper's optimum for (ε∞, ε₁) ([`optimal_g`]); `g = 2` is its binary
//! variant (BiLOLOHA). Report: seed `u64` + bucket `u32` (16 bytes with the tag), as OLH's.
//! Encode O(1); fold O(k) hashes per report; estimate O(k).

use crate::error::{ConfigError, ReportError};
pub use crate::limits::MAX_EPSILON_PERMANENT;
use crate::math::{LikelihoodRatio, PureParams, Threshold};
use crate::mechanism::check_domain_size;
use crate::mechanism::family::{MechanismFamily, check_index, wrong_variant};
use crate::mechanism::grr::keep_ratio;
use crate::mechanism::local_hash::MAX_HASH_RANGE;
use crate::mechanism::{Mechanism, MechanismKind};
use crate::report::Report;
use serde::{Deserialize, Serialize};

/// Largest domain LOLOHA accepts (folding hashes every value per report).
pub const MAX_K: u32 = 1 << 20;

/// LOLOHA as written in a campaign: `{"loloha": {"epsilon_permanent": 4, "g": null}}`. The
/// campaign's `epsilon` is ε₁, the privacy of one report.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LolohaSpec {
    /// ε∞, the bound on everything one bucket's reports reveal together (default: twice the
    /// campaign's ε); must exceed the campaign's ε and be at most
    /// [`MAX_EPSILON_PERMANENT`].
    #[serde(default)]
    pub epsilon_permanent: Option<f64>,
    /// Hash range g (default: the optimum [`optimal_g`]; 2 is BiLOLOHA).
    #[serde(default)]
    pub g: Option<u32>,
}

/// Validated LOLOHA parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LolohaParams {
    /// Domain size.
    pub k: u32,
    /// Hash range.
    pub g: u32,
    /// Probability that the permanent response keeps the bucket (a multiple of 2^16, rounded
    /// down).
    pub keep_permanent: Threshold,
    /// Probability that the instantaneous response keeps the permanent one (a multiple of
    /// 2^16, rounded down).
    pub keep_instant: Threshold,
    /// ε∞ as configured, bit for bit (it goes into the canonical encoding).
    epsilon_permanent_bits: u64,
}

/// The paper's variance-optimal hash range for ε∞ and ε₁ (Arcolezi et al. 2023, with
/// `a = e^ε∞`, `b = e^ε₁`):
/// `g = round((√(a⁴ − 14a² − 12a²b² + 12ab + 12a³b + 1) − a² + 6a − 6b + 1) / (6(a − b)))`,
/// at least 2 and at most [`MAX_HASH_RANGE`].
pub fn optimal_g(epsilon_permanent: f64, epsilon_1: f64) -> u32 {
    let a = libm::exp(epsilon_permanent);
    let b = libm::exp(epsilon_1);
    let root = libm::sqrt(
        a * a * a * a - 14.0 * a * a - 12.0 * a * a * b * b
            + 12.0 * a * b
            + 12.0 * a * a * a * b
            + 1.0,
    );
    let g = libm::round((root - a * a + 6.0 * a - 6.0 * b + 1.0) / (6.0 * (a - b)));
    if g.is_nan() || g < 2.0 {
        2
    } else if g > f64::from(MAX_HASH_RANGE) {
        MAX_HASH_RANGE
    } else {
        g as u32
    }
}

/// `Threshold::at_most(p)` with its low 16 bits cleared: still at most p.
fn at_most_48(p: f64) -> Threshold {
    Threshold(Threshold::at_most(p).0 & !0xffff)
}

impl LolohaParams {
    /// LOLOHA over `k` values with one report's ε₁ = `epsilon` and the spec's ε∞ and g.
    pub fn new(spec: &LolohaSpec, epsilon: f64, k: u32) -> Result<Self, ConfigError> {
        check_domain_size(k, MAX_K, "loloha")?;
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
        let g = spec.g.unwrap_or_else(|| optimal_g(eps_inf, epsilon));
        if !(2..=MAX_HASH_RANGE).contains(&g) {
            return Err(ConfigError::HashRangeOutOfRange {
                g,
                max: MAX_HASH_RANGE,
            });
        }
        let a = libm::exp(eps_inf);
        let keep_permanent = at_most_48(a / (a + f64::from(g) - 1.0));
        let keep_instant = at_most_48(instant_keep(keep_permanent, g, epsilon));
        let params = Self {
            k,
            g,
            keep_permanent,
            keep_instant,
            epsilon_permanent_bits: eps_inf.to_bits(),
        };
        if params.keep_instant.probability() * f64::from(g) <= 1.0 {
            return Err(invalid(
                "epsilon and epsilon_permanent are too close for 48-bit thresholds",
            ));
        }
        Ok(params)
    }

    /// ε∞ as configured.
    pub fn epsilon_permanent(&self) -> f64 {
        f64::from_bits(self.epsilon_permanent_bits)
    }

    /// `(p1, q1, p2, q2)` from the thresholds.
    pub fn probabilities(&self) -> (f64, f64, f64, f64) {
        let other = 1.0 / f64::from(self.g - 1);
        (
            self.keep_permanent.probability(),
            self.keep_permanent.complement() * other,
            self.keep_instant.probability(),
            self.keep_instant.complement() * other,
        )
    }

    /// Exact (p, q) as a pure protocol: `p = ps = p1·p2 + (1−p1)·q2`, `q = 1/g`.
    pub fn pure(&self) -> PureParams {
        let (p1, _, p2, q2) = self.probabilities();
        PureParams {
            p: p1 * p2 + (1.0 - p1) * q2,
            q: 1.0 / f64::from(self.g),
        }
    }

    /// The worst-case ratio of one report, `ps/qs` for a fixed hash, in integers: with the
    /// thresholds `A·2^16`, `B·2^16` and `T = 2^48`,
    /// `(g−1)·(AB(g−1) + (T−A)(T−B)) / ((g−1)(A(T−B) + (T−A)B) + (g−2)(T−A)(T−B))`.
    pub fn likelihood_ratio(&self) -> LikelihoodRatio {
        let t = 1u128 << 48;
        let a = u128::from(self.keep_permanent.0 >> 16);
        let b = u128::from(self.keep_instant.0 >> 16);
        let g1 = u128::from(self.g - 1);
        let (a2, b2) = (t - a, t - b);
        LikelihoodRatio {
            numerator: (g1, a * b * g1 + a2 * b2),
            denominator: (g1 * (a * b2 + a2 * b) + (g1 - 1) * a2 * b2, 1),
        }
    }

    /// The ratio of the permanent response, `p1/q1 = e^ε∞` at most: what all of one bucket's
    /// reports reveal together.
    pub fn permanent_ratio(&self) -> LikelihoodRatio {
        keep_ratio(self.keep_permanent, self.g)
    }
}

/// The instantaneous keep probability `p2` that makes one report's ratio `ps/qs` equal
/// `e^ε₁`, given the permanent threshold.
///
/// Two randomized responses over g values chain into one whose signal is the product of
/// theirs: `ps − qs = (p1 − q1)(p2 − q2)`, and `ps + (g−1)qs = 1`, so the ratio is
/// `(1 + (g−1)·u·d)/(1 − u·d)` with `u = p1 − q1`, `d = p2 − q2`; it equals `e^ε₁` at
/// `u·d = (e^ε₁ − 1)/(e^ε₁ + g − 1)`. Written this way, with `e^ε₁ − 1` from `expm1` and `u`
/// from the integer threshold, nothing cancels at small ε (the textbook form of `p2` loses
/// ten digits there). `p2 = (1 + (g−1)·d)/g`, at most 1.
///
/// A plain threshold margin would not do here: `p2` sits near 1/g at small ε, so a margin
/// relative to `p2` moves the ratio by almost nothing; the margin is taken off the ratio.
fn instant_keep(keep_permanent: Threshold, g: u32, epsilon: f64) -> f64 {
    // u = (g·t − 2^64) / (2^64·(g−1)), the numerator exact in integers.
    let numerator = i128::from(keep_permanent.0) * i128::from(g) - (1i128 << 64);
    let u = numerator as f64 / (TWO_POW_64 * f64::from(g - 1));
    // The target ratio e^ε₁ less a relative 2^-40 of it, so that the rounding of what follows
    // can only lower the ratio (below ε ≈ 10⁻¹² nothing is left, and the campaign is refused).
    let r_minus_1 = (libm::expm1(epsilon) - libm::exp(epsilon) / 1_099_511_627_776.0).max(0.0);
    let d = (r_minus_1 / ((r_minus_1 + f64::from(g)) * u)).min(1.0);
    ((1.0 + f64::from(g - 1) * d) / f64::from(g)).clamp(0.0, 1.0)
}

/// 2^64 as an `f64`.
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

impl MechanismFamily for LolohaParams {
    fn kind(&self) -> MechanismKind {
        MechanismKind::Loloha
    }

    fn resolved(&self) -> Mechanism {
        Mechanism::Loloha(LolohaSpec {
            epsilon_permanent: Some(self.epsilon_permanent()),
            g: Some(self.g),
        })
    }

    fn k(&self) -> u32 {
        self.k
    }

    fn pure(&self) -> PureParams {
        LolohaParams::pure(self)
    }

    fn likelihood_ratio(&self) -> Option<LikelihoodRatio> {
        Some(LolohaParams::likelihood_ratio(self))
    }

    fn memoized(&self) -> bool {
        true
    }

    fn epsilon_permanent(&self) -> Option<f64> {
        Some(self.permanent_ratio().epsilon_upper_bound())
    }

    /// Tag, seed and bucket: 16 bytes.
    fn report_bytes(&self) -> usize {
        4 + 8 + 4
    }

    /// The bucket is below g.
    fn check_report(&self, report: &Report) -> Result<(), ReportError> {
        match report {
            Report::Loloha(r) => check_index(r.value, self.g),
            other => Err(wrong_variant(self, other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(eps_inf: f64, eps_1: f64, g: Option<u32>) -> LolohaParams {
        let spec = LolohaSpec {
            epsilon_permanent: Some(eps_inf),
            g,
        };
        LolohaParams::new(&spec, eps_1, 100).unwrap()
    }

    #[test]
    fn one_report_is_as_private_as_configured_and_no_more_noisy() {
        for (eps_inf, eps_1) in [
            (4.0, 1.0),
            (2.0, 0.5),
            (1.0, 0.9),
            (10.0, 0.1),
            (40.0, 20.0),
        ] {
            for g in [None, Some(2), Some(7)] {
                let p = params(eps_inf, eps_1, g);
                let (p1, q1, p2, q2) = p.probabilities();
                let g = f64::from(p.g);
                let ps = p1 * p2 + (1.0 - p1) * q2;
                let qs = p1 * q2 + q1 * p2 + (g - 2.0) * q1 * q2;
                assert!((ps + (g - 1.0) * qs - 1.0).abs() < 1e-12);
                let eps = libm::log(ps / qs);
                // Rounding the thresholds down costs at most about 5e-4 (p2 near 1, ε₁ = 20).
                assert!(
                    eps <= eps_1 + 1e-12 && eps > eps_1 - 1e-3,
                    "{eps} vs {eps_1}"
                );
                let ratio = p.likelihood_ratio().epsilon_upper_bound();
                assert!((ratio - eps).abs() < 1e-6, "{ratio} vs {eps}");
                assert!(p.permanent_ratio().epsilon_upper_bound() <= eps_inf + 1e-9);
            }
        }
    }

    #[test]
    fn the_optimal_g_is_the_paper_s() {
        // a = e^4, b = e: (3727.4 − 2981.0 + 327.6 − 16.3 + 1)/311.3 = 3.4.
        assert_eq!(optimal_g(4.0, 1.0), 3);
        // Large ε∞ against small ε₁ favours more buckets; it never drops below 2.
        assert!(optimal_g(8.0, 4.0) > optimal_g(4.0, 2.0));
        assert_eq!(optimal_g(0.2, 0.1), 2);
    }

    #[test]
    fn bad_settings_are_refused() {
        let spec = |e: f64| LolohaSpec {
            epsilon_permanent: Some(e),
            g: None,
        };
        for bad in [1.0, 0.5, f64::NAN, f64::INFINITY, 40.5] {
            assert!(LolohaParams::new(&spec(bad), 1.0, 100).is_err(), "{bad}");
        }
        let g1 = LolohaSpec {
            epsilon_permanent: Some(4.0),
            g: Some(1),
        };
        assert!(LolohaParams::new(&g1, 1.0, 100).is_err());
        assert!(LolohaParams::new(&spec(4.0), 1.0, 1).is_err());
        // The default ε∞ is twice ε.
        let default = LolohaParams::new(&LolohaSpec::default(), 1.5, 100).unwrap();
        assert_eq!(default.epsilon_permanent(), 3.0);
    }
}
