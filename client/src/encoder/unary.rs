//! Unary-encoding encoder (SUE and OUE). Parameters, p, q and variance:
//! `ldp_protocol::mechanism::unary`.
//!
//! Two exact ways to draw the k − 1 bits of the other values, chosen by q:
//! - **dense** ([`crate::rng::bernoulli_lanes_into`]): 64 bits at a time, about nine random
//!   words per 64 bits whatever q is; cost O(k/64) words.
//! - **sparse** ([`crate::geometric::gap`]): skip from one 1 to the next with exact geometric
//!   gaps; cost O(q·k) words and logarithms.
//!
//! Either way the true value's bit is then redrawn with probability p. Both give exactly the
//! specified distribution (tested); which is faster depends only on q, and the switch point
//! [`SPARSE_BELOW`] comes from `cargo bench -p ldp-client --bench encode`.

use ldp_protocol::UnaryReport;
use ldp_protocol::mechanism::UnaryParams;
use rand_core::RngCore;

use crate::encoder::Randomizer;
use crate::geometric;
use crate::rng::{bernoulli, bernoulli_lanes_into};

/// The sparse path is used when q is below this many 2^-64ths (q < 1/40; OUE from ε ≈ 3.7).
///
/// Measured at k = 1024 with ChaCha20 (`cargo bench -p ldp-client --bench encode --
/// unary_paths`): the dense path costs 1.13 µs whatever q is; the sparse path about 32 ns per
/// one plus a small constant (0.62 µs at q = 0.018, 1.58 µs at q = 0.047), so they cross near
/// 33 ones per 1,024 bits.
pub const SPARSE_BELOW: u64 = u64::MAX / 40;

/// SUE and OUE: the same parameters and report, different thresholds.
impl Randomizer for UnaryParams {
    type Value = u32;
    type Report = UnaryReport;

    fn blank(&self) -> UnaryReport {
        UnaryReport {
            bits: alloc::vec![0; self.words()],
        }
    }

    /// Writes the k bits into `report.bits` (resized to [`UnaryParams::words`] words: no
    /// allocation once it has that length), by the sparse path when q is below
    /// [`SPARSE_BELOW`], else the dense one.
    #[inline]
    fn encode_into<R: RngCore + ?Sized>(&self, index: &u32, rng: &mut R, report: &mut UnaryReport) {
        report.bits.resize(self.words(), 0);
        if self.one_if_false.0 < SPARSE_BELOW {
            encode_sparse_into(self, *index, rng, &mut report.bits);
        } else {
            encode_dense_into(self, *index, rng, &mut report.bits);
        }
    }
}

/// The k bits of `index` into `out` ([`UnaryParams::words`] words) by the dense path whatever
/// q is (for measurement and tests; encoders use [`Randomizer::encode_into`]).
pub fn encode_dense_into<R: RngCore + ?Sized>(
    params: &UnaryParams,
    index: u32,
    rng: &mut R,
    out: &mut [u64],
) {
    bernoulli_lanes_into(rng, params.one_if_false.0, out);
    let tail = params.k % 64;
    if tail != 0
        && let Some(last) = out.last_mut()
    {
        *last &= (1u64 << tail) - 1;
    }
    set_true_bit(params, index, rng, out);
}

/// The k bits of `index` into `out` ([`UnaryParams::words`] words) by the sparse path whatever
/// q is (for measurement and tests; encoders use [`Randomizer::encode_into`]).
pub fn encode_sparse_into<R: RngCore + ?Sized>(
    params: &UnaryParams,
    index: u32,
    rng: &mut R,
    out: &mut [u64],
) {
    out.fill(0);
    let q = params.one_if_false.0;
    let mut position = 0u32;
    while position < params.k {
        position += geometric::gap(rng, q, params.k - position);
        if position >= params.k {
            break;
        }
        if let Some(word) = out.get_mut(position as usize / 64) {
            *word |= 1u64 << (position % 64);
        }
        position += 1;
    }
    set_true_bit(params, index, rng, out);
}

/// Redraws the true value's bit: 1 with probability p.
#[inline]
fn set_true_bit<R: RngCore + ?Sized>(
    params: &UnaryParams,
    index: u32,
    rng: &mut R,
    out: &mut [u64],
) {
    if let Some(word) = out.get_mut(index as usize / 64) {
        let mask = 1u64 << (index % 64);
        if bernoulli(rng, params.one_if_true.0) {
            *word |= mask;
        } else {
            *word &= !mask;
        }
    }
}
