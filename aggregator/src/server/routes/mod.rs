//! The routes: one module per area, each handler thin — parse the request, call the library
//! ([`crate::ingest`], [`crate::query`], the [`crate::store::Store`]), and answer; every
//! library error becomes a problem through [`super::errors`]. The OpenAPI document built
//! from these handlers is [`super::openapi::ApiDoc`].
//!
//! | route | auth | what |
//! |---|---|---|
//! | `POST /v1/campaigns` | admin | create a campaign from a JSON configuration |
//! | `GET /v1/campaigns`, `GET /v1/campaigns/{id}` | public | what a client needs to build its encoder |
//! | `POST /v1/campaigns/{id}/reports` | public | one bincode batch; 202 once committed |
//! | `GET /v1/campaigns/{id}/estimates` | analyst | counts with standard errors and intervals |
//! | `POST /v1/campaigns/{id}/estimates/query` | analyst | RAPPOR, CMS, HCMS: estimates and detection for a list of candidate strings |
//! | `GET /v1/campaigns/{id}/trending` | analyst | values whose share rose significantly |
//! | `GET /v1/advice` | admin | every frequency oracle for (k, ε, n) ranked, and the recommendation |
//! | `GET /healthz`, `/readyz`, `/metrics`, `/openapi.json` | public | operations |
//!
//! The two routes a device calls (`GET /v1/campaigns/{id}`, `POST /v1/campaigns/{id}/reports`)
//! answer cross-origin requests from any page, so that web apps can report; every other route
//! sends no CORS headers, so a browser keeps other origins' scripts away from them.
//!
//! The document states what the server reads: ranges where the server checks one, and `u64`
//! or `usize` query parameters as `uint64` up to 2^64 − 1 (utoipa's `int64` would stop at
//! 2^63 − 1). `scripts/schemathesis.sh` tests the running service against it.

pub mod campaigns;
pub mod estimates;
pub mod ingest;
pub mod lifecycle;
pub mod ops;
pub mod series;
pub mod trending;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{
    KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};

use axum::response::{IntoResponse, Response};
use ldp_protocol::CampaignConfig;

use super::AppState;
use super::problem::{Problem, ProblemType};
use crate::epoch_time::{Bound, Edge, EpochTime};
use crate::query::EpochSelection;
use crate::store::EpochRange;

/// Every route of the service.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/v1/campaigns",
            post(campaigns::create_campaign).get(campaigns::list_campaigns),
        )
        .merge(device_routes())
        .route("/v1/campaigns/{id}/estimates", get(estimates::estimates))
        .route(
            "/v1/campaigns/{id}/estimates/query",
            post(estimates::query_estimates),
        )
        .route(
            "/v1/campaigns/{id}/trending",
            get(trending::trending_values),
        )
        .route("/v1/campaigns/{id}/series", get(series::series))
        .route("/v1/campaigns/{id}/close", post(lifecycle::close_campaign))
        .route(
            "/v1/campaigns/{id}/retention",
            axum::routing::put(lifecycle::set_retention),
        )
        .route("/v1/advice", get(ops::advice))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/openapi.json", get(ops::openapi))
}

/// What devices call, open to pages of any origin: reading a campaign's configuration and
/// posting a batch (a preflight may ask for `POST` with a `Content-Type` header, nothing more;
/// the handler still refuses any media type but the batch's). No credentials are involved.
fn device_routes() -> Router<Arc<AppState>> {
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(86_400));
    Router::new()
        // DELETE needs an admin token, and no preflight allows it from another origin.
        .route(
            "/v1/campaigns/{id}",
            get(campaigns::show_campaign).delete(lifecycle::delete_campaign),
        )
        .route("/v1/campaigns/{id}/reports", post(ingest::post_reports))
        .layer(cors)
}

/// `/metrics`: with the other routes, or alone on its own address (`--metrics-listen`).
pub fn metrics_routes() -> Router<Arc<AppState>> {
    Router::new().route("/metrics", get(ops::metrics))
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

/// A range of epochs, both ends inclusive, and when it starts and ends (named `EpochRange` in
/// the OpenAPI document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = EpochRange)]
pub struct EpochsView {
    /// First epoch, inclusive.
    pub from: u64,
    /// Last epoch, inclusive.
    pub to: u64,
    /// When the first epoch starts, RFC 3339 UTC (null past year 9999).
    pub start: Option<String>,
    /// When the last epoch ends (exclusive), RFC 3339 UTC (null past year 9999).
    pub end: Option<String>,
}

impl EpochsView {
    /// `range` of a campaign whose epochs are `time`.
    pub fn new(range: EpochRange, time: EpochTime) -> Self {
        Self {
            from: range.from,
            to: range.to,
            start: time.start(range.from),
            end: time.end(range.to),
        }
    }
}

/// The schema of an epoch parameter (`epoch`, `from`, `to`): an epoch number (`uint64`), an
/// ISO 8601 date or an RFC 3339 date-time.
pub(super) fn epoch_schema() -> Schema {
    let number = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::Custom("uint64".into())))
        .minimum(Some(0_usize))
        .maximum(Some(usize::MAX));
    let date = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)));
    let date_time = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)));
    Schema::OneOf(
        OneOfBuilder::new()
            .item(number)
            .item(date)
            .item(date_time)
            .build(),
    )
}

/// Reads the epoch parameters of a question for `config`: each an epoch number, a date or a
/// date-time ([`crate::epoch_time`]). A date as `epoch` names every epoch of that day.
pub(crate) fn epoch_selection(
    config: &CampaignConfig,
    epoch: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<EpochSelection, Problem> {
    let time = EpochTime::new(config.epoch_seconds());
    let read = |name: &str, text: &str, edge: Edge| {
        text.parse::<Bound>()
            .and_then(|bound| time.epoch(bound, edge))
            .map_err(|e| bad_query(format!("{name}: {e}")))
    };
    let (from, to) = (
        from.map(|t| read("from", t, Edge::First)).transpose()?,
        to.map(|t| read("to", t, Edge::Last)).transpose()?,
    );
    let Some(epoch) = epoch else {
        return Ok(EpochSelection {
            epoch: None,
            from,
            to,
        });
    };
    let (first, last) = (
        read("epoch", epoch, Edge::First)?,
        read("epoch", epoch, Edge::Last)?,
    );
    if from.is_some() || to.is_some() || first == last {
        // One epoch (or both forms given, which the query refuses).
        return Ok(EpochSelection {
            epoch: Some(first),
            from,
            to,
        });
    }
    Ok(EpochSelection {
        epoch: None,
        from: Some(first),
        to: Some(last),
    })
}

/// The answer formats of the analyst questions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `application/json` (the default).
    #[default]
    Json,
    /// `text/csv`: one row per value, the JSON's per-value fields as columns (an interval as
    /// `NAME_low` and `NAME_high`).
    Csv,
}

impl Format {
    /// The format asked for: `format=` if given, else `text/csv` when the `Accept` header
    /// names it before (or without) JSON, else JSON.
    pub(super) fn negotiate(asked: Option<Self>, headers: &HeaderMap) -> Self {
        if let Some(format) = asked {
            return format;
        }
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let position = |media: &str| accept.to_ascii_lowercase().find(media);
        match (position("text/csv"), position("application/json")) {
            (Some(csv), Some(json)) if csv < json => Self::Csv,
            (Some(_), None) => Self::Csv,
            _ => Self::Json,
        }
    }
}

/// A `text/csv` answer: `header`, then one line per row, each field quoted when it holds a
/// comma, a quote or a line break (RFC 4180).
pub(crate) fn csv_response(
    header_row: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> Response {
    let mut body = header_row.join(",");
    body.push_str("\r\n");
    for row in rows {
        let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        body.push_str(&fields.join(","));
        body.push_str("\r\n");
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/csv; charset=utf-8; header=present",
        )],
        body,
    )
        .into_response()
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// Whether the request's `Content-Type` (without parameters) is `expected`.
fn content_type_is(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(expected))
}

/// The refusal of a request that does not carry `expected` as its content type.
fn require_content_type(headers: &HeaderMap, expected: &str, what: &str) -> Result<(), Problem> {
    if content_type_is(headers, expected) {
        Ok(())
    } else {
        Err(Problem::new(
            ProblemType::UnsupportedMediaType,
            format!("send {what} as {expected}"),
        ))
    }
}

/// An unreadable or out-of-range request.
fn bad_query(detail: impl Into<String>) -> Problem {
    Problem::new(ProblemType::InvalidRequest, detail)
}
