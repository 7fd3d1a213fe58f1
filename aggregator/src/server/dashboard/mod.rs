//! The web dashboard under `/dashboard`: server-rendered HTML (maud) with inline SVG charts
//! (plotters), no JavaScript, nothing from another origin.
//!
//! - `GET /dashboard`: every campaign with its reports, current epoch and latest epoch with data.
//! - `GET /dashboard/campaigns/{id}`: the top values with 95% intervals (raw unbiased estimates,
//!   or `?view=consistent` for the consistency-processed ones), what is trending, and a chosen
//!   value's share per epoch (`?value=INDEX`). A RAPPOR campaign with an open domain has no
//!   values to list: its page says how to ask for candidates' estimates instead.
//! - `GET|POST /dashboard/login`, `POST /dashboard/logout`: an analyst (or admin) token opens a
//!   session ([`session`]); every other dashboard route without one redirects to the login.
//!
//! Every dashboard response carries a strict `Content-Security-Policy` (styles from this origin
//! only, no scripts), `Referrer-Policy: no-referrer` and `X-Frame-Options: DENY`; every string
//! from a campaign is escaped by maud (HTML) or plotters (SVG).

pub mod charts;
mod pages;
pub mod session;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ldp_protocol::CampaignConfig;
use serde::Deserialize;

use super::auth::token_hash;
use super::problem::{Problem, ProblemType};
use super::{AppState, blocking};
use crate::ValueEstimate;
use crate::estimate::Estimates;
use crate::query::{self, EpochSelection, QueryError, TrendingRequest};
use crate::store::{EpochRange, Role, Store, StoreError};
use crate::trending::TrendingReport;

/// Values in the top chart.
pub const TOP: usize = 20;
/// Epochs in the baseline of the trending table (the API's default baseline).
pub const BASELINE_EPOCHS: u64 = query::DEFAULT_BASELINE_EPOCHS;
/// Most epochs drawn in the time series.
pub const SERIES_EPOCHS: u64 = 30;

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The dashboard's routes (merged into the service's router).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/dashboard", get(campaign_list))
        .route("/dashboard/", get(|| async { Redirect::to("/dashboard") }))
        .route("/dashboard/login", get(login_form).post(login))
        .route("/dashboard/logout", post(logout))
        .route("/dashboard/campaigns/{id}", get(campaign_page))
        .route("/dashboard/style.css", get(stylesheet))
        .layer(axum::middleware::from_fn(security_headers))
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("style.css"),
    )
        .into_response()
}

/// The session id from the request's cookie, if any.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == session::COOKIE)
        .map(|(_, value)| value)
}

/// Whether the request carries a live session.
fn logged_in(state: &AppState, headers: &HeaderMap) -> bool {
    session_cookie(headers).is_some_and(|id| state.sessions.check(id, state.now()))
}

/// Whether the client reached us over TLS (directly or through a proxy that says so).
fn over_tls(state: &AppState, headers: &HeaderMap) -> bool {
    state.settings.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

fn to_login() -> Response {
    Redirect::to("/dashboard/login").into_response()
}

fn html(status: StatusCode, markup: maud::Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

async fn login_form(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if logged_in(&state, &headers) {
        return Redirect::to("/dashboard").into_response();
    }
    html(StatusCode::OK, pages::login(None))
}

/// The login form's fields (nothing else is accepted).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginForm {
    token: String,
}

async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::login(Some("Enter a token to sign in.")),
        );
    };
    let hash = token_hash(form.token.trim());
    let store = state.store.clone();
    let now = state.now();
    let role = match blocking(move || store.token(&hash)).await {
        Ok(grant) => grant.filter(|g| g.valid_at(now)).map(|g| g.role),
        Err(problem) => return error_page(&problem),
    };
    if !role.is_some_and(|r| r.grants(Role::Analyst)) {
        // The same answer for unknown and under-privileged tokens.
        return html(
            StatusCode::UNAUTHORIZED,
            pages::login(Some(
                "That token was not accepted. Ask an admin for an analyst token \
                 (`ldp-aggregator token create --role analyst`).",
            )),
        );
    }
    let id = match state.sessions.open(state.now()) {
        Ok(id) => id,
        Err(_) => {
            return error_page(&Problem::new(
                ProblemType::Internal,
                "the operating system's random generator failed",
            ));
        }
    };
    let secure = if over_tls(&state, &headers) {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{}={id}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        session::COOKIE,
        session::LIFETIME_SECONDS
    );
    let mut response = Redirect::to("/dashboard").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(id) = session_cookie(&headers) {
        state.sessions.close(id);
    }
    let mut response = to_login();
    let clear = format!(
        "{}=; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=0",
        session::COOKIE
    );
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

fn error_page(problem: &Problem) -> Response {
    html(
        problem.kind.status(),
        pages::error(problem.kind.title(), &problem.detail),
    )
}

/// One row of the campaign list.
#[derive(Debug)]
pub struct CampaignRow {
    /// The campaign.
    pub config: Arc<CampaignConfig>,
    /// Reports counted over all epochs.
    pub reports: u64,
    /// The epoch now.
    pub current_epoch: u64,
    /// The latest epoch with reports.
    pub last_epoch: Option<u64>,
}

async fn campaign_list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if !logged_in(&state, &headers) {
        return to_login();
    }
    let store = state.store.clone();
    let now = state.now();
    let rows = blocking(move || {
        let mut rows = Vec::new();
        for stored in store.campaigns()? {
            let config = Arc::new(stored.config);
            let summary = query::summary(&*store, &config)?;
            rows.push(CampaignRow {
                current_epoch: query::current_epoch(&config, now),
                last_epoch: summary.epochs.map(|r| r.to),
                reports: summary.n,
                config,
            });
        }
        Ok::<_, StoreError>(rows)
    })
    .await;
    match rows {
        Ok(rows) => html(StatusCode::OK, pages::campaign_list(&rows)),
        Err(problem) => error_page(&problem),
    }
}

/// The campaign page's options. Unlike the API's inputs, other parameters are ignored: the
/// page is a link people share and bookmark, and tracking parameters added on the way must
/// not turn it into an error page.
#[derive(Debug, Deserialize)]
pub struct CampaignQuery {
    /// `raw` (default) or `consistent`.
    view: Option<String>,
    /// Domain index of the value whose time series is drawn (default: the top value).
    value: Option<u32>,
}

/// Which estimates the top chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Unbiased estimates with 95% intervals.
    Raw,
    /// Norm-Sub: non-negative, summing to n (biased; no intervals).
    Consistent,
}

/// Everything the campaign page shows.
#[derive(Debug)]
pub struct CampaignData {
    /// The campaign.
    pub config: Arc<CampaignConfig>,
    /// The epoch now.
    pub current_epoch: u64,
    /// Epochs with reports, if any.
    pub epochs: Option<(u64, u64)>,
    /// Reports over those epochs.
    pub n: u64,
    /// The estimates over all epochs, when n reaches the campaign's minimum.
    pub estimates: Option<Estimates>,
    /// The trending comparison, or why there is none.
    pub trending: Result<(u64, TrendingReport), String>,
    /// The value of the time series and its points.
    pub series: Option<(u32, Vec<charts::SharePoint>)>,
    /// A numeric campaign's mean over all epochs, when n reaches the campaign's minimum.
    pub mean: Option<crate::estimate::MeanEstimate>,
    /// The central privacy of one epoch's shuffled reports, with the estimates.
    pub central: Option<crate::shuffle::CentralBound>,
}

async fn campaign_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<CampaignQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    // Before anything else: an anonymous visitor learns nothing, not even whether `id` exists.
    if !logged_in(&state, &headers) {
        return to_login();
    }
    let Ok(Query(query)) = query else {
        return error_page(&Problem::new(
            ProblemType::InvalidRequest,
            "use ?view=raw|consistent and ?value=INDEX",
        ));
    };
    let view = match query.view.as_deref() {
        None | Some("raw") => View::Raw,
        Some("consistent") => View::Consistent,
        Some(other) => {
            return error_page(&Problem::new(
                ProblemType::InvalidRequest,
                format!("unknown view {other:?}: use raw or consistent"),
            ));
        }
    };
    let config = match state.campaign(&id).await {
        Ok(config) => config,
        Err(problem) => return error_page(&problem),
    };
    match campaign_data(&state, config, query.value).await {
        Ok(data) => html(StatusCode::OK, pages::campaign(&data, view)),
        Err(problem) => error_page(&problem),
    }
}

/// The page's numbers, each from the query function the API answers with: the same merging,
/// minimum-reports rule and trending definition.
pub async fn campaign_data(
    state: &AppState,
    config: Arc<CampaignConfig>,
    value: Option<u32>,
) -> Result<CampaignData, Problem> {
    let store = state.store.clone();
    let now = state.now();
    blocking(move || collect(&*store, config, now, value)).await
}

/// [`campaign_data`] on the blocking pool.
fn collect(
    store: &dyn Store,
    config: Arc<CampaignConfig>,
    now: u64,
    value: Option<u32>,
) -> Result<CampaignData, QueryError> {
    let current_epoch = query::current_epoch(&config, now);
    let summary = query::summary(store, &config)?;
    let mut data = CampaignData {
        config: config.clone(),
        current_epoch,
        epochs: summary.epochs.map(|r| (r.from, r.to)),
        n: summary.n,
        estimates: None,
        trending: Err(String::new()),
        series: None,
        mean: None,
        central: None,
    };
    let all = EpochSelection::default();
    if config.is_open() {
        // No values to rank, test or chart: the page points at the candidate query instead.
        data.trending = Err("An open domain has no values to test for trends.".to_owned());
        return Ok(data);
    }
    if config.numeric_range().is_some() {
        // One number to show: the mean and its interval.
        data.mean = released(query::mean(store, &config, now, all))?.map(|m| m.mean);
        data.trending = Err(
            "A numeric campaign estimates a mean: there are no values to test for trends."
                .to_owned(),
        );
        return Ok(data);
    }
    if let Some(answer) = released(query::estimates(store, &config, now, all))? {
        data.central = Some(answer.central);
        data.estimates = Some(answer.estimates);
    }
    data.trending = match query::trending(store, &config, now, TrendingRequest::default()) {
        Ok(answer) => Ok((answer.epoch, answer.report)),
        Err(e @ (QueryError::Store(_) | QueryError::Inconsistent(_))) => return Err(e),
        Err(e) => Err(format!(
            "Trending compares the latest complete epoch with reports with the \
             {BASELINE_EPOCHS} epochs before it: {e}."
        )),
    };

    // The time series of one value: its share per epoch with enough reports.
    let chosen = value.filter(|v| *v < config.k()).or_else(|| {
        data.estimates
            .as_ref()
            .and_then(|e| e.top(1).first().map(|v| v.index))
    });
    if let (Some(index), Some(epochs)) = (chosen, summary.epochs) {
        let range = EpochRange {
            from: epochs.from.max(epochs.to.saturating_sub(SERIES_EPOCHS - 1)),
            to: epochs.to,
        };
        let points = query::series(store, &config, range)?
            .into_iter()
            .filter_map(|(epoch, estimate)| {
                let v: &ValueEstimate = estimate.values.get(index as usize)?;
                let scale = 100.0 / estimate.n as f64;
                Some(charts::SharePoint {
                    epoch,
                    share: v.count * scale,
                    ci95: [v.ci95_low * scale, v.ci95_high * scale],
                })
            })
            .collect();
        data.series = Some((index, points));
    } else if let Some(index) = chosen {
        data.series = Some((index, Vec::new()));
    }
    Ok(data)
}

/// An answer, or `None` when too few reports were counted to release it.
fn released<T>(answer: Result<T, QueryError>) -> Result<Option<T>, QueryError> {
    match answer {
        Ok(answer) => Ok(Some(answer)),
        Err(QueryError::NotEnoughReports { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}
