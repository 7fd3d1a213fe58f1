//! RAPPOR: Bloom filter, permanent and instantaneous randomized response, cohorts.
//!
//! Erlingsson, Pihur, Korolova, "RAPPOR: Randomized Aggregatable Privacy-Preserving Ordinal
//! Response", CCS 2014. A device belongs to one of `cohorts` cohorts (drawn uniformly once).
//! It hashes its string value into a Bloom filter `B` of `m` bits with `h` hash functions
//! specific to its cohort ([`bloom_bit`]). The **permanent randomized response** (PRR) `B'`
//! sets each bit to 1 with probability f/2, to 0 with probability f/2, and keeps it otherwise;
//! it is computed once per value and reused for every report of that value. Each report then
//! carries an **instantaneous randomized response** (IRR) `S`: bit i is 1 with probability q
//! if `B'_i = 1` and p if `B'_i = 0`.
//!
//! Privacy (the paper's Theorems 1 and 2, with the probabilities of the integer thresholds
//! actually used):
//! - ε∞ = 2h·ln((1 − f/2)/(f/2)) bounds what all reports of one value ever reveal;
//! - ε₁ = h·ln(q*(1 − p*)/(p*(1 − q*))) bounds one report, where
//!   q* = P(S_i = 1 | B_i = 1) = ½f(p + q) + (1 − f)q and
//!   p* = P(S_i = 1 | B_i = 0) = ½f(p + q) + (1 − f)p.
//!
//! A campaign's ε is its ε₁. The PRR's f is given directly or derived from a target ε∞; p and
//! q are given directly or derived (symmetric, q = 1 − p) from ε₁. Every threshold is rounded
//! toward more privacy (f/2 and p up, q down), and the constructor checks the ε₁ of the
//! integers against the configured ε.
//!
//! Report: the cohort (`u32`) and the m IRR bits in ⌈m/64⌉ words.

use alloc::vec::Vec;

use twox_hash::XxHash3_64;

use crate::error::ConfigError;
use crate::error::ReportError;
use crate::math::{LikelihoodRatio, MARGIN, PureParams, TWO_POW_64, Threshold};
use crate::mechanism::family::{MechanismFamily, check_bits, check_index, wrong_variant};
use crate::mechanism::{Mechanism, MechanismKind};
use crate::report::Report;

pub use crate::hash::mix64;

/// Largest Bloom filter, in bits.
pub const MAX_BLOOM_BITS: u32 = 4096;
/// Largest number of hash functions.
pub const MAX_HASHES: u32 = 16;
/// Largest number of cohorts.
pub const MAX_COHORTS: u32 = 4096;
/// Largest counter table (cohorts × (m + 1) cells, 8 bytes each: 32 MiB).
pub const MAX_CELLS: u64 = 1 << 22;
/// Largest f/2 threshold: f = 1 (every PRR bit random).
const MAX_FLIP_HALF: u64 = 1 << 63;

/// The operator's RAPPOR settings, as written in a campaign (`"mechanism": {"rappor": …}`).
///
/// Exactly one of `f` and `epsilon_permanent`; `p` and `q` together or not at all (then they
/// are derived from the campaign's ε as ε₁, with q = 1 − p).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RapporSpec {
    /// Bloom filter size m, in bits.
    pub bloom_bits: u32,
    /// Hash functions h.
    pub hashes: u32,
    /// Number of cohorts.
    pub cohorts: u32,
    /// PRR parameter f in (0, 1].
    #[serde(default)]
    pub f: Option<f64>,
    /// Target ε∞, from which f is derived.
    #[serde(default)]
    pub epsilon_permanent: Option<f64>,
    /// IRR P(S_i = 1 | B'_i = 0).
    #[serde(default)]
    pub p: Option<f64>,
    /// IRR P(S_i = 1 | B'_i = 1).
    #[serde(default)]
    pub q: Option<f64>,
}

impl RapporSpec {
    /// The configuration of the paper's experiments (§5): m = 128 bits, h = 2 hashes, 64
    /// cohorts, f for ε∞ = 4, IRR p = 0.25, q = 0.75 — ε₁ ≈ 1.88, so a campaign ε of at least
    /// 1.89 accepts it.
    pub const fn paper_example() -> Self {
        Self {
            bloom_bits: 128,
            hashes: 2,
            cohorts: 64,
            f: None,
            epsilon_permanent: Some(4.0),
            p: Some(0.25),
            q: Some(0.75),
        }
    }
}

/// Validated RAPPOR parameters: sizes and the integer thresholds every role uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RapporParams {
    /// Domain size of the campaign (0 for an open domain); not used by the mechanism.
    pub k: u32,
    /// Bloom filter size m.
    pub bloom_bits: u32,
    /// Hash functions h.
    pub hashes: u32,
    /// Number of cohorts.
    pub cohorts: u32,
    /// f/2, rounded up: the PRR sets a bit to 1 with this probability, and to 0 with it.
    pub flip_half: Threshold,
    /// IRR P(S_i = 1 | B'_i = 0), rounded up.
    pub p: Threshold,
    /// IRR P(S_i = 1 | B'_i = 1), rounded down.
    pub q: Threshold,
    /// The resolved f, p, q as given or derived (bit patterns, for the canonical spec).
    resolved: [u64; 3],
}

impl RapporParams {
    /// Validates `spec` for a campaign whose ε (ε₁) is `epsilon`, over a domain of `k` values
    /// (0 for an open domain).
    pub fn new(spec: &RapporSpec, epsilon: f64, k: u32) -> Result<Self, ConfigError> {
        let invalid = |reason: &'static str| ConfigError::InvalidRappor(reason);
        if !(1..=MAX_BLOOM_BITS).contains(&spec.bloom_bits) {
            return Err(invalid("bloom_bits must be between 1 and 4096"));
        }
        if !(1..=MAX_HASHES).contains(&spec.hashes) || spec.hashes > spec.bloom_bits {
            return Err(invalid("hashes must be between 1 and min(16, bloom_bits)"));
        }
        if !(1..=MAX_COHORTS).contains(&spec.cohorts) {
            return Err(invalid("cohorts must be between 1 and 4096"));
        }
        if u64::from(spec.cohorts) * (u64::from(spec.bloom_bits) + 1) > MAX_CELLS {
            return Err(invalid("cohorts × (bloom_bits + 1) must be at most 2^22"));
        }
        let h = f64::from(spec.hashes);
        let f = match (spec.f, spec.epsilon_permanent) {
            (Some(f), None) => f,
            (None, Some(eps_inf)) => {
                if !eps_inf.is_finite() || eps_inf <= 0.0 {
                    return Err(invalid("epsilon_permanent must be finite and > 0"));
                }
                // ε∞ = 2h·ln((1 − f/2)/(f/2))  ⇔  f/2 = 1/(1 + e^{ε∞/2h}).
                2.0 / (1.0 + libm::exp(eps_inf / (2.0 * h)))
            }
            _ => return Err(invalid("give exactly one of f and epsilon_permanent")),
        };
        if !(f > 0.0 && f <= 1.0) {
            return Err(invalid("f must be in (0, 1]"));
        }
        let flip_half = Threshold(Threshold::at_least(f / 2.0).0.min(MAX_FLIP_HALF));
        let (p, q) = match (spec.p, spec.q) {
            (Some(p), Some(q)) => (p, q),
            (None, None) => symmetric_irr(flip_half, h, epsilon),
            _ => return Err(invalid("give both p and q, or neither")),
        };
        if !(p >= 0.0 && p < q && q <= 1.0) {
            return Err(invalid("p and q must satisfy 0 <= p < q <= 1"));
        }
        let p_threshold = Threshold::at_least(p);
        let q_threshold = Threshold::at_most(q);
        if f >= 1.0 || p_threshold >= q_threshold {
            return Err(invalid(
                "f = 1 or p ≈ q leaves no information: reports would not depend on the value",
            ));
        }
        let params = Self {
            k,
            bloom_bits: spec.bloom_bits,
            hashes: spec.hashes,
            cohorts: spec.cohorts,
            flip_half,
            p: p_threshold,
            q: q_threshold,
            resolved: [f.to_bits(), p.to_bits(), q.to_bits()],
        };
        let eps_one = params.epsilon_one_upper_bound();
        if eps_one > epsilon {
            return Err(ConfigError::EpsilonExceeded {
                computed: eps_one,
                configured: epsilon,
            });
        }
        // ε∞ needs no check here: f/2 is rounded up from the value that meets the target
        // exactly, and the exact test in `tests/protocol/epsilon.rs` holds it to that.
        Ok(params)
    }

    /// The canonical spec: f, p, q resolved (as given or derived), no target ε∞.
    pub fn spec(&self) -> RapporSpec {
        RapporSpec {
            bloom_bits: self.bloom_bits,
            hashes: self.hashes,
            cohorts: self.cohorts,
            f: Some(f64::from_bits(self.resolved[0])),
            epsilon_permanent: None,
            p: Some(f64::from_bits(self.resolved[1])),
            q: Some(f64::from_bits(self.resolved[2])),
        }
    }

    /// 64-bit words of one report's bit vector.
    pub const fn words(&self) -> usize {
        self.bloom_bits.div_ceil(64) as usize
    }

    /// Counter cells: per cohort, m bit counts then the cohort's report count.
    pub const fn cells(&self) -> usize {
        self.cohorts as usize * (self.bloom_bits as usize + 1)
    }

    /// The exact f of the thresholds used.
    pub fn f(&self) -> f64 {
        2.0 * self.flip_half.probability()
    }

    /// Exact q* = P(S_i = 1 | B_i = 1) and p* = P(S_i = 1 | B_i = 0), each as an integer
    /// numerator over 2^128: `(q*, p*)`.
    pub fn bit_probabilities_exact(&self) -> (u128, u128) {
        // q*·2^128 = t_f2·(t_p + t_q) + (2^64 − 2·t_f2)·t_q, and likewise for p*. Each term is
        // below 2^128 because the sum is a probability below 1.
        let f2 = u128::from(self.flip_half.0);
        let (tp, tq) = (u128::from(self.p.0), u128::from(self.q.0));
        let keep = (1u128 << 64) - 2 * f2;
        let shared = f2 * (tp + tq);
        (shared + keep * tq, shared + keep * tp)
    }

    /// q* and p* as floats: per-bit probabilities of a reported 1 for a true 1 and a true 0.
    pub fn bit_probabilities(&self) -> (f64, f64) {
        let (q_star, p_star) = self.bit_probabilities_exact();
        let scale = TWO_POW_64 * TWO_POW_64;
        (q_star as f64 / scale, p_star as f64 / scale)
    }

    /// The per-bit pure parameters `(p, q) = (q*, p*)`: a reported 1 supports a true 1.
    pub fn pure(&self) -> PureParams {
        let (q_star, p_star) = self.bit_probabilities();
        PureParams {
            p: q_star,
            q: p_star,
        }
    }

    /// ε₁ of the integer thresholds, rounded up (a relative 2^-40 plus one ulp).
    pub fn epsilon_one_upper_bound(&self) -> f64 {
        let (q_star, p_star) = self.bit_probabilities_exact();
        let full = u128::MAX;
        // 1 − x over 2^128 is (2^128 − x); u128::MAX − x + 1 without overflow since x ≥ 1.
        let one_minus = |x: u128| (full - x) as f64 + 1.0;
        let ratio = (q_star as f64 * one_minus(p_star)) / (p_star as f64 * one_minus(q_star));
        round_up(f64::from(self.hashes) * libm::log(ratio))
    }

    /// ε∞ of the integer thresholds, rounded up.
    pub fn epsilon_permanent_upper_bound(&self) -> f64 {
        let f2 = self.flip_half.0 as f64;
        let ratio = (TWO_POW_64 - f2) / f2;
        round_up(2.0 * f64::from(self.hashes) * libm::log(ratio))
    }
}

fn round_up(eps: f64) -> f64 {
    if eps.is_nan() {
        return f64::INFINITY;
    }
    eps + eps.abs() * MARGIN + f64::EPSILON
}

/// The symmetric IRR (p, 1 − p) whose ε₁ is `target` for the PRR `flip_half`, found by
/// bisection on p in [0, ½] (ε₁ falls as p rises). If even p = 0 stays below the target the
/// IRR is deterministic (p = 0, q = 1).
fn symmetric_irr(flip_half: Threshold, h: f64, target: f64) -> (f64, f64) {
    let f2 = flip_half.probability();
    let eps_one = |p: f64| {
        let q = 1.0 - p;
        let q_star = f2 * (p + q) + (1.0 - 2.0 * f2) * q;
        let p_star = f2 * (p + q) + (1.0 - 2.0 * f2) * p;
        h * libm::log(q_star * (1.0 - p_star) / (p_star * (1.0 - q_star)))
    };
    if eps_one(0.0) <= target {
        return (0.0, 1.0);
    }
    let (mut lo, mut hi) = (0.0f64, 0.5f64);
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        if eps_one(mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    // `hi` is on the private side; nudge further by the threshold margin's order.
    let p = (hi * (1.0 + 1e-9)).min(0.5);
    (p, 1.0 - p)
}

/// The Bloom bit set by hash function `index` for `value` in `cohort`: xxh3-64 of the value's
/// bytes, seeded with [`hash_seed`]`(cohort, index)`, reduced to `[0, m)` by multiply-shift.
#[inline]
pub fn bloom_bit(value: &[u8], cohort: u32, index: u32, bloom_bits: u32) -> u32 {
    let hash = XxHash3_64::oneshot_with_seed(hash_seed(cohort, index), value);
    ((u128::from(hash) * u128::from(bloom_bits)) >> 64) as u32
}

/// The xxh3 seed of hash function `index` in `cohort`: `cohort · 2^32 + index` through the
/// SplitMix64 finalizer. Unmixed seeds that differ in their low bits would collide: xxh3 folds
/// a short input and its seed together before mixing, so "103" under seed s and "104" under
/// seed s + 1 would hash alike, and two strings could share every Bloom bit.
#[inline]
pub const fn hash_seed(cohort: u32, index: u32) -> u64 {
    mix64((((cohort as u64) << 32) | index as u64).wrapping_add(0x9e37_79b9_7f4a_7c15))
}

/// The Bloom filter of `value` in `cohort`, as ⌈m/64⌉ words (bit i in word i/64).
pub fn bloom_filter(params: &RapporParams, value: &[u8], cohort: u32) -> Vec<u64> {
    let mut words = alloc::vec![0u64; params.words()];
    bloom_filter_into(params, value, cohort, &mut words);
    words
}

/// [`bloom_filter`] into a caller's buffer of [`RapporParams::words`] words.
pub fn bloom_filter_into(params: &RapporParams, value: &[u8], cohort: u32, words: &mut [u64]) {
    words.fill(0);
    for index in 0..params.hashes {
        let bit = bloom_bit(value, cohort, index, params.bloom_bits);
        if let Some(word) = words.get_mut(bit as usize / 64) {
            *word |= 1 << (bit % 64);
        }
    }
}

impl MechanismFamily for RapporParams {
    fn kind(&self) -> MechanismKind {
        MechanismKind::Rappor
    }

    fn memoized(&self) -> bool {
        true
    }

    fn epsilon_permanent(&self) -> Option<f64> {
        Some(self.epsilon_permanent_upper_bound())
    }

    fn resolved(&self) -> Mechanism {
        Mechanism::Rappor(self.spec())
    }

    fn k(&self) -> u32 {
        self.k
    }

    /// The per-bit `(q*, p*)`: the probability that a reported Bloom bit is 1 when the true
    /// bit is 1, and when it is 0.
    fn pure(&self) -> PureParams {
        RapporParams::pure(self)
    }

    /// `None`: the ratio is a power of h (see [`RapporParams::bit_probabilities_exact`]).
    fn likelihood_ratio(&self) -> Option<LikelihoodRatio> {
        None
    }

    /// ε₁, the instantaneous response's ε ([`RapporParams::epsilon_one_upper_bound`]).
    fn epsilon_upper_bound(&self) -> f64 {
        self.epsilon_one_upper_bound()
    }

    /// Tag, cohort, length and ⌈m/64⌉ words.
    fn report_bytes(&self) -> usize {
        4 + 4 + 8 + 8 * self.words()
    }

    /// The cohort is below the cohort count; exactly ⌈m/64⌉ words, padding bits zero.
    fn check_report(&self, report: &Report) -> Result<(), ReportError> {
        match report {
            Report::Rappor(r) => {
                check_index(r.cohort, self.cohorts)?;
                check_bits(&r.bits, self.words(), self.bloom_bits)
            }
            other => Err(wrong_variant(self, other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> RapporSpec {
        RapporSpec::paper_example()
    }

    #[test]
    fn the_papers_example_has_the_papers_epsilons() {
        let params = RapporParams::new(&spec(), 2.0, 0).unwrap();
        assert!((params.f() - 2.0 / (1.0 + 1f64.exp())).abs() < 1e-9);
        let eps_one = params.epsilon_one_upper_bound();
        assert!((eps_one - 1.8828).abs() < 1e-3, "{eps_one}");
        let eps_inf = params.epsilon_permanent_upper_bound();
        assert!(eps_inf <= 4.0 && eps_inf > 4.0 - 1e-6, "{eps_inf}");
    }

    #[test]
    fn epsilon_one_above_the_campaign_epsilon_is_refused() {
        let err = RapporParams::new(&spec(), 1.5, 0).unwrap_err();
        assert!(
            matches!(err, ConfigError::EpsilonExceeded { configured, .. } if configured == 1.5)
        );
    }

    #[test]
    fn derived_irr_meets_the_target() {
        let spec = RapporSpec {
            p: None,
            q: None,
            ..spec()
        };
        for eps in [0.1, 0.5, 1.0, 2.0, 3.9] {
            let params = RapporParams::new(&spec, eps, 0).unwrap();
            let eps_one = params.epsilon_one_upper_bound();
            assert!(eps_one <= eps && eps_one > eps - 1e-6, "{eps}: {eps_one}");
        }
        // Above ε∞ the IRR becomes deterministic.
        let params = RapporParams::new(&spec, 6.0, 0).unwrap();
        assert_eq!(params.p, Threshold(0));
    }

    #[test]
    fn bad_settings_are_refused() {
        let bad = [
            RapporSpec {
                bloom_bits: 0,
                ..spec()
            },
            RapporSpec {
                hashes: 0,
                ..spec()
            },
            RapporSpec {
                cohorts: 5000,
                ..spec()
            },
            RapporSpec {
                f: Some(0.5),
                ..spec()
            },
            RapporSpec {
                f: None,
                epsilon_permanent: None,
                ..spec()
            },
            RapporSpec { p: None, ..spec() },
            RapporSpec {
                p: Some(0.8),
                ..spec()
            },
            RapporSpec {
                f: Some(1.0),
                epsilon_permanent: None,
                ..spec()
            },
            RapporSpec {
                f: Some(f64::NAN),
                epsilon_permanent: None,
                ..spec()
            },
        ];
        for spec in bad {
            assert!(RapporParams::new(&spec, 2.0, 0).is_err(), "{spec:?}");
        }
    }

    #[test]
    fn no_two_short_strings_share_their_bloom_bits_in_every_cohort() {
        // With unmixed seeds, "103" and "104" shared both bits in all 64 cohorts.
        let params = RapporParams::new(&spec(), 2.0, 0).unwrap();
        let filters: Vec<Vec<u64>> = (0..2000u32)
            .map(|v| {
                let text = alloc::format!("{v}");
                (0..8)
                    .flat_map(|c| bloom_filter(&params, text.as_bytes(), c))
                    .collect()
            })
            .collect();
        let mut sorted = filters.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), filters.len());
    }

    #[test]
    fn bloom_bits_are_in_range_and_depend_on_the_cohort() {
        let params = RapporParams::new(&spec(), 2.0, 0).unwrap();
        let a = bloom_filter(&params, "😂".as_bytes(), 0);
        let b = bloom_filter(&params, "😂".as_bytes(), 1);
        assert_eq!(a.len(), 2);
        assert!(a.iter().map(|w| w.count_ones()).sum::<u32>() <= 2);
        assert_ne!(a, b);
        let odd = RapporParams::new(
            &RapporSpec {
                bloom_bits: 100,
                ..spec()
            },
            2.0,
            0,
        )
        .unwrap();
        for v in 0..1000u32 {
            let words = bloom_filter(&odd, &v.to_le_bytes(), v % 64);
            assert_eq!(words[1] >> 36, 0);
        }
    }
}
