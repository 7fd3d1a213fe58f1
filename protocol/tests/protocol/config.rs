//! Campaign validation: every bad field or combination is refused with its exact reason.

use ldp_protocol::campaign::MIN_EPSILON;
use ldp_protocol::mechanism::{LolohaSpec, LongitudinalSpec};
use ldp_protocol::{CampaignConfig, CampaignSpec, ConfigError, Domain, LifetimeSpend, Mechanism};

fn spec(mechanism: Mechanism, epsilon: f64, k: u32) -> CampaignSpec {
    CampaignSpec::new("test", mechanism, epsilon, Domain::Range { k })
}

#[test]
fn new_campaigns_need_at_least_the_minimum_epsilon_but_stored_ones_still_load() {
    for epsilon in [5e-324, 1e-6, 0.009_999] {
        assert_eq!(
            CampaignConfig::create(spec(Mechanism::Grr, epsilon, 4)),
            Err(ConfigError::EpsilonTooSmall(epsilon))
        );
        assert!(CampaignConfig::new(spec(Mechanism::Grr, epsilon, 4)).is_ok());
    }
    let config = CampaignConfig::create(spec(Mechanism::Grr, MIN_EPSILON, 4)).unwrap();
    assert_eq!(config.epsilon(), MIN_EPSILON);
}

#[test]
fn new_campaigns_that_hash_every_value_per_report_are_bounded_but_a_seed_pool_is_not() {
    use ldp_protocol::campaign::MAX_HASHED_PER_REPORT_K;
    let olh = |seed_pool| Mechanism::Olh { g: None, seed_pool };
    let big = MAX_HASHED_PER_REPORT_K + 1;
    for mechanism in [
        olh(None),
        Mechanism::Blh { seed_pool: None },
        Mechanism::Loloha(LolohaSpec::default()),
    ] {
        assert!(
            matches!(
                CampaignConfig::create(spec(mechanism.clone(), 1.0, big)),
                Err(ConfigError::PerReportCostTooHigh { k, max, .. })
                    if k == big && max == MAX_HASHED_PER_REPORT_K
            ),
            "{mechanism:?}"
        );
        assert!(CampaignConfig::new(spec(mechanism.clone(), 1.0, big)).is_ok());
        assert!(CampaignConfig::create(spec(mechanism, 1.0, MAX_HASHED_PER_REPORT_K)).is_ok());
    }
    for mechanism in [olh(Some(1024)), Mechanism::Grr, Mechanism::Hr] {
        assert!(CampaignConfig::create(spec(mechanism, 1.0, 1 << 20)).is_ok());
    }
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one table of bad specs and their exact errors"
)]
fn rejects_every_bad_combination() {
    let cases: Vec<(CampaignSpec, ConfigError)> = vec![
        (
            CampaignSpec {
                id: "Bad Id".into(),
                ..spec(Mechanism::Grr, 1.0, 4)
            },
            ConfigError::InvalidId("Bad Id".into()),
        ),
        (
            CampaignSpec {
                id: "".into(),
                ..spec(Mechanism::Grr, 1.0, 4)
            },
            ConfigError::InvalidId("".into()),
        ),
        (
            spec(Mechanism::Grr, 0.0, 4),
            ConfigError::InvalidEpsilon(0.0),
        ),
        (
            spec(Mechanism::Grr, -1.0, 4),
            ConfigError::InvalidEpsilon(-1.0),
        ),
        (
            spec(Mechanism::Grr, 20.5, 4),
            ConfigError::InvalidEpsilon(20.5),
        ),
        (
            spec(Mechanism::Grr, f64::INFINITY, 4),
            ConfigError::InvalidEpsilon(f64::INFINITY),
        ),
        (spec(Mechanism::Grr, 1.0, 1), ConfigError::DomainTooSmall(1)),
        (
            spec(Mechanism::Oue, 1.0, (1 << 16) + 1),
            ConfigError::DomainTooLarge {
                k: (1 << 16) + 1,
                max: 1 << 16,
                mechanism: "oue",
            },
        ),
        (
            spec(
                Mechanism::Olh {
                    g: Some(1),
                    seed_pool: None,
                },
                1.0,
                16,
            ),
            ConfigError::HashRangeOutOfRange { g: 1, max: 1 << 16 },
        ),
        (
            spec(
                Mechanism::Olh {
                    g: None,
                    seed_pool: Some(0),
                },
                1.0,
                16,
            ),
            ConfigError::SeedPoolOutOfRange(0),
        ),
        (
            CampaignSpec::new(
                "t",
                Mechanism::Grr,
                1.0,
                Domain::Dictionary {
                    values: vec!["a".into(), "".into()],
                },
            ),
            ConfigError::EmptyDictionaryEntry(1),
        ),
        (
            CampaignSpec::new(
                "t",
                Mechanism::Grr,
                1.0,
                Domain::Dictionary {
                    values: vec!["a".into(), "b".into(), "a".into()],
                },
            ),
            ConfigError::DuplicateDictionaryEntry("a".into()),
        ),
        (
            CampaignSpec {
                epoch_seconds: 1,
                ..spec(Mechanism::Grr, 1.0, 4)
            },
            ConfigError::EpochLengthOutOfRange(1),
        ),
        (
            CampaignSpec {
                max_reports_per_epoch: 0,
                ..spec(Mechanism::Grr, 1.0, 4)
            },
            ConfigError::ReportsPerEpochOutOfRange(0),
        ),
        (
            CampaignSpec {
                min_reports: 9,
                ..spec(Mechanism::Grr, 1.0, 4)
            },
            ConfigError::MinReportsTooSmall(9),
        ),
    ];
    for (spec, expected) in cases {
        assert_eq!(CampaignConfig::new(spec.clone()), Err(expected), "{spec:?}");
    }
}

#[test]
fn a_lifetime_bound_must_let_the_first_report_through() {
    let with_limit = |mechanism: Mechanism, limit: f64| {
        CampaignConfig::new(CampaignSpec {
            max_lifetime_epsilon: Some(limit),
            ..spec(mechanism, 1.0, 16)
        })
    };
    let loloha = || {
        Mechanism::Loloha(LolohaSpec {
            epsilon_permanent: Some(3.0),
            g: None,
        })
    };
    // A report of GRR costs its ε; LOLOHA's first report draws a permanent response: ε∞.
    let grr_first = CampaignConfig::new(spec(Mechanism::Grr, 1.0, 16))
        .unwrap()
        .params()
        .epsilon_upper_bound()
        * (1.0 + f64::EPSILON);
    let loloha_first = CampaignConfig::new(spec(loloha(), 1.0, 16))
        .unwrap()
        .params()
        .epsilon_permanent()
        .unwrap();
    for (mechanism, first) in [(Mechanism::Grr, grr_first), (loloha(), loloha_first)] {
        for limit in [first * 0.999, 0.0, -1.0, f64::NAN, f64::INFINITY] {
            match with_limit(mechanism.clone(), limit) {
                Err(ConfigError::LifetimeEpsilonTooSmall { first: f, .. }) => assert_eq!(f, first),
                other => panic!("{limit}: {other:?}"),
            }
        }
        let config = with_limit(mechanism.clone(), first).unwrap();
        assert_eq!(config.max_lifetime_epsilon(), Some(first));
        let spent = LifetimeSpend::default().after_report(config.params(), true);
        assert_eq!(spent.epsilon(config.params()), first);
    }
}

#[test]
fn the_lifetime_bound_is_in_the_digest_only_when_set() {
    let plain = CampaignConfig::new(spec(Mechanism::Grr, 1.0, 16)).unwrap();
    let json = serde_json::to_string(&plain).unwrap();
    assert!(!json.contains("max_lifetime_epsilon"), "{json}");
    let bounded = CampaignConfig::new(CampaignSpec {
        max_lifetime_epsilon: Some(30.0),
        ..spec(Mechanism::Grr, 1.0, 16)
    })
    .unwrap();
    let other = CampaignConfig::new(CampaignSpec {
        max_lifetime_epsilon: Some(31.0),
        ..spec(Mechanism::Grr, 1.0, 16)
    })
    .unwrap();
    assert_ne!(plain.digest(), bounded.digest());
    assert_ne!(bounded.digest(), other.digest());
    let back: CampaignConfig =
        serde_json::from_str(&serde_json::to_string(&bounded).unwrap()).unwrap();
    assert_eq!(back, bounded);
    assert_eq!(back.digest(), bounded.digest());
}

#[test]
fn lifetime_spend_composes_plain_reports_and_counts_permanent_responses() {
    let grr = CampaignConfig::new(spec(Mechanism::Grr, 0.5, 16)).unwrap();
    let lue = CampaignConfig::new(spec(
        Mechanism::LOue(LongitudinalSpec {
            epsilon_permanent: Some(2.0),
        }),
        0.5,
        16,
    ))
    .unwrap();
    let (mut plain, mut memoized) = (LifetimeSpend::default(), LifetimeSpend::default());
    // 365 daily reports; the value changes on days 100, 200 and 300.
    for day in 0..365 {
        let new = day == 0 || day % 100 == 0;
        plain = plain.after_report(grr.params(), new);
        memoized = memoized.after_report(lue.params(), new);
    }
    let per_report = grr.params().epsilon_upper_bound();
    assert!((plain.epsilon(grr.params()) - 365.0 * per_report).abs() < 1e-9);
    assert_eq!(plain.permanent_responses, 0);
    assert_eq!(memoized.permanent_responses, 4);
    assert_eq!(
        memoized.epsilon(lue.params()),
        4.0 * lue.params().epsilon_permanent().unwrap()
    );
    assert_eq!(memoized.reports, 365);
}
