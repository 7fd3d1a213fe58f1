//! Estimates for candidate strings given at query time (or a domain's own values): the shape
//! every string mechanism answers in — RAPPOR's regression (module `rappor`) and the
//! count-mean sketches (module `sketch`) — and the checks on a candidate list.

use std::collections::HashSet;

use ldp_protocol::campaign::MAX_DICTIONARY_ENTRY_BYTES;
use serde::{Deserialize, Serialize};

use super::Z_95;
use super::family::CountEstimate;
use crate::alpha::Alpha;
use crate::error::AggregateError;

/// Most candidates one decoding accepts.
pub const MAX_CANDIDATES: usize = 100_000;
/// Largest candidate string, in bytes (the dictionary limit, a bit more generous).
pub const MAX_CANDIDATE_BYTES: usize = 4 * MAX_DICTIONARY_ENTRY_BYTES;

/// The decoder's answer for one candidate (also the service's JSON for it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct CandidateEstimate {
    /// The candidate string.
    pub value: String,
    /// Estimated count (0 when not fitted; may be negative when fitted).
    pub count: f64,
    /// Standard error of `count` (for a candidate not fitted: the standard error its count
    /// would have alone).
    pub std_error: f64,
    /// Lower end of the 95% normal interval.
    pub ci95_low: f64,
    /// Upper end of the 95% normal interval.
    pub ci95_high: f64,
    /// `count / std_error`.
    pub z: f64,
    /// Whether its count was estimated (RAPPOR: in the least-squares fit, which takes every
    /// candidate of a list of up to 1,000 that the data can tell apart; sketches: always).
    pub selected: bool,
    /// Whether it passed the Bonferroni-corrected test: present in the population.
    pub detected: bool,
}

/// Estimates for a list of candidates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateDecoding {
    /// Reports counted.
    pub n: u64,
    /// Family-wise significance level of the detection test.
    pub alpha: f64,
    /// The one-sided z a candidate must exceed: Φ⁻¹(1 − α/M) for M candidates.
    pub z_threshold: f64,
    /// Candidates detected.
    pub detected: usize,
    /// Share of all reports explained by detected candidates (Σ counts / n).
    pub explained_share: f64,
    /// Standard error of the sum of all candidates' counts (what a dictionary's `other`
    /// bucket, n minus that sum, is uncertain by): RAPPOR's from the fit's covariance,
    /// `√(1ᵀ(XᵀWX)⁻¹1)`; the sketches' the sum of the candidates' standard errors, an upper
    /// bound whatever their correlation.
    pub total_std_error: f64,
    /// One entry per candidate, in the order given.
    pub candidates: Vec<CandidateEstimate>,
}

impl CandidateDecoding {
    /// The detected candidates, largest count first.
    pub fn detected(&self) -> Vec<&CandidateEstimate> {
        let mut detected: Vec<_> = self.candidates.iter().filter(|c| c.detected).collect();
        detected.sort_by(|a, b| b.count.total_cmp(&a.count));
        detected
    }

    /// A decoding with no candidates.
    pub(crate) fn empty(n: u64, alpha: Alpha) -> Self {
        Self {
            n,
            alpha: alpha.get(),
            z_threshold: f64::INFINITY,
            detected: 0,
            explained_share: 0.0,
            total_std_error: 0.0,
            candidates: Vec::new(),
        }
    }
}

/// Checks a candidate list: non-empty strings, no duplicates, within the limits.
pub fn check_candidates(candidates: &[String]) -> Result<(), AggregateError> {
    if candidates.len() > MAX_CANDIDATES {
        return Err(AggregateError::InvalidArgument(format!(
            "{} candidates; at most {MAX_CANDIDATES} are accepted",
            candidates.len()
        )));
    }
    let mut seen = HashSet::with_capacity(candidates.len());
    for (i, c) in candidates.iter().enumerate() {
        if c.is_empty() || c.len() > MAX_CANDIDATE_BYTES {
            return Err(AggregateError::InvalidArgument(format!(
                "candidate {i} must be 1 to {MAX_CANDIDATE_BYTES} bytes"
            )));
        }
        if !seen.insert(c.as_str()) {
            return Err(AggregateError::InvalidArgument(format!(
                "candidate {c:?} appears more than once"
            )));
        }
    }
    Ok(())
}

/// The counts of a campaign's own values from a decoding of them: the candidates' counts and,
/// when the domain has `k` values beyond them (a dictionary's `other` bucket), everything the
/// candidates do not explain of the `n` reports, as uncertain as their sum (n is exact).
pub(crate) fn own_value_estimates(
    decoding: &CandidateDecoding,
    k: u32,
    n: u64,
) -> Vec<CountEstimate> {
    let mut counts: Vec<CountEstimate> = decoding
        .candidates
        .iter()
        .map(|c| CountEstimate {
            count: c.count,
            std_error: c.std_error,
        })
        .collect();
    if k as usize > counts.len() {
        let explained: f64 = counts.iter().map(|c| c.count).sum();
        counts.push(CountEstimate {
            count: n as f64 - explained,
            std_error: decoding.total_std_error,
        });
    }
    counts
}

pub(crate) fn not_selected(value: &str, std_error: f64) -> CandidateEstimate {
    CandidateEstimate {
        value: value.to_owned(),
        count: 0.0,
        std_error,
        ci95_low: -Z_95 * std_error,
        ci95_high: Z_95 * std_error,
        z: 0.0,
        selected: false,
        detected: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_lists_are_checked() {
        assert!(check_candidates(&["a".into(), "b".into()]).is_ok());
        assert!(check_candidates(&["a".into(), "a".into()]).is_err());
        assert!(check_candidates(&["".into()]).is_err());
        assert!(check_candidates(&["x".repeat(MAX_CANDIDATE_BYTES + 1)]).is_err());
    }
}
