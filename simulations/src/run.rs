//! Simulated runs: a population through the real encoders and counters, its error against the
//! variance formulas of `ldp-protocol`.
//!
//! Devices are split into shards of [`SHARD`] devices; each shard draws from its own RNG,
//! seeded from (seed, mechanism, ε, repetition, shard), and shards run in parallel (rayon).
//! The mechanism enters the seed as explicit bytes ([`stream`]: its name and the campaign
//! config's digest), never as a `Debug` string, so editing a type's `Debug` output cannot
//! change results.
//! Each shard's reports go in blocks of 2,048, each block a real `Batch` checked and folded
//! by the aggregator's ingest policy (`ldp_aggregator::ingest`), the rules the service applies.
//! Counters are sums, so merging them in shard order gives the same result however many
//! threads ran: the same `--seed` gives the same numbers on one core or many.
//!
//! The simulator drives the production encoders through `Encoder::with_simulation_rng` with
//! WyRand (fast, not cryptographic: a 64-bit state, one add and one multiply per word); devices
//! use ChaCha20 seeded by the OS.

use std::time::Instant;

use ldp_aggregator::ingest::{self, DEFAULT_MAX_BATCH_REPORTS, IngestError, Limits};
use ldp_aggregator::{Accumulator, Counters, Estimates};
use ldp_client::Encoder;
use ldp_protocol::{Batch, BatchId, CampaignConfig, ConfigError, Mechanism, Report};
use rayon::prelude::*;
use statrs::distribution::{ContinuousCDF, StudentsT};
use wyrand::WyRand;

use crate::population::Population;

/// Devices per shard.
pub const SHARD: usize = 1 << 16;

/// Reports encoded, then folded, at a time: one batch.
const BLOCK: usize = 2048;

// A block is a batch the service would take with its default limits.
const _: () = assert!(BLOCK <= DEFAULT_MAX_BATCH_REPORTS);

/// The epoch of every simulated batch (and the whole accepted window).
const EPOCH: u64 = 0;

/// The id of block `block` of shard `shard`: the shard and the block as little-endian
/// integers, so that the simulation stays reproducible (devices draw theirs at random).
fn block_id(shard: usize, block: usize) -> BatchId {
    let mut id = [0; 16];
    let (s, b) = id.split_at_mut(8);
    s.copy_from_slice(&(shard as u64).to_le_bytes());
    b.copy_from_slice(&(block as u64).to_le_bytes());
    BatchId(id)
}

/// The name of the simulation RNG, printed with results.
pub const SIMULATION_RNG: &str = "wyrand";

/// One (mechanism, ε) result; the JSON/CSV record (fields documented in `simulations/README.md`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunRecord {
    /// Mechanism name.
    pub mechanism: String,
    /// ε per report.
    pub eps: f64,
    /// Domain size.
    pub k: u32,
    /// Devices.
    pub n: u64,
    /// Repetitions.
    pub reps: u32,
    /// Empirical mean squared error of the unbiased counts, over values and repetitions.
    pub mse: f64,
    /// The same from the variance formula for this population.
    pub mse_theory: f64,
    /// `mse / mse_theory`.
    pub mse_ratio: f64,
    /// 99% interval of the ratio (Student t over repetitions).
    pub mse_ratio_ci99: [f64; 2],
    /// Largest absolute error of an unbiased count.
    pub max_abs_error: f64,
    /// MSE of the consistency-processed (Norm-Sub) counts.
    pub mse_consistent: f64,
    /// Largest absolute error of a consistency-processed count.
    pub max_abs_error_consistent: f64,
    /// Encoding time per report, one core.
    pub client_ns_per_report: f64,
    /// Folding plus estimation time per report, one core.
    pub aggregator_ns_per_report: f64,
    /// The simulation RNG.
    pub rng: String,
}

/// A seed for one shard from everything that identifies it: the run's seed, the stream
/// (what is simulated, as bytes), ε, the repetition and the shard.
pub(crate) fn shard_seed(seed: u64, stream: &[u8], eps: f64, rep: u32, shard: usize) -> u64 {
    let mut key = Vec::with_capacity(stream.len() + 28);
    key.extend_from_slice(stream);
    key.extend_from_slice(&eps.to_bits().to_le_bytes());
    key.extend_from_slice(&rep.to_le_bytes());
    key.extend_from_slice(&(shard as u64).to_le_bytes());
    twox_hash::XxHash3_64::oneshot_with_seed(seed, &key)
}

/// The stream of a simulation of `config`: the mechanism's name and the config's digest (the
/// xxh3 of its canonical encoding, every default resolved: OLH's g, a sketch's hash family).
/// Explicit fields, so that only a change to what is simulated changes the numbers.
pub fn stream(config: &CampaignConfig) -> Vec<u8> {
    let name = config.params().kind().name();
    let mut stream = Vec::with_capacity(name.len() + 8);
    stream.extend_from_slice(name.as_bytes());
    stream.extend_from_slice(&config.digest().to_le_bytes());
    stream
}

/// One repetition: every device's report, folded. Returns the counters and the encoding and
/// folding nanoseconds summed over shards (one core's worth of work).
pub fn simulate_once(
    config: &CampaignConfig,
    values: &[u32],
    seed: u64,
    rep: u32,
) -> Result<(Counters, u128, u128), RunError> {
    simulate_encoded(config, values, seed, rep, |encoder, block, reports| {
        Ok(encoder.encode_indices_into(block, reports)?)
    })
}

/// [`simulate_with`] for devices that encode through [`Encoder`] (one per shard, over the
/// shard's simulation RNG), seeded by the config's [`stream`].
pub(crate) fn simulate_encoded<E>(
    config: &CampaignConfig,
    values: &[u32],
    seed: u64,
    rep: u32,
    encode: E,
) -> Result<(Counters, u128, u128), RunError>
where
    E: Fn(&mut Encoder<WyRand>, &[u32], &mut [Report]) -> Result<(), RunError> + Sync,
{
    let shards = Shards {
        seed,
        stream: &stream(config),
        rep,
    };
    simulate_with(
        config,
        values,
        &shards,
        |rng| Encoder::with_simulation_rng(config, rng),
        encode,
    )
}

/// What every shard's RNG is seeded from besides its index and ε: the run's seed, the stream
/// (what is simulated, as bytes) and the repetition.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shards<'a> {
    /// The run's seed.
    pub seed: u64,
    /// What is simulated ([`stream`], or a fixed name).
    pub stream: &'a [u8],
    /// The repetition.
    pub rep: u32,
}

/// The shard loop every simulation shares: `values` split over the cores, each shard with
/// its own seeded simulation RNG handed to `device` (which makes the shard's encoder), a
/// block of devices' reports written by `encode` (each device's value into its report, in
/// order) into a block of reports reused block to block (cache-resident, allocations kept),
/// the block checked and folded as a [`Batch`] by the service's ingest policy
/// ([`ingest::accept_into`]: campaign, digest, epoch, size, every report), and the shards
/// merged. Returns the counters and the encoding and folding nanoseconds.
pub(crate) fn simulate_with<S, D, E>(
    config: &CampaignConfig,
    values: &[u32],
    shards: &Shards<'_>,
    device: D,
    encode: E,
) -> Result<(Counters, u128, u128), RunError>
where
    D: Fn(WyRand) -> S + Sync,
    E: Fn(&mut S, &[u32], &mut [Report]) -> Result<(), RunError> + Sync,
{
    let Shards { seed, stream, rep } = *shards;
    let shards: Vec<_> = values
        .par_chunks(SHARD)
        .enumerate()
        .map(|(shard, chunk)| {
            let rng = WyRand::new(shard_seed(seed, stream, config.epsilon(), rep, shard));
            let mut encoder = device(rng);
            let mut counters = Counters::new(config);
            let mut batch = Batch::new(config, EPOCH, block_id(shard, 0));
            let mut reports: Vec<Report> = Vec::with_capacity(BLOCK);
            let limits = Limits::default();
            let (mut encoded, mut folded) = (0u128, 0u128);
            for (index, block) in chunk.chunks(BLOCK).enumerate() {
                let started = Instant::now();
                // Every slot is overwritten before folding; a new one starts as a placeholder.
                reports.truncate(block.len());
                reports.resize_with(block.len(), || {
                    Report::Grr(ldp_protocol::GrrReport { value: 0 })
                });
                encode(&mut encoder, block, &mut reports)?;
                encoded += started.elapsed().as_nanos();
                let started = Instant::now();
                // The block's reports move into the batch and back: no copy, no allocation.
                batch.batch_id = block_id(shard, index);
                batch.reports = std::mem::take(&mut reports);
                let accepted =
                    ingest::accept_into(&mut counters, config, &batch, EPOCH..=EPOCH, &limits);
                reports = std::mem::take(&mut batch.reports);
                accepted?;
                folded += started.elapsed().as_nanos();
            }
            Ok((counters, encoded, folded))
        })
        .collect::<Result<_, RunError>>()?;
    let mut total = Counters::new(config);
    let (mut encode_ns, mut fold_ns) = (0, 0);
    for (counters, e, f) in shards {
        total.merge(&counters)?;
        encode_ns += e;
        fold_ns += f;
    }
    Ok((total, encode_ns, fold_ns))
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The mechanism does not accept these parameters.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Encoding failed.
    #[error(transparent)]
    Client(#[from] ldp_client::ClientError),
    /// Folding failed.
    #[error(transparent)]
    Aggregate(#[from] ldp_aggregator::AggregateError),
    /// The ingest policy refused a simulated batch.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// Nothing to run.
    #[error("{0}")]
    Invalid(String),
}

/// The mean over values of the variance of an unbiased count for `population` under
/// `mechanism` at `eps` (the formula of `ldp-protocol`, with the thresholds a campaign uses).
pub fn theory_mse(
    population: &Population,
    mechanism: &Mechanism,
    eps: f64,
) -> Result<f64, RunError> {
    let config = CampaignConfig::range("simulation", mechanism.clone(), eps, population.k())?;
    let pure = config.params().pure();
    let n = population.n() as f64;
    let total: f64 = population
        .counts()
        .iter()
        .map(|&c| pure.count_variance(n, c as f64))
        .sum();
    Ok(total / f64::from(population.k()))
}

/// The mean of `per_rep` (one squared-error figure per repetition) and the 99% interval of its
/// ratio to `theory`: Student t over the repetitions, infinite with fewer than two.
pub(crate) fn mse_ratio_ci99(per_rep: &[f64], theory: f64) -> (f64, [f64; 2]) {
    let r = per_rep.len() as f64;
    let mse = per_rep.iter().sum::<f64>() / r;
    let ci = if per_rep.len() > 1 {
        let var = per_rep.iter().map(|m| (m - mse).powi(2)).sum::<f64>() / (r - 1.0);
        let t = StudentsT::new(0.0, 1.0, r - 1.0)
            .map(|d| d.inverse_cdf(0.995))
            .unwrap_or(f64::INFINITY);
        let half = t * (var / r).sqrt();
        [(mse - half) / theory, (mse + half) / theory]
    } else {
        [f64::NEG_INFINITY, f64::INFINITY]
    };
    (mse, ci)
}

/// Runs `reps` repetitions of `mechanism` at `eps` over `population`; returns the record and
/// the estimates of the last repetition. `progress` is called after each repetition.
pub fn run(
    population: &Population,
    mechanism: &Mechanism,
    eps: f64,
    reps: u32,
    seed: u64,
    progress: &(dyn Fn() + Sync),
) -> Result<(RunRecord, Estimates), RunError> {
    if reps == 0 || population.n() == 0 {
        return Err(RunError::Invalid(
            "need at least one repetition and one device".into(),
        ));
    }
    let config = CampaignConfig::range("simulation", mechanism.clone(), eps, population.k())?;
    let values: Vec<u32> = population.values().collect();
    let truth: Vec<f64> = population.counts().iter().map(|&c| c as f64).collect();
    let n = population.n() as f64;
    let k = truth.len() as f64;
    let pure = config.params().pure();
    let mse_theory = truth
        .iter()
        .map(|&c| pure.count_variance(n, c))
        .sum::<f64>()
        / k;

    let mut per_rep = Vec::with_capacity(reps as usize);
    let (mut max_abs, mut max_abs_consistent, mut sq_consistent) = (0.0f64, 0.0f64, 0.0f64);
    let (mut encode_ns, mut aggregate_ns) = (0u128, 0u128);
    let mut last = None;
    for rep in 0..reps {
        let (counters, e, f) = simulate_once(&config, &values, seed, rep)?;
        let started = Instant::now();
        let estimates = counters.estimate()?;
        aggregate_ns += f + started.elapsed().as_nanos();
        encode_ns += e;
        let mut sq = 0.0;
        for (v, &c) in estimates.values.iter().zip(&truth) {
            let err = v.count - c;
            sq += err * err;
            max_abs = max_abs.max(err.abs());
            let err_c = v.norm_sub_count - c;
            sq_consistent += err_c * err_c;
            max_abs_consistent = max_abs_consistent.max(err_c.abs());
        }
        per_rep.push(sq / k);
        last = Some(estimates);
        progress();
    }
    let r = f64::from(reps);
    let (mse, ci) = mse_ratio_ci99(&per_rep, mse_theory);
    let reports = n * r;
    let record = RunRecord {
        mechanism: config.params().kind().name().to_owned(),
        eps,
        k: population.k(),
        n: population.n(),
        reps,
        mse,
        mse_theory,
        mse_ratio: mse / mse_theory,
        mse_ratio_ci99: ci,
        max_abs_error: max_abs,
        mse_consistent: sq_consistent / (k * r),
        max_abs_error_consistent: max_abs_consistent,
        client_ns_per_report: encode_ns as f64 / reports,
        aggregator_ns_per_report: aggregate_ns as f64 / reports,
        rng: SIMULATION_RNG.to_owned(),
    };
    let last = last.ok_or_else(|| RunError::Invalid("no repetition ran".into()))?;
    Ok((record, last))
}
