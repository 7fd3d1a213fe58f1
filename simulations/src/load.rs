//! An HTTP load generator for `ldp-aggregator`: real encoded batches sent with the real
//! client uploader, either as fast as `concurrency` connections allow (closed loop) or at a
//! fixed rate (open loop, latency measured from each batch's scheduled send time so a slow
//! server cannot hide its queueing).
//!
//! Reports are encoded once into a pool of batches; every send stamps a fresh batch id into
//! a copy of the bytes (the id sits at a fixed offset), so the server does all its work —
//! decode, validate, fold, commit — and counts every batch.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ldp_client::Encoder;
use ldp_client::upload::{EncodedBatch, RetryPolicy, UploadError, Uploader};
use ldp_protocol::{CampaignConfig, Report};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::population::Population;

/// What to send.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// Aggregator base URLs; batches go to them in turn (several nodes behind no balancer).
    pub urls: Vec<String>,
    /// Campaign (must exist on the server).
    pub config: CampaignConfig,
    /// Epoch stamped on every batch.
    pub epoch: u64,
    /// Reports per batch.
    pub batch_reports: usize,
    /// Connections (threads) sending at once.
    pub concurrency: usize,
    /// How long to send.
    pub duration: Duration,
    /// Target reports per second (open loop); `None` sends as fast as possible.
    pub rate: Option<f64>,
    /// Seed of the simulated devices' randomness.
    pub seed: u64,
    /// Send exactly this many fresh reports (one per simulated device, Zipf(1.1) values) once
    /// each, then stop, so the server's estimates mean something. `None`: a small pool of
    /// batches is re-sent under new ids for `duration` (load, not statistics).
    pub devices: Option<u64>,
}

/// What the load achieved.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LoadReport {
    /// Reports sent (in batches that were attempted).
    pub sent_reports: u64,
    /// Reports in acknowledged (202) batches.
    pub acked_reports: u64,
    /// Reports in batches that failed.
    pub failed_reports: u64,
    /// Batches acknowledged.
    pub acked_batches: u64,
    /// Batches that failed.
    pub failed_batches: u64,
    /// Wall time of the run, seconds.
    pub seconds: f64,
    /// Acknowledged reports per second.
    pub reports_per_s: f64,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
    /// Largest latency, milliseconds.
    pub max_ms: f64,
    /// The first error seen, if any.
    pub first_error: Option<String>,
}

/// Distinct strings the devices of an open-domain campaign hold (`item-0` … `item-999`).
pub const OPEN_STRINGS: u32 = 1_000;
/// Levels of a numeric campaign's range the devices hold.
pub const NUMERIC_LEVELS: u32 = 100;

/// Batches with a patchable id.
struct Pool {
    bodies: Vec<EncodedBatch>,
    id_offset: usize,
}

fn build_pool(plan: &LoadPlan) -> Result<Pool, UploadError> {
    let config = &plan.config;
    let n = plan.devices.unwrap_or((plan.batch_reports * 16) as u64);
    let mut encoder = Encoder::with_simulation_rng(config, seeded(plan.seed));
    let mut reports: Vec<Report> = Vec::with_capacity(n as usize);
    if config.is_open() {
        // An open domain: Zipf over the strings `item-0`, `item-1`, …
        for v in Population::zipf(OPEN_STRINGS, 1.1, n).values() {
            reports.push(encoder.encode(&format!("item-{v}"))?);
        }
    } else if let Some((lo, hi)) = config.numeric_range() {
        // A number: Zipf over evenly spaced levels of [lo, hi], the lowest most common.
        let step = (hi - lo) / f64::from(NUMERIC_LEVELS - 1);
        for v in Population::zipf(NUMERIC_LEVELS, 1.1, n).values() {
            reports.push(encoder.encode_number(lo + step * f64::from(v))?);
        }
    } else {
        for v in Population::zipf(config.k(), 1.1, n).values() {
            reports.push(encoder.encode_index(v)?);
        }
    }
    // Shuffle so every batch holds a mix of values.
    let mut rng = seeded(plan.seed ^ 0x5eed);
    for i in (1..reports.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        reports.swap(i, j);
    }
    let bodies: Vec<EncodedBatch> = reports
        .chunks(plan.batch_reports)
        .map(|chunk| EncodedBatch::new(&plan.config, plan.epoch, chunk.to_vec()))
        .collect::<Result<_, _>>()?;
    let first = bodies
        .first()
        .ok_or_else(|| UploadError::Config("no reports to send".into()))?;
    let id_offset = first
        .bytes
        .windows(16)
        .position(|w| w == first.batch_id.0)
        .ok_or_else(|| UploadError::Config("batch id not found in the encoding".into()))?;
    Ok(Pool { bodies, id_offset })
}

/// A simulation RNG from a number (`seed_from_u64` is banned in this workspace so that no
/// production path seeds from a small integer).
fn seeded(seed: u64) -> ChaCha20Rng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(b"ldp-load");
    ChaCha20Rng::from_seed(bytes)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted.get(rank).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// Runs the plan; `progress` is called about once a second with (elapsed, acknowledged reports).
#[expect(
    clippy::too_many_lines,
    reason = "the worker threads borrow the counters, pool and deadline declared here in one \
              `thread::scope`; split apart they would need a shared state struct for no clarity"
)]
pub fn run(
    plan: &LoadPlan,
    progress: &(dyn Fn(Duration, u64) + Sync),
) -> Result<LoadReport, UploadError> {
    let pool = build_pool(plan)?;
    let run_id: u64 = {
        let mut id = [0u8; 8];
        ldp_client::ProductionRng::from_os()?.fill_bytes(&mut id);
        u64::from_le_bytes(id)
    };
    let once = RetryPolicy {
        max_attempts: 1,
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
        request_timeout: Duration::from_secs(30),
    };
    let sequence = AtomicU64::new(0);
    let acked_reports = AtomicU64::new(0);
    let acked_batches = AtomicU64::new(0);
    let errors = AtomicU64::new(0);
    let failed_reports = AtomicU64::new(0);
    let first_error: Mutex<Option<String>> = Mutex::new(None);
    let latencies: Mutex<Vec<Duration>> = Mutex::new(Vec::new());
    let interval = plan
        .rate
        .map(|r| Duration::from_secs_f64(plan.batch_reports as f64 / r.max(1e-9)));
    let workers = plan.concurrency.max(1);
    let finished = AtomicUsize::new(0);
    let started = Instant::now();
    let deadline = started + plan.duration;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let uploaders: Vec<Uploader> = plan
                    .urls
                    .iter()
                    .map(|url| Uploader::with_policy(url, once))
                    .collect();
                let mut mine = Vec::new();
                loop {
                    let seq = sequence.fetch_add(1, Ordering::Relaxed);
                    let scheduled = match interval {
                        Some(every) => started + every.mul_f64(seq as f64),
                        None => Instant::now(),
                    };
                    if scheduled >= deadline {
                        break;
                    }
                    let wait = scheduled.saturating_duration_since(Instant::now());
                    if !wait.is_zero() {
                        std::thread::sleep(wait);
                    }
                    let Some(uploader) = uploaders.get(seq as usize % uploaders.len().max(1))
                    else {
                        break;
                    };
                    let size = plan.batch_reports;
                    let sent = if plan.devices.is_some() {
                        // Fresh reports: each batch once, as encoded.
                        let Some(batch) = pool.bodies.get(seq as usize) else {
                            break;
                        };
                        uploader
                            .send(batch)
                            .map(|_| batch.reports)
                            .map_err(|e| (e, batch.reports))
                    } else {
                        let template = &pool.bodies[(seq as usize) % pool.bodies.len()];
                        let mut batch = template.clone();
                        let mut id = [0u8; 16];
                        id[..8].copy_from_slice(&run_id.to_le_bytes());
                        id[8..].copy_from_slice(&seq.to_le_bytes());
                        batch.bytes[pool.id_offset..pool.id_offset + 16].copy_from_slice(&id);
                        uploader
                            .send(&batch)
                            .map(|_| batch.reports)
                            .map_err(|e| (e, size))
                    };
                    match sent {
                        Ok(reports) => {
                            mine.push(scheduled.elapsed());
                            acked_batches.fetch_add(1, Ordering::Relaxed);
                            acked_reports.fetch_add(reports as u64, Ordering::Relaxed);
                        }
                        Err((e, reports)) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            failed_reports.fetch_add(reports as u64, Ordering::Relaxed);
                            first_error
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .get_or_insert_with(|| e.to_string());
                        }
                    }
                }
                latencies
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(mine);
                finished.fetch_add(1, Ordering::Relaxed);
            });
        }
        scope.spawn(|| {
            let mut next_report = Duration::from_secs(1);
            while Instant::now() < deadline && finished.load(Ordering::Relaxed) < workers {
                std::thread::sleep(Duration::from_millis(50));
                let elapsed = started.elapsed();
                if elapsed >= next_report {
                    next_report += Duration::from_secs(1);
                    progress(elapsed, acked_reports.load(Ordering::Relaxed));
                }
            }
        });
    });
    let seconds = started.elapsed().as_secs_f64();
    let mut latencies = latencies.into_inner().unwrap_or_else(|p| p.into_inner());
    latencies.sort();
    let reports = acked_reports.load(Ordering::Relaxed);
    let failed = failed_reports.load(Ordering::Relaxed);
    Ok(LoadReport {
        sent_reports: reports + failed,
        acked_reports: reports,
        failed_reports: failed,
        acked_batches: acked_batches.load(Ordering::Relaxed),
        failed_batches: errors.load(Ordering::Relaxed),
        seconds,
        reports_per_s: reports as f64 / seconds,
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        max_ms: latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        first_error: first_error.into_inner().unwrap_or_else(|p| p.into_inner()),
    })
}
