//! GRR counters: one counter per value; a report increments the counter of its index.
//! Fold O(1); estimate O(k). Math: `ldp_protocol::mechanism::grr`.

use ldp_protocol::mechanism::{CheckedReports, GrrParams};
use ldp_protocol::{CampaignConfig, GrrReport};

use super::family::{AddOne, CountEstimate, FamilyCounters, Tally, pure_estimates};
use crate::error::AggregateError;

/// GRR counters: how many reports named each value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrrCounters {
    params: GrrParams,
    tally: Tally,
}

impl GrrCounters {
    /// The support count of every value: its counter.
    pub fn supports(&self) -> Vec<f64> {
        self.tally.cells.iter().map(|&c| c as f64).collect()
    }
}

impl FamilyCounters for GrrCounters {
    type Params = GrrParams;
    type Query<'q> = ();
    type Output = Vec<CountEstimate>;

    fn new(params: &GrrParams, _config: &CampaignConfig) -> Self {
        Self {
            params: *params,
            tally: Tally::new(params.k as usize),
        }
    }

    fn params(&self) -> &GrrParams {
        &self.params
    }

    fn tally(&self) -> &Tally {
        &self.tally
    }

    fn tally_mut(&mut self) -> &mut Tally {
        &mut self.tally
    }

    fn fold(&mut self, reports: CheckedReports<'_, GrrParams>) {
        add_ones(reports, &mut self.tally.cells[..]);
        self.tally.n += reports.len() as u64;
    }

    fn touched_cells(
        _params: &GrrParams,
        reports: CheckedReports<'_, GrrParams>,
        touched: &mut Vec<usize>,
    ) -> bool {
        add_ones(reports, touched);
        true
    }

    fn estimate(&self, (): ()) -> Result<Vec<CountEstimate>, AggregateError> {
        Ok(pure_estimates(
            self.params.pure(),
            self.supports(),
            self.n(),
        ))
    }

    fn value_estimates(&self) -> Result<Vec<CountEstimate>, AggregateError> {
        self.estimate(())
    }
}

/// Each report adds one to its value's cell.
#[inline]
fn add_ones<T: AddOne + ?Sized>(reports: CheckedReports<'_, GrrParams>, cells: &mut T) {
    for report in reports.iter::<GrrReport>() {
        cells.add_one(report.value as usize);
    }
}
