//! The web dashboard under `/dashboard`: server-rendered HTML (maud) with inline SVG charts
//! (plotters), no JavaScript, nothing from another origin.
//!
//! - `GET /dashboard`: every campaign with its reports, current epoch and latest epoch with data.
//! - `GET /dashboard/campaigns/{id}`: over a chosen range of epochs (dates or presets), the top
//!   N values with 95% intervals (raw unbiased estimates, or `?view=consistent` for the
//!   consistency-processed ones), what is trending, and chosen values' shares per epoch in one
//!   chart ([`options`] lists the parameters). An open domain has no values to list: its page
//!   has a form for candidate strings instead.
//! - `GET /dashboard/campaigns/{id}/{name}.csv`: each table and series as CSV ([`export`]).
//! - `GET|POST /dashboard/login`, `POST /dashboard/logout`: an analyst (or admin) token opens a
//!   session ([`session`]); every other dashboard route without one redirects to the login.
//!
//! Every dashboard response carries a strict `Content-Security-Policy` (styles from this origin
//! only, no scripts), `Referrer-Policy: no-referrer` and `X-Frame-Options: DENY`; every string
//! from a campaign is escaped by maud (HTML) or plotters (SVG).

pub mod charts;
pub mod data;
pub mod export;
mod format;
pub mod options;
mod pages;
mod sections;
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

use self::data::CampaignData;
use self::export::Export;
use self::options::{Options, PageQuery};
use super::auth::token_hash;
use super::problem::{Problem, ProblemType};
use super::{AppState, blocking};
use crate::query;
use crate::store::{Role, StoreError};

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
        .route("/dashboard/campaigns/{id}/{export}", get(campaign_export))
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

/// Whether the request carries a live session (a store failure is an error page).
async fn logged_in(state: &AppState, headers: &HeaderMap) -> Result<bool, Response> {
    // A session id is 64 hex digits: anything else is not looked up.
    let Some(id) = session_cookie(headers)
        .filter(|id| id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()))
    else {
        return Ok(false);
    };
    let (store, id, now) = (state.store.clone(), id.to_owned(), state.now());
    blocking(move || session::check(&*store, &id, now))
        .await
        .map_err(|problem| error_page(&problem))
}

/// `None` when the request may see the dashboard, else the answer: the login page (no session)
/// or an error page (the store failed).
async fn gate(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    match logged_in(state, headers).await {
        Ok(true) => None,
        Ok(false) => Some(to_login()),
        Err(response) => Some(response),
    }
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
    if let Ok(true) = logged_in(&state, &headers).await {
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
    let store = state.store.clone();
    let id = match blocking(move || session::open(&*store, &hash, now)).await {
        Ok(id) => id,
        Err(problem) => return error_page(&problem),
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
        let (store, id) = (state.store.clone(), id.to_owned());
        if let Err(problem) = blocking(move || session::close(&*store, &id)).await {
            return error_page(&problem);
        }
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
    /// When the campaign was closed, if it was.
    pub closed_at: Option<u64>,
}

async fn campaign_list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(answer) = gate(&state, &headers).await {
        return answer;
    }
    let store = state.store.clone();
    let now = state.now();
    let rows = blocking(move || {
        let mut rows = Vec::new();
        for stored in store.campaigns()? {
            let config = Arc::new(stored.config);
            let summary = query::summary(&*store, &config)?;
            rows.push(CampaignRow {
                closed_at: stored.closed_at,
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

async fn campaign_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    // Before anything else: an anonymous visitor learns nothing, not even whether `id` exists.
    if let Some(answer) = gate(&state, &headers).await {
        return answer;
    }
    match page_data(&state, &id, query).await {
        Ok(data) => html(StatusCode::OK, pages::campaign(&data)),
        Err(problem) => error_page(&problem),
    }
}

/// `GET /dashboard/campaigns/{id}/{name}.csv`: a table or series of the page as CSV.
async fn campaign_export(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((id, name)): Path<(String, String)>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Some(answer) = gate(&state, &headers).await {
        return answer;
    }
    let Some(export) = Export::named(&name) else {
        return error_page(&Problem::new(
            ProblemType::NotFound,
            format!(
                "no export {name:?}: estimates.csv, trending.csv, series.csv or candidates.csv"
            ),
        ));
    };
    match page_data(&state, &id, query).await {
        Ok(data) => export.csv(&data),
        Err(problem) => error_page(&problem),
    }
}

/// The numbers of campaign `id`'s page for `query`.
async fn page_data(
    state: &AppState,
    id: &str,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<CampaignData, Problem> {
    let Ok(Query(query)) = query else {
        return Err(Problem::new(
            ProblemType::InvalidRequest,
            "the page's parameters could not be read",
        ));
    };
    let config = state.campaign(id).await?;
    campaign_data(state, config, query).await
}

/// The numbers a campaign page shows for `query`, each from the query function the API
/// answers with.
pub async fn campaign_data(
    state: &AppState,
    config: Arc<CampaignConfig>,
    query: PageQuery,
) -> Result<CampaignData, Problem> {
    let now = state.now();
    let options = Options::parse(&config, query, query::current_epoch(&config, now))?;
    let store = state.store.clone();
    blocking(move || data::collect(&*store, config, options, now)).await
}
