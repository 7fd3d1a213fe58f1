//! Count-mean sketch counters (CMS, HCMS) and their estimates for any candidate string. Math,
//! hash family and variance: `ldp_protocol::mechanism::sketch`.
//!
//! **Counters**, integers only, mergeable and serializable like every accumulator:
//! - CMS: per row j, how many reports set each of the m entries to +1, then the row's report
//!   count N_j — `d·(m + 1)` cells, folded through one bit-sliced counter per row.
//! - HCMS: per (row j, column l), how many reports answered +1 and how many −1 — `2·d·m` cells.
//!
//! **Estimates.** The counters become the debiased sketch `T[j, h]` once per query
//! ([`SketchTable::new`]): for CMS `T[j, h] = c·ones_jh − N_j(c − 1)/2`; for HCMS each row's
//! signed sums `S_jl = plus_jl − minus_jl` go through one fast Walsh–Hadamard transform,
//! `T[j, h] = c·Σ_l S_jl·H[h, l]`, O(m log m) per row. A candidate then costs d hashes:
//! `f̂(d) = m/(m − 1)·(Σ_j T[j, h_j(d)] − n/m)`.
//!
//! **Standard errors** use the variance formula with the candidate's own estimate for c_d and,
//! for the hash-collision term, the population's F₂ less the candidate's own square: F₂ is
//! estimated from the table's squared cells ([`SketchTable::second_moment`]), so collisions
//! with values outside the candidate list count too (or, where larger, the candidates'
//! squared estimates).

use std::sync::atomic::AtomicBool;

use ldp_protocol::mechanism::{CheckedReports, SketchParams};
use ldp_protocol::{CampaignConfig, HadamardSketchReport, SketchReport};

use super::Z_95;
use super::bitslice::{BitSlices, flush_rows, fold_row};
use super::candidates::{
    CandidateDecoding, CandidateEstimate, check_candidates, own_value_estimates,
};
use super::family::{AddOne, CandidateQuery, CountEstimate, FamilyCounters, Tally};
use super::transform::fwht;
use crate::alpha::Alpha;
use crate::error::AggregateError;

/// CMS counters: per row, how many reports set each entry to +1, then the row's report count
/// (pending counts in one bit-sliced counter per row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmsCounters {
    params: SketchParams,
    tally: Tally,
    slices: Vec<BitSlices>,
    /// The campaign's own values, decoded against by [`FamilyCounters::value_estimates`].
    values: Vec<String>,
}

impl FamilyCounters for CmsCounters {
    type Params = SketchParams;
    type Query<'q> = CandidateQuery<'q>;
    type Output = CandidateDecoding;

    fn new(params: &SketchParams, config: &CampaignConfig) -> Self {
        Self {
            params: *params,
            tally: Tally::new(params.cells()),
            slices: BitSlices::per_row(params.hashes, params.words()),
            values: config.default_candidates(),
        }
    }

    fn params(&self) -> &SketchParams {
        &self.params
    }

    fn tally(&self) -> &Tally {
        &self.tally
    }

    fn tally_mut(&mut self) -> &mut Tally {
        &mut self.tally
    }

    fn fold(&mut self, reports: CheckedReports<'_, SketchParams>) {
        for report in reports.iter::<SketchReport>() {
            fold_row(
                &mut self.tally.cells,
                &mut self.slices,
                self.params.width,
                report.row,
                &report.bits,
            );
        }
        self.tally.n += reports.len() as u64;
    }

    fn cells(&self) -> Vec<u64> {
        let mut cells = self.tally.cells.clone();
        flush_rows(&self.slices, self.params.width, &mut cells);
        cells
    }

    fn into_cells(self) -> Vec<u64> {
        let mut cells = self.tally.cells;
        flush_rows(&self.slices, self.params.width, &mut cells);
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

    /// Per-candidate estimates from the debiased sketch (module docs).
    fn estimate(&self, query: CandidateQuery<'_>) -> Result<CandidateDecoding, AggregateError> {
        decode(&self.params, &self.cells(), query.candidates, query.alpha)
    }

    /// The campaign's own values estimated (a dictionary's `other` bucket gets the reports
    /// left over).
    fn value_estimates(&self) -> Result<Vec<CountEstimate>, AggregateError> {
        let decoding = self.estimate(own_query(&self.values))?;
        Ok(own_value_estimates(&decoding, self.params.k, self.n()))
    }
}

/// HCMS counters: per (row, column), how many reports answered +1 and how many −1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HcmsCounters {
    params: SketchParams,
    tally: Tally,
    /// The campaign's own values, decoded against by [`FamilyCounters::value_estimates`].
    values: Vec<String>,
}

impl FamilyCounters for HcmsCounters {
    type Params = SketchParams;
    type Query<'q> = CandidateQuery<'q>;
    type Output = CandidateDecoding;

    fn new(params: &SketchParams, config: &CampaignConfig) -> Self {
        Self {
            params: *params,
            tally: Tally::new(params.cells()),
            values: config.default_candidates(),
        }
    }

    fn params(&self) -> &SketchParams {
        &self.params
    }

    fn tally(&self) -> &Tally {
        &self.tally
    }

    fn tally_mut(&mut self) -> &mut Tally {
        &mut self.tally
    }

    fn fold(&mut self, reports: CheckedReports<'_, SketchParams>) {
        add_hcms_ones(&self.params, reports, &mut self.tally.cells[..]);
        self.tally.n += reports.len() as u64;
    }

    fn touched_cells(
        params: &SketchParams,
        reports: CheckedReports<'_, SketchParams>,
        touched: &mut Vec<usize>,
    ) -> bool {
        add_hcms_ones(params, reports, touched);
        true
    }

    /// Per-candidate estimates from the debiased sketch (module docs).
    fn estimate(&self, query: CandidateQuery<'_>) -> Result<CandidateDecoding, AggregateError> {
        decode(
            &self.params,
            &self.tally.cells,
            query.candidates,
            query.alpha,
        )
    }

    /// The campaign's own values estimated (a dictionary's `other` bucket gets the reports
    /// left over).
    fn value_estimates(&self) -> Result<Vec<CountEstimate>, AggregateError> {
        let decoding = self.estimate(own_query(&self.values))?;
        Ok(own_value_estimates(&decoding, self.params.k, self.n()))
    }
}

/// Each HCMS report adds one to its (row, column) cell of its sign: `+` cells at even
/// positions, `−` cells at odd ones.
#[inline]
fn add_hcms_ones<T: AddOne + ?Sized>(
    params: &SketchParams,
    reports: CheckedReports<'_, SketchParams>,
    cells: &mut T,
) {
    let width = params.width as usize;
    for report in reports.iter::<HadamardSketchReport>() {
        let cell = 2 * (report.row as usize * width + report.column as usize)
            + usize::from(!report.positive);
        cells.add_one(cell);
    }
}

/// A query for a campaign's own values at the default level; the sketches finish in
/// milliseconds and never look at the cancel flag.
fn own_query(values: &[String]) -> CandidateQuery<'_> {
    static NEVER: AtomicBool = AtomicBool::new(false);
    CandidateQuery {
        candidates: values,
        alpha: Alpha::DEFAULT,
        cancel: &NEVER,
    }
}

/// The debiased sketch `T[j, h]` of flushed counters: what every candidate's estimate reads.
#[derive(Debug, Clone, PartialEq)]
pub struct SketchTable {
    params: SketchParams,
    /// `T[j, h]` at `j·m + h`.
    table: Vec<f64>,
    /// Reports counted.
    n: u64,
    /// Σ_j N_j², over the rows' report counts.
    row_reports_squared: f64,
}

impl SketchTable {
    /// The table of flushed `cells` (layout in the module docs).
    pub fn new(params: &SketchParams, cells: &[u64]) -> Self {
        let m = params.width as usize;
        let c = params.c();
        let mut table = Vec::with_capacity(params.hashes as usize * m);
        let mut n = 0u64;
        let mut row_reports_squared = 0.0;
        if params.hadamard {
            let mut signed = vec![0i64; m];
            for row in cells.chunks_exact(2 * m) {
                let mut n_j = 0u64;
                for (s, pair) in signed.iter_mut().zip(row.chunks_exact(2)) {
                    let (plus, minus) = match pair {
                        [plus, minus] => (*plus, *minus),
                        _ => (0, 0),
                    };
                    n_j += plus + minus;
                    *s = plus as i64 - minus as i64;
                }
                n += n_j;
                row_reports_squared += n_j as f64 * n_j as f64;
                fwht(&mut signed);
                table.extend(signed.iter().map(|&s| c * s as f64));
            }
        } else {
            for row in cells.chunks_exact(m + 1) {
                let (ones, total) = row.split_at(m);
                let n_j = total.first().copied().unwrap_or(0);
                n += n_j;
                row_reports_squared += n_j as f64 * n_j as f64;
                let offset = n_j as f64 * (c - 1.0) / 2.0;
                table.extend(ones.iter().map(|&o| c * o as f64 - offset));
            }
        }
        Self {
            params: *params,
            table,
            n,
            row_reports_squared,
        }
    }

    /// An unbiased estimate of the population's F₂ = Σ_v c_v², from the table's own squares.
    ///
    /// With B_jh the reports of row j whose value hashes to h, `E[T_jh] = B_jh` and, summed
    /// over a row, `Σ_h Var(T_jh) = N_j·V` with V = m·c² − 1 (HCMS: each report adds ±c to
    /// every cell, its mean to one) or m·c²·f(1 − f) (CMS: each entry flips with probability
    /// f). Over the devices' uniform rows and the hash family,
    /// `E[Σ_jh B_jh²] = (1 − 1/m)·(n(1 − 1/d) + F₂/d) + Σ_j N_j²/m`, which is solved for F₂.
    /// Its noise is about `d·√(2dm)·c²·n/d`; it can come out below the truth, so callers
    /// take the larger of it and what they know.
    pub fn second_moment(&self) -> f64 {
        let m = f64::from(self.params.width);
        let d = f64::from(self.params.hashes);
        let c = self.params.c();
        let n = self.n as f64;
        let per_report = if self.params.hadamard {
            m * c * c - 1.0
        } else {
            let f = self.params.flip.probability();
            m * c * c * f * (1.0 - f)
        };
        let squares: f64 = self.table.iter().map(|t| t * t).sum();
        let bucket_squares = squares - n * per_report;
        d * ((bucket_squares - self.row_reports_squared / m) / (1.0 - 1.0 / m)
            - n * (1.0 - 1.0 / d))
    }

    /// Reports counted.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// The unbiased count estimate of `value`: `m/(m − 1)·(Σ_j T[j, h_j(value)] − n/m)`.
    pub fn estimate(&self, value: &[u8]) -> f64 {
        let m = self.params.width;
        let sum: f64 = (0..self.params.hashes)
            .map(|j| {
                let h = self.params.bucket(value, j);
                let cell = j as usize * m as usize + h as usize;
                self.table.get(cell).copied().unwrap_or(0.0)
            })
            .sum();
        let m = f64::from(m);
        m / (m - 1.0) * (sum - self.n as f64 / m)
    }
}

/// Estimates for `candidates` from flushed `cells`, each with its standard error, and a
/// one-sided z-test at the Bonferroni level α/M over the M candidates.
fn decode(
    params: &SketchParams,
    cells: &[u64],
    candidates: &[String],
    alpha: Alpha,
) -> Result<CandidateDecoding, AggregateError> {
    check_candidates(candidates)?;
    let table = SketchTable::new(params, cells);
    let n = table.n();
    let total = n as f64;
    let counts: Vec<f64> = candidates
        .iter()
        .map(|value| table.estimate(value.as_bytes()))
        .collect();
    // F₂ for the collision term: the sketch's own estimate, or the candidates' squares when
    // those are larger (the estimate is noisy where the population is spread thin).
    let listed: f64 = counts.iter().map(|c| c.max(0.0) * c.max(0.0)).sum();
    let squares = listed.max(table.second_moment());
    let z_threshold = if candidates.is_empty() {
        f64::INFINITY
    } else {
        alpha.z_threshold(candidates.len())
    };
    let mut explained = 0.0;
    let mut detected = 0;
    let estimates: Vec<CandidateEstimate> = candidates
        .iter()
        .zip(&counts)
        .map(|(value, &count)| {
            let own = count.clamp(0.0, total);
            let others = (squares - count.max(0.0) * count.max(0.0)).max(0.0);
            let std_error = params.count_variance(total, own, others).max(0.0).sqrt();
            let z = if std_error > 0.0 {
                count / std_error
            } else {
                0.0
            };
            let is_detected = n > 0 && z > z_threshold;
            if is_detected {
                explained += count;
                detected += 1;
            }
            CandidateEstimate {
                value: value.clone(),
                count,
                std_error,
                ci95_low: count - Z_95 * std_error,
                ci95_high: count + Z_95 * std_error,
                z,
                selected: true,
                detected: is_detected,
            }
        })
        .collect();
    Ok(CandidateDecoding {
        n,
        alpha: alpha.get(),
        z_threshold,
        detected,
        explained_share: if n > 0 { explained / total } else { 0.0 },
        total_std_error: estimates.iter().map(|c| c.std_error).sum(),
        candidates: estimates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ldp_protocol::mechanism::sketch::hadamard_positive;

    /// The transform path equals the direct sum `c·Σ_l S_jl·H[h, l]`.
    #[test]
    fn the_hcms_table_equals_the_direct_sum() {
        let params = SketchParams::new(2.0, 0, 3, 16, 9, true).unwrap();
        let cells: Vec<u64> = (0..params.cells() as u64).map(|i| i * 7 % 13).collect();
        let table = SketchTable::new(&params, &cells);
        for j in 0..3usize {
            for h in 0..16u32 {
                let mut direct = 0.0;
                for l in 0..16usize {
                    let base = 2 * (j * 16 + l);
                    let s = cells[base] as f64 - cells[base + 1] as f64;
                    let sign = if hadamard_positive(h, l as u32) {
                        1.0
                    } else {
                        -1.0
                    };
                    direct += s * sign;
                }
                let fast = table.table[j * 16 + h as usize];
                assert!((fast - params.c() * direct).abs() < 1e-6, "j={j} h={h}");
            }
        }
    }
}
