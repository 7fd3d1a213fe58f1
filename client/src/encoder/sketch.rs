//! Count-mean sketch encoders (CMS and HCMS). Parameters, hash family, debiasing and variance:
//! `ldp_protocol::mechanism::sketch`.
//!
//! The two mechanisms share [`SketchParams`] but not their reports, so each has its randomizer
//! here: [`Cms`] and [`Hcms`], views of the parameters. Both hash the value's bytes and draw
//! the row uniformly. CMS writes the one-hot vector of the value's bucket and XORs it with
//! 64-lane Bernoulli words at the flip threshold, so every entry flips independently with
//! probability exactly f; the report is always ⌈m/64⌉ words. HCMS draws the column uniformly
//! and flips the one Hadamard bit with probability exactly f.

use ldp_protocol::mechanism::SketchParams;
use ldp_protocol::mechanism::sketch::hadamard_positive;
use ldp_protocol::{HadamardSketchReport, SketchReport};
use rand_core::RngCore;

use crate::encoder::Randomizer;
use crate::rng::{bernoulli, bernoulli_lanes_into, uniform_below};

/// The count-mean sketch's randomizer over a campaign's sketch parameters.
#[derive(Debug, Clone, Copy)]
pub struct Cms<'a>(pub &'a SketchParams);

/// The Hadamard count-mean sketch's randomizer over a campaign's sketch parameters.
#[derive(Debug, Clone, Copy)]
pub struct Hcms<'a>(pub &'a SketchParams);

impl Randomizer for Cms<'_> {
    /// The bytes hashed into the sketch.
    type Value = [u8];
    type Report = SketchReport;

    fn blank(&self) -> SketchReport {
        SketchReport {
            row: 0,
            bits: alloc::vec![0; self.0.words()],
        }
    }

    /// Writes the report into `report`, reusing its words.
    #[inline]
    fn encode_into<R: RngCore + ?Sized>(
        &self,
        value: &[u8],
        rng: &mut R,
        report: &mut SketchReport,
    ) {
        let params = self.0;
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
}

impl Randomizer for Hcms<'_> {
    /// The bytes hashed into the sketch.
    type Value = [u8];
    type Report = HadamardSketchReport;

    #[inline]
    fn blank(&self) -> HadamardSketchReport {
        HadamardSketchReport {
            row: 0,
            column: 0,
            positive: false,
        }
    }

    #[inline]
    fn encode_into<R: RngCore + ?Sized>(
        &self,
        value: &[u8],
        rng: &mut R,
        report: &mut HadamardSketchReport,
    ) {
        let params = self.0;
        let row = uniform_below(rng, params.hashes);
        // The width is a power of two: a mask of one draw is exactly uniform.
        let column = (rng.next_u64() as u32) & params.width.wrapping_sub(1);
        let bucket = params.bucket(value, row);
        let flip = bernoulli(rng, params.flip.0);
        *report = HadamardSketchReport {
            row,
            column,
            positive: hadamard_positive(bucket, column) != flip,
        };
    }
}
