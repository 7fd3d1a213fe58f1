//! RAPPOR decoding against candidates: the regression of the parent module's docs (steps
//! 2 to 5).

use std::sync::atomic::{AtomicBool, Ordering};

use ldp_protocol::mechanism::RapporParams;
use ldp_protocol::mechanism::rappor::bloom_bit;
use nalgebra::{DMatrix, DVector};

use super::bit_estimates;
use crate::alpha::Alpha;
use crate::error::AggregateError;
use crate::estimate::Z_95;
use crate::estimate::candidates::{
    CandidateDecoding, CandidateEstimate, check_candidates, not_selected,
};

/// Candidates in one fit may be at most this share of the rows.
const MAX_FITTED_SHARE: f64 = 0.8;
/// Forward selection adds candidates whose z against the residual is within this of the
/// detection threshold.
const SELECTION_MARGIN: f64 = 1.0;
/// Candidates forward selection adds in its first round (and at least in every round).
const FIRST_STEP: usize = 64;
/// Candidates in one fit at most: the dense Cholesky factorization of `XᵀWX` and the inverse
/// of its factor take about a third of a second at this size.
const MAX_FITTED: usize = 1000;

/// A weighted row of the regression: one (cohort, bit) with reports.
struct Row {
    y: f64,
    weight: f64,
    /// Design-matrix entry of every candidate with a bit here: the cohort's share N_j/N.
    a: f64,
}

/// Decodes flushed `cells` against `candidates` at family-wise level `alpha`. Stops with
/// [`AggregateError::Cancelled`] when `cancel` is set before the fit (the fit itself takes
/// at most about a third of a second), so a query that timed out does not start it.
#[expect(
    clippy::too_many_lines,
    reason = "one numerical pipeline (rows, whole fit or forward selection, detection) whose steps \
              share the design rows; each step is its own function where it stands alone"
)]
pub(super) fn decode(
    params: &RapporParams,
    cells: &[u64],
    candidates: &[String],
    alpha: Alpha,
    cancel: &AtomicBool,
) -> Result<CandidateDecoding, AggregateError> {
    check_candidates(candidates)?;
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
    for b in &bits {
        if b.reports == 0 {
            continue;
        }
        let n_j = b.reports as f64;
        if b.bit == 0
            && let Some(slot) = row_of.get_mut(b.cohort as usize)
        {
            *slot = Some(rows.len());
        }
        let pi = (b.count / n_j).clamp(0.0, 1.0);
        // Randomization plus the cohort's draw of devices; never below one report's worth.
        let variance = (b.variance + n_j * pi * (1.0 - pi)).max(1.0 / (d * d));
        rows.push(Row {
            y: b.count,
            weight: 1.0 / variance,
            a: n_j / total,
        });
    }

    // Every candidate's rows (its h bits per cohort with reports, deduplicated), end to end.
    let mut column_rows: Vec<u32> = Vec::new();
    let mut column_end: Vec<usize> = Vec::with_capacity(candidates.len());
    for (v, value) in candidates.iter().enumerate() {
        if v % 4096 == 0 && cancel.load(Ordering::Relaxed) {
            return Err(AggregateError::Cancelled);
        }
        for (j, first) in row_of.iter().enumerate() {
            let Some(first) = first else { continue };
            let start = column_rows.len();
            for index in 0..params.hashes {
                let bit = bloom_bit(value.as_bytes(), j as u32, index, params.bloom_bits);
                let row = (*first + bit as usize) as u32;
                if !column_rows.get(start..).unwrap_or_default().contains(&row) {
                    column_rows.push(row);
                }
            }
        }
        column_end.push(column_rows.len());
    }
    let columns = Columns {
        rows: &column_rows,
        end: &column_end,
    };
    // Σ w·a² per candidate: 1/variance of its count fitted alone.
    let diag: Vec<f64> = (0..candidates.len())
        .map(|v| {
            columns
                .get(v)
                .iter()
                .filter_map(|&r| rows.get(r as usize))
                .map(|row| row.weight * row.a * row.a)
                .sum()
        })
        .collect();

    if cancel.load(Ordering::Relaxed) {
        return Err(AggregateError::Cancelled);
    }
    let z_threshold = alpha.z_threshold(candidates.len());
    let most = max_fitted(rows.len());
    let (selected, fit) = if candidates.len() <= most {
        // Every candidate in one fit: unbiased, nothing chosen by the noise.
        let selected: Vec<usize> = (0..candidates.len()).collect();
        let fit = weighted_least_squares(&rows, &columns, &selected, true);
        (selected, fit)
    } else {
        forward_selection(&rows, &columns, &diag, z_threshold, most, cancel)?
    };
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
        alpha: alpha.get(),
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

/// Every candidate's rows, stored end to end.
struct Columns<'a> {
    rows: &'a [u32],
    /// Where each candidate's rows end in `rows`.
    end: &'a [usize],
}

impl Columns<'_> {
    /// Candidate v's rows.
    fn get(&self, v: usize) -> &[u32] {
        let start = match v.checked_sub(1) {
            Some(previous) => self.end.get(previous).copied().unwrap_or(0),
            None => 0,
        };
        let end = self.end.get(v).copied().unwrap_or(start);
        self.rows.get(start..end).unwrap_or_default()
    }
}

/// Forward selection for a list too long to fit at once. Each round computes every
/// candidate's z against the residual of the current fit (`Σ w·a·r / √(Σ w·a²)` over its
/// rows), adds those within [`SELECTION_MARGIN`] of the detection threshold — the largest
/// first, at most half as many as are already in and at least 64 — and refits all added so
/// far. It stops when no candidate outside the fit comes close, or at `most`.
/// Fitting the heavy values first matters because a string whose Bloom bits collide with
/// theirs looks present until their counts are taken out of the residual.
fn forward_selection(
    rows: &[Row],
    columns: &Columns<'_>,
    diag: &[f64],
    z_threshold: f64,
    most: usize,
    cancel: &AtomicBool,
) -> Result<(Vec<usize>, Option<Fit>), AggregateError> {
    let mut in_fit = vec![false; diag.len()];
    let mut selected: Vec<usize> = Vec::new();
    let mut fit = None;
    let mut residual: Vec<f64> = rows.iter().map(|r| r.y).collect();
    while selected.len() < most {
        if cancel.load(Ordering::Relaxed) {
            return Err(AggregateError::Cancelled);
        }
        let mut next: Vec<(usize, f64)> = diag
            .iter()
            .zip(&in_fit)
            .enumerate()
            .filter(|(_, (h, fitted))| **h > 0.0 && !**fitted)
            .map(|(v, (h, _))| {
                let projection: f64 = columns
                    .get(v)
                    .iter()
                    .filter_map(|&r| {
                        let row = rows.get(r as usize)?;
                        Some(row.weight * row.a * residual.get(r as usize)?)
                    })
                    .sum();
                (v, projection / h.sqrt())
            })
            .filter(|&(_, z)| z > z_threshold - SELECTION_MARGIN)
            .collect();
        if next.is_empty() {
            break;
        }
        let step = (selected.len() / 2)
            .max(FIRST_STEP)
            .min(most - selected.len());
        let by_z = |a: &(usize, f64), b: &(usize, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if next.len() > step && step > 0 {
            next.select_nth_unstable_by(step - 1, by_z);
        }
        next.truncate(step);
        for (v, _) in next {
            if let Some(flag) = in_fit.get_mut(v) {
                *flag = true;
            }
            selected.push(v);
        }
        fit = weighted_least_squares(rows, columns, &selected, false);
        let background = fit.as_ref().map_or(0.0, |f| f.background);
        residual = rows.iter().map(|r| r.y - r.a * background).collect();
        if let Some(fit) = &fit {
            for (&v, &count) in selected.iter().zip(&fit.counts) {
                for &r in columns.get(v) {
                    if let (Some(res), Some(row)) =
                        (residual.get_mut(r as usize), rows.get(r as usize))
                    {
                        *res -= row.a * count;
                    }
                }
            }
        }
    }
    // The standard errors, for the final selection only.
    if fit.is_some() {
        fit = weighted_least_squares(rows, columns, &selected, true);
    }
    Ok((selected, fit))
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
    /// The background: per unit of a cohort's share, the count each bit holds from strings
    /// outside the fit (about their number times h/m), so they do not inflate the candidates.
    background: f64,
}

/// Eigenvalues below this share of the largest count as zero in the fallback fit; a Cholesky
/// pivot whose square is below this share of its diagonal entry sends the fit there.
const RANK_TOLERANCE: f64 = 1e-10;
/// A candidate with more than this share of its unit vector in the null space of `XᵀWX` is
/// not estimable.
const NULL_SHARE: f64 = 1e-6;

/// Weighted least squares on the `selected` candidates, or None when there are none; standard
/// errors only `with_errors` (otherwise they are left empty).
///
/// `XᵀWX` is factored by Cholesky. When it is singular (candidates whose Bloom bits, over the
/// cohorts with reports, are linear combinations of others' — only likely with few cohorts
/// reporting), the fit falls back to the symmetric eigendecomposition: the minimum-norm
/// solution gives every estimable candidate its unique estimate and variance, and the others
/// get an infinite standard error.
fn weighted_least_squares(
    rows: &[Row],
    columns: &Columns<'_>,
    selected: &[usize],
    with_errors: bool,
) -> Option<Fit> {
    let s = selected.len();
    if s == 0 {
        return None;
    }
    // Unknowns: the selected counts, then the background.
    let dim = s + 1;
    // Row → (position among the unknowns, entry), to accumulate XᵀWX over shared rows only.
    let mut by_row: Vec<Vec<(usize, f64)>> = rows.iter().map(|row| vec![(s, row.a)]).collect();
    for (pos, &v) in selected.iter().enumerate() {
        for &r in columns.get(v) {
            if let (Some(entries), Some(row)) = (by_row.get_mut(r as usize), rows.get(r as usize)) {
                entries.push((pos, row.a));
            }
        }
    }
    let mut gram = DMatrix::<f64>::zeros(dim, dim);
    let mut rhs = DVector::<f64>::zeros(dim);
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
        // Pivot² over the unknown's own diagonal: the share of its column not explained by
        // the ones before it. Rounding can leave a tiny positive pivot where the exact one
        // is 0.
        (0..dim).all(|j| {
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
        let background = beta.get(s).copied().unwrap_or(0.0);
        if !with_errors {
            return Some(Fit {
                counts: beta.rows(0, s).iter().copied().collect(),
                std_errors: Vec::new(),
                total_std_error: 0.0,
                background,
            });
        }
        // XᵀWX = LLᵀ, so its inverse is L⁻ᵀL⁻¹: the j-th variance is column j of L⁻¹
        // squared, and the variance of the counts' sum, uᵀ(XᵀWX)⁻¹u (u: 1 for each count,
        // 0 for the background), is L⁻¹u squared.
        let l_inverse = cholesky
            .l()
            .solve_lower_triangular(&DMatrix::identity(dim, dim))?;
        let counts_part = l_inverse.columns(0, s);
        return Some(Fit {
            counts: beta.rows(0, s).iter().copied().collect(),
            std_errors: counts_part.column_iter().map(|c| c.norm()).collect(),
            total_std_error: counts_part.column_sum().norm(),
            background,
        });
    }
    rank_deficient_fit(gram, &rhs, s)
}

/// The fallback of [`weighted_least_squares`] for a singular `XᵀWX` = V·diag(λ)·Vᵀ: the
/// pseudo-inverse over the eigenvalues above [`RANK_TOLERANCE`] of the largest. Candidate j is
/// estimable when its unit vector lies in the row space (its share in the null space,
/// Σ_{λ_k = 0} V_jk², is at most [`NULL_SHARE`]); its estimate is then unique.
fn rank_deficient_fit(gram: DMatrix<f64>, rhs: &DVector<f64>, s: usize) -> Option<Fit> {
    let eigen = gram.symmetric_eigen();
    let largest = eigen.eigenvalues.iter().fold(0.0f64, |m, &l| m.max(l));
    if largest <= 0.0 {
        return None;
    }
    let dim = rhs.len();
    // Columns of V scaled by 1/√λ (the pseudo-inverse is B·Bᵀ), and the null-space shares.
    let mut scaled = eigen.eigenvectors.clone();
    let mut null_share = vec![0.0; dim];
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
        .take(s)
        .map(|(row, &ok)| if ok { row.norm() } else { f64::INFINITY })
        .collect();
    let counted = DVector::from_iterator(
        dim,
        estimable
            .iter()
            .enumerate()
            .map(|(j, &ok)| f64::from(u8::from(ok && j < s))),
    );
    let total_std_error = (scaled.transpose() * counted).norm();
    let estimate = |j: usize| match (beta.get(j), estimable.get(j)) {
        (Some(&b), Some(true)) => b,
        _ => 0.0,
    };
    Some(Fit {
        counts: (0..s).map(estimate).collect(),
        std_errors,
        total_std_error,
        background: estimate(s),
    })
}
