//! RAPPOR counters and decoding against candidates given at query time.
//!
//! **Counters.** Per cohort: how many reports set each of the m bits, and how many reports
//! the cohort sent — `cohorts × (m + 1)` cells, folded through one bit-sliced counter per
//! cohort (module `bitslice`), mergeable and serializable like every accumulator.
//!
//! **Decoding** (Erlingsson et al. 2014, §4; Google's `decode.R`):
//! 1. Per cohort j and bit i, the debiased count of reports whose *true* Bloom bit is set,
//!    `t̂_ij = (c_ij − p*·N_j)/(q* − p*)`, unbiased, with variance
//!    `N_j·r(1−r)/(q* − p*)²` where r is the reported-1 rate, plus `N_j·π(1−π)` for which
//!    devices the cohort happened to draw (π = t̂_ij/N_j clamped to [0, 1]) ([`bit_estimates`]).
//! 2. The candidates' design matrix: column v has `N_j/N` at every (j, i) where candidate v
//!    sets bit i in cohort j, so `t_ij ≈ Σ_v X_ij,v · x_v` for counts x_v — plus a
//!    **background** column with `N_j/N` in every row. Strings outside the list set bits too
//!    (uniformly, by hashing); without the background their count would be credited to every
//!    candidate (with 28% of devices outside the list, +12 standard errors over the top 20
//!    and an absent candidate detected in 8 of 20 runs).
//! 3. A list of at most 1,000 candidates (and at most 80% of the rows) is fitted whole:
//!    weighted least squares (weights 1/variance) on every candidate and the background,
//!    solved with `nalgebra`'s Cholesky factorization, standard errors from the inverse of
//!    `XᵀWX`. Nothing is chosen by the noise, so the estimates are unbiased and an absent
//!    candidate's z is centred on 0. Candidates the data cannot tell apart (a singular
//!    `XᵀWX`, likely only when few cohorts have reports) are left out through `nalgebra`'s
//!    symmetric eigendecomposition; every other candidate keeps its unique estimate.
//! 4. A longer list goes through forward selection: rounds that add the candidates whose z
//!    against the current fit's residual comes within 1 of the detection threshold (the
//!    largest first) and refit, until none does or 1,000 are in. Heavy values enter first, so
//!    strings that merely share their Bloom bits stop looking present once those counts are
//!    fitted. Selection follows the noise a little — an absent string that happens to look
//!    present is kept — so estimates after selection lean low (about 0.2 standard errors
//!    with 200 values among 10,000 candidates).
//! 5. Detection: a one-sided z-test per candidate at the Bonferroni level α/M over all M
//!    candidates given. Candidates not fitted have count 0 and are not detected.
//!
//! The share of the reports explained by detected candidates is reported beside them.
//! Decoding lives in `decode.rs`.

mod decode;

use std::sync::atomic::AtomicBool;

use ldp_protocol::mechanism::{CheckedReports, RapporParams};
use ldp_protocol::{CampaignConfig, RapporReport};
use serde::{Deserialize, Serialize};

use super::bitslice::{BitSlices, flush_rows, fold_row};
use super::candidates::{CandidateDecoding, own_value_estimates};
use super::family::{CandidateQuery, CountEstimate, FamilyCounters, Tally};
use crate::alpha::Alpha;
use crate::error::AggregateError;
use decode::decode;

/// RAPPOR counters: per cohort, how many reports set each Bloom bit, then the cohort's
/// report count (pending counts in one bit-sliced counter per cohort).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RapporCounters {
    params: RapporParams,
    tally: Tally,
    slices: Vec<BitSlices>,
    /// The campaign's own values, decoded against by [`FamilyCounters::value_estimates`].
    values: Vec<String>,
}

impl RapporCounters {
    /// The debiased per-cohort, per-bit counts.
    pub fn bit_estimates(&self) -> Vec<BitEstimate> {
        bit_estimates(&self.params, &self.cells())
    }
}

impl FamilyCounters for RapporCounters {
    type Params = RapporParams;
    type Query<'q> = CandidateQuery<'q>;
    type Output = CandidateDecoding;

    fn new(params: &RapporParams, config: &CampaignConfig) -> Self {
        Self {
            params: params.clone(),
            tally: Tally::new(params.cells()),
            slices: BitSlices::per_row(params.cohorts, params.words()),
            values: config.default_candidates(),
        }
    }

    fn params(&self) -> &RapporParams {
        &self.params
    }

    fn tally(&self) -> &Tally {
        &self.tally
    }

    fn tally_mut(&mut self) -> &mut Tally {
        &mut self.tally
    }

    fn fold(&mut self, reports: CheckedReports<'_, RapporParams>) {
        for report in reports.iter::<RapporReport>() {
            fold_row(
                &mut self.tally.cells,
                &mut self.slices,
                self.params.bloom_bits,
                report.cohort,
                &report.bits,
            );
        }
        self.tally.n += reports.len() as u64;
    }

    fn cells(&self) -> Vec<u64> {
        let mut cells = self.tally.cells.clone();
        flush_rows(&self.slices, self.params.bloom_bits, &mut cells);
        cells
    }

    fn into_cells(self) -> Vec<u64> {
        let mut cells = self.tally.cells;
        flush_rows(&self.slices, self.params.bloom_bits, &mut cells);
        cells
    }

    fn approx_bytes(&self) -> usize {
        self.tally.approx_bytes()
            + self
                .slices
                .iter()
                .map(BitSlices::approx_bytes)
                .sum::<usize>()
    }

    /// The regression against the candidates (module docs).
    fn estimate(&self, query: CandidateQuery<'_>) -> Result<CandidateDecoding, AggregateError> {
        decode(
            &self.params,
            &self.cells(),
            query.candidates,
            query.alpha,
            query.cancel,
        )
    }

    /// The campaign's own values decoded (a value the fit did not select has count 0; a
    /// dictionary's `other` bucket gets the reports left over).
    fn value_estimates(&self) -> Result<Vec<CountEstimate>, AggregateError> {
        let decoding = self.estimate(CandidateQuery {
            candidates: &self.values,
            alpha: Alpha::DEFAULT,
            cancel: &AtomicBool::new(false),
        })?;
        Ok(own_value_estimates(&decoding, self.params.k, self.n()))
    }
}

/// The debiased count of reports whose true Bloom bit is set, for one cohort and bit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BitEstimate {
    /// Cohort.
    pub cohort: u32,
    /// Bit index.
    pub bit: u32,
    /// Reports in the cohort, N_j.
    pub reports: u64,
    /// Unbiased estimate `t̂_ij` of the reports whose true bit is set.
    pub count: f64,
    /// Variance of `t̂_ij` from the randomization alone: `N_j·r(1−r)/(q*−p*)²`.
    pub variance: f64,
}

/// The per-cohort, per-bit estimates from flushed cells (empty cohorts included, N_j = 0).
pub fn bit_estimates(params: &RapporParams, cells: &[u64]) -> Vec<BitEstimate> {
    let (q_star, p_star) = params.bit_probabilities();
    let d = q_star - p_star;
    let stride = params.bloom_bits as usize + 1;
    let mut out = Vec::with_capacity(params.cohorts as usize * params.bloom_bits as usize);
    for (j, cohort_cells) in cells.chunks_exact(stride).enumerate() {
        let n_j = cohort_cells.last().copied().unwrap_or(0);
        let n = n_j as f64;
        for (i, &c) in cohort_cells.iter().take(stride - 1).enumerate() {
            let count = (c as f64 - p_star * n) / d;
            let truth = if n > 0.0 {
                (count / n).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let r = truth * q_star + (1.0 - truth) * p_star;
            out.push(BitEstimate {
                cohort: j as u32,
                bit: i as u32,
                reports: n_j,
                count,
                variance: n * r * (1.0 - r) / (d * d),
            });
        }
    }
    out
}
