//! The memoized mechanisms (LOLOHA, L-SUE, L-OUE) over many epochs, through the device
//! encoders that memoize (`LolohaEncoder`, `LongitudinalUnaryEncoder`: permanent responses
//! from the device secret) and the aggregator's counters.
//!
//! * Every round's estimates are unbiased with the variance formula's spread, for a fixed
//!   population whose values change between rounds: the derived-tolerance check of
//!   `statistics.rs` (5 standard errors per value, the χ² interval at α = 10⁻⁶ for the pooled
//!   variance ratio), per round, over repetitions with fresh device secrets.
//! * An observer who collects 100 reports of one device and guesses its value by maximum
//!   likelihood succeeds no more often than ε∞ allows against LOLOHA (the bound checked with
//!   the Clopper–Pearson interval of the success rate), and almost always against a one-shot
//!   mechanism's fresh reports.
//!
//! The seeds are fixed, so a run either always passes or always fails.

use ldp_aggregator::{Accumulator, Counters};
use ldp_client::{DeviceSecret, Encoder, LolohaEncoder, LongitudinalUnaryEncoder};
use ldp_protocol::mechanism::local_hash::bucket;
use ldp_protocol::mechanism::{LolohaSpec, LongitudinalSpec, MechanismParams};
use ldp_protocol::{CampaignConfig, Mechanism, MechanismKind, Report};
use ldp_sim::population::Population;
use ldp_tests::{RepeatedEstimates, clopper_pearson, seeded_rng};
use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;

const Z: f64 = 5.0;
const ALPHA: f64 = 1e-6;

fn loloha(k: u32, eps: f64, eps_inf: f64, g: Option<u32>) -> CampaignConfig {
    let spec = LolohaSpec {
        epsilon_permanent: Some(eps_inf),
        g,
    };
    CampaignConfig::range("longitudinal", Mechanism::Loloha(spec), eps, k).unwrap()
}

fn unary(k: u32, eps: f64, eps_inf: f64, optimized: bool) -> CampaignConfig {
    let spec = LongitudinalSpec {
        epsilon_permanent: Some(eps_inf),
    };
    let mechanism = if optimized {
        Mechanism::LOue(spec)
    } else {
        Mechanism::LSue(spec)
    };
    CampaignConfig::range("longitudinal", mechanism, eps, k).unwrap()
}

/// A memoizing device of the campaign's mechanism, its IRRs drawn from `rng`.
enum Device<'r> {
    Loloha(LolohaEncoder<&'r mut ChaCha20Rng>),
    Unary(LongitudinalUnaryEncoder<&'r mut ChaCha20Rng>),
}

impl<'r> Device<'r> {
    fn new(config: &CampaignConfig, secret: DeviceSecret, rng: &'r mut ChaCha20Rng) -> Self {
        match config.params() {
            MechanismParams::Loloha(_) => {
                Self::Loloha(LolohaEncoder::with_simulation_rng(config, secret, rng).unwrap())
            }
            _ => Self::Unary(
                LongitudinalUnaryEncoder::with_simulation_rng(config, secret, rng).unwrap(),
            ),
        }
    }

    fn encode_index(&mut self, value: u32) -> Report {
        match self {
            Self::Loloha(e) => e.encode_index(value),
            Self::Unary(e) => e.encode_index(value),
        }
        .unwrap()
    }
}

fn secret(rng: &mut impl RngCore) -> DeviceSecret {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    DeviceSecret::from_bytes(bytes)
}

/// Uniform below `n` (a test's own draws; n is small, the modulo bias negligible).
fn below(rng: &mut impl RngCore, n: u32) -> u32 {
    (rng.next_u64() % u64::from(n)) as u32
}

#[test]
fn every_loloha_round_is_unbiased_with_the_formula_s_variance() {
    check_rounds(&loloha(16, 1.0, 2.0, None));
}

#[test]
fn every_l_sue_round_is_unbiased_with_the_formula_s_variance() {
    check_rounds(&unary(16, 1.0, 2.0, false));
}

#[test]
fn every_l_oue_round_is_unbiased_with_the_formula_s_variance() {
    check_rounds(&unary(16, 1.0, 2.0, true));
}

fn check_rounds(config: &CampaignConfig) {
    const DEVICES: u64 = 20_000;
    const ROUNDS: usize = 10;
    const REPS: u64 = 40;
    let k = config.k();
    let pure = config.params().pure();

    // One population history, the same in every repetition: Zipf(1.1) values in round 0,
    // then each device moves to a uniform value with probability 1/10 per round.
    let population = Population::zipf(k, 1.1, DEVICES);
    let mut history: Vec<Vec<u32>> = vec![population.values().collect()];
    let mut rng = seeded_rng("longitudinal history", 0);
    for round in 1..ROUNDS {
        let next = history[round - 1]
            .iter()
            .map(|&v| {
                if below(&mut rng, 10) == 0 {
                    below(&mut rng, k)
                } else {
                    v
                }
            })
            .collect();
        history.push(next);
    }
    let truths: Vec<Vec<u64>> = history
        .iter()
        .map(|values| {
            let mut counts = vec![0u64; k as usize];
            values.iter().for_each(|&v| counts[v as usize] += 1);
            counts
        })
        .collect();

    let mut repeated: Vec<RepeatedEstimates> = (0..ROUNDS)
        .map(|_| RepeatedEstimates::new(k as usize))
        .collect();
    for rep in 0..REPS {
        let mut rng = seeded_rng("longitudinal devices", rep);
        let mut counters: Vec<Counters> = (0..ROUNDS).map(|_| Counters::new(config)).collect();
        for device in 0..DEVICES as usize {
            let mut encoder = Device::new(config, secret(&mut rng), &mut rng);
            for (round, values) in history.iter().enumerate() {
                let report = encoder.encode_index(values[device]);
                counters[round].fold(&report).unwrap();
            }
        }
        for (round, counters) in counters.iter().enumerate() {
            let estimates: Vec<f64> = counters
                .estimate()
                .unwrap()
                .values
                .iter()
                .map(|e| e.count)
                .collect();
            repeated[round].add(&estimates);
        }
    }
    let n = DEVICES as f64;
    for (round, (repeated, truth)) in repeated.iter().zip(&truths).enumerate() {
        let summary = repeated
            .check(truth, |v| pure.count_variance(n, truth[v] as f64), Z, ALPHA)
            .unwrap_or_else(|e| panic!("{} round {round}: {e}", config.params().kind()));
        eprintln!(
            "{} round {round}: variance ratio {:.4} in [{:.4}, {:.4}]",
            config.params().kind(),
            summary.ratio,
            summary.lo,
            summary.hi
        );
    }
}

/// Whether `report` supports value `v`: its hash under the report's seed is the reported
/// bucket (local hashing over g buckets), or its bit is set (unary encodings).
fn supports(report: &Report, v: u32, g: u32) -> bool {
    match report {
        Report::Loloha(r) | Report::Olh(r) => bucket(r.seed, v, g) == r.value,
        Report::LSue(r) | Report::LOue(r) | Report::Oue(r) => {
            r.bits[(v / 64) as usize] >> (v % 64) & 1 == 1
        }
        other => panic!("not a local-hashing or unary report: {other:?}"),
    }
}

/// The value with the most reports supporting it, ties broken at random: the
/// maximum-likelihood guess for local-hashing reports, and for unary ones.
fn guess(reports: &[Report], k: u32, g: u32, rng: &mut impl RngCore) -> u32 {
    let mut support = vec![0u32; k as usize];
    for report in reports {
        for (v, s) in support.iter_mut().enumerate() {
            *s += u32::from(supports(report, v as u32, g));
        }
    }
    let best = support.iter().copied().max().unwrap_or(0);
    let tied: Vec<u32> = (0..k).filter(|&v| support[v as usize] == best).collect();
    tied[below(rng, tied.len() as u32) as usize]
}

#[test]
fn a_hundred_loloha_reports_reveal_no_more_than_epsilon_permanent_allows() {
    // g = k, so that a bucket nearly names its value: the hash hides little, and what keeps
    // the value private is the memoized permanent response alone.
    attack(&loloha(16, 1.0, 2.0, Some(16)), MechanismKind::Olh);
}

#[test]
fn a_hundred_l_oue_reports_reveal_no_more_than_epsilon_permanent_allows() {
    attack(&unary(16, 1.0, 2.0, true), MechanismKind::Oue);
}

#[test]
fn a_hundred_l_sue_reports_reveal_no_more_than_epsilon_permanent_allows() {
    attack(&unary(16, 1.0, 2.0, false), MechanismKind::Oue);
}

/// An observer guesses one device's value from 100 of its reports, 2,000 times: against the
/// memoized campaign no better than ε∞ allows, against the one-shot kind almost always.
fn attack(memoized: &CampaignConfig, one_shot: MechanismKind) {
    const TRIALS: u64 = 2_000;
    const TAU: usize = 100;
    let k = memoized.k();
    let g = match memoized.params() {
        MechanismParams::Loloha(p) => p.g,
        _ => 0,
    };
    // Under ε∞-LDP, a guess of a uniform value among k succeeds with probability at most
    // e^ε∞/(e^ε∞ + k − 1), whatever the observer does with the reports.
    let eps_inf = memoized.params().epsilon_permanent().unwrap();
    let bound = eps_inf.exp() / (eps_inf.exp() + f64::from(k) - 1.0);
    let one_shot =
        CampaignConfig::range("one-shot", Mechanism::with_defaults(one_shot), 1.0, k).unwrap();
    let one_shot_g = match one_shot.params() {
        MechanismParams::Olh(p) => p.g,
        _ => 0,
    };

    let mut rng = seeded_rng("longitudinal attack", 0);
    let (mut memoized_hits, mut one_shot_hits) = (0, 0);
    for _ in 0..TRIALS {
        let value = below(&mut rng, k);
        let mut device = Device::new(memoized, secret(&mut rng), &mut rng);
        let reports: Vec<Report> = (0..TAU).map(|_| device.encode_index(value)).collect();
        memoized_hits += u64::from(guess(&reports, k, g, &mut rng) == value);

        let mut fresh = Encoder::with_simulation_rng(&one_shot, &mut rng);
        let reports: Vec<Report> = (0..TAU)
            .map(|_| fresh.encode_index(value).unwrap())
            .collect();
        one_shot_hits += u64::from(guess(&reports, k, one_shot_g, &mut rng) == value);
    }
    let (memoized_lo, memoized_hi) = clopper_pearson(memoized_hits, TRIALS, ALPHA);
    let (one_shot_lo, _) = clopper_pearson(one_shot_hits, TRIALS, ALPHA);
    eprintln!(
        "guessed from {TAU} reports: {} {memoized_hits}/{TRIALS} \
         [{memoized_lo:.3}, {memoized_hi:.3}] (bound {bound:.3}), \
         one-shot {} {one_shot_hits}/{TRIALS} (lower {one_shot_lo:.3})",
        memoized.params().kind(),
        one_shot.params().kind()
    );
    assert!(
        memoized_lo <= bound,
        "{}: success rate [{memoized_lo:.3}, {memoized_hi:.3}] above the eps_inf bound {bound:.3}",
        memoized.params().kind()
    );
    assert!(
        one_shot_lo > 0.95,
        "one-shot {}: success rate only {one_shot_hits}/{TRIALS}",
        one_shot.params().kind()
    );
}
