//! Honest health: `/readyz` follows whether the store can commit — 503 within a second of the
//! database becoming unwritable, even with no traffic, and 200 again by itself once it can —
//! and a failing database does not write a log line per refused request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ldp_aggregator::Counters;
use ldp_aggregator::server::ingest::Committer;
use ldp_aggregator::server::metrics::Metrics;
use ldp_aggregator::server::{AppState, Settings, router};
use ldp_aggregator::store::{
    self, BatchDelta, CommitOutcome, EpochRange, Role, Store, StoreError, StoredCampaign,
    TokenGrant, TokenInfo,
};
use ldp_protocol::CampaignConfig;
use tower::ServiceExt;

/// A real store whose writes fail while `failing` is set (a full disk, a read-only mount).
#[derive(Debug)]
struct Unwritable {
    inner: Arc<dyn Store>,
    failing: AtomicBool,
}

impl Unwritable {
    fn check(&self) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            Err(StoreError::Database("disk I/O error (on purpose)".into()))
        } else {
            Ok(())
        }
    }
}

impl Store for Unwritable {
    fn create_campaign(&self, config: &CampaignConfig, at: u64) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.create_campaign(config, at)
    }
    fn campaigns(&self) -> Result<Vec<StoredCampaign>, StoreError> {
        self.inner.campaigns()
    }
    fn campaign(&self, id: &str) -> Result<Option<StoredCampaign>, StoreError> {
        self.inner.campaign(id)
    }
    fn commit(&self, group: &[&BatchDelta]) -> Result<Vec<CommitOutcome>, StoreError> {
        self.check()?;
        self.inner.commit(group)
    }
    fn probe_write(&self) -> Result<(), StoreError> {
        self.check()?;
        self.inner.probe_write()
    }
    fn counters(
        &self,
        config: &CampaignConfig,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, Counters)>, StoreError> {
        self.inner.counters(config, from, to)
    }
    fn epoch_range(&self, campaign: &str) -> Result<Option<EpochRange>, StoreError> {
        self.inner.epoch_range(campaign)
    }
    fn close_campaign(&self, id: &str, at: u64) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.close_campaign(id, at)
    }
    fn delete_campaign(&self, id: &str) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.delete_campaign(id)
    }
    fn set_retention(&self, id: &str, epochs: Option<u64>) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.set_retention(id, epochs)
    }
    fn drop_epochs_before(&self, campaign: &str, before: u64) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.drop_epochs_before(campaign, before)
    }
    fn expire_batch_ids(&self, campaign: &str, before: u64) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.expire_batch_ids(campaign, before)
    }
    fn create_token(
        &self,
        hash: &[u8; 32],
        role: Role,
        at: u64,
        expires_at: Option<u64>,
    ) -> Result<(), StoreError> {
        self.check()?;
        self.inner.create_token(hash, role, at, expires_at)
    }
    fn token(&self, hash: &[u8; 32]) -> Result<Option<TokenGrant>, StoreError> {
        self.inner.token(hash)
    }
    fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        self.inner.tokens()
    }
    fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.revoke_token(id)
    }
    fn touch_token(&self, hash: &[u8; 32], day: u64) -> Result<(), StoreError> {
        self.check()?;
        self.inner.touch_token(hash, day)
    }
    fn open_session(
        &self,
        hash: &[u8; 32],
        token: &[u8; 32],
        now: u64,
        expires: u64,
    ) -> Result<(), StoreError> {
        self.check()?;
        self.inner.open_session(hash, token, now, expires)
    }
    fn session_expiry(&self, hash: &[u8; 32]) -> Result<Option<u64>, StoreError> {
        self.inner.session_expiry(hash)
    }
    fn close_session(&self, hash: &[u8; 32]) -> Result<(), StoreError> {
        self.check()?;
        self.inner.close_session(hash)
    }
    fn has_admin_token(&self) -> Result<bool, StoreError> {
        self.inner.has_admin_token()
    }
    fn ping(&self) -> Result<(), StoreError> {
        // Reads still work: a ping alone cannot see that writes fail.
        self.inner.ping()
    }
}

/// Polls `GET path` every 50 ms until it answers `want`; the number of polls it took.
fn polls_until(
    rt: &tokio::runtime::Runtime,
    app: &axum::Router,
    path: &str,
    want: StatusCode,
) -> u32 {
    for poll in 1..=200 {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let status = rt.block_on(app.clone().oneshot(request)).unwrap().status();
        if status == want {
            return poll;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{path} never answered {want}");
}

#[test]
fn readiness_follows_whether_the_store_can_commit() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("health.db").display());
    let store = Arc::new(Unwritable {
        inner: store::open(&url, "health").unwrap(),
        failing: AtomicBool::new(false),
    });
    let metrics = Arc::new(Metrics::new());
    let settings = Settings::default();
    let (committer, thread) =
        Committer::start(store.clone(), metrics.clone(), settings.commit_window, 64).unwrap();
    let state = Arc::new(AppState::new(store.clone(), committer, metrics, settings));
    let app = router(state.clone());
    let rt = tokio::runtime::Runtime::new().unwrap();

    assert_eq!(polls_until(&rt, &app, "/readyz", StatusCode::OK), 1);
    // The disk fails while nothing is uploaded: the idle committer's probe notices. Twenty
    // polls 50 ms apart take at least a second.
    store.failing.store(true, Ordering::SeqCst);
    let polls = polls_until(&rt, &app, "/readyz", StatusCode::SERVICE_UNAVAILABLE);
    assert!(polls <= 20, "/readyz took {polls} polls to fail");
    let metrics = rt.block_on(async {
        let request = Request::get("/metrics").body(Body::empty()).unwrap();
        let body = app.clone().oneshot(request).await.unwrap().into_body();
        axum::body::to_bytes(body, 1 << 20).await.unwrap()
    });
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(metrics.contains("ldp_store_writable 0"), "{metrics}");
    // It recovers by itself.
    store.failing.store(false, Ordering::SeqCst);
    let polls = polls_until(&rt, &app, "/readyz", StatusCode::OK);
    assert!(polls <= 20, "/readyz took {polls} polls to recover");

    drop((app, state));
    thread.join().unwrap();
}
