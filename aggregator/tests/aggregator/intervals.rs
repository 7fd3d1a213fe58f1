//! The 95% intervals cover the truth 95% of the time, and the consistency post-processing is
//! what it says it is.

use ldp_aggregator::Counters;
use ldp_client::Encoder;
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// 400 repetitions × 16 values = 6,400 intervals; coverage is Binomial(6400, 0.95) up to the
/// (small, O(1/k)) correlation between values of one repetition: 5σ ≈ ±87 intervals.
/// The interval uses the estimated count in the variance, so this also checks that choice.
#[test]
fn ninety_five_percent_intervals_cover_the_truth() {
    let k = 16u32;
    let truth: Vec<u64> = (0..k).map(|v| 4_000 / (u64::from(v) + 1)).collect();
    let config = CampaignConfig::new(CampaignSpec::new(
        "coverage",
        Mechanism::Grr,
        1.0,
        Domain::Range { k },
    ))
    .unwrap();
    let reps = 400u64;
    let mut covered = 0u64;
    for rep in 0..reps {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&rep.to_le_bytes());
        let mut encoder = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed(seed));
        let mut counters = Counters::new(&config);
        let reports: Vec<_> = truth
            .iter()
            .enumerate()
            .flat_map(|(v, &c)| std::iter::repeat_n(v as u32, c as usize))
            .map(|v| encoder.encode_index(v).unwrap())
            .collect();
        counters.fold_all(&reports).unwrap();
        for (e, &c) in counters.estimate().unwrap().values.iter().zip(&truth) {
            covered += u64::from(e.ci95_low <= c as f64 && c as f64 <= e.ci95_high);
        }
    }
    let total = (reps * u64::from(k)) as f64;
    let sd = (total * 0.95 * 0.05).sqrt();
    let expected = 0.95 * total;
    assert!(
        (covered as f64 - expected).abs() <= 5.0 * sd,
        "coverage {covered}/{total} (expected {expected:.0} ± {:.0})",
        5.0 * sd
    );
}

#[test]
fn consistent_counts_are_non_negative_and_sum_to_n() {
    let config = CampaignConfig::new(CampaignSpec::new(
        "consistency",
        Mechanism::Oue,
        0.5,
        Domain::Range { k: 200 },
    ))
    .unwrap();
    let mut encoder = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([9; 32]));
    let mut counters = Counters::new(&config);
    let reports: Vec<_> = (0..5_000u32)
        .map(|i| encoder.encode_index(i % 3).unwrap())
        .collect();
    counters.fold_all(&reports).unwrap();
    let estimates = counters.estimate().unwrap();
    assert!(
        estimates.values.iter().any(|e| e.count < 0.0),
        "some raw estimates are negative"
    );
    let sum: f64 = estimates.values.iter().map(|e| e.norm_sub_count).sum();
    assert!((sum - 5_000.0).abs() < 1e-6);
    assert!(estimates.values.iter().all(|e| e.norm_sub_count >= 0.0));
}
