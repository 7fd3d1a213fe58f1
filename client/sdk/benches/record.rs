//! What an app pays: `record` (encode, charge and queue in memory), the write behind it (one
//! SQLite transaction per burst), and `upload_pending` per batch (seal with a synced commit, send, acknowledge), against a
//! collector in process so only the SDK is measured.
//!
//! `cargo bench -p ldp-sdk --bench record`
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, MechanismKind};
use ldp_sdk::{Client, ClientOptions, HttpRequest, HttpResponse, ManualClock, Transport};

/// Serves one configuration and acknowledges every batch.
#[derive(Debug)]
struct Collector(String);

impl Transport for Collector {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        let (status, body) = if request.method == "GET" {
            (200, self.0.clone())
        } else {
            (202, r#"{"status":"counted"}"#.to_owned())
        };
        Ok(HttpResponse {
            status,
            retry_after: None,
            body: body.into_bytes(),
        })
    }
}

const EPOCH: u64 = 60;
const PER_EPOCH: u32 = 1000;

fn client(mechanism: Mechanism, k: u32) -> (tempfile::TempDir, Client, ManualClock) {
    let mut spec = CampaignSpec::new("bench", mechanism, 1.0, Domain::Range { k });
    spec.epoch_seconds = EPOCH;
    spec.max_reports_per_epoch = PER_EPOCH;
    let config = CampaignConfig::new(spec).expect("valid campaign");
    let view = serde_json::json!({
        "config": config,
        "digest": format!("{:016x}", config.digest()),
    })
    .to_string();
    let dir = tempfile::tempdir().expect("temporary directory");
    let clock = ManualClock::new(1_800_000_000);
    let client = Client::open_with(
        dir.path(),
        "http://collector.bench",
        ClientOptions {
            release_window_seconds: Some(0),
            ..ClientOptions::default()
        },
        Arc::new(Collector(view)),
        Arc::new(clock.clone()),
    )
    .expect("open");
    (dir, client, clock)
}

fn record(c: &mut Criterion) {
    let mut group = c.benchmark_group("record");
    let cases = [
        ("grr", Mechanism::Grr, 1024),
        ("oue", Mechanism::Oue, 1024),
        ("olh", Mechanism::with_defaults(MechanismKind::Olh), 1024),
    ];
    for (name, mechanism, k) in cases {
        let (_dir, client, clock) = client(mechanism, k);
        let mut recorded = 0u32;
        group.bench_function(BenchmarkId::new(name, k), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for i in 0..iters {
                    if recorded == PER_EPOCH {
                        // A new epoch, outside the timing; the last one's batch is sent.
                        clock.advance(EPOCH);
                        client.upload_pending().expect("upload");
                        recorded = 0;
                    }
                    let start = Instant::now();
                    client
                        .record_index("bench", (i % u64::from(k)) as u32)
                        .expect("record");
                    spent += start.elapsed();
                    recorded += 1;
                }
                spent
            });
        });
    }
    group.finish();
}

/// The common case: one report per device and epoch, so every record opens its epoch's batch.
fn record_first_of_epoch(c: &mut Criterion) {
    let mut group = c.benchmark_group("record-first-of-epoch");
    for (name, mechanism) in [("grr", Mechanism::Grr), ("oue", Mechanism::Oue)] {
        let (_dir, client, clock) = client(mechanism, 1024);
        let mut pending = 0u32;
        group.bench_function(BenchmarkId::new(name, 1024), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for i in 0..iters {
                    clock.advance(EPOCH);
                    if pending == 100 {
                        // A device uploads now and then; outside the timing.
                        client.upload_pending().expect("upload");
                        pending = 0;
                    }
                    let start = Instant::now();
                    client
                        .record_index("bench", (i % 1024) as u32)
                        .expect("record");
                    spent += start.elapsed();
                    pending += 1;
                }
                spent
            });
        });
    }
    group.finish();
}

/// The writer's side: a record and the transaction that stores it with its charge, alone
/// (`flush` after each record: one report per transaction, the worst case) or in a burst of 100
/// (one transaction; the time is per record).
fn written(c: &mut Criterion) {
    let mut group = c.benchmark_group("record+write");
    for (name, mechanism) in [("grr", Mechanism::Grr), ("oue", Mechanism::Oue)] {
        for burst in [1u32, 100] {
            let (_dir, client, clock) = client(mechanism.clone(), 1024);
            let mut recorded = 0u32;
            group.bench_function(BenchmarkId::new(name, format!("burst-of-{burst}")), |b| {
                b.iter_custom(|iters| {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iters {
                        if recorded + burst > PER_EPOCH {
                            clock.advance(EPOCH);
                            client.upload_pending().expect("upload");
                            recorded = 0;
                        }
                        let start = Instant::now();
                        for i in 0..burst {
                            client.record_index("bench", i).expect("record");
                        }
                        client.flush().expect("flush");
                        spent += start.elapsed() / burst;
                        recorded += burst;
                    }
                    spent
                });
            });
        }
    }
    group.finish();
}

fn upload(c: &mut Criterion) {
    let mut group = c.benchmark_group("upload_pending");
    group.sample_size(30);
    for reports in [1u32, 100] {
        let (_dir, client, clock) = client(Mechanism::Oue, 1024);
        group.bench_function(BenchmarkId::new("oue-1024/batch-of", reports), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    for i in 0..reports {
                        client.record_index("bench", i).expect("record");
                    }
                    client.flush().expect("flush");
                    clock.advance(EPOCH);
                    let start = Instant::now();
                    let summary = client.upload_pending().expect("upload");
                    spent += start.elapsed();
                    assert_eq!(summary.batches_sent, 1);
                }
                spent
            });
        });
    }
    group.finish();
}

criterion_group!(benches, record, record_first_of_epoch, written, upload);
criterion_main!(benches);
