//! Count-mean sketch runs (CMS, HCMS): a population of strings through the real encoder and
//! the sketch decoder, the count errors against the variance formula of `ldp-protocol`, and
//! detection of the values held.
//!
//! Every simulated device encodes its value's string with `Encoder::encode` on an open-domain
//! campaign. The candidates are the population's values plus `absent` strings no device holds
//! (as for RAPPOR); the decoder is `Counters::decode`, as the service runs it.
//!
//! Each repetition draws its own hash family: the mechanism's `seed` comes from the run seed
//! and the repetition ([`family_seed`]), the same for every ε so that ε values are compared on
//! the same families. The variance formula ([`SketchParams::count_variance`]) is a variance
//! over the hash family as well as the reports; its last term, `F₂'/(d(m − 1))` with
//! `F₂' = Σ_{d'≠d} c_{d'}²`, is the other values' collisions. Within one repetition all values
//! share the family, so the repetitions' mean squared errors, not the values', are the
//! independent samples the 99% interval is computed from.

use std::time::Instant;

use ldp_aggregator::estimate::candidates::CandidateDecoding;
use ldp_aggregator::{Alpha, Counters};
use ldp_protocol::mechanism::{MechanismParams, SketchParams, SketchSpec};
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism};

use crate::population::Population;
use crate::run::{RunError, SIMULATION_RNG, mse_ratio_ci99, shard_seed, simulate_encoded};

/// The settings of a sketch run.
#[derive(Debug, Clone, PartialEq)]
pub struct SketchRun {
    /// HCMS (one Hadamard coefficient per report) rather than CMS (m entries).
    pub hadamard: bool,
    /// Hash functions d, the sketch's rows.
    pub hashes: u32,
    /// Buckets per row m (a power of two for HCMS).
    pub width: u32,
    /// ε per report.
    pub eps: f64,
    /// Strings no device holds, added to the candidates.
    pub absent: usize,
    /// Family-wise level of the detection test.
    pub alpha: Alpha,
    /// Repetitions.
    pub reps: u32,
    /// Seed of the devices' randomness and of the hash families.
    pub seed: u64,
}

/// A sketch run's summary (the JSON record).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SketchRecord {
    /// `cms` or `hcms`.
    pub mechanism: String,
    /// ε per report.
    pub eps: f64,
    /// Hash functions d.
    pub hashes: u32,
    /// Buckets per row m.
    pub width: u32,
    /// Devices.
    pub n: u64,
    /// Values held by at least one device.
    pub present: usize,
    /// Candidates held by no device.
    pub absent: usize,
    /// Repetitions.
    pub reps: u32,
    /// Empirical mean squared error of the present values' counts, over values and
    /// repetitions.
    pub mse: f64,
    /// Mean over the present values of the variance formula, from the true counts.
    pub mse_theory: f64,
    /// `mse / mse_theory`.
    pub mse_ratio: f64,
    /// 99% interval of the ratio (Student t over the repetitions' MSEs).
    pub mse_ratio_ci99: [f64; 2],
    /// Mean share of the present values detected.
    pub recall: f64,
    /// Share of the 20 most frequent values detected, mean over repetitions.
    pub recall_top20: f64,
    /// Repetitions in which any absent candidate was detected.
    pub runs_with_false_detection: u32,
    /// Encoding time per report, one core.
    pub client_ns_per_report: f64,
    /// Folding time per report, one core.
    pub fold_ns_per_report: f64,
    /// Decoding time per repetition.
    pub decode_ms: f64,
    /// The simulation RNG.
    pub rng: String,
}

/// The hash-family seed of repetition `rep` of a run seeded with `seed`.
pub fn family_seed(seed: u64, rep: u32) -> u64 {
    shard_seed(seed, b"sketch hash family", 0.0, rep, 0)
}

/// The campaign repetition `rep` simulates: an open domain, the run's shape, and the
/// repetition's hash family.
pub fn campaign(run: &SketchRun, rep: u32) -> Result<CampaignConfig, RunError> {
    let spec = SketchSpec {
        hashes: Some(run.hashes),
        width: Some(run.width),
        seed: Some(family_seed(run.seed, rep)),
    };
    let mechanism = if run.hadamard {
        Mechanism::Hcms(spec)
    } else {
        Mechanism::Cms(spec)
    };
    Ok(CampaignConfig::new(CampaignSpec::new(
        "simulation",
        mechanism,
        run.eps,
        Domain::Open,
    ))?)
}

/// The sketch parameters of `config` (an error for other mechanisms).
fn sketch_params(config: &CampaignConfig) -> Result<&SketchParams, RunError> {
    match config.params() {
        MechanismParams::Cms(p) | MechanismParams::Hcms(p) => Ok(p),
        other => Err(RunError::Invalid(format!(
            "{} is not a count-mean sketch",
            other.kind()
        ))),
    }
}

/// The mean over the present values (count > 0) of [`SketchParams::count_variance`] with the
/// true counts: n devices, the value's count, and the other values' counts squared.
pub fn theory_mse(params: &SketchParams, counts: &[u64]) -> f64 {
    let n = counts.iter().sum::<u64>() as f64;
    let squares: f64 = counts.iter().map(|&c| (c as f64) * (c as f64)).sum();
    let (total, present) =
        counts
            .iter()
            .filter(|&&c| c > 0)
            .fold((0.0, 0usize), |(total, present), &c| {
                let c = c as f64;
                (
                    total + params.count_variance(n, c, squares - c * c),
                    present + 1,
                )
            });
    total / present.max(1) as f64
}

/// One repetition: every device's report, folded. Returns the counters and the encoding and
/// folding nanoseconds summed over shards (one core's worth of work).
pub fn simulate_once(
    config: &CampaignConfig,
    labels: &[String],
    population: &Population,
    seed: u64,
    rep: u32,
) -> Result<(Counters, u128, u128), RunError> {
    let values: Vec<u32> = population.values().collect();
    simulate_encoded(config, &values, seed, rep, |encoder, block, reports| {
        for (slot, &v) in reports.iter_mut().zip(block) {
            let value = labels
                .get(v as usize)
                .ok_or_else(|| RunError::Invalid("one label per population value".into()))?;
            encoder.encode_into(value, slot)?;
        }
        Ok(())
    })
}

/// Runs `run.reps` repetitions and summarizes the count error and detection. `progress` is
/// called after each repetition. Also returns the last repetition's decoding.
pub fn run(
    population: &Population,
    labels: &[String],
    run: &SketchRun,
    progress: &(dyn Fn() + Sync),
) -> Result<(SketchRecord, CandidateDecoding), RunError> {
    if run.reps == 0 || population.n() == 0 {
        return Err(RunError::Invalid(
            "nothing to run: reps and n must be > 0".into(),
        ));
    }
    if labels.len() != population.k() as usize {
        return Err(RunError::Invalid("one label per population value".into()));
    }
    let first = campaign(run, 0)?;
    let params = *sketch_params(&first)?;
    let mse_theory = theory_mse(&params, population.counts());
    let candidates = crate::rappor::candidates(labels, run.absent);
    let truth: Vec<u64> = population
        .counts()
        .iter()
        .copied()
        .chain(std::iter::repeat_n(0, run.absent))
        .collect();
    let present = truth.iter().filter(|&&c| c > 0).count();
    let mut top20: Vec<usize> = (0..truth.len()).filter(|&i| truth[i] > 0).collect();
    top20.sort_by(|&a, &b| truth[b].cmp(&truth[a]).then(a.cmp(&b)));
    top20.truncate(20);

    let mut per_rep = Vec::with_capacity(run.reps as usize);
    let (mut recall, mut recall_top20, mut false_runs) = (0.0, 0.0, 0u32);
    let (mut encode_ns, mut fold_ns, mut decode_ns) = (0u128, 0u128, 0u128);
    let mut last = None;
    for rep in 0..run.reps {
        let config = campaign(run, rep)?;
        let (counters, e, f) = simulate_once(&config, labels, population, run.seed, rep)?;
        encode_ns += e;
        fold_ns += f;
        let started = Instant::now();
        let decoding = counters.decode(&candidates, run.alpha)?;
        decode_ns += started.elapsed().as_nanos();
        let score = score(&decoding, &truth, present, &top20);
        per_rep.push(score.mse);
        recall += score.recall;
        recall_top20 += score.recall_top20;
        false_runs += u32::from(score.false_detection);
        last = Some(decoding);
        progress();
    }
    let last = last.ok_or_else(|| RunError::Invalid("no repetition ran".into()))?;
    let (mse, ci) = mse_ratio_ci99(&per_rep, mse_theory);
    let reps = f64::from(run.reps);
    let reports = population.n() as f64 * reps;
    let record = SketchRecord {
        mechanism: params_name(&params).to_owned(),
        eps: run.eps,
        hashes: params.hashes,
        width: params.width,
        n: population.n(),
        present,
        absent: run.absent,
        reps: run.reps,
        mse,
        mse_theory,
        mse_ratio: mse / mse_theory,
        mse_ratio_ci99: ci,
        recall: recall / reps,
        recall_top20: recall_top20 / reps,
        runs_with_false_detection: false_runs,
        client_ns_per_report: encode_ns as f64 / reports,
        fold_ns_per_report: fold_ns as f64 / reports,
        decode_ms: decode_ns as f64 / reps / 1e6,
        rng: SIMULATION_RNG.to_owned(),
    };
    Ok((record, last))
}

/// One repetition's errors and detections.
struct Score {
    /// Mean squared error of the present values' counts.
    mse: f64,
    /// Share of the present values detected.
    recall: f64,
    /// Share of the 20 most frequent values detected.
    recall_top20: f64,
    /// Whether an absent candidate was detected.
    false_detection: bool,
}

/// Scores one repetition's `decoding` against `truth` (by candidate; `present` values held,
/// `top20` the indices of the most frequent).
fn score(decoding: &CandidateDecoding, truth: &[u64], present: usize, top20: &[usize]) -> Score {
    let (mut squared, mut found, mut false_detection) = (0.0, 0usize, false);
    for (c, &t) in decoding.candidates.iter().zip(truth) {
        if t > 0 {
            let error = c.count - t as f64;
            squared += error * error;
            found += usize::from(c.detected);
        } else {
            false_detection |= c.detected;
        }
    }
    let top_found = top20
        .iter()
        .filter(|&&i| decoding.candidates.get(i).is_some_and(|c| c.detected))
        .count();
    Score {
        mse: squared / present.max(1) as f64,
        recall: found as f64 / present.max(1) as f64,
        recall_top20: top_found as f64 / top20.len().max(1) as f64,
        false_detection,
    }
}

/// `cms` or `hcms`.
fn params_name(params: &SketchParams) -> &'static str {
    if params.hadamard { "hcms" } else { "cms" }
}
