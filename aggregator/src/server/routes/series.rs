//! `GET /v1/campaigns/{id}/series`: chosen values' estimates per epoch — what the dashboard's
//! comparison chart draws — as JSON or CSV; a thin shell over [`crate::query::value_series`].

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use ldp_protocol::CampaignConfig;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::super::auth::require;
use super::super::problem::Problem;
use super::super::{AppState, blocking};
use super::{
    EpochsView, Format, ProblemView, bad_query, csv_response, epoch_schema, epoch_selection,
};
use crate::epoch_time::EpochTime;
use crate::estimate::Estimates;
use crate::query::{self, index_of_label};
use crate::store::Role;

/// Most values in one series.
pub const MAX_SERIES_VALUES: usize = 100;

/// The series question.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SeriesQuery {
    /// The values, by label (a dictionary entry, or a range's decimal index), separated by
    /// commas: 1 to 100 of them.
    #[param(required = true)]
    pub values: Option<String>,
    /// First epoch, inclusive (default: 29 epochs before the last): an epoch number, a date
    /// or a date-time.
    #[param(schema_with = epoch_schema)]
    pub from: Option<String>,
    /// Last epoch, inclusive (default: the last with reports): an epoch number, a date or a
    /// date-time. A series covers at most 366 epochs.
    #[param(schema_with = epoch_schema)]
    pub to: Option<String>,
    /// `json` (default) or `csv` (`text/csv`, one row per epoch and value; also chosen by
    /// `Accept: text/csv`).
    #[param(value_type = Option<Format>)]
    pub format: Option<Format>,
}

/// One value's estimate in one epoch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SeriesPoint {
    /// Epoch number.
    pub epoch: u64,
    /// When it starts, RFC 3339 UTC (null past year 9999).
    pub start: Option<String>,
    /// When it ends (exclusive), RFC 3339 UTC (null past year 9999).
    pub end: Option<String>,
    /// Domain index.
    pub index: u32,
    /// The value's label.
    pub value: String,
    /// Reports counted in the epoch.
    pub n: u64,
    /// Unbiased count estimate (may be negative).
    pub count: f64,
    /// Standard error of `count`.
    pub std_error: f64,
    /// 95% interval of `count`.
    pub ci95: [f64; 2],
    /// `count / n`.
    pub share: f64,
    /// 95% interval of `share`.
    pub share_ci95: [f64; 2],
}

impl SeriesPoint {
    /// Value `index` of `config` in `epoch`, whose estimates are `estimates`.
    pub(crate) fn new(
        config: &CampaignConfig,
        epoch: u64,
        estimates: &Estimates,
        index: u32,
    ) -> Option<Self> {
        let v = estimates.values.get(index as usize)?;
        let time = EpochTime::new(config.epoch_seconds());
        let n = estimates.n.max(1) as f64;
        Some(Self {
            epoch,
            start: time.start(epoch),
            end: time.end(epoch),
            index,
            value: config.label(index),
            n: estimates.n,
            count: v.count,
            std_error: v.std_error,
            ci95: [v.ci95_low, v.ci95_high],
            share: v.count / n,
            share_ci95: [v.ci95_low / n, v.ci95_high / n],
        })
    }
}

/// Chosen values' estimates per epoch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SeriesView {
    /// Campaign id.
    pub campaign: String,
    /// The epochs asked for (inclusive); an epoch with fewer reports than the campaign's
    /// minimum has no points (a gap).
    pub epochs: EpochsView,
    /// Reports needed in an epoch for its points.
    pub min_reports: u64,
    /// Epoch by epoch, each value in the order asked.
    pub points: Vec<SeriesPoint>,
}

/// Chosen values' estimates per epoch, over a range of epochs (by default the last 30 with
/// reports; at most 366). Epochs with fewer reports than the campaign's minimum are left out.
#[utoipa::path(
    get,
    path = "/v1/campaigns/{id}/series",
    params(("id" = String, Path, description = "Campaign id"), SeriesQuery),
    responses(
        (status = 200, description = "The values per epoch", content(
            (SeriesView = "application/json"),
            (String = "text/csv", example = "epoch,start,end,index,value,n,count,std_error,ci95_low,ci95_high,share,share_ci95_low,share_ci95_high"),
        )),
        (status = 400, description = "Malformed or unknown query parameters, no values, a value not in the domain, or more than 366 epochs", body = ProblemView, content_type = "application/problem+json"),
        (status = 401, description = "No or unknown token", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "An open domain or a numeric campaign: no values to list", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn series(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<SeriesQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    require(&state, &headers, Role::Analyst).await?;
    let Query(query) = query.map_err(|e| bad_query(e.body_text()))?;
    let config = state.campaign(&id).await?;
    let selection = epoch_selection(&config, None, query.from.as_deref(), query.to.as_deref())?;
    let (store, cfg, now) = (state.store.clone(), config.clone(), state.now());
    let (range, epochs) =
        blocking(move || query::value_series(&*store, &cfg, now, selection)).await?;
    let indices = values(&config, query.values.as_deref().unwrap_or_default())?;
    let points: Vec<SeriesPoint> = epochs
        .iter()
        .flat_map(|(epoch, estimates)| {
            indices
                .iter()
                .filter_map(|&i| SeriesPoint::new(&config, *epoch, estimates, i))
        })
        .collect();
    if Format::negotiate(query.format, &headers) == Format::Csv {
        return Ok(series_csv(&points));
    }
    Ok(Json(SeriesView {
        campaign: id,
        epochs: EpochsView::new(range, EpochTime::new(config.epoch_seconds())),
        min_reports: config.min_reports(),
        points,
    })
    .into_response())
}

/// The indices of the comma-separated labels in `list`, in order, without repeats.
fn values(config: &CampaignConfig, list: &str) -> Result<Vec<u32>, Problem> {
    let mut indices = Vec::new();
    for label in list.split(',').map(str::trim).filter(|l| !l.is_empty()) {
        let index = index_of_label(config, label).ok_or_else(|| {
            bad_query(format!(
                "{label:?} is not a value of campaign {:?}",
                config.id().as_str()
            ))
        })?;
        if !indices.contains(&index) {
            indices.push(index);
        }
    }
    if indices.is_empty() || indices.len() > MAX_SERIES_VALUES {
        return Err(bad_query(format!(
            "name 1 to {MAX_SERIES_VALUES} values, by label, separated by commas: values=a,b"
        )));
    }
    Ok(indices)
}

/// The points as CSV: the columns of [`SeriesPoint`], each interval as two.
pub(crate) fn series_csv(points: &[SeriesPoint]) -> Response {
    csv_response(
        &[
            "epoch",
            "start",
            "end",
            "index",
            "value",
            "n",
            "count",
            "std_error",
            "ci95_low",
            "ci95_high",
            "share",
            "share_ci95_low",
            "share_ci95_high",
        ],
        points.iter().map(|p| {
            vec![
                p.epoch.to_string(),
                p.start.clone().unwrap_or_default(),
                p.end.clone().unwrap_or_default(),
                p.index.to_string(),
                p.value.clone(),
                p.n.to_string(),
                p.count.to_string(),
                p.std_error.to_string(),
                p.ci95[0].to_string(),
                p.ci95[1].to_string(),
                p.share.to_string(),
                p.share_ci95[0].to_string(),
                p.share_ci95[1].to_string(),
            ]
        }),
    )
}
