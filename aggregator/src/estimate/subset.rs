//! Subset Selection counters: one counter per value; a report increments the counter of every
//! value in its set. Fold O(w); estimate O(k). Math: `ldp_protocol::mechanism::subset`.

use ldp_protocol::mechanism::{CheckedReports, SubsetParams};
use ldp_protocol::{CampaignConfig, SubsetReport};

use super::family::{AddOne, CountEstimate, FamilyCounters, Tally, pure_estimates};
use crate::error::AggregateError;

/// Subset Selection counters: per value, how many reported sets held it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubsetCounters {
    params: SubsetParams,
    tally: Tally,
}

impl SubsetCounters {
    /// The support count of every value: its counter.
    pub fn supports(&self) -> Vec<f64> {
        self.tally.cells.iter().map(|&c| c as f64).collect()
    }
}

impl FamilyCounters for SubsetCounters {
    type Params = SubsetParams;
    type Query<'q> = ();
    type Output = Vec<CountEstimate>;

    fn new(params: &SubsetParams, _config: &CampaignConfig) -> Self {
        Self {
            params: *params,
            tally: Tally::new(params.k as usize),
        }
    }

    fn params(&self) -> &SubsetParams {
        &self.params
    }

    fn tally(&self) -> &Tally {
        &self.tally
    }

    fn tally_mut(&mut self) -> &mut Tally {
        &mut self.tally
    }

    fn fold(&mut self, reports: CheckedReports<'_, SubsetParams>) {
        add_ones(reports, &mut self.tally.cells[..]);
        self.tally.n += reports.len() as u64;
    }

    fn touched_cells(
        _params: &SubsetParams,
        reports: CheckedReports<'_, SubsetParams>,
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

/// Each report adds one to the cell of every value in its set.
#[inline]
fn add_ones<T: AddOne + ?Sized>(reports: CheckedReports<'_, SubsetParams>, cells: &mut T) {
    for report in reports.iter::<SubsetReport>() {
        for &v in &report.values {
            cells.add_one(v as usize);
        }
    }
}
