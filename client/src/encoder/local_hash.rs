//! Local-hashing encoder (OLH, BLH). Parameters, p, q, variance and the hash:
//! `ldp_protocol::mechanism::local_hash`.
//!
//! Draw a seed (a fresh 64-bit value, or a uniform seed-pool index), hash the value into
//! `[0, g)`, then randomized response over the g buckets. O(1) per report: one hash and two or
//! three random words.

use ldp_protocol::LocalHashReport;
use ldp_protocol::mechanism::LocalHashParams;
use ldp_protocol::mechanism::local_hash::{bucket, pool_hash_seed};
use rand_core::RngCore;

use crate::encoder::Randomizer;
use crate::encoder::grr::randomize_index;
use crate::rng::uniform_below;

impl Randomizer for LocalHashParams {
    type Value = u32;
    type Report = LocalHashReport;

    #[inline]
    fn blank(&self) -> LocalHashReport {
        LocalHashReport { seed: 0, value: 0 }
    }

    #[inline]
    fn encode_into<R: RngCore + ?Sized>(
        &self,
        index: &u32,
        rng: &mut R,
        report: &mut LocalHashReport,
    ) {
        let (seed, hash_seed) = match self.seed_pool {
            Some(pool) => {
                let i = u64::from(uniform_below(rng, pool));
                (i, pool_hash_seed(i))
            }
            None => {
                let s = rng.next_u64();
                (s, s)
            }
        };
        let hashed = bucket(hash_seed, *index, self.g);
        report.seed = seed;
        report.value = randomize_index(self.keep.0, self.g, hashed, rng);
    }
}
