//! `POST /v1/campaigns`, `GET /v1/campaigns`, `GET /v1/campaigns/{id}`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ldp_protocol::{CampaignConfig, CampaignSpec};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::auth::require;
use super::super::problem::{Problem, ProblemType};
use super::super::{AppState, blocking};
use super::{ProblemView, require_content_type};
use crate::query::current_epoch;
use crate::store::{Role, StoredCampaign};

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
    /// When the campaign was closed (Unix seconds): it accepts no reports since, and its
    /// estimates stay readable.
    pub closed_at: Option<u64>,
    /// Epochs of counters kept: the current one and the ones before it, up to this many
    /// (absent: every epoch).
    pub retention_epochs: Option<u64>,
}

impl CampaignView {
    /// The view of a stored campaign at the server's time now.
    pub(crate) fn new(state: &AppState, stored: StoredCampaign) -> Self {
        let StoredCampaign {
            config,
            created_at,
            closed_at,
            retention_epochs,
        } = stored;
        let now = state.now();
        let accepted = state.settings.accepted_epochs(now, config.epoch_seconds());
        Self {
            id: config.id().as_str().to_owned(),
            digest: format!("{:016x}", config.digest()),
            k: config.k(),
            report_bytes: config.params().report_bytes(),
            current_epoch: current_epoch(&config, now),
            accepted_epochs: [*accepted.start(), *accepted.end()],
            created_at,
            closed_at,
            retention_epochs,
            config,
        }
    }
}

/// Create a campaign.
#[utoipa::path(
    post,
    path = "/v1/campaigns",
    request_body(
        content = Object,
        content_type = "application/json",
        description = "A campaign configuration (CampaignSpec JSON); unknown fields are refused",
        example = json!({
            "id": "app-theme",
            "description": "The theme in use",
            "mechanism": "grr",
            "epsilon": 1.0,
            "domain": {"dictionary": {"values": ["light", "dark", "auto"]}}
        })
    ),
    responses(
        (status = 201, description = "Created", body = CampaignView),
        (status = 200, description = "The identical campaign already existed", body = CampaignView),
        (status = 400, description = "Invalid configuration, or an unknown field", body = ProblemView, content_type = "application/problem+json"),
        (status = 401, description = "No or unknown token", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "The id exists with another configuration", body = ProblemView, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemView, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create_campaign(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    require(&state, &headers, Role::Admin).await?;
    require_content_type(&headers, "application/json", "the configuration")?;
    let spec: CampaignSpec = serde_json::from_slice(&body)
        .map_err(|e| Problem::new(ProblemType::InvalidConfig, e.to_string()))?;
    let config = CampaignConfig::create(spec)?;
    let id = config.id().as_str().to_owned();
    let store = state.store.clone();
    let created_at = state.now();
    let stored = config.clone();
    let (created, existing) = blocking(move || {
        let created = store.create_campaign(&stored, created_at)?;
        let existing = store.campaign(stored.id().as_str())?;
        Ok::<_, crate::store::StoreError>((created, existing))
    })
    .await?;
    let stored = existing.unwrap_or(StoredCampaign {
        config,
        created_at,
        closed_at: None,
        retention_epochs: None,
    });
    tracing::info!(campaign = %id, created, "campaign created");
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = (status, Json(CampaignView::new(&state, stored))).into_response();
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
pub(crate) async fn list_campaigns(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<CampaignView>>, Problem> {
    let store = state.store.clone();
    let campaigns = blocking(move || store.campaigns()).await?;
    Ok(Json(
        campaigns
            .into_iter()
            .map(|c| CampaignView::new(&state, c))
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
pub(crate) async fn show_campaign(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, Problem> {
    let store = state.store.clone();
    let key = id.clone();
    let stored = blocking(move || store.campaign(&key))
        .await?
        .ok_or_else(|| Problem::new(ProblemType::UnknownCampaign, format!("no campaign {id:?}")))?;
    Ok(Json(CampaignView::new(&state, stored)))
}
