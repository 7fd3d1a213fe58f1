//! Encode 100,000 simulated emoji uses on "devices", fold them on the "collector", and print
//! the top 10 estimates with 95% intervals next to the truth.
//!
//! `cargo run --release --example quickstart -p ldp-aggregator`

use ldp_aggregator::Counters;
use ldp_client::Encoder;
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const EMOJI_CSV: &str = include_str!("../../data/emoji-frequency.csv");
const DEVICES: u64 = 100_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The real popularity of 845 emoji, scaled to 100,000 devices (one emoji each).
    let rows: Vec<(String, f64)> = EMOJI_CSV
        .lines()
        .skip(1)
        .filter_map(|line| {
            let (value, count) = line.rsplit_once(',')?;
            Some((value.to_owned(), count.trim().parse().ok()?))
        })
        .collect();
    let total: f64 = rows.iter().map(|(_, c)| c).sum();
    let truth: Vec<u64> = rows
        .iter()
        .map(|(_, c)| (c / total * DEVICES as f64).round() as u64)
        .collect();

    let config = CampaignConfig::new(CampaignSpec::new(
        "emoji-quickstart",
        Mechanism::Olh {
            g: None,
            seed_pool: None,
        },
        2.0,
        Domain::Dictionary {
            values: rows.iter().map(|(v, _)| v.clone()).collect(),
        },
    ))?;

    // A fixed seed makes the demo reproducible; real devices use `Encoder::new` (OS randomness).
    let mut encoder = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([42; 32]));
    let mut counters = Counters::new(&config);
    let mut reports = Vec::new();
    for (index, &count) in truth.iter().enumerate() {
        for _ in 0..count {
            reports.push(encoder.encode_index(index as u32)?);
        }
    }
    counters.fold_all(&reports)?;

    let estimates = counters.estimate()?;
    println!(
        "{} reports, OLH with ε = {}, k = {} (845 emoji + other)\n",
        estimates.n,
        config.epsilon(),
        config.k()
    );
    println!(
        "{:>4}  {:<6} {:>7} {:>9} {:>21} {:>9}",
        "rank", "emoji", "true", "estimate", "95% interval", "norm-sub"
    );
    for (rank, e) in estimates.top(10).iter().enumerate() {
        println!(
            "{:>4}  {:<6} {:>7} {:>9.0} {:>10.0} … {:<8.0} {:>9.0}",
            rank + 1,
            config.label(e.index),
            truth.get(e.index as usize).copied().unwrap_or(0),
            e.count,
            e.ci95_low,
            e.ci95_high,
            e.norm_sub_count
        );
    }
    Ok(())
}
