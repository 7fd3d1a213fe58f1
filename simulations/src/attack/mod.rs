//! Data poisoning: fake devices that send crafted reports to raise the estimated frequency of
//! chosen target values, and the gain they achieve against its closed form.
//!
//! The three attacks of Cao, Jia and Gong ("Data Poisoning Attacks to Local Differential
//! Privacy Protocols", USENIX Security 2021), against the frequency oracles GRR, SUE, OUE, OLH
//! and BLH. A fraction β of all devices is fake, r values are targets, and the **frequency
//! gain** is how much the sum of the targets' estimated frequencies rises:
//! `Σ_t f̂_t(after) − Σ_t f̂_t(before)`, "before" being the honest devices alone.
//!
//! - **Random value** ([`Attack::RandomValue`]): each fake device sends a uniformly random
//!   report (a random index; random bits; a random seed and bucket).
//! - **Random item** ([`Attack::RandomItem`]): each fake device picks a random target and
//!   encodes it honestly, through the real encoder.
//! - **Maximal gain** ([`Attack::MaximalGain`]): each fake device sends the report that
//!   supports as many targets as the report's structure allows: one target for GRR; every
//!   target's bit for unary encoding (plus random non-target bits up to an honest report's
//!   expected count, as in the paper); for local hashing a seed that hashes every target
//!   into one bucket, found by trying seeds.
//!
//! With `S` the number of targets a fake report supports, `(p, q)` the pure protocol's
//! probabilities (a report supports its value with probability p, any other with q) and `f_T`
//! the targets' true frequency among honest devices, the expected gain is
//! `β·(E[S] − r·q)/(p − q) − β·f_T` ([`expected_gain`]): for the maximal-gain attack on GRR,
//! `β(1 − f_T) + β(k − r)/(e^ε − 1)`; on OUE and OLH, `β(2r·e^ε/(e^ε − 1) − f_T)`. The
//! simulation folds honest and fake reports through the service's ingest policy
//! ([`ingest::accept_into`]) and estimates with the aggregator's own estimator, so whatever
//! the collector would count, the measurement counts.
//!
//! Unary reports outside the honest range are left out, as the collector does
//! (`ldp_protocol::plausibility`): the expected gain counts only the fake reports kept, with
//! β among the counted reports and the estimator's per-bit probabilities among kept reports.
//! No per-report check can refuse a maximal-gain GRR report: it is a valid report that an
//! honest device sends with probability q or p.

use ldp_aggregator::ingest::{self, DEFAULT_MAX_BATCH_REPORTS, Limits};
use ldp_aggregator::{Counters, Estimates};
use ldp_client::Encoder;
use ldp_protocol::{Batch, BatchId, CampaignConfig, Mechanism, Report};
use wyrand::WyRand;

use crate::population::Population;
use crate::run::{RunError, simulate_once};

mod forge;
mod live;
mod theory;

pub use forge::SEED_TRIES;
pub use live::{Live, attack_live};
pub use theory::{Family, Setting, expected_gain, gain_sigma, paper_gain};

use forge::{counted, fake_report};
use theory::{counted_pure, support_expected};

/// A poisoning attack (Cao, Jia, Gong 2021).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Attack {
    /// Uniformly random reports.
    RandomValue,
    /// A random target, encoded honestly.
    RandomItem,
    /// The report supporting the most targets.
    MaximalGain,
}

impl Attack {
    /// Every attack, in the paper's order.
    pub const ALL: [Self; 3] = [Self::RandomValue, Self::RandomItem, Self::MaximalGain];

    /// The short name (`rva`, `ria`, `mga`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::RandomValue => "rva",
            Self::RandomItem => "ria",
            Self::MaximalGain => "mga",
        }
    }
}

impl std::str::FromStr for Attack {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == name.trim())
            .ok_or_else(|| format!("unknown attack {name:?}; use rva, ria or mga"))
    }
}

/// One attack's measured and expected gain; the JSON/CSV record of `ldp-sim attack`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GainRecord {
    /// Mechanism name.
    pub mechanism: String,
    /// The attack.
    pub attack: Attack,
    /// ε per report.
    pub eps: f64,
    /// Domain size.
    pub k: u32,
    /// Honest devices.
    pub n: u64,
    /// Fake devices.
    pub fake: u64,
    /// Fake devices' share of all devices, `fake / (n + fake)`.
    pub beta: f64,
    /// Fake reports counted per repetition, on average: the rest were left out as
    /// implausible (`ldp_protocol::plausibility`).
    pub fake_counted: f64,
    /// Honest reports left out as implausible per repetition, on average.
    pub honest_refused: f64,
    /// Target values (`;`-separated in CSV).
    #[serde(serialize_with = "joined")]
    #[serde(deserialize_with = "split")]
    pub targets: Vec<u32>,
    /// The targets' true frequency among honest devices.
    pub target_frequency: f64,
    /// Repetitions (honest and fake devices drawn afresh in each).
    pub reps: u32,
    /// Measured frequency gain, the mean over repetitions.
    pub gain: f64,
    /// Expected gain at this campaign's exact parameters ([`expected_gain`]).
    pub gain_expected: f64,
    /// Standard deviation of the measured mean around `gain_expected` (from the variance of
    /// the honest and fake reports' target support; see [`gain_sigma`]).
    pub gain_sigma: f64,
    /// The paper's closed form, with its ideal real-valued parameters ([`paper_gain`]).
    pub gain_paper: f64,
    /// Targets a fake report supports, on average (the S of the formula).
    pub fake_support: f64,
    /// Rank of the first target among the estimated counts before the attack (1 = top),
    /// in the first repetition.
    pub rank_before: usize,
    /// Its rank after.
    pub rank_after: usize,
}

fn joined<S: serde::Serializer>(values: &[u32], s: S) -> Result<S::Ok, S::Error> {
    let text: Vec<String> = values.iter().map(u32::to_string).collect();
    s.serialize_str(&text.join(";"))
}

fn split<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u32>, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(d)?;
    text.split(';')
        .map(|v| v.parse().map_err(serde::de::Error::custom))
        .collect()
}

/// Fake devices for `beta` (their share of all devices) beside `n` honest ones, rounded.
pub fn fake_devices(n: u64, beta: f64) -> u64 {
    (beta / (1.0 - beta) * n as f64).round() as u64
}

/// The targets' summed estimated frequency, and the first target's rank (1 = the largest
/// estimated count), from `n` reports' estimated `counts`.
fn target_share(n: u64, counts: &[f64], targets: &[u32]) -> (f64, usize) {
    let share = targets
        .iter()
        .filter_map(|&t| counts.get(t as usize))
        .map(|c| c / n as f64)
        .sum();
    let first = targets
        .first()
        .and_then(|&t| counts.get(t as usize))
        .copied()
        .unwrap_or(0.0);
    let rank = 1 + counts.iter().filter(|&&c| c > first).count();
    (share, rank)
}

/// The estimated counts of `estimates`, in index order.
fn counts_of(estimates: &Estimates) -> Vec<f64> {
    estimates.values.iter().map(|v| v.count).collect()
}

/// Folds `reports` into `counters` as batches the service would take (its ingest policy).
fn fold_as_batches(
    counters: &mut Counters,
    config: &CampaignConfig,
    reports: Vec<Report>,
    rep: u32,
) -> Result<(), RunError> {
    let limits = Limits::default();
    let mut batch = Batch::new(config, 0, BatchId([0; 16]));
    for (index, block) in reports.chunks(DEFAULT_MAX_BATCH_REPORTS).enumerate() {
        let mut id = [0xfa_u8; 16];
        id[..4].copy_from_slice(&rep.to_le_bytes());
        id[4..12].copy_from_slice(&(index as u64).to_le_bytes());
        batch.batch_id = BatchId(id);
        batch.reports = block.to_vec();
        ingest::accept_into(counters, config, &batch, 0..=0, &limits)?;
    }
    Ok(())
}

/// The attack's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct AttackPlan {
    /// The attack.
    pub attack: Attack,
    /// Fake devices' share of all devices, in [0, 1).
    pub beta: f64,
    /// Target values (distinct, each `< k`).
    pub targets: Vec<u32>,
}

/// Why `plan` cannot run `reps` times against `population`, if it cannot.
fn check_plan(plan: &AttackPlan, reps: u32, population: &Population) -> Result<(), RunError> {
    let k = population.k();
    if reps == 0 || population.n() == 0 {
        return Err(RunError::Invalid(
            "need at least one repetition and one device".into(),
        ));
    }
    if !(0.0..1.0).contains(&plan.beta) {
        return Err(RunError::Invalid(format!(
            "β must be in [0, 1), not {}",
            plan.beta
        )));
    }
    if plan.targets.is_empty() || plan.targets.iter().any(|&t| t >= k) {
        return Err(RunError::Invalid(format!(
            "targets must be values below k = {k}"
        )));
    }
    Ok(())
}

/// One repetition's outcome.
struct Once {
    /// The targets' summed frequency, after minus before.
    gain: f64,
    /// Targets supported, summed over the fake reports counted.
    support: u64,
    /// Fake reports counted (not left out as implausible).
    fakes_counted: u64,
    /// Honest reports counted.
    honest_counted: u64,
    /// The first target's rank before and after.
    ranks: (usize, usize),
}

/// `m` fake devices' reports for `plan`, drawn from `seed`, and the targets supported by
/// those the collector counts.
fn fake_reports(
    config: &CampaignConfig,
    plan: &AttackPlan,
    m: u64,
    seed: u64,
) -> Result<(Vec<Report>, u64), RunError> {
    let mut rng = WyRand::new(seed);
    let mut encoder = Encoder::with_simulation_rng(config, WyRand::new(!seed));
    let mut reports = Vec::with_capacity(m as usize);
    let mut support = 0;
    for _ in 0..m {
        let (report, s) = fake_report(config, plan.attack, &plan.targets, &mut rng, &mut encoder)?;
        if counted(config.params(), &report) {
            support += u64::from(s);
        }
        reports.push(report);
    }
    Ok((reports, support))
}

/// Repetition `rep`: the honest devices' counters, then the same with `m` fake devices'.
fn attack_once(
    config: &CampaignConfig,
    values: &[u32],
    plan: &AttackPlan,
    m: u64,
    seed: u64,
    rep: u32,
) -> Result<Once, RunError> {
    let (honest, _, _) = simulate_once(config, values, seed, rep)?;
    let estimates = honest.estimate()?;
    let honest_counted = estimates.n;
    let (before, rank_before) = target_share(estimates.n, &counts_of(&estimates), &plan.targets);
    let fake_seed = seed ^ 0xa77a_c4ed_u64.rotate_left(rep);
    let (reports, support) = fake_reports(config, plan, m, fake_seed)?;
    let mut attacked = honest;
    fold_as_batches(&mut attacked, config, reports, rep)?;
    let estimates = attacked.estimate()?;
    let (after, rank_after) = target_share(estimates.n, &counts_of(&estimates), &plan.targets);
    Ok(Once {
        gain: after - before,
        support,
        fakes_counted: estimates.n - honest_counted,
        honest_counted,
        ranks: (rank_before, rank_after),
    })
}

/// Runs `plan` against `population` under `mechanism` at `eps`, `reps` times: honest devices
/// through the real encoder, fake ones as the attack makes them, both folded by the ingest
/// policy and estimated by the aggregator.
pub fn simulate_attack(
    population: &Population,
    mechanism: &Mechanism,
    eps: f64,
    plan: &AttackPlan,
    reps: u32,
    seed: u64,
) -> Result<GainRecord, RunError> {
    let config = CampaignConfig::range("attack", mechanism.clone(), eps, population.k())?;
    let family = Family::of(config.params())?;
    check_plan(plan, reps, population)?;
    let values: Vec<u32> = population.values().collect();
    let m = fake_devices(population.n(), plan.beta);
    let onces = (0..reps)
        .map(|rep| attack_once(&config, &values, plan, m, seed, rep))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(record(&config, family, population, plan, m, &onces))
}

/// The record of `plan`'s repetitions `onces` against `population` under `config`, of
/// `family`.
fn record(
    config: &CampaignConfig,
    family: Family,
    population: &Population,
    plan: &AttackPlan,
    m: u64,
    onces: &[Once],
) -> GainRecord {
    let (k, n, eps) = (population.k(), population.n(), config.epsilon());
    let reps = onces.len() as u32;
    let r = plan.targets.len() as f64;
    let target_freq = plan
        .targets
        .iter()
        .map(|&t| population.counts()[t as usize] as f64)
        .sum::<f64>()
        / n as f64;
    let sum = |f: fn(&Once) -> u64| onces.iter().map(f).sum::<u64>();
    let (support_sum, fakes_sum, honest_sum) = (
        sum(|o| o.support),
        sum(|o| o.fakes_counted),
        sum(|o| o.honest_counted),
    );
    let gain_sum: f64 = onces.iter().map(|o| o.gain).sum();
    let (rank_before, rank_after) = onces.first().map_or((0, 0), |o| o.ranks);
    let per_rep = |sum: u64| sum as f64 / f64::from(reps);
    let (fakes_counted, honest_counted) = (per_rep(fakes_sum), per_rep(honest_sum));
    // Only counted reports move the estimates: β among them.
    let beta = fakes_counted / (honest_counted + fakes_counted);
    let pure = counted_pure(config.params());
    let fake_support = if fakes_sum == 0 {
        0.0
    } else {
        support_sum as f64 / fakes_sum as f64
    };
    let expected_support = match plan.attack {
        // What the crafted reports achieved (every target, unless no seed tried did).
        Attack::MaximalGain => fake_support,
        _ => support_expected(plan.attack, config.params(), family, r, k),
    };
    let setting = Setting {
        beta,
        r,
        k: f64::from(k),
        target_freq,
    };
    let counts = (honest_counted.round() as u64, fakes_counted.round() as u64);
    GainRecord {
        mechanism: config.params().kind().name().to_owned(),
        attack: plan.attack,
        eps,
        k,
        n,
        fake: m,
        beta: m as f64 / (n + m) as f64,
        fake_counted: fakes_counted,
        honest_refused: n as f64 - honest_counted,
        targets: plan.targets.clone(),
        target_frequency: target_freq,
        reps,
        gain: gain_sum / f64::from(reps),
        gain_expected: expected_gain(pure, beta, expected_support, r, target_freq),
        gain_sigma: gain_sigma(pure, family, plan.attack, counts, &setting)
            / f64::from(reps).sqrt(),
        gain_paper: paper_gain(
            config.params(),
            eps,
            plan.attack,
            &Setting {
                beta: m as f64 / (n + m) as f64,
                ..setting
            },
        ),
        fake_support,
        rank_before,
        rank_after,
    }
}
