//! LOLOHA counters: support counts per value, as local hashing's per-report seeds (a report
//! supports every value its seed hashes to the reported bucket). Fold O(k) hashes per report;
//! estimate O(k). Math, and why this is a pure protocol with `p = ps`, `q = 1/g`:
//! `ldp_protocol::mechanism::loloha`.

use ldp_protocol::mechanism::{CheckedReports, LolohaParams};
use ldp_protocol::{CampaignConfig, LocalHashReport};

use super::family::{CountEstimate, FamilyCounters, Tally, pure_estimates};
use super::local_hash::fold_support;
use crate::error::AggregateError;

/// LOLOHA counters: how many reports support each value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LolohaCounters {
    params: LolohaParams,
    tally: Tally,
}

impl LolohaCounters {
    /// The support count of every value.
    pub fn supports(&self) -> Vec<f64> {
        self.tally.cells.iter().map(|&c| c as f64).collect()
    }
}

impl FamilyCounters for LolohaCounters {
    type Params = LolohaParams;
    type Query<'q> = ();
    type Output = Vec<CountEstimate>;

    fn new(params: &LolohaParams, _config: &CampaignConfig) -> Self {
        Self {
            params: *params,
            tally: Tally::new(params.k as usize),
        }
    }

    fn params(&self) -> &LolohaParams {
        &self.params
    }

    fn tally(&self) -> &Tally {
        &self.tally
    }

    fn tally_mut(&mut self) -> &mut Tally {
        &mut self.tally
    }

    fn into_cells(self) -> Vec<u64> {
        self.tally.cells
    }

    fn fold(&mut self, reports: CheckedReports<'_, LolohaParams>) {
        for report in reports.iter::<LocalHashReport>() {
            fold_support(&mut self.tally.cells, self.params.g, report);
        }
        self.tally.n += reports.len() as u64;
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
