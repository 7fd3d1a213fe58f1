//! The query policy over a [`Store`]: which epochs a question covers, merging their counters,
//! the minimum-reports rule, and the answers — [`estimates()`], [`candidates()`], [`trending()`] and
//! [`mean()`], plus the per-epoch [`series()`] and the campaign [`summary()`] the dashboard draws.
//!
//! The HTTP routes and the dashboard both answer from these functions, so they cannot disagree
//! about a rule. Every function is synchronous (the store is); the service calls them on its
//! blocking pool.
//!
//! Definitions used throughout:
//!
//! - **Default epochs** of an estimate: from the first to the last epoch holding reports (the
//!   current epoch when none does, so a refusal names a sensible range).
//! - **Minimum reports**: counters merged over a range are released only when they hold at
//!   least the campaign's `min_reports` reports ([`QueryError::NotEnoughReports`]).
//! - **Default epoch of trending**: the latest *complete* epoch (one before the current epoch)
//!   that holds reports; the epoch before the current one when none does
//!   ([`latest_complete_epoch`]).

use std::fmt;
use std::sync::atomic::AtomicBool;

use ldp_protocol::CampaignConfig;

use crate::error::AggregateError;
use crate::estimate::MeanEstimate;
use crate::estimate::candidates::{self, CandidateDecoding};
use crate::estimate::{Counters, Estimates};
use crate::shuffle::{self, CentralBound};
use crate::store::{EpochRange, Store, StoreError};
use crate::trending::{self as ztest, TrendingReport};
use crate::{Accumulator, Alpha};

/// Baseline epochs of a trending question unless asked otherwise.
pub const DEFAULT_BASELINE_EPOCHS: u64 = 7;
/// Most baseline epochs of a trending question.
pub const MAX_BASELINE_EPOCHS: u64 = 366;

/// Which question was asked (named in refusals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question {
    /// Estimates of every value.
    Estimates,
    /// Estimates of a list of candidate strings.
    Candidates,
    /// What is trending.
    Trending,
    /// The mean of a numeric campaign.
    Mean,
    /// Chosen values' estimates per epoch.
    Series,
}

impl fmt::Display for Question {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Estimates => "estimates",
            Self::Candidates => "a candidate query",
            Self::Trending => "trending",
            Self::Mean => "a mean",
            Self::Series => "a series",
        })
    }
}

/// Why a question was not answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// Both one epoch and a from/to range were given.
    #[error("give either epoch or from/to, not both")]
    EpochAndRange,
    /// The range ends before it starts.
    #[error("from ({from}) is after to ({to})")]
    Reversed {
        /// First epoch asked for.
        from: u64,
        /// Last epoch asked for.
        to: u64,
    },
    /// Fewer reports than the campaign's minimum were counted in the range.
    #[error(
        "{n} reports counted in epochs {}..={}; estimates are released from {min_reports} on ({} more needed)",
        .range.from, .range.to, needed(.n, .min_reports)
    )]
    NotEnoughReports {
        /// The epochs merged.
        range: EpochRange,
        /// Reports counted in them.
        n: u64,
        /// The campaign's minimum.
        min_reports: u64,
    },
    /// The campaign has an open domain: there is no list of values to answer with.
    #[error("campaign {campaign:?} has an open domain: there is no list of values for {question}")]
    OpenDomain {
        /// Campaign id.
        campaign: String,
        /// What was asked.
        question: Question,
    },
    /// A question about values asked of a numeric campaign.
    #[error(
        "campaign {campaign:?} estimates the mean of a number: there are no values for {question}"
    )]
    Numeric {
        /// Campaign id.
        campaign: String,
        /// What was asked.
        question: Question,
    },
    /// A mean asked of a campaign that does not collect a number.
    #[error("campaign {campaign:?} does not collect a number: it has no mean")]
    NotNumeric {
        /// Campaign id.
        campaign: String,
    },
    /// A candidate list for a mechanism that estimates its whole domain.
    #[error("campaign {campaign:?} uses {mechanism}, which estimates every value of its domain")]
    CandidatesUnsupported {
        /// Campaign id.
        campaign: String,
        /// Its mechanism.
        mechanism: &'static str,
    },
    /// A parameter is out of range (alpha, baseline, the candidate list, the epoch history).
    #[error("{0}")]
    InvalidArgument(String),
    /// The trending test refused the two periods.
    #[error("{0}")]
    Trending(AggregateError),
    /// The campaign's values cannot be estimated all at once (a string mechanism over a range
    /// too large to decode as candidates: ask for candidates instead).
    #[error("{0}")]
    Estimate(AggregateError),
    /// Decoding the candidates failed or was cancelled.
    #[error("decoding the candidates failed: {0}")]
    Decode(AggregateError),
    /// Stored counters do not merge (a corrupt database or a bug).
    #[error("stored counters are inconsistent: {0}")]
    Inconsistent(AggregateError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reports still missing before `min_reports` are reached.
fn needed(n: &u64, min_reports: &u64) -> u64 {
    min_reports.saturating_sub(*n)
}

/// The epochs a question names: one `epoch`, or `from`/`to` (each defaulting to the first and
/// last epochs with reports), or nothing (every epoch with reports).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EpochSelection {
    /// One epoch (same as `from = to = epoch`).
    pub epoch: Option<u64>,
    /// First epoch, inclusive.
    pub from: Option<u64>,
    /// Last epoch, inclusive.
    pub to: Option<u64>,
}

/// The epoch of Unix time `now` for `config`.
pub fn current_epoch(config: &CampaignConfig, now: u64) -> u64 {
    now / config.epoch_seconds().max(1)
}

/// Resolves `selection` to a range of epochs (see the module documentation for the defaults).
pub fn resolve_epochs(
    store: &dyn Store,
    config: &CampaignConfig,
    now: u64,
    selection: EpochSelection,
) -> Result<EpochRange, QueryError> {
    let (from, to) = match (selection.epoch, selection.from, selection.to) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => return Err(QueryError::EpochAndRange),
        (Some(e), None, None) => (e, e),
        (None, Some(from), Some(to)) => (from, to),
        (None, from, to) => {
            let stored = store.epoch_range(config.id().as_str())?;
            let current = current_epoch(config, now);
            (
                from.or(stored.map(|r| r.from)).unwrap_or(current),
                to.or(stored.map(|r| r.to)).unwrap_or(current),
            )
        }
    };
    if from > to {
        return Err(QueryError::Reversed { from, to });
    }
    Ok(EpochRange { from, to })
}

/// Whether `n` reports are enough to release estimates of `config` (the minimum-reports rule).
pub fn releasable(config: &CampaignConfig, n: u64) -> bool {
    n >= config.min_reports()
}

/// Merges the stored counters of `range`; refuses when fewer than the campaign's minimum
/// reports were counted.
pub fn merged(
    store: &dyn Store,
    config: &CampaignConfig,
    range: EpochRange,
) -> Result<Counters, QueryError> {
    merged_with_fewest(store, config, range).map(|(merged, _)| merged)
}

/// [`merged`], with the fewest reports counted in one epoch of the range that has reports
/// (what the shuffling bound of an epoch counts on).
fn merged_with_fewest(
    store: &dyn Store,
    config: &CampaignConfig,
    range: EpochRange,
) -> Result<(Counters, u64), QueryError> {
    let rows = store.counters(config, range.from, range.to)?;
    let mut merged = Counters::new(config);
    let mut fewest = u64::MAX;
    for (_, counters) in &rows {
        merged.merge(counters).map_err(QueryError::Inconsistent)?;
        fewest = fewest.min(counters.n());
    }
    let n = merged.n();
    if !releasable(config, n) {
        return Err(QueryError::NotEnoughReports {
            range,
            n,
            min_reports: config.min_reports(),
        });
    }
    Ok((merged, fewest))
}

/// Estimates over a range of epochs.
#[derive(Debug, Clone)]
pub struct EstimatesAnswer {
    /// The epochs covered.
    pub epochs: EpochRange,
    /// Every value's estimate (none for a numeric campaign).
    pub estimates: Estimates,
    /// A numeric campaign's mean.
    pub mean: Option<MeanEstimate>,
    /// The central privacy of the range's epoch with the fewest reports, its reports shuffled
    /// ([`crate::shuffle`]).
    pub central: CentralBound,
}

/// Estimated counts of every value over the selected epochs (and the mean, for a numeric
/// campaign). An open domain has no values: [`QueryError::OpenDomain`].
pub fn estimates(
    store: &dyn Store,
    config: &CampaignConfig,
    now: u64,
    selection: EpochSelection,
) -> Result<EstimatesAnswer, QueryError> {
    if config.is_open() {
        return Err(QueryError::OpenDomain {
            campaign: config.id().as_str().to_owned(),
            question: Question::Estimates,
        });
    }
    let epochs = resolve_epochs(store, config, now, selection)?;
    let (counters, fewest) = merged_with_fewest(store, config, epochs)?;
    let central = shuffle::epoch_bound(config.epsilon(), fewest, config.max_reports_per_epoch());
    let mean = config
        .numeric_range()
        .map(|(lo, hi)| counters.mean(lo, hi))
        .transpose()
        .map_err(QueryError::Estimate)?;
    Ok(EstimatesAnswer {
        epochs,
        estimates: counters.estimate().map_err(QueryError::Estimate)?,
        mean,
        central,
    })
}

/// A numeric campaign's mean over a range of epochs.
#[derive(Debug, Clone)]
pub struct MeanAnswer {
    /// The epochs covered.
    pub epochs: EpochRange,
    /// The estimated mean.
    pub mean: MeanEstimate,
}

/// The mean of a numeric campaign over the selected epochs.
pub fn mean(
    store: &dyn Store,
    config: &CampaignConfig,
    now: u64,
    selection: EpochSelection,
) -> Result<MeanAnswer, QueryError> {
    let not_numeric = || QueryError::NotNumeric {
        campaign: config.id().as_str().to_owned(),
    };
    let (lo, hi) = config.numeric_range().ok_or_else(not_numeric)?;
    let epochs = resolve_epochs(store, config, now, selection)?;
    let mean = merged(store, config, epochs)?
        .mean(lo, hi)
        .map_err(QueryError::Estimate)?;
    Ok(MeanAnswer { epochs, mean })
}

/// Estimates of a list of candidate strings.
#[derive(Debug, Clone)]
pub struct CandidatesAnswer {
    /// The epochs covered.
    pub epochs: EpochRange,
    /// The decoding.
    pub decoding: CandidateDecoding,
}

/// Estimates of `list` (RAPPOR, CMS and HCMS campaigns) over the selected epochs, with the
/// detection test at family-wise level `alpha`. Stops with
/// [`QueryError::Decode`] soon after `cancel` is set.
pub fn candidates(
    store: &dyn Store,
    config: &CampaignConfig,
    now: u64,
    selection: EpochSelection,
    list: &[String],
    alpha: Alpha,
    cancel: &AtomicBool,
) -> Result<CandidatesAnswer, QueryError> {
    let kind = config.params().kind();
    let campaign = || config.id().as_str().to_owned();
    if kind.is_numeric() {
        return Err(QueryError::Numeric {
            campaign: campaign(),
            question: Question::Candidates,
        });
    }
    if !kind.takes_candidates() {
        return Err(QueryError::CandidatesUnsupported {
            campaign: campaign(),
            mechanism: kind.name(),
        });
    }
    if list.is_empty() {
        return Err(QueryError::InvalidArgument(
            "give at least one candidate".to_owned(),
        ));
    }
    candidates::check_candidates(list).map_err(|e| QueryError::InvalidArgument(e.to_string()))?;
    let epochs = resolve_epochs(store, config, now, selection)?;
    let decoding = merged(store, config, epochs)?
        .decode_cancellable(list, alpha, cancel)
        .map_err(QueryError::Decode)?;
    Ok(CandidatesAnswer { epochs, decoding })
}

/// A trending question.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TrendingRequest {
    /// The latest epoch (default: [`latest_complete_epoch`]).
    pub epoch: Option<u64>,
    /// Baseline epochs before it (default [`DEFAULT_BASELINE_EPOCHS`]).
    pub baseline: Option<u64>,
    /// Family-wise false-positive level (default [`Alpha::DEFAULT`]).
    pub alpha: Alpha,
}

/// What is trending.
#[derive(Debug, Clone)]
pub struct TrendingAnswer {
    /// The latest epoch compared.
    pub epoch: u64,
    /// The baseline epochs.
    pub baseline: EpochRange,
    /// The z-test's result.
    pub report: TrendingReport,
}

/// The values whose share in the latest epoch rose significantly over the baseline epochs
/// before it; both periods must hold the campaign's minimum reports.
pub fn trending(
    store: &dyn Store,
    config: &CampaignConfig,
    now: u64,
    request: TrendingRequest,
) -> Result<TrendingAnswer, QueryError> {
    let campaign = || config.id().as_str().to_owned();
    if config.is_open() {
        return Err(QueryError::OpenDomain {
            campaign: campaign(),
            question: Question::Trending,
        });
    }
    if config.params().kind().is_numeric() {
        return Err(QueryError::Numeric {
            campaign: campaign(),
            question: Question::Trending,
        });
    }
    let baseline = request.baseline.unwrap_or(DEFAULT_BASELINE_EPOCHS);
    if !(1..=MAX_BASELINE_EPOCHS).contains(&baseline) {
        return Err(QueryError::InvalidArgument(format!(
            "baseline must be 1 to {MAX_BASELINE_EPOCHS} epochs"
        )));
    }
    let latest = match request.epoch {
        Some(epoch) => epoch,
        None => latest_complete_epoch(store, config, now)?,
    };
    if latest < baseline {
        return Err(QueryError::InvalidArgument(format!(
            "epoch {latest} has fewer than {baseline} epochs before it"
        )));
    }
    let base = EpochRange {
        from: latest - baseline,
        to: latest - 1,
    };
    let now_counters = merged(
        store,
        config,
        EpochRange {
            from: latest,
            to: latest,
        },
    )?;
    let base_counters = merged(store, config, base)?;
    let now_estimates = now_counters.estimate().map_err(QueryError::Estimate)?;
    let base_estimates = base_counters.estimate().map_err(QueryError::Estimate)?;
    let report = ztest::trending(&now_estimates, &base_estimates, request.alpha)
        .map_err(QueryError::Trending)?;
    Ok(TrendingAnswer {
        epoch: latest,
        baseline: base,
        report,
    })
}

/// The default latest epoch of a trending question: the latest complete epoch (before the
/// current one) that holds reports, or the epoch before the current one when none does.
///
/// Reports of the current epoch are still arriving, so it is never the default. The usual case
/// costs one `epoch_range` call; only when the current epoch already holds reports are earlier
/// epochs read, a window at a time, from the newest back.
pub fn latest_complete_epoch(
    store: &dyn Store,
    config: &CampaignConfig,
    now: u64,
) -> Result<u64, StoreError> {
    let last_complete = current_epoch(config, now).saturating_sub(1);
    let Some(stored) = store.epoch_range(config.id().as_str())? else {
        return Ok(last_complete);
    };
    if stored.to <= last_complete {
        return Ok(stored.to);
    }
    if stored.from > last_complete {
        return Ok(last_complete);
    }
    let (mut to, mut width) = (last_complete, 8u64);
    loop {
        let from = to.saturating_sub(width - 1).max(stored.from);
        let rows = store.counters(config, from, to)?;
        if let Some((epoch, _)) = rows.iter().rev().find(|(_, c)| c.n() > 0) {
            return Ok(*epoch);
        }
        if from <= stored.from {
            return Ok(last_complete);
        }
        to = from - 1;
        width = width.saturating_mul(2);
    }
}

/// Reports and epochs of a campaign over all its epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// The epochs holding reports, if any.
    pub epochs: Option<EpochRange>,
    /// Reports counted over them.
    pub n: u64,
}

/// How many reports a campaign has, and in which epochs.
pub fn summary(store: &dyn Store, config: &CampaignConfig) -> Result<Summary, StoreError> {
    let epochs = store.epoch_range(config.id().as_str())?;
    let n = match epochs {
        Some(r) => store
            .counters(config, r.from, r.to)?
            .iter()
            .map(|(_, c)| c.n())
            .sum(),
        None => 0,
    };
    Ok(Summary { epochs, n })
}

/// The estimates of every epoch in `range` that holds the campaign's minimum reports, in epoch
/// order (a time series; epochs below the minimum are left out).
pub fn series(
    store: &dyn Store,
    config: &CampaignConfig,
    range: EpochRange,
) -> Result<Vec<(u64, Estimates)>, QueryError> {
    store
        .counters(config, range.from, range.to)?
        .into_iter()
        .filter(|(_, c)| releasable(config, c.n()))
        .map(|(epoch, c)| Ok((epoch, c.estimate().map_err(QueryError::Estimate)?)))
        .collect()
}

/// Epochs of a series when no range is chosen: the last ones with reports.
pub const DEFAULT_SERIES_EPOCHS: u64 = 30;
/// Most epochs one series may cover.
pub const MAX_SERIES_EPOCHS: u64 = 366;

/// The index of the value labelled `label` in `config`'s domain, if there is one (a dictionary
/// entry, the `other` bucket's label, or a range's decimal index).
pub fn index_of_label(config: &CampaignConfig, label: &str) -> Option<u32> {
    config
        .index_of(label)
        .filter(|i| *i < config.k() && config.label(*i) == label)
}

/// The estimates per epoch of a campaign with a list of values, over the selected epochs (by
/// default the last [`DEFAULT_SERIES_EPOCHS`] with reports; at most [`MAX_SERIES_EPOCHS`]):
/// the range, and each epoch holding the campaign's minimum reports with its estimates.
pub fn value_series(
    store: &dyn Store,
    config: &CampaignConfig,
    now: u64,
    selection: EpochSelection,
) -> Result<(EpochRange, Vec<(u64, Estimates)>), QueryError> {
    let campaign = || config.id().as_str().to_owned();
    if config.is_open() {
        return Err(QueryError::OpenDomain {
            campaign: campaign(),
            question: Question::Series,
        });
    }
    if config.numeric_range().is_some() {
        return Err(QueryError::Numeric {
            campaign: campaign(),
            question: Question::Series,
        });
    }
    let mut range = resolve_epochs(store, config, now, selection)?;
    if selection == EpochSelection::default() {
        range.from = range
            .from
            .max(range.to.saturating_sub(DEFAULT_SERIES_EPOCHS - 1));
    }
    if range.to - range.from >= MAX_SERIES_EPOCHS {
        return Err(QueryError::InvalidArgument(format!(
            "a series covers at most {MAX_SERIES_EPOCHS} epochs; epochs {}..={} are {}",
            range.from,
            range.to,
            (range.to - range.from).saturating_add(1)
        )));
    }
    Ok((range, series(store, config, range)?))
}
