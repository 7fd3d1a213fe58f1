//! Campaign validation: every bad field or combination is refused with its exact reason.

use ldp_protocol::campaign::MIN_EPSILON;
use ldp_protocol::{CampaignConfig, CampaignSpec, ConfigError, Domain, Mechanism};

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
