//! Unary-encoding encoder (SUE and OUE). Parameters, p, q and variance:
//! `ldp_protocol::mechanism::unary`.
//!
//! The k bits are drawn 64 lanes at a time ([`crate::rng::bernoulli_lanes`]): about eight
//! random words per 64 bits instead of 64 coin flips; then the true value's bit is redrawn with
//! probability p. Cost O(k/64) words whatever q is. Exact for every threshold (tested).
//!
//! There is no geometric-skipping path for sparse vectors yet. Skipping needs exactly
//! geometric gaps for the dyadic probability `t/2^64`, which no simple exact sampler gives
//! (inverting a float CDF is not exact); the lane path costs about 1 µs per 1,000 values
//! whatever q is (`cargo bench -p ldp-client --bench encode`).

use alloc::vec;
use alloc::vec::Vec;

use ldp_protocol::mechanism::{MechanismKind, UnaryParams};
use ldp_protocol::{Report, UnaryReport};
use rand_core::RngCore;

use crate::rng::{bernoulli, bernoulli_lanes};

/// Writes a randomized unary encoding of `index` into `out` (`params.words()` words).
/// Reuse `out` across calls to encode without allocating.
#[inline]
pub fn encode_into<R: RngCore + ?Sized>(
    params: &UnaryParams,
    index: u32,
    rng: &mut R,
    out: &mut [u64],
) {
    let q = params.one_if_false.0;
    for word in out.iter_mut() {
        *word = bernoulli_lanes(rng, q);
    }
    let tail = params.k % 64;
    if tail != 0
        && let Some(last) = out.last_mut()
    {
        *last &= (1u64 << tail) - 1;
    }
    if let Some(word) = out.get_mut(index as usize / 64) {
        let mask = 1u64 << (index % 64);
        if bernoulli(rng, params.one_if_true.0) {
            *word |= mask;
        } else {
            *word &= !mask;
        }
    }
}

/// A unary report of `index` for SUE (`kind == Sue`) or OUE.
pub fn encode<R: RngCore + ?Sized>(
    params: &UnaryParams,
    kind: MechanismKind,
    index: u32,
    rng: &mut R,
) -> Report {
    let mut bits: Vec<u64> = vec![0; params.words()];
    encode_into(params, index, rng, &mut bits);
    let report = UnaryReport { bits };
    if kind == MechanismKind::Sue {
        Report::Sue(report)
    } else {
        Report::Oue(report)
    }
}
