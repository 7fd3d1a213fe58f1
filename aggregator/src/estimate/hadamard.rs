//! Hadamard Response counters: a histogram of the K outputs, turned into every value's support
//! count by one fast Walsh–Hadamard transform (O(K log K)), never an O(K·k) loop. Math:
//! `ldp_protocol::mechanism::hadamard`.

use ldp_protocol::mechanism::{CheckedReports, HadamardParams};
use ldp_protocol::{CampaignConfig, GrrReport};

use super::family::{AddOne, CountEstimate, FamilyCounters, Tally, pure_estimates};
use super::transform::fwht;
use crate::error::AggregateError;

/// Hadamard Response counters: a histogram of the K outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HadamardCounters {
    params: HadamardParams,
    tally: Tally,
}

impl HadamardCounters {
    /// The support count of every value, from the histogram by one transform.
    pub fn supports(&self) -> Vec<f64> {
        supports(&self.params, &self.tally.cells, self.tally.n)
    }
}

impl FamilyCounters for HadamardCounters {
    type Params = HadamardParams;
    type Query<'q> = ();
    type Output = Vec<CountEstimate>;

    fn new(params: &HadamardParams, _config: &CampaignConfig) -> Self {
        Self {
            params: *params,
            tally: Tally::new(params.outputs as usize),
        }
    }

    fn params(&self) -> &HadamardParams {
        &self.params
    }

    fn tally(&self) -> &Tally {
        &self.tally
    }

    fn tally_mut(&mut self) -> &mut Tally {
        &mut self.tally
    }

    fn fold(&mut self, reports: CheckedReports<'_, HadamardParams>) {
        add_ones(reports, &mut self.tally.cells[..]);
        self.tally.n += reports.len() as u64;
    }

    fn touched_cells(
        _params: &HadamardParams,
        reports: CheckedReports<'_, HadamardParams>,
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

/// The support count of every value: `S_v = (n + Ĥ[v + 1]) / 2`, exact integers.
pub(crate) fn supports(params: &HadamardParams, histogram: &[u64], n: u64) -> Vec<f64> {
    let mut transformed: Vec<i64> = histogram.iter().map(|&c| c as i64).collect();
    fwht(&mut transformed);
    (0..params.k as usize)
        .map(|v| {
            let w = transformed.get(v + 1).copied().unwrap_or(0);
            (n as f64 + w as f64) / 2.0
        })
        .collect()
}

/// Each report adds one to its reported index's cell.
#[inline]
fn add_ones<T: AddOne + ?Sized>(reports: CheckedReports<'_, HadamardParams>, cells: &mut T) {
    for report in reports.iter::<GrrReport>() {
        cells.add_one(report.value as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ldp_protocol::mechanism::hadamard::in_set;

    #[test]
    fn the_transform_counts_every_values_support() {
        let params = HadamardParams::new(1.0, 12).unwrap();
        let histogram: Vec<u64> = (0..16u64).map(|i| i * i % 7 + i).collect();
        let n: u64 = histogram.iter().sum();
        let fast = supports(&params, &histogram, n);
        for v in 0..12u32 {
            let naive: u64 = (0..16u32)
                .filter(|&y| in_set(v, y))
                .map(|y| histogram[y as usize])
                .sum();
            assert_eq!(fast[v as usize], naive as f64, "v={v}");
        }
    }
}
