//! Subset Selection encoder. Parameters, p, q and variance: `ldp_protocol::mechanism::subset`.
//!
//! The true value joins the set with probability p (an integer threshold); the other w − 1 or
//! w members are a uniform subset of the k − 1 other values, drawn exactly by Floyd's algorithm
//! (one uniform integer per member) into a bitset, which is then read out in increasing order.

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
    /// w values), with a bitset of [`SubsetParams::words`] words as scratch: on the stack up to
    /// k = 4,096 (no allocation per report), on the heap beyond.
    fn encode_into<R: RngCore + ?Sized>(
        &self,
        index: &u32,
        rng: &mut R,
        report: &mut SubsetReport,
    ) {
        let mut stack = [0u64; STACK_WORDS];
        let mut heap = Vec::new();
        let bitset = match stack.get_mut(..self.words()) {
            Some(words) => words,
            None => {
                heap.resize(self.words(), 0);
                &mut heap[..]
            }
        };
        let index = *index;
        let include = bernoulli(rng, self.include.0);
        let others = self.w - u32::from(include);
        // Floyd: a uniform `others`-subset of the k − 1 slots; slot s stands for value s, or
        // s + 1 from the true value on.
        let slots = self.k - 1;
        let value_of = |slot: u32| if slot < index { slot } else { slot + 1 };
        for j in (slots - others)..slots {
            let t = uniform_below(rng, j + 1);
            let chosen = if is_set(bitset, value_of(t)) { j } else { t };
            set(bitset, value_of(chosen));
        }
        if include {
            set(bitset, index);
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

/// Bitset words kept on the stack: domains up to 4,096 values.
const STACK_WORDS: usize = 64;

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

#[cfg(test)]
mod tests {
    use ldp_protocol::mechanism::SubsetParams;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;

    /// Both scratch paths (the stack up to 4,096 values, the heap beyond) give sets of exactly
    /// w distinct values below k, in increasing order, holding the true value about p of the
    /// time.
    #[test]
    fn sets_have_w_increasing_values_on_the_stack_and_on_the_heap() {
        let mut rng = ChaCha20Rng::from_seed([3; 32]);
        for k in [2_u32, 64, 65, 4_096, 4_097, 10_000] {
            let params = SubsetParams::new(1.0, k, None).unwrap();
            let mut report = params.blank();
            let mut held = 0;
            for i in 0..200 {
                let value = (i * 7_919) % k;
                params.encode_into(&value, &mut rng, &mut report);
                let values = &report.values;
                assert_eq!(values.len(), params.w as usize, "k = {k}");
                assert!(values.windows(2).all(|p| p[0] < p[1]), "k = {k}");
                assert!(values.iter().all(|&v| v < k), "k = {k}");
                held += u32::from(values.contains(&value));
            }
            assert!(held > 0, "k = {k}: the true value never joined");
        }
    }
}
