//! Subset Selection encoder. Parameters, p, q and variance: `ldp_protocol::mechanism::subset`.
//!
//! The true value joins the set with probability p (an integer threshold); the other w − 1 or
//! w members are a uniform subset of the k − 1 other values, drawn exactly by Floyd's algorithm
//! (one uniform integer per member) into a bitset, which is then read out in increasing order.

use alloc::vec;
use alloc::vec::Vec;

use ldp_protocol::mechanism::SubsetParams;
use ldp_protocol::{Report, SubsetReport};
use rand_core::RngCore;

use crate::rng::{bernoulli, uniform_below};

/// A randomized set for `index`.
pub fn encode<R: RngCore + ?Sized>(params: &SubsetParams, index: u32, rng: &mut R) -> Report {
    let mut values = Vec::with_capacity(params.w as usize);
    let mut bitset = vec![0u64; params.words()];
    encode_into(params, index, rng, &mut bitset, &mut values);
    Report::Ss(SubsetReport { values })
}

/// Writes a randomized set for `index` into `values` (cleared first), using `bitset`
/// ([`SubsetParams::words`] words, any content) as scratch: no allocation once `values` has
/// room for w values.
pub fn encode_into<R: RngCore + ?Sized>(
    params: &SubsetParams,
    index: u32,
    rng: &mut R,
    bitset: &mut [u64],
    values: &mut Vec<u32>,
) {
    bitset.fill(0);
    let include = bernoulli(rng, params.include.0);
    let others = params.w - u32::from(include);
    // Floyd: a uniform `others`-subset of the k − 1 slots; slot s stands for value s, or s + 1
    // from the true value on.
    let slots = params.k - 1;
    let value_of = |slot: u32| if slot < index { slot } else { slot + 1 };
    for j in (slots - others)..slots {
        let t = uniform_below(rng, j + 1);
        let chosen = if is_set(bitset, value_of(t)) { j } else { t };
        set(bitset, value_of(chosen));
    }
    if include {
        set(bitset, index);
    }
    values.clear();
    for (w, &word) in bitset.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            values.push(w as u32 * 64 + bits.trailing_zeros());
            bits &= bits - 1;
        }
    }
}

#[inline]
fn is_set(bitset: &[u64], value: u32) -> bool {
    bitset
        .get(value as usize / 64)
        .is_some_and(|w| w >> (value % 64) & 1 == 1)
}

#[inline]
fn set(bitset: &mut [u64], value: u32) {
    if let Some(w) = bitset.get_mut(value as usize / 64) {
        *w |= 1 << (value % 64);
    }
}
