//! Subset Selection encoder. Parameters, p, q and variance: `ldp_protocol::mechanism::subset`.
//!
//! The true value joins the set with probability p (an integer threshold); the other w − 1 or
//! w members are a uniform subset of the k − 1 other values, drawn exactly by Floyd's algorithm
//! (one uniform integer per member) into a bitset, which is then read out in increasing order.

use alloc::vec;
use alloc::vec::Vec;

use ldp_protocol::SubsetReport;
use ldp_protocol::mechanism::SubsetParams;
use rand_core::RngCore;

use crate::encoder::Randomizer;
use crate::rng::{bernoulli, uniform_below};

impl Randomizer for SubsetParams {
    type Value = u32;
    type Report = SubsetReport;

    fn blank(&self) -> SubsetReport {
        SubsetReport {
            values: Vec::with_capacity(self.w as usize),
        }
    }

    /// Writes the set into `report.values` (cleared first; no allocation once it has room for
    /// w values), with a bitset of [`SubsetParams::words`] words as scratch.
    fn encode_into<R: RngCore + ?Sized>(
        &self,
        index: &u32,
        rng: &mut R,
        report: &mut SubsetReport,
    ) {
        let index = *index;
        let mut bitset = vec![0u64; self.words()];
        let include = bernoulli(rng, self.include.0);
        let others = self.w - u32::from(include);
        // Floyd: a uniform `others`-subset of the k − 1 slots; slot s stands for value s, or
        // s + 1 from the true value on.
        let slots = self.k - 1;
        let value_of = |slot: u32| if slot < index { slot } else { slot + 1 };
        for j in (slots - others)..slots {
            let t = uniform_below(rng, j + 1);
            let chosen = if is_set(&bitset, value_of(t)) { j } else { t };
            set(&mut bitset, value_of(chosen));
        }
        if include {
            set(&mut bitset, index);
        }
        let values = &mut report.values;
        values.clear();
        for (w, &word) in bitset.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                values.push(w as u32 * 64 + bits.trailing_zeros());
                bits &= bits - 1;
            }
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
