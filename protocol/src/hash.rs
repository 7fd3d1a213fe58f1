//! Small hash helpers shared by the mechanisms' hash families.

/// The SplitMix64 finalizer: a bijection of `u64` whose every output bit depends on every
/// input bit. RAPPOR mixes its per-cohort, per-hash xxh3 seeds with it and the count-mean
/// sketches their per-row seeds.
#[inline]
pub const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
