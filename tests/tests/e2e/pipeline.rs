//! The library-level pipeline: device encodes → batch bytes → collector decodes, folds,
//! merges partial counters from several nodes and estimates.

use ldp_aggregator::{Accumulator, AggregateError, Counters};
use ldp_client::Encoder;
use ldp_protocol::{
    Batch, BatchId, CampaignConfig, CampaignSpec, Domain, Mechanism, MechanismKind, Report,
    ReportError, wire,
};
use ldp_sim::population::Population;
use ldp_tests::seeded_rng;

fn mechanisms() -> Vec<Mechanism> {
    let mut all: Vec<Mechanism> = MechanismKind::ALL
        .into_iter()
        .map(Mechanism::with_defaults)
        .collect();
    all.push(Mechanism::Olh {
        g: None,
        seed_pool: Some(64),
    });
    all
}

#[test]
fn batches_survive_the_wire_and_partial_counters_merge_exactly() {
    let pop = Population::zipf(40, 1.1, 6_000);
    for mechanism in mechanisms() {
        let config = CampaignConfig::new(CampaignSpec::new(
            "pipeline",
            mechanism.clone(),
            2.0,
            Domain::Range { k: 40 },
        ))
        .unwrap();
        let mut encoder = Encoder::with_simulation_rng(&config, seeded_rng("pipeline", 1));
        let reports: Vec<Report> = pop
            .values()
            .map(|v| encoder.encode_index(v).unwrap())
            .collect();

        // One node folds everything; three nodes fold a third each from decoded batches.
        let mut single = Counters::new(&config);
        single.fold_all(&reports).unwrap();
        let mut nodes = [
            Counters::new(&config),
            Counters::new(&config),
            Counters::new(&config),
        ];
        for (i, chunk) in reports.chunks(500).enumerate() {
            let mut batch = Batch::new(&config, 7, BatchId([i as u8; 16]));
            batch.reports = chunk.to_vec();
            let bytes = wire::encode(&batch).unwrap();
            let decoded = wire::decode_batch(&bytes).unwrap();
            assert_eq!(decoded, batch);
            nodes[i % 3].fold_batch(&decoded).unwrap();
        }
        let [mut a, b, c] = nodes;
        // Merge order must not matter.
        let mut other = c.clone();
        other.merge(&b).unwrap();
        a.merge(&other).unwrap();
        assert_eq!(a.snapshot(), single.snapshot(), "{mechanism:?}");
        assert_eq!(a.n(), 6_000);

        // Counters survive serialization.
        let restored = Counters::from_bytes(&config, &a.to_bytes().unwrap()).unwrap();
        assert_eq!(restored.estimate().unwrap(), single.estimate().unwrap());

        // Everything estimated is finite and the consistent counts sum to n.
        let estimates = single.estimate().unwrap();
        let sum: f64 = estimates.values.iter().map(|e| e.norm_sub_count).sum();
        assert!((sum - 6_000.0).abs() < 1e-6, "{mechanism:?}: {sum}");
        assert!(
            estimates
                .values
                .iter()
                .all(|e| e.count.is_finite() && e.std_error > 0.0)
        );
    }
}

#[test]
fn a_bad_report_leaves_counters_untouched() {
    let config = CampaignConfig::new(CampaignSpec::new(
        "bad",
        Mechanism::Grr,
        1.0,
        Domain::Range { k: 8 },
    ))
    .unwrap();
    let mut counters = Counters::new(&config);
    let mut batch = Batch::new(&config, 1, BatchId([1; 16]));
    batch.reports = vec![
        Report::Grr(ldp_protocol::GrrReport { value: 3 }),
        Report::Grr(ldp_protocol::GrrReport { value: 8 }),
    ];
    let before = counters.snapshot();
    assert_eq!(
        counters.fold_batch(&batch),
        Err(AggregateError::Report {
            index: 1,
            source: ReportError::IndexOutOfRange { value: 8, bound: 8 }
        })
    );
    assert_eq!(counters.snapshot(), before);

    batch.reports.truncate(1);
    batch.config_digest ^= 1;
    assert!(matches!(
        counters.fold_batch(&batch),
        Err(AggregateError::DigestMismatch { .. })
    ));
    assert_eq!(counters.snapshot(), before);
}

#[test]
fn counters_of_another_configuration_do_not_merge() {
    let a = CampaignConfig::new(CampaignSpec::new(
        "m",
        Mechanism::Oue,
        1.0,
        Domain::Range { k: 8 },
    ))
    .unwrap();
    let b = CampaignConfig::new(CampaignSpec::new(
        "m",
        Mechanism::Oue,
        2.0,
        Domain::Range { k: 8 },
    ))
    .unwrap();
    let mut ca = Counters::new(&a);
    assert!(matches!(
        ca.merge(&Counters::new(&b)),
        Err(AggregateError::DigestMismatch { .. })
    ));
    assert!(Counters::from_bytes(&a, &Counters::new(&b).to_bytes().unwrap()).is_err());
}
