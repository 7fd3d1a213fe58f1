//! Numeric means (Duchi, Piecewise, Hybrid): unbiased within 5σ and the spread of the estimate
//! matching the exact variance of the grid, over repeated seeded runs; clamping.

use ldp_aggregator::Counters;
use ldp_client::Encoder;
use ldp_protocol::mechanism::{GridSpec, NumericParams};
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, MechanismParams};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

const LO: f64 = 10.0;
const HI: f64 = 110.0;

fn config(mechanism: Mechanism, eps: f64) -> CampaignConfig {
    CampaignConfig::new(CampaignSpec::new(
        "mean",
        mechanism,
        eps,
        Domain::Numeric { lo: LO, hi: HI },
    ))
    .unwrap()
}

fn params(config: &CampaignConfig) -> NumericParams {
    match config.params() {
        MechanismParams::Duchi(p) | MechanismParams::Piecewise(p) | MechanismParams::Hybrid(p) => {
            *p
        }
        _ => unreachable!(),
    }
}

/// A skewed population of n values in [LO, HI]: most near 20, a tail up to 110.
fn population(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let u = (i as f64 + 0.5) / n as f64;
            LO + (HI - LO) * u * u * u
        })
        .collect()
}

/// For each mechanism and ε, `runs` seeded runs of n devices: each run's mean within 5σ, and
/// Σ z² within ±5·√(2·runs) of `runs` (χ²), with σ² = Σ Var(y | t_i)/n² from the exact grid
/// variance, in units of the range.
#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one statistical scenario with its derivation inline"
)]
fn means_are_unbiased_with_the_grids_variance() {
    let n = 10_000;
    let runs = 200;
    let values = population(n);
    let truth = values.iter().sum::<f64>() / n as f64;
    let half = (HI - LO) / 2.0;
    let spread = values
        .iter()
        .map(|x| (x - truth) * (x - truth))
        .sum::<f64>()
        / n as f64;
    for mechanism in [
        Mechanism::Duchi,
        Mechanism::Piecewise(GridSpec::default()),
        Mechanism::Hybrid(GridSpec::default()),
        Mechanism::Piecewise(GridSpec { grid: Some(16) }),
    ] {
        for eps in [0.5, 1.0, 4.0] {
            let config = config(mechanism.clone(), eps);
            let p = params(&config);
            let variance: f64 = values
                .iter()
                .map(|x| p.variance((x - LO) / half - 1.0))
                .sum::<f64>()
                / (n as f64 * n as f64)
                * half
                * half;
            let sigma = variance.sqrt();
            let mut chi2 = 0.0;
            for run in 0..runs {
                let seed = [
                    run as u8,
                    eps as u8 + 1,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    7,
                    (eps * 10.0) as u8,
                ];
                let mut encoder =
                    Encoder::with_simulation_rng(&config, ChaCha8Rng::from_seed(seed));
                let reports: Vec<_> = values
                    .iter()
                    .map(|&x| encoder.encode_number(x).unwrap())
                    .collect();
                let mut counters = Counters::new(&config);
                counters.fold_all(&reports).unwrap();
                let estimate = counters.mean(LO, HI).unwrap();
                assert_eq!(estimate.n, n as u64);
                let z = (estimate.mean - truth) / sigma;
                assert!(
                    z.abs() < 5.0,
                    "{mechanism:?} ε={eps} run {run}: mean {} vs {truth}, σ {sigma}",
                    estimate.mean
                );
                // The reported standard error is the reports' sample spread over √n: the
                // randomization plus the values' own spread. 10% is five times the relative
                // sampling error of a sample standard deviation, √((κ − 1)/(4n)), for any
                // kurtosis κ ≤ 17 at n = 10⁴ (bounded grid outputs here have κ < 5).
                let expected = (variance + spread / n as f64).sqrt();
                assert!(
                    (estimate.std_error / expected - 1.0).abs() < 0.1,
                    "{mechanism:?} ε={eps}: se {} vs {expected}",
                    estimate.std_error
                );
                chi2 += z * z;
            }
            let r = f64::from(runs);
            assert!(
                (chi2 - r).abs() < 5.0 * (2.0 * r).sqrt(),
                "{mechanism:?} ε={eps}: Σz² = {chi2:.1} outside {r} ± {:.1}",
                5.0 * (2.0 * r).sqrt()
            );
        }
    }
}

#[test]
fn values_outside_the_range_are_clamped_and_counted() {
    let config = config(Mechanism::Duchi, 2.0);
    let mut encoder = Encoder::with_simulation_rng(&config, ChaCha8Rng::from_seed([9; 32]));
    for x in [LO - 5.0, HI + 1.0, 50.0, HI, LO] {
        encoder.encode_number(x).unwrap();
    }
    assert_eq!(encoder.clamped(), 2);
    assert!(encoder.encode_number(f64::NAN).is_err());
    assert!(encoder.encode_number(f64::INFINITY).is_err());
    assert!(encoder.encode("12.5").is_ok());
    assert!(encoder.encode("twelve").is_err());
    assert_eq!(encoder.clamped(), 2);
    // Everyone above the range reports as HI: the estimate is of the clamped mean.
    let mut counters = Counters::new(&config);
    let reports: Vec<_> = (0..200_000)
        .map(|_| encoder.encode_number(1e9).unwrap())
        .collect();
    counters.fold_all(&reports).unwrap();
    let estimate = counters.mean(LO, HI).unwrap();
    assert!(
        (estimate.mean - HI).abs() < 5.0 * estimate.std_error,
        "{estimate:?}"
    );
    assert_eq!(encoder.clamped(), 200_002);
}

/// One report's variance for a fixed input equals the grid's exact `variance(t)`: 200,000
/// reports per (mechanism, ε, t), the sample variance within 5 standard errors, the standard
/// error of a sample variance being `√((m₄ − s⁴)/n)` from the sample's fourth central moment.
#[test]
fn one_reports_variance_matches_the_formula() {
    let n = 200_000;
    for mechanism in [
        Mechanism::Duchi,
        Mechanism::Piecewise(GridSpec::default()),
        Mechanism::Hybrid(GridSpec::default()),
    ] {
        for eps in [0.5, 2.0, 6.0] {
            let config = config(mechanism.clone(), eps);
            let p = params(&config);
            for (i, t) in [-1.0, 0.0, 0.6].into_iter().enumerate() {
                let x = LO + (t + 1.0) * (HI - LO) / 2.0;
                let seed = [
                    i as u8 + 1,
                    (eps * 2.0) as u8,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                    3,
                ];
                let mut encoder =
                    Encoder::with_simulation_rng(&config, ChaCha8Rng::from_seed(seed));
                let ys: Vec<f64> = (0..n)
                    .map(|_| match encoder.encode_number(x).unwrap() {
                        ldp_protocol::Report::Duchi(r)
                        | ldp_protocol::Report::Piecewise(r)
                        | ldp_protocol::Report::Hybrid(r) => p.value(r.cell),
                        other => panic!("{other:?}"),
                    })
                    .collect();
                let mean = ys.iter().sum::<f64>() / n as f64;
                let m2 = ys.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / n as f64;
                let m4 = ys.iter().map(|y| (y - mean).powi(4)).sum::<f64>() / n as f64;
                let se = ((m4 - m2 * m2) / n as f64).sqrt();
                let expected = p.variance(t);
                assert!(
                    (m2 - expected).abs() < 5.0 * se,
                    "{mechanism:?} ε={eps} t={t}: variance {m2} vs formula {expected} (se {se})"
                );
            }
        }
    }
}
