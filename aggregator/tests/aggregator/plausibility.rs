//! The honest-range filter over ten million honest OUE reports: the share it refuses is the
//! exact false-rejection probability it states, within a Poisson interval at α = 10⁻⁶. The
//! same filter on L-OUE and L-SUE reports.

use ldp_aggregator::CellDelta;
use ldp_client::Encoder;
use ldp_client::LongitudinalUnaryEncoder;
use ldp_client::memo::DeviceSecret;
use ldp_protocol::mechanism::LongitudinalSpec;
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

#[test]
fn forged_longitudinal_reports_are_left_out_and_honest_ones_kept() {
    for mechanism in [
        Mechanism::LOue(LongitudinalSpec::default()),
        Mechanism::LSue(LongitudinalSpec::default()),
    ] {
        let config = CampaignConfig::new(CampaignSpec::new(
            "forged",
            mechanism.clone(),
            1.0,
            Domain::Range { k: 1_024 },
        ))
        .unwrap();
        let (MechanismParams::LOue(params) | MechanismParams::LSue(params)) = config.params()
        else {
            unreachable!()
        };
        let rate = params.honest.false_rejection(params.k, params.pure());
        assert!(rate > 0.0 && rate <= FALSE_REJECTION, "{rate}");
        assert!(
            params.honest.lo > 1 && params.honest.hi < 1_024,
            "{:?}",
            params.honest
        );
        // Honest reports of 2,000 devices (each its own secret, so its own permanent response).
        let mut reports: Vec<Report> = (0..2_000_u32)
            .map(|device| {
                let mut seed = [13; 32];
                seed[..4].copy_from_slice(&device.to_le_bytes());
                let secret = DeviceSecret::from_bytes(seed);
                let rng = ChaCha20Rng::from_seed(seed);
                let mut encoder =
                    LongitudinalUnaryEncoder::with_simulation_rng(&config, secret, rng).unwrap();
                encoder.encode_index(device % 1_024).unwrap()
            })
            .collect();
        let forged = |bits: Vec<u64>| match mechanism {
            Mechanism::LOue(_) => Report::LOue(UnaryReport { bits }),
            _ => Report::LSue(UnaryReport { bits }),
        };
        let mut single = vec![0; 16];
        single[15] = 1 << 63;
        reports.push(forged(vec![u64::MAX; 16]));
        reports.push(forged(single));
        let delta = CellDelta::of_reports(&config, &reports).unwrap();
        // At 10⁻⁶ per report, an honest one dropped here has probability below 0.2%.
        assert_eq!(
            (delta.n(), delta.implausible()),
            (2_000, 2),
            "{mechanism:?}"
        );
    }
}
