//! What the fuzz targets (`fuzz/`) run, shared with the test that replays their corpora on
//! stable Rust (`tests/e2e/fuzz_corpus.rs`): untrusted bytes in, no panic out, and the
//! invariants that must hold for whatever is accepted.

mod http;

pub use http::{http, seed_requests};

use std::sync::OnceLock;

use ldp_aggregator::ingest::{self, Limits};
use ldp_client::Encoder;
use ldp_protocol::mechanism::{GridSpec, SketchSpec};
use ldp_protocol::{
    Batch, BatchId, CampaignConfig, CampaignSpec, Domain, Mechanism, MechanismKind, wire,
};

use crate::seeded_rng;

/// One campaign of every report shape.
fn campaigns() -> &'static [CampaignConfig] {
    static CAMPAIGNS: OnceLock<Vec<CampaignConfig>> = OnceLock::new();
    CAMPAIGNS.get_or_init(|| {
        let numeric = Domain::Numeric { lo: 0.0, hi: 10.0 };
        let specs = [
            CampaignSpec::new("grr", Mechanism::Grr, 1.0, Domain::Range { k: 16 }),
            CampaignSpec::new("oue", Mechanism::Oue, 1.0, Domain::Range { k: 64 }),
            CampaignSpec::new("sue", Mechanism::Sue, 1.0, Domain::Range { k: 64 }),
            CampaignSpec::new(
                "olh",
                Mechanism::with_defaults(MechanismKind::Olh),
                1.0,
                Domain::Range { k: 64 },
            ),
            CampaignSpec::new(
                "ss",
                Mechanism::with_defaults(MechanismKind::Ss),
                1.0,
                Domain::Range { k: 64 },
            ),
            CampaignSpec::new(
                "hr",
                Mechanism::with_defaults(MechanismKind::Hr),
                1.0,
                Domain::Range { k: 64 },
            ),
            CampaignSpec::new(
                "rappor",
                Mechanism::with_defaults(MechanismKind::Rappor),
                2.0,
                Domain::Open,
            ),
            CampaignSpec::new(
                "cms",
                Mechanism::Cms(SketchSpec::default()),
                4.0,
                Domain::Open,
            ),
            CampaignSpec::new(
                "hcms",
                Mechanism::Hcms(SketchSpec::default()),
                4.0,
                Domain::Open,
            ),
            CampaignSpec::new("duchi", Mechanism::Duchi, 1.0, numeric.clone()),
            CampaignSpec::new(
                "hybrid",
                Mechanism::Hybrid(GridSpec::default()),
                1.0,
                numeric,
            ),
        ];
        specs
            .into_iter()
            .map(|spec| CampaignConfig::create(spec).expect("a valid campaign"))
            .collect()
    })
}

/// Bytes from the network as a batch: decoded, then — under every campaign's id and digest,
/// so that the reports themselves are what is explored — checked and folded. Whatever is
/// accepted folds to exactly its reports (less those left out as implausible) and can be
/// estimated without a panic.
pub fn batch(data: &[u8]) {
    let Ok(mut batch) = ingest::decode(data) else {
        return;
    };
    for config in campaigns() {
        batch.campaign = config.id().clone();
        batch.config_digest = config.digest();
        if let Ok(delta) = ingest::accept(config, &batch, 0..=u64::MAX, &Limits::default()) {
            // Every report is counted or left out as implausible.
            assert_eq!(
                delta.cells.n() + delta.cells.implausible(),
                batch.reports.len() as u64
            );
            // The delta adds exactly what folding the reports counts.
            let mut counters = ldp_aggregator::Counters::new(config);
            counters
                .add_delta(&delta.cells)
                .expect("a delta fits its campaign");
            let mut folded = ldp_aggregator::Counters::new(config);
            folded
                .fold_all(&batch.reports)
                .expect("accepted reports fold");
            assert_eq!(counters.snapshot(), folded.snapshot());
            let _ = counters.estimate();
            let bytes = counters.to_bytes().expect("counters serialize");
            let back = ldp_aggregator::Counters::from_bytes(config, &bytes).expect("read back");
            assert_eq!(back.snapshot(), counters.snapshot());
        }
    }
}

/// Bytes from an operator as a campaign configuration: parsed, validated, and for whatever is
/// accepted, the JSON round trip keeps the configuration and its digest.
pub fn campaign(data: &[u8]) {
    let Ok(spec) = serde_json::from_slice::<CampaignSpec>(data) else {
        return;
    };
    let Ok(config) = CampaignConfig::create(spec) else {
        return;
    };
    let _ = config.params().report_bytes();
    let json = serde_json::to_vec(&config).expect("a configuration serializes");
    let back: CampaignConfig = serde_json::from_slice(&json).expect("and parses back");
    assert_eq!(back.digest(), config.digest());
    assert_eq!(back, config);
}

/// Seeds for the batch corpus: a small valid batch of every campaign that an encoder makes.
pub fn seed_batches() -> Vec<(String, Vec<u8>)> {
    campaigns()
        .iter()
        .filter(|config| config.params().kind() != MechanismKind::Rappor)
        .map(|config| {
            let id = config.id().as_str();
            let mut encoder = Encoder::with_simulation_rng(config, seeded_rng(id, 0));
            let mut batch = Batch::new(config, 7, BatchId([1; 16]));
            for i in 0..3u32 {
                let report = match config.numeric_range() {
                    Some(_) => encoder.encode_number(f64::from(i) * 3.0),
                    None => encoder.encode(&i.to_string()),
                };
                batch.reports.push(report.expect("encodes"));
            }
            (format!("{id}.bin"), wire::encode(&batch).expect("encodes"))
        })
        .collect()
}

/// Seeds for the campaign corpus: every campaign above as JSON.
pub fn seed_campaigns() -> Vec<(String, Vec<u8>)> {
    campaigns()
        .iter()
        .map(|config| {
            let json = serde_json::to_vec_pretty(config.spec()).expect("serializes");
            (format!("{}.json", config.id().as_str()), json)
        })
        .collect()
}
