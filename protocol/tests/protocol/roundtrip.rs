//! decode(encode(x)) == x for configs, reports and batches; report length depends only on the
//! configuration.

use ldp_protocol::mechanism::MechanismParams;
use ldp_protocol::{
    Batch, BatchId, CampaignConfig, CampaignId, CampaignSpec, Domain, FORMAT_VERSION, GrrReport,
    LocalHashReport, Mechanism, Report, UnaryReport, wire,
};
use proptest::prelude::*;

pub fn mechanism() -> impl Strategy<Value = Mechanism> {
    prop_oneof![
        Just(Mechanism::Grr),
        Just(Mechanism::Sue),
        Just(Mechanism::Oue),
        (
            proptest::option::of(2u32..64),
            proptest::option::of(1u32..5000)
        )
            .prop_map(|(g, seed_pool)| Mechanism::Olh { g, seed_pool }),
        proptest::option::of(1u32..5000).prop_map(|seed_pool| Mechanism::Blh { seed_pool }),
        Just(Mechanism::Ss { w: None }),
        Just(Mechanism::Hr),
        (1u32..300, 1u32..4, 1u32..100, 0.5f64..8.0).prop_map(|(m, h, cohorts, eps_inf)| {
            Mechanism::Rappor(ldp_protocol::mechanism::RapporSpec {
                bloom_bits: m.max(h),
                hashes: h,
                cohorts,
                f: None,
                epsilon_permanent: Some(eps_inf),
                p: None,
                q: None,
            })
        }),
        (
            proptest::option::of(1u32..300),
            proptest::option::of(0u32..12),
            proptest::option::of(any::<u64>()),
            any::<bool>()
        )
            .prop_map(|(hashes, log_width, seed, hadamard)| {
                let spec = ldp_protocol::mechanism::SketchSpec {
                    hashes,
                    width: log_width.map(|w| 2 << w),
                    seed,
                };
                if hadamard {
                    Mechanism::Hcms(spec)
                } else {
                    Mechanism::Cms(spec)
                }
            }),
        Just(Mechanism::Duchi),
        proptest::option::of(2u32..5000)
            .prop_map(|grid| Mechanism::Piecewise(ldp_protocol::mechanism::GridSpec { grid })),
        proptest::option::of(2u32..5000)
            .prop_map(|grid| Mechanism::Hybrid(ldp_protocol::mechanism::GridSpec { grid })),
        (
            proptest::option::of(0.5f64..30.0),
            proptest::option::of(2u32..64)
        )
            .prop_map(|(epsilon_permanent, g)| {
                Mechanism::Loloha(ldp_protocol::mechanism::LolohaSpec {
                    epsilon_permanent,
                    g,
                })
            }),
        (proptest::option::of(0.5f64..30.0), any::<bool>()).prop_map(
            |(epsilon_permanent, optimized)| {
                let spec = ldp_protocol::mechanism::LongitudinalSpec { epsilon_permanent };
                if optimized {
                    Mechanism::LOue(spec)
                } else {
                    Mechanism::LSue(spec)
                }
            }
        ),
    ]
}

pub fn domain() -> impl Strategy<Value = Domain> {
    prop_oneof![
        (2u32..3000).prop_map(|k| Domain::Range { k }),
        proptest::collection::btree_set("[a-z😀-🙏]{1,8}", 1..40).prop_map(|set| {
            Domain::Dictionary {
                values: set.into_iter().collect(),
            }
        }),
        Just(Domain::Open),
    ]
}

pub fn config() -> impl Strategy<Value = CampaignConfig> {
    (
        "[a-z0-9][a-z0-9_-]{0,20}",
        ".{0,40}",
        mechanism(),
        0.01f64..20.0,
        domain(),
        60u64..1_000_000,
        1u32..10,
        10u64..10_000,
    )
        // Every generated field is in range; only a seed pool whose table (pool × g at a
        // large ε) exceeds MAX_POOL_CELLS is refused, and those draws are skipped.
        .prop_filter_map(
            "seed-pool table within MAX_POOL_CELLS",
            |(id, description, mechanism, epsilon, domain, epoch, per_epoch, min)| {
                let domain = match (&mechanism, domain) {
                    (m, _) if m.kind().is_numeric() => Domain::Numeric { lo: -1.5, hi: 7.0 },
                    (m, domain) if m.kind().takes_candidates() => domain,
                    (_, Domain::Open) => Domain::Range { k: 16 },
                    (_, domain) => domain,
                };
                CampaignConfig::new(CampaignSpec {
                    id,
                    description,
                    mechanism,
                    epsilon,
                    domain,
                    epoch_seconds: epoch,
                    max_reports_per_epoch: per_epoch,
                    min_reports: min,
                    max_lifetime_epsilon: None,
                })
                .ok()
            },
        )
}

/// A report that fits `params`, from raw random numbers.
#[expect(clippy::too_many_lines, reason = "one arm per mechanism family")]
pub fn report_for(params: &MechanismParams, raw: (u64, u32, Vec<u64>)) -> Report {
    let (seed, value, words) = raw;
    match params {
        MechanismParams::Grr(p) => Report::Grr(GrrReport { value: value % p.k }),
        MechanismParams::Sue(p) | MechanismParams::Oue(p) => {
            let mut bits: Vec<u64> = (0..p.words()).map(|i| words[i % words.len()]).collect();
            if p.k % 64 != 0 {
                *bits.last_mut().unwrap() &= (1 << (p.k % 64)) - 1;
            }
            let r = UnaryReport { bits };
            if matches!(params, MechanismParams::Sue(_)) {
                Report::Sue(r)
            } else {
                Report::Oue(r)
            }
        }
        MechanismParams::Olh(p) | MechanismParams::Blh(p) => {
            let seed = match p.seed_pool {
                Some(pool) => seed % u64::from(pool),
                None => seed,
            };
            let r = LocalHashReport {
                seed,
                value: value % p.g,
            };
            if matches!(params, MechanismParams::Olh(_)) {
                Report::Olh(r)
            } else {
                Report::Blh(r)
            }
        }
        MechanismParams::LSue(p) | MechanismParams::LOue(p) => {
            let mut bits: Vec<u64> = (0..p.words()).map(|i| words[i % words.len()]).collect();
            if p.k % 64 != 0 {
                *bits.last_mut().unwrap() &= (1 << (p.k % 64)) - 1;
            }
            let r = UnaryReport { bits };
            if p.optimized {
                Report::LOue(r)
            } else {
                Report::LSue(r)
            }
        }
        MechanismParams::Loloha(p) => Report::Loloha(LocalHashReport {
            seed,
            value: value % p.g,
        }),
        MechanismParams::DBitFlip(p) => {
            // d consecutive points after a random offset, and the raw bits cut to d.
            let start = value % (p.points - p.sampled + 1);
            let mask = if p.sampled == 64 {
                u64::MAX
            } else {
                (1 << p.sampled) - 1
            };
            Report::DBitFlip(ldp_protocol::DBitFlipReport {
                points: (start..start + p.sampled).collect(),
                bits: seed & mask,
            })
        }
        MechanismParams::Hr(p) => Report::Hr(GrrReport {
            value: value % p.outputs,
        }),
        MechanismParams::Ss(p) => {
            // The first w values after a random offset, sorted.
            let start = value % (p.k - p.w + 1);
            Report::Ss(ldp_protocol::SubsetReport {
                values: (start..start + p.w).collect(),
            })
        }
        MechanismParams::Rappor(p) => {
            let mut bits: Vec<u64> = (0..p.words()).map(|i| words[i % words.len()]).collect();
            if p.bloom_bits % 64 != 0 {
                *bits.last_mut().unwrap() &= (1 << (p.bloom_bits % 64)) - 1;
            }
            Report::Rappor(ldp_protocol::RapporReport {
                cohort: value % p.cohorts,
                bits,
            })
        }
        MechanismParams::Cms(p) => {
            let mut bits: Vec<u64> = (0..p.words()).map(|i| words[i % words.len()]).collect();
            if p.width % 64 != 0 {
                *bits.last_mut().unwrap() &= (1 << (p.width % 64)) - 1;
            }
            Report::Cms(ldp_protocol::SketchReport {
                row: value % p.hashes,
                bits,
            })
        }
        MechanismParams::Duchi(p) => Report::Duchi(ldp_protocol::NumericReport {
            cell: value % p.cells(),
        }),
        MechanismParams::Piecewise(p) => Report::Piecewise(ldp_protocol::NumericReport {
            cell: value % p.cells(),
        }),
        MechanismParams::Hybrid(p) => Report::Hybrid(ldp_protocol::NumericReport {
            cell: value % p.cells(),
        }),
        MechanismParams::Hcms(p) => Report::Hcms(ldp_protocol::HadamardSketchReport {
            row: value % p.hashes,
            column: (seed as u32) % p.width,
            positive: seed >> 63 == 1,
        }),
    }
}

fn raw() -> impl Strategy<Value = (u64, u32, Vec<u64>)> {
    (
        any::<u64>(),
        any::<u32>(),
        proptest::collection::vec(any::<u64>(), 1..8),
    )
}

pub fn batch() -> impl Strategy<Value = (CampaignConfig, Batch)> {
    (
        config(),
        any::<u64>(),
        any::<[u8; 16]>(),
        proptest::collection::vec(raw(), 0..20),
    )
        .prop_map(|(config, epoch, id, raws)| {
            let mut batch = Batch::new(&config, epoch, BatchId(id));
            batch.reports = raws
                .into_iter()
                .map(|raw| report_for(config.params(), raw))
                .collect();
            (config, batch)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn configs_round_trip(config in config()) {
        let bytes = wire::encode(&config).unwrap();
        let back: CampaignConfig = wire::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &config);
        prop_assert_eq!(back.digest(), config.digest());
        // JSON too, through the same validating constructor.
        let json = serde_json::to_string(&config).unwrap();
        let back: CampaignConfig = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, config);
    }

    #[test]
    fn batches_round_trip_and_reports_are_valid((config, batch) in batch()) {
        let bytes = wire::encode(&batch).unwrap();
        let back = wire::decode_batch(&bytes).unwrap();
        prop_assert_eq!(&back, &batch);
        for report in &back.reports {
            prop_assert!(report.check(config.params()).is_ok());
        }
    }

    #[test]
    fn report_length_depends_only_on_the_config(config in config(), a in raw(), b in raw()) {
        let ra = wire::encode(&report_for(config.params(), a)).unwrap();
        let rb = wire::encode(&report_for(config.params(), b)).unwrap();
        prop_assert_eq!(ra.len(), rb.len());
        prop_assert_eq!(ra.len(), config.params().report_bytes());
    }
}

#[test]
fn campaign_ids_are_validated_when_decoding() {
    #[derive(serde::Serialize)]
    struct RawBatch {
        version: u16,
        campaign: String,
        config_digest: u64,
        epoch: u64,
        batch_id: [u8; 16],
        reports: Vec<Report>,
    }
    let raw = RawBatch {
        version: FORMAT_VERSION,
        campaign: "Not A Slug".into(),
        config_digest: 1,
        epoch: 1,
        batch_id: [0; 16],
        reports: vec![],
    };
    let bytes = wire::encode(&raw).unwrap();
    assert!(wire::decode_batch(&bytes).is_err());
    assert!(CampaignId::new("ok-id_1").is_ok());
}
