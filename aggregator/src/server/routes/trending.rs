//! `GET /v1/campaigns/{id}/trending`: a thin shell over [`crate::query::trending()`], the same
//! function the dashboard's trending table calls.

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
use super::{EpochsView, Format, ProblemView, bad_query, csv_response, epoch_schema};
use crate::Alpha;
use crate::epoch_time::{Bound, Edge, EpochTime};
use crate::query::{self, TrendingRequest};
use crate::store::Role;
use crate::trending::Trend;

/// Rising values listed unless asked otherwise.
pub const DEFAULT_TOP: usize = 10;

/// The trending question.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TrendingQuery {
    /// Baseline length in epochs before the latest, 1 to 366 (default 7).
    #[param(minimum = 1, maximum = 366)]
    pub baseline: Option<u64>,
    /// At most this many rising values (default 10).
    #[param(format = "uint64", maximum = 18_446_744_073_709_551_615_u64)]
    pub top: Option<usize>,
    /// The latest epoch (default: the latest complete epoch that has reports — the newest
    /// epoch before the current one holding any; the one before the current when none does):
    /// an epoch number, an RFC 3339 date-time (the epoch holding it) or an ISO 8601 date (the
    /// epoch holding its last second).
    #[param(schema_with = epoch_schema)]
    pub epoch: Option<String>,
    /// Family-wise false-positive level, in (0, 1) (default 0.05).
    #[param(value_type = Option<f64>, exclusive_minimum = 0, exclusive_maximum = 1)]
    pub alpha: Option<Alpha>,
    /// `json` (default) or `csv` (`text/csv`, one row per rising value; also chosen by
    /// `Accept: text/csv`).
    #[param(value_type = Option<Format>)]
    pub format: Option<Format>,
}

/// A value whose share rose significantly.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrendView {
    /// Domain index.
    pub index: u32,
    /// The value's label.
    pub value: String,
    /// Estimated share in the latest epoch.
    pub share_now: f64,
    /// Its 95% interval.
    pub share_now_ci95: [f64; 2],
    /// Estimated share over the baseline.
    pub share_baseline: f64,
    /// Its 95% interval.
    pub share_baseline_ci95: [f64; 2],
    /// z-score of the rise.
    pub z: f64,
}

/// What is trending.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrendingView {
    /// Campaign id.
    pub campaign: String,
    /// The latest epoch compared.
    pub epoch: u64,
    /// When it starts, RFC 3339 UTC (null past year 9999).
    pub epoch_start: Option<String>,
    /// When it ends (exclusive), RFC 3339 UTC (null past year 9999).
    pub epoch_end: Option<String>,
    /// The baseline epochs (inclusive).
    pub baseline: EpochsView,
    /// Family-wise false-positive level.
    pub alpha: f64,
    /// Values tested.
    pub tested: usize,
    /// z a rise must exceed (one-sided, Bonferroni over the values tested).
    pub z_threshold: f64,
    /// Reports in the latest epoch.
    pub n_now: u64,
    /// Reports in the baseline.
    pub n_baseline: u64,
    /// Significant rises, largest z first.
    pub rising: Vec<TrendView>,
}

/// Values whose share in the latest epoch rose significantly over the baseline epochs.
///
/// A one-sided z-test per value on the difference of estimated shares, with the variance from
/// the mechanism's formula, at family-wise level `alpha` (Bonferroni over the k values). The
/// latest epoch defaults to the latest complete epoch that has reports (the current epoch is
/// still filling); the dashboard's trending table answers the same question.
#[utoipa::path(
    get,
    path = "/v1/campaigns/{id}/trending",
    params(("id" = String, Path, description = "Campaign id"), TrendingQuery),
    responses(
        (status = 200, description = "Rising values", content(
            (TrendingView = "application/json"),
            (String = "text/csv", example = "index,value,share_now,share_now_ci95_low,share_now_ci95_high,share_baseline,share_baseline_ci95_low,share_baseline_ci95_high,z"),
        )),
        (status = 400, description = "Malformed or unknown query parameters, baseline or alpha out of range, or too little history before the epoch", body = ProblemView, content_type = "application/problem+json"),
        (status = 401, description = "No or unknown token", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "Fewer reports than the campaign's minimum in either period, or an open domain (no values to test)", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn trending_values(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<TrendingQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    require(&state, &headers, Role::Analyst).await?;
    let Query(query) = query.map_err(|e| bad_query(e.body_text()))?;
    let config = state.campaign(&id).await?;
    let time = EpochTime::new(config.epoch_seconds());
    let epoch = query
        .epoch
        .as_deref()
        .map(|text| {
            text.parse::<Bound>()
                .and_then(|bound| time.epoch(bound, Edge::Last))
                .map_err(|e| bad_query(format!("epoch: {e}")))
        })
        .transpose()?;
    let request = TrendingRequest {
        epoch,
        baseline: query.baseline,
        alpha: query.alpha.unwrap_or_default(),
    };
    let (store, cfg, now) = (state.store.clone(), config.clone(), state.now());
    let answer = blocking(move || query::trending(&*store, &cfg, now, request)).await?;
    let report = answer.report;
    let rising: Vec<TrendView> = report
        .rising
        .into_iter()
        .take(query.top.unwrap_or(DEFAULT_TOP))
        .map(|t| TrendView::new(&config, &t))
        .collect();
    if Format::negotiate(query.format, &headers) == Format::Csv {
        return Ok(rising_csv(&rising));
    }
    Ok(Json(TrendingView {
        campaign: id,
        epoch: answer.epoch,
        epoch_start: time.start(answer.epoch),
        epoch_end: time.end(answer.epoch),
        baseline: EpochsView::new(answer.baseline, time),
        alpha: report.alpha,
        tested: report.tested,
        z_threshold: report.z_threshold,
        n_now: report.n_now,
        n_baseline: report.n_baseline,
        rising,
    })
    .into_response())
}

impl TrendView {
    /// One rising value of `config`, labelled.
    pub(crate) fn new(config: &CampaignConfig, t: &Trend) -> Self {
        Self {
            index: t.index,
            value: config.label(t.index),
            share_now: t.share_now,
            share_now_ci95: t.share_now_ci95,
            share_baseline: t.share_baseline,
            share_baseline_ci95: t.share_baseline_ci95,
            z: t.z,
        }
    }
}

/// The rising values as CSV: the columns of [`TrendView`], each interval as two.
pub(crate) fn rising_csv(rising: &[TrendView]) -> Response {
    csv_response(
        &[
            "index",
            "value",
            "share_now",
            "share_now_ci95_low",
            "share_now_ci95_high",
            "share_baseline",
            "share_baseline_ci95_low",
            "share_baseline_ci95_high",
            "z",
        ],
        rising.iter().map(|t| {
            vec![
                t.index.to_string(),
                t.value.clone(),
                t.share_now.to_string(),
                t.share_now_ci95[0].to_string(),
                t.share_now_ci95[1].to_string(),
                t.share_baseline.to_string(),
                t.share_baseline_ci95[0].to_string(),
                t.share_baseline_ci95[1].to_string(),
                t.z.to_string(),
            ]
        }),
    )
}
