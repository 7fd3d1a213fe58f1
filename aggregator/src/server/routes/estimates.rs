//! `GET /v1/campaigns/{id}/estimates` and `POST /v1/campaigns/{id}/estimates/query`: thin
//! shells over [`crate::query::estimates()`] and [`crate::query::candidates()`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use ldp_protocol::CampaignConfig;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{Array, ArrayBuilder, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

use super::super::auth::require;
use super::super::problem::Problem;
use super::super::{AppState, blocking};
use super::{
    EpochsView, Format, ProblemView, bad_query, csv_response, epoch_schema, epoch_selection,
    require_content_type,
};
use crate::Alpha;
use crate::epoch_time::EpochTime;
use crate::estimate::candidates::{CandidateEstimate, MAX_CANDIDATE_BYTES, MAX_CANDIDATES};
use crate::estimate::{MeanEstimate, ValueEstimate};
use crate::query;
use crate::shuffle::{self, CentralBound};
use crate::store::Role;

/// Which epochs to estimate over, and in which format.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EstimatesQuery {
    /// One epoch (same as `from=E&to=E`): an epoch number, an RFC 3339 date-time (the epoch
    /// holding it) or an ISO 8601 date (every epoch of that UTC day).
    #[param(schema_with = epoch_schema)]
    pub epoch: Option<String>,
    /// First epoch, inclusive (default: the first with reports): an epoch number, an ISO 8601
    /// date (the epoch holding its first second) or an RFC 3339 date-time.
    #[param(schema_with = epoch_schema)]
    pub from: Option<String>,
    /// Last epoch, inclusive (default: the last with reports): an epoch number, an ISO 8601
    /// date (the epoch holding its last second) or an RFC 3339 date-time.
    #[param(schema_with = epoch_schema)]
    pub to: Option<String>,
    /// Only the `top` values by estimated count, largest first (default: every value, in
    /// index order).
    #[param(format = "uint64", maximum = 18_446_744_073_709_551_615_u64)]
    pub top: Option<usize>,
    /// `json` (default) or `csv` (`text/csv`, one row per value; also chosen by
    /// `Accept: text/csv`).
    #[param(value_type = Option<Format>)]
    pub format: Option<Format>,
}

/// The estimate of one value.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ValueView {
    /// Domain index.
    pub index: u32,
    /// The value's label (dictionary entry, `(other)`, or the index as text).
    pub value: String,
    /// Unbiased count estimate (may be negative).
    pub count: f64,
    /// Standard error of `count`.
    pub std_error: f64,
    /// 95% interval of the count.
    pub ci95: [f64; 2],
    /// Consistency-processed count (Norm-Sub: non-negative, sums to n; biased).
    pub consistent_count: f64,
}

/// Estimates over a range of epochs.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EstimatesView {
    /// Campaign id.
    pub campaign: String,
    /// Mechanism name.
    pub mechanism: String,
    /// ε per report.
    pub epsilon: f64,
    /// Domain size.
    pub k: u32,
    /// Reports counted in the epoch range.
    pub n: u64,
    /// The epochs covered (inclusive).
    pub epochs: EpochsView,
    /// Reports needed before estimates are released.
    pub min_reports: u64,
    /// Per value estimates (empty for a numeric campaign).
    pub values: Vec<ValueView>,
    /// A numeric campaign's estimated mean (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<MeanEstimate>,
    /// The central privacy of one epoch's reports if the collector cannot tell which device
    /// sent which (amplification by shuffling), for the range's epoch with the fewest reports.
    pub shuffled: ShuffledView,
}

/// The central (ε, δ) of one epoch's shuffled reports (Feldman, McMillan, Talwar, FOCS 2021),
/// and what it assumes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ShuffledView {
    /// Central ε for any one device's reports in the epoch: at most `local_epsilon`.
    pub central_epsilon: f64,
    /// δ of that guarantee: 10⁻⁶, or 1/(10·devices) when smaller.
    pub delta: f64,
    /// ε of one device's reports in an epoch (ε per report times the reports a device may send
    /// per epoch).
    pub local_epsilon: f64,
    /// Devices counted: the fewest reports of an epoch in the range, divided by the reports a
    /// device may send per epoch, rounded down to three significant digits.
    pub devices: u64,
    /// Whether shuffling lowers ε at all (false: too few devices, and `central_epsilon` is the
    /// local ε).
    pub amplified: bool,
    /// When the guarantee holds, in words.
    pub assumptions: String,
}

impl From<CentralBound> for ShuffledView {
    fn from(bound: CentralBound) -> Self {
        Self {
            central_epsilon: bound.epsilon,
            delta: bound.delta,
            local_epsilon: bound.local_epsilon,
            devices: bound.devices,
            amplified: bound.amplified,
            assumptions: shuffle::ASSUMPTIONS.to_owned(),
        }
    }
}

/// Estimated counts of every value with standard errors and 95% intervals.
///
/// A RAPPOR campaign with an open domain has no values to list: it answers 409
/// `candidates-required`, pointing at `POST /v1/campaigns/{id}/estimates/query`.
#[utoipa::path(
    get,
    path = "/v1/campaigns/{id}/estimates",
    params(("id" = String, Path, description = "Campaign id"), EstimatesQuery),
    responses(
        (status = 200, description = "Estimates", content(
            (EstimatesView = "application/json"),
            (String = "text/csv", example = "index,value,count,std_error,ci95_low,ci95_high,consistent_count"),
        )),
        (status = 400, description = "Malformed, unknown or contradictory query parameters", body = ProblemView, content_type = "application/problem+json"),
        (status = 401, description = "No or unknown token", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "Fewer reports than the campaign's minimum, or an open domain (use the candidate query)", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn estimates(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<EstimatesQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    require(&state, &headers, Role::Analyst).await?;
    let Query(query) = query.map_err(|e| bad_query(e.body_text()))?;
    let config = state.campaign(&id).await?;
    let selection = epoch_selection(
        &config,
        query.epoch.as_deref(),
        query.from.as_deref(),
        query.to.as_deref(),
    )?;
    let (store, cfg, now) = (state.store.clone(), config.clone(), state.now());
    let answer = blocking(move || query::estimates(&*store, &cfg, now, selection)).await?;
    let estimates = answer.estimates;
    let chosen = match query.top {
        Some(top) => estimates.top(top),
        None => estimates.values,
    };
    let values: Vec<ValueView> = chosen
        .into_iter()
        .map(|v| ValueView::new(&config, &v))
        .collect();
    if Format::negotiate(query.format, &headers) == Format::Csv {
        return Ok(values_csv(&values));
    }
    Ok(Json(EstimatesView {
        campaign: id,
        mechanism: config.params().kind().name().to_owned(),
        epsilon: config.epsilon(),
        k: config.k(),
        n: estimates.n,
        epochs: EpochsView::new(answer.epochs, EpochTime::new(config.epoch_seconds())),
        min_reports: config.min_reports(),
        values,
        mean: answer.mean,
        shuffled: answer.central.into(),
    })
    .into_response())
}

impl ValueView {
    /// One value's estimate of `config`, labelled.
    pub(crate) fn new(config: &CampaignConfig, v: &ValueEstimate) -> Self {
        Self {
            index: v.index,
            value: config.label(v.index),
            count: v.count,
            std_error: v.std_error,
            ci95: [v.ci95_low, v.ci95_high],
            consistent_count: v.norm_sub_count,
        }
    }
}

/// The per-value estimates as CSV: the columns of [`ValueView`], the interval as two.
pub(crate) fn values_csv(values: &[ValueView]) -> Response {
    csv_response(
        &[
            "index",
            "value",
            "count",
            "std_error",
            "ci95_low",
            "ci95_high",
            "consistent_count",
        ],
        values.iter().map(|v| {
            vec![
                v.index.to_string(),
                v.value.clone(),
                v.count.to_string(),
                v.std_error.to_string(),
                v.ci95[0].to_string(),
                v.ci95[1].to_string(),
                v.consistent_count.to_string(),
            ]
        }),
    )
}

/// Which epochs a candidate query covers (query parameters, as for `GET …/estimates`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EpochsQuery {
    /// One epoch (same as `from=E&to=E`): an epoch number, an RFC 3339 date-time or an ISO
    /// 8601 date (every epoch of that UTC day).
    #[param(schema_with = epoch_schema)]
    pub epoch: Option<String>,
    /// First epoch, inclusive (default: the first with reports): an epoch number, a date or a
    /// date-time.
    #[param(schema_with = epoch_schema)]
    pub from: Option<String>,
    /// Last epoch, inclusive (default: the last with reports): an epoch number, a date or a
    /// date-time.
    #[param(schema_with = epoch_schema)]
    pub to: Option<String>,
}

/// The body of a candidate query.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"candidates": ["apple", "banana", "cherry"], "alpha": 0.05}))]
pub struct CandidateQuery {
    /// The strings to estimate: at least one, each 1 to 1,024 bytes, no duplicates, at most
    /// 100,000 (and within the request body limit).
    #[schema(schema_with = candidates_schema)]
    pub candidates: Vec<String>,
    /// Family-wise false-positive level of the detection test, in (0, 1) (default 0.05).
    #[serde(default)]
    #[schema(value_type = Option<f64>, exclusive_minimum = 0, exclusive_maximum = 1)]
    pub alpha: Option<Alpha>,
}

/// The schema of [`CandidateQuery::candidates`], with the bounds of
/// [`check_candidates`](crate::estimate::candidates::check_candidates). JSON Schema
/// counts a string's characters where the check counts its bytes, so a string of 1,024
/// characters that are not all ASCII fits the schema and is still refused.
fn candidates_schema() -> Array {
    let candidate = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_CANDIDATE_BYTES));
    ArrayBuilder::new()
        .items(candidate)
        .min_items(Some(1))
        .max_items(Some(MAX_CANDIDATES))
        .unique_items(true)
        .description(Some(
            "The strings to estimate: at least one, each 1 to 1,024 bytes, no duplicates, at \
             most 100,000 (and within the request body limit).",
        ))
        .build()
}

/// RAPPOR estimates for a list of candidates over a range of epochs.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CandidateEstimatesView {
    /// Campaign id.
    pub campaign: String,
    /// Mechanism name (`rappor`).
    pub mechanism: String,
    /// ε per report (ε₁, a device's first report).
    pub epsilon: f64,
    /// Domain size (0 for an open domain).
    pub k: u32,
    /// Reports counted in the epoch range.
    pub n: u64,
    /// The epochs covered (inclusive).
    pub epochs: EpochsView,
    /// Reports needed before estimates are released.
    pub min_reports: u64,
    /// Family-wise false-positive level of the detection test.
    pub alpha: f64,
    /// The one-sided z a candidate must exceed: Φ⁻¹(1 − α/M) for M candidates (Bonferroni).
    pub z_threshold: f64,
    /// Candidates detected.
    pub detected: usize,
    /// Share of the reports explained by detected candidates.
    pub explained_share: f64,
    /// One entry per candidate, in the order given.
    pub candidates: Vec<CandidateEstimate>,
}

/// RAPPOR: estimated counts of the candidate strings given, with standard errors, 95%
/// intervals and a detection test.
///
/// Candidates are decoded together (weighted least squares over all of them, or, beyond 1,000,
/// over those forward selection keeps), so a string's estimate depends on the others in the
/// list: list every string that may be common. A candidate is detected when its z exceeds Φ⁻¹(1 − α/M) for M
/// candidates, so the chance that any absent string is reported is at most α. The epochs are
/// chosen with the same query parameters as `GET …/estimates`, and the same `min_reports`
/// refusal applies.
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/estimates/query",
    params(("id" = String, Path, description = "Campaign id"), EpochsQuery),
    request_body(content = CandidateQuery, content_type = "application/json"),
    responses(
        (status = 200, description = "Estimates of the candidates", body = CandidateEstimatesView),
        (status = 400, description = "Malformed body or query parameters, an invalid candidate list, or alpha outside (0, 1)", body = ProblemView, content_type = "application/problem+json"),
        (status = 401, description = "No or unknown token", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "Fewer reports than the campaign's minimum, or not a campaign of a string mechanism (rappor, cms, hcms)", body = ProblemView, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemView, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn query_estimates(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<EpochsQuery>, QueryRejection>,
    body: Bytes,
) -> Result<Json<CandidateEstimatesView>, Problem> {
    require(&state, &headers, Role::Analyst).await?;
    let Query(query) = query.map_err(|e| bad_query(e.body_text()))?;
    require_content_type(&headers, "application/json", "the candidate query")?;
    let request: CandidateQuery = serde_json::from_slice(&body)
        .map_err(|e| bad_query(format!("the body is not a candidate query: {e}")))?;
    drop(body);
    let config = state.campaign(&id).await?;
    let selection = epoch_selection(
        &config,
        query.epoch.as_deref(),
        query.from.as_deref(),
        query.to.as_deref(),
    )?;
    // Decoding is CPU work proportional to candidates × cohorts × hashes: off the async workers.
    // If this request is dropped (the request timeout), the guard tells the decoder to stop.
    let cancel = CancelOnDrop(Arc::new(AtomicBool::new(false)));
    let flag = cancel.0.clone();
    let (store, cfg, now) = (state.store.clone(), config.clone(), state.now());
    let answer = blocking(move || {
        query::candidates(
            &*store,
            &cfg,
            now,
            selection,
            &request.candidates,
            request.alpha.unwrap_or_default(),
            &flag,
        )
    })
    .await?;
    let decoding = answer.decoding;
    Ok(Json(CandidateEstimatesView {
        campaign: id,
        mechanism: config.params().kind().name().to_owned(),
        epsilon: config.epsilon(),
        k: config.k(),
        n: decoding.n,
        epochs: EpochsView::new(answer.epochs, EpochTime::new(config.epoch_seconds())),
        min_reports: config.min_reports(),
        alpha: decoding.alpha,
        z_threshold: decoding.z_threshold,
        detected: decoding.detected,
        explained_share: decoding.explained_share,
        candidates: decoding.candidates,
    }))
}

/// Sets its flag when dropped: a blocking task watching the flag stops when the request that
/// started it is gone.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
