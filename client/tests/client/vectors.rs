//! Test vectors: the client reproduces every checked-in report and batch byte for byte from
//! its configuration, RNG seed and input. `LDP_WRITE_TESTDATA=1 cargo test -p ldp-client
//! --test client vectors` rewrites `protocol/testdata/` (review the diff: a change in these
//! bytes is a wire-format or encoder change).

use std::collections::BTreeMap;
use std::path::PathBuf;

use ldp_client::Encoder;
use ldp_protocol::{
    Batch, BatchId, CampaignConfig, CampaignSpec, Domain, FORMAT_VERSION, GrrReport,
    LocalHashReport, Mechanism, MechanismKind, Report, UnaryReport, wire,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../protocol/testdata")
}

fn seed(label: u8) -> [u8; 32] {
    let mut seed = [0u8; 32];
    for (i, b) in seed.iter_mut().enumerate() {
        *b = label.wrapping_mul(31).wrapping_add(i as u8);
    }
    seed
}

fn spec(mechanism: Mechanism, k: u32) -> CampaignSpec {
    CampaignSpec::new("vectors", mechanism, 1.5, Domain::Range { k })
}

/// The report vectors: one per mechanism (and the seed-pool variant of OLH).
fn report_cases() -> Vec<(String, CampaignSpec)> {
    // The first five kinds, then the extra cases, then later kinds: a case's RNG seed follows
    // its position, so adding a kind leaves every existing vector as it was.
    let (first, later) = MechanismKind::ALL.split_at(5);
    let case = |kind: &MechanismKind| {
        (
            kind.name().to_string(),
            spec(Mechanism::with_defaults(*kind), 70),
        )
    };
    let mut cases: Vec<(String, CampaignSpec)> = first
        .iter()
        .map(|kind| {
            (
                kind.name().to_string(),
                spec(Mechanism::with_defaults(*kind), 70),
            )
        })
        .collect();
    cases.push((
        "olh_pool".into(),
        spec(
            Mechanism::Olh {
                g: None,
                seed_pool: Some(256),
            },
            70,
        ),
    ));
    // At ε = 4, OUE's q ≈ 0.018 takes the sparse (geometric-skipping) path.
    let mut sparse = spec(Mechanism::Oue, 70);
    sparse.epsilon = 4.0;
    cases.push(("oue_sparse".into(), sparse));
    cases.extend(later.iter().map(case));
    // The sketches hash "42" as a string; the mean mechanisms read it as a number in [0, 100].
    for kind in [MechanismKind::Cms, MechanismKind::Hcms] {
        cases.push(case(&kind));
    }
    let numeric = |kind: MechanismKind| {
        (
            kind.name().to_string(),
            CampaignSpec::new(
                "vectors",
                Mechanism::with_defaults(kind),
                1.5,
                Domain::Numeric { lo: 0.0, hi: 100.0 },
            ),
        )
    };
    for kind in [
        MechanismKind::Duchi,
        MechanismKind::Piecewise,
        MechanismKind::Hybrid,
    ] {
        cases.push(numeric(kind));
    }
    // A longitudinal mechanism's vector is a device's first report, everything drawn from the
    // RNG (a device derives its seed and permanent response from its secret instead).
    cases.extend(MechanismKind::LONGITUDINAL.iter().map(case));
    cases.push(numeric(MechanismKind::DBitFlip));
    cases
}

fn emoji_spec() -> CampaignSpec {
    let mut spec = CampaignSpec::new(
        "emoji-daily",
        Mechanism::Olh {
            g: None,
            seed_pool: None,
        },
        2.0,
        Domain::Dictionary {
            values: vec!["😂".into(), "♥".into(), "❤".into(), "😍".into()],
        },
    );
    spec.description = "Most used emoji, per day".into();
    spec
}

fn bad(description: &str, decode_as: &str, config: Option<&CampaignSpec>, bytes: &[u8]) -> Value {
    json!({
        "description": description,
        "decode_as": decode_as,
        "config": config,
        "bytes_hex": hex::encode(bytes),
    })
}

/// Every vector file, by name.
#[expect(clippy::too_many_lines, reason = "the table of every test vector")]
fn vectors() -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();

    let emoji = emoji_spec();
    let config = CampaignConfig::new(emoji.clone()).unwrap();
    out.insert(
        "config.json".into(),
        json!({
            "description": "An OLH campaign over a dictionary; g is resolved in the normalized spec and the digest.",
            "spec": emoji,
            "normalized_spec": config.spec(),
            "digest_hex": format!("{:016x}", config.digest()),
            "bytes_hex": hex::encode(wire::encode(&config).unwrap()),
        }),
    );

    for (i, (name, spec)) in report_cases().into_iter().enumerate() {
        let config = CampaignConfig::new(spec.clone()).unwrap();
        let seed = seed(i as u8);
        let mut encoder = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed(seed));
        let report = encoder.encode("42").unwrap();
        out.insert(
            format!("report_{name}.json"),
            json!({
                "description": match spec.domain {
                    Domain::Numeric { .. } => format!("the number 42 of [0, 100] encoded with {name} (epsilon = {})", spec.epsilon),
                    _ => format!("value 42 encoded with {name} (k = 70, epsilon = {})", spec.epsilon),
                },
                "config": spec,
                "rng_seed_hex": hex::encode(seed),
                "input": "42",
                "report_hex": hex::encode(wire::encode(&report).unwrap()),
                "report": report,
            }),
        );
    }

    let seed = seed(200);
    let mut encoder = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed(seed));
    let inputs = ["😂", "❤", "🦀", "😂"];
    let mut batch = Batch::new(&config, 20_415, BatchId(*b"0123456789abcdef"));
    batch.reports = inputs.iter().map(|v| encoder.encode(v).unwrap()).collect();
    let batch_bytes = wire::encode(&batch).unwrap();
    out.insert(
        "batch.json".into(),
        json!({
            "description": "A batch of four reports of the emoji campaign (🦀 is encoded as other)",
            "config": emoji_spec(),
            "rng_seed_hex": hex::encode(seed),
            "inputs": inputs,
            "epoch": 20_415,
            "batch_id_hex": hex::encode(batch.batch_id.0),
            "bytes_hex": hex::encode(&batch_bytes),
            "batch": batch,
        }),
    );

    // Deliberately bad inputs, each refused by decoding or by the campaign check.
    let grr = spec(Mechanism::Grr, 70);
    let oue = spec(Mechanism::Oue, 70);
    let olh = spec(Mechanism::with_defaults(MechanismKind::Olh), 70);
    let pool = spec(
        Mechanism::Olh {
            g: None,
            seed_pool: Some(256),
        },
        70,
    );
    let enc = |r: &Report| wire::encode(r).unwrap();
    let mut bad_cases = vec![
        (
            "bad_batch_truncated.json",
            bad(
                "batch cut short by one byte",
                "batch",
                None,
                &batch_bytes[..batch_bytes.len() - 1],
            ),
        ),
        (
            "bad_batch_trailing_bytes.json",
            bad(
                "a valid batch followed by a zero byte",
                "batch",
                None,
                &[batch_bytes.as_slice(), &[0]].concat(),
            ),
        ),
        ("bad_batch_version.json", {
            let mut b = batch.clone();
            b.version = FORMAT_VERSION + 1;
            bad(
                "an unsupported format version",
                "batch",
                None,
                &wire::encode(&b).unwrap(),
            )
        }),
        ("bad_batch_campaign_id.json", {
            let mut bytes = batch_bytes.clone();
            // The campaign id starts after version (2) and length (8): make it uppercase.
            bytes[10] = b'E';
            bad("a campaign id that is not a slug", "batch", None, &bytes)
        }),
        ("bad_batch_report_count.json", {
            let mut bytes = batch_bytes.clone();
            let count_at = 2 + 8 + "emoji-daily".len() + 8 + 8 + 16;
            bytes[count_at..count_at + 8].copy_from_slice(&5u64.to_le_bytes());
            bad(
                "a report count larger than the reports present",
                "batch",
                None,
                &bytes,
            )
        }),
        (
            "bad_report_variant_tag.json",
            bad("an unknown report variant", "report", Some(&grr), &{
                let mut b = enc(&Report::Grr(GrrReport { value: 1 }));
                b[0] = 9;
                b
            }),
        ),
        (
            "bad_report_wrong_variant.json",
            bad(
                "an OUE report for a GRR campaign",
                "report",
                Some(&grr),
                &enc(&Report::Oue(UnaryReport { bits: vec![1, 0] })),
            ),
        ),
        (
            "bad_report_index_out_of_range.json",
            bad(
                "a GRR index equal to k",
                "report",
                Some(&grr),
                &enc(&Report::Grr(GrrReport { value: 70 })),
            ),
        ),
        (
            "bad_report_bit_length.json",
            bad(
                "an OUE report with one word for k = 70",
                "report",
                Some(&oue),
                &enc(&Report::Oue(UnaryReport { bits: vec![1] })),
            ),
        ),
        (
            "bad_report_padding_bits.json",
            bad(
                "an OUE report with a bit set beyond k = 70",
                "report",
                Some(&oue),
                &enc(&Report::Oue(UnaryReport {
                    bits: vec![0, 1 << 6],
                })),
            ),
        ),
        (
            "bad_report_bucket_out_of_range.json",
            bad(
                "an OLH bucket equal to g",
                "report",
                Some(&olh),
                &enc(&Report::Olh(LocalHashReport { seed: 3, value: 5 })),
            ),
        ),
        (
            "bad_report_pool_seed.json",
            bad(
                "a seed-pool index equal to the pool size",
                "report",
                Some(&pool),
                &enc(&Report::Olh(LocalHashReport {
                    seed: 256,
                    value: 0,
                })),
            ),
        ),
        ("bad_config_epsilon.json", {
            let mut s = grr.clone();
            s.epsilon = 0.0;
            bad(
                "a config with epsilon = 0",
                "config",
                None,
                &wire::encode(&s).unwrap(),
            )
        }),
        ("bad_config_duplicate_entry.json", {
            let mut s = emoji_spec();
            s.domain = Domain::Dictionary {
                values: vec!["a".into(), "a".into()],
            };
            bad(
                "a dictionary with a duplicate entry",
                "config",
                None,
                &wire::encode(&s).unwrap(),
            )
        }),
    ];
    for (name, value) in bad_cases.drain(..) {
        out.insert(name.into(), value);
    }
    out
}

#[test]
fn vectors_match_testdata() {
    let vectors = vectors();
    if std::env::var_os("LDP_WRITE_TESTDATA").is_some() {
        std::fs::create_dir_all(testdata()).unwrap();
        for (name, value) in &vectors {
            let text = serde_json::to_string_pretty(value).unwrap() + "\n";
            std::fs::write(testdata().join(name), text).unwrap();
        }
    }
    for (name, expected) in &vectors {
        let text = std::fs::read_to_string(testdata().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e} (LDP_WRITE_TESTDATA=1 regenerates)"));
        let stored: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            &stored, expected,
            "{name} differs from what the client produces"
        );
    }
}

#[test]
fn every_mechanism_has_a_report_vector() {
    // RAPPOR's reports depend on a device secret: its vectors are the client's own tests.
    for kind in MechanismKind::EVERY
        .into_iter()
        .filter(|&k| k != MechanismKind::Rappor)
    {
        let path = testdata().join(format!("report_{}.json", kind.name()));
        assert!(
            path.exists(),
            "no test vector for {kind}: {}",
            path.display()
        );
    }
}
