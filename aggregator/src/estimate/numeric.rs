//! Numeric-mean counters (Duchi, Piecewise, Hybrid): a histogram of the report cells, and the
//! mean of the cells' values scaled back to the campaign's range. Grid and variance:
//! `ldp_protocol::mechanism::numeric`.
//!
//! Every report y is an unbiased estimate of its device's t, so the mean of the reports is an
//! unbiased estimate of the mean t̄. The standard error is the reports' sample standard
//! deviation over √n, whatever the population: it holds the randomization (the mechanism's
//! variance, which the statistical tests check) plus the spread of the values themselves, so
//! it is the error for the mean of the population the devices come from, and slightly
//! conservative for the reporting devices' own mean. The mean of x is
//! `lo + (t̄ + 1)/2·(hi − lo)`.

use ldp_protocol::mechanism::{CheckedReports, NumericParams};
use ldp_protocol::{CampaignConfig, NumericReport};
use serde::{Deserialize, Serialize};

use super::Z_95;
use super::family::{AddOne, CountEstimate, FamilyCounters, Tally};
use crate::error::AggregateError;

/// Numeric counters: a histogram of the report cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumericCounters {
    params: NumericParams,
    tally: Tally,
}

impl FamilyCounters for NumericCounters {
    type Params = NumericParams;
    /// The campaign's range `(lo, hi)`.
    type Query<'q> = (f64, f64);
    type Output = MeanEstimate;

    fn new(params: &NumericParams, _config: &CampaignConfig) -> Self {
        Self {
            params: *params,
            tally: Tally::new(params.cells() as usize),
        }
    }

    fn params(&self) -> &NumericParams {
        &self.params
    }

    fn tally(&self) -> &Tally {
        &self.tally
    }

    fn tally_mut(&mut self) -> &mut Tally {
        &mut self.tally
    }

    fn fold(&mut self, reports: CheckedReports<'_, NumericParams>) {
        add_ones(reports, &mut self.tally.cells[..]);
        self.tally.n += reports.len() as u64;
    }

    fn touched_cells(
        _params: &NumericParams,
        reports: CheckedReports<'_, NumericParams>,
        touched: &mut Vec<usize>,
    ) -> bool {
        add_ones(reports, touched);
        true
    }

    /// The mean over `[lo, hi]`, with its standard error and 95% interval.
    fn estimate(&self, (lo, hi): (f64, f64)) -> Result<MeanEstimate, AggregateError> {
        Ok(mean(&self.params, &self.tally.cells, lo, hi))
    }

    /// None: a numeric campaign has no values to list (its estimate is the mean).
    fn value_estimates(&self) -> Result<Vec<CountEstimate>, AggregateError> {
        Ok(Vec::new())
    }
}

/// The estimated mean of a numeric campaign.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct MeanEstimate {
    /// Reports counted.
    pub n: u64,
    /// Unbiased estimate of the mean (of the values clamped into [lo, hi]).
    pub mean: f64,
    /// Standard error of `mean`, from the reports' sample variance.
    pub std_error: f64,
    /// Lower end of the 95% normal interval.
    pub ci95_low: f64,
    /// Upper end of the 95% normal interval.
    pub ci95_high: f64,
    /// The campaign's range: smallest value.
    pub lo: f64,
    /// The campaign's range: largest value.
    pub hi: f64,
}

/// The mean from the cell histogram, in the units of [lo, hi].
pub fn mean(params: &NumericParams, cells: &[u64], lo: f64, hi: f64) -> MeanEstimate {
    let n: u64 = cells.iter().sum();
    let total = n as f64;
    let (mut sum, mut squares) = (0.0, 0.0);
    for (cell, &count) in (0u32..).zip(cells) {
        let y = params.value(cell);
        sum += count as f64 * y;
        squares += count as f64 * y * y;
    }
    let half_range = (hi - lo) / 2.0;
    let (t_mean, t_se) = if n > 1 {
        let m = sum / total;
        let variance = ((squares - total * m * m) / (total - 1.0)).max(0.0);
        (m, (variance / total).sqrt())
    } else if n == 1 {
        (sum, f64::INFINITY)
    } else {
        (0.0, f64::INFINITY)
    };
    let mean = lo + (t_mean + 1.0) * half_range;
    let std_error = t_se * half_range;
    MeanEstimate {
        n,
        mean,
        std_error,
        ci95_low: mean - Z_95 * std_error,
        ci95_high: mean + Z_95 * std_error,
        lo,
        hi,
    }
}

/// Each report adds one to its cell of the grid.
#[inline]
fn add_ones<T: AddOne + ?Sized>(reports: CheckedReports<'_, NumericParams>, cells: &mut T) {
    for report in reports.iter::<NumericReport>() {
        cells.add_one(report.cell as usize);
    }
}
