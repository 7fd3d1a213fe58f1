//! The routes, their request and response types, and the OpenAPI document built from them.
//!
//! | route | auth | what |
//! |---|---|---|
//! | `POST /v1/campaigns` | admin | create a campaign from a JSON configuration |
//! | `GET /v1/campaigns`, `GET /v1/campaigns/{id}` | public | what a client needs to build its encoder |
//! | `POST /v1/campaigns/{id}/reports` | public | one bincode batch; 202 once committed |
//! | `GET /v1/campaigns/{id}/estimates` | analyst | counts with standard errors and intervals |
//! | `POST /v1/campaigns/{id}/estimates/query` | analyst | RAPPOR, CMS, HCMS: estimates and detection for a list of candidate strings |
//! | `GET /v1/advice` | admin | every frequency oracle for (k, ε, n) ranked, and the recommendation |
//! | `GET /v1/campaigns/{id}/trending` | analyst | values whose share rose significantly |
//! | `GET /healthz`, `/readyz`, `/metrics`, `/openapi.json` | public | operations |

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ldp_protocol::{CampaignConfig, CampaignSpec, WireError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::auth::require;
use super::problem::{Problem, ProblemType};
use super::{AppState, BATCH_CONTENT_TYPE, blocking, store_problem};
use crate::Accumulator;
use crate::error::AggregateError;
use crate::estimate::candidates::{self, CandidateDecoding, CandidateEstimate};
use crate::estimate::numeric::MeanEstimate;
use crate::estimate::{Counters, Estimates};
use crate::store::{BatchDelta, CommitOutcome, EpochRange, Role};
use crate::trending::{DEFAULT_ALPHA, trending};

/// Every route of the service.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/campaigns", post(create_campaign).get(list_campaigns))
        .route("/v1/campaigns/{id}", get(show_campaign))
        .route("/v1/campaigns/{id}/reports", post(post_reports))
        .route("/v1/campaigns/{id}/estimates", get(estimates))
        .route("/v1/campaigns/{id}/estimates/query", post(query_estimates))
        .route("/v1/campaigns/{id}/trending", get(trending_values))
        .route("/v1/advice", get(advice))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
}

/// The OpenAPI 3.1 document of the service.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "ldp-aggregator",
        description = "Collects locally differentially private reports and answers with unbiased estimates and their uncertainty. Errors are application/problem+json (RFC 9457)."
    ),
    paths(
        create_campaign,
        list_campaigns,
        show_campaign,
        post_reports,
        estimates,
        query_estimates,
        trending_values,
        advice,
        healthz,
        readyz,
        metrics,
        openapi
    ),
    components(schemas(
        CampaignView,
        IngestAnswer,
        EstimatesView,
        ValueView,
        CandidateQuery,
        CandidateEstimatesView,
        CandidateEstimate,
        MeanEstimate,
        TrendingView,
        TrendView,
        AdviceView,
        AdvisedMechanism,
        EpochRange,
        ProblemView
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// An RFC 9457 problem (every 4xx and 5xx).
#[derive(Serialize, ToSchema)]
pub struct ProblemView {
    /// Stable URI of the reason; documented in `docs/problems.md`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Human summary of the reason.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What happened in this occurrence.
    pub detail: String,
}

/// A campaign as clients and operators see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CampaignView {
    /// Campaign id.
    pub id: String,
    /// The full configuration (feed it to `CampaignConfig`'s JSON form to build an encoder).
    #[schema(value_type = Object)]
    pub config: CampaignConfig,
    /// xxh3-64 digest of the configuration, 16 hex digits; every batch must carry it.
    pub digest: String,
    /// Domain size.
    pub k: u32,
    /// Bytes per encoded report.
    pub report_bytes: usize,
    /// The epoch of the server's clock now.
    pub current_epoch: u64,
    /// Epochs a batch may carry now (inclusive), clock-skew allowance included.
    pub accepted_epochs: [u64; 2],
    /// Creation time, Unix seconds.
    pub created_at: u64,
}

impl CampaignView {
    fn new(state: &AppState, config: CampaignConfig, created_at: u64) -> Self {
        let now = state.now();
        let accepted = state.settings.accepted_epochs(now, config.epoch_seconds());
        Self {
            id: config.id().as_str().to_owned(),
            digest: format!("{:016x}", config.digest()),
            k: config.k(),
            report_bytes: config.params().report_bytes(),
            current_epoch: now / config.epoch_seconds(),
            accepted_epochs: [*accepted.start(), *accepted.end()],
            created_at,
            config,
        }
    }
}

fn content_type_is(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(expected))
}

/// Create a campaign.
#[utoipa::path(
    post,
    path = "/v1/campaigns",
    request_body(content = Object, content_type = "application/json", description = "A campaign configuration (CampaignSpec JSON)"),
    responses(
        (status = 201, description = "Created", body = CampaignView),
        (status = 200, description = "The identical campaign already existed", body = CampaignView),
        (status = 400, description = "Invalid configuration", body = ProblemView, content_type = "application/problem+json"),
        (status = 401, description = "No or unknown token", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "The id exists with another configuration", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn create_campaign(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    require(&state, &headers, Role::Admin).await?;
    if !content_type_is(&headers, "application/json") {
        return Err(Problem::new(
            ProblemType::UnsupportedMediaType,
            "send the configuration as application/json",
        ));
    }
    let spec: CampaignSpec = serde_json::from_slice(&body)
        .map_err(|e| Problem::new(ProblemType::InvalidConfig, e.to_string()))?;
    let config = CampaignConfig::new(spec)
        .map_err(|e| Problem::new(ProblemType::InvalidConfig, e.to_string()))?;
    let store = state.store.clone();
    let created_at = state.now();
    let stored = config.clone();
    let created = blocking(move || store.create_campaign(&stored, created_at)).await?;
    let id = config.id().as_str().to_owned();
    let stored = {
        let store = state.store.clone();
        let id = id.clone();
        blocking(move || store.campaign(&id)).await?
    };
    let created_at = stored.map_or(created_at, |s| s.created_at);
    tracing::info!(campaign = %id, created, "campaign created");
    let view = CampaignView::new(&state, config, created_at);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = (status, Json(view)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/campaigns/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// List campaigns.
#[utoipa::path(
    get,
    path = "/v1/campaigns",
    responses((status = 200, description = "Every campaign", body = [CampaignView]))
)]
async fn list_campaigns(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<CampaignView>>, Problem> {
    let store = state.store.clone();
    let campaigns = blocking(move || store.campaigns()).await?;
    Ok(Json(
        campaigns
            .into_iter()
            .map(|c| CampaignView::new(&state, c.config, c.created_at))
            .collect(),
    ))
}

/// Show one campaign: what a client needs to build its encoder.
#[utoipa::path(
    get,
    path = "/v1/campaigns/{id}",
    params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign", body = CampaignView),
        (status = 404, description = "No such campaign", body = ProblemView, content_type = "application/problem+json"),
    )
)]
async fn show_campaign(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, Problem> {
    let store = state.store.clone();
    let key = id.clone();
    let stored = blocking(move || store.campaign(&key))
        .await?
        .ok_or_else(|| Problem::new(ProblemType::UnknownCampaign, format!("no campaign {id:?}")))?;
    Ok(Json(CampaignView::new(
        &state,
        stored.config,
        stored.created_at,
    )))
}

/// The answer to an accepted batch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IngestAnswer {
    /// `counted`, or `duplicate` when this batch id was counted before (nothing added).
    pub status: String,
    /// Reports in the batch.
    pub reports: usize,
}

fn reject(state: &AppState, problem: Problem, reports: usize) -> Problem {
    state.metrics.record_batch(problem.kind.slug(), reports);
    problem
}

/// Upload one batch of reports.
///
/// Everything is validated before anything is counted; 202 is sent only after the batch's
/// counters are committed. A batch id seen before is answered 202 again and counted once.
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/reports",
    params(("id" = String, Path, description = "Campaign id")),
    request_body(content = Vec<u8>, content_type = "application/x-ldp-batch", description = "One bincode-encoded Batch"),
    responses(
        (status = 202, description = "Committed (or a duplicate of a committed batch)", body = IngestAnswer),
        (status = 400, description = "Malformed batch, unsupported version, or campaign mismatch", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "Config digest mismatch: refetch the campaign", body = ProblemView, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemView, content_type = "application/problem+json"),
        (status = 415, description = "Wrong content type", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "Epoch outside the window, invalid report, or batch size", body = ProblemView, content_type = "application/problem+json"),
        (status = 503, description = "Try again after Retry-After", body = ProblemView, content_type = "application/problem+json"),
    )
)]
async fn post_reports(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    if !content_type_is(&headers, BATCH_CONTENT_TYPE) {
        return Err(reject(
            &state,
            Problem::new(
                ProblemType::UnsupportedMediaType,
                format!("send the batch as {BATCH_CONTENT_TYPE}"),
            ),
            0,
        ));
    }
    let batch = ldp_protocol::wire::decode_batch(&body).map_err(|e| {
        let kind = match e {
            WireError::UnsupportedVersion(_) => ProblemType::UnsupportedVersion,
            _ => ProblemType::MalformedBatch,
        };
        reject(&state, Problem::new(kind, e.to_string()), 0)
    })?;
    let reports = batch.reports.len();
    let config = state
        .campaign(&id)
        .await
        .map_err(|p| reject(&state, p, reports))?;
    if batch.campaign.as_str() != id {
        return Err(reject(
            &state,
            Problem::new(
                ProblemType::CampaignMismatch,
                format!(
                    "the batch is for campaign {:?}, posted to {id:?}",
                    batch.campaign.as_str()
                ),
            ),
            reports,
        ));
    }
    if batch.config_digest != config.digest() {
        return Err(reject(
            &state,
            Problem::new(
                ProblemType::DigestMismatch,
                format!(
                    "the batch carries config digest {:016x}; the campaign's is {:016x}: fetch the campaign again",
                    batch.config_digest,
                    config.digest()
                ),
            )
            .with("expected_digest", format!("{:016x}", config.digest())),
            reports,
        ));
    }
    let window = state
        .settings
        .accepted_epochs(state.now(), config.epoch_seconds());
    if !window.contains(&batch.epoch) {
        return Err(reject(
            &state,
            Problem::new(
                ProblemType::EpochOutOfWindow,
                format!(
                    "epoch {} is outside the accepted epochs {}..={}",
                    batch.epoch,
                    window.start(),
                    window.end()
                ),
            )
            .with("accepted_epochs", vec![*window.start(), *window.end()]),
            reports,
        ));
    }
    if reports == 0 || reports > state.settings.max_batch_reports {
        return Err(reject(
            &state,
            Problem::new(
                ProblemType::BatchSize,
                format!(
                    "a batch holds 1 to {} reports; this one has {reports}",
                    state.settings.max_batch_reports
                ),
            ),
            reports,
        ));
    }
    let mut counters = Counters::new(&config);
    counters.fold_all(&batch.reports).map_err(|e| {
        let problem = match &e {
            AggregateError::Report { index, .. } => {
                Problem::new(ProblemType::InvalidReport, e.to_string()).with("report", *index)
            }
            _ => Problem::new(ProblemType::InvalidReport, e.to_string()),
        };
        reject(&state, problem, reports)
    })?;
    let delta = BatchDelta {
        campaign: id,
        epoch: batch.epoch,
        batch_id: batch.batch_id,
        counters,
    };
    drop(batch);
    // A commit that takes too long is the server's problem, not the client's: answer 503
    // (retry the same bytes) before the request timeout would answer 408.
    let wait = state.settings.request_timeout.mul_f64(0.9);
    let submitted = match tokio::time::timeout(wait, state.committer.submit(delta)).await {
        Ok(result) => result,
        Err(_) => Err(super::ingest::SubmitError::Overloaded),
    };
    match submitted {
        Ok(outcome) => {
            let status = match outcome {
                CommitOutcome::Counted => "counted",
                CommitOutcome::Duplicate => "duplicate",
            };
            state.metrics.record_batch(status, reports);
            if outcome == CommitOutcome::Counted {
                state.metrics.batch_reports.observe(reports as f64);
            }
            Ok((
                StatusCode::ACCEPTED,
                Json(IngestAnswer {
                    status: status.to_owned(),
                    reports,
                }),
            )
                .into_response())
        }
        Err(super::ingest::SubmitError::Store(e)) => {
            Err(reject(&state, store_problem(&e), reports))
        }
        Err(e) => Err(reject(
            &state,
            Problem::new(ProblemType::Unavailable, e.to_string()).retry_after(1),
            reports,
        )),
    }
}

/// Which epochs to estimate over.
#[derive(Debug, Deserialize, IntoParams)]
pub struct EstimatesQuery {
    /// One epoch (same as `from=E&to=E`).
    pub epoch: Option<u64>,
    /// First epoch, inclusive (default: the first with reports).
    pub from: Option<u64>,
    /// Last epoch, inclusive (default: the last with reports).
    pub to: Option<u64>,
    /// Only the `top` values by estimated count, largest first (default: every value, in
    /// index order).
    pub top: Option<usize>,
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
    pub epochs: EpochRange,
    /// Reports needed before estimates are released.
    pub min_reports: u64,
    /// Per value estimates (empty for a numeric campaign).
    pub values: Vec<ValueView>,
    /// A numeric campaign's estimated mean (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<MeanEstimate>,
}

fn bad_query(detail: impl Into<String>) -> Problem {
    Problem::new(ProblemType::InvalidRequest, detail)
}

/// The path of the candidate query of campaign `id`.
fn query_path(id: &str) -> String {
    format!("/v1/campaigns/{id}/estimates/query")
}

/// The refusal of a question that needs the campaign's list of values when it has none.
fn candidates_required(id: &str, asked: &str) -> Problem {
    let path = query_path(id);
    Problem::new(
        ProblemType::CandidatesRequired,
        format!(
            "campaign {id:?} has an open domain: there is no list of values for {asked}; \
             POST the strings to estimate to {path} as {{\"candidates\": [\"…\", \"…\"]}}"
        ),
    )
    .with("query", path)
}

/// The epochs asked for: one `epoch`, or `from`/`to` defaulting to the first and last epochs
/// with reports (the current epoch when there are none, so a refusal names a sensible range).
async fn epoch_range(
    state: &AppState,
    config: &CampaignConfig,
    epoch: Option<u64>,
    from: Option<u64>,
    to: Option<u64>,
) -> Result<EpochRange, Problem> {
    let (from, to) = match (epoch, from, to) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(bad_query("give either epoch or from/to, not both"));
        }
        (Some(e), None, None) => (e, e),
        (None, Some(from), Some(to)) => (from, to),
        (None, from, to) => {
            let stored = {
                let store = state.store.clone();
                let id = config.id().as_str().to_owned();
                blocking(move || store.epoch_range(&id)).await?
            };
            let current = state.now() / config.epoch_seconds();
            (
                from.or(stored.map(|r| r.from)).unwrap_or(current),
                to.or(stored.map(|r| r.to)).unwrap_or(current),
            )
        }
    };
    if from > to {
        return Err(bad_query(format!("from ({from}) is after to ({to})")));
    }
    Ok(EpochRange { from, to })
}

/// Reads and merges the counters of `range`; refuses when fewer than the minimum were counted.
async fn merged_counters(
    state: &AppState,
    config: &Arc<CampaignConfig>,
    range: EpochRange,
) -> Result<Counters, Problem> {
    let store = state.store.clone();
    let cfg = config.clone();
    let rows = blocking(move || store.counters(&cfg, range.from, range.to)).await?;
    let mut merged = Counters::new(config);
    for (_, counters) in &rows {
        merged.merge(counters).map_err(|e| {
            tracing::error!(error = %e, "stored counters do not merge");
            Problem::new(ProblemType::Internal, "stored counters are inconsistent")
        })?;
    }
    let n = merged.n();
    if n < config.min_reports() {
        return Err(Problem::new(
            ProblemType::NotEnoughReports,
            format!(
                "{n} reports counted in epochs {}..={}; estimates are released from {} on ({} more needed)",
                range.from,
                range.to,
                config.min_reports(),
                config.min_reports() - n
            ),
        )
        .with("n", n)
        .with("min_reports", config.min_reports())
        .with("needed", config.min_reports() - n));
    }
    Ok(merged)
}

/// [`merged_counters`], estimated.
async fn merged_estimates(
    state: &AppState,
    config: &Arc<CampaignConfig>,
    range: EpochRange,
) -> Result<Estimates, Problem> {
    merged_counters(state, config, range)
        .await?
        .estimate()
        .map_err(|e| Problem::new(ProblemType::CandidatesRequired, e.to_string()))
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
        (status = 200, description = "Estimates", body = EstimatesView),
        (status = 400, description = "Malformed or contradictory query parameters", body = ProblemView, content_type = "application/problem+json"),
        (status = 401, description = "No or unknown token", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "Fewer reports than the campaign's minimum, or an open domain (use the candidate query)", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn estimates(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<EstimatesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<EstimatesView>, Problem> {
    require(&state, &headers, Role::Analyst).await?;
    let Query(query) = query.map_err(|e| bad_query(e.body_text()))?;
    let config = state.campaign(&id).await?;
    if config.is_open() {
        return Err(candidates_required(&id, "GET …/estimates"));
    }
    let range = epoch_range(&state, &config, query.epoch, query.from, query.to).await?;
    let counters = merged_counters(&state, &config, range).await?;
    let mean = config
        .numeric_range()
        .and_then(|(lo, hi)| counters.mean(lo, hi).ok());
    let estimates = counters
        .estimate()
        .map_err(|e| Problem::new(ProblemType::CandidatesRequired, e.to_string()))?;
    let chosen = match query.top {
        Some(top) => estimates.top(top),
        None => estimates.values.clone(),
    };
    Ok(Json(EstimatesView {
        campaign: id,
        mechanism: config.params().kind().name().to_owned(),
        epsilon: config.epsilon(),
        k: config.k(),
        n: estimates.n,
        epochs: range,
        min_reports: config.min_reports(),
        values: chosen
            .into_iter()
            .map(|v| ValueView {
                index: v.index,
                value: config.label(v.index),
                count: v.count,
                std_error: v.std_error,
                ci95: [v.ci95_low, v.ci95_high],
                consistent_count: v.norm_sub_count,
            })
            .collect(),
        mean,
    }))
}

/// The refusal of a question about values asked of a numeric campaign.
fn numeric_campaign(id: &str, asked: &str) -> Problem {
    Problem::new(
        ProblemType::NumericCampaign,
        format!(
            "campaign {id:?} estimates the mean of a number: there are no values for {asked}; \
             GET /v1/campaigns/{id}/estimates gives the mean"
        ),
    )
}

/// Which epochs a candidate query covers (query parameters, as for `GET …/estimates`).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EpochsQuery {
    /// One epoch (same as `from=E&to=E`).
    pub epoch: Option<u64>,
    /// First epoch, inclusive (default: the first with reports).
    pub from: Option<u64>,
    /// Last epoch, inclusive (default: the last with reports).
    pub to: Option<u64>,
}

/// The body of a candidate query.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CandidateQuery {
    /// The strings to estimate: at least one, each 1 to 1,024 bytes, no duplicates, at most
    /// 100,000 (and within the request body limit).
    pub candidates: Vec<String>,
    /// Family-wise false-positive level of the detection test, in (0, 1) (default 0.05).
    #[serde(default)]
    pub alpha: Option<f64>,
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
    pub epochs: EpochRange,
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
async fn query_estimates(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<EpochsQuery>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> Result<Json<CandidateEstimatesView>, Problem> {
    require(&state, &headers, Role::Analyst).await?;
    let Query(query) = query.map_err(|e| bad_query(e.body_text()))?;
    if !content_type_is(&headers, "application/json") {
        return Err(Problem::new(
            ProblemType::UnsupportedMediaType,
            "send the candidate query as application/json",
        ));
    }
    let request: CandidateQuery = serde_json::from_slice(&body)
        .map_err(|e| bad_query(format!("the body is not a candidate query: {e}")))?;
    drop(body);
    let config = state.campaign(&id).await?;
    if config.params().kind().is_numeric() {
        return Err(numeric_campaign(&id, "a candidate query"));
    }
    if !config.params().kind().takes_candidates() {
        let kind = config.params().kind().name();
        return Err(Problem::new(
            ProblemType::CandidatesUnsupported,
            format!(
                "campaign {id:?} uses {kind}, which estimates every value of its domain: \
                 GET /v1/campaigns/{id}/estimates; candidate lists are for rappor, cms and \
                 hcms campaigns"
            ),
        )
        .with("mechanism", kind));
    }
    if request.candidates.is_empty() {
        return Err(bad_query("give at least one candidate"));
    }
    candidates::check_candidates(&request.candidates).map_err(|e| bad_query(e.to_string()))?;
    let alpha = request.alpha.unwrap_or(candidates::DEFAULT_ALPHA);
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(bad_query(format!("alpha must be in (0, 1); got {alpha}")));
    }
    let range = epoch_range(&state, &config, query.epoch, query.from, query.to).await?;
    let counters = merged_counters(&state, &config, range).await?;
    let candidates = request.candidates;
    // Decoding is CPU work proportional to candidates × cohorts × hashes: off the async workers.
    // If this request is dropped (the request timeout), the guard tells the decoder to stop.
    let cancel = CancelOnDrop(Arc::new(AtomicBool::new(false)));
    let flag = cancel.0.clone();
    let decoded =
        tokio::task::spawn_blocking(move || counters.decode_cancellable(&candidates, alpha, &flag))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "candidate decoding failed");
                Problem::new(ProblemType::Internal, "decoding the candidates failed")
            })?;
    let decoding: CandidateDecoding = decoded.map_err(|e| match e {
        AggregateError::InvalidArgument(_) => bad_query(e.to_string()),
        _ => {
            tracing::error!(error = %e, "candidate decoding failed");
            Problem::new(ProblemType::Internal, "decoding the candidates failed")
        }
    })?;
    Ok(Json(CandidateEstimatesView {
        campaign: id,
        mechanism: config.params().kind().name().to_owned(),
        epsilon: config.epsilon(),
        k: config.k(),
        n: decoding.n,
        epochs: range,
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

/// The trending question.
#[derive(Debug, Deserialize, IntoParams)]
pub struct TrendingQuery {
    /// Baseline length in epochs before the latest (default 7).
    pub baseline: Option<u64>,
    /// At most this many rising values (default 10).
    pub top: Option<usize>,
    /// The latest epoch (default: the latest complete one, i.e. the current epoch − 1).
    pub epoch: Option<u64>,
    /// Family-wise false-positive level (default 0.05).
    pub alpha: Option<f64>,
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
    /// The baseline epochs (inclusive).
    pub baseline: EpochRange,
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
/// the mechanism's formula, at family-wise level `alpha` (Bonferroni over the k values).
#[utoipa::path(
    get,
    path = "/v1/campaigns/{id}/trending",
    params(("id" = String, Path, description = "Campaign id"), TrendingQuery),
    responses(
        (status = 200, description = "Rising values", body = TrendingView),
        (status = 401, description = "No or unknown token", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "Fewer reports than the campaign's minimum in either period, or an open domain (no values to test)", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn trending_values(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<TrendingQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<TrendingView>, Problem> {
    require(&state, &headers, Role::Analyst).await?;
    let Query(query) = query.map_err(|e| bad_query(e.body_text()))?;
    let config = state.campaign(&id).await?;
    if config.is_open() {
        return Err(candidates_required(&id, "GET …/trending"));
    }
    if config.params().kind().is_numeric() {
        return Err(numeric_campaign(&id, "GET …/trending"));
    }
    let baseline = query.baseline.unwrap_or(7);
    if !(1..=366).contains(&baseline) {
        return Err(bad_query("baseline must be 1 to 366 epochs"));
    }
    let alpha = query.alpha.unwrap_or(DEFAULT_ALPHA);
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(bad_query("alpha must be in (0, 1)"));
    }
    let latest = match query.epoch {
        Some(e) => e,
        None => (state.now() / config.epoch_seconds()).saturating_sub(1),
    };
    if latest < baseline {
        return Err(bad_query(format!(
            "epoch {latest} has fewer than {baseline} epochs before it"
        )));
    }
    let base = EpochRange {
        from: latest - baseline,
        to: latest - 1,
    };
    let now = merged_estimates(
        &state,
        &config,
        EpochRange {
            from: latest,
            to: latest,
        },
    )
    .await?;
    let before = merged_estimates(&state, &config, base).await?;
    let report = trending(&now, &before, alpha)
        .map_err(|e| Problem::new(ProblemType::InvalidRequest, e.to_string()))?;
    let top = query.top.unwrap_or(10);
    Ok(Json(TrendingView {
        campaign: id,
        epoch: latest,
        baseline: base,
        alpha: report.alpha,
        tested: report.tested,
        z_threshold: report.z_threshold,
        n_now: report.n_now,
        n_baseline: report.n_baseline,
        rising: report
            .rising
            .into_iter()
            .take(top)
            .map(|t| TrendView {
                index: t.index,
                value: config.label(t.index),
                share_now: t.share_now,
                share_now_ci95: t.share_now_ci95,
                share_baseline: t.share_baseline,
                share_baseline_ci95: t.share_baseline_ci95,
                z: t.z,
            })
            .collect(),
    }))
}

/// The question to the advisor.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AdviceQuery {
    /// Domain size (2 to 2^32 − 1).
    pub k: u32,
    /// ε per report.
    pub epsilon: f64,
    /// Expected reports per estimate (default 1,000,000; sets the standard errors' scale).
    pub n: Option<u64>,
    /// Largest acceptable report, in bytes.
    pub max_report_bytes: Option<usize>,
}

/// Every frequency oracle for the question, best first, and the recommendation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdviceView {
    /// The first-ranked mechanism, ready for a campaign's `"mechanism"` field.
    #[schema(value_type = Object)]
    pub recommended: serde_json::Value,
    /// Why, in one sentence.
    pub reason: String,
    /// Every mechanism that accepts (k, ε), best first.
    pub ranked: Vec<AdvisedMechanism>,
}

/// One mechanism's predicted cost.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdvisedMechanism {
    /// The mechanism with its parameters resolved for (k, ε).
    #[schema(value_type = Object)]
    pub mechanism: serde_json::Value,
    /// Predicted standard error of a count whose true value is n/k.
    pub std_error: f64,
    /// Bytes per encoded report.
    pub report_bytes: usize,
    /// Collector work, in words.
    pub server_cost: String,
    /// Whether the report fits `max_report_bytes`.
    pub fits: bool,
}

/// Which frequency oracle to use for k values at ε: ranked by predicted standard error, then
/// report size, then server cost (the `ldp_protocol::advisor` library, as `ldp-sim advise`).
#[utoipa::path(
    get,
    path = "/v1/advice",
    params(AdviceQuery),
    responses(
        (status = 200, description = "The ranking and the recommendation", body = AdviceView),
        (status = 400, description = "k or ε out of range", body = ProblemView, content_type = "application/problem+json"),
        (status = 401, description = "No or unknown token", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn advice(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<AdviceQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AdviceView>, Problem> {
    require(&state, &headers, Role::Admin).await?;
    let Query(query) = query.map_err(|e| bad_query(e.body_text()))?;
    let n = query.n.unwrap_or(1_000_000).max(1);
    let ranked = ldp_protocol::advisor::rank(query.k, n, query.epsilon, query.max_report_bytes)
        .map_err(|e| bad_query(e.to_string()))?;
    let (best, reason) = ldp_protocol::advisor::recommend(&ranked, query.k, query.epsilon)
        .ok_or_else(|| bad_query("no mechanism accepts this domain"))?;
    let json = |m: &ldp_protocol::Mechanism| serde_json::to_value(m).unwrap_or_default();
    Ok(Json(AdviceView {
        recommended: json(&best.mechanism),
        reason,
        ranked: ranked
            .iter()
            .map(|a| AdvisedMechanism {
                mechanism: json(&a.mechanism),
                std_error: a.std_error,
                report_bytes: a.report_bytes,
                server_cost: a.server_cost.to_owned(),
                fits: a.fits,
            })
            .collect(),
    }))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Alive")))]
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database answers.
#[utoipa::path(
    get,
    path = "/readyz",
    responses(
        (status = 200, description = "Ready"),
        (status = 503, description = "The database is unavailable", body = ProblemView, content_type = "application/problem+json"),
    )
)]
async fn readyz(State(state): State<Arc<AppState>>) -> Result<&'static str, Problem> {
    let store = state.store.clone();
    blocking(move || store.ping()).await?;
    Ok("ready\n")
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "OpenAPI 3.1 document")))]
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
