//! Encoding speed with the production RNG (ChaCha20 seeded by the OS).
//!
//! `cargo bench -p ldp-client --bench encode`
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use ldp_client::Encoder;
use ldp_client::encoder::unary;
use ldp_client::rng::ProductionRng;
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
        let mut out = vec![0u64; params.words()];
        let mut value = 0u32;
        group.bench_function("oue_into/eps=1,k=1024", |b| {
            b.iter(|| {
                value = (value + 7) % 1024;
                unary::encode_into(params, black_box(value), &mut rng, &mut out);
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

criterion_group!(benches, encode, unary_paths, rappor);
criterion_main!(benches);
