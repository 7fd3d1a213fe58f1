//! The HTTP service: campaigns, batch ingest with group commit, estimates, trending, health,
//! metrics and the OpenAPI document.
//!
//! [`serve`] runs the service on a bound listener until a shutdown signal; [`router`] builds the
//! axum router alone (handy for in-process tests). The routes and their contracts are in
//! [`routes`], the OpenAPI document in [`openapi`]; every error is a [`problem::Problem`],
//! mapped from the library's errors in [`errors`]. Handlers only parse, call the library
//! ([`crate::ingest`], [`crate::query`]) and answer.

pub mod auth;
pub mod budget;
pub mod dashboard;
pub mod errors;
pub mod health;
pub mod housekeeping;
pub mod ingest;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod routes;

pub use housekeeping::{apply_retention, expire_batch_ids};

use std::collections::HashMap;
use std::future::Future;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use ldp_protocol::CampaignConfig;

use self::ingest::Committer;
use self::metrics::{Metrics, RequestLabels};
use self::problem::{PROBLEM_JSON, Problem, ProblemType};
use crate::store::Store;

/// Media type of a batch upload.
pub const BATCH_CONTENT_TYPE: &str = "application/x-ldp-batch";

/// Service settings (the `serve` flags).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest request body accepted on any route (413 above).
    pub body_limit: usize,
    /// Longest a request may take before it is answered 408.
    pub request_timeout: Duration,
    /// Longest a client may take to send a request's headers (the connection is closed).
    pub header_timeout: Duration,
    /// How long the group committer collects batches before one transaction.
    pub commit_window: Duration,
    /// Batches that may wait for a commit before ingest answers 503.
    pub queue_capacity: usize,
    /// Allowed difference between a device's clock and the server's, in seconds.
    pub clock_skew_seconds: u64,
    /// Whole epochs before the current one that are still accepted (late uploads).
    pub late_epochs: u64,
    /// Most reports in one batch.
    pub max_batch_reports: usize,
    /// Longest a graceful shutdown waits for open requests.
    pub shutdown_grace: Duration,
    /// Bytes of request bodies held at once ([`budget`]).
    pub body_memory: usize,
    /// Most connections open at once; beyond it the listener stops accepting until one closes.
    pub max_connections: usize,
    /// `/metrics` is served on its own address ([`metrics_router`]), not with the API.
    pub metrics_apart: bool,
    /// Mark dashboard session cookies `Secure` (set it when a TLS proxy fronts the service;
    /// requests with `X-Forwarded-Proto: https` get `Secure` cookies either way).
    pub secure_cookies: bool,
}

/// The defaults of [`Settings`] and of the `serve` flags, defined once.
pub mod defaults {
    /// Address `serve` listens on.
    pub const LISTEN: &str = "127.0.0.1:8080";
    /// Largest request body, in bytes.
    pub const BODY_LIMIT: usize = 1 << 20;
    /// Request timeout, in milliseconds.
    pub const REQUEST_TIMEOUT_MS: u64 = 30_000;
    /// Header timeout, in milliseconds.
    pub const HEADER_TIMEOUT_MS: u64 = 10_000;
    /// Group-commit window, in milliseconds.
    pub const COMMIT_WINDOW_MS: u64 = 2;
    /// Batches that may wait for a commit.
    pub const QUEUE_CAPACITY: usize = 16_384;
    /// Allowed clock difference between devices and the server, in seconds.
    pub const CLOCK_SKEW_SECONDS: u64 = 300;
    /// Whole epochs before the current one still accepted.
    pub const LATE_EPOCHS: u64 = 1;
    /// Most reports in one batch.
    pub const MAX_BATCH_REPORTS: usize = crate::ingest::DEFAULT_MAX_BATCH_REPORTS;
    /// Longest a graceful shutdown waits, in milliseconds.
    pub const SHUTDOWN_GRACE_MS: u64 = 30_000;
    /// Bytes of request bodies held at once: 64 maximal batches, or about 500 typical ones.
    pub const BODY_MEMORY: usize = 64 << 20;
    /// Most connections open at once (each costs a file descriptor and up to 64 KiB of
    /// buffers; raise the process's descriptor limit with it).
    pub const MAX_CONNECTIONS: usize = 4096;
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            body_limit: defaults::BODY_LIMIT,
            request_timeout: Duration::from_millis(defaults::REQUEST_TIMEOUT_MS),
            header_timeout: Duration::from_millis(defaults::HEADER_TIMEOUT_MS),
            commit_window: Duration::from_millis(defaults::COMMIT_WINDOW_MS),
            queue_capacity: defaults::QUEUE_CAPACITY,
            clock_skew_seconds: defaults::CLOCK_SKEW_SECONDS,
            late_epochs: defaults::LATE_EPOCHS,
            max_batch_reports: defaults::MAX_BATCH_REPORTS,
            shutdown_grace: Duration::from_millis(defaults::SHUTDOWN_GRACE_MS),
            secure_cookies: false,
            body_memory: defaults::BODY_MEMORY,
            max_connections: defaults::MAX_CONNECTIONS,
            metrics_apart: false,
        }
    }
}

impl Settings {
    /// The size limits [`crate::ingest::accept`] applies.
    pub fn ingest_limits(&self) -> crate::ingest::Limits {
        crate::ingest::Limits {
            max_batch_reports: self.max_batch_reports,
        }
    }

    /// The epochs a batch may carry at Unix time `now`: from `late_epochs` epochs before the
    /// epoch of `now − skew` up to the epoch of `now + skew`.
    pub fn accepted_epochs(&self, now: u64, epoch_seconds: u64) -> RangeInclusive<u64> {
        let epoch_seconds = epoch_seconds.max(1);
        let first = (now.saturating_sub(self.clock_skew_seconds) / epoch_seconds)
            .saturating_sub(self.late_epochs);
        let last = now.saturating_add(self.clock_skew_seconds) / epoch_seconds;
        first..=last
    }

    /// Batch ids of epochs before this one can be forgotten: such batches are refused as too
    /// old before their id is ever looked at. One extra epoch of margin is kept, so ids live
    /// for at least the accepted window plus one epoch.
    pub fn batch_id_horizon(&self, now: u64, epoch_seconds: u64) -> u64 {
        self.accepted_epochs(now, epoch_seconds)
            .start()
            .saturating_sub(1)
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Where the service reads the time.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// A clock that only moves when told to (simulations and tests), Unix seconds.
    Manual(Arc<AtomicU64>),
}

impl Clock {
    /// Unix seconds now.
    pub fn now(&self) -> u64 {
        match self {
            Self::System => unix_now(),
            Self::Manual(now) => now.load(Ordering::SeqCst),
        }
    }
}

/// Everything a request handler needs.
#[derive(Debug)]
pub struct AppState {
    /// Durable storage.
    pub store: Arc<dyn Store>,
    /// The group committer.
    pub committer: Committer,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Settings.
    pub settings: Settings,
    /// The clock.
    pub clock: Clock,
    /// The memory budget of request bodies.
    pub bodies: budget::BodyBudget,
    campaigns: RwLock<HashMap<String, Arc<CampaignConfig>>>,
}

impl AppState {
    /// State over `store`, with a running committer.
    pub fn new(
        store: Arc<dyn Store>,
        committer: Committer,
        metrics: Arc<Metrics>,
        settings: Settings,
    ) -> Self {
        let bodies = budget::BodyBudget::new(settings.body_memory);
        Self {
            store,
            committer,
            metrics,
            settings,
            clock: Clock::System,
            bodies,
            campaigns: RwLock::new(HashMap::new()),
        }
    }

    /// The same state reading time from `clock`.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Unix seconds now, by the state's clock.
    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Drops campaign `id` from this node's cache (it was closed, deleted or changed).
    pub fn forget_campaign(&self, id: &str) {
        self.campaigns
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// The campaign `id`, from the cache or the store (a configuration never changes once
    /// created, and other processes may create campaigns; closing or deleting one is checked
    /// by every commit, not through this cache).
    pub async fn campaign(&self, id: &str) -> Result<Arc<CampaignConfig>, Problem> {
        if let Some(config) = self
            .campaigns
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
        {
            return Ok(config.clone());
        }
        let store = self.store.clone();
        let key = id.to_owned();
        let stored = blocking(move || store.campaign(&key)).await?;
        let Some(stored) = stored else {
            return Err(Problem::new(
                ProblemType::UnknownCampaign,
                format!("no campaign {id:?}"),
            ));
        };
        let config = Arc::new(stored.config);
        self.campaigns
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_owned(), config.clone());
        Ok(config)
    }
}

/// Runs a store or library call on the blocking pool; its error becomes a problem.
pub async fn blocking<T, E, F>(f: F) -> Result<T, Problem>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Into<Problem> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(e.into()),
        Err(e) => {
            tracing::error!(error = %e, "blocking task failed");
            Err(Problem::new(ProblemType::Internal, "a storage task failed"))
        }
    }
}

/// The router with every route and middleware.
pub fn router(state: Arc<AppState>) -> Router {
    let body_limit = state.settings.body_limit;
    let limit = state.settings.request_timeout;
    let api = if state.settings.metrics_apart {
        routes::routes()
    } else {
        routes::routes().merge(routes::metrics_routes())
    };
    api.merge(dashboard::routes())
        .route(
            "/",
            axum::routing::get(|| async { axum::response::Redirect::to("/dashboard") }),
        )
        .fallback(|| async { Problem::new(ProblemType::NotFound, "no such route") })
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(tower_http::limit::RequestBodyLimitLayer::new(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            budget::reserve_body,
        ))
        .layer(axum::middleware::from_fn(move |request, next| {
            request_timeout(limit, request, next)
        }))
        .layer(axum::middleware::from_fn(limit_head))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Most header fields a request may carry.
pub const MAX_HEADERS: usize = 64;
/// Most bytes of header names and values a request may carry.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Longest path and query of a request.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// hyper's own limits sit above ours, so that what it refuses itself (with an empty body) is
/// only what no client of this API sends: more than this many header fields…
const HYPER_MAX_HEADERS: usize = 256;
/// …or a request head larger than its read buffer (which also bounds each connection's
/// buffered bytes).
const HYPER_MAX_BUF: usize = 64 * 1024;

/// Refuses requests with too many or too large headers (431) or too long a URI (414), as
/// problems.
async fn limit_head(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return Problem::new(
            ProblemType::HeadersTooLarge,
            format!(
                "at most {MAX_HEADERS} header fields and {MAX_HEADER_BYTES} bytes of them; this \
                 request has {} fields and {bytes} bytes",
                headers.len()
            ),
        )
        .into_response();
    }
    let uri = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if uri > MAX_URI_BYTES {
        return Problem::new(
            ProblemType::UriTooLong,
            format!("the path and query are {uri} bytes; at most {MAX_URI_BYTES}"),
        )
        .into_response();
    }
    next.run(request).await
}

/// `/metrics` alone, for a listener of its own (so that the metrics can stay on a private
/// network while the API faces devices); every other path is a 404 problem.
pub fn metrics_router(state: Arc<AppState>) -> Router {
    routes::metrics_routes()
        .fallback(|| async { Problem::new(ProblemType::NotFound, "only /metrics is served here") })
        .layer(axum::middleware::from_fn(limit_head))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Answers 408 when a request takes longer than `limit`.
pub async fn request_timeout(limit: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Problem::new(
            ProblemType::Timeout,
            format!("the request took longer than {} ms", limit.as_millis()),
        )
        .into_response(),
    }
}

/// Counts every request by route and status, turns the framework's bare error responses into
/// problems, and adds security headers.
async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // A fixed set: any other method token would be a new metric series per request.
    let method = match request.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS") => m,
        _ => "other",
    }
    .to_owned();
    let mut response = next.run(request).await;
    let status = response.status();
    // Problems, and the dashboard's own HTML error pages, pass as they are.
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes() == PROBLEM_JSON.as_bytes() || v.as_bytes().starts_with(b"text/html")
        });
    if (status.is_client_error() || status.is_server_error()) && !is_problem {
        let kind = ProblemType::for_status(status);
        let detail = match kind {
            ProblemType::PayloadTooLarge => format!(
                "request bodies are limited to {} bytes",
                state.settings.body_limit
            ),
            _ => kind.title().to_owned(),
        };
        // The framework's status stays (a problem type may cover several), and so do the
        // headers that go with it.
        let kept: Vec<_> = [header::ALLOW, header::RETRY_AFTER]
            .into_iter()
            .filter_map(|name| Some((name.clone(), response.headers().get(&name)?.clone())))
            .collect();
        response = Problem::new(kind, detail)
            .with_status(status)
            .into_response();
        response.headers_mut().extend(kept);
    }
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: status.as_u16(),
        })
        .inc();
    response
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting, lets open
/// requests finish (at most `grace`), and returns. Peer addresses are never read.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    settings: &Settings,
    shutdown: impl Future<Output = ()>,
) {
    let (header_timeout, grace) = (settings.header_timeout, settings.shutdown_grace);
    // One permit per open connection: at the cap, the listener waits for one to close (new
    // connections wait in the kernel's backlog) instead of taking more than it can serve.
    let connections = Arc::new(tokio::sync::Semaphore::new(settings.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_headers(HYPER_MAX_HEADERS)
        .max_buf_size(HYPER_MAX_BUF)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        if let Some(held_back) = health::ACCEPT_FAILED.admit() {
                            tracing::warn!(error = %e, held_back, "accept failed");
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let connection = http.serve_connection(
                    TokioIo::new(stream),
                    TowerToHyperService::new(router.clone()),
                );
                let watched = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(e) = watched.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    drop(permit);
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!("shutting down: waiting for open requests");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "open requests did not finish in time");
        }
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_over_the_timeout_gets_a_408_problem() {
        use axum::body::Body;
        use tower::ServiceExt;
        let app = Router::new()
            .route(
                "/slow",
                axum::routing::get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route("/fast", axum::routing::get(|| async { "ok" }))
            .layer(axum::middleware::from_fn(|request, next| {
                request_timeout(Duration::from_millis(50), request, next)
            }));
        let get = |path: &str| Request::builder().uri(path).body(Body::empty()).unwrap();
        let fast = app.clone().oneshot(get("/fast")).await.unwrap();
        assert_eq!(fast.status(), axum::http::StatusCode::OK);
        let slow = app.oneshot(get("/slow")).await.unwrap();
        assert_eq!(slow.status(), axum::http::StatusCode::REQUEST_TIMEOUT);
        assert_eq!(slow.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }

    #[test]
    fn the_epoch_window_allows_skew_and_late_epochs_and_ids_outlive_it() {
        let day = 86_400;
        let settings = Settings::default(); // skew 300 s, one late epoch
        // Mid-epoch 10.
        let now = 10 * day + 40_000;
        assert_eq!(settings.accepted_epochs(now, day), 9..=10);
        assert_eq!(settings.batch_id_horizon(now, day), 8);
        // 100 s into epoch 10: a device 5 minutes behind is still in epoch 9.
        assert_eq!(settings.accepted_epochs(10 * day + 100, day), 8..=10);
        // 100 s before epoch 11: a device 5 minutes ahead is already in it.
        assert_eq!(settings.accepted_epochs(11 * day - 100, day), 9..=11);
        // Batch ids are forgotten only below every epoch that can still be accepted.
        for now in (0..30 * day).step_by(3_333) {
            let window = settings.accepted_epochs(now, day);
            assert!(settings.batch_id_horizon(now, day) < *window.start() || *window.start() == 0);
        }
        // Short epochs: the skew spans several.
        assert_eq!(settings.accepted_epochs(6_000, 60), 94..=105);
    }
}
