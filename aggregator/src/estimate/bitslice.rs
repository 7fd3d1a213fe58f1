//! Bit-sliced counters: many reports' bit vectors summed per bit position, eight reports at a
//! time, without a branch that depends on the data. Unary encoding folds its reports through
//! one; RAPPOR (per cohort) and CMS (per hash row) through one per row.
//!
//! Every 64-bit word position keeps 16 bit planes: a 16-bit counter for each of its 64
//! bit positions, stored transposed. Reports are folded eight at a time: a carry-save adder
//! tree (Harley–Seal) reduces the eight words to a 4-bit sum per lane, which a branch-free
//! ripple adder adds into the planes — about ten word operations per report word. A lone
//! report takes a short ripple add. The planes are flushed into 64-bit counters before they
//! could overflow (every ~65,000 reports), so the flush cost is negligible.

/// Bit planes per word: the slices count up to 65,535 reports before a flush.
pub(crate) const PLANES: usize = 16;
const CAPACITY: u32 = (1 << PLANES) - 1;

/// Carry-save adder: three inputs of weight w → (sum of weight w, carry of weight 2w).
#[inline(always)]
fn csa(a: u64, b: u64, c: u64) -> (u64, u64) {
    let u = a ^ b;
    (u ^ c, (a & b) | (u & c))
}

/// Bit-sliced partial counts for `words` 64-bit words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BitSlices {
    /// `planes[w * PLANES + l]` is bit l of the partial count of the 64 positions of word w.
    planes: Vec<u64>,
    pending: u32,
}

/// Bit counts partitioned by rows (RAPPOR's cohorts, CMS's hash rows): `rows × (width + 1)`
/// cells, per row the count of each of `width` bits then the row's report count, folded
/// through one [`BitSlices`] per row. Counts one report of `row`; a row out of range (which
/// `Report::check` refuses) counts nothing.
#[inline]
pub(crate) fn fold_row(
    cells: &mut [u64],
    slices: &mut [BitSlices],
    width: u32,
    row: u32,
    bits: &[u64],
) {
    let stride = width as usize + 1;
    let start = row as usize * stride;
    let (Some(slice), Some(row_cells)) = (
        slices.get_mut(row as usize),
        cells.get_mut(start..start + stride),
    ) else {
        return;
    };
    let (bit_cells, total) = row_cells.split_at_mut(stride - 1);
    slice.add(bits, bit_cells);
    if let Some(total) = total.first_mut() {
        *total += 1;
    }
}

/// Adds every row's pending bit-sliced counts into `cells` (layout of [`fold_row`]).
pub(crate) fn flush_rows(slices: &[BitSlices], width: u32, cells: &mut [u64]) {
    let stride = width as usize + 1;
    for (slice, row_cells) in slices.iter().zip(cells.chunks_exact_mut(stride)) {
        slice.add_to(row_cells.get_mut(..stride - 1).unwrap_or_default());
    }
}

impl BitSlices {
    /// One empty counter per row, each of `words` words.
    pub(crate) fn per_row(rows: u32, words: usize) -> Vec<Self> {
        (0..rows).map(|_| Self::new(words)).collect()
    }

    pub(crate) fn new(words: usize) -> Self {
        Self {
            planes: vec![0; words * PLANES],
            pending: 0,
        }
    }

    /// Bytes held by the planes.
    pub(crate) fn approx_bytes(&self) -> usize {
        self.planes.len() * 8
    }

    /// Adds one report's words; flushes into `counts` first if the planes could overflow.
    #[inline]
    pub(crate) fn add(&mut self, bits: &[u64], counts: &mut [u64]) {
        if self.pending + 1 > CAPACITY {
            self.flush(counts);
        }
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
    }

    /// Adds eight reports' words (all of the same length) at once.
    #[inline]
    pub(crate) fn add8(&mut self, reports: [&[u64]; 8], counts: &mut [u64]) {
        if self.pending + 8 > CAPACITY {
            self.flush(counts);
        }
        let [r0, r1, r2, r3, r4, r5, r6, r7] = reports;
        let words = r0
            .iter()
            .zip(r1)
            .zip(r2)
            .zip(r3)
            .zip(r4)
            .zip(r5)
            .zip(r6)
            .zip(r7);
        for ((((((((x0, x1), x2), x3), x4), x5), x6), x7), planes) in
            words.zip(self.planes.chunks_exact_mut(PLANES))
        {
            // Eight words of weight 1 → one 4-bit number per lane: (ones, twos, fours, eights).
            let (s1, c1) = csa(*x0, *x1, *x2);
            let (s2, c2) = csa(s1, *x3, *x4);
            let (s3, c3) = csa(s2, *x5, *x6);
            let (ones, c4) = (s3 ^ x7, s3 & x7);
            let (t1, d1) = csa(c1, c2, c3);
            let (twos, d2) = (t1 ^ c4, t1 & c4);
            let (fours, eights) = (d1 ^ d2, d1 & d2);
            // Branch-free ripple add of the 4-bit lanes into the 16 planes.
            let mut carry = 0u64;
            for (plane, addend) in planes.iter_mut().zip([ones, twos, fours, eights]) {
                let (sum, next) = csa(*plane, addend, carry);
                *plane = sum;
                carry = next;
            }
            for plane in planes.iter_mut().skip(4) {
                let sum = *plane ^ carry;
                carry &= *plane;
                *plane = sum;
            }
        }
        self.pending += 8;
    }

    /// Adds the partial counts into `counts` without clearing them.
    pub(crate) fn add_to(&self, counts: &mut [u64]) {
        if self.pending == 0 {
            return;
        }
        // No lane counts more than `pending`, so the planes above its bit length are zero.
        let used = (u32::BITS - self.pending.leading_zeros()) as usize;
        for (w, planes) in self.planes.chunks_exact(PLANES).enumerate() {
            let planes = planes.get(..used).unwrap_or(planes);
            if planes.iter().all(|p| *p == 0) {
                continue;
            }
            let base = w * 64;
            let Some(lanes) = counts.get_mut(base..(base + 64).min(counts.len())) else {
                continue;
            };
            // Plane `l` adds 2^l to each lane whose bit it sets: one step per set bit, at
            // most the 64 lanes × `used` planes of a lane-by-lane transpose.
            for (l, &plane) in planes.iter().enumerate() {
                let mut bits = plane;
                while bits != 0 {
                    if let Some(slot) = lanes.get_mut(bits.trailing_zeros() as usize) {
                        *slot += 1 << l;
                    }
                    bits &= bits - 1;
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
        let mut batch: Vec<Vec<u64>> = Vec::new();
        for round in 0..70_000 {
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
            // Mix lone adds and groups of eight; cross the flush point.
            if round % 3 == 0 {
                slices.add(&bits, &mut counts);
            } else {
                batch.push(bits);
                if batch.len() == 8 {
                    let refs: [&[u64]; 8] = std::array::from_fn(|i| batch[i].as_slice());
                    slices.add8(refs, &mut counts);
                    batch.clear();
                }
            }
        }
        for bits in &batch {
            slices.add(bits, &mut counts);
        }
        let mut total = counts.clone();
        slices.add_to(&mut total);
        assert_eq!(total, naive);
    }
}
