//! Encoders produce exactly the specified output distribution: χ² goodness-of-fit tests with
//! fixed seeds at α = 1e-6 (a false failure has probability 1e-6 per test; seeds are fixed).

use ldp_client::Encoder;
use ldp_client::encoder::unary;
use ldp_protocol::mechanism::{MechanismParams, UnaryParams};
use ldp_protocol::{CampaignConfig, Mechanism, Report};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use statrs::distribution::{ChiSquared, ContinuousCDF};

const ALPHA: f64 = 1e-6;

fn chi2_statistic(observed: &[u64], expected: &[f64]) -> f64 {
    observed
        .iter()
        .zip(expected)
        .map(|(&o, &e)| (o as f64 - e).powi(2) / e)
        .sum()
}

fn assert_fits(observed: &[u64], expected: &[f64], what: &str) {
    let df = (observed.len() - 1) as f64;
    let stat = chi2_statistic(observed, expected);
    let critical = ChiSquared::new(df).unwrap().inverse_cdf(1.0 - ALPHA);
    assert!(
        stat <= critical,
        "{what}: chi2 = {stat:.1} > {critical:.1} (df {df})"
    );
}

fn config(mechanism: Mechanism, eps: f64, k: u32) -> CampaignConfig {
    CampaignConfig::range("dist", mechanism, eps, k).unwrap()
}

/// GRR: the true value with probability p, each other value with q.
#[test]
fn grr_output_distribution() {
    let k = 10;
    let n = 400_000u64;
    for eps in [0.5, 2.0] {
        let config = config(Mechanism::Grr, eps, k);
        let pure = config.params().pure();
        let mut encoder = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([5; 32]));
        let mut observed = vec![0u64; k as usize];
        for _ in 0..n {
            let Report::Grr(r) = encoder.encode_index(3).unwrap() else {
                unreachable!()
            };
            observed[r.value as usize] += 1;
        }
        let expected: Vec<f64> = (0..k)
            .map(|v| n as f64 * if v == 3 { pure.p } else { pure.q })
            .collect();
        assert_fits(&observed, &expected, &format!("grr eps={eps}"));
    }
}

/// The ways to draw a unary report under test: what the encoder picks, and each path forced.
#[derive(Debug, Clone, Copy)]
enum UnaryPath {
    Encoder,
    Dense,
    Sparse,
}

/// Unary encoding: each bit is 1 with p (true value) or q (others); the number of ones in a
/// report is then Poisson-binomial. Checked per position (marginals) and on the count of ones
/// (which would expose correlated lanes or gaps), for both the dense and the sparse path at
/// dense and sparse parameters.
#[test]
fn unary_bits_have_the_specified_marginals_and_independence() {
    let k = 100u32;
    let n = 100_000u64;
    for (mechanism, eps) in [
        (Mechanism::Oue, 1.0),
        (Mechanism::Sue, 4.0),
        (Mechanism::Oue, 4.0),
        (Mechanism::Oue, 6.0),
    ] {
        for path in [UnaryPath::Encoder, UnaryPath::Dense, UnaryPath::Sparse] {
            check_unary_distribution(mechanism.clone(), eps, k, n, path);
        }
    }
}

/// The encoder takes the sparse path exactly when q is below `SPARSE_BELOW`.
#[test]
fn the_encoder_switches_paths_at_the_documented_threshold() {
    for (mechanism, eps) in [
        (Mechanism::Oue, 1.0),
        (Mechanism::Oue, 4.0),
        (Mechanism::Sue, 6.0),
    ] {
        let config = config(mechanism.clone(), eps, 300);
        let params = unary_params(&config);
        let mut encoder = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([8; 32]));
        let mut rng = ChaCha20Rng::from_seed([8; 32]);
        let mut out = vec![0u64; params.words()];
        for _ in 0..100 {
            let (Report::Oue(r) | Report::Sue(r)) = encoder.encode_index(5).unwrap() else {
                unreachable!()
            };
            if params.one_if_false.0 < unary::SPARSE_BELOW {
                unary::encode_sparse_into(&params, 5, &mut rng, &mut out);
            } else {
                unary::encode_dense_into(&params, 5, &mut rng, &mut out);
            }
            assert_eq!(r.bits, out, "{mechanism:?} eps={eps}");
        }
    }
}

fn unary_params(config: &CampaignConfig) -> UnaryParams {
    match config.params() {
        MechanismParams::Oue(p) | MechanismParams::Sue(p) => *p,
        other => panic!("not unary: {other:?}"),
    }
}

fn check_unary_distribution(mechanism: Mechanism, eps: f64, k: u32, n: u64, path: UnaryPath) {
    let config = config(mechanism.clone(), eps, k);
    let pure = config.params().pure();
    let params = unary_params(&config);
    let mut encoder = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([6; 32]));
    let mut rng = ChaCha20Rng::from_seed([6; 32]);
    let mut bits = vec![0u64; params.words()];
    let mut ones = vec![0u64; k as usize];
    let mut weight = vec![0u64; k as usize + 1];
    for _ in 0..n {
        match path {
            UnaryPath::Encoder => {
                let (Report::Oue(r) | Report::Sue(r)) = encoder.encode_index(7).unwrap() else {
                    unreachable!()
                };
                bits = r.bits;
            }
            UnaryPath::Dense => unary::encode_dense_into(&params, 7, &mut rng, &mut bits),
            UnaryPath::Sparse => unary::encode_sparse_into(&params, 7, &mut rng, &mut bits),
        }
        assert_eq!(bits[bits.len() - 1] >> (k % 64), 0, "padding bits are zero");
        let mut w = 0;
        for (v, count) in ones.iter_mut().enumerate() {
            let bit = (bits[v / 64] >> (v % 64)) & 1;
            *count += bit;
            w += bit as usize;
        }
        weight[w] += 1;
    }
    let mechanism = format!("{mechanism:?} {path:?}");
    // Marginals: each position is a binomial count; z-test every position at 5σ.
    for (v, &o) in ones.iter().enumerate() {
        let p = if v == 7 { pure.p } else { pure.q };
        let mean = n as f64 * p;
        let sd = (n as f64 * p * (1.0 - p)).sqrt();
        assert!(
            (o as f64 - mean).abs() <= 5.0 * sd,
            "{mechanism:?} eps={eps} bit {v}: {o} ones, expected {mean:.0} ± {sd:.0}"
        );
    }
    // Weight distribution: Bernoulli(p) + Binomial(k−1, q), pooled into cells ≥ 5 expected.
    let mut dist = vec![0.0; k as usize + 1];
    for j in 0..k as usize {
        let binom = binomial_pmf(k as u64 - 1, pure.q, j as u64);
        dist[j] += (1.0 - pure.p) * binom;
        dist[j + 1] += pure.p * binom;
    }
    let (mut obs, mut exp) = (Vec::new(), Vec::new());
    let (mut o_acc, mut e_acc) = (0u64, 0.0);
    for (o, p) in weight.iter().zip(&dist) {
        o_acc += o;
        e_acc += p * n as f64;
        if e_acc >= 5.0 {
            obs.push(o_acc);
            exp.push(e_acc);
            o_acc = 0;
            e_acc = 0.0;
        }
    }
    if let (Some(o), Some(e)) = (obs.last_mut(), exp.last_mut()) {
        *o += o_acc;
        *e += e_acc;
    }
    assert_fits(&obs, &exp, &format!("{mechanism:?} eps={eps} weights"));
}

fn binomial_pmf(n: u64, p: f64, j: u64) -> f64 {
    let ln_choose = statrs::function::factorial::ln_binomial(n, j);
    (ln_choose + j as f64 * p.ln() + (n - j) as f64 * (1.0 - p).ln()).exp()
}

/// Local hashing: for a fixed value the reported bucket equals the value's hash with
/// probability p and each other bucket with (1 − p)/(g − 1).
#[test]
fn local_hash_output_distribution() {
    let n = 300_000u64;
    for mechanism in [
        Mechanism::Olh {
            g: None,
            seed_pool: None,
        },
        Mechanism::Blh {
            seed_pool: Some(16),
        },
        Mechanism::Olh {
            g: Some(5),
            seed_pool: Some(3),
        },
    ] {
        let config = config(mechanism.clone(), 1.0, 64);
        let (ldp_protocol::MechanismParams::Olh(params)
        | ldp_protocol::MechanismParams::Blh(params)) = config.params()
        else {
            unreachable!()
        };
        let mut encoder = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([8; 32]));
        // Offset of the reported bucket from the true hash, modulo g.
        let g = params.g;
        let mut observed = vec![0u64; g as usize];
        for _ in 0..n {
            let (Report::Olh(r) | Report::Blh(r)) = encoder.encode_index(11).unwrap() else {
                unreachable!()
            };
            let hash_seed = match params.seed_pool {
                Some(_) => ldp_protocol::mechanism::local_hash::pool_hash_seed(r.seed),
                None => r.seed,
            };
            let h = ldp_protocol::mechanism::local_hash::bucket(hash_seed, 11, g);
            observed[((r.value + g - h) % g) as usize] += 1;
        }
        let p = params.keep.probability();
        let expected: Vec<f64> = (0..g)
            .map(|d| n as f64 * if d == 0 { p } else { params.q_bucket() })
            .collect();
        assert_fits(&observed, &expected, &format!("{mechanism:?}"));
    }
}
