//! The numbers a campaign page shows, each from the query function the API answers with: the
//! same merging, minimum-reports rule and trending definition.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use ldp_protocol::CampaignConfig;

use super::charts::{Line, SharePoint};
use super::options::Options;
use crate::estimate::Estimates;
use crate::query::{self, CandidatesAnswer, EpochSelection, QueryError, TrendingRequest};
use crate::store::{EpochRange, Store};
use crate::trending::TrendingReport;

/// Epochs in the baseline of the trending table (the API's default baseline).
pub const BASELINE_EPOCHS: u64 = query::DEFAULT_BASELINE_EPOCHS;
/// Epochs charted when no range is chosen: the last ones with reports (as the API's series).
pub const SERIES_EPOCHS: u64 = query::DEFAULT_SERIES_EPOCHS;
/// Most epochs charted (and exported) for a chosen range: its last ones (the API refuses a
/// longer range; a page shows what it can).
pub const MAX_SERIES_EPOCHS: u64 = query::MAX_SERIES_EPOCHS;

/// Everything the campaign page shows.
#[derive(Debug)]
pub struct CampaignData {
    /// The campaign.
    pub config: Arc<CampaignConfig>,
    /// What the page was asked for.
    pub options: Options,
    /// The epoch now.
    pub current_epoch: u64,
    /// Epochs with reports, if any.
    pub epochs: Option<(u64, u64)>,
    /// Reports over those epochs.
    pub n: u64,
    /// When the campaign was closed (Unix seconds), and its retention in epochs.
    pub closed_at: Option<u64>,
    /// Epochs of counters kept, when limited.
    pub retention_epochs: Option<u64>,
    /// The epochs the estimates cover.
    pub range: Option<EpochRange>,
    /// Reports in `range` when they are too few to release estimates.
    pub held: Option<u64>,
    /// The estimates over `range`, when released.
    pub estimates: Option<Estimates>,
    /// The trending comparison, or why there is none.
    pub trending: Result<(u64, TrendingReport), String>,
    /// The charted values' shares per epoch.
    pub series: Series,
    /// A numeric campaign's mean over `range`, when released.
    pub mean: Option<crate::estimate::MeanEstimate>,
    /// The central privacy of one epoch's shuffled reports, with the estimates.
    pub central: Option<crate::shuffle::CentralBound>,
    /// An open domain's candidate estimates, when candidates were given (or why there are
    /// none).
    pub candidates: Option<Result<CandidatesAnswer, String>>,
}

/// The time series: the epochs charted, each epoch's estimates, and one line per value.
#[derive(Debug, Default)]
pub struct Series {
    /// The epochs asked for (epochs below the minimum reports are missing from `epochs`).
    pub range: Option<EpochRange>,
    /// Whether `range` was cut to its last [`MAX_SERIES_EPOCHS`].
    pub cut: bool,
    /// Each epoch with enough reports, with its estimates.
    pub epochs: Vec<(u64, Estimates)>,
    /// One line per charted value.
    pub lines: Vec<Line>,
}

/// Collects the page's numbers (blocking: call it on the blocking pool).
pub fn collect(
    store: &dyn Store,
    config: Arc<CampaignConfig>,
    options: Options,
    now: u64,
) -> Result<CampaignData, QueryError> {
    let current_epoch = query::current_epoch(&config, now);
    let summary = query::summary(store, &config)?;
    let stored = store.campaign(config.id().as_str())?;
    let selection = options.selection;
    let mut data = CampaignData {
        config: config.clone(),
        current_epoch,
        epochs: summary.epochs.map(|r| (r.from, r.to)),
        n: summary.n,
        closed_at: stored.as_ref().and_then(|s| s.closed_at),
        retention_epochs: stored.as_ref().and_then(|s| s.retention_epochs),
        range: None,
        held: None,
        estimates: None,
        trending: Err(String::new()),
        series: Series::default(),
        mean: None,
        central: None,
        candidates: None,
        options,
    };
    if config.is_open() {
        // No values to rank, test or chart: estimates of the candidates asked for instead.
        data.range = Some(query::resolve_epochs(store, &config, now, selection)?);
        data.trending = Err("An open domain has no values to test for trends.".to_owned());
        if !data.options.candidates.is_empty() {
            let never = AtomicBool::new(false);
            let answer = query::candidates(
                store,
                &config,
                now,
                selection,
                &data.options.candidates,
                crate::alpha::Alpha::default(),
                &never,
            );
            data.candidates = Some(match answer {
                Ok(answer) => Ok(answer),
                Err(e @ (QueryError::Store(_) | QueryError::Inconsistent(_))) => return Err(e),
                Err(e) => Err(e.to_string()),
            });
        }
        return Ok(data);
    }
    if config.numeric_range().is_some() {
        // One number to show: the mean and its interval.
        match query::mean(store, &config, now, selection) {
            Ok(answer) => {
                data.range = Some(answer.epochs);
                data.mean = Some(answer.mean);
            }
            Err(e) => data.held = held(&mut data.range, e)?,
        }
        data.trending = Err(
            "A numeric campaign estimates a mean: there are no values to test for trends."
                .to_owned(),
        );
        return Ok(data);
    }
    match query::estimates(store, &config, now, selection) {
        Ok(answer) => {
            data.range = Some(answer.epochs);
            data.central = Some(answer.central);
            data.estimates = Some(answer.estimates);
        }
        Err(e) => data.held = held(&mut data.range, e)?,
    }
    let request = TrendingRequest {
        epoch: data.options.to,
        ..TrendingRequest::default()
    };
    data.trending = match query::trending(store, &config, now, request) {
        Ok(answer) => Ok((answer.epoch, answer.report)),
        Err(e @ (QueryError::Store(_) | QueryError::Inconsistent(_))) => return Err(e),
        Err(e) => Err(format!(
            "Trending compares the latest complete epoch with reports (or the range's last \
             epoch) with the {BASELINE_EPOCHS} epochs before it: {e}."
        )),
    };
    data.series = series(store, &data, summary.epochs, selection)?;
    Ok(data)
}

/// The range of a refusal for too few reports, and its count; any other error stands.
fn held(range: &mut Option<EpochRange>, error: QueryError) -> Result<Option<u64>, QueryError> {
    match error {
        QueryError::NotEnoughReports { range: r, n, .. } => {
            *range = Some(r);
            Ok(Some(n))
        }
        e => Err(e),
    }
}

/// The charted values' shares per epoch with enough reports: over the chosen range (its last
/// [`MAX_SERIES_EPOCHS`]), or over the last [`SERIES_EPOCHS`] epochs with reports.
fn series(
    store: &dyn Store,
    data: &CampaignData,
    stored: Option<EpochRange>,
    selection: EpochSelection,
) -> Result<Series, QueryError> {
    let config = &data.config;
    let range = if data.options.ranged {
        data.range.or(Some(EpochRange {
            from: selection.from.unwrap_or(0),
            to: selection.to.unwrap_or(data.current_epoch),
        }))
    } else {
        stored.map(|r| EpochRange {
            from: r.from.max(r.to.saturating_sub(SERIES_EPOCHS - 1)),
            to: r.to,
        })
    };
    let Some(mut range) = range else {
        return Ok(Series::default());
    };
    let cut = range.to - range.from >= MAX_SERIES_EPOCHS;
    if cut {
        range.from = range.to - (MAX_SERIES_EPOCHS - 1);
    }
    let epochs = query::series(store, config, range)?;
    let mut charted = data.options.charted.clone();
    if charted.is_empty() {
        // The top value of the estimates shown, else of the latest epoch charted.
        let top = data
            .estimates
            .as_ref()
            .or(epochs.last().map(|(_, e)| e))
            .and_then(|e| e.top(1).first().map(|v| v.index));
        charted.extend(top);
    }
    let lines = charted
        .iter()
        .map(|&index| Line {
            index,
            label: config.label(index),
            points: epochs
                .iter()
                .filter_map(|(epoch, estimate)| share_point(*epoch, estimate, index))
                .collect(),
        })
        .collect();
    Ok(Series {
        range: Some(range),
        cut,
        epochs,
        lines,
    })
}

/// Value `index`'s share of one epoch's reports, in percent, with its interval.
pub fn share_point(epoch: u64, estimate: &Estimates, index: u32) -> Option<SharePoint> {
    let v = estimate.values.get(index as usize)?;
    let scale = 100.0 / estimate.n.max(1) as f64;
    Some(SharePoint {
        epoch,
        share: v.count * scale,
        ci95: [v.ci95_low * scale, v.ci95_high * scale],
    })
}
