//! Count-mean sketch encoders (CMS and HCMS). Parameters, hash family, debiasing and variance:
//! `ldp_protocol::mechanism::sketch`.
//!
//! Both draw the row uniformly. CMS writes the one-hot vector of the value's bucket and XORs it
//! with 64-lane Bernoulli words at the flip threshold, so every entry flips independently with
//! probability exactly f; the report is always ⌈m/64⌉ words. HCMS draws the column uniformly
//! and flips the one Hadamard bit with probability exactly f.

use ldp_protocol::mechanism::SketchParams;
use ldp_protocol::mechanism::sketch::hadamard_positive;
use ldp_protocol::{HadamardSketchReport, SketchReport};
use rand_core::RngCore;

use crate::rng::{bernoulli, bernoulli_lanes_into, uniform_below};

/// Writes a CMS report of `value` into `report`, reusing its words.
#[inline]
pub fn encode_cms_into<R: RngCore + ?Sized>(
    params: &SketchParams,
    value: &[u8],
    rng: &mut R,
    report: &mut SketchReport,
) {
    let row = uniform_below(rng, params.hashes);
    let bucket = params.bucket(value, row);
    report.row = row;
    report.bits.resize(params.words(), 0);
    bernoulli_lanes_into(rng, params.flip.0, &mut report.bits);
    if let Some(word) = report.bits.get_mut((bucket / 64) as usize) {
        *word ^= 1 << (bucket % 64);
    }
    let used = params.width % 64;
    if used != 0
        && let Some(last) = report.bits.last_mut()
    {
        *last &= (1 << used) - 1;
    }
}

/// A CMS report of `value`.
pub fn encode_cms<R: RngCore + ?Sized>(
    params: &SketchParams,
    value: &[u8],
    rng: &mut R,
) -> SketchReport {
    let mut report = SketchReport {
        row: 0,
        bits: alloc::vec![0; params.words()],
    };
    encode_cms_into(params, value, rng, &mut report);
    report
}

/// An HCMS report of `value`.
#[inline]
pub fn encode_hcms<R: RngCore + ?Sized>(
    params: &SketchParams,
    value: &[u8],
    rng: &mut R,
) -> HadamardSketchReport {
    let row = uniform_below(rng, params.hashes);
    // The width is a power of two: a mask of one draw is exactly uniform.
    let column = (rng.next_u64() as u32) & (params.width - 1);
    let bucket = params.bucket(value, row);
    let flip = bernoulli(rng, params.flip.0);
    HadamardSketchReport {
        row,
        column,
        positive: hadamard_positive(bucket, column) != flip,
    }
}
