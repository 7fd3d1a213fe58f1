//! A campaign's end: `POST /v1/campaigns/{id}/close`, `DELETE /v1/campaigns/{id}?confirm=ID`
//! and `PUT /v1/campaigns/{id}/retention` (admin). Each is checked by every commit in the
//! store's transaction, so a batch checked before the change is counted before it or refused
//! after it, on every node.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::super::auth::require;
use super::super::problem::{Problem, ProblemType};
use super::super::{AppState, apply_retention, blocking};
use super::campaigns::CampaignView;
use super::{ProblemView, bad_query, require_content_type};
use crate::store::{Role, StoreError};

/// Most epochs a retention setting may name (a day's epochs for a thousand years).
pub const MAX_RETENTION_EPOCHS: u64 = 365_000;

fn unknown(id: &str) -> Problem {
    Problem::new(ProblemType::UnknownCampaign, format!("no campaign {id:?}"))
}

/// The campaign `id` as stored now.
async fn view(state: &Arc<AppState>, id: &str) -> Result<Json<CampaignView>, Problem> {
    let store = state.store.clone();
    let key = id.to_owned();
    let stored = blocking(move || store.campaign(&key))
        .await?
        .ok_or_else(|| unknown(id))?;
    Ok(Json(CampaignView::new(state, stored)))
}

/// Close a campaign: it stops accepting reports (`410 campaign-closed`) and stays readable.
/// Closing a closed campaign changes nothing.
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/close",
    params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign, closed", body = CampaignView),
        (status = 401, description = "No or unknown token", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn close_campaign(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<CampaignView>, Problem> {
    require(&state, &headers, Role::Admin).await?;
    let (store, key, now) = (state.store.clone(), id.clone(), state.now());
    if !blocking(move || store.close_campaign(&key, now)).await? {
        return Err(unknown(&id));
    }
    state.forget_campaign(&id);
    tracing::info!(campaign = %id, "campaign closed");
    view(&state, &id).await
}

/// The confirmation a deletion needs.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeleteQuery {
    /// The campaign's id again: deletion cannot be undone.
    #[param(required = true)]
    pub confirm: Option<String>,
}

/// Delete a campaign with all its counters and batch ids. Cannot be undone: `confirm` must
/// repeat the id. The id may then be used for a new campaign.
#[utoipa::path(
    delete,
    path = "/v1/campaigns/{id}",
    params(("id" = String, Path, description = "Campaign id"), DeleteQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Unknown query parameters", body = ProblemView, content_type = "application/problem+json"),
        (status = 401, description = "No or unknown token", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`confirm` missing or not the id", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn delete_campaign(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<DeleteQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    require(&state, &headers, Role::Admin).await?;
    let Query(query) = query.map_err(|e| bad_query(e.body_text()))?;
    if query.confirm.as_deref() != Some(id.as_str()) {
        return Err(Problem::new(
            ProblemType::ConfirmationRequired,
            format!(
                "deleting campaign {id:?} removes every counter it has and cannot be undone: \
                 repeat its id as ?confirm={id}"
            ),
        ));
    }
    let (store, key) = (state.store.clone(), id.clone());
    if !blocking(move || store.delete_campaign(&key)).await? {
        return Err(unknown(&id));
    }
    state.forget_campaign(&id);
    tracing::info!(campaign = %id, "campaign deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// How many epochs of counters a campaign keeps.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"epochs": 90}))]
pub struct Retention {
    /// Epochs kept: the current one and the ones before it, up to this many; older counters
    /// are deleted now and as epochs pass. `null` keeps every epoch. (Read as a JSON number,
    /// so `90.0` is 90, as JSON Schema's `integer` allows.)
    #[schema(value_type = Option<u64>, minimum = 1, maximum = 365_000)]
    pub epochs: Option<f64>,
}

impl Retention {
    /// The epochs kept, checked: a whole number from 1 to [`MAX_RETENTION_EPOCHS`], or `None`.
    fn epochs(&self) -> Result<Option<u64>, Problem> {
        let Some(epochs) = self.epochs else {
            return Ok(None);
        };
        if epochs.fract() == 0.0 && (1.0..=MAX_RETENTION_EPOCHS as f64).contains(&epochs) {
            Ok(Some(epochs as u64))
        } else {
            Err(bad_query(format!(
                "epochs must be a whole number from 1 to {MAX_RETENTION_EPOCHS}, or null to keep \
                 every epoch"
            )))
        }
    }
}

/// Set a campaign's retention: counters older than the last `epochs` epochs are deleted now,
/// and every ten minutes as epochs pass.
#[utoipa::path(
    put,
    path = "/v1/campaigns/{id}/retention",
    params(("id" = String, Path, description = "Campaign id")),
    request_body(content = Retention, content_type = "application/json"),
    responses(
        (status = 200, description = "The campaign with its retention", body = CampaignView),
        (status = 400, description = "Not a retention setting, or epochs out of range", body = ProblemView, content_type = "application/problem+json"),
        (status = 401, description = "No or unknown token", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemView, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn set_retention(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<CampaignView>, Problem> {
    require(&state, &headers, Role::Admin).await?;
    require_content_type(&headers, "application/json", "the retention setting")?;
    let retention: Retention = serde_json::from_slice(&body)
        .map_err(|e| bad_query(format!("the body is not a retention setting: {e}")))?;
    let epochs = retention.epochs()?;
    let (store, key, now) = (state.store.clone(), id.clone(), state.now());
    let found = blocking(move || {
        if !store.set_retention(&key, epochs)? {
            return Ok(false);
        }
        apply_retention(&*store, now)?;
        Ok::<_, StoreError>(true)
    })
    .await?;
    if !found {
        return Err(unknown(&id));
    }
    tracing::info!(campaign = %id, epochs = ?epochs, "retention set");
    view(&state, &id).await
}
