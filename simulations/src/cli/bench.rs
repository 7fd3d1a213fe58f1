//! `ldp-sim bench`: encode, fold and estimate throughput per mechanism on this machine.

use std::time::Instant;

use ldp_protocol::{CampaignConfig, Mechanism};

use super::BoxError;
use super::args::BenchArgs;
use super::table::{Table, left, right};
use crate::population::Population;
use crate::run;

/// One mechanism's throughput.
#[derive(Debug, serde::Serialize)]
struct BenchRecord {
    mechanism: String,
    k: u32,
    eps: f64,
    n: u64,
    encode_ns_per_report: f64,
    fold_ns_per_report: f64,
    estimate_ms: f64,
    reports_per_s_one_core: f64,
    reports_per_s_all_cores: f64,
    threads: usize,
    rng: String,
}

/// Measures every mechanism of `--mechanism` over a Zipf(1.1) population.
pub(super) fn run(args: &BenchArgs) -> Result<(), BoxError> {
    let kinds = args.mechanism.frequency_oracles()?;
    let population = Population::zipf(args.k, 1.1, args.n);
    let values: Vec<u32> = population.values().collect();
    let threads = rayon::current_num_threads();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    println!(
        "n = {}, k = {}, ε = {}, simulation RNG {}, {threads} threads",
        args.n,
        args.k,
        args.eps,
        run::SIMULATION_RNG
    );
    let table = Table::new(&[
        left("mech", 5),
        right("encode ns", 10),
        right("fold ns", 10),
        right("estimate ms", 12),
        right("reports/s 1 core", 16),
        right("reports/s all", 16),
    ]);
    table.print_header();
    let mut records = Vec::new();
    for &kind in kinds {
        let config = CampaignConfig::range(
            "bench",
            Mechanism::with_defaults(kind),
            args.eps.get(),
            args.k,
        )?;
        let started = Instant::now();
        let (counters, encode_ns, fold_ns) =
            one.install(|| run::simulate_once(&config, &values, 1, 0))?;
        let single = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let _ = std::hint::black_box(counters.estimate());
        let estimate = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let _ = run::simulate_once(&config, &values, 1, 1)?;
        let all = started.elapsed().as_secs_f64();
        let n = args.n as f64;
        let record = BenchRecord {
            mechanism: kind.name().to_owned(),
            k: args.k,
            eps: args.eps.get(),
            n: args.n,
            encode_ns_per_report: encode_ns as f64 / n,
            fold_ns_per_report: fold_ns as f64 / n,
            estimate_ms: estimate * 1e3,
            reports_per_s_one_core: n / (single + estimate),
            reports_per_s_all_cores: n / (all + estimate),
            threads,
            rng: run::SIMULATION_RNG.to_owned(),
        };
        table.print_row(&[
            record.mechanism.clone(),
            format!("{:.1}", record.encode_ns_per_report),
            format!("{:.1}", record.fold_ns_per_report),
            format!("{:.3}", record.estimate_ms),
            format!("{:.0}", record.reports_per_s_one_core),
            format!("{:.0}", record.reports_per_s_all_cores),
        ]);
        records.push(record);
    }
    args.output.write(&records)
}
