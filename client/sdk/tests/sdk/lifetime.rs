//! The lifetime ledger: what a device has spent on a campaign over years of reports, and the
//! campaign's `max_lifetime_epsilon`, kept across restarts.

use std::collections::BTreeSet;

use ldp_client::{DBitFlipEncoder, DeviceSecret, LolohaEncoder};
use ldp_protocol::mechanism::local_hash::bucket;
use ldp_protocol::{
    CampaignConfig, CampaignSpec, Domain, Mechanism, MechanismKind, MechanismParams,
};
use ldp_sdk::{ClientOptions, DB_FILE, ManualClock, SdkError};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::collector::{Collector, START};

const DAY: u64 = 86_400;

fn config(kind: MechanismKind, limit: Option<f64>) -> CampaignConfig {
    CampaignConfig::new(CampaignSpec {
        max_lifetime_epsilon: limit,
        ..CampaignSpec::new(
            kind.name(),
            Mechanism::with_defaults(kind),
            1.0,
            Domain::Range { k: 16 },
        )
    })
    .unwrap()
}

/// The value held on `day`: 1, then 5 from day 100, 6 from day 200, and 1 again from day 300
/// — three changes, three distinct values.
fn value_on(day: u64) -> u32 {
    [1, 5, 6, 1][usize::try_from(day / 100).unwrap()]
}

/// The device secret, read from the state file of a closed client.
fn secret(dir: &std::path::Path) -> DeviceSecret {
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    let bytes: Vec<u8> = conn
        .query_row("SELECT value FROM meta WHERE key = 'secret'", [], |r| {
            r.get(0)
        })
        .unwrap();
    DeviceSecret::from_bytes(bytes.try_into().unwrap())
}

#[test]
fn a_year_of_daily_reports_spends_what_the_mechanism_bounds() {
    let kinds = [
        MechanismKind::Grr,
        MechanismKind::Rappor,
        MechanismKind::Loloha,
        MechanismKind::LSue,
        MechanismKind::LOue,
    ];
    let configs: Vec<CampaignConfig> = kinds.iter().map(|&k| config(k, None)).collect();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let collector = Collector::new(&clock, &configs);
    let mut client = collector.client(dir.path(), ClientOptions::default());
    for day in 0..365 {
        if day == 180 {
            // Half-way, the app restarts.
            drop(client);
            client = collector.client(dir.path(), ClientOptions::default());
        }
        for config in &configs {
            client
                .record_index(config.id().as_str(), value_on(day))
                .unwrap();
        }
        clock.advance(DAY);
    }
    let spent: Vec<_> = configs
        .iter()
        .map(|c| client.privacy_spent(c.id().as_str()).unwrap())
        .collect();
    drop(client);
    let secret = secret(dir.path());

    let distinct: BTreeSet<u32> = (0..365).map(value_on).collect();
    assert_eq!(distinct.len(), 3);
    for (config, spent) in configs.iter().zip(&spent) {
        let params = config.params();
        assert_eq!(spent.lifetime_reports, 365, "{}", config.id());
        assert_eq!(spent.max_lifetime_epsilon, None);
        let (expected, responses) = match params {
            // Sequential composition: 365 reports of ε each.
            MechanismParams::Grr(_) => (365.0 * params.epsilon_upper_bound(), 0),
            // One permanent response per hashed bucket of the values held.
            MechanismParams::Loloha(loloha) => {
                let seed = LolohaEncoder::with_simulation_rng(
                    config,
                    secret.clone(),
                    ChaCha20Rng::from_seed([0; 32]),
                )
                .unwrap()
                .seed();
                let buckets: BTreeSet<u32> = distinct
                    .iter()
                    .map(|&v| bucket(seed, v, loloha.g))
                    .collect();
                let n = buckets.len() as u64;
                (n as f64 * params.epsilon_permanent().unwrap(), n)
            }
            // One permanent response per distinct value.
            _ => (3.0 * params.epsilon_permanent().unwrap(), 3),
        };
        let tolerance = expected * 1e-12;
        assert!(
            (spent.lifetime_epsilon - expected).abs() <= tolerance,
            "{}: {} against {expected}",
            config.id(),
            spent.lifetime_epsilon
        );
        assert_eq!(spent.permanent_responses, responses, "{}", config.id());
        // The memoized bound is far below what composing the reports would give.
        if responses > 0 {
            assert!(spent.lifetime_epsilon < 365.0 * params.epsilon_upper_bound() / 10.0);
        }
    }
}

#[test]
fn a_lifetime_bound_refuses_new_values_across_restarts_and_keeps_the_known_ones() {
    let eps_inf = config(MechanismKind::LOue, None)
        .params()
        .epsilon_permanent()
        .unwrap();
    // Room for two permanent responses, not three.
    let bounded = config(MechanismKind::LOue, Some(2.5 * eps_inf));
    let id = bounded.id().as_str().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let collector = Collector::new(&clock, &[bounded]);
    let open = || collector.client(dir.path(), ClientOptions::default());

    let client = open();
    client.record_index(&id, 3).unwrap();
    clock.advance(DAY);
    client.record_index(&id, 4).unwrap();
    drop(client);

    clock.advance(DAY);
    let client = open();
    match client.record_index(&id, 9) {
        Err(SdkError::LifetimeBudgetExhausted {
            spent,
            would_be,
            limit,
            ..
        }) => {
            assert_eq!(spent, 2.0 * eps_inf);
            assert_eq!(would_be, 3.0 * eps_inf);
            assert_eq!(limit, 2.5 * eps_inf);
        }
        other => panic!("{other:?}"),
    }
    // The refusal charged nothing: a known value still goes through in the same epoch.
    client.record_index(&id, 3).unwrap();
    drop(client);

    for _ in 0..3 {
        clock.advance(DAY);
        let client = open();
        assert!(matches!(
            client.record_index(&id, 9),
            Err(SdkError::LifetimeBudgetExhausted { .. })
        ));
        client.record_index(&id, 4).unwrap();
    }
    let spent = open().privacy_spent(&id).unwrap();
    assert_eq!(spent.lifetime_reports, 6);
    assert_eq!(spent.permanent_responses, 2);
    assert_eq!(spent.lifetime_epsilon, 2.0 * eps_inf);
    assert_eq!(spent.max_lifetime_epsilon, Some(2.5 * eps_inf));
}

#[test]
fn a_bound_on_a_plain_mechanism_counts_every_report() {
    let per_report = config(MechanismKind::Grr, None)
        .params()
        .epsilon_upper_bound();
    let bounded = config(MechanismKind::Grr, Some(3.5 * per_report));
    let id = bounded.id().as_str().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let collector = Collector::new(&clock, &[bounded]);
    for day in 0..5 {
        let client = collector.client(dir.path(), ClientOptions::default());
        let recorded = client.record_index(&id, 2);
        if day < 3 {
            recorded.unwrap();
        } else {
            assert!(
                matches!(recorded, Err(SdkError::LifetimeBudgetExhausted { .. })),
                "day {day}: {recorded:?}"
            );
        }
        clock.advance(DAY);
    }
    let client = collector.client(dir.path(), ClientOptions::default());
    assert_eq!(client.privacy_spent(&id).unwrap().lifetime_reports, 3);
    clock.advance(2 * DAY);
    assert_eq!(client.upload_pending().unwrap().reports_sent, 3);
}

#[test]
fn charges_from_before_the_lifetime_ledger_count_by_composition() {
    let dir = tempfile::tempdir().unwrap();
    {
        // A state file as an earlier version left it: a ledger, no lifetime ledger.
        let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.execute_batch(
            "CREATE TABLE ledger (
                 campaign TEXT NOT NULL, epoch INTEGER NOT NULL,
                 reports INTEGER NOT NULL, epsilon REAL NOT NULL,
                 PRIMARY KEY (campaign, epoch)) WITHOUT ROWID;
             INSERT INTO ledger VALUES ('grr', 20000, 1, 0.75), ('grr', 20001, 1, 0.75);",
        )
        .unwrap();
    }
    let bounded = config(MechanismKind::Grr, Some(2.6));
    let per_report = bounded.params().epsilon_upper_bound();
    let clock = ManualClock::new(START);
    let collector = Collector::new(&clock, &[bounded]);
    let client = collector.client(dir.path(), ClientOptions::default());
    let spent = client.privacy_spent("grr").unwrap();
    assert_eq!((spent.lifetime_reports, spent.lifetime_epsilon), (2, 1.5));
    // 1.5 + ε of one more report is within 2.6; a second one is not.
    assert!(1.5 + 2.0 * per_report > 2.6 && 1.5 + per_report <= 2.6);
    client.record_index("grr", 1).unwrap();
    clock.advance(DAY);
    assert!(matches!(
        client.record_index("grr", 1),
        Err(SdkError::LifetimeBudgetExhausted { .. })
    ));
}

#[test]
fn a_dbitflip_device_spends_one_report_s_epsilon_per_response_it_repeats() {
    let config = CampaignConfig::new(CampaignSpec::new(
        "volume",
        Mechanism::with_defaults(MechanismKind::DBitFlip),
        1.0,
        Domain::Numeric { lo: 0.0, hi: 100.0 },
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let collector = Collector::new(&clock, std::slice::from_ref(&config));
    let client = collector.client(dir.path(), ClientOptions::default());
    // 365 days; the number changes on days 100, 200 and 300, back to the first at the end.
    let number_on = |day: u64| [12.5, 57.0, 93.25, 12.5][usize::try_from(day / 100).unwrap()];
    for day in 0..365 {
        client.record_number("volume", number_on(day)).unwrap();
        clock.advance(DAY);
    }
    let spent = client.privacy_spent("volume").unwrap();
    drop(client);
    // The responses a device repeats: one per case its numbers fell in (at most d + 1 = 5).
    let encoder = DBitFlipEncoder::with_secret(&config, secret(dir.path())).unwrap();
    let cases: BTreeSet<_> = (0..365)
        .map(|day| encoder.memo_tag(number_on(day)).unwrap())
        .collect();
    let eps = config.params().epsilon_upper_bound();
    assert!(cases.len() <= 3);
    assert_eq!(spent.permanent_responses, cases.len() as u64);
    assert_eq!(spent.lifetime_reports, 365);
    assert!((spent.lifetime_epsilon - cases.len() as f64 * eps).abs() < 1e-12);
}
