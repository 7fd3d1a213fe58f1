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
//! hashes. A finite pool correlates hash collisions with heavy values, which adds error that
//! shrinks as P grows (see `ldp-aggregator`'s documentation for the measurement).
//! Report: seed `u64` + bucket `u32` (16 bytes with the tag).

use crate::error::ConfigError;
use crate::math::{LikelihoodRatio, PureParams, Threshold};
use crate::mechanism::grr::{keep_ratio, keep_threshold};

/// Largest domain local hashing accepts (decoding costs O(k) hashes per report or per seed).
pub const MAX_K: u32 = 1 << 20;
/// Largest hash range g.
pub const MAX_HASH_RANGE: u32 = 1 << 16;
/// Largest seed pool.
pub const MAX_SEED_POOL: u32 = 1 << 20;

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
    /// Local hashing for ε over `k` values into `g` buckets, with an optional seed pool.
    pub fn new(epsilon: f64, k: u32, g: u32, seed_pool: Option<u32>) -> Result<Self, ConfigError> {
        if k < 2 {
            return Err(ConfigError::DomainTooSmall(u64::from(k)));
        }
        if k > MAX_K {
            return Err(ConfigError::DomainTooLarge {
                k: u64::from(k),
                max: MAX_K,
                mechanism: "local hashing",
            });
        }
        if !(2..=MAX_HASH_RANGE).contains(&g) {
            return Err(ConfigError::HashRangeOutOfRange {
                g,
                max: MAX_HASH_RANGE,
            });
        }
        if let Some(pool) = seed_pool
            && !(1..=MAX_SEED_POOL).contains(&pool)
        {
            return Err(ConfigError::SeedPoolOutOfRange(pool));
        }
        Ok(Self {
            k,
            g,
            keep: keep_threshold(epsilon, g),
            seed_pool,
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
    let h = twox_hash::XxHash3_64::oneshot_with_seed(seed, &value.to_le_bytes());
    ((u128::from(h) * u128::from(g)) >> 64) as u32
}
