//! The service's policy seen from every front end: the API and the dashboard answer the same
//! trending question the same way (both call `ldp_aggregator::query`), and inputs with unknown
//! fields are refused at the edge instead of being silently ignored.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::thread::JoinHandle;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ldp_aggregator::server::auth::token_hash;
use ldp_aggregator::server::dashboard::campaign_data;
use ldp_aggregator::server::dashboard::options::PageQuery;
use ldp_aggregator::server::ingest::Committer;
use ldp_aggregator::server::metrics::Metrics;
use ldp_aggregator::server::{AppState, BATCH_CONTENT_TYPE, Clock, Settings, router};
use ldp_aggregator::store::{self, Role};
use ldp_client::Encoder;
use ldp_protocol::{Batch, BatchId, CampaignConfig, CampaignSpec, Domain, Mechanism, wire};
use ldp_sim::population::Population;
use ldp_tests::seeded_rng;
use ldp_tests::server::{Backend, TestServer};
use tower::ServiceExt;

const BINARY: &str = env!("CARGO_BIN_EXE_ldp-aggregator-under-test");
const EPOCH_SECONDS: u64 = 60;
/// Epoch 1,000,000, half a minute in.
const START: u64 = 1_000_000 * EPOCH_SECONDS + 30;
const ANALYST: &str = "ldp_policy-test-analyst";

/// One in-process node: the real router, committer and SQLite store, on a manual clock.
struct Node {
    rt: tokio::runtime::Runtime,
    state: Option<Arc<AppState>>,
    app: axum::Router,
    clock: Arc<AtomicU64>,
    committer: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Node {
    fn start(config: &CampaignConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("policy.db").display());
        let store = store::open(&url, "policy").unwrap();
        store
            .create_token(&token_hash(ANALYST), Role::Analyst, START, None)
            .unwrap();
        store.create_campaign(config, START).unwrap();
        let metrics = Arc::new(Metrics::new());
        let settings = Settings {
            // Late uploads for a dozen epochs, so the past can be filled now.
            late_epochs: 12,
            commit_window: Duration::ZERO,
            ..Settings::default()
        };
        let (committer, thread) =
            Committer::start(store.clone(), metrics.clone(), settings.commit_window, 64).unwrap();
        let clock = Arc::new(AtomicU64::new(START));
        let state = Arc::new(
            AppState::new(store, committer, metrics, settings)
                .with_clock(Clock::Manual(clock.clone())),
        );
        Self {
            rt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
            app: router(state.clone()),
            state: Some(state),
            clock,
            committer: Some(thread),
            _dir: dir,
        }
    }

    fn state(&self) -> &Arc<AppState> {
        self.state.as_ref().unwrap()
    }

    fn call(&self, request: Request<Body>) -> (StatusCode, serde_json::Value) {
        let app = self.app.clone();
        self.rt.block_on(async {
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 1 << 24)
                .await
                .unwrap();
            (
                status,
                serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
            )
        })
    }

    fn upload(&self, config: &CampaignConfig, epoch: u64, pop: &Population, label: &str) {
        let mut encoder = Encoder::with_simulation_rng(config, seeded_rng(label, epoch));
        let reports: Vec<_> = pop
            .values()
            .map(|v| encoder.encode_index(v).unwrap())
            .collect();
        for (i, chunk) in reports.chunks(1000).enumerate() {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&epoch.to_le_bytes());
            id[8..].copy_from_slice(&(i as u64).to_le_bytes());
            let mut batch = Batch::new(config, epoch, BatchId(id));
            batch.reports = chunk.to_vec();
            let request = Request::post(format!("/v1/campaigns/{}/reports", config.id().as_str()))
                .header(header::CONTENT_TYPE, BATCH_CONTENT_TYPE)
                .body(Body::from(wire::encode(&batch).unwrap()))
                .unwrap();
            let (status, body) = self.call(request);
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        }
    }

    fn trending(&self, id: &str) -> (StatusCode, serde_json::Value) {
        self.call(
            Request::get(format!("/v1/campaigns/{id}/trending"))
                .header(header::AUTHORIZATION, format!("Bearer {ANALYST}"))
                .body(Body::empty())
                .unwrap(),
        )
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // The committer thread ends once the last handle to it (in the state) is gone.
        self.state = None;
        self.app = axum::Router::new();
        if let Some(thread) = self.committer.take() {
            thread.join().unwrap();
        }
    }
}

/// Compares the API's default trending answer with the dashboard's trending table.
fn assert_same_trending(node: &Node, config: &CampaignConfig) -> u64 {
    let (status, api) = node.trending(config.id().as_str());
    assert_eq!(status, StatusCode::OK, "{api}");
    let data = node
        .rt
        .block_on(campaign_data(
            node.state(),
            Arc::new(config.clone()),
            PageQuery::default(),
        ))
        .unwrap();
    let (epoch, report) = data.trending.expect("the dashboard shows trending");
    assert_eq!(api["epoch"], epoch);
    assert_eq!(api["n_now"], report.n_now);
    assert_eq!(api["n_baseline"], report.n_baseline);
    assert_eq!(api["tested"], report.tested);
    let api_rising: Vec<(u64, f64)> = api["rising"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["index"].as_u64().unwrap(), t["z"].as_f64().unwrap()))
        .collect();
    let dashboard_rising: Vec<(u64, f64)> = report
        .rising
        .iter()
        .take(api_rising.len().max(10))
        .map(|t| (u64::from(t.index), t.z))
        .collect();
    assert_eq!(api_rising, dashboard_rising);
    epoch
}

/// The default epoch of trending is the latest complete epoch that has reports — the same for
/// `GET …/trending` and the dashboard — whether the current epoch already has reports or the
/// last few epochs have none.
#[test]
fn the_api_and_the_dashboard_agree_on_what_is_trending() {
    let k = 8;
    let mut spec = CampaignSpec::new("agree", Mechanism::Grr, 2.0, Domain::Range { k });
    spec.epoch_seconds = EPOCH_SECONDS;
    spec.min_reports = 100;
    let config = CampaignConfig::new(spec).unwrap();
    let node = Node::start(&config);
    let current = START / EPOCH_SECONDS;
    let base = Population::uniform(k, 3_000);
    let mut weights = vec![1.0; k as usize];
    // Share 1/8 → 4/11: an expected z far above the threshold (2.5 at α = 0.05 over 8).
    weights[5] = 4.0;
    let rising = Population::from_weights(&weights, 3_000);
    // Seven baseline epochs, the rise two epochs ago, nothing in the last complete epoch, and
    // reports already arriving in the current one.
    for epoch in current - 9..=current - 3 {
        node.upload(&config, epoch, &base, "base");
    }
    node.upload(&config, current - 2, &rising, "rising");
    node.upload(&config, current, &base, "current");
    assert_eq!(assert_same_trending(&node, &config), current - 2);
    let (_, api) = node.trending("agree");
    assert_eq!(api["rising"][0]["index"], 5, "{api}");
    assert_eq!(api["baseline"]["from"], current - 9);
    assert_eq!(api["baseline"]["to"], current - 3);

    // Three epochs later, none of them with reports: the latest complete one with reports is
    // the epoch that was current.
    node.clock.store(
        START + 3 * EPOCH_SECONDS,
        std::sync::atomic::Ordering::SeqCst,
    );
    assert_eq!(assert_same_trending(&node, &config), current);

    // Twenty epochs on, with reports arriving in the new current epoch after a gap longer
    // than one window of the backward search.
    node.clock.store(
        START + 20 * EPOCH_SECONDS,
        std::sync::atomic::Ordering::SeqCst,
    );
    node.upload(&config, current + 20, &base, "later");
    assert_eq!(assert_same_trending(&node, &config), current);
}

/// Regression: a misspelled field (`epoch_second`) used to be ignored and the campaign created
/// with the default one-day epoch. It is refused, and nothing is created.
#[test]
fn a_campaign_with_an_unknown_field_is_refused_and_not_created() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let config = CampaignConfig::new(CampaignSpec::new(
        "typo",
        Mechanism::Oue,
        1.0,
        Domain::Range { k: 8 },
    ))
    .unwrap();
    let mut body = serde_json::to_value(config.spec()).unwrap();
    body.as_object_mut()
        .unwrap()
        .insert("epoch_second".into(), serde_json::json!(60));
    let answer = server.post(
        "/v1/campaigns",
        "application/json",
        &serde_json::to_vec(&body).unwrap(),
        Some(&server.admin),
    );
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(answer.content_type, "application/problem+json");
    let kind = answer.json["type"].as_str().unwrap();
    assert!(kind.ends_with("#invalid-config"), "{kind}");
    assert!(answer.text.contains("epoch_second"), "{}", answer.text);
    assert_eq!(server.get("/v1/campaigns/typo", None).status, 404);
    assert_eq!(
        server.get("/v1/campaigns", None).json,
        serde_json::json!([])
    );
}

/// Query parameters of the API are parsed strictly too: an unknown one is a 400 problem, not
/// a silently different question.
#[test]
fn unknown_query_parameters_are_refused() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let mut spec = CampaignSpec::new("strict", Mechanism::Oue, 1.0, Domain::Range { k: 8 });
    spec.min_reports = 10;
    server.create_campaign(&CampaignConfig::new(spec).unwrap());
    for path in [
        "/v1/campaigns/strict/estimates?epochs=3",
        "/v1/campaigns/strict/trending?baselines=3",
    ] {
        let answer = server.get(path, Some(&server.analyst));
        assert_eq!(answer.status, 400, "{path}: {}", answer.text);
        assert!(answer.text.contains("unknown field"), "{}", answer.text);
    }
}
