//! How large must an OLH seed pool be? Measures the mean squared error of the count estimates
//! of a Zipf(1.1) population against the per-report-seed variance formula, for several pool
//! sizes (and per-report seeds as the control), and the time to fold and estimate.
//!
//! `cargo run --release -p ldp-sim --example seed_pool -- [n] [k] [eps] [reps]`
//! (defaults: 1000000 10000 1 3)

use std::time::Instant;

use ldp_aggregator::Counters;
use ldp_client::Encoder;
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism};
use ldp_sim::population::Population;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: f64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let n = arg(0, 1e6) as u64;
    let k = arg(1, 1e4) as u32;
    let eps = arg(2, 1.0);
    let reps = arg(3, 3.0) as u64;
    let pop = Population::zipf(k, 1.1, n);
    println!("n = {n}, k = {k}, eps = {eps}, Zipf(1.1), {reps} repetitions");
    println!(
        "{:>10} {:>12} {:>12} {:>8} {:>14}",
        "pool", "MSE", "MSE theory", "ratio", "fold+estimate"
    );
    let pools: Vec<Option<u32>> = if k <= 2048 {
        vec![None, Some(1024), Some(4096), Some(16_384), Some(65_536)]
    } else {
        vec![Some(1024), Some(4096), Some(16_384), Some(65_536)]
    };
    for pool in pools {
        let config = CampaignConfig::new(CampaignSpec::new(
            "pool",
            Mechanism::Olh {
                g: None,
                seed_pool: pool,
            },
            eps,
            Domain::Range { k },
        ))?;
        let pure = config.params().pure();
        let theory: f64 = pop
            .counts()
            .iter()
            .map(|&c| pure.count_variance(n as f64, c as f64))
            .sum::<f64>()
            / f64::from(k);
        let mut squared = 0.0;
        let mut seconds = 0.0;
        for rep in 0..reps {
            let mut seed = [7u8; 32];
            seed[..8].copy_from_slice(&rep.to_le_bytes());
            let mut encoder = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed(seed));
            let reports: Vec<_> = pop
                .values()
                .map(|v| encoder.encode_index(v))
                .collect::<Result<_, _>>()?;
            let start = Instant::now();
            let mut counters = Counters::new(&config);
            counters.fold_all(&reports)?;
            let estimates = counters.estimate()?;
            seconds += start.elapsed().as_secs_f64();
            squared += estimates
                .values
                .iter()
                .zip(pop.counts())
                .map(|(e, &c)| (e.count - c as f64).powi(2))
                .sum::<f64>();
        }
        let mse = squared / (reps as f64 * f64::from(k));
        let label = pool.map_or("per-report".to_string(), |p| p.to_string());
        println!(
            "{label:>10} {mse:>12.0} {theory:>12.0} {:>8.3} {:>12.3} s",
            mse / theory,
            seconds / reps as f64
        );
    }
    Ok(())
}
