//! Unary-encoding counters (SUE, OUE), folded word-wise with a bit-sliced counter.
//!
//! Each 64-bit word of a report is added into [`PLANES`] bit planes with a ripple-carry adder
//! (on average fewer than two planes touched per word), so a report costs O(k/64) word
//! operations instead of k bit tests. Every `2^PLANES − 1` reports the planes are flushed into
//! 64-bit counters. Math: `ldp_protocol::mechanism::unary`.

/// Bit planes per word: the slices count up to 255 reports before a flush.
pub(crate) const PLANES: usize = 8;
const FLUSH_EVERY: u32 = (1 << PLANES) - 1;

/// Bit-sliced partial counts for `words` 64-bit words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BitSlices {
    /// `planes[w * PLANES + l]` is bit l of the partial count of the 64 positions of word w.
    planes: Vec<u64>,
    pending: u32,
}

impl BitSlices {
    pub(crate) fn new(words: usize) -> Self {
        Self {
            planes: vec![0; words * PLANES],
            pending: 0,
        }
    }

    /// Adds one report's words; flushes into `counts` when the planes are full.
    #[inline]
    pub(crate) fn add(&mut self, bits: &[u64], counts: &mut [u64]) {
        for (word, planes) in bits.iter().zip(self.planes.chunks_exact_mut(PLANES)) {
            let mut carry = *word;
            for plane in planes.iter_mut() {
                if carry == 0 {
                    break;
                }
                let sum = *plane ^ carry;
                carry &= *plane;
                *plane = sum;
            }
        }
        self.pending += 1;
        if self.pending == FLUSH_EVERY {
            self.flush(counts);
        }
    }

    /// Adds the partial counts into `counts` without clearing them.
    pub(crate) fn add_to(&self, counts: &mut [u64]) {
        if self.pending == 0 {
            return;
        }
        for (w, planes) in self.planes.chunks_exact(PLANES).enumerate() {
            if planes.iter().all(|p| *p == 0) {
                continue;
            }
            let base = w * 64;
            for lane in 0..64 {
                let mut c = 0u64;
                for (l, plane) in planes.iter().enumerate() {
                    c |= ((plane >> lane) & 1) << l;
                }
                if let Some(slot) = counts.get_mut(base + lane) {
                    *slot += c;
                }
            }
        }
    }

    /// Moves the partial counts into `counts`.
    pub(crate) fn flush(&mut self, counts: &mut [u64]) {
        self.add_to(counts);
        self.planes.iter_mut().for_each(|p| *p = 0);
        self.pending = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_slices_count_like_bit_by_bit() {
        let words = 3;
        let k = 150;
        let mut slices = BitSlices::new(words);
        let mut counts = vec![0u64; k];
        let mut naive = vec![0u64; k];
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..1000 {
            let mut bits = vec![0u64; words];
            for w in bits.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *w = x;
            }
            bits[2] &= (1 << (k % 64)) - 1;
            for i in 0..k {
                naive[i] += (bits[i / 64] >> (i % 64)) & 1;
            }
            slices.add(&bits, &mut counts);
        }
        let mut total = counts.clone();
        slices.add_to(&mut total);
        assert_eq!(total, naive);
    }
}
