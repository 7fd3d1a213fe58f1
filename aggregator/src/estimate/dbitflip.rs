//! dBitFlip counters: per point, the reports whose device sampled it and those of them with its
//! bit set; the histogram of the rounded values and the mean. Estimator and variance:
//! `ldp_protocol::mechanism::dbitflip`.
//!
//! The mean's standard error is the plug-in of the per-device variance
//! `E[Z²] − t̄²`, with `E[t_v²]` estimated from the histogram: like the other numeric
//! mechanisms' sample variance, it holds the spread of the values besides the randomization,
//! so it is the error for the mean of the population the devices come from.

use ldp_protocol::mechanism::{CheckedReports, DBitFlipParams};
use ldp_protocol::{CampaignConfig, DBitFlipReport};

use super::Z_95;
use super::family::{AddOne, CountEstimate, FamilyCounters, Tally};
use super::numeric::MeanEstimate;
use crate::error::AggregateError;

/// dBitFlip counters: cells `0..k` count the reports that sampled each point, cells `k..2k`
/// those with the point's bit set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DBitFlipCounters {
    params: DBitFlipParams,
    tally: Tally,
}

impl DBitFlipCounters {
    /// The unbiased count estimate of every point, `(k/d)·(o_v − q·n_v)/(p − q)`.
    fn counts(&self) -> Vec<f64> {
        let k = self.params.points as usize;
        let (p, q) = self.params.bit_probabilities();
        let scale = f64::from(self.params.points) / f64::from(self.params.sampled) / (p - q);
        let (sampled, ones) = self.tally.cells.split_at(k.min(self.tally.cells.len()));
        sampled
            .iter()
            .zip(ones)
            .map(|(&n_v, &o_v)| scale * (o_v as f64 - q * n_v as f64))
            .collect()
    }
}

impl FamilyCounters for DBitFlipCounters {
    type Params = DBitFlipParams;
    /// The campaign's range `(lo, hi)`.
    type Query<'q> = (f64, f64);
    type Output = MeanEstimate;

    fn new(params: &DBitFlipParams, _config: &CampaignConfig) -> Self {
        Self {
            params: *params,
            tally: Tally::new(2 * params.points as usize),
        }
    }

    fn params(&self) -> &DBitFlipParams {
        &self.params
    }

    fn tally(&self) -> &Tally {
        &self.tally
    }

    fn tally_mut(&mut self) -> &mut Tally {
        &mut self.tally
    }

    fn fold(&mut self, reports: CheckedReports<'_, DBitFlipParams>) {
        add_ones(&self.params, reports, &mut self.tally.cells[..]);
        self.tally.n += reports.len() as u64;
    }

    fn touched_cells(
        params: &DBitFlipParams,
        reports: CheckedReports<'_, DBitFlipParams>,
        touched: &mut Vec<usize>,
    ) -> bool {
        add_ones(params, reports, touched);
        true
    }

    /// The mean over `[lo, hi]`, with its standard error and 95% interval.
    fn estimate(&self, (lo, hi): (f64, f64)) -> Result<MeanEstimate, AggregateError> {
        let n = self.tally.n;
        let total = n as f64;
        let counts = self.counts();
        let (mut sum, mut squares) = (0.0, 0.0);
        for (j, count) in (0u32..).zip(&counts) {
            let t = self.params.point(j);
            sum += count * t;
            squares += count * t * t;
        }
        let half_range = (hi - lo) / 2.0;
        let (t_mean, t_se) = if n > 0 {
            let m = sum / total;
            // The rounded values' mean square, at most 1.
            let rounded_square = (squares / total).clamp(0.0, 1.0);
            let variance = (self.params.second_moment(rounded_square) - m * m).max(0.0);
            (m, (variance / total).sqrt())
        } else {
            (0.0, f64::INFINITY)
        };
        let mean = lo + (t_mean + 1.0) * half_range;
        let std_error = t_se * half_range;
        Ok(MeanEstimate {
            n,
            mean,
            std_error,
            ci95_low: mean - Z_95 * std_error,
            ci95_high: mean + Z_95 * std_error,
            lo,
            hi,
        })
    }

    /// The histogram: every point's count of devices whose value rounds to it.
    fn value_estimates(&self) -> Result<Vec<CountEstimate>, AggregateError> {
        let n = self.tally.n as f64;
        Ok(self
            .counts()
            .into_iter()
            .map(|count| CountEstimate {
                count,
                std_error: self
                    .params
                    .count_variance(count.clamp(0.0, n), n)
                    .max(0.0)
                    .sqrt(),
            })
            .collect())
    }
}

/// Each report adds one to the `sampled` cell of each of its points, and to the point's `ones`
/// cell where its bit is set.
#[inline]
fn add_ones<T: AddOne + ?Sized>(
    params: &DBitFlipParams,
    reports: CheckedReports<'_, DBitFlipParams>,
    cells: &mut T,
) {
    let k = params.points as usize;
    for report in reports.iter::<DBitFlipReport>() {
        for (i, &point) in report.points.iter().enumerate() {
            let j = point as usize;
            if j < k {
                cells.add_one(j);
                if report.bits >> i & 1 == 1 {
                    cells.add_one(k + j);
                }
            }
        }
    }
}
