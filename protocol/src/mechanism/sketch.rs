//! Apple's count-mean sketches: CMS (an m-entry ±1 vector per report) and HCMS (one sampled
//! Hadamard coefficient per report), for huge or open string domains.
//!
//! Apple Differential Privacy Team, "Learning with Privacy at Scale", 2017. A campaign fixes a
//! family of `d = hashes` hash functions `h_j` into `m = width` buckets ([`bucket`]; the family
//! is drawn per campaign from its `seed`). A device picks one row j uniformly and:
//! - **CMS**: builds the vector v with `v[h_j(x)] = +1` and every other entry −1, and flips each
//!   entry independently with probability `f = 1/(1 + e^{ε/2})`; it sends (j, ṽ) as m bits.
//!   Two values differ in at most two entries, so one report has ε = 2·ln((1 − f)/f).
//! - **HCMS**: picks a column l uniformly (m a power of two), takes the Hadamard entry
//!   `w = H[h_j(x), l] = (−1)^popcount(h_j(x) & l)` and flips it with probability
//!   `f = 1/(1 + e^ε)`; it sends (j, l, ṽ): ε = ln((1 − f)/f).
//!
//! With `c = 1/(1 − 2f)` (the paper's c_ε, from the thresholds actually used), each report
//! contributes `X = c·ṽ_{h}/2 + 1/2` (CMS) or `X = c·ṽ·H[h, l]` (HCMS) to bucket h of its row,
//! and `E[X] = 1` when `h = h_j(x)`, else 0. The estimate of candidate d is the paper's
//!
//! `f̂(d) = m/(m − 1) · (Σ_j T[j, h_j(d)] − n/m)`
//!
//! where `T[j, h]` sums X over the reports of row j (the factor d·(1/d) of the paper's sketch
//! cancels). The m/(m − 1) factor corrects the 1/m chance that another value collides with d
//! in the sampled row. Over the random choice of hash family `f̂(d)` is unbiased, and
//! ([`SketchParams::count_variance`]; by the law of total variance over the reports' flips,
//! their rows and the hash family, with the family's rows independent and uniform):
//!
//! - CMS: `Var = (m/(m−1))²·n·c²f(1−f) + (n − c_d)(1 − 1/d)/(m − 1) + F₂'/(d(m − 1))`;
//! - HCMS: `Var = (m/(m−1))²·(c_d(c² − 1) + (n − c_d)(c² − 1/m² − (1 − 1/m)/(d·m))) + F₂'/(d(m − 1))`;
//!
//! where `F₂' = Σ_{d' ≠ d} c_{d'}²` is the hash-collision term: the other values' counts
//! squared. The first terms are the paper's `(c_ε² − 1)/4·n` and `c_ε²·n` up to O(1/m).
//!
//! Counters: CMS keeps per row the count of reports and of 1-bits per bucket; HCMS keeps per
//! (row, column) the count of +1 and of −1 answers, and turns each row into bucket sums with
//! one fast Walsh–Hadamard transform (O(m log m) per row).

use twox_hash::XxHash3_64;

use crate::error::ConfigError;
use crate::error::ReportError;
use crate::hash::mix64;
use crate::math::{LikelihoodRatio, PureParams, Threshold};
use crate::mechanism::family::{MechanismFamily, check_bits, check_index, wrong_variant};
use crate::mechanism::{Mechanism, MechanismKind, SketchSpec};
use crate::report::Report;

/// Largest number of hash functions (rows).
pub const MAX_HASHES: u32 = 1 << 16;
/// Largest sketch width.
pub const MAX_WIDTH: u32 = 1 << 16;
/// Largest counter table (8 bytes a cell: 32 MiB).
pub const MAX_CELLS: u64 = 1 << 22;
/// Rows when none are given.
pub const DEFAULT_HASHES: u32 = 64;
/// Width when none is given.
pub const DEFAULT_WIDTH: u32 = 1024;

/// Validated CMS or HCMS parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SketchParams {
    /// Domain size (0 for an open domain).
    pub k: u32,
    /// Hash functions d (rows of the sketch).
    pub hashes: u32,
    /// Buckets per row m.
    pub width: u32,
    /// Seed of the campaign's hash family.
    pub seed: u64,
    /// Flip probability f of an entry (CMS) or of the one bit (HCMS), rounded up.
    pub flip: Threshold,
    /// HCMS (one Hadamard coefficient) rather than CMS (m entries).
    pub hadamard: bool,
}

impl SketchParams {
    /// CMS or HCMS (`hadamard`) for ε over `k` values (0: open) from an operator's spec,
    /// defaults filled in.
    pub fn from_spec(
        spec: &SketchSpec,
        epsilon: f64,
        k: u32,
        hadamard: bool,
    ) -> Result<Self, ConfigError> {
        Self::new(
            epsilon,
            k,
            spec.hashes.unwrap_or(DEFAULT_HASHES),
            spec.width.unwrap_or(DEFAULT_WIDTH),
            spec.seed.unwrap_or(0),
            hadamard,
        )
    }

    /// CMS (`hadamard = false`) or HCMS for ε over `k` values (0: open).
    pub fn new(
        epsilon: f64,
        k: u32,
        hashes: u32,
        width: u32,
        seed: u64,
        hadamard: bool,
    ) -> Result<Self, ConfigError> {
        if !(1..=MAX_HASHES).contains(&hashes) {
            return Err(ConfigError::InvalidSketch(
                "hashes must be between 1 and 65536",
            ));
        }
        if !(2..=MAX_WIDTH).contains(&width) {
            return Err(ConfigError::InvalidSketch(
                "width must be between 2 and 65536",
            ));
        }
        if hadamard && !width.is_power_of_two() {
            return Err(ConfigError::InvalidSketch(
                "an hcms width must be a power of two",
            ));
        }
        let per_row = if hadamard {
            2 * u64::from(width)
        } else {
            u64::from(width) + 1
        };
        if u64::from(hashes) * per_row > MAX_CELLS {
            return Err(ConfigError::InvalidSketch(
                "the sketch is too large: hashes × width must stay below 2^21 cells per kind",
            ));
        }
        if k == 1 {
            return Err(ConfigError::DomainTooSmall(1));
        }
        // CMS: ε/2 per entry, two entries differ; HCMS: ε on the one bit.
        let per_bit = if hadamard { epsilon } else { epsilon / 2.0 };
        let flip = Threshold::at_least(1.0 / (1.0 + libm::exp(per_bit)));
        let params = Self {
            k,
            hashes,
            width,
            seed,
            flip,
            hadamard,
        };
        if params.flip.0 == 0 || params.flip.0 >= 1 << 63 {
            return Err(ConfigError::InvalidSketch(
                "epsilon out of range for a sketch",
            ));
        }
        Ok(params)
    }

    /// Words of a CMS report (⌈m/64⌉).
    pub const fn words(&self) -> usize {
        self.width.div_ceil(64) as usize
    }

    /// Counter cells: `d·(m + 1)` for CMS, `2·d·m` for HCMS.
    pub const fn cells(&self) -> usize {
        if self.hadamard {
            2 * self.hashes as usize * self.width as usize
        } else {
            self.hashes as usize * (self.width as usize + 1)
        }
    }

    /// The flip probability f, exactly as drawn.
    pub fn flip_probability(&self) -> f64 {
        self.flip.probability()
    }

    /// The paper's `c_ε = 1/(1 − 2f)`, from the threshold actually used.
    pub fn c(&self) -> f64 {
        1.0 / (1.0 - 2.0 * self.flip.probability())
    }

    /// (p, q) of one entry: p = P(ṽ = v) = 1 − f, q = f.
    pub fn pure(&self) -> PureParams {
        PureParams {
            p: self.flip.complement(),
            q: self.flip.probability(),
        }
    }

    /// `((1 − f)/f)²` for CMS (two entries differ), `(1 − f)/f` for HCMS, exactly.
    pub fn likelihood_ratio(&self) -> LikelihoodRatio {
        let keep = (1u128 << 64) - u128::from(self.flip.0);
        let flip = u128::from(self.flip.0);
        if self.hadamard {
            LikelihoodRatio {
                numerator: (keep, 1),
                denominator: (flip, 1),
            }
        } else {
            LikelihoodRatio {
                numerator: (keep, keep),
                denominator: (flip, flip),
            }
        }
    }

    /// The variance of `f̂(d)` over the reports' randomness and the hash family (module
    /// docs), for `n` reports of which `c_d` hold d, and `others_squared = Σ_{d'≠d} c_{d'}²`.
    pub fn count_variance(&self, n: f64, c_d: f64, others_squared: f64) -> f64 {
        let m = f64::from(self.width);
        let d = f64::from(self.hashes);
        let f = self.flip.probability();
        let c = self.c();
        let scale = (m / (m - 1.0)) * (m / (m - 1.0));
        let collisions = others_squared / (d * (m - 1.0));
        if self.hadamard {
            let other = c * c - 1.0 / (m * m) - (1.0 - 1.0 / m) / (d * m);
            scale * (c_d * (c * c - 1.0) + (n - c_d) * other) + collisions
        } else {
            scale * n * c * c * f * (1.0 - f) + (n - c_d) * (1.0 - 1.0 / d) / (m - 1.0) + collisions
        }
    }

    /// Bucket of `value` in row `row` ([`bucket`] with this campaign's seed).
    #[inline]
    pub fn bucket(&self, value: &[u8], row: u32) -> u32 {
        bucket(value, self.seed, row, self.width)
    }
}

/// Hash function `row` of family `seed` applied to `value`: xxh3-64 of the bytes under the
/// seed `mix64(seed + (row + 1)·φ)`, reduced to `[0, width)` by multiply-shift.
#[inline]
pub fn bucket(value: &[u8], seed: u64, row: u32, width: u32) -> u32 {
    let row_seed = mix64(seed.wrapping_add((u64::from(row) + 1).wrapping_mul(GOLDEN)));
    let hash = XxHash3_64::oneshot_with_seed(row_seed, value);
    ((u128::from(hash) * u128::from(width)) >> 64) as u32
}

/// 2^64/φ, the Weyl increment of SplitMix64.
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// The default hash-family seed of a campaign: xxh3-64 of its id.
pub fn default_seed(campaign_id: &str) -> u64 {
    XxHash3_64::oneshot_with_seed(0x005c_e7c4, campaign_id.as_bytes())
}

/// The Hadamard entry `H[row, column] = (−1)^popcount(row & column)` as a bit: true for +1.
#[inline]
pub const fn hadamard_positive(row: u32, column: u32) -> bool {
    (row & column).count_ones().is_multiple_of(2)
}

impl MechanismFamily for SketchParams {
    fn kind(&self) -> MechanismKind {
        if self.hadamard {
            MechanismKind::Hcms
        } else {
            MechanismKind::Cms
        }
    }

    fn resolved(&self) -> Mechanism {
        let spec = SketchSpec {
            hashes: Some(self.hashes),
            width: Some(self.width),
            seed: Some(self.seed),
        };
        if self.hadamard {
            Mechanism::Hcms(spec)
        } else {
            Mechanism::Cms(spec)
        }
    }

    fn k(&self) -> u32 {
        self.k
    }

    fn pure(&self) -> PureParams {
        SketchParams::pure(self)
    }

    fn likelihood_ratio(&self) -> Option<LikelihoodRatio> {
        Some(SketchParams::likelihood_ratio(self))
    }

    /// CMS: tag, row, length and ⌈m/64⌉ words; HCMS: tag, row, column and the sign.
    fn report_bytes(&self) -> usize {
        if self.hadamard {
            4 + 4 + 4 + 1
        } else {
            4 + 4 + 8 + 8 * self.words()
        }
    }

    /// The row is below d; CMS: exactly ⌈m/64⌉ words, padding zero; HCMS: the column is
    /// below m.
    fn check_report(&self, report: &Report) -> Result<(), ReportError> {
        match report {
            Report::Cms(r) if !self.hadamard => {
                check_index(r.row, self.hashes)?;
                check_bits(&r.bits, self.words(), self.width)
            }
            Report::Hcms(r) if self.hadamard => {
                check_index(r.row, self.hashes)?;
                check_index(r.column, self.width)
            }
            other => Err(wrong_variant(self, other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn validation_refuses_bad_shapes() {
        assert!(SketchParams::new(1.0, 0, 0, 1024, 1, false).is_err());
        assert!(SketchParams::new(1.0, 0, 64, 1, 1, false).is_err());
        assert!(SketchParams::new(1.0, 0, 64, 1000, 1, true).is_err());
        assert!(SketchParams::new(1.0, 0, 65_536, 1024, 1, false).is_err());
        assert!(SketchParams::new(1.0, 0, 64, 1000, 1, false).is_ok());
        assert!(SketchParams::new(1.0, 0, 64, 1024, 1, true).is_ok());
    }

    #[test]
    fn buckets_spread_and_differ_between_rows_and_seeds() {
        let width = 64;
        let mut counts = [0u32; 64];
        for i in 0..64_000u32 {
            counts[bucket(i.to_string().as_bytes(), 7, 3, width) as usize] += 1;
        }
        // Each bucket expects 1000 with sd ≈ 31: 5σ.
        assert!(
            counts.iter().all(|&c| (845..=1155).contains(&c)),
            "{counts:?}"
        );
        let same_rows = (0..1000u32)
            .filter(|i| {
                let v = i.to_string();
                bucket(v.as_bytes(), 7, 0, 1024) == bucket(v.as_bytes(), 7, 1, 1024)
            })
            .count();
        assert!(same_rows < 10, "{same_rows}");
        let same_seeds = (0..1000u32)
            .filter(|i| {
                let v = i.to_string();
                bucket(v.as_bytes(), 7, 0, 1024) == bucket(v.as_bytes(), 8, 0, 1024)
            })
            .count();
        assert!(same_seeds < 10, "{same_seeds}");
    }

    #[test]
    fn the_variance_reduces_to_the_papers_leading_terms() {
        let eps = 4.0;
        let cms = SketchParams::new(eps, 0, 1024, 1024, 1, false).unwrap();
        let e = libm::exp(eps / 2.0);
        let c = (e + 1.0) / (e - 1.0);
        let n = 1e6;
        let leading = (c * c - 1.0) / 4.0 * n;
        let v = cms.count_variance(n, 0.0, 0.0);
        assert!((v / leading - 1.0).abs() < 0.01, "{v} {leading}");
        let hcms = SketchParams::new(eps, 0, 1024, 1024, 1, true).unwrap();
        let e = libm::exp(eps);
        let c = (e + 1.0) / (e - 1.0);
        let v = hcms.count_variance(n, 0.0, 0.0);
        assert!((v / (c * c * n) - 1.0).abs() < 0.01, "{v}");
    }
}
