//! dBitFlip over many epochs, through the memoizing device encoder (`DBitFlipEncoder`: α, the
//! sampled points and every response from the device secret) and the aggregator's counters.
//!
//! * Every round's mean and histogram are unbiased with the formulas' spread, for a fixed
//!   population of real numbers that change between rounds: the mean within 5 standard errors
//!   and its squared errors in the χ² interval, per round; the histogram (expected counts over
//!   the devices' rounding offsets) with the derived-tolerance check of `statistics.rs`.
//! * An observer who collects 100 reports of one device and guesses which end of the range it
//!   holds succeeds no more often than one report's ε allows (the reports repeat one memoized
//!   response; Clopper–Pearson interval of the success rate), and almost always against
//!   Duchi's fresh reports.
//!
//! The seeds are fixed, so a run either always passes or always fails.

use ldp_aggregator::{Accumulator, Counters};
use ldp_client::{DBitFlipEncoder, DeviceSecret, Encoder};
use ldp_protocol::mechanism::{DBitFlipParams, DBitFlipSpec, MechanismParams};
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, Report};
use ldp_tests::{RepeatedEstimates, chi2_ratio_interval, clopper_pearson, seeded_rng};
use rand_core::RngCore;

const Z: f64 = 5.0;
const ALPHA: f64 = 1e-6;
const LO: f64 = 0.0;
const HI: f64 = 100.0;

fn config(points: u32, sampled: u32, eps: f64) -> CampaignConfig {
    let spec = DBitFlipSpec {
        points: Some(points),
        sampled: Some(sampled),
    };
    CampaignConfig::new(CampaignSpec::new(
        "dbitflip",
        Mechanism::DBitFlip(spec),
        eps,
        Domain::Numeric { lo: LO, hi: HI },
    ))
    .unwrap()
}

fn params(config: &CampaignConfig) -> DBitFlipParams {
    match config.params() {
        MechanismParams::DBitFlip(p) => *p,
        other => panic!("{other:?}"),
    }
}

fn secret(rng: &mut impl RngCore) -> DeviceSecret {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    DeviceSecret::from_bytes(bytes)
}

/// A uniform number in [0, 1) from 53 random bits.
fn unit(rng: &mut impl RngCore) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// t ∈ [−1, 1] of a number of the range.
fn scaled(x: f64) -> f64 {
    2.0 * (x - LO) / (HI - LO) - 1.0
}

/// One history of real numbers, the same in every repetition: skewed towards the low end in
/// round 0, then each device moves to a uniform number with probability 1/10 per round.
fn history(devices: usize, rounds: usize) -> Vec<Vec<f64>> {
    let mut rng = seeded_rng("dbitflip history", 0);
    let mut history: Vec<Vec<f64>> =
        vec![(0..devices).map(|_| HI * unit(&mut rng).powi(2)).collect()];
    for round in 1..rounds {
        let next = history[round - 1]
            .iter()
            .map(|&x| {
                if rng.next_u64().is_multiple_of(10) {
                    HI * unit(&mut rng)
                } else {
                    x
                }
            })
            .collect();
        history.push(next);
    }
    history
}

/// Per point, the expected count of devices rounding to it (over their α) and the sum of the
/// squares of their probabilities.
fn expected_histogram(p: &DBitFlipParams, values: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let k = p.points as usize;
    let (mut expected, mut squares) = (vec![0.0; k], vec![0.0; k]);
    for &x in values {
        let (lower, f) = p.bracket(scaled(x));
        for (point, weight) in [(lower as usize, 1.0 - f), (lower as usize + 1, f)] {
            expected[point] += weight;
            squares[point] += weight * weight;
        }
    }
    (expected, squares)
}

#[test]
fn every_dbitflip_round_is_unbiased_with_the_formulas_variance() {
    const DEVICES: usize = 20_000;
    const ROUNDS: usize = 10;
    const REPS: u64 = 60;
    let config = config(16, 4, 1.0);
    let p = params(&config);
    let k = p.points as usize;

    let history = history(DEVICES, ROUNDS);

    let mut means = vec![Vec::new(); ROUNDS];
    let mut histograms: Vec<RepeatedEstimates> =
        (0..ROUNDS).map(|_| RepeatedEstimates::new(k)).collect();
    for rep in 0..REPS {
        let mut rng = seeded_rng("dbitflip devices", rep);
        let mut counters: Vec<Counters> = (0..ROUNDS).map(|_| Counters::new(&config)).collect();
        for device in 0..DEVICES {
            let mut encoder = DBitFlipEncoder::with_secret(&config, secret(&mut rng)).unwrap();
            for (round, values) in history.iter().enumerate() {
                let report = encoder.encode_number(values[device]).unwrap();
                counters[round].fold(&report).unwrap();
            }
        }
        for (round, counters) in counters.iter().enumerate() {
            means[round].push(counters.mean(LO, HI).unwrap().mean);
            let counts: Vec<f64> = counters
                .estimate()
                .unwrap()
                .values
                .iter()
                .map(|e| e.count)
                .collect();
            histograms[round].add(&counts);
        }
    }

    let n = DEVICES as f64;
    let half = (HI - LO) / 2.0;
    let reps = REPS as f64;
    let (chi_lo, chi_hi) = chi2_ratio_interval(reps, ALPHA);
    for (round, values) in history.iter().enumerate() {
        // The mean: the true mean of the numbers, and the variance Σ Var(Z_i)·half²/n².
        let truth = values.iter().sum::<f64>() / n;
        let variance =
            values.iter().map(|&x| p.variance(scaled(x))).sum::<f64>() * half * half / (n * n);
        let errors: Vec<f64> = means[round].iter().map(|m| m - truth).collect();
        let bias = errors.iter().sum::<f64>() / reps;
        assert!(
            bias.abs() <= Z * (variance / reps).sqrt(),
            "round {round}: mean off by {bias} (standard error {})",
            (variance / reps).sqrt()
        );
        let ratio = errors.iter().map(|e| e * e).sum::<f64>() / (reps * variance);
        assert!(
            (chi_lo..=chi_hi).contains(&ratio),
            "round {round}: MSE/theory {ratio:.4} outside [{chi_lo:.4}, {chi_hi:.4}]"
        );

        // The histogram: a device rounds to its lower point with probability 1 − f and to the
        // upper one with f, over its α; expected counts and their variance follow.
        let (expected, squares) = expected_histogram(&p, values);
        let summary = histograms[round]
            .check_expected(
                &expected,
                |v| p.count_variance(expected[v], n) + expected[v] - squares[v],
                Z,
                ALPHA,
            )
            .unwrap_or_else(|e| panic!("dbitflip round {round}: {e}"));
        eprintln!(
            "dbitflip round {round}: mean MSE/theory {ratio:.4} in [{chi_lo:.4}, {chi_hi:.4}], \
             histogram variance ratio {:.4} in [{:.4}, {:.4}]",
            summary.ratio, summary.lo, summary.hi
        );
    }
}

/// The observer's guess of "the upper end" from dBitFlip reports over two points, both always
/// sampled: the reports' votes for point 1 against point 0, ties broken at random.
fn guess_high(reports: &[Report], rng: &mut impl RngCore) -> bool {
    let mut score = 0i64;
    for report in reports {
        let Report::DBitFlip(r) = report else {
            panic!("{report:?}")
        };
        for (i, &point) in r.points.iter().enumerate() {
            let vote = if r.bits >> i & 1 == 1 { 1 } else { -1 };
            score += if point == 1 { vote } else { -vote };
        }
    }
    match score.cmp(&0) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => rng.next_u64() & 1 == 1,
    }
}

#[test]
fn a_hundred_dbitflip_reports_reveal_no_more_than_one_report_allows() {
    const TRIALS: u64 = 2_000;
    const TAU: usize = 100;
    // Two points, both sampled: every report carries the bits of both ends, so only the
    // memoization keeps the value private.
    let memoized = config(2, 2, 1.0);
    let duchi = CampaignConfig::new(CampaignSpec::new(
        "one-shot",
        Mechanism::Duchi,
        1.0,
        Domain::Numeric { lo: LO, hi: HI },
    ))
    .unwrap();
    let eps = memoized.params().epsilon_permanent().unwrap();
    // Under ε-LDP a guess between two equally likely values succeeds with probability at
    // most e^ε/(e^ε + 1), whatever the observer does.
    let bound = eps.exp() / (eps.exp() + 1.0);

    let mut rng = seeded_rng("dbitflip attack", 0);
    let (mut memoized_hits, mut one_shot_hits) = (0, 0);
    for _ in 0..TRIALS {
        let high = rng.next_u64() & 1 == 1;
        let x = if high { HI } else { LO };
        let mut device = DBitFlipEncoder::with_secret(&memoized, secret(&mut rng)).unwrap();
        let reports: Vec<Report> = (0..TAU).map(|_| device.encode_number(x).unwrap()).collect();
        memoized_hits += u64::from(guess_high(&reports, &mut rng) == high);

        let mut fresh = Encoder::with_simulation_rng(&duchi, &mut rng);
        let cells: u32 = (0..TAU)
            .map(|_| match fresh.encode_number(x).unwrap() {
                Report::Duchi(r) => r.cell,
                other => panic!("{other:?}"),
            })
            .sum();
        one_shot_hits += u64::from((2 * cells as usize > TAU) == high);
    }
    let (memoized_lo, memoized_hi) = clopper_pearson(memoized_hits, TRIALS, ALPHA);
    let (one_shot_lo, _) = clopper_pearson(one_shot_hits, TRIALS, ALPHA);
    eprintln!(
        "guessed from {TAU} reports: dbitflip {memoized_hits}/{TRIALS} \
         [{memoized_lo:.3}, {memoized_hi:.3}] (bound {bound:.3}), duchi {one_shot_hits}/{TRIALS}"
    );
    assert!(
        memoized_lo <= bound,
        "dbitflip: success rate [{memoized_lo:.3}, {memoized_hi:.3}] above the ε bound {bound:.3}"
    );
    assert!(
        one_shot_lo > 0.95,
        "duchi: success rate only {one_shot_hits}/{TRIALS}"
    );
}
