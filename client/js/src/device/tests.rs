//! The device's rules, without JavaScript.

use super::*;
use ldp_protocol::{CampaignSpec, Domain, Mechanism};

const T0: u64 = 1_800_000_000;

/// The collector's answer for a campaign.
fn view(config: &CampaignConfig) -> Vec<u8> {
    serde_json::json!({ "config": config, "digest": format!("{:016x}", config.digest()) })
        .to_string()
        .into_bytes()
}

fn config(per_epoch: u32, epsilon: f64) -> CampaignConfig {
    let mut spec = CampaignSpec::new("levels", Mechanism::Grr, epsilon, Domain::Range { k: 8 });
    spec.epoch_seconds = 60;
    spec.max_reports_per_epoch = per_epoch;
    CampaignConfig::new(spec).unwrap()
}

fn device(config: &CampaignConfig) -> Device {
    let options = ClientOptions {
        release_window_seconds: Some(10),
        ..ClientOptions::default()
    };
    let mut device = Device::open(None, options).unwrap();
    device.install_config("levels", &view(config), T0).unwrap();
    device
}

fn ok(status: u16) -> Result<HttpResponse, String> {
    Ok(HttpResponse {
        status,
        retry_after: None,
        body: Vec::new(),
    })
}

#[test]
fn the_budget_holds_across_a_snapshot() {
    let mut device = device(&config(2, 1.0));
    device.record("levels", Value::Index(1), T0).unwrap();
    device.record("levels", Value::Index(2), T0).unwrap();
    let snapshot = device.snapshot().unwrap();
    let mut restored = Device::open(Some(&snapshot), ClientOptions::default()).unwrap();
    assert!(matches!(
        restored.record("levels", Value::Index(3), T0),
        Err(SdkError::BudgetExhausted { allowed: 2, .. })
    ));
    let spent = restored.privacy_spent("levels");
    assert_eq!(spent.lifetime_reports, 2);
    // Each report spends its effective ε, at most the configured 1.0.
    assert!(spent.lifetime_epsilon > 1.99 && spent.lifetime_epsilon <= 2.0 + 1e-9);
    // The next epoch has its own allowance.
    restored.record("levels", Value::Index(3), T0 + 60).unwrap();
    assert_eq!(restored.waiting().1, 3);
}

#[test]
fn refused_values_change_nothing() {
    let mut device = device(&config(5, 1.0));
    assert!(matches!(
        device.record("levels", Value::Index(8), T0),
        Err(SdkError::InvalidValue(_))
    ));
    assert!(matches!(
        device.record("other", Value::Index(1), T0),
        Err(SdkError::UnknownCampaign(_))
    ));
    assert_eq!(device.privacy_spent("levels").lifetime_reports, 0);
    assert_eq!(device.waiting(), (0, 0, None));
}

#[test]
fn a_batch_leaves_after_its_epoch_and_a_retry_resends_the_same_bytes() {
    let mut device = device(&config(5, 1.0));
    device.record("levels", Value::Index(1), T0).unwrap();
    device.record("levels", Value::Index(2), T0).unwrap();
    let end = schedule::epoch_end(epoch_at(T0, 60), 60);
    assert!(device.due(end - 1).unwrap().is_empty());
    let first = device.due(end + 10).unwrap();
    assert_eq!(first.len(), 1);
    let batch: Batch = wire::decode_batch(&first[0].body).unwrap();
    assert_eq!(batch.reports.len(), 2);
    let retry = device.delivered(first[0].row, ok(503), end + 10).unwrap();
    let Delivery::Retry { at } = retry else {
        panic!("{retry:?}")
    };
    assert!(device.due(at - 1).unwrap().is_empty());
    // A report of the same epoch recorded meanwhile opens a new batch: the frozen one is
    // unchanged.
    device.record("levels", Value::Index(3), T0).unwrap();
    let again = device.due(at).unwrap();
    assert_eq!(again[0].body, first[0].body);
    assert_eq!(
        device.delivered(first[0].row, ok(202), at).unwrap(),
        Delivery::Acknowledged { reports: 2 }
    );
    assert_eq!(device.counter("acknowledged_reports"), 2);
    assert_eq!(device.waiting().1, 1);
}

#[test]
fn a_refused_batch_is_dropped_and_counted() {
    let mut device = device(&config(5, 1.0));
    device.record("levels", Value::Index(1), T0).unwrap();
    let due = device.due(T0 + 200).unwrap();
    assert_eq!(
        device.delivered(due[0].row, ok(400), T0 + 200).unwrap(),
        Delivery::Rejected { reports: 1 }
    );
    assert_eq!(device.counter("rejected_reports"), 1);
    assert_eq!(device.waiting(), (0, 0, None));
}

#[test]
fn the_outbox_keeps_its_bound_by_dropping_the_oldest_batches() {
    let options = ClientOptions {
        max_outbox_batches: 2,
        ..ClientOptions::default()
    };
    let mut device = Device::open(None, options).unwrap();
    device
        .install_config("levels", &view(&config(1, 1.0)), T0)
        .unwrap();
    for epoch in 0..5 {
        device
            .record("levels", Value::Index(1), T0 + 60 * epoch)
            .unwrap();
    }
    assert_eq!(device.waiting().0, 2);
    assert_eq!(device.counter("dropped_batches"), 3);
    // The budget of dropped reports stays spent.
    assert_eq!(device.privacy_spent("levels").lifetime_reports, 5);
}

#[test]
fn a_changed_configuration_takes_over_when_the_epoch_ends() {
    let mut device = device(&config(1, 1.0));
    assert!(device.configs_to_check(T0).is_empty());
    let next_epoch = T0 + 60;
    assert_eq!(device.configs_to_check(next_epoch), ["levels"]);
    device
        .install_config("levels", &view(&config(3, 0.5)), next_epoch)
        .unwrap();
    assert!(device.configs_to_check(next_epoch).is_empty());
    device
        .record("levels", Value::Index(1), next_epoch)
        .unwrap();
    assert!(
        device
            .record("levels", Value::Index(1), next_epoch)
            .is_err()
    );
    let later = schedule::epoch_end(epoch_at(next_epoch, 60), 60);
    for _ in 0..3 {
        device.record("levels", Value::Index(1), later).unwrap();
    }
    assert!(device.record("levels", Value::Index(1), later).is_err());
}

#[test]
fn a_configuration_that_does_not_match_its_digest_is_refused() {
    let mut device = Device::open(None, ClientOptions::default()).unwrap();
    let config = config(1, 1.0);
    let body = serde_json::json!({ "config": config, "digest": "0000000000000000" }).to_string();
    assert!(matches!(
        device.install_config("levels", body.as_bytes(), T0),
        Err(SdkError::Config(_))
    ));
    assert!(matches!(
        device.install_config("other", &view(&config), T0),
        Err(SdkError::Config(_))
    ));
    assert!(device.needs_config("levels"));
}

#[test]
fn turning_uploads_off_deletes_what_waits_and_records_nothing() {
    let mut device = device(&config(5, 1.0));
    device.record("levels", Value::Index(1), T0).unwrap();
    device.set_upload_enabled(false);
    device.record("levels", Value::Index(1), T0).unwrap();
    assert_eq!(device.waiting(), (0, 0, None));
    assert!(device.due(T0 + 1000).unwrap().is_empty());
    assert_eq!(device.privacy_spent("levels").lifetime_reports, 1);
}

#[test]
fn damaged_snapshots_are_storage_errors() {
    for bytes in [&b""[..], b"\x01\x02\x03", &[0xff; 64]] {
        assert!(matches!(
            Device::open(Some(bytes), ClientOptions::default()),
            Err(SdkError::Storage(_))
        ));
    }
    let mut snapshot = device(&config(1, 1.0)).snapshot().unwrap();
    snapshot[0] = 9;
    assert!(matches!(
        Device::open(Some(&snapshot), ClientOptions::default()),
        Err(SdkError::Storage(_))
    ));
}

/// An L-OUE campaign that allows `limit` times ε∞ over a device's lifetime.
fn bounded_l_oue(limit: f64) -> (CampaignConfig, f64) {
    let mut spec = CampaignSpec::new(
        "levels",
        Mechanism::with_defaults(ldp_protocol::MechanismKind::LOue),
        1.0,
        Domain::Range { k: 8 },
    );
    spec.epoch_seconds = 60;
    let eps_inf = CampaignConfig::new(spec.clone())
        .unwrap()
        .params()
        .epsilon_permanent()
        .unwrap();
    spec.max_lifetime_epsilon = Some(limit * eps_inf);
    (CampaignConfig::new(spec).unwrap(), eps_inf)
}

#[test]
fn the_lifetime_bound_holds_across_a_snapshot() {
    let (config, eps_inf) = bounded_l_oue(2.5);
    let mut device = device(&config);
    device.record("levels", Value::Index(1), T0).unwrap();
    device.record("levels", Value::Index(2), T0 + 60).unwrap();
    let snapshot = device.snapshot().unwrap();
    let mut restored = Device::open(Some(&snapshot), ClientOptions::default()).unwrap();
    assert!(matches!(
        restored.record("levels", Value::Index(3), T0 + 120),
        Err(SdkError::LifetimeBudgetExhausted { .. })
    ));
    // A value already reported draws on a permanent response already counted.
    restored
        .record("levels", Value::Index(1), T0 + 120)
        .unwrap();
    let spent = restored.privacy_spent("levels");
    assert_eq!(spent.lifetime_reports, 3);
    assert_eq!(spent.permanent_responses, 2);
    assert_eq!(spent.lifetime_epsilon, 2.0 * eps_inf);
    assert_eq!(spent.max_lifetime_epsilon, Some(2.5 * eps_inf));
}

#[test]
fn a_snapshot_from_before_the_lifetime_ledger_is_upgraded() {
    #[derive(Serialize)]
    struct V1<'a> {
        version: u32,
        secret: [u8; 32],
        upload_enabled: bool,
        configs: &'a BTreeMap<String, Cached>,
        ledger: BTreeMap<String, BTreeMap<u64, (u32, f64)>>,
        batches: Vec<Pending>,
        next_row: u32,
        counters: BTreeMap<String, u64>,
    }
    let device = device(&config(5, 1.0));
    let old = V1 {
        version: 1,
        secret: [7; 32],
        upload_enabled: true,
        configs: &device.state.configs,
        ledger: BTreeMap::from([(
            "levels".to_owned(),
            BTreeMap::from([(1, (1, 0.75)), (2, (2, 1.5))]),
        )]),
        batches: Vec::new(),
        next_row: 0,
        counters: BTreeMap::new(),
    };
    let restored =
        Device::open(Some(&wire::encode(&old).unwrap()), ClientOptions::default()).unwrap();
    let spent = restored.privacy_spent("levels");
    assert_eq!((spent.lifetime_reports, spent.lifetime_epsilon), (3, 2.25));
    assert_eq!(restored.state.version, SNAPSHOT_VERSION);
}
