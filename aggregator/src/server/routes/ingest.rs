//! `POST /v1/campaigns/{id}/reports`: content type → campaign → [`crate::ingest`] → committer.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::ingest::SubmitError;
use super::super::problem::{Problem, ProblemType};
use super::super::{AppState, BATCH_CONTENT_TYPE};
use super::{ProblemView, require_content_type};
use crate::ingest;
use crate::store::{BatchDelta, CommitOutcome};

/// The answer to an accepted batch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IngestAnswer {
    /// `counted`, or `duplicate` when this batch id was counted before (nothing added).
    pub status: String,
    /// Reports in the batch.
    pub reports: usize,
    /// Reports of the batch left out as statistically impossible for an honest device (valid
    /// in form, but with a number of ones outside the honest range: `docs/threat-model.md`);
    /// the others were counted.
    pub implausible: u64,
}

/// The body of an upload: the bytes of one bincode-encoded `Batch` (`docs/wire-format.md`).
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct BatchBytes(pub Vec<u8>);

/// Upload one batch of reports.
///
/// Everything is validated before anything is counted; 202 is sent only after the batch's
/// counters are committed. A batch id seen before is answered 202 again and counted once when
/// the bytes are the same, 409 `batch-id-conflict` when they differ.
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/reports",
    params(("id" = String, Path, description = "Campaign id")),
    request_body(content = inline(BatchBytes), content_type = "application/x-ldp-batch", description = "One bincode-encoded Batch"),
    responses(
        (status = 202, description = "Committed (or a duplicate of a committed batch)", body = IngestAnswer),
        (status = 400, description = "Malformed batch, unsupported version, or campaign mismatch", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemView, content_type = "application/problem+json"),
        (status = 410, description = "The campaign is closed: it counts no more reports", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "Config digest mismatch (refetch the campaign), or the batch id was counted before with other content", body = ProblemView, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemView, content_type = "application/problem+json"),
        (status = 415, description = "Wrong content type", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "Epoch outside the window, invalid report, or batch size", body = ProblemView, content_type = "application/problem+json"),
        (status = 503, description = "Try again after Retry-After", body = ProblemView, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn post_reports(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    // Every outcome, refusals included, is counted by its reason and the batch's reports.
    let mut reports = 0;
    let result = ingest_batch(&state, &id, &headers, body, &mut reports).await;
    let outcome = match &result {
        Ok((CommitOutcome::Counted, _)) => "counted",
        Ok((CommitOutcome::Duplicate, _)) => "duplicate",
        Ok((CommitOutcome::Conflict, _)) => ProblemType::BatchIdConflict.slug(),
        Ok((CommitOutcome::Closed, _)) => ProblemType::CampaignClosed.slug(),
        Err(problem) => problem.kind.slug(),
    };
    let implausible = match &result {
        Ok((CommitOutcome::Counted, implausible)) => *implausible,
        _ => 0,
    };
    state
        .metrics
        .record_batch(outcome, reports, implausible as usize);
    let result = result.map(|(outcome, _)| outcome);
    if let Ok(CommitOutcome::Counted) = result {
        state.metrics.batch_reports.observe(reports as f64);
    }
    if let Ok(CommitOutcome::Conflict) = result {
        return Err(Problem::new(
            ProblemType::BatchIdConflict,
            "this batch id was counted before with other content; a retry must resend the \
             identical bytes, and a new batch needs a new random id",
        ));
    }
    result?;
    let answer = IngestAnswer {
        status: outcome.to_owned(),
        reports,
        implausible,
    };
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

/// Parses, checks and folds the batch, and waits for its commit; `reports` is set as soon as
/// the batch is decoded. Returns the commit's outcome and the reports left out as implausible.
async fn ingest_batch(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    body: Bytes,
    reports: &mut usize,
) -> Result<(CommitOutcome, u64), Problem> {
    require_content_type(headers, BATCH_CONTENT_TYPE, "the batch")?;
    let batch = ingest::decode(&body)?;
    let content = twox_hash::XxHash3_128::oneshot(&body).to_le_bytes();
    drop(body);
    *reports = batch.reports.len();
    let config = state.campaign(id).await?;
    let window = state
        .settings
        .accepted_epochs(state.now(), config.epoch_seconds());
    let delta = ingest::accept(&config, &batch, window, &state.settings.ingest_limits())?;
    drop(batch);
    let implausible = delta.cells.implausible();
    let delta = BatchDelta {
        campaign: id.to_owned(),
        digest: config.digest(),
        epoch: delta.epoch,
        batch_id: delta.batch_id,
        content,
        cells: delta.cells,
    };
    // A commit that takes too long is the server's problem, not the client's: answer 503
    // (retry the same bytes) before the request timeout would answer 408.
    let wait = state.settings.request_timeout.mul_f64(0.9);
    let outcome = tokio::time::timeout(wait, state.committer.submit(delta))
        .await
        .map_err(|_| SubmitError::Overloaded)??;
    if outcome == CommitOutcome::Closed {
        // Another node may still hold the campaign in its cache; this one forgets it.
        state.forget_campaign(id);
        return Err(Problem::new(
            ProblemType::CampaignClosed,
            format!(
                "campaign {id:?} is closed: it accepts no more reports (its estimates stay readable)"
            ),
        ));
    }
    Ok((outcome, implausible))
}
