//! `encode_index_into` draws exactly what `encode_index` draws, whatever the slot held.

use ldp_client::Encoder;
use ldp_protocol::{CampaignConfig, GrrReport, Mechanism, MechanismKind, Report};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

#[test]
fn encoding_into_a_reused_report_matches_a_fresh_one() {
    for kind in MechanismKind::ALL {
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
