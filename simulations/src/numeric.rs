//! Numeric-mean runs (Duchi, Piecewise, Hybrid, dBitFlip): a population of numbers through the real
//! encoder and counters, the error of the mean against the exact variance of the mechanisms.
//!
//! Device values are the population's value indices as numbers: a device holding value i
//! reports the number i, and the campaign's range is `[0, k − 1]`. So `--dist zipf:S` gives a
//! skewed population of small numbers and `uniform` an even spread over the range.
//!
//! Every report is an unbiased estimate of its device's t (the value scaled to [−1, 1]), so the
//! estimated mean has variance `Σ_i Var(t_i)·((hi − lo)/2)²/n²` over the devices' reports
//! ([`theory_mse`], with `NumericParams::variance` exact for the grid and
//! `DBitFlipParams::variance` exact over a device's rounding offset, sample and bits). The standard error the
//! aggregator reports comes from the reports' sample variance, which also holds the spread of
//! the values themselves, so it is slightly larger than the square root of that variance.

use ldp_aggregator::Counters;
use ldp_aggregator::estimate::MeanEstimate;
use ldp_protocol::mechanism::{DBitFlipParams, MechanismParams, NumericParams};
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism};

use crate::population::Population;
use crate::run::{RunError, SIMULATION_RNG, mse_ratio_ci99, simulate_encoded};

/// One (mechanism, ε) result of a numeric run (the JSON record).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NumericRecord {
    /// `duchi`, `piecewise` or `hybrid`.
    pub mechanism: String,
    /// ε per report.
    pub eps: f64,
    /// Values of the population (the range is `[0, k − 1]`).
    pub k: u32,
    /// Devices.
    pub n: u64,
    /// Smallest value of the range.
    pub lo: f64,
    /// Largest value of the range.
    pub hi: f64,
    /// Repetitions.
    pub reps: u32,
    /// The population's true mean.
    pub true_mean: f64,
    /// Mean over repetitions of (estimate − true mean).
    pub mean_error: f64,
    /// Empirical mean squared error of the estimated mean over repetitions.
    pub mse: f64,
    /// The variance of the estimated mean from the mechanism's exact per-report variance.
    pub mse_theory: f64,
    /// `mse / mse_theory`.
    pub mse_ratio: f64,
    /// 99% interval of the ratio (Student t over the repetitions' squared errors).
    pub mse_ratio_ci99: [f64; 2],
    /// Mean over repetitions of the standard error the aggregator reported.
    pub mean_std_error: f64,
    /// Repetitions whose reported 95% interval held the true mean.
    pub runs_covered: u32,
    /// Encoding time per report, one core.
    pub client_ns_per_report: f64,
    /// Folding time per report, one core.
    pub fold_ns_per_report: f64,
    /// The simulation RNG.
    pub rng: String,
}

/// The campaign a run simulates: `mechanism` at `eps` over the range `[0, k − 1]` of
/// `population`.
pub fn campaign(
    population: &Population,
    mechanism: &Mechanism,
    eps: f64,
) -> Result<CampaignConfig, RunError> {
    let hi = f64::from(population.k().saturating_sub(1));
    Ok(CampaignConfig::new(CampaignSpec::new(
        "simulation",
        mechanism.clone(),
        eps,
        Domain::Numeric { lo: 0.0, hi },
    ))?)
}

/// One report's exact variance for input t ∈ [−1, 1] under `config`'s numeric mechanism (an
/// error for other mechanisms).
pub fn report_variance(config: &CampaignConfig) -> Result<Box<dyn Fn(f64) -> f64>, RunError> {
    match config.params() {
        MechanismParams::Duchi(p) | MechanismParams::Piecewise(p) | MechanismParams::Hybrid(p) => {
            let p: NumericParams = *p;
            Ok(Box::new(move |t| p.variance(t)))
        }
        MechanismParams::DBitFlip(p) => {
            let p: DBitFlipParams = *p;
            Ok(Box::new(move |t| p.variance(t)))
        }
        other => Err(RunError::Invalid(format!(
            "{} does not estimate a mean",
            other.kind()
        ))),
    }
}

/// The variance of the estimated mean over `[lo, hi]` when value i (the number i) is held by
/// `counts[i]` devices: `Σ_i counts[i]·Var(t_i)·((hi − lo)/2)²/n²`, with `variance` one
/// report's ([`report_variance`]).
pub fn theory_mse(variance: &dyn Fn(f64) -> f64, counts: &[u64], lo: f64, hi: f64) -> f64 {
    let n = counts.iter().sum::<u64>() as f64;
    let half = (hi - lo) / 2.0;
    let total: f64 = (0u32..)
        .zip(counts)
        .map(|(i, &c)| {
            let t = ((f64::from(i) - lo) / half - 1.0).clamp(-1.0, 1.0);
            c as f64 * variance(t)
        })
        .sum();
    total * half * half / (n * n)
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
        for (slot, &v) in reports.iter_mut().zip(block) {
            encoder.encode_number_into(f64::from(v), slot)?;
        }
        Ok(())
    })
}

/// Runs `reps` repetitions of `mechanism` at `eps` over `population` (device values are the
/// value indices, the range `[0, k − 1]`); returns the record and the last repetition's
/// estimate. `progress` is called after each repetition.
pub fn run(
    population: &Population,
    mechanism: &Mechanism,
    eps: f64,
    reps: u32,
    seed: u64,
    progress: &(dyn Fn() + Sync),
) -> Result<(NumericRecord, MeanEstimate), RunError> {
    if reps == 0 || population.n() == 0 {
        return Err(RunError::Invalid(
            "need at least one repetition and one device".into(),
        ));
    }
    let config = campaign(population, mechanism, eps)?;
    let variance = report_variance(&config)?;
    let (lo, hi) = config
        .numeric_range()
        .ok_or_else(|| RunError::Invalid("not a numeric campaign".into()))?;
    let values: Vec<u32> = population.values().collect();
    let n = population.n() as f64;
    let true_mean = (0u32..)
        .zip(population.counts())
        .map(|(i, &c)| f64::from(i) * c as f64)
        .sum::<f64>()
        / n;
    let mse_theory = theory_mse(&*variance, population.counts(), lo, hi);

    let mut per_rep = Vec::with_capacity(reps as usize);
    let (mut error_sum, mut se_sum, mut covered) = (0.0, 0.0, 0u32);
    let (mut encode_ns, mut fold_ns) = (0u128, 0u128);
    let mut last = None;
    for rep in 0..reps {
        let (counters, e, f) = simulate_once(&config, &values, seed, rep)?;
        encode_ns += e;
        fold_ns += f;
        let estimate = counters.mean(lo, hi)?;
        let error = estimate.mean - true_mean;
        error_sum += error;
        per_rep.push(error * error);
        se_sum += estimate.std_error;
        covered += u32::from((estimate.ci95_low..=estimate.ci95_high).contains(&true_mean));
        last = Some(estimate);
        progress();
    }
    let last = last.ok_or_else(|| RunError::Invalid("no repetition ran".into()))?;
    let (mse, ci) = mse_ratio_ci99(&per_rep, mse_theory);
    let r = f64::from(reps);
    let reports = n * r;
    let record = NumericRecord {
        mechanism: config.params().kind().name().to_owned(),
        eps,
        k: population.k(),
        n: population.n(),
        lo,
        hi,
        reps,
        true_mean,
        mean_error: error_sum / r,
        mse,
        mse_theory,
        mse_ratio: mse / mse_theory,
        mse_ratio_ci99: ci,
        mean_std_error: se_sum / r,
        runs_covered: covered,
        client_ns_per_report: encode_ns as f64 / reports,
        fold_ns_per_report: fold_ns as f64 / reports,
        rng: SIMULATION_RNG.to_owned(),
    };
    Ok((record, last))
}
