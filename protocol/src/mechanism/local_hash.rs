//! Local hashing: OLH (optimized, `g = round(e^ε) + 1`) and BLH (binary, `g = 2`).
//!
//! Wang et al., USENIX Security 2017. The device hashes its value into `g` buckets with a hash
//! function chosen by a seed, then runs randomized response over the buckets: it reports
//! `(seed, y)` with `y = H_seed(v)` with probability `p = e^ε/(e^ε+g−1)`, otherwise another bucket
//! uniformly. A report supports every value hashing to `y`, so as a pure protocol
//! `p = e^ε/(e^ε+g−1)` and `q = 1/g`; at the optimal g, `Var* ≈ 4e^ε/(e^ε−1)²`.
//!
//! The hash is xxh3-64 seeded with the report's seed over the value's index as 4 little-endian
//! bytes, reduced to `[0, g)` by a multiply-shift ([`bucket`]).
//!
//! Seeds: by default each report carries a fresh random 64-bit seed, and the aggregator hashes
//! every domain value per report (fold O(k)). With a **seed pool** of size P the seed is an
//! index `< P` drawn uniformly, folding is O(1) into a P×g table and estimation costs O(P·k)
//! hashes. A finite pool correlates hash collisions with heavy values; the aggregator corrects
//! the part due to the heaviest values, and [`DEFAULT_SEED_POOL`] is sized by measurement.
//! Report: seed `u64` + bucket `u32` (16 bytes with the tag).

use crate::error::ConfigError;
use crate::error::ReportError;
use crate::math::{LikelihoodRatio, PureParams, Threshold};
use crate::mechanism::check_domain_size;
use crate::mechanism::family::{MechanismFamily, check_index, wrong_variant};
use crate::mechanism::grr::{keep_ratio, keep_threshold};
use crate::mechanism::{Mechanism, MechanismKind};
use crate::report::Report;

/// Largest domain local hashing accepts (decoding costs O(k) hashes per report or per seed).
pub const MAX_K: u32 = 1 << 20;
/// Largest hash range g.
pub const MAX_HASH_RANGE: u32 = 1 << 16;
pub use crate::limits::{MAX_POOL_CELLS, MAX_SEED_POOL};
/// The recommended seed pool size. Measured with
/// `cargo run --release -p ldp-sim --example seed_pool` (Zipf(1.1), the aggregator's
/// heavy-value collision correction on): at n = 10^6, k = 10^4 the MSE of the count estimates
/// is 0.97–1.01× the per-report-seed formula for ε ∈ {0.5, 1, 4}, and folding plus estimating
/// takes about 0.15 s on one core; 1024 seeds cost 8–46% extra error.
pub const DEFAULT_SEED_POOL: u32 = 4096;

/// Validated local-hashing parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalHashParams {
    /// Domain size.
    pub k: u32,
    /// Hash range.
    pub g: u32,
    /// Probability of reporting the true bucket (rounded down).
    pub keep: Threshold,
    /// Seed pool size; `None` for a fresh random seed per report.
    pub seed_pool: Option<u32>,
    /// Binary local hashing (g = 2 by definition) rather than OLH.
    pub binary: bool,
}

/// The variance-optimal hash range `round(e^ε) + 1` (Wang et al. 2017), at least 2 and at most
/// [`MAX_HASH_RANGE`].
pub fn optimal_g(epsilon: f64) -> u32 {
    let g = libm::round(libm::exp(epsilon)) + 1.0;
    if g.is_nan() || g < 2.0 {
        2
    } else if g > f64::from(MAX_HASH_RANGE) {
        MAX_HASH_RANGE
    } else {
        g as u32
    }
}

impl LocalHashParams {
    /// OLH for ε over `k` values into `g` buckets (`None`: the optimum [`optimal_g`]), with
    /// an optional seed pool.
    pub fn olh(
        epsilon: f64,
        k: u32,
        g: Option<u32>,
        seed_pool: Option<u32>,
    ) -> Result<Self, ConfigError> {
        let g = g.unwrap_or_else(|| optimal_g(epsilon));
        Self::new(epsilon, k, g, seed_pool)
    }

    /// BLH (g = 2) for ε over `k` values, with an optional seed pool.
    pub fn blh(epsilon: f64, k: u32, seed_pool: Option<u32>) -> Result<Self, ConfigError> {
        Ok(Self {
            binary: true,
            ..Self::new(epsilon, k, 2, seed_pool)?
        })
    }

    /// Local hashing (OLH) for ε over `k` values into `g` buckets, with an optional seed pool.
    pub fn new(epsilon: f64, k: u32, g: u32, seed_pool: Option<u32>) -> Result<Self, ConfigError> {
        check_domain_size(k, MAX_K, "local hashing")?;
        if !(2..=MAX_HASH_RANGE).contains(&g) {
            return Err(ConfigError::HashRangeOutOfRange {
                g,
                max: MAX_HASH_RANGE,
            });
        }
        if let Some(pool) = seed_pool
            && (!(1..=MAX_SEED_POOL).contains(&pool)
                || u64::from(pool) * u64::from(g) > MAX_POOL_CELLS)
        {
            return Err(ConfigError::SeedPoolOutOfRange(pool));
        }
        Ok(Self {
            k,
            g,
            keep: keep_threshold(epsilon, g),
            seed_pool,
            binary: false,
        })
    }

    /// Exact (p, q) as a pure protocol: `p = t/2^64`, `q = 1/g`.
    pub fn pure(&self) -> PureParams {
        PureParams {
            p: self.keep.probability(),
            q: 1.0 / f64::from(self.g),
        }
    }

    /// For a fixed seed, the worst-case ratio is that of randomized response over g buckets.
    pub fn likelihood_ratio(&self) -> LikelihoodRatio {
        keep_ratio(self.keep, self.g)
    }

    /// Probability of reporting a given wrong bucket, `(1 − p)/(g − 1)`.
    pub fn q_bucket(&self) -> f64 {
        self.keep.complement() / f64::from(self.g - 1)
    }
}

/// The hash seed of pool entry `index` (pool mode). Pool seeds are the indices themselves;
/// xxh3 mixes the seed with its secret, so consecutive seeds give unrelated functions.
#[inline]
pub const fn pool_hash_seed(index: u64) -> u64 {
    index
}

/// `H_seed(value)` in `[0, g)`: xxh3-64 of the index's 4 little-endian bytes, seeded,
/// reduced by `(h · g) >> 64` (unbiased to within g/2^64).
#[inline]
pub fn bucket(seed: u64, value: u32, g: u32) -> u32 {
    BucketHasher::new(seed, g).bucket(value)
}

/// [`bucket`] for one seed and many values: the seed-dependent part of the hash is computed
/// once. Decoding hashes every domain value per report or pool seed, so this is the hot loop.
///
/// It is xxh3-64's path for inputs of 4 to 8 bytes, specialised to exactly 4 bytes (the
/// default secret's words 1 and 2 folded with the seed into one key); a test checks it equals
/// `twox_hash::XxHash3_64::oneshot_with_seed` bit for bit.
#[derive(Debug, Clone, Copy)]
pub struct BucketHasher {
    key: u64,
    g: u64,
}

/// Words 1 and 2 (bytes 8..24, little-endian) of xxh3's default secret.
const SECRET_WORD_1: u64 = 0x1cad_21f7_2c81_017c;
const SECRET_WORD_2: u64 = 0xdb97_9083_e96d_d4de;
/// xxh3's multiplier for short inputs.
const PRIME_MX2: u64 = 0x9fb2_1c65_1e98_df25;

impl BucketHasher {
    /// The hash function of `seed`, reducing into `[0, g)`.
    #[inline]
    pub const fn new(seed: u64, g: u32) -> Self {
        let modified_seed = seed ^ (((seed as u32).swap_bytes() as u64) << 32);
        Self {
            key: (SECRET_WORD_1 ^ SECRET_WORD_2).wrapping_sub(modified_seed),
            g: g as u64,
        }
    }

    /// xxh3-64 of `value.to_le_bytes()` under this seed.
    #[inline]
    pub const fn hash(&self, value: u32) -> u64 {
        let v = value as u64;
        let mut h = self.key ^ (v | (v << 32));
        h ^= h.rotate_left(49) ^ h.rotate_left(24);
        h = h.wrapping_mul(PRIME_MX2);
        h ^= (h >> 35).wrapping_add(4);
        h = h.wrapping_mul(PRIME_MX2);
        h ^ (h >> 28)
    }

    /// The bucket of `value` in `[0, g)`.
    #[inline]
    pub const fn bucket(&self, value: u32) -> u32 {
        ((self.hash(value) as u128 * self.g as u128) >> 64) as u32
    }

    /// The hashes that fall in bucket `y`, so that decoding can test membership with one
    /// subtraction and compare instead of a multiplication per value.
    #[inline]
    pub const fn bucket_hashes(&self, y: u32) -> HashRange {
        // bucket(h) = y  ⇔  y·2^64 ≤ h·g < (y+1)·2^64  ⇔  ceil(y·2^64/g) ≤ h < ceil((y+1)·2^64/g).
        let g = self.g as u128;
        let start = ((y as u128) << 64).div_ceil(g);
        let end = (((y as u128) + 1) << 64).div_ceil(g);
        HashRange {
            start: start as u64,
            width: (end - start) as u64,
        }
    }
}

/// The 64-bit hash values of one bucket: `[start, start + width)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashRange {
    start: u64,
    width: u64,
}

impl HashRange {
    /// Whether hash `h` lies in the range.
    #[inline]
    pub const fn contains(&self, h: u64) -> bool {
        h.wrapping_sub(self.start) < self.width
    }
}

impl MechanismFamily for LocalHashParams {
    fn kind(&self) -> MechanismKind {
        if self.binary {
            MechanismKind::Blh
        } else {
            MechanismKind::Olh
        }
    }

    fn resolved(&self) -> Mechanism {
        if self.binary {
            Mechanism::Blh {
                seed_pool: self.seed_pool,
            }
        } else {
            Mechanism::Olh {
                g: Some(self.g),
                seed_pool: self.seed_pool,
            }
        }
    }

    fn k(&self) -> u32 {
        self.k
    }

    fn pure(&self) -> PureParams {
        LocalHashParams::pure(self)
    }

    fn likelihood_ratio(&self) -> Option<LikelihoodRatio> {
        Some(LocalHashParams::likelihood_ratio(self))
    }

    /// Tag, seed and bucket: 16 bytes.
    fn report_bytes(&self) -> usize {
        4 + 8 + 4
    }

    /// The bucket is below g; with a seed pool, the seed is a pool index.
    fn check_report(&self, report: &Report) -> Result<(), ReportError> {
        let r = match report {
            Report::Olh(r) if !self.binary => r,
            Report::Blh(r) if self.binary => r,
            other => return Err(wrong_variant(self, other)),
        };
        check_index(r.value, self.g)?;
        match self.seed_pool {
            Some(pool) if r.seed >= u64::from(pool) => Err(ReportError::IndexOutOfRange {
                value: r.seed,
                bound: u64::from(pool),
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_pool_tables_are_bounded() {
        // 2^20 seeds × g = 16 is exactly the cap; one more seed or a larger g is refused.
        assert!(LocalHashParams::new(1.0, 100, 16, Some(1 << 20)).is_ok());
        assert!(LocalHashParams::new(1.0, 100, 32, Some(1 << 20)).is_err());
        assert!(LocalHashParams::new(1.0, 100, 16, Some((1 << 20) + 1)).is_err());
        assert!(LocalHashParams::new(1.0, 100, 1 << 16, Some(256)).is_ok());
        assert!(LocalHashParams::new(1.0, 100, 1 << 16, Some(257)).is_err());
    }

    #[test]
    fn specialised_hash_equals_xxh3() {
        let mut seed = 0x0123_4567_89ab_cdefu64;
        for i in 0..100_000u32 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let value = i.wrapping_mul(2_654_435_761) ^ (seed >> 40) as u32;
            let seed = if i % 10 == 0 { u64::from(i) } else { seed };
            let expected = twox_hash::XxHash3_64::oneshot_with_seed(seed, &value.to_le_bytes());
            assert_eq!(
                BucketHasher::new(seed, 2).hash(value),
                expected,
                "seed {seed}, value {value}"
            );
        }
    }

    #[test]
    fn hash_ranges_agree_with_buckets() {
        let mut h = 0x9e37_79b9_7f4a_7c15u64;
        for g in [2u32, 3, 4, 7, 56, 1000, 65_536] {
            let hasher = BucketHasher::new(5, g);
            let ranges: alloc::vec::Vec<HashRange> =
                (0..g).map(|y| hasher.bucket_hashes(y)).collect();
            for i in 0..20_000u64 {
                h = h
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(i | 1);
                // Probe the edges of the ranges too.
                let probe = match i % 4 {
                    0 => ranges[(i as usize / 4) % g as usize].start,
                    1 => ranges[(i as usize / 4) % g as usize].start.wrapping_sub(1),
                    _ => h,
                };
                let bucket = ((u128::from(probe) * u128::from(g)) >> 64) as u32;
                for (y, range) in ranges.iter().enumerate().take(64) {
                    assert_eq!(range.contains(probe), bucket == y as u32, "g {g} h {probe}");
                }
            }
        }
    }

    #[test]
    fn buckets_are_in_range_and_roughly_uniform() {
        let hasher = BucketHasher::new(99, 7);
        let mut counts = [0u32; 7];
        for v in 0..70_000 {
            counts[hasher.bucket(v) as usize] += 1;
        }
        // 10,000 expected per bucket, sd ≈ 93: 6 sd either way.
        assert!(
            counts.iter().all(|&c| (9_440..=10_560).contains(&c)),
            "{counts:?}"
        );
    }
}
