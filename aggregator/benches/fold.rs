//! Folding and estimation speed. Reports are pre-generated with a fixed seed.
//!
//! `cargo bench -p ldp-aggregator --bench fold`
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use ldp_aggregator::{Accumulator, Alpha, Counters};
use ldp_client::Encoder;
use ldp_protocol::{CampaignConfig, Mechanism, MechanismKind, Report};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn config(mechanism: Mechanism, eps: f64, k: u32) -> CampaignConfig {
    CampaignConfig::range("bench", mechanism, eps, k).expect("valid config")
}

fn reports(config: &CampaignConfig, n: usize) -> Vec<Report> {
    let mut encoder = Encoder::with_simulation_rng(config, ChaCha20Rng::from_seed([3; 32]));
    let k = config.k();
    (0..n)
        .map(|i| {
            // A skewed population: half the devices hold value 0.
            let v = if i % 2 == 0 { 0 } else { (i as u32 / 2) % k };
            encoder.encode_index(v).expect("in range")
        })
        .collect()
}

fn fold(c: &mut Criterion) {
    let mut group = c.benchmark_group("fold");
    let cases = [
        ("grr", Mechanism::Grr, 1024, 100_000),
        ("oue", Mechanism::Oue, 1024, 100_000),
        ("sue", Mechanism::Sue, 1024, 100_000),
        (
            "olh",
            Mechanism::with_defaults(MechanismKind::Olh),
            1024,
            2_000,
        ),
    ];
    for (name, mechanism, k, n) in cases {
        let config = config(mechanism, 1.0, k);
        let batch = reports(&config, n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new(name, format!("eps=1,k={k}")), |b| {
            b.iter(|| {
                let mut counters = Counters::new(&config);
                counters.fold_all(black_box(&batch)).expect("valid reports");
                black_box(counters.n())
            })
        });
    }
    group.finish();
}

/// Seed-pool OLH: fold 10^6 reports and estimate all of k = 10^4 values.
fn seed_pool(c: &mut Criterion) {
    let mut group = c.benchmark_group("olh_seed_pool");
    group.sample_size(10);
    let k = 10_000;
    let n = 1_000_000;
    for pool in [1024u32, 4096] {
        let config = config(
            Mechanism::Olh {
                g: None,
                seed_pool: Some(pool),
            },
            1.0,
            k,
        );
        let batch = reports(&config, n);
        group.bench_function(format!("fold+estimate/n=1e6,k=1e4,pool={pool}"), |b| {
            b.iter(|| {
                let mut counters = Counters::new(&config);
                counters.fold_all(black_box(&batch)).expect("valid reports");
                black_box(counters.estimate().unwrap().values.len())
            })
        });
    }
    group.finish();
}

fn rappor_config(cohorts: u32) -> CampaignConfig {
    CampaignConfig::new(ldp_protocol::CampaignSpec::new(
        "bench",
        Mechanism::Rappor(ldp_protocol::mechanism::RapporSpec {
            cohorts,
            ..ldp_protocol::mechanism::RapporSpec::paper_example()
        }),
        1.9,
        ldp_protocol::Domain::Open,
    ))
    .expect("valid config")
}

fn rappor_reports(config: &CampaignConfig, n: usize) -> Vec<Report> {
    let ldp_protocol::MechanismParams::Rappor(params) = config.params() else {
        unreachable!("a RAPPOR campaign")
    };
    let mut rng = ChaCha20Rng::from_seed([4; 32]);
    (0..n)
        .map(|i| {
            // Zipf-like strings: value i % 1000 divided down, so small values are common.
            let value = format!("value-{}", (i % 1000) / (1 + i % 7));
            Report::Rappor(ldp_client::encoder::rappor::encode_once(
                params,
                value.as_bytes(),
                &mut rng,
            ))
        })
        .collect()
}

/// The 10^4 candidates every decode bench asks for: the 1,000 values the reports hold, then
/// 9,000 absent strings.
fn decode_candidates() -> Vec<String> {
    let mut candidates: Vec<String> = (0..1000).map(|v| format!("value-{v}")).collect();
    candidates.extend((0..9000).map(|v| format!("absent-{v}")));
    candidates
}

/// RAPPOR (m = 128, h = 2, 64 cohorts): fold reports; decode 10^4 candidates (selection) and
/// 10^3 (one fit) after 10^6.
fn rappor(c: &mut Criterion) {
    let config = rappor_config(64);
    let mut group = c.benchmark_group("rappor");
    let batch = rappor_reports(&config, 100_000);
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("fold/m=128,h=2,cohorts=64", |b| {
        b.iter(|| {
            let mut counters = Counters::new(&config);
            counters.fold_all(black_box(&batch)).expect("valid reports");
            black_box(counters.n())
        })
    });
    group.finish();

    let mut group = c.benchmark_group("rappor_decode");
    group.sample_size(10);
    let mut counters = Counters::new(&config);
    for _ in 0..10 {
        counters.fold_all(&batch).expect("valid reports");
    }
    let candidates = decode_candidates();
    // 10^4 candidates go through forward selection; 10^3, the longest list fitted whole.
    let whole = candidates.get(..1000).unwrap_or_default().to_vec();
    for (name, list) in [
        ("decode/n=1e6,candidates=1e4", &candidates),
        ("decode/n=1e6,candidates=1e3", &whole),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let decoding = counters
                    .decode(black_box(list), Alpha::DEFAULT)
                    .expect("valid candidates");
                black_box(decoding.detected)
            })
        });
    }
    group.finish();
}

/// Hadamard Response: fold 10^6 reports and estimate all of k = 10^4 values (one FWHT).
fn hadamard(c: &mut Criterion) {
    let mut group = c.benchmark_group("hr");
    group.sample_size(10);
    let config = config(Mechanism::Hr, 1.0, 10_000);
    let batch = reports(&config, 1_000_000);
    group.bench_function("fold+estimate/n=1e6,k=1e4", |b| {
        b.iter(|| {
            let mut counters = Counters::new(&config);
            counters.fold_all(black_box(&batch)).expect("valid reports");
            black_box(counters.estimate().unwrap().values.len())
        })
    });
    group.finish();
}

/// Count-mean sketches (d = 64, m = 1024, ε = 4): fold 10^6 reports; estimate 10^4
/// candidates from the counters (for HCMS, the per-row Walsh–Hadamard transforms included).
fn sketches(c: &mut Criterion) {
    let candidates = decode_candidates();
    for (name, mechanism) in [
        (
            "hcms",
            Mechanism::Hcms(ldp_protocol::mechanism::SketchSpec::default()),
        ),
        (
            "cms",
            Mechanism::Cms(ldp_protocol::mechanism::SketchSpec::default()),
        ),
    ] {
        let config = CampaignConfig::new(ldp_protocol::CampaignSpec::new(
            "bench",
            mechanism,
            4.0,
            ldp_protocol::Domain::Open,
        ))
        .expect("valid config");
        let mut encoder =
            ldp_client::Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([6; 32]));
        let batch: Vec<Report> = (0..100_000)
            .map(|i| {
                let value = format!("value-{}", (i % 1000) / (1 + i % 7));
                encoder.encode(&value).expect("encodes")
            })
            .collect();
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        group.throughput(Throughput::Elements(batch.len() as u64));
        group.bench_function("fold/d=64,m=1024", |b| {
            b.iter(|| {
                let mut counters = Counters::new(&config);
                counters.fold_all(black_box(&batch)).expect("valid reports");
                black_box(counters.n())
            })
        });
        group.throughput(Throughput::Elements(1));
        let mut counters = Counters::new(&config);
        for _ in 0..10 {
            counters.fold_all(&batch).expect("valid reports");
        }
        group.bench_function("decode/n=1e6,candidates=1e4", |b| {
            b.iter(|| {
                let decoding = counters
                    .decode(black_box(&candidates), Alpha::DEFAULT)
                    .expect("valid candidates");
                black_box(decoding.detected)
            })
        });
        group.finish();
    }
}

criterion_group!(benches, fold, seed_pool, rappor, hadamard, sketches);
criterion_main!(benches);
