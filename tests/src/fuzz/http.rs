//! The HTTP fuzz target: arbitrary requests through the service's whole router (in process,
//! over a SQLite store in a temporary directory), with admin and analyst tokens the input may
//! choose to present. Whatever the request, the router answers: never 500, and every refusal
//! of the API is `application/problem+json` with its status in the body.
//!
//! An input is `[method, credentials] path '\n' (header-name ': ' value '\n')* '\n' body`:
//! the first byte picks the method, the second the `Authorization` header (none, the admin
//! token, the analyst token, a malformed one), then a request target, headers and a body.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, header};
use ldp_aggregator::server::auth::token_hash;
use ldp_aggregator::server::ingest::Committer;
use ldp_aggregator::server::metrics::Metrics;
use ldp_aggregator::server::{AppState, Settings, router};
use ldp_aggregator::store::{self, Role};
use ldp_client::Encoder;
use ldp_protocol::{Batch, BatchId, CampaignConfig, CampaignSpec, Domain, Mechanism, wire};
use tower::ServiceExt;

use crate::seeded_rng;

const ADMIN: &str = "ldp_fuzz_admin_token";
const ANALYST: &str = "ldp_fuzz_analyst_token";
const METHODS: [Method; 7] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::HEAD,
    Method::OPTIONS,
];

/// The service under test, built once per process.
struct Service {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    _dir: tempfile::TempDir,
}

/// The campaign the seeds post to: GRR over 16 values.
fn grr() -> CampaignConfig {
    CampaignConfig::new(CampaignSpec::new(
        "grr",
        Mechanism::Grr,
        1.0,
        Domain::Range { k: 16 },
    ))
    .expect("a valid campaign")
}

fn service() -> &'static Service {
    static SERVICE: OnceLock<Service> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!(
            "sqlite://{}?synchronous=normal",
            dir.path().join("fuzz.db").display()
        );
        let store = store::open(&url, "fuzz").expect("a store");
        store
            .create_token(&token_hash(ADMIN), Role::Admin, 0, None)
            .expect("admin token");
        store
            .create_token(&token_hash(ANALYST), Role::Analyst, 0, None)
            .expect("analyst token");
        store.create_campaign(&grr(), 0).expect("campaign");
        let metrics = Arc::new(Metrics::new());
        let settings = Settings {
            commit_window: Duration::ZERO,
            request_timeout: Duration::from_secs(5),
            ..Settings::default()
        };
        let (committer, _thread) =
            Committer::start(store.clone(), metrics.clone(), settings.commit_window, 256)
                .expect("committer");
        let state = Arc::new(AppState::new(store, committer, metrics, settings));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        Service {
            runtime,
            app: router(state),
            _dir: dir,
        }
    })
}

/// The request an input describes, if its target and headers are well-formed.
fn request(data: &[u8]) -> Option<Request<Body>> {
    let (&method, rest) = data.split_first()?;
    let (&credentials, rest) = rest.split_first()?;
    let method = METHODS.get(usize::from(method) % METHODS.len())?.clone();
    let line_end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let target = std::str::from_utf8(rest.get(..line_end)?).ok()?;
    let mut builder = Request::builder().method(method).uri(target);
    builder = match credentials % 4 {
        1 => builder.header(header::AUTHORIZATION, format!("Bearer {ADMIN}")),
        2 => builder.header(header::AUTHORIZATION, format!("bearer {ANALYST}")),
        3 => builder.header(header::AUTHORIZATION, "Bearer"),
        _ => builder,
    };
    let mut rest = rest.get(line_end + 1..).unwrap_or_default();
    loop {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = rest.get(..end)?;
        rest = rest.get(end + 1..).unwrap_or_default();
        if line.is_empty() {
            break;
        }
        let colon = line.iter().position(|&b| b == b':')?;
        let value = line.get(colon + 1..)?;
        let value = value.strip_prefix(b" ").unwrap_or(value);
        builder = builder.header(line.get(..colon)?, value);
    }
    builder.body(Body::from(rest.to_vec())).ok()
}

/// One request through the router: no panic, no 500, and an API refusal is a problem.
pub fn http(data: &[u8]) {
    let Some(request) = request(data) else {
        return;
    };
    let path = request.uri().path().to_owned();
    // A HEAD answer has the headers of the GET answer and no body.
    let head = request.method() == Method::HEAD;
    let service = service();
    let (status, content_type, body) = service.runtime.block_on(async {
        let response = service
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap_or_default();
        (status, content_type, body)
    });
    assert_ne!(
        status.as_u16(),
        500,
        "{path}: {}",
        String::from_utf8_lossy(&body)
    );
    let dashboard = path.starts_with("/dashboard");
    if (status.is_client_error() || status.is_server_error()) && !dashboard {
        assert_eq!(
            content_type,
            "application/problem+json",
            "{path}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        if !head {
            let problem: serde_json::Value =
                serde_json::from_slice(&body).expect("a problem is JSON");
            assert_eq!(problem["status"], status.as_u16(), "{path}");
        }
    }
}

/// Seeds: a request to every route, well-formed, with the credentials it needs.
pub fn seed_requests() -> Vec<(String, Vec<u8>)> {
    let config = grr();
    let mut encoder = Encoder::with_simulation_rng(&config, seeded_rng("http", 0));
    let mut batch = Batch::new(&config, 1, BatchId([2; 16]));
    for v in 0..3 {
        batch
            .reports
            .push(encoder.encode_index(v).expect("encodes"));
    }
    let batch = wire::encode(&batch).expect("encodes");
    let campaign = serde_json::to_vec(grr().spec()).expect("serializes");
    let get = |name: &str, credentials: u8, target: &str| {
        (
            format!("{name}.req"),
            [&[0, credentials][..], target.as_bytes(), b"\n\n"].concat(),
        )
    };
    let post = |name: &str, credentials: u8, target: &str, content_type: &str, body: &[u8]| {
        let head = format!("{target}\ncontent-type: {content_type}\n\n");
        (
            format!("{name}.req"),
            [&[1, credentials][..], head.as_bytes(), body].concat(),
        )
    };
    vec![
        get("healthz", 0, "/healthz"),
        get("readyz", 0, "/readyz"),
        get("metrics", 0, "/metrics"),
        get("openapi", 0, "/openapi.json"),
        get("campaigns", 2, "/v1/campaigns"),
        get("campaign", 2, "/v1/campaigns/grr"),
        get(
            "estimates",
            2,
            "/v1/campaigns/grr/estimates?from=0&to=9&top=3",
        ),
        get("trending", 2, "/v1/campaigns/grr/trending?baseline=2"),
        get("advice", 1, "/v1/advice?k=1024&epsilon=1&n=100000"),
        get("dashboard", 0, "/dashboard"),
        post("create", 1, "/v1/campaigns", "application/json", &campaign),
        post(
            "query",
            2,
            "/v1/campaigns/grr/estimates/query?from=0",
            "application/json",
            br#"{"candidates": ["1", "2"], "alpha": 0.05}"#,
        ),
        post(
            "reports",
            0,
            "/v1/campaigns/grr/reports",
            "application/x-ldp-batch",
            &batch,
        ),
    ]
}
