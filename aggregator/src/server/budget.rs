//! The memory budget for request bodies: a request with a body reserves its declared length
//! (or the body limit, when it declares none) before a byte of it is read, and gives the
//! reservation back with its response. When the budget is spent, the request waits briefly,
//! then gets 503 with `Retry-After`, its body unread — so a thousand clients sending slow
//! 1 MiB bodies hold the budget, not a gigabyte. Counter deltas waiting for a commit have their
//! own bound ([`super::ingest::DEFAULT_QUEUE_BYTES`]).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::AppState;
use super::problem::{Problem, ProblemType};

/// How long a request waits for its reservation before it is refused.
pub const BODY_WAIT: Duration = Duration::from_millis(200);

/// Bytes of request bodies that may be held at once, in KiB permits.
#[derive(Debug)]
pub struct BodyBudget {
    kib: Arc<Semaphore>,
    total_kib: u32,
}

impl BodyBudget {
    /// A budget of `bytes` (at least one KiB; at most 4 TiB).
    pub fn new(bytes: usize) -> Self {
        let total_kib = u32::try_from(bytes.div_ceil(1024).max(1)).unwrap_or(u32::MAX);
        Self {
            kib: Arc::new(Semaphore::new(total_kib as usize)),
            total_kib,
        }
    }

    /// Bytes reserved now.
    pub fn reserved(&self) -> u64 {
        let free = u32::try_from(self.kib.available_permits()).unwrap_or(self.total_kib);
        u64::from(self.total_kib.saturating_sub(free)) * 1024
    }
}

/// Reserves the request's body in the budget before the body is read; 503 if it cannot.
pub async fn reserve_body(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let limit = state.settings.body_limit;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let chunked = request.headers().contains_key(header::TRANSFER_ENCODING);
    let bytes = match declared {
        // Refused for its size before its body is read (413).
        Some(n) if n > limit => return next.run(request).await,
        Some(0) => return next.run(request).await,
        Some(n) => n,
        None if chunked => limit,
        // No body.
        None => return next.run(request).await,
    };
    let budget = &state.bodies;
    let kib = u32::try_from(bytes.div_ceil(1024).max(1))
        .unwrap_or(u32::MAX)
        .min(budget.total_kib);
    let reservation =
        tokio::time::timeout(BODY_WAIT, budget.kib.clone().acquire_many_owned(kib)).await;
    match reservation {
        Ok(Ok(permit)) => {
            let response = next.run(request).await;
            drop(permit);
            response
        }
        _ => {
            state.metrics.bodies_refused.inc();
            Problem::new(
                ProblemType::Unavailable,
                format!(
                    "the server holds as many request bodies as its memory budget allows \
                     ({} bytes, --body-memory); retry",
                    u64::from(budget.total_kib) * 1024
                ),
            )
            .retry_after(1)
            .into_response()
        }
    }
}
