//! Generalized randomized response encoder. Parameters, p, q and variance:
//! `ldp_protocol::mechanism::grr`.
//!
//! One 64-bit draw decides keep-or-lie (keep when it is below the integer threshold); a lie is
//! an exactly uniform index among the k − 1 others. O(1) per report.

use ldp_protocol::GrrReport;
use ldp_protocol::mechanism::GrrParams;
use rand_core::RngCore;

use crate::encoder::Randomizer;
use crate::rng::{bernoulli, uniform_below};

impl Randomizer for GrrParams {
    type Value = u32;
    type Report = GrrReport;

    #[inline]
    fn blank(&self) -> GrrReport {
        GrrReport { value: 0 }
    }

    #[inline]
    fn encode_into<R: RngCore + ?Sized>(&self, index: &u32, rng: &mut R, report: &mut GrrReport) {
        report.value = randomize_index(self.keep.0, self.k, *index, rng);
    }
}

/// Randomized response over `k ≥ 2` values: `index` kept with probability `keep / 2^64`,
/// otherwise a uniform one of the k − 1 others. Local hashing uses it over its g buckets.
#[inline]
pub(crate) fn randomize_index<R: RngCore + ?Sized>(
    keep: u64,
    k: u32,
    index: u32,
    rng: &mut R,
) -> u32 {
    if bernoulli(rng, keep) {
        index
    } else {
        // Uniform over the k − 1 other values: draw in [0, k−1) and skip over `index`.
        let other = uniform_below(rng, k.saturating_sub(1));
        other + u32::from(other >= index)
    }
}
