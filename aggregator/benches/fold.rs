//! Folding and estimation speed. Reports are pre-generated with a fixed seed.
//!
//! `cargo bench -p ldp-aggregator --bench fold`
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use ldp_aggregator::{Accumulator, Counters};
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
                black_box(counters.estimate().values.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, fold, seed_pool);
criterion_main!(benches);
