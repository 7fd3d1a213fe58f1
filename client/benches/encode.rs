//! Encoding speed with the production RNG (ChaCha20 seeded by the OS).
//!
//! `cargo bench -p ldp-client --bench encode`
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use ldp_client::encoder::{sketch, unary};
use ldp_client::rng::ProductionRng;
use ldp_client::{Encoder, Randomizer};
use ldp_protocol::mechanism::MechanismParams;
use ldp_protocol::{CampaignConfig, Mechanism, MechanismKind};

fn config(mechanism: Mechanism, eps: f64, k: u32) -> CampaignConfig {
    CampaignConfig::range("bench", mechanism, eps, k).expect("valid config")
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(1));
    let cases = [
        ("grr", Mechanism::Grr, 1.0, 1024),
        ("oue", Mechanism::Oue, 1.0, 1024),
        ("oue", Mechanism::Oue, 4.0, 1024),
        ("sue", Mechanism::Sue, 1.0, 1024),
        (
            "olh",
            Mechanism::with_defaults(MechanismKind::Olh),
            1.0,
            1024,
        ),
        (
            "blh",
            Mechanism::with_defaults(MechanismKind::Blh),
            1.0,
            1024,
        ),
    ];
    for (name, mechanism, eps, k) in cases {
        let config = config(mechanism, eps, k);
        let mut encoder = Encoder::new(&config).expect("OS randomness");
        let mut value = 0u32;
        group.bench_function(BenchmarkId::new(name, format!("eps={eps},k={k}")), |b| {
            b.iter(|| {
                value = (value + 7) % k;
                black_box(encoder.encode_index(black_box(value)).expect("in range"))
            })
        });
    }
    // Unary encoding into a reused buffer: no allocation per report.
    let config = config(Mechanism::Oue, 1.0, 1024);
    if let MechanismParams::Oue(params) = config.params() {
        let mut rng = ProductionRng::from_os().expect("OS randomness");
        let mut out = params.blank();
        let mut value = 0u32;
        group.bench_function("oue_into/eps=1,k=1024", |b| {
            b.iter(|| {
                value = (value + 7) % 1024;
                params.encode_into(black_box(&value), &mut rng, &mut out);
                black_box(&out);
            })
        });
    }
    group.finish();
}

/// Dense (64 lanes per word) and sparse (geometric gaps) unary paths at the same q, to place
/// `unary::SPARSE_BELOW`.
fn unary_paths(c: &mut Criterion) {
    let mut group = c.benchmark_group("unary_paths");
    group.throughput(Throughput::Elements(1));
    for eps in [2.0, 2.5, 3.0, 4.0, 6.0] {
        let config = config(Mechanism::Oue, eps, 1024);
        let MechanismParams::Oue(params) = config.params() else {
            continue;
        };
        let q = params.one_if_false.probability();
        let mut rng = ProductionRng::from_os().expect("OS randomness");
        let mut out = vec![0u64; params.words()];
        let mut value = 0u32;
        group.bench_function(format!("dense/q={q:.3},k=1024"), |b| {
            b.iter(|| {
                value = (value + 7) % 1024;
                unary::encode_dense_into(params, black_box(value), &mut rng, &mut out);
                black_box(&out);
            })
        });
        group.bench_function(format!("sparse/q={q:.3},k=1024"), |b| {
            b.iter(|| {
                value = (value + 7) % 1024;
                unary::encode_sparse_into(params, black_box(value), &mut rng, &mut out);
                black_box(&out);
            })
        });
    }
    group.finish();
}

/// RAPPOR (m = 128, h = 2, 64 cohorts): a report of a value whose permanent response is
/// memoized (the PRR cache lookup, then a fresh IRR from ChaCha20).
fn rappor(c: &mut Criterion) {
    let config = CampaignConfig::new(ldp_protocol::CampaignSpec::new(
        "bench",
        Mechanism::Rappor(ldp_protocol::mechanism::RapporSpec::paper_example()),
        1.9,
        ldp_protocol::Domain::Open,
    ))
    .expect("valid config");
    let mut store = ldp_client::InMemorySecretStore::default();
    let mut encoder = ldp_client::RapporEncoder::new(&config, &mut store).expect("OS randomness");
    let values: Vec<String> = (0..16)
        .map(|i| format!("https://example.com/{i}"))
        .collect();
    let mut report = ldp_protocol::RapporReport {
        cohort: 0,
        bits: vec![0; 2],
    };
    let mut group = c.benchmark_group("rappor");
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("encode_memoized/m=128,h=2", |b| {
        b.iter(|| {
            i = (i + 1) % values.len();
            encoder.encode_into(black_box(&values[i]), &mut report);
            black_box(&report);
        })
    });
    // A new device's first report: OS seed, cohort, Bloom filter, HMAC-SHA256 and ChaCha20 PRR, IRR.
    let mut fresh = 0u64;
    group.bench_function("new_device_first_report/m=128,h=2", |b| {
        b.iter(|| {
            fresh += 1;
            let mut encoder =
                ldp_client::RapporEncoder::new(&config, &mut store).expect("OS randomness");
            let value = format!("v{fresh}");
            black_box(encoder.encode(black_box(&value)).expect("encodes"))
        })
    });
    group.finish();
}

/// Count-mean sketches (d = 64 rows, m = 1024) and numeric means, with ChaCha20 seeded by the
/// OS: an HCMS report, a CMS report into a reused report, and one number per mechanism.
#[expect(
    clippy::too_many_lines,
    reason = "one bench group per report shape, side by side"
)]
fn sketch_and_numeric(c: &mut Criterion) {
    let open = |mechanism: Mechanism, eps: f64, domain: ldp_protocol::Domain| {
        CampaignConfig::new(ldp_protocol::CampaignSpec::new(
            "bench", mechanism, eps, domain,
        ))
        .expect("valid config")
    };
    let values: Vec<String> = (0..16).map(|i| format!("emoji-{i}")).collect();
    let mut group = c.benchmark_group("sketch");
    group.throughput(Throughput::Elements(1));
    let sketch = ldp_protocol::mechanism::SketchSpec::default();
    let hcms = open(Mechanism::Hcms(sketch), 4.0, ldp_protocol::Domain::Open);
    let mut encoder = Encoder::new(&hcms).expect("OS randomness");
    let mut i = 0;
    group.bench_function("hcms/d=64,m=1024", |b| {
        b.iter(|| {
            i = (i + 1) % values.len();
            black_box(encoder.encode(black_box(&values[i])).expect("encodes"))
        })
    });
    let cms = open(Mechanism::Cms(sketch), 4.0, ldp_protocol::Domain::Open);
    let MechanismParams::Cms(params) = cms.params() else {
        unreachable!("a CMS campaign")
    };
    let mut rng = ProductionRng::from_os().expect("OS randomness");
    let randomizer = sketch::Cms(params);
    let mut report = randomizer.blank();
    group.bench_function("cms_into/d=64,m=1024", |b| {
        b.iter(|| {
            i = (i + 1) % values.len();
            randomizer.encode_into(black_box(values[i].as_bytes()), &mut rng, &mut report);
            black_box(&report);
        })
    });
    let mut encoder = Encoder::new(&cms).expect("OS randomness");
    group.bench_function("cms/d=64,m=1024", |b| {
        b.iter(|| {
            i = (i + 1) % values.len();
            black_box(encoder.encode(black_box(&values[i])).expect("encodes"))
        })
    });
    group.finish();

    let mut group = c.benchmark_group("numeric");
    group.throughput(Throughput::Elements(1));
    let grid = ldp_protocol::mechanism::GridSpec::default();
    for (name, mechanism) in [
        ("duchi", Mechanism::Duchi),
        ("piecewise", Mechanism::Piecewise(grid)),
        ("hybrid", Mechanism::Hybrid(grid)),
    ] {
        let config = open(
            mechanism,
            2.0,
            ldp_protocol::Domain::Numeric { lo: 0.0, hi: 100.0 },
        );
        let params = match config.params() {
            MechanismParams::Duchi(p)
            | MechanismParams::Piecewise(p)
            | MechanismParams::Hybrid(p) => *p,
            _ => unreachable!("a numeric campaign"),
        };
        let mut rng = ProductionRng::from_os().expect("OS randomness");
        let mut t = -1.0;
        let mut report = params.blank();
        group.bench_function(format!("{name}_randomize/eps=2"), |b| {
            b.iter(|| {
                t += 0.146;
                if t >= 1.0 {
                    t -= 2.0;
                }
                params.encode_into(black_box(&t), &mut rng, &mut report);
                black_box(report.cell)
            })
        });
        let mut encoder = Encoder::new(&config).expect("OS randomness");
        let mut x = 0.0;
        group.bench_function(format!("{name}/eps=2"), |b| {
            b.iter(|| {
                x += 7.3;
                if x >= 100.0 {
                    x -= 100.0;
                }
                black_box(encoder.encode_number(black_box(x)).expect("encodes"))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, encode, unary_paths, rappor, sketch_and_numeric);
criterion_main!(benches);
