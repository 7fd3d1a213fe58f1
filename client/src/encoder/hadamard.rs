//! Hadamard Response encoder. Parameters, p, q and variance:
//! `ldp_protocol::mechanism::hadamard`.
//!
//! A uniform output y < K is drawn, and if it lies on the wrong side (in the value's set when
//! it should not be, or the reverse) one bit of y is flipped: the lowest set bit of v + 1,
//! which changes the parity of `popcount((v + 1) & y)`. That maps each half of the outputs
//! one-to-one onto the other, so y is exactly uniform on the chosen half.

use ldp_protocol::GrrReport;
use ldp_protocol::mechanism::HadamardParams;
use ldp_protocol::mechanism::hadamard::in_set;
use rand_core::RngCore;

use crate::encoder::Randomizer;
use crate::rng::{bernoulli, uniform_below};

impl Randomizer for HadamardParams {
    type Value = u32;
    /// The reported output `< K` (the payload of `Report::Hr`).
    type Report = GrrReport;

    #[inline]
    fn blank(&self) -> GrrReport {
        GrrReport { value: 0 }
    }

    #[inline]
    fn encode_into<R: RngCore + ?Sized>(&self, index: &u32, rng: &mut R, report: &mut GrrReport) {
        let index = *index;
        let keep = bernoulli(rng, self.keep.0);
        let y = uniform_below(rng, self.outputs);
        report.value = if in_set(index, y) == keep {
            y
        } else {
            let row = index.wrapping_add(1);
            y ^ (row & row.wrapping_neg())
        };
    }
}
