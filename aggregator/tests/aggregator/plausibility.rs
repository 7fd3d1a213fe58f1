//! The honest-range filter over ten million honest OUE reports: the share it refuses is the
//! exact false-rejection probability it states, within a Poisson interval at α = 10⁻⁶.

use ldp_aggregator::CellDelta;
use ldp_client::Encoder;
use ldp_protocol::plausibility::FALSE_REJECTION;
use ldp_protocol::report::UnaryReport;
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, MechanismParams, Report};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use statrs::distribution::{DiscreteCDF, Poisson};

#[test]
fn ten_million_honest_reports_are_refused_at_the_stated_rate() {
    let config = CampaignConfig::new(CampaignSpec::new(
        "honest",
        Mechanism::Oue,
        1.0,
        Domain::Range { k: 64 },
    ))
    .unwrap();
    let MechanismParams::Oue(params) = config.params() else {
        unreachable!()
    };
    let rate = params.honest.false_rejection(params.k, params.pure());
    assert!(rate > 0.0 && rate <= FALSE_REJECTION, "{rate}");
    let mut encoder = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([11; 32]));
    let (batches, per_batch) = (1_000_u32, 10_000_u32);
    let mut reports = vec![Report::Oue(UnaryReport { bits: vec![0] }); per_batch as usize];
    let (mut refused, mut counted) = (0_u64, 0_u64);
    for b in 0..batches {
        for (i, report) in reports.iter_mut().enumerate() {
            encoder
                .encode_index_into((b + i as u32) % 64, report)
                .unwrap();
        }
        let delta = CellDelta::of_reports(&config, &reports).unwrap();
        refused += delta.implausible();
        counted += delta.n();
    }
    let n = u64::from(batches * per_batch);
    assert_eq!(refused + counted, n);
    let expected = n as f64 * rate;
    let poisson = Poisson::new(expected).unwrap();
    // Two-sided at 10⁻⁶: the observed count is not in either extreme tail.
    let below = poisson.cdf(refused);
    let above = 1.0
        - if refused == 0 {
            0.0
        } else {
            poisson.cdf(refused - 1)
        };
    assert!(
        below > 5e-7 && above > 5e-7,
        "{refused} refused of {n}; expected {expected:.1} (rate {rate:e})"
    );
    println!("{refused} of {n} honest reports refused; expected {expected:.2} (rate {rate:e})");
}

#[test]
fn forged_oue_reports_are_left_out_of_a_delta() {
    let config = CampaignConfig::new(CampaignSpec::new(
        "forged",
        Mechanism::Oue,
        1.0,
        Domain::Range { k: 64 },
    ))
    .unwrap();
    let MechanismParams::Oue(params) = config.params() else {
        unreachable!()
    };
    assert!(
        params.honest.lo > 1 && params.honest.hi < 64,
        "{:?}",
        params.honest
    );
    let mut encoder = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([12; 32]));
    let mut reports: Vec<Report> = (0..100)
        .map(|i| encoder.encode_index(i % 64).unwrap())
        .collect();
    reports.push(Report::Oue(UnaryReport {
        bits: vec![u64::MAX],
    }));
    reports.push(Report::Oue(UnaryReport {
        bits: vec![1 << 63],
    }));
    let delta = CellDelta::of_reports(&config, &reports).unwrap();
    assert_eq!((delta.n(), delta.implausible()), (100, 2));
}
