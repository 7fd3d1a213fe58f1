//! Numeric-mean encoders (Duchi, Piecewise, Hybrid). Grid, parameters and variance:
//! `ldp_protocol::mechanism::numeric`.
//!
//! The value is t ∈ [−1, 1], the number scaled from the campaign's range (`Encoder` scales and
//! clamps it). Every draw is an integer comparison: the Hybrid's coin and the in-block choice
//! against their thresholds, the block start's random rounding against its fraction scaled to
//! 2^64, the cell by an exact uniform draw — all from 32-bit words read lazily
//! ([`crate::rng::bernoulli_lazy`]), which halves the random bytes a report costs. The input t
//! itself is a float (a value, not noise); the report is a cell of a fixed grid.

use ldp_protocol::NumericReport;
use ldp_protocol::math::TWO_POW_64;
use ldp_protocol::mechanism::NumericParams;
use ldp_protocol::mechanism::numeric::Piecewise;
use rand_core::RngCore;

use crate::encoder::Randomizer;
use crate::rng::{bernoulli_lazy as bernoulli, uniform_below_lazy as uniform_below};

impl Randomizer for NumericParams {
    /// t ∈ [−1, 1] (clamped; NaN counts as 0).
    type Value = f64;
    type Report = NumericReport;

    #[inline]
    fn blank(&self) -> NumericReport {
        NumericReport { cell: 0 }
    }

    // Always inlined, with `draw`: the simulator calls it per report, and as a call it took
    // twice the time (`ldp-sim run --mechanism numeric`).
    #[inline(always)]
    fn encode_into<R: RngCore + ?Sized>(&self, t: &f64, rng: &mut R, report: &mut NumericReport) {
        let t = if t.is_nan() { 0.0 } else { t.clamp(-1.0, 1.0) };
        report.cell = match (self.piecewise, self.duchi) {
            (Some(p), Some(d)) => {
                if bernoulli(rng, self.piecewise_share.0) {
                    draw(&p, t, rng)
                } else {
                    p.cells + draw(&d, t, rng)
                }
            }
            (Some(p), None) => draw(&p, t, rng),
            (None, Some(d)) => draw(&d, t, rng),
            (None, None) => 0,
        };
    }
}

/// One report of a discrete piecewise mechanism.
#[inline(always)]
fn draw<R: RngCore + ?Sized>(p: &Piecewise, t: f64, rng: &mut R) -> u32 {
    let free = p.cells - p.block;
    // start ≥ 0 (t ≥ −1), so truncation is the floor.
    let start = p.start(t);
    let low = (start as u32).min(free);
    // The fraction as a threshold out of 2^64 (truncated: off by at most 2^-64).
    let up = ((start - f64::from(low)) * TWO_POW_64) as u64;
    let s = if low < free && bernoulli(rng, up) {
        low + 1
    } else {
        low
    };
    if bernoulli(rng, p.keep.0) {
        if p.block == 1 {
            s
        } else {
            s + uniform_below(rng, p.block)
        }
    } else {
        let u = uniform_below(rng, free);
        if u < s { u } else { u + p.block }
    }
}
