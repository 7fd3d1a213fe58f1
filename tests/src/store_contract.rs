//! The contract every `Store` backend must meet, as one test body that each backend's test
//! calls with a fresh, empty store.

use ldp_aggregator::store::{
    BatchDelta, CommitOutcome, EpochRange, Role, Store, StoreError, token_id,
};
use ldp_aggregator::{Accumulator, CellDelta, Counters};
use ldp_client::Encoder;
use ldp_protocol::{BatchId, CampaignConfig, CampaignSpec, Domain, Mechanism};

use crate::seeded_rng;

fn config(id: &str, eps: f64) -> CampaignConfig {
    CampaignConfig::new(CampaignSpec::new(
        id,
        Mechanism::Oue,
        eps,
        Domain::Range { k: 20 },
    ))
    .unwrap()
}

fn delta(config: &CampaignConfig, epoch: u64, id: u8, values: &[u32]) -> BatchDelta {
    let mut encoder = Encoder::with_simulation_rng(config, seeded_rng("store", u64::from(id)));
    let reports: Vec<_> = values
        .iter()
        .map(|&v| encoder.encode_index(v).unwrap())
        .collect();
    // A stand-in for the SHA-256 of the batch's bytes: the same values give the same content.
    let mut content = [id; 16];
    for (i, &v) in values.iter().enumerate() {
        content[1 + i % 15] ^= (v as u8).wrapping_add(i as u8);
    }
    BatchDelta {
        campaign: config.id().as_str().to_owned(),
        digest: config.digest(),
        epoch,
        batch_id: BatchId([id; 16]),
        content,
        cells: CellDelta::of_reports(config, &reports).unwrap(),
    }
}

/// What `deltas` add up to.
fn sum(config: &CampaignConfig, deltas: &[&BatchDelta]) -> Counters {
    let mut counters = Counters::new(config);
    for delta in deltas {
        counters.add_delta(&delta.cells).unwrap();
    }
    counters
}

/// Counter rows in chunks: a sparse campaign of many chunks, a dense one of several, deltas
/// that touch some chunks and not others, in one group and across groups.
fn check_chunks(store: &dyn Store) {
    let sparse = CampaignConfig::new(CampaignSpec::new(
        "sparse",
        Mechanism::Grr,
        2.0,
        Domain::Range { k: 100_000 },
    ))
    .unwrap();
    let dense = CampaignConfig::new(CampaignSpec::new(
        "dense",
        Mechanism::Oue,
        1.0,
        Domain::Range { k: 2_500 },
    ))
    .unwrap();
    assert!(store.create_campaign(&sparse, 1).unwrap());
    assert!(store.create_campaign(&dense, 1).unwrap());
    let s1 = delta(&sparse, 3, 31, &[0, 1023, 1024, 99_999, 99_999]);
    let s2 = delta(&sparse, 3, 32, &[50_000]);
    let s3 = delta(&sparse, 3, 33, &[1024, 70_000, 5]);
    let d1 = delta(&dense, 3, 34, &[0, 2_499, 1_500]);
    let d2 = delta(&dense, 3, 35, &[7]);
    let outcomes = store.commit(&[&s1, &d1, &s2]).unwrap();
    assert!(outcomes.iter().all(|o| *o == CommitOutcome::Counted));
    assert_eq!(
        stored(store, &sparse, 3, 3).snapshot(),
        sum(&sparse, &[&s1, &s2]).snapshot()
    );
    assert_eq!(
        stored(store, &dense, 3, 3).snapshot(),
        sum(&dense, &[&d1]).snapshot()
    );
    store.commit(&[&s3, &d2, &s1]).unwrap();
    assert_eq!(
        stored(store, &sparse, 3, 3).snapshot(),
        sum(&sparse, &[&s1, &s2, &s3]).snapshot()
    );
    assert_eq!(
        stored(store, &dense, 0, 9).snapshot(),
        sum(&dense, &[&d1, &d2]).snapshot()
    );
}

fn stored(store: &dyn Store, config: &CampaignConfig, from: u64, to: u64) -> Counters {
    let mut merged = Counters::new(config);
    for (_, counters) in store.counters(config, from, to).unwrap() {
        merged.merge(&counters).unwrap();
    }
    merged
}

/// Runs every check on `store`, which must be empty.
pub fn check_store_contract(store: &dyn Store) {
    store.ping().unwrap();

    // Campaigns: created once, identical re-creation is fine, a different one is refused.
    let a = config("alpha", 1.0);
    let b = config("beta", 2.0);
    assert!(store.create_campaign(&b, 100).unwrap());
    assert!(store.create_campaign(&a, 200).unwrap());
    assert!(!store.create_campaign(&a, 300).unwrap());
    assert!(matches!(
        store.create_campaign(&config("alpha", 3.0), 400),
        Err(StoreError::CampaignExists(id)) if id == "alpha"
    ));
    let all = store.campaigns().unwrap();
    let ids: Vec<&str> = all.iter().map(|c| c.config.id().as_str()).collect();
    assert_eq!(ids, ["alpha", "beta"]);
    let got = store.campaign("alpha").unwrap().unwrap();
    assert_eq!(got.config, a);
    assert_eq!(got.created_at, 200);
    assert!(store.campaign("gamma").unwrap().is_none());
    assert_eq!(store.epoch_range("alpha").unwrap(), None);

    // One group: two new batches, a retry of the first (same content) and another batch
    // reusing its id → counted, counted, duplicate, conflict; only the first two count.
    let d1 = delta(&a, 10, 1, &[1, 2, 3, 3]);
    let d2 = delta(&a, 10, 2, &[3, 4]);
    let d3 = delta(&a, 12, 3, &[5]);
    let d1_retry = delta(&a, 10, 1, &[1, 2, 3, 3]);
    let d1_reused = delta(&a, 10, 1, &[7, 7, 7, 7, 7]);
    let outcomes = store.commit(&[&d1, &d2, &d1_retry, &d1_reused]).unwrap();
    assert_eq!(
        outcomes,
        [
            CommitOutcome::Counted,
            CommitOutcome::Counted,
            CommitOutcome::Duplicate,
            CommitOutcome::Conflict
        ]
    );
    let expected = sum(&a, &[&d1, &d2]);
    assert_eq!(stored(store, &a, 10, 10).snapshot(), expected.snapshot());

    // A later group: one repeat, one reuse, one new epoch; the other campaign is untouched.
    let outcomes = store.commit(&[&d2, &d1_reused, &d3]).unwrap();
    assert_eq!(
        outcomes,
        [
            CommitOutcome::Duplicate,
            CommitOutcome::Conflict,
            CommitOutcome::Counted
        ]
    );
    assert_eq!(stored(store, &a, 10, 10).n(), 6);
    assert_eq!(stored(store, &a, 11, 12).n(), 1);
    assert_eq!(stored(store, &a, 0, u64::MAX).n(), 7);
    assert_eq!(stored(store, &b, 0, u64::MAX).n(), 0);
    assert_eq!(
        store.epoch_range("alpha").unwrap(),
        Some(EpochRange { from: 10, to: 12 })
    );
    let epochs: Vec<u64> = store
        .counters(&a, 0, 100)
        .unwrap()
        .into_iter()
        .map(|(e, _)| e)
        .collect();
    assert_eq!(epochs, [10, 12]);

    // Batch ids of epochs before 11 are forgotten; those of epoch 12 are kept.
    assert_eq!(store.expire_batch_ids("alpha", 11).unwrap(), 2);
    assert_eq!(store.expire_batch_ids("alpha", 11).unwrap(), 0);
    assert_eq!(store.commit(&[&d3]).unwrap(), [CommitOutcome::Duplicate]);

    check_chunks(store);

    check_tokens(store);

    check_lifecycle(store);

    check_sessions(store);
}

/// Dashboard sessions: found by hash until they or their token expire, gone after logout or
/// when their token is revoked; opening one deletes the expired ones.
fn check_sessions(store: &dyn Store) {
    let (lasting, expiring) = ([0x51; 32], [0x52; 32]);
    store
        .create_token(&lasting, Role::Analyst, 900, None)
        .unwrap();
    store
        .create_token(&expiring, Role::Analyst, 900, Some(4_000))
        .unwrap();
    let (a, b, c) = ([0xa1; 32], [0xb2; 32], [0xc3; 32]);
    store.open_session(&a, &lasting, 1_000, 2_000).unwrap();
    store.open_session(&b, &lasting, 1_000, 5_000).unwrap();
    store.open_session(&c, &expiring, 1_000, 5_000).unwrap();
    assert_eq!(store.session_expiry(&a).unwrap(), Some(2_000));
    assert_eq!(store.session_expiry(&[0; 32]).unwrap(), None);
    // A session ends when its token does.
    assert_eq!(store.session_expiry(&c).unwrap(), Some(4_000));
    // Opening a session at 3,000 deletes the one that expired at 2,000.
    store
        .open_session(&[0xd4; 32], &expiring, 3_000, 9_000)
        .unwrap();
    assert_eq!(store.session_expiry(&a).unwrap(), None);
    assert_eq!(store.session_expiry(&b).unwrap(), Some(5_000));
    // Revoking the token ends its sessions, and only those.
    assert!(store.revoke_token(&token_id(&lasting)).unwrap());
    assert_eq!(store.session_expiry(&b).unwrap(), None);
    assert_eq!(store.session_expiry(&c).unwrap(), Some(4_000));
    store.close_session(&c).unwrap();
    store.close_session(&c).unwrap();
    assert_eq!(store.session_expiry(&c).unwrap(), None);
}

/// The id of the campaign the lifecycle checks delete: no table may hold a row of it after.
pub const DELETED: &str = "ended";

/// Closing (commits refuse the campaign's batches, its counters stay), retention (older
/// epochs' counters go), deletion (everything goes; the id can be used again, and a batch
/// checked against the old configuration is refused).
fn check_lifecycle(store: &dyn Store) {
    let c = config(DELETED, 1.0);
    assert!(store.create_campaign(&c, 5).unwrap());
    let deltas: Vec<BatchDelta> = (1..=3)
        .map(|e| delta(&c, e, 100 + e as u8, &[1, 2, 3]))
        .collect();
    let all: Vec<&BatchDelta> = deltas.iter().collect();
    assert_eq!(store.commit(&all).unwrap(), [CommitOutcome::Counted; 3]);

    // Retention: epochs before 2 go, the rest stay.
    assert!(store.set_retention(DELETED, Some(2)).unwrap());
    assert_eq!(
        store.campaign(DELETED).unwrap().unwrap().retention_epochs,
        Some(2)
    );
    assert_eq!(store.drop_epochs_before(DELETED, 2).unwrap(), 1);
    assert_eq!(store.drop_epochs_before(DELETED, 2).unwrap(), 0);
    assert_eq!(
        store.epoch_range(DELETED).unwrap(),
        Some(EpochRange { from: 2, to: 3 })
    );
    assert_eq!(
        stored(store, &c, 0, 9).snapshot(),
        sum(&c, &all[1..]).snapshot()
    );

    // Closing: kept readable, the first closing time kept, new batches refused.
    assert!(store.close_campaign(DELETED, 50).unwrap());
    assert!(store.close_campaign(DELETED, 60).unwrap());
    assert_eq!(
        store.campaign(DELETED).unwrap().unwrap().closed_at,
        Some(50)
    );
    let late = delta(&c, 3, 110, &[4]);
    let alpha = delta(&config("alpha", 1.0), 12, 111, &[4]);
    assert_eq!(
        store.commit(&[&late, &alpha]).unwrap(),
        [CommitOutcome::Closed, CommitOutcome::Counted],
        "a closed campaign's batch is refused, another campaign's in the same group counted"
    );
    assert_eq!(
        stored(store, &c, 0, 9).snapshot(),
        sum(&c, &all[1..]).snapshot()
    );

    // Deleting: gone with its counters; unknown ids answer false.
    assert!(store.delete_campaign(DELETED).unwrap());
    assert!(!store.delete_campaign(DELETED).unwrap());
    assert!(store.campaign(DELETED).unwrap().is_none());
    assert_eq!(store.epoch_range(DELETED).unwrap(), None);
    assert!(!store.close_campaign(DELETED, 1).unwrap());
    assert!(!store.set_retention(DELETED, None).unwrap());

    // The id again, with another configuration: a batch checked against the old one is
    // refused, one checked against the new one counted.
    let again = config(DELETED, 2.0);
    assert!(store.create_campaign(&again, 70).unwrap());
    let stale = delta(&c, 3, 112, &[1]);
    let fresh = delta(&again, 3, 113, &[1]);
    assert_eq!(
        store.commit(&[&stale, &fresh]).unwrap(),
        [CommitOutcome::Closed, CommitOutcome::Counted]
    );
    assert_eq!(stored(store, &again, 0, 9).n(), 1);
    assert!(store.delete_campaign(DELETED).unwrap());
}

/// Tokens: stored by hash with a role and an optional expiry, listed by id, revoked.
fn check_tokens(store: &dyn Store) {
    assert!(!store.has_admin_token().unwrap());
    store
        .create_token(&[1; 32], Role::Analyst, 5, None)
        .unwrap();
    assert!(!store.has_admin_token().unwrap());
    store
        .create_token(&[2; 32], Role::Admin, 6, Some(100))
        .unwrap();
    assert!(store.has_admin_token().unwrap());
    let grant = |hash: [u8; 32]| store.token(&hash).unwrap();
    assert_eq!(grant([1; 32]).map(|g| g.role), Some(Role::Analyst));
    assert_eq!(grant([3; 32]), None);
    let admin = grant([2; 32]).unwrap();
    assert_eq!((admin.role, admin.expires_at), (Role::Admin, Some(100)));
    assert!(admin.valid_at(99) && !admin.valid_at(100));
    store.touch_token(&[1; 32], 20_000).unwrap();
    assert_eq!(grant([1; 32]).unwrap().last_used_day, Some(20_000));
    let listed = store.tokens().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].id, "010101010101");
    assert_eq!(
        (
            listed[0].created_at,
            listed[0].last_used_day,
            listed[0].expires_at
        ),
        (5, Some(20_000), None)
    );
    assert_eq!(
        (listed[1].id.as_str(), listed[1].expires_at),
        ("020202020202", Some(100))
    );
    assert!(
        !store.revoke_token("0303030303").unwrap(),
        "a wrong id revokes nothing"
    );
    assert!(!store.revoke_token("030303030303").unwrap());
    assert!(store.revoke_token("010101010101").unwrap());
    assert_eq!(grant([1; 32]), None);
    assert!(store.has_admin_token().unwrap());
    assert_eq!(store.tokens().unwrap().len(), 1);
}
