//! The trending test keeps its promised false-positive level and finds real rises.

use ldp_aggregator::trending::trending;
use ldp_aggregator::{Alpha, Counters, Estimates};
use ldp_client::Encoder;
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn estimates(config: &CampaignConfig, truth: &[u64], seed: u64) -> Estimates {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut encoder = Encoder::with_simulation_rng(config, ChaCha20Rng::from_seed(bytes));
    let reports: Vec<_> = truth
        .iter()
        .enumerate()
        .flat_map(|(v, &c)| std::iter::repeat_n(v as u32, c as usize))
        .map(|v| encoder.encode_index(v).unwrap())
        .collect();
    let mut counters = Counters::new(config);
    counters.fold_all(&reports).unwrap();
    counters.estimate().unwrap()
}

/// 400 control pairs (same population in both periods). Bonferroni over k one-sided tests
/// keeps P(any value reported) ≤ α = 0.05, so the number of pairs with a report is at most
/// Binomial(400, 0.05): mean 20, σ 4.36; the bound is the mean plus 5σ. Without the
/// correction the family-wise rate would be about 1 − 0.95^16 ≈ 0.56 (≈ 224 pairs).
/// The same baselines against a period where one value's share rose from 6.25% to 15%
/// (expected z ≈ 7.1 at n = 10,000 against a threshold of 2.73, so a miss needs a 4σ error)
/// must be found in at least 95% of pairs.
#[test]
fn control_pairs_stay_under_alpha_and_real_rises_are_found() {
    let k = 16usize;
    let config = CampaignConfig::new(CampaignSpec::new(
        "trending",
        Mechanism::Grr,
        2.0,
        Domain::Range { k: k as u32 },
    ))
    .unwrap();
    let base = vec![625u64; k];
    let mut risen = vec![567u64; k];
    risen[3] = 10_000 - 567 * 15;
    let pairs = 400u64;
    let (mut false_alarms, mut found) = (0u64, 0u64);
    for pair in 0..pairs {
        let before = estimates(&config, &base, 2 * pair);
        let same = estimates(&config, &base, 2 * pair + 1);
        let control = trending(&same, &before, Alpha::DEFAULT).unwrap();
        false_alarms += u64::from(!control.rising.is_empty());
        let rose = estimates(&config, &risen, 1_000_000 + pair);
        let report = trending(&rose, &before, Alpha::DEFAULT).unwrap();
        found += u64::from(report.rising.iter().any(|t| t.index == 3));
        assert!(
            report
                .rising
                .iter()
                .all(|t| t.index == 3 || t.z > report.z_threshold)
        );
    }
    let bound = 0.05 * pairs as f64 + 5.0 * (pairs as f64 * 0.05 * 0.95).sqrt();
    assert!(
        (false_alarms as f64) <= bound,
        "{false_alarms} of {pairs} control pairs reported a rise (bound {bound:.1})"
    );
    assert!(
        found as f64 >= 0.95 * pairs as f64,
        "found the rise in {found} of {pairs}"
    );
}

#[test]
fn trending_refuses_nonsense() {
    let config = CampaignConfig::range("t", Mechanism::Grr, 1.0, 4).unwrap();
    let a = estimates(&config, &[100; 4], 1);
    // A level outside (0, 1) cannot reach the test: it is refused where it is made.
    assert!(Alpha::new(0.0).is_err());
    assert!(Alpha::new(1.0).is_err());
    assert!(Alpha::new(f64::NAN).is_err());
    let empty = Counters::new(&config).estimate().unwrap();
    assert!(trending(&a, &empty, Alpha::DEFAULT).is_err());
    let other = CampaignConfig::range("u", Mechanism::Grr, 1.0, 5).unwrap();
    let b = estimates(&other, &[100; 5], 1);
    assert!(trending(&a, &b, Alpha::DEFAULT).is_err());
}
