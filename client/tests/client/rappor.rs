//! RAPPOR on the device: memoized permanent responses, independent devices, the longitudinal
//! protection they exist for, and the exact marginal of one report.

use ldp_client::RapporEncoder;
use ldp_client::encoder::rappor::{encode_once, permanent_response_into};
use ldp_client::memo::{DeviceSecret, FileSecretStore, InMemorySecretStore, SecretStore};
use ldp_protocol::mechanism::rappor::bloom_filter;
use ldp_protocol::mechanism::{MechanismParams, RapporParams, RapporSpec};
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, Report};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn config() -> CampaignConfig {
    // The paper's example: m = 128, h = 2, 64 cohorts, ε∞ = 4, p = 0.25, q = 0.75 (ε₁ ≈ 1.88).
    CampaignConfig::new(CampaignSpec::new(
        "home-page",
        Mechanism::Rappor(RapporSpec::paper_example()),
        1.9,
        Domain::Open,
    ))
    .unwrap()
}

fn params(config: &CampaignConfig) -> RapporParams {
    match config.params() {
        MechanismParams::Rappor(p) => p.clone(),
        _ => unreachable!(),
    }
}

fn bits(report: &Report) -> Vec<u64> {
    match report {
        Report::Rappor(r) => r.bits.clone(),
        _ => panic!("not a RAPPOR report"),
    }
}

fn bit(words: &[u64], i: usize) -> bool {
    words[i / 64] >> (i % 64) & 1 == 1
}

/// Averages `reports` reports of one value from one device: each bit's rate of ones.
fn average(encoder: &mut RapporEncoder<ChaCha20Rng>, value: &str, reports: usize) -> Vec<f64> {
    let mut ones = vec![0u32; 128];
    for _ in 0..reports {
        let words = bits(&encoder.encode(value).unwrap());
        for (i, count) in ones.iter_mut().enumerate() {
            *count += u32::from(bit(&words, i));
        }
    }
    ones.iter()
        .map(|&c| f64::from(c) / reports as f64)
        .collect()
}

#[test]
fn a_device_reuses_one_permanent_response_and_averaging_recovers_it_not_the_value() {
    let config = config();
    let params = params(&config);
    let secret = DeviceSecret::from_bytes([7; 32]);
    let mut encoder = RapporEncoder::with_simulation_rng(
        &config,
        secret.clone(),
        ChaCha20Rng::from_seed([1; 32]),
    )
    .unwrap();
    let prr = encoder.permanent_response("https://example.com/").to_vec();
    let rates = average(&mut encoder, "https://example.com/", 1000);
    // The cache changes nothing: a new encoder with the same secret has the same PRR.
    let mut again =
        RapporEncoder::with_simulation_rng(&config, secret, ChaCha20Rng::from_seed([2; 32]))
            .unwrap();
    assert_eq!(again.permanent_response("https://example.com/"), prr);
    assert_eq!(again.cohort(), encoder.cohort());

    // Each bit's rate is q where the PRR is 1 and p where it is 0: one standard error is
    // sqrt(0.25·0.75/1000) ≈ 0.014, and the midpoint 0.5 is 18 of them from either.
    let (p, q) = (params.p.probability(), params.q.probability());
    for (i, rate) in rates.iter().enumerate() {
        let expected = if bit(&prr, i) { q } else { p };
        let sigma = (expected * (1.0 - expected) / 1000.0).sqrt();
        assert!(
            (rate - expected).abs() < 5.0 * sigma,
            "bit {i}: rate {rate}, expected {expected}"
        );
    }
    // What the average reveals is the PRR, which differs from the Bloom filter in about
    // f/2 · 128 ≈ 34 bits (at least 10 with overwhelming probability).
    let bloom = bloom_filter(&params, "https://example.com/".as_bytes(), encoder.cohort());
    let recovered: Vec<bool> = rates.iter().map(|r| *r > 0.5).collect();
    let differ_from_bloom = (0..128).filter(|&i| recovered[i] != bit(&bloom, i)).count();
    let differ_from_prr = (0..128).filter(|&i| recovered[i] != bit(&prr, i)).count();
    assert_eq!(differ_from_prr, 0);
    assert!(differ_from_bloom >= 10, "{differ_from_bloom}");
}

#[test]
fn two_devices_with_the_same_value_have_independent_permanent_responses() {
    // One cohort, so every device has the same Bloom filter. Over 400 device pairs, the two
    // PRRs agree on a bit exactly as often as independent draws would:
    // P(agree) = P(1)² + P(0)² per bit; checked at 5σ.
    let mut spec = config().spec().clone();
    if let Mechanism::Rappor(r) = &mut spec.mechanism {
        r.cohorts = 1;
    }
    let config = CampaignConfig::new(spec).unwrap();
    let params = params(&config);
    let value = "😂";
    let bloom = bloom_filter(&params, value.as_bytes(), 0);
    let f2 = params.flip_half.probability();
    let (mut agree, mut expected, mut variance) = (0u64, 0.0, 0.0);
    let device = |d: u32| {
        let mut bytes = [0u8; 32];
        bytes[..4].copy_from_slice(&d.to_le_bytes());
        RapporEncoder::with_simulation_rng(
            &config,
            DeviceSecret::from_bytes(bytes),
            ChaCha20Rng::from_seed([0; 32]),
        )
        .unwrap()
    };
    for pair in 0..400u32 {
        let pa = device(2 * pair).permanent_response(value).to_vec();
        let pb = device(2 * pair + 1).permanent_response(value).to_vec();
        for i in 0..128 {
            let one = if bit(&bloom, i) { 1.0 - f2 } else { f2 };
            let p_agree = one * one + (1.0 - one) * (1.0 - one);
            expected += p_agree;
            variance += p_agree * (1.0 - p_agree);
            agree += u64::from(bit(&pa, i) == bit(&pb, i));
        }
    }
    let z = (agree as f64 - expected) / variance.sqrt();
    assert!(z.abs() < 5.0, "agreement z = {z}");
}

#[test]
fn cohorts_are_uniform_over_devices() {
    let config = config();
    let mut counts = [0u32; 64];
    let devices = 64 * 200;
    for d in 0..devices as u64 {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&d.to_le_bytes());
        let encoder = RapporEncoder::with_simulation_rng(
            &config,
            DeviceSecret::from_bytes(bytes),
            ChaCha20Rng::from_seed([0; 32]),
        )
        .unwrap();
        counts[encoder.cohort() as usize] += 1;
    }
    // χ² with 63 degrees of freedom: the 1e-6 upper quantile is about 135.
    let expected = f64::from(devices) / 64.0;
    let chi2: f64 = counts
        .iter()
        .map(|&c| (f64::from(c) - expected).powi(2) / expected)
        .sum();
    assert!(chi2 < 135.0, "chi2 = {chi2}");
}

#[test]
fn one_report_has_the_exact_per_bit_marginal() {
    // P(S_i = 1) is q* for a true 1 and p* for a true 0: checked per bit over 200,000 reports
    // of one value from fresh devices, at 5σ.
    let config = config();
    let params = params(&config);
    let (q_star, p_star) = params.bit_probabilities();
    let mut rng = ChaCha20Rng::from_seed([11; 32]);
    let reports = 200_000;
    let mut ones = vec![0u32; 128];
    let mut truth = vec![0u32; 128];
    for _ in 0..reports {
        let r = encode_once(&params, b"value", &mut rng);
        let bloom = bloom_filter(&params, b"value", r.cohort);
        for i in 0..128 {
            ones[i] += u32::from(bit(&r.bits, i));
            truth[i] += u32::from(bit(&bloom, i));
        }
    }
    for i in 0..128 {
        let t = f64::from(truth[i]);
        let mean = t * q_star + (f64::from(reports) - t) * p_star;
        let var = t * q_star * (1.0 - q_star) + (f64::from(reports) - t) * p_star * (1.0 - p_star);
        let z = (f64::from(ones[i]) - mean) / var.sqrt();
        assert!(z.abs() < 5.0, "bit {i}: z = {z}");
    }
}

#[test]
fn the_permanent_response_flips_with_probability_f_over_two() {
    // Exactly f/2 of zeros become 1 and f/2 of ones become 0: 2,000 draws of 128 bits.
    let config = config();
    let params = params(&config);
    let f2 = params.flip_half.probability();
    let mut rng = ChaCha20Rng::from_seed([3; 32]);
    let bloom = vec![0xFFFF_FFFF_0000_0000u64, 0xFFFF_FFFF_0000_0000];
    let mut out = vec![0u64; 2];
    let (mut up, mut down) = (0u64, 0u64);
    let draws = 2000;
    for _ in 0..draws {
        permanent_response_into(&params, &mut rng, &bloom, &mut out);
        for i in 0..128 {
            match (bit(&bloom, i), bit(&out, i)) {
                (false, true) => up += 1,
                (true, false) => down += 1,
                _ => {}
            }
        }
    }
    let trials = (draws * 64) as f64;
    for (name, count) in [("0→1", up), ("1→0", down)] {
        let z = (count as f64 - trials * f2) / (trials * f2 * (1.0 - f2)).sqrt();
        assert!(z.abs() < 5.0, "{name}: z = {z}");
    }
}

#[test]
fn the_file_store_keeps_the_secret_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.secret");
    let first = FileSecretStore::new(&path).load_or_create().unwrap();
    assert_eq!(std::fs::read(&path).unwrap().len(), 32);
    let second = FileSecretStore::new(&path).load_or_create().unwrap();
    assert_eq!(first, second);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A damaged file is a clear error, not a new identity.
    std::fs::write(&path, b"short").unwrap();
    let err = FileSecretStore::new(&path).load_or_create().unwrap_err();
    assert!(err.to_string().contains("32 bytes"), "{err}");
    // In memory: one store, one secret.
    let mut memory = InMemorySecretStore::default();
    assert_eq!(
        memory.load_or_create().unwrap(),
        memory.load_or_create().unwrap()
    );
}

/// Threads creating the same secret at once all get the one stored first, and no temporary
/// file is left behind.
#[test]
fn concurrent_creators_share_one_secret() {
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.secret");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    FileSecretStore::new(&path).load_or_create().unwrap()
                })
            })
            .collect();
        let secrets: Vec<DeviceSecret> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let stored = FileSecretStore::new(&path).load_or_create().unwrap();
        assert!(secrets.iter().all(|s| *s == stored), "round {round}");
        let files = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(files, 1, "round {round}: temporary files left");
    }
}

#[test]
fn the_generic_encoder_refuses_rappor_campaigns() {
    assert!(ldp_client::Encoder::new(&config()).is_err());
}
