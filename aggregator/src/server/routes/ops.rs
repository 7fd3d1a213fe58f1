//! `GET /v1/advice` and the operational routes: `/healthz`, `/readyz`, `/metrics`,
//! `/openapi.json`.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::super::auth::require;
use super::super::openapi::ApiDoc;
use super::super::problem::{Problem, ProblemType};
use super::super::{AppState, blocking};
use super::{ProblemView, bad_query};
use crate::store::Role;
use ldp_protocol::Epsilon;

/// The question to the advisor.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AdviceQuery {
    /// Domain size, 2 to 1,048,576 (2^20, the largest any frequency oracle accepts).
    #[param(minimum = 2, maximum = 1_048_576)]
    pub k: u32,
    /// ε per report, in (0, 20].
    #[param(value_type = f64, exclusive_minimum = 0, maximum = 20)]
    pub epsilon: Epsilon,
    /// Expected reports per estimate (default 1,000,000; sets the standard errors' scale).
    #[param(format = "uint64", maximum = 18_446_744_073_709_551_615_u64)]
    pub n: Option<u64>,
    /// Largest acceptable report, in bytes.
    #[param(format = "uint64", maximum = 18_446_744_073_709_551_615_u64)]
    pub max_report_bytes: Option<usize>,
}

/// Every frequency oracle for the question, best first, and the recommendation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdviceView {
    /// The first-ranked mechanism, ready for a campaign's `"mechanism"` field.
    #[schema(schema_with = mechanism_schema)]
    pub recommended: serde_json::Value,
    /// Why, in one sentence.
    pub reason: String,
    /// Present when k is far beyond what n reports at ε can resolve: what to expect and
    /// what to change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// Every mechanism that accepts (k, ε), best first.
    pub ranked: Vec<AdvisedMechanism>,
}

/// One mechanism's predicted cost.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdvisedMechanism {
    /// The mechanism with its parameters resolved for (k, ε).
    #[schema(schema_with = mechanism_schema)]
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

/// The schema of a mechanism as a campaign's `"mechanism"` field takes it: the name alone
/// when it has no parameters (`"grr"`), otherwise an object whose one key is the name
/// (`{"olh": {"g": 4, "seed_pool": null}}`).
fn mechanism_schema() -> Schema {
    let with_parameters = ObjectBuilder::new()
        .schema_type(Type::Object)
        .min_properties(Some(1))
        .max_properties(Some(1));
    let one_of = OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(with_parameters)
        .description(Some(
            "A mechanism, as a campaign's `mechanism` field takes it: its name alone when it has \
             no parameters (`\"grr\"`), otherwise an object with the name as its one key and the \
             parameters as its value (`{\"olh\": {\"g\": 4, \"seed_pool\": null}}`).",
        ))
        .build();
    Schema::OneOf(one_of)
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
pub(crate) async fn advice(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<AdviceQuery>, QueryRejection>,
) -> Result<Json<AdviceView>, Problem> {
    require(&state, &headers, Role::Admin).await?;
    let Query(query) = query.map_err(|e| bad_query(e.body_text()))?;
    let n = query.n.unwrap_or(1_000_000).max(1);
    let ranked = ldp_protocol::advisor::rank(query.k, n, query.epsilon, query.max_report_bytes)
        .map_err(|e| bad_query(e.to_string()))?;
    let (best, reason) = ldp_protocol::advisor::recommend(&ranked, query.k, query.epsilon)
        .ok_or_else(|| bad_query("no mechanism accepts this domain"))?;
    let warning = ldp_protocol::advisor::resolution_warning(&best, query.k, n);
    let json = |m: &ldp_protocol::Mechanism| serde_json::to_value(m).unwrap_or_default();
    Ok(Json(AdviceView {
        recommended: json(&best.mechanism),
        reason,
        warning,
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
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database answers, and its last commit (or the committer's probe, made while
/// it is idle) succeeded — an unwritable database makes this 503 within about a second.
#[utoipa::path(
    get,
    path = "/readyz",
    responses(
        (status = 200, description = "Ready"),
        (status = 503, description = "The database is unavailable or cannot commit", body = ProblemView, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn readyz(State(state): State<Arc<AppState>>) -> Result<&'static str, Problem> {
    if !state.metrics.health.writable() {
        return Err(Problem::new(
            ProblemType::Unavailable,
            "the database cannot commit; this node takes no uploads until it can",
        )
        .retry_after(1));
    }
    let store = state.store.clone();
    blocking(move || store.ping()).await?;
    Ok("ready\n")
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "OpenMetrics text format", content_type = "application/openmetrics-text")))]
pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
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
pub(crate) async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
