//! Longitudinal runs (`ldp-sim run --rounds R --change-rate c`): one population reporting
//! every round for R rounds, each device's value replaced with probability c per round (by a
//! value drawn from the starting population, so the distribution stays put), through the real
//! device encoders and counters.
//!
//! Per round: the MSE of the unbiased counts against the variance formula, and the lifetime ε
//! of the devices so far (mean and maximum over devices):
//! - a one-shot mechanism charges ε per report, so every device has spent `round·ε`;
//! - a memoized one reveals one permanent response per distinct hashed bucket (LOLOHA) or
//!   value (L-SUE, L-OUE) a device has reported, each at most ε∞, so a device has spent at
//!   most `distinct·ε∞` — for LOLOHA never more than `g·ε∞` however long it reports — and
//!   at most `round·ε` as any mechanism: the smaller of the two.
//!
//! Devices draw from WyRand seeded per (seed, mechanism, device); memoized devices derive
//! their permanent responses from a secret drawn the same way, exactly as a phone would from
//! its own.

use ldp_aggregator::{Accumulator, Counters};
use ldp_client::{DeviceSecret, Encoder, LolohaEncoder, LongitudinalUnaryEncoder};
use ldp_protocol::mechanism::local_hash::bucket;
use ldp_protocol::{CampaignConfig, Mechanism, MechanismParams};
use rand_core::RngCore;
use wyrand::WyRand;

use crate::population::Population;
use crate::run::{RunError, stream};

/// One round of one mechanism: the JSON/CSV record of `run --rounds`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RoundRecord {
    /// Mechanism name.
    pub mechanism: String,
    /// ε per report.
    pub eps: f64,
    /// ε∞ of a memoized mechanism (its bound per distinct bucket); `None` for one-shot ones.
    pub eps_permanent: Option<f64>,
    /// Domain size.
    pub k: u32,
    /// Devices.
    pub n: u64,
    /// Probability that a device's value changes between rounds.
    pub change_rate: f64,
    /// Round, from 1.
    pub round: u32,
    /// Empirical MSE of the round's unbiased counts, over values.
    pub mse: f64,
    /// The same from the variance formula for the round's true counts.
    pub mse_theory: f64,
    /// `mse / mse_theory`.
    pub mse_ratio: f64,
    /// Mean over devices of the lifetime ε spent so far.
    pub lifetime_eps_mean: f64,
    /// Largest lifetime ε of a device so far.
    pub lifetime_eps_max: f64,
}

/// A device: its encoder and, for a memoized mechanism, the permanent responses it has
/// revealed (LOLOHA's hashed buckets, L-SUE's and L-OUE's values).
enum Device {
    OneShot(Box<Encoder<WyRand>>),
    Loloha {
        encoder: Box<LolohaEncoder<WyRand>>,
        buckets: Vec<u32>,
    },
    Unary {
        encoder: Box<LongitudinalUnaryEncoder<WyRand>>,
        values: Vec<u32>,
    },
}

/// Simulates `rounds` rounds of `mechanism` at `eps`; `progress` is called after each round.
pub fn simulate(
    population: &Population,
    mechanism: &Mechanism,
    eps: f64,
    rounds: u32,
    change_rate: f64,
    seed: u64,
    progress: &dyn Fn(),
) -> Result<Vec<RoundRecord>, RunError> {
    if rounds == 0 || population.n() == 0 || !(0.0..=1.0).contains(&change_rate) {
        return Err(RunError::Invalid(
            "need at least one round and one device, and a change rate in [0, 1]".into(),
        ));
    }
    let config = CampaignConfig::range("simulation", mechanism.clone(), eps, population.k())?;
    let start: Vec<u32> = population.values().collect();
    let mut values = start.clone();
    let stream = stream(&config);
    let mut history = WyRand::new(seed ^ 0x6c6f_6e67_6974_7564);
    let mut devices = start
        .iter()
        .enumerate()
        .map(|(i, _)| device(&config, seed, &stream, i as u64))
        .collect::<Result<Vec<_>, RunError>>()?;
    let eps_inf = config.params().epsilon_permanent();
    let pure = config.params().pure();
    let n = values.len() as f64;
    let mut records = Vec::with_capacity(rounds as usize);
    for round in 1..=rounds {
        if round > 1 {
            for value in &mut values {
                if unit(&mut history) < change_rate {
                    *value = start[(history.next_u64() % start.len() as u64) as usize];
                }
            }
        }
        let mut counters = Counters::new(&config);
        let mut truth = vec![0u64; population.k() as usize];
        for (device, &value) in devices.iter_mut().zip(&values) {
            truth[value as usize] += 1;
            let report = match device {
                Device::OneShot(encoder) => encoder.encode_index(value)?,
                Device::Loloha { encoder, buckets } => {
                    if let MechanismParams::Loloha(p) = config.params() {
                        remember(buckets, bucket(encoder.seed(), value, p.g));
                    }
                    encoder.encode_index(value)?
                }
                Device::Unary { encoder, values } => {
                    remember(values, value);
                    encoder.encode_index(value)?
                }
            };
            counters.fold(&report)?;
        }
        let estimates = counters.estimate()?;
        let k = truth.len() as f64;
        let mse = estimates
            .values
            .iter()
            .zip(&truth)
            .map(|(e, &t)| (e.count - t as f64).powi(2))
            .sum::<f64>()
            / k;
        let mse_theory = truth
            .iter()
            .map(|&t| pure.count_variance(n, t as f64))
            .sum::<f64>()
            / k;
        let (mean, max) = lifetime(&devices, eps, eps_inf, round);
        records.push(RoundRecord {
            mechanism: config.params().kind().name().to_owned(),
            eps,
            eps_permanent: eps_inf,
            k: population.k(),
            n: population.n(),
            change_rate,
            round,
            mse,
            mse_theory,
            mse_ratio: mse / mse_theory,
            lifetime_eps_mean: mean,
            lifetime_eps_max: max,
        });
        progress();
    }
    Ok(records)
}

/// Device `i`'s encoder, its RNG and secret seeded from (seed, stream, i).
fn device(config: &CampaignConfig, seed: u64, stream: &[u8], i: u64) -> Result<Device, RunError> {
    let mut state = seed ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for &byte in stream {
        state = (state ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut rng = WyRand::new(state);
    if !config.params().memoized() {
        return Ok(Device::OneShot(Box::new(Encoder::with_simulation_rng(
            config, rng,
        ))));
    }
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut secret);
    let secret = DeviceSecret::from_bytes(secret);
    Ok(match config.params() {
        MechanismParams::Loloha(_) => Device::Loloha {
            encoder: Box::new(LolohaEncoder::with_simulation_rng(config, secret, rng)?),
            buckets: Vec::new(),
        },
        _ => Device::Unary {
            encoder: Box::new(LongitudinalUnaryEncoder::with_simulation_rng(
                config, secret, rng,
            )?),
            values: Vec::new(),
        },
    })
}

/// Adds `x` to `seen` unless it is there.
fn remember(seen: &mut Vec<u32>, x: u32) {
    if !seen.contains(&x) {
        seen.push(x);
    }
}

/// The mean and maximum lifetime ε over devices after `round` rounds.
fn lifetime(devices: &[Device], eps: f64, eps_inf: Option<f64>, round: u32) -> (f64, f64) {
    let spent = |device: &Device| match (device, eps_inf) {
        (
            Device::Loloha { buckets: seen, .. } | Device::Unary { values: seen, .. },
            Some(eps_inf),
        ) => (seen.len() as f64 * eps_inf).min(f64::from(round) * eps),
        _ => f64::from(round) * eps,
    };
    let (mut total, mut max) = (0.0, 0.0f64);
    for device in devices {
        let s = spent(device);
        total += s;
        max = max.max(s);
    }
    (total / devices.len().max(1) as f64, max)
}

/// A uniform draw in [0, 1).
fn unit(rng: &mut WyRand) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}
