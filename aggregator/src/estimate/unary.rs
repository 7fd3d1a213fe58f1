//! Unary-encoding counters (SUE, OUE, and through [`UnaryShape`] the longitudinal L-SUE and
//! L-OUE): one counter per value, folded word-wise through a bit-sliced counter (module
//! `bitslice`), eight reports at a time. Fold O(k/64) words per report; estimate O(k). Math:
//! `ldp_protocol::mechanism::unary`.

use ldp_protocol::mechanism::{CheckedReports, MechanismFamily, UnaryParams};
use ldp_protocol::{CampaignConfig, PureParams, UnaryReport};

use super::bitslice::BitSlices;
use super::family::{CountEstimate, FamilyCounters, Tally, pure_estimates};
use crate::error::AggregateError;

/// Parameters whose reports are unary bit vectors of ⌈k/64⌉ words, as a pure protocol.
pub trait UnaryShape: MechanismFamily + Copy + Eq + core::fmt::Debug {
    /// Words per report, ⌈k/64⌉.
    fn words(&self) -> usize;

    /// Whether a report with these bits is counted (its number of ones is one an honest
    /// device produces: `ldp_protocol::plausibility`). Every report, unless overridden.
    fn plausible(&self, _bits: &[u64]) -> bool {
        true
    }

    /// The per-bit probabilities among the reports counted, for the estimator.
    fn counted(&self) -> PureParams {
        self.pure()
    }
}

impl UnaryShape for UnaryParams {
    fn words(&self) -> usize {
        UnaryParams::words(self)
    }

    fn plausible(&self, bits: &[u64]) -> bool {
        UnaryParams::plausible(self, bits)
    }

    fn counted(&self) -> PureParams {
        UnaryParams::counted(self)
    }
}

/// Unary counters: per value, how many reports set its bit (pending counts in bit slices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnaryCounters<P = UnaryParams> {
    params: P,
    tally: Tally,
    slices: BitSlices,
}

impl<P: UnaryShape> UnaryCounters<P> {
    /// The support count of every value: how many reports set its bit.
    pub fn supports(&self) -> Vec<f64> {
        self.cells().into_iter().map(|c| c as f64).collect()
    }
}

impl<P: UnaryShape> FamilyCounters for UnaryCounters<P> {
    type Params = P;
    type Query<'q> = ();
    type Output = Vec<CountEstimate>;

    fn new(params: &P, _config: &CampaignConfig) -> Self {
        Self {
            params: *params,
            tally: Tally::new(params.k() as usize),
            slices: BitSlices::new(params.words()),
        }
    }

    fn params(&self) -> &P {
        &self.params
    }

    fn tally(&self) -> &Tally {
        &self.tally
    }

    fn tally_mut(&mut self) -> &mut Tally {
        &mut self.tally
    }

    /// Eight reports at a time through the carry-save adder, the rest one by one; reports
    /// outside the honest range ([`UnaryShape::plausible`]) are left out and not counted in n.
    fn fold(&mut self, reports: CheckedReports<'_, P>) {
        let params = self.params;
        let mut kept = 0_u64;
        let mut iter = reports
            .iter::<UnaryReport>()
            .filter(|r| params.plausible(&r.bits))
            .inspect(|_| kept += 1);
        loop {
            let group: [Option<&[u64]>; 8] =
                core::array::from_fn(|_| iter.next().map(|r| r.bits.as_slice()));
            if group.iter().all(Option::is_some) {
                self.slices
                    .add8(group.map(Option::unwrap_or_default), &mut self.tally.cells);
                continue;
            }
            for bits in group.into_iter().flatten() {
                self.slices.add(bits, &mut self.tally.cells);
            }
            break;
        }
        self.tally.n += kept;
    }

    fn cells(&self) -> Vec<u64> {
        let mut cells = self.tally.cells.clone();
        self.slices.add_to(&mut cells);
        cells
    }

    fn into_cells(self) -> Vec<u64> {
        let mut cells = self.tally.cells;
        self.slices.add_to(&mut cells);
        cells
    }

    fn approx_bytes(&self) -> usize {
        self.tally.approx_bytes() + self.slices.approx_bytes()
    }

    fn estimate(&self, (): ()) -> Result<Vec<CountEstimate>, AggregateError> {
        Ok(pure_estimates(
            self.params.counted(),
            self.supports(),
            self.n(),
        ))
    }

    fn value_estimates(&self) -> Result<Vec<CountEstimate>, AggregateError> {
        self.estimate(())
    }
}
