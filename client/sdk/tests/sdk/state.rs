//! Persisted state: the ledger survives restarts, refusals write nothing, configurations
//! change only at epoch boundaries, the device secret persists.

use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, Report, wire};
use ldp_sdk::{ClientOptions, ManualClock, SdkError};

use crate::collector::{Collector, START};

const DAY: u64 = 86_400;

fn grr(id: &str, k: u32) -> CampaignConfig {
    CampaignConfig::range(id, Mechanism::Grr, 1.0, k).unwrap()
}

#[test]
fn a_restart_does_not_reset_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START + 100);
    let collector = Collector::new(&clock, &[grr("level", 8)]);
    let client = collector.client(dir.path(), ClientOptions::default());
    client.record_index("level", 3).unwrap();
    drop(client);

    let client = collector.client(dir.path(), ClientOptions::default());
    clock.advance(3600);
    assert!(matches!(
        client.record_index("level", 4),
        Err(SdkError::BudgetExhausted { allowed: 1, .. })
    ));
    let spent = client.privacy_spent("level").unwrap();
    assert_eq!(spent.lifetime_reports, 1);
    assert_eq!(spent.epochs.len(), 1);
    // The effective ε of the integer thresholds, never above the configured 1.
    assert!(spent.epochs[0].epsilon > 0.99 && spent.epochs[0].epsilon <= 1.0 + 1e-9);

    clock.advance(DAY);
    client.record_index("level", 4).unwrap();
    let spent = client.privacy_spent("level").unwrap();
    assert_eq!(spent.lifetime_reports, 2);
    assert_eq!(spent.epochs.len(), 2);
    assert!(spent.lifetime_epsilon > 1.98 && spent.lifetime_epsilon <= 2.0 + 1e-9);
}

#[test]
fn refused_values_write_nothing_and_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let numeric = CampaignConfig::new(CampaignSpec::new(
        "volume",
        Mechanism::Duchi,
        1.0,
        Domain::Numeric { lo: 0.0, hi: 10.0 },
    ))
    .unwrap();
    let collector = Collector::new(&clock, &[grr("level", 8), numeric]);
    let client = collector.client(dir.path(), ClientOptions::default());

    assert!(matches!(
        client.record("nope", "x"),
        Err(SdkError::UnknownCampaign(_))
    ));
    assert!(matches!(
        client.record("../etc", "x"),
        Err(SdkError::UnknownCampaign(_))
    ));
    assert!(matches!(
        client.record_index("level", 8),
        Err(SdkError::InvalidValue(_))
    ));
    assert!(matches!(
        client.record("level", "eight"),
        Err(SdkError::InvalidValue(_))
    ));
    assert!(matches!(
        client.record_number("level", 1.0),
        Err(SdkError::InvalidValue(_))
    ));
    for x in [-0.5, 10.5, f64::NAN, f64::INFINITY] {
        assert!(
            matches!(
                client.record_number("volume", x),
                Err(SdkError::NumberOutOfRange { .. })
            ),
            "{x}"
        );
    }
    assert!(matches!(
        client.record("volume", "11"),
        Err(SdkError::NumberOutOfRange { .. })
    ));
    assert!(matches!(
        client.record("volume", "loud"),
        Err(SdkError::InvalidValue(_))
    ));
    for campaign in ["level", "volume"] {
        assert_eq!(client.privacy_spent(campaign).unwrap().lifetime_reports, 0);
    }
    assert_eq!(client.upload_pending().unwrap().reports_waiting, 0);

    // A value in the domain is accepted after all those refusals.
    client.record_number("volume", 10.0).unwrap();
    client.record("level", "7").unwrap();
    assert_eq!(client.upload_pending().unwrap().reports_waiting, 2);
}

#[test]
fn a_changed_configuration_takes_over_at_an_epoch_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let old = grr("level", 8);
    let collector = Collector::new(&clock, std::slice::from_ref(&old));
    let client = collector.client(dir.path(), ClientOptions::default());
    client.record_index("level", 1).unwrap();

    // The collector changes the campaign during the first epoch.
    let new = CampaignConfig::range("level", Mechanism::Grr, 2.0, 8).unwrap();
    collector
        .seen
        .lock()
        .unwrap()
        .configs
        .insert("level".into(), new.clone());
    let digests = |collector: &Collector| -> Vec<u64> {
        let seen = collector.seen.lock().unwrap();
        seen.counted
            .values()
            .map(|body| wire::decode_batch(body).unwrap().config_digest)
            .collect()
    };

    // Epoch 2: the change is noticed by the upload, but this epoch keeps the old one.
    clock.advance(DAY + DAY / 2);
    client.upload_pending().unwrap();
    client.record_index("level", 2).unwrap();
    // Epoch 3: the new one is in force.
    clock.advance(DAY);
    client.record_index("level", 3).unwrap();
    clock.advance(2 * DAY);
    client.upload_pending().unwrap();
    let mut seen = digests(&collector);
    seen.sort_unstable();
    let mut expected = vec![old.digest(), old.digest(), new.digest()];
    expected.sort_unstable();
    assert_eq!(seen, expected);
    let spent = client.privacy_spent("level").unwrap();
    assert_eq!(spent.epochs.len(), 3);
    assert!(spent.epochs[2].epsilon > 1.5, "{:?}", spent.epochs);
}

#[test]
fn the_device_secret_and_so_rappors_cohort_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let mut spec = CampaignSpec::new(
        "words",
        Mechanism::with_defaults(ldp_protocol::MechanismKind::Rappor),
        2.0,
        Domain::Open,
    );
    spec.max_reports_per_epoch = 4;
    let config = CampaignConfig::new(spec).unwrap();
    let collector = Collector::new(&clock, &[config]);
    for _ in 0..3 {
        let client = collector.client(dir.path(), ClientOptions::default());
        client.record("words", "hello").unwrap();
    }
    clock.advance(3 * DAY);
    let client = collector.client(dir.path(), ClientOptions::default());
    assert_eq!(client.upload_pending().unwrap().reports_sent, 3);
    let seen = collector.seen.lock().unwrap();
    let body = seen.counted.values().next().unwrap();
    let cohorts: Vec<u32> = wire::decode_batch(body)
        .unwrap()
        .reports
        .iter()
        .map(|r| match r {
            Report::Rappor(r) => r.cohort,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(cohorts.len(), 3);
    assert!(cohorts.iter().all(|c| *c == cohorts[0]), "{cohorts:?}");
}

#[test]
fn a_loloha_device_keeps_its_hash_seed_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let mut spec = CampaignSpec::new(
        "theme",
        Mechanism::with_defaults(ldp_protocol::MechanismKind::Loloha),
        1.0,
        Domain::Range { k: 8 },
    );
    spec.max_reports_per_epoch = 4;
    let config = CampaignConfig::new(spec).unwrap();
    let collector = Collector::new(&clock, &[config]);
    for _ in 0..3 {
        let client = collector.client(dir.path(), ClientOptions::default());
        client.record_index("theme", 5).unwrap();
    }
    clock.advance(3 * DAY);
    let client = collector.client(dir.path(), ClientOptions::default());
    assert_eq!(client.upload_pending().unwrap().reports_sent, 3);
    let seen = collector.seen.lock().unwrap();
    let body = seen.counted.values().next().unwrap();
    let seeds: Vec<u64> = wire::decode_batch(body)
        .unwrap()
        .reports
        .iter()
        .map(|r| match r {
            Report::Loloha(r) => r.seed,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(seeds.len(), 3);
    assert!(seeds.iter().all(|s| *s == seeds[0]), "{seeds:?}");
}

#[test]
fn one_client_owns_a_data_dir_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let collector = Collector::new(&clock, &[grr("level", 8)]);
    let first = collector.client(dir.path(), ClientOptions::default());
    first.record_index("level", 1).unwrap();
    let second = ldp_sdk::Client::open_with(
        dir.path(),
        "http://collector.test",
        ClientOptions::default(),
        std::sync::Arc::new(collector.clone()),
        std::sync::Arc::new(clock.clone()),
    );
    match second {
        Err(SdkError::Storage(message)) => assert!(message.contains("in use"), "{message}"),
        other => panic!("a second client opened the directory: {other:?}"),
    }
    drop(first);
    let again = collector.client(dir.path(), ClientOptions::default());
    assert_eq!(again.privacy_spent("level").unwrap().lifetime_reports, 1);
}

#[test]
fn a_changed_configuration_takes_over_even_when_uploads_come_first() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let old = grr("level", 8);
    let collector = Collector::new(&clock, std::slice::from_ref(&old));
    let client = collector.client(dir.path(), ClientOptions::default());
    client.record_index("level", 1).unwrap();
    let new = CampaignConfig::range("level", Mechanism::Grr, 2.0, 8).unwrap();
    collector
        .seen
        .lock()
        .unwrap()
        .configs
        .insert("level".into(), new.clone());
    // Every epoch the app uploads before it records: the change, noticed in epoch 2, must
    // not be put off again by the next epoch's check.
    for _ in 0..3 {
        clock.advance(DAY);
        client.upload_pending().unwrap();
    }
    client.record_index("level", 2).unwrap();
    clock.advance(3 * DAY);
    client.upload_pending().unwrap();
    let seen = collector.seen.lock().unwrap();
    let last = seen
        .posts
        .iter()
        .map(|(_, body)| wire::decode_batch(body).unwrap())
        .max_by_key(|batch| batch.epoch)
        .unwrap();
    assert_eq!(last.config_digest, new.digest());
}

#[test]
fn threads_recording_at_once_share_one_allowance() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START + 100);
    let mut spec = CampaignSpec::new("tap", Mechanism::Grr, 1.0, Domain::Range { k: 8 });
    spec.max_reports_per_epoch = 250;
    let collector = Collector::new(&clock, &[CampaignConfig::new(spec).unwrap()]);
    let client = collector.client(dir.path(), ClientOptions::default());
    let accepted: u32 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|t| {
                let client = &client;
                scope.spawn(move || {
                    (0..100u32)
                        .map(|i| match client.record_index("tap", (t + i) % 8) {
                            Ok(()) => 1,
                            Err(SdkError::BudgetExhausted { allowed: 250, .. }) => 0,
                            Err(e) => panic!("unexpected {e}"),
                        })
                        .sum::<u32>()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    assert_eq!(accepted, 250);
    assert_eq!(client.privacy_spent("tap").unwrap().lifetime_reports, 250);
    // Every accepted report was written with its charge and reaches the collector.
    clock.advance(2 * DAY);
    let summary = client.upload_pending().unwrap();
    assert_eq!(summary.reports_sent, 250);
    assert_eq!(collector.reports(), 250);
}

#[test]
fn an_unknown_campaign_is_asked_about_once_per_ten_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let collector = Collector::new(&clock, &[grr("level", 8)]);
    let client = collector.client(dir.path(), ClientOptions::default());
    for _ in 0..5 {
        assert!(matches!(
            client.record("later", "x"),
            Err(SdkError::UnknownCampaign(_))
        ));
    }
    assert_eq!(collector.seen.lock().unwrap().gets, ["later"]);
    // The campaign is created; it is found once the answer has expired.
    collector
        .seen
        .lock()
        .unwrap()
        .configs
        .insert("later".into(), grr("later", 8));
    clock.advance(ldp_sdk::UNKNOWN_CAMPAIGN_SECONDS - 1);
    assert!(client.record_index("later", 1).is_err());
    clock.advance(1);
    client.record_index("later", 1).unwrap();
    assert_eq!(collector.seen.lock().unwrap().gets, ["later", "later"]);
}
