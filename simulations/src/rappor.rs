//! RAPPOR runs: a population of strings through the real RAPPOR encoder and decoder, with
//! detection recall and precision and the error of every value's estimate.
//!
//! Each simulated device reports once, so its report is drawn with
//! `ldp_client::encoder::rappor::encode_once` (cohort, PRR and IRR from the simulation RNG):
//! exactly the distribution of a production device's first report, without the PRF. The
//! candidate list is the population's values plus `absent` strings no device holds; the
//! decoder is `Counters::decode`, as the service runs it.

use std::time::Instant;

use ldp_aggregator::estimate::candidates::CandidateDecoding;
use ldp_aggregator::{Alpha, Counters};
use ldp_client::encoder::rappor::encode_once_into;
use ldp_protocol::mechanism::{MechanismParams, RapporSpec};
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, RapporReport, Report};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::population::Population;
use crate::run::{RunError, Shards, simulate_with};

/// The settings of a RAPPOR run.
#[derive(Debug, Clone, PartialEq)]
pub struct RapporRun {
    /// Mechanism settings (m, h, cohorts, f or ε∞, p and q or derived).
    pub spec: RapporSpec,
    /// ε₁, the campaign's ε.
    pub eps: f64,
    /// Strings no device holds, added to the candidates.
    pub absent: usize,
    /// Family-wise level of the detection test.
    pub alpha: Alpha,
    /// Repetitions.
    pub reps: u32,
    /// Seed.
    pub seed: u64,
}

/// One value's result in the last repetition.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ValueResult {
    /// The value.
    pub value: String,
    /// Devices holding it (0 for an absent candidate).
    pub truth: u64,
    /// Estimated count (0 when not fitted).
    pub estimate: f64,
    /// Standard error of the estimate.
    pub std_error: f64,
    /// Whether it was detected.
    pub detected: bool,
}

/// A RAPPOR run's summary (the JSON record).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RapporRecord {
    /// ε₁ per report (the campaign's ε), from the thresholds used.
    pub eps_one: f64,
    /// ε∞ of the permanent response, from the thresholds used.
    pub eps_permanent: f64,
    /// Bloom filter bits.
    pub bloom_bits: u32,
    /// Hash functions.
    pub hashes: u32,
    /// Cohorts.
    pub cohorts: u32,
    /// Devices.
    pub n: u64,
    /// Values held by at least one device.
    pub present: usize,
    /// Candidates held by no device.
    pub absent: usize,
    /// Repetitions.
    pub reps: u32,
    /// Mean share of the present values detected.
    pub recall: f64,
    /// Share of the 20 most frequent values detected, mean over repetitions.
    pub recall_top20: f64,
    /// Repetitions in which all 20 most frequent values were detected.
    pub runs_with_top20_detected: u32,
    /// The repetitions in which all 20 were expected to be detected: the sum over repetitions
    /// of Π Φ(truth/SE − z_threshold) over the 20, from each repetition's standard errors.
    pub runs_with_top20_expected: f64,
    /// Standard deviation of that count (a sum of independent Bernoulli trials).
    pub runs_with_top20_sd: f64,
    /// The 20 most frequent values' pooled standardized error over all repetitions,
    /// Σ(estimate − truth)/√(Σ SE²): about N(0, 1) for an unbiased decoder.
    pub top20_error_z: f64,
    /// Mean share of detections that are present values.
    pub precision: f64,
    /// Repetitions in which any absent candidate was detected.
    pub runs_with_false_detection: u32,
    /// Share of detected values whose estimate lies within 5 standard errors of the truth.
    pub detected_within_5se: f64,
    /// Root mean squared error of the detected values' estimates.
    pub rmse_detected: f64,
    /// Mean share of the reports explained by detected values.
    pub explained_share: f64,
    /// Encoding time per report, one core.
    pub client_ns_per_report: f64,
    /// Folding time per report, one core.
    pub fold_ns_per_report: f64,
    /// Decoding time per repetition.
    pub decode_ms: f64,
    /// Every candidate's result in the last repetition, most frequent first.
    pub values: Vec<ValueResult>,
}

/// The campaign a run simulates (open domain).
pub fn campaign(spec: &RapporSpec, eps: f64) -> Result<CampaignConfig, RunError> {
    Ok(CampaignConfig::new(CampaignSpec::new(
        "simulation",
        Mechanism::Rappor(spec.clone()),
        eps,
        Domain::Open,
    ))?)
}

/// One repetition: every device's report, folded. Returns the counters and the encoding and
/// folding nanoseconds summed over shards.
pub fn simulate_once(
    config: &CampaignConfig,
    labels: &[String],
    population: &Population,
    seed: u64,
    rep: u32,
) -> Result<(Counters, u128, u128), RunError> {
    let MechanismParams::Rappor(params) = config.params() else {
        return Err(RunError::Invalid("not a RAPPOR campaign".into()));
    };
    let values: Vec<u32> = population.values().collect();
    let words = params.words();
    let shards = Shards {
        seed,
        stream: b"rappor",
        rep,
    };
    simulate_with(
        config,
        &values,
        &shards,
        |rng| (rng, vec![0; words]),
        |(rng, scratch), block, reports| {
            for (slot, &v) in reports.iter_mut().zip(block) {
                if !matches!(slot, Report::Rappor(_)) {
                    *slot = Report::Rappor(RapporReport {
                        cohort: 0,
                        bits: vec![0; words],
                    });
                }
                if let Report::Rappor(report) = slot {
                    let label = labels.get(v as usize).map_or("", String::as_str);
                    encode_once_into(params, label.as_bytes(), rng, report, scratch);
                }
            }
            Ok(())
        },
    )
}

/// The candidates of a run: the population's labels, then `absent` strings no device holds.
pub fn candidates(labels: &[String], absent: usize) -> Vec<String> {
    let mut out = labels.to_vec();
    let mut i = 0;
    while out.len() < labels.len() + absent {
        let candidate = format!("absent-{i}");
        if !labels.contains(&candidate) {
            out.push(candidate);
        }
        i += 1;
    }
    out
}

/// For the candidates at `indices` (true counts `truth`, by candidate): the probability that
/// all are detected, Π Φ(truth/SE − z_threshold), from the decoding's standard errors; the sum
/// of their errors; and the sum of their squared standard errors.
pub fn power_and_error(
    decoding: &CandidateDecoding,
    indices: &[usize],
    truth: &[u64],
) -> (f64, f64, f64) {
    let normal = Normal::standard();
    let (mut p_all, mut error, mut se2) = (1.0, 0.0, 0.0);
    for &i in indices {
        let (Some(c), Some(&t)) = (decoding.candidates.get(i), truth.get(i)) else {
            continue;
        };
        p_all *= normal.cdf(t as f64 / c.std_error - decoding.z_threshold);
        error += c.count - t as f64;
        se2 += c.std_error * c.std_error;
    }
    (p_all, error, se2)
}

/// Runs `run.reps` repetitions and summarizes detection and error. `progress` is called
/// after each repetition. Also returns the last repetition's decoding.
pub fn run(
    population: &Population,
    labels: &[String],
    run: &RapporRun,
    progress: &(dyn Fn() + Sync),
) -> Result<(RapporRecord, CandidateDecoding), RunError> {
    if run.reps == 0 || population.n() == 0 {
        return Err(RunError::Invalid(
            "nothing to run: reps and n must be > 0".into(),
        ));
    }
    if labels.len() != population.k() as usize {
        return Err(RunError::Invalid("one label per population value".into()));
    }
    let config = campaign(&run.spec, run.eps)?;
    let MechanismParams::Rappor(params) = config.params() else {
        return Err(RunError::Invalid("not a RAPPOR campaign".into()));
    };
    let candidates = candidates(labels, run.absent);
    let (truth, present, top20) = truth_and_top20(population, run.absent);

    let mut tally = Tally::default();
    let (mut encode_ns, mut fold_ns, mut decode_ns) = (0u128, 0u128, 0u128);
    let mut last = None;
    for rep in 0..run.reps {
        let (counters, e, f) = simulate_once(&config, labels, population, run.seed, rep)?;
        encode_ns += e;
        fold_ns += f;
        let started = Instant::now();
        let decoding = counters.decode(&candidates, run.alpha)?;
        decode_ns += started.elapsed().as_nanos();
        tally.add(&decoding, &truth, present, &top20);
        last = Some(decoding);
        progress();
    }
    let Some(last) = last else {
        return Err(RunError::Invalid("no repetitions".into()));
    };
    let reps = f64::from(run.reps);
    let n = population.n() as f64 * reps;
    let values = value_results(&last, &truth);
    let record = RapporRecord {
        eps_one: params.epsilon_one_upper_bound(),
        eps_permanent: params.epsilon_permanent_upper_bound(),
        bloom_bits: params.bloom_bits,
        hashes: params.hashes,
        cohorts: params.cohorts,
        n: population.n(),
        present,
        absent: run.absent,
        reps: run.reps,
        recall: tally.recall / reps,
        recall_top20: tally.recall_top20 / reps,
        runs_with_top20_detected: tally.top_all,
        runs_with_top20_expected: tally.top_expected,
        runs_with_top20_sd: tally.top_variance.sqrt(),
        top20_error_z: if tally.top_se2 > 0.0 {
            tally.top_error / tally.top_se2.sqrt()
        } else {
            0.0
        },
        precision: tally.precision / reps,
        runs_with_false_detection: tally.false_runs,
        detected_within_5se: if tally.detected_total == 0 {
            1.0
        } else {
            tally.within as f64 / tally.detected_total as f64
        },
        rmse_detected: if tally.detected_total == 0 {
            0.0
        } else {
            (tally.squared / tally.detected_total as f64).sqrt()
        },
        explained_share: tally.explained / reps,
        client_ns_per_report: encode_ns as f64 / n,
        fold_ns_per_report: fold_ns as f64 / n,
        decode_ms: decode_ns as f64 / reps / 1e6,
        values,
    };
    Ok((record, last))
}

/// The true count of every candidate (the population's values, then `absent` zeros), how
/// many are present (count > 0), and the indices of the 20 most frequent (ties by index).
fn truth_and_top20(population: &Population, absent: usize) -> (Vec<u64>, usize, Vec<usize>) {
    let truth: Vec<u64> = population
        .counts()
        .iter()
        .copied()
        .chain(std::iter::repeat_n(0, absent))
        .collect();
    let present = truth.iter().filter(|&&c| c > 0).count();
    let mut top20: Vec<usize> = (0..population.k() as usize).collect();
    top20.sort_by(|&a, &b| truth[b].cmp(&truth[a]).then(a.cmp(&b)));
    top20.truncate(20.min(present));
    (truth, present, top20)
}

/// Every candidate's result in `decoding`, most frequent first (then by estimate).
fn value_results(decoding: &CandidateDecoding, truth: &[u64]) -> Vec<ValueResult> {
    let mut values: Vec<ValueResult> = decoding
        .candidates
        .iter()
        .zip(truth)
        .map(|(c, &t)| ValueResult {
            value: c.value.clone(),
            truth: t,
            estimate: c.count,
            std_error: c.std_error,
            detected: c.detected,
        })
        .collect();
    values.sort_by(|a, b| {
        b.truth
            .cmp(&a.truth)
            .then(b.estimate.total_cmp(&a.estimate))
    });
    values
}

/// Detection and error sums over a run's repetitions.
#[derive(Debug, Default)]
struct Tally {
    recall: f64,
    recall_top20: f64,
    precision: f64,
    explained: f64,
    top_all: u32,
    top_expected: f64,
    top_variance: f64,
    top_error: f64,
    top_se2: f64,
    false_runs: u32,
    detected_total: u64,
    within: u64,
    squared: f64,
}

impl Tally {
    /// Adds one repetition's decoding: `truth` by candidate, `present` values held by a
    /// device, `top20` the indices of the 20 most frequent.
    fn add(
        &mut self,
        decoding: &CandidateDecoding,
        truth: &[u64],
        present: usize,
        top20: &[usize],
    ) {
        let detected: Vec<usize> = decoding
            .candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| c.detected)
            .map(|(i, _)| i)
            .collect();
        let true_detections = detected.iter().filter(|&&i| truth[i] > 0).count();
        self.recall += true_detections as f64 / present.max(1) as f64;
        let top_detected = top20
            .iter()
            .filter(|&&i| decoding.candidates[i].detected)
            .count();
        self.recall_top20 += top_detected as f64 / top20.len().max(1) as f64;
        if top_detected == top20.len() {
            self.top_all += 1;
        }
        let (p_all, error, se2) = power_and_error(decoding, top20, truth);
        self.top_error += error;
        self.top_se2 += se2;
        self.top_expected += p_all;
        self.top_variance += p_all * (1.0 - p_all);
        self.precision += if detected.is_empty() {
            1.0
        } else {
            true_detections as f64 / detected.len() as f64
        };
        if detected.iter().any(|&i| truth[i] == 0) {
            self.false_runs += 1;
        }
        for &i in &detected {
            let c = &decoding.candidates[i];
            let error = c.count - truth[i] as f64;
            self.squared += error * error;
            self.detected_total += 1;
            if error.abs() <= 5.0 * c.std_error {
                self.within += 1;
            }
        }
        self.explained += decoding.explained_share;
    }
}
