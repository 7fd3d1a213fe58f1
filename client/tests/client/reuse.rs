//! `encode_index_into` and `encode_indices_into` draw exactly what `encode_index` draws, whatever
//! the slot held.

use ldp_client::Encoder;
use ldp_protocol::{CampaignConfig, GrrReport, Mechanism, MechanismKind, Report};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

#[test]
fn encoding_into_a_reused_report_matches_a_fresh_one() {
    for kind in MechanismKind::ALL
        .into_iter()
        .chain(MechanismKind::LONGITUDINAL)
    {
        let config =
            CampaignConfig::range("reuse", Mechanism::with_defaults(kind), 1.0, 130).unwrap();
        let mut fresh = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([3; 32]));
        let mut reused = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([3; 32]));
        // Start from a slot of another shape, then keep reusing it.
        let mut slot = Report::Grr(GrrReport { value: 0 });
        for i in 0..500u32 {
            let v = (i * 37) % 130;
            reused.encode_index_into(v, &mut slot).unwrap();
            assert_eq!(slot, fresh.encode_index(v).unwrap(), "{kind:?} report {i}");
        }
        assert!(reused.encode_index_into(130, &mut slot).is_err());
    }
}

/// `encode_into` of a string draws exactly what `encode` draws, for the sketches over an open
/// domain (a CMS slot keeps its words) and a range domain (canonical decimals).
#[test]
fn encoding_a_string_into_a_reused_report_matches_a_fresh_one() {
    use ldp_protocol::{CampaignSpec, Domain};
    for kind in [MechanismKind::Cms, MechanismKind::Hcms] {
        for domain in [Domain::Open, Domain::Range { k: 130 }] {
            let config = CampaignConfig::new(CampaignSpec::new(
                "reuse",
                Mechanism::with_defaults(kind),
                1.0,
                domain.clone(),
            ))
            .unwrap();
            let mut fresh = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([5; 32]));
            let mut reused = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([5; 32]));
            let mut slot = Report::Grr(GrrReport { value: 0 });
            for i in 0..300u32 {
                // Zero-padded: a range domain must hash the canonical decimal.
                let v = format!("{:03}", (i * 37) % 130);
                reused.encode_into(&v, &mut slot).unwrap();
                assert_eq!(slot, fresh.encode(&v).unwrap(), "{kind:?} {domain:?} {i}");
            }
            if let Domain::Range { .. } = domain {
                assert!(reused.encode_into("130", &mut slot).is_err());
            }
        }
    }
}

/// Every campaign shape an encoder takes strings for: each kind over a range domain, the index
/// mechanisms and the string ones over a dictionary, the string ones over an open domain.
fn string_campaigns() -> Vec<(ldp_protocol::CampaignConfig, Vec<String>)> {
    use ldp_protocol::{CampaignSpec, Domain};
    let dictionary = Domain::Dictionary {
        values: (0..40).map(|i| format!("value-{i}")).collect(),
    };
    let mut out = Vec::new();
    for kind in MechanismKind::ALL
        .into_iter()
        .chain(MechanismKind::LONGITUDINAL)
    {
        let mut domains = if kind.is_numeric() {
            vec![Domain::Numeric { lo: 0.0, hi: 100.0 }]
        } else {
            vec![Domain::Range { k: 130 }, dictionary.clone()]
        };
        if kind.takes_candidates() {
            domains.push(Domain::Open);
        }
        for domain in domains {
            let inputs = match domain {
                Domain::Numeric { .. } => (0..50).map(|i| format!("{}", i * 3 - 20)).collect(),
                Domain::Range { .. } => (0..50).map(|i| format!("{:03}", (i * 37) % 130)).collect(),
                _ => (0..50).map(|i| format!("value-{}", (i * 7) % 45)).collect(),
            };
            let spec = CampaignSpec::new("reuse", Mechanism::with_defaults(kind), 1.0, domain);
            out.push((CampaignConfig::new(spec).unwrap(), inputs));
        }
    }
    out
}

/// `encode_into` of a string draws exactly what `encode` draws for every mechanism and domain,
/// whatever the slot held; a refused value leaves the slot as it was.
#[test]
fn every_mechanism_encodes_strings_into_a_reused_report_as_fresh() {
    for (config, inputs) in string_campaigns() {
        let what = format!("{:?} {:?}", config.params().kind(), config.domain());
        let mut fresh = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([9; 32]));
        let mut reused = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([9; 32]));
        let mut slot = Report::Grr(GrrReport { value: 0 });
        for (i, value) in inputs.iter().enumerate() {
            reused.encode_into(value, &mut slot).unwrap();
            assert_eq!(slot, fresh.encode(value).unwrap(), "{what} input {i}");
        }
        let before = slot.clone();
        let refused = if config.params().kind().is_numeric() {
            "not a number"
        } else {
            "999"
        };
        if reused.encode_into(refused, &mut slot).is_err() {
            assert_eq!(slot, before, "{what}: a refused value changed the report");
        }
        assert_eq!(reused.clamped(), fresh.clamped(), "{what}");
    }
}

/// `encode_index_into` draws exactly what `encode_index` draws over a dictionary too (RAPPOR
/// and the sketches hash the entry), and refuses indices from k on.
#[test]
fn dictionary_indices_encode_into_a_reused_report_as_fresh() {
    for (config, _) in string_campaigns() {
        let ldp_protocol::Domain::Dictionary { .. } = config.domain() else {
            continue;
        };
        let what = format!("{:?}", config.params().kind());
        let k = config.k();
        let mut fresh = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([4; 32]));
        let mut reused = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([4; 32]));
        let mut slot = Report::Grr(GrrReport { value: 0 });
        for i in 0..100u32 {
            let v = (i * 13) % k;
            reused.encode_index_into(v, &mut slot).unwrap();
            assert_eq!(slot, fresh.encode_index(v).unwrap(), "{what} report {i}");
        }
        assert!(reused.encode_index_into(k, &mut slot).is_err(), "{what}");
    }
}

/// RAPPOR and the sketches hash a dictionary entry whether it is given as a string or by its
/// index, so the same draws give the same report (and the aggregator's candidates, the
/// dictionary's entries, match it).
#[test]
fn string_mechanisms_hash_a_dictionary_entry_given_either_way() {
    for (config, _) in string_campaigns() {
        let dictionary = matches!(config.domain(), ldp_protocol::Domain::Dictionary { .. });
        if !(dictionary && config.params().kind().takes_candidates()) {
            continue;
        }
        let what = format!("{:?}", config.params().kind());
        let mut by_string = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([2; 32]));
        let mut by_index = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([2; 32]));
        for i in 0..40u32 {
            let report = by_string.encode(&format!("value-{i}")).unwrap();
            assert_eq!(
                report,
                by_index.encode_index(i).unwrap(),
                "{what} entry {i}"
            );
        }
    }
}

/// The mean mechanisms take a number as a string, clamped like `encode_number` (counted), and
/// `encode_charged` charges only what it encodes.
#[test]
fn a_numeric_campaign_takes_numbers_as_strings_and_charges_only_what_it_encodes() {
    use ldp_client::{Accountant, ClientError, InMemoryLedger};
    use ldp_protocol::{CampaignSpec, Domain};
    let config = CampaignConfig::new(CampaignSpec::new(
        "volume",
        Mechanism::with_defaults(MechanismKind::Piecewise),
        1.0,
        Domain::Numeric { lo: 0.0, hi: 100.0 },
    ))
    .unwrap();
    let mut by_string = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([7; 32]));
    let mut by_number = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([7; 32]));
    for x in [-5.0, 0.0, 42.5, 100.0, 250.0] {
        assert_eq!(
            by_string.encode(&format!(" {x} ")).unwrap(),
            by_number.encode_number(x).unwrap()
        );
    }
    assert_eq!((by_string.clamped(), by_number.clamped()), (2, 2));

    let mut accountant = Accountant::new(InMemoryLedger::default());
    assert!(matches!(
        by_string.encode_charged(&mut accountant, 1, "loud"),
        Err(ClientError::NotInRange(_))
    ));
    assert!(matches!(
        by_string.encode_number_charged(&mut accountant, 1, f64::NAN),
        Err(ClientError::NotFinite(_))
    ));
    assert_eq!(
        by_string.encode_charged(&mut accountant, 1, "42").unwrap(),
        by_number.encode_number(42.0).unwrap()
    );
    assert!(matches!(
        by_string.encode_number_charged(&mut accountant, 1, 42.0),
        Err(ClientError::Budget(_))
    ));
    assert!(matches!(
        by_string.encode_index(0),
        Err(ClientError::IndexOutOfRange { index: 0, k: 0 })
    ));
}

/// Each family's randomizer, called directly, draws what the encoder draws for an index.
#[test]
fn the_randomizers_draw_what_the_encoder_draws() {
    use ldp_client::Randomizer;
    use ldp_client::encoder::sketch::{Cms, Hcms};
    use ldp_protocol::mechanism::MechanismParams as P;
    for kind in MechanismKind::ALL
        .into_iter()
        .chain(MechanismKind::LONGITUDINAL)
    {
        if kind.is_numeric() {
            continue;
        }
        let config =
            CampaignConfig::range("direct", Mechanism::with_defaults(kind), 1.0, 130).unwrap();
        let mut encoder = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([1; 32]));
        let mut rng = ChaCha20Rng::from_seed([1; 32]);
        for v in [0u32, 64, 129] {
            let digits = v.to_string();
            let bytes = digits.as_bytes();
            let direct = match config.params() {
                P::Grr(p) => Report::Grr(p.encode(&v, &mut rng)),
                P::Sue(p) => Report::Sue(p.encode(&v, &mut rng)),
                P::Oue(p) => Report::Oue(p.encode(&v, &mut rng)),
                P::Olh(p) => Report::Olh(p.encode(&v, &mut rng)),
                P::Blh(p) => Report::Blh(p.encode(&v, &mut rng)),
                P::Ss(p) => Report::Ss(p.encode(&v, &mut rng)),
                P::Hr(p) => Report::Hr(p.encode(&v, &mut rng)),
                P::Rappor(p) => Report::Rappor(p.encode(bytes, &mut rng)),
                P::Cms(p) => Report::Cms(Cms(p).encode(bytes, &mut rng)),
                P::Hcms(p) => Report::Hcms(Hcms(p).encode(bytes, &mut rng)),
                P::Loloha(p) => Report::Loloha(p.encode(&v, &mut rng)),
                P::LSue(p) => Report::LSue(p.encode(&v, &mut rng)),
                P::LOue(p) => Report::LOue(p.encode(&v, &mut rng)),
                P::Duchi(_) | P::Piecewise(_) | P::Hybrid(_) | P::DBitFlip(_) => unreachable!(),
            };
            assert_eq!(direct, encoder.encode_index(v).unwrap(), "{kind:?} {v}");
        }
    }
}

/// `encode_indices_into` draws exactly what `encode_index` draws on each index in turn, for
/// every mechanism and whatever the reports held; a block with an index out of range, or of
/// another length than its reports, draws nothing and changes no report.
#[test]
fn encoding_a_block_of_indices_matches_one_at_a_time() {
    use ldp_client::ClientError;
    for kind in MechanismKind::ALL
        .into_iter()
        .chain(MechanismKind::LONGITUDINAL)
    {
        if kind.is_numeric() {
            continue;
        }
        let config =
            CampaignConfig::range("block", Mechanism::with_defaults(kind), 1.0, 130).unwrap();
        let mut fresh = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([6; 32]));
        let mut block = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([6; 32]));
        let mut reports = vec![Report::Grr(GrrReport { value: 0 }); 64];
        for round in 0..3u32 {
            let indices: Vec<u32> = (0..64).map(|i| (i * 37 + round) % 130).collect();
            block.encode_indices_into(&indices, &mut reports).unwrap();
            for (i, (&v, report)) in indices.iter().zip(&reports).enumerate() {
                assert_eq!(
                    *report,
                    fresh.encode_index(v).unwrap(),
                    "{kind:?} {round} {i}"
                );
            }
        }
        let before = reports.clone();
        assert!(matches!(
            block.encode_indices_into(&[1, 130], &mut reports[..2]),
            Err(ClientError::IndexOutOfRange { index: 130, k: 130 })
        ));
        assert!(matches!(
            block.encode_indices_into(&[1, 2], &mut reports[..3]),
            Err(ClientError::LengthMismatch {
                values: 2,
                reports: 3
            })
        ));
        assert_eq!(
            reports, before,
            "{kind:?}: a refused block changed a report"
        );
        assert_eq!(
            block.encode_index(5).unwrap(),
            fresh.encode_index(5).unwrap(),
            "{kind:?}: a refused block drew"
        );
    }
}

/// `encode_number_into` draws exactly what `encode_number` draws and clamps alike; a refused
/// number leaves the report as it was.
#[test]
fn encoding_a_number_into_a_reused_report_matches_a_fresh_one() {
    use ldp_protocol::{CampaignSpec, Domain};
    for kind in MechanismKind::ALL.into_iter().filter(|k| k.is_numeric()) {
        let config = CampaignConfig::new(CampaignSpec::new(
            "volume",
            Mechanism::with_defaults(kind),
            1.0,
            Domain::Numeric { lo: 0.0, hi: 100.0 },
        ))
        .unwrap();
        let mut fresh = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([8; 32]));
        let mut reused = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([8; 32]));
        let mut slot = Report::Grr(GrrReport { value: 0 });
        for i in 0..200 {
            let x = f64::from(i) * 0.7 - 20.0;
            reused.encode_number_into(x, &mut slot).unwrap();
            assert_eq!(slot, fresh.encode_number(x).unwrap(), "{kind:?} {i}");
        }
        let before = slot.clone();
        assert!(reused.encode_number_into(f64::NAN, &mut slot).is_err());
        assert_eq!(slot, before, "{kind:?}");
        assert_eq!(reused.clamped(), fresh.clamped(), "{kind:?}");
    }
}
