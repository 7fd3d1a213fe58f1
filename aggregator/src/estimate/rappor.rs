//! RAPPOR counters and decoding against candidates given at query time.
//!
//! **Counters.** Per cohort: how many reports set each of the m bits, and how many reports
//! the cohort sent — `cohorts × (m + 1)` cells, folded through one bit-sliced counter per
//! cohort (see `unary`), mergeable and serializable like every accumulator.
//!
//! **Decoding** (Erlingsson et al. 2014, §4; Google's `decode.R`):
//! 1. Per cohort j and bit i, the debiased count of reports whose *true* Bloom bit is set,
//!    `t̂_ij = (c_ij − p*·N_j)/(q* − p*)`, unbiased, with variance
//!    `N_j·r(1−r)/(q* − p*)²` where r is the reported-1 rate, plus `N_j·π(1−π)` for which
//!    devices the cohort happened to draw (π = t̂_ij/N_j clamped to [0, 1]) ([`bit_estimates`]).
//! 2. The candidates' design matrix: column v has `N_j/N` at every (j, i) where candidate v
//!    sets bit i in cohort j, so `t_ij ≈ Σ_v X_ij,v · x_v` for counts x_v.
//! 3. A list of at most 1,000 candidates (and at most 80% of the rows) is fitted whole:
//!    weighted least squares (weights 1/variance) on every candidate, solved with `nalgebra`'s
//!    Cholesky factorization, standard errors from the inverse of `XᵀWX`. Nothing is chosen
//!    by the noise, so the estimates are unbiased and an absent candidate's z is centred on 0.
//!    Candidates the data cannot tell apart (a singular `XᵀWX`, likely only when few cohorts
//!    have reports) are left out through `nalgebra`'s symmetric eigendecomposition; every
//!    other candidate keeps its unique estimate.
//! 4. A longer list is screened first: the 1,000 candidates with the largest marginal z (each
//!    fitted alone) go into the fit. A candidate the fit would detect passes the screen, but
//!    the screen follows the noise: absent candidates that happen to look present are kept
//!    and take a little of their neighbours' counts, so estimates after screening lean low.
//! 5. Detection: a one-sided z-test per candidate at the Bonferroni level α/M over all M
//!    candidates given. Candidates not fitted have count 0 and are not detected.
//!
//! The share of the reports explained by detected candidates is reported beside them.

use ldp_protocol::RapporReport;
use ldp_protocol::mechanism::RapporParams;
use ldp_protocol::mechanism::rappor::bloom_bit;
use std::sync::atomic::{AtomicBool, Ordering};

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use super::Z_95;
use super::candidates::{CandidateDecoding, CandidateEstimate, check_candidates, not_selected};
use super::unary::{self, BitSlices};
use crate::error::AggregateError;

/// Candidates in one fit may be at most this share of the rows.
const MAX_FITTED_SHARE: f64 = 0.8;
/// Candidates in one fit at most: the dense Cholesky factorization and inverse of `XᵀWX`
/// take about half a second at this size.
const MAX_FITTED: usize = 1000;

/// One bit-sliced counter per cohort.
pub(crate) fn new_slices(params: &RapporParams) -> Vec<BitSlices> {
    BitSlices::per_row(params.cohorts, params.words())
}

/// Counts one report that `Report::check` accepted.
#[inline]
pub(crate) fn fold(
    cells: &mut [u64],
    slices: &mut [BitSlices],
    params: &RapporParams,
    report: &RapporReport,
) {
    unary::fold_row(
        cells,
        slices,
        params.bloom_bits,
        report.cohort,
        &report.bits,
    );
}

/// Adds every cohort's pending bit-sliced counts into `cells`.
pub(crate) fn add_slices_to(slices: &[BitSlices], params: &RapporParams, cells: &mut [u64]) {
    unary::flush_rows(slices, params.bloom_bits, cells);
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

/// A weighted row of the regression: one (cohort, bit) with reports.
struct Row {
    y: f64,
    weight: f64,
}

/// Decodes flushed `cells` against `candidates` at family-wise level `alpha`. Stops with
/// [`AggregateError::Cancelled`] when `cancel` is set before the fit (the fit itself takes
/// at most about a third of a second), so a query that timed out does not start it.
pub fn decode(
    params: &RapporParams,
    cells: &[u64],
    candidates: &[String],
    alpha: f64,
    cancel: &AtomicBool,
) -> Result<CandidateDecoding, AggregateError> {
    check_candidates(candidates)?;
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(AggregateError::InvalidArgument(format!(
            "alpha must be in (0, 1); got {alpha}"
        )));
    }
    let m = params.bloom_bits as usize;
    let bits = bit_estimates(params, cells);
    let n: u64 = bits
        .iter()
        .step_by(m.max(1))
        .map(|b| b.reports)
        .sum::<u64>();
    if n == 0 || candidates.is_empty() {
        let mut empty = CandidateDecoding::empty(n, alpha);
        empty.candidates = candidates
            .iter()
            .map(|value| not_selected(value, f64::INFINITY))
            .collect();
        return Ok(empty);
    }
    let total = n as f64;
    let (q_star, p_star) = params.bit_probabilities();
    let d = q_star - p_star;

    // Rows: every (cohort, bit) of a cohort with reports; `row_of[j]` is the first row of
    // cohort j, or None.
    let mut rows = Vec::with_capacity(bits.len());
    let mut row_of = vec![None; params.cohorts as usize];
    let mut scale = vec![0.0; params.cohorts as usize];
    for b in &bits {
        if b.reports == 0 {
            continue;
        }
        let n_j = b.reports as f64;
        if b.bit == 0 {
            if let Some(slot) = row_of.get_mut(b.cohort as usize) {
                *slot = Some(rows.len());
            }
            if let Some(slot) = scale.get_mut(b.cohort as usize) {
                *slot = n_j / total;
            }
        }
        let pi = (b.count / n_j).clamp(0.0, 1.0);
        // Randomization plus the cohort's draw of devices; never below one report's worth.
        let variance = (b.variance + n_j * pi * (1.0 - pi)).max(1.0 / (d * d));
        rows.push(Row {
            y: b.count,
            weight: 1.0 / variance,
        });
    }

    // Sparse columns: (row, entry) pairs; a candidate's h bits in a cohort, deduplicated.
    let columns: Vec<Vec<(u32, f64)>> = candidates
        .iter()
        .map(|value| {
            let mut column = Vec::with_capacity(params.cohorts as usize * params.hashes as usize);
            for (j, (first, &a)) in row_of.iter().zip(&scale).enumerate() {
                let Some(first) = first else { continue };
                let start = column.len();
                for index in 0..params.hashes {
                    let bit = bloom_bit(value.as_bytes(), j as u32, index, params.bloom_bits);
                    let row = (*first + bit as usize) as u32;
                    let cohort_entries = column.get(start..).unwrap_or_default();
                    if !cohort_entries.iter().any(|(r, _)| *r == row) {
                        column.push((row, a));
                    }
                }
            }
            column
        })
        .collect();
    let diag: Vec<f64> = columns
        .iter()
        .map(|col| col.iter().map(|(r, a)| weight(&rows, *r) * a * a).sum())
        .collect();

    if cancel.load(Ordering::Relaxed) {
        return Err(AggregateError::Cancelled);
    }
    let most = max_fitted(rows.len());
    let selected: Vec<usize> = if candidates.len() <= most {
        // Every candidate in one fit: unbiased, nothing chosen by the noise.
        (0..candidates.len()).collect()
    } else {
        screen(&rows, &columns, &diag, most)
    };
    let fit = weighted_least_squares(&rows, &columns, &selected);
    let z_threshold = Normal::standard().inverse_cdf(1.0 - alpha / candidates.len() as f64);
    let mut out: Vec<CandidateEstimate> = candidates
        .iter()
        .zip(&diag)
        .map(|(value, h)| not_selected(value, 1.0 / h.sqrt()))
        .collect();
    let mut explained = 0.0;
    let mut detected = 0;
    let mut total_std_error = 0.0;
    if let Some(fit) = fit {
        total_std_error = fit.total_std_error;
        for ((&v, &count), &std_error) in selected.iter().zip(&fit.counts).zip(&fit.std_errors) {
            let Some(slot) = out.get_mut(v) else {
                continue;
            };
            if !std_error.is_finite() {
                // Not estimable: indistinguishable from other candidates in these data.
                *slot = not_selected(&slot.value, f64::INFINITY);
                continue;
            }
            let z = count / std_error;
            let is_detected = z > z_threshold;
            if is_detected {
                explained += count;
                detected += 1;
            }
            *slot = CandidateEstimate {
                value: core::mem::take(&mut slot.value),
                count,
                std_error,
                ci95_low: count - Z_95 * std_error,
                ci95_high: count + Z_95 * std_error,
                z,
                selected: true,
                detected: is_detected,
            };
        }
    }
    Ok(CandidateDecoding {
        n,
        alpha,
        z_threshold,
        detected,
        explained_share: explained / total,
        total_std_error,
        candidates: out,
    })
}

/// Most candidates one weighted least-squares fit takes: 80% of the rows (so the fit is
/// identifiable with room to spare) and at most [`MAX_FITTED`] (the dense solve's cost).
fn max_fitted(rows: usize) -> usize {
    ((MAX_FITTED_SHARE * rows as f64) as usize).min(MAX_FITTED)
}

/// Screening for a list too long to fit at once: the `most` candidates with the largest
/// marginal z — each one's weighted least-squares z fitted alone, `Σ w·a·y / √(Σ w·a²)` over
/// its own rows — in the order given. A candidate the final fit would detect has a marginal
/// z at least about as large (collisions with other present values only raise it), so it
/// passes the screen.
fn screen(rows: &[Row], columns: &[Vec<(u32, f64)>], diag: &[f64], most: usize) -> Vec<usize> {
    let mut marginal: Vec<(usize, f64)> = columns
        .iter()
        .zip(diag)
        .enumerate()
        .filter(|(_, (_, h))| **h > 0.0)
        .map(|(v, (column, h))| {
            let projection: f64 = column
                .iter()
                .map(|(r, a)| {
                    rows.get(*r as usize)
                        .map_or(0.0, |row| row.weight * a * row.y)
                })
                .sum();
            (v, projection / h.sqrt())
        })
        .collect();
    marginal.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    marginal.truncate(most);
    let mut selected: Vec<usize> = marginal.into_iter().map(|(v, _)| v).collect();
    selected.sort_unstable();
    selected
}

fn weight(rows: &[Row], r: u32) -> f64 {
    rows.get(r as usize).map_or(0.0, |row| row.weight)
}

/// A weighted least-squares fit of the selected candidates.
struct Fit {
    /// Estimated counts, in the order of `selected`.
    counts: Vec<f64>,
    /// Their standard errors; infinite for a candidate the data cannot tell apart from
    /// others (its count is then 0 and means nothing).
    std_errors: Vec<f64>,
    /// Standard error of the sum of the counts.
    total_std_error: f64,
}

/// Eigenvalues below this share of the largest count as zero in the fallback fit; a Cholesky
/// pivot whose square is below this share of its diagonal entry sends the fit there.
const RANK_TOLERANCE: f64 = 1e-10;
/// A candidate with more than this share of its unit vector in the null space of `XᵀWX` is
/// not estimable.
const NULL_SHARE: f64 = 1e-6;

/// Weighted least squares on the `selected` columns, or None when nothing is selected.
///
/// `XᵀWX` is factored by Cholesky. When it is singular (candidates whose Bloom bits, over the
/// cohorts with reports, are linear combinations of others' — only likely with few cohorts
/// reporting), the fit falls back to the symmetric eigendecomposition: the minimum-norm
/// solution gives every estimable candidate its unique estimate and variance, and the others
/// get an infinite standard error.
fn weighted_least_squares(
    rows: &[Row],
    columns: &[Vec<(u32, f64)>],
    selected: &[usize],
) -> Option<Fit> {
    let s = selected.len();
    if s == 0 {
        return None;
    }
    // Row → (position in `selected`, entry), to accumulate XᵀWX over shared rows only.
    let mut by_row: Vec<Vec<(usize, f64)>> = vec![Vec::new(); rows.len()];
    for (pos, &v) in selected.iter().enumerate() {
        for (r, a) in columns.get(v).map_or(&[][..], Vec::as_slice) {
            if let Some(entries) = by_row.get_mut(*r as usize) {
                entries.push((pos, *a));
            }
        }
    }
    let mut gram = DMatrix::<f64>::zeros(s, s);
    let mut rhs = DVector::<f64>::zeros(s);
    for (row, entries) in rows.iter().zip(&by_row) {
        for &(u, a_u) in entries {
            if let Some(b) = rhs.get_mut(u) {
                *b += row.weight * a_u * row.y;
            }
            for &(v, a_v) in entries {
                if let Some(g) = gram.get_mut((u, v)) {
                    *g += row.weight * a_u * a_v;
                }
            }
        }
    }
    let well_conditioned = |l: &DMatrix<f64>| {
        // Pivot² over the candidate's own diagonal: the share of its column not explained by
        // the candidates before it. Rounding can leave a tiny positive pivot where the exact
        // one is 0.
        (0..s).all(|j| {
            let pivot = l.get((j, j)).copied().unwrap_or(0.0);
            let own = gram.get((j, j)).copied().unwrap_or(0.0);
            pivot * pivot > RANK_TOLERANCE * own
        })
    };
    if let Some(cholesky) = gram
        .clone()
        .cholesky()
        .filter(|c| well_conditioned(c.l_dirty()))
    {
        let beta = cholesky.solve(&rhs);
        // XᵀWX = LLᵀ, so its inverse is L⁻ᵀL⁻¹: the j-th variance is column j of L⁻¹
        // squared, and the variance of the sum, 1ᵀ(XᵀWX)⁻¹1, is L⁻¹1 squared.
        let l_inverse = cholesky
            .l()
            .solve_lower_triangular(&DMatrix::identity(s, s))?;
        return Some(Fit {
            counts: beta.iter().copied().collect(),
            std_errors: l_inverse.column_iter().map(|c| c.norm()).collect(),
            total_std_error: l_inverse.column_sum().norm(),
        });
    }
    rank_deficient_fit(gram, &rhs)
}

/// The fallback of [`weighted_least_squares`] for a singular `XᵀWX` = V·diag(λ)·Vᵀ: the
/// pseudo-inverse over the eigenvalues above [`RANK_TOLERANCE`] of the largest. Candidate j is
/// estimable when its unit vector lies in the row space (its share in the null space,
/// Σ_{λ_k = 0} V_jk², is at most [`NULL_SHARE`]); its estimate is then unique.
fn rank_deficient_fit(gram: DMatrix<f64>, rhs: &DVector<f64>) -> Option<Fit> {
    let eigen = gram.symmetric_eigen();
    let largest = eigen.eigenvalues.iter().fold(0.0f64, |m, &l| m.max(l));
    if largest <= 0.0 {
        return None;
    }
    let s = rhs.len();
    // Columns of V scaled by 1/√λ (the pseudo-inverse is B·Bᵀ), and the null-space shares.
    let mut scaled = eigen.eigenvectors.clone();
    let mut null_share = vec![0.0; s];
    for (k, (mut column, &lambda)) in scaled
        .column_iter_mut()
        .zip(eigen.eigenvalues.iter())
        .enumerate()
    {
        if lambda > RANK_TOLERANCE * largest {
            column /= lambda.sqrt();
        } else {
            for (share, v) in null_share
                .iter_mut()
                .zip(eigen.eigenvectors.column(k).iter())
            {
                *share += v * v;
            }
            column.fill(0.0);
        }
    }
    let beta = &scaled * (scaled.transpose() * rhs);
    let estimable: Vec<bool> = null_share.iter().map(|&z| z <= NULL_SHARE).collect();
    let std_errors = scaled
        .row_iter()
        .zip(&estimable)
        .map(|(row, &ok)| if ok { row.norm() } else { f64::INFINITY })
        .collect();
    let ones = DVector::from_iterator(s, estimable.iter().map(|&ok| f64::from(u8::from(ok))));
    let total_std_error = (scaled.transpose() * ones).norm();
    Some(Fit {
        counts: beta
            .iter()
            .zip(&estimable)
            .map(|(&b, &ok)| if ok { b } else { 0.0 })
            .collect(),
        std_errors,
        total_std_error,
    })
}
