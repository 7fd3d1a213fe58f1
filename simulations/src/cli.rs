//! The `ldp-sim` command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, MechanismKind};

use crate::load::{self, LoadPlan};
use crate::population::Population;
use crate::run;

/// Simulate populations through the real ldp-telemetry client and aggregator.
#[derive(Debug, Parser)]
#[command(name = "ldp-sim", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a population through the real encoders and counters; error against theory.
    Run(RunArgs),
    /// Sweep ε (and n, k) and plot MSE against theory, plus a top-20 chart.
    Grid(GridArgs),
    /// Rank the mechanisms for (k, n, ε) and recommend one.
    Advise(AdviseArgs),
    /// Encode, fold and estimate throughput per mechanism on this machine.
    Bench(BenchArgs),
    /// Send encoded batches to a running aggregator and measure throughput and latency.
    Load(LoadArgs),
    /// Fill a demo campaign on a running aggregator: the real emoji list, a few short epochs,
    /// one planted rising emoji (about half a minute); then open its dashboard.
    Demo(DemoArgs),
}

/// `demo` flags.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Aggregator base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An admin token (creates the campaign).
    #[arg(long, env = "LDP_ADMIN_TOKEN")]
    pub token: String,
    /// Campaign id (reused when it exists with the same configuration).
    #[arg(long, default_value = "emoji-demo")]
    pub campaign: String,
    /// Epoch length in seconds.
    #[arg(long, default_value_t = 3)]
    pub epoch_seconds: u64,
    /// Epochs of ordinary traffic before the one with the planted emoji.
    #[arg(long, default_value_t = 7)]
    pub baseline_epochs: u64,
    /// Reports per epoch.
    #[arg(long, default_value_t = 20_000)]
    pub reports_per_epoch: u64,
    /// ε per report.
    #[arg(long, default_value_t = 2.0)]
    pub eps: f64,
    /// No progress lines.
    #[arg(long)]
    pub quiet: bool,
}

/// The population flags shared by the simulating subcommands.
#[derive(Debug, Args)]
pub struct PopulationArgs {
    /// Population: zipf:S, uniform, emoji (built in), or file:PATH (CSV value,count or one
    /// value per line).
    #[arg(long, default_value = "zipf:1.1")]
    pub dist: String,
    /// Domain size (zipf and uniform).
    #[arg(long, default_value_t = 1024)]
    pub k: u32,
    /// Devices (one value each).
    #[arg(long, default_value_t = 100_000)]
    pub n: u64,
    /// Seed of the simulated devices' randomness.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// `run` flags.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Population flags.
    #[command(flatten)]
    pub population: PopulationArgs,
    /// Mechanisms: a comma-separated list of grr, sue, oue, olh, blh, ss, hr, or `all`. Alone:
    /// `rappor` (strings, detection and per-value errors; ε is ε₁), `cms` or `hcms` (strings
    /// through a count-mean sketch: count error against theory, detection). Numeric means:
    /// `duchi`, `piecewise`, `hybrid` (comma-separated) or `numeric` for all three; each
    /// device's number is its value's index in the population (0..k−1 for zipf and uniform),
    /// over the range [0, k − 1].
    #[arg(long, default_value = "all")]
    pub mechanism: String,
    /// RAPPOR settings.
    #[command(flatten)]
    pub rappor: RapporArgs,
    /// Count-mean sketch settings.
    #[command(flatten)]
    pub sketch: SketchArgs,
    /// ε values, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0.5,1,2,4")]
    pub eps: Vec<f64>,
    /// Repetitions per (mechanism, ε).
    #[arg(long, default_value_t = 10)]
    pub reps: u32,
    /// Write the records as a JSON array here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the records as CSV here.
    #[arg(long)]
    pub csv: Option<PathBuf>,
}

/// RAPPOR flags of `run`.
#[derive(Debug, Args)]
pub struct RapporArgs {
    /// Bloom filter bits m.
    #[arg(long, default_value_t = 128)]
    pub bloom_bits: u32,
    /// Hash functions h.
    #[arg(long, default_value_t = 2)]
    pub hashes: u32,
    /// Cohorts.
    #[arg(long, default_value_t = 64)]
    pub cohorts: u32,
    /// ε∞ of the permanent response (f is derived from it).
    #[arg(long, default_value_t = 4.0)]
    pub eps_permanent: f64,
    /// IRR p (with --irr-q; otherwise derived from ε as ε₁, q = 1 − p).
    #[arg(long, requires = "irr_q")]
    pub irr_p: Option<f64>,
    /// IRR q (with --irr-p).
    #[arg(long, requires = "irr_p")]
    pub irr_q: Option<f64>,
    /// Candidate strings held by no device, added to the candidate list (rappor, cms, hcms).
    #[arg(long, default_value_t = 0)]
    pub absent: usize,
    /// Family-wise significance level of detection (rappor, cms, hcms).
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Per-value rows printed (most frequent first, then the absent candidates detected).
    #[arg(long, default_value_t = 25)]
    pub show: usize,
}

/// Count-mean sketch flags of `run` (`--mechanism cms` or `hcms`).
#[derive(Debug, Args)]
pub struct SketchArgs {
    /// Hash functions d, the sketch's rows.
    #[arg(long, default_value_t = 64)]
    pub sketch_hashes: u32,
    /// Buckets per row m (a power of two for hcms).
    #[arg(long, default_value_t = 1024)]
    pub sketch_width: u32,
}

/// `grid` flags.
#[derive(Debug, Args)]
pub struct GridArgs {
    /// Population: zipf:S, uniform, emoji, or file:PATH.
    #[arg(long, default_value = "zipf:1.1")]
    pub dist: String,
    /// Domain sizes, comma-separated (zipf and uniform).
    #[arg(long, value_delimiter = ',', default_value = "1024")]
    pub k: Vec<u32>,
    /// Device counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100000")]
    pub n: Vec<u64>,
    /// ε values, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0.25,0.5,1,2,4,8")]
    pub eps: Vec<f64>,
    /// Mechanisms: a comma-separated list, or `all`.
    #[arg(long, default_value = "all")]
    pub mechanism: String,
    /// Repetitions per point.
    #[arg(long, default_value_t = 5)]
    pub reps: u32,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory for the plots and grid.json.
    #[arg(long, default_value = "ldp-sim-plots")]
    pub out: PathBuf,
    /// Mechanism of the top-20 chart.
    #[arg(long, default_value = "olh")]
    pub top_mechanism: String,
    /// ε of the top-20 chart.
    #[arg(long, default_value_t = 2.0)]
    pub top_eps: f64,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// `advise` flags.
#[derive(Debug, Args)]
pub struct AdviseArgs {
    /// Domain size.
    #[arg(long)]
    pub k: u32,
    /// Reports expected.
    #[arg(long)]
    pub n: u64,
    /// ε per report.
    #[arg(long)]
    pub eps: f64,
    /// Largest acceptable report, in bytes.
    #[arg(long)]
    pub max_report_bytes: Option<usize>,
    /// Confirm the predicted errors by simulation (Zipf(1.1) population, 5 repetitions).
    #[arg(long)]
    pub verify: bool,
    /// Seed for --verify.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `bench` flags.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Domain size.
    #[arg(long, default_value_t = 1024)]
    pub k: u32,
    /// Devices per measurement.
    #[arg(long, default_value_t = 1_000_000)]
    pub n: u64,
    /// ε per report.
    #[arg(long, default_value_t = 1.0)]
    pub eps: f64,
    /// Mechanisms: a comma-separated list, or `all`.
    #[arg(long, default_value = "all")]
    pub mechanism: String,
    /// Write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// `load` flags.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Aggregator base URL; repeat it to spread batches over several nodes in turn.
    #[arg(
        long = "url",
        env = "LDP_URL",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:8080"
    )]
    pub urls: Vec<String>,
    /// Campaign id; created (OUE unless --mechanism) when --admin-token is given and it is missing.
    #[arg(long, default_value = "load")]
    pub campaign: String,
    /// Admin token, to create the campaign.
    #[arg(long, env = "LDP_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// Mechanism of a created campaign: a frequency oracle, `cms` or `hcms`.
    #[arg(long, default_value = "oue")]
    pub mechanism: String,
    /// Domain size of a created campaign.
    #[arg(long, default_value_t = 256)]
    pub k: u32,
    /// ε of a created campaign.
    #[arg(long, default_value_t = 1.0)]
    pub eps: f64,
    /// Reports per batch.
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
    /// Connections sending at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Seconds to send (at most, with --devices).
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Target reports per second (open loop); omitted: as fast as possible.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Send this many fresh reports (one per simulated device, Zipf values over 0..k) once
    /// each and stop, so estimates are meaningful; without it a small pool is re-sent for
    /// --duration seconds (throughput, not statistics).
    #[arg(long)]
    pub n: Option<u64>,
    /// Write the result as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Runs the command line; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run_run(args),
        Command::Grid(args) => run_grid(args),
        Command::Advise(args) => run_advise(args),
        Command::Bench(args) => run_bench(args),
        Command::Load(args) => run_load(args),
        Command::Demo(args) => run_demo(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn mechanisms(list: &str) -> Result<Vec<Mechanism>, BoxError> {
    if list == "all" {
        return Ok(MechanismKind::ALL
            .into_iter()
            .map(Mechanism::with_defaults)
            .collect());
    }
    list.split(',')
        .map(|name| {
            MechanismKind::ALL
                .into_iter()
                .find(|k| k.name() == name.trim())
                .map(Mechanism::with_defaults)
                .ok_or_else(|| {
                    format!(
                        "unknown mechanism {name:?} (grr, sue, oue, olh, blh, ss, hr, all; \
                         `run` also takes rappor, cms or hcms alone, and duchi, piecewise, \
                         hybrid or numeric)"
                    )
                    .into()
                })
        })
        .collect()
}

fn progress_bar(total: u64, quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg} (eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// The numeric mechanisms `names` asks for (`numeric`: all three); `None` when it names none.
fn numeric_mechanisms(names: &[&str]) -> Result<Option<Vec<Mechanism>>, BoxError> {
    let kind = |name: &str| {
        MechanismKind::NUMERIC
            .into_iter()
            .find(|k| k.name() == name)
    };
    if !names.iter().any(|&n| n == "numeric" || kind(n).is_some()) {
        return Ok(None);
    }
    let mut kinds = Vec::new();
    for &name in names {
        match (name, kind(name)) {
            ("numeric", _) => kinds.extend(MechanismKind::NUMERIC),
            (_, Some(k)) => kinds.push(k),
            _ => {
                return Err(format!(
                    "duchi, piecewise and hybrid estimate means and run only with each other \
                     (--mechanism numeric for all three); {name:?} is not one of them"
                )
                .into());
            }
        }
    }
    let mut unique = Vec::new();
    for k in kinds {
        if !unique.contains(&k) {
            unique.push(k);
        }
    }
    Ok(Some(
        unique.into_iter().map(Mechanism::with_defaults).collect(),
    ))
}

fn run_run(args: RunArgs) -> Result<(), BoxError> {
    let names: Vec<&str> = args.mechanism.split(',').map(str::trim).collect();
    for alone in ["rappor", "cms", "hcms"] {
        if names.contains(&alone) {
            if names.len() != 1 {
                return Err(format!("{alone} runs alone: --mechanism {alone}").into());
            }
            return match alone {
                "rappor" => run_rappor(&args),
                _ => run_sketch(&args, alone == "hcms"),
            };
        }
    }
    if let Some(mechanisms) = numeric_mechanisms(&names)? {
        return run_numeric(&args, &mechanisms);
    }
    let p = &args.population;
    let (population, _labels) = Population::parse(&p.dist, p.k, p.n)?;
    let mechanisms = mechanisms(&args.mechanism)?;
    let bar = progress_bar(
        (mechanisms.len() * args.eps.len()) as u64 * u64::from(args.reps),
        p.quiet,
    );
    let mut records = Vec::new();
    for mechanism in &mechanisms {
        for &eps in &args.eps {
            bar.set_message(format!("{} ε={eps}", mechanism.kind().name()));
            let (record, _) = run::run(&population, mechanism, eps, args.reps, p.seed, &|| {
                bar.inc(1)
            })?;
            records.push(record);
        }
    }
    bar.finish_and_clear();
    println!(
        "{} devices over k = {} ({}), {} repetitions, seed {}, simulation RNG {}",
        population.n(),
        population.k(),
        p.dist,
        args.reps,
        p.seed,
        run::SIMULATION_RNG
    );
    println!(
        "{:<5} {:>5} {:>13} {:>13} {:>7} {:>17} {:>11} {:>13} {:>10} {:>10}",
        "mech",
        "ε",
        "MSE",
        "theory",
        "ratio",
        "ratio 99% CI",
        "max |err|",
        "MSE norm-sub",
        "client ns",
        "agg ns"
    );
    for r in &records {
        println!(
            "{:<5} {:>5} {:>13.1} {:>13.1} {:>7.3} {:>17} {:>11.1} {:>13.1} {:>10.1} {:>10.1}",
            r.mechanism,
            r.eps,
            r.mse,
            r.mse_theory,
            r.mse_ratio,
            format!("[{:.3}, {:.3}]", r.mse_ratio_ci99[0], r.mse_ratio_ci99[1]),
            r.max_abs_error,
            r.mse_consistent,
            r.client_ns_per_report,
            r.aggregator_ns_per_report
        );
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&records)?)?;
    }
    if let Some(path) = &args.csv {
        let mut out = String::from(
            "mechanism,eps,k,n,reps,mse,mse_theory,mse_ratio,mse_ratio_ci99_low,mse_ratio_ci99_high,max_abs_error,mse_consistent,max_abs_error_consistent,client_ns_per_report,aggregator_ns_per_report,rng\n",
        );
        for r in &records {
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                r.mechanism,
                r.eps,
                r.k,
                r.n,
                r.reps,
                r.mse,
                r.mse_theory,
                r.mse_ratio,
                r.mse_ratio_ci99[0],
                r.mse_ratio_ci99[1],
                r.max_abs_error,
                r.mse_consistent,
                r.max_abs_error_consistent,
                r.client_ns_per_report,
                r.aggregator_ns_per_report,
                r.rng
            ));
        }
        std::fs::write(path, out)?;
    }
    Ok(())
}

fn run_rappor(args: &RunArgs) -> Result<(), BoxError> {
    let p = &args.population;
    let r = &args.rappor;
    let (population, labels) = Population::parse(&p.dist, p.k, p.n)?;
    let spec = ldp_protocol::mechanism::RapporSpec {
        bloom_bits: r.bloom_bits,
        hashes: r.hashes,
        cohorts: r.cohorts,
        f: None,
        epsilon_permanent: Some(r.eps_permanent),
        p: r.irr_p,
        q: r.irr_q,
    };
    let bar = progress_bar(args.eps.len() as u64 * u64::from(args.reps), p.quiet);
    let mut records = Vec::new();
    println!(
        "rappor: {} devices, {} values ({}), {} absent candidates, m = {}, h = {}, {} cohorts, α = {}, {} repetitions, seed {}, simulation RNG {}",
        population.n(),
        population.k(),
        p.dist,
        r.absent,
        r.bloom_bits,
        r.hashes,
        r.cohorts,
        r.alpha,
        args.reps,
        p.seed,
        run::SIMULATION_RNG
    );
    for &eps in &args.eps {
        bar.set_message(format!("rappor ε₁ ≤ {eps}"));
        let settings = crate::rappor::RapporRun {
            spec: spec.clone(),
            eps,
            absent: r.absent,
            alpha: r.alpha,
            reps: args.reps,
            seed: p.seed,
        };
        let (record, _) = crate::rappor::run(&population, &labels, &settings, &|| bar.inc(1))?;
        records.push(record);
    }
    bar.finish_and_clear();
    println!(
        "{:>6} {:>6} {:>7} {:>9} {:>11} {:>11} {:>9} {:>9} {:>10} {:>11} {:>11} {:>10} {:>10} {:>9} {:>10}",
        "ε₁",
        "ε∞",
        "recall",
        "top-20",
        "all 20 runs",
        "(expected)",
        "top-20 z",
        "precision",
        "false runs",
        "within 5se",
        "RMSE det.",
        "explained",
        "client ns",
        "fold ns",
        "decode ms"
    );
    for rec in &records {
        println!(
            "{:>6.3} {:>6.3} {:>7.3} {:>9.3} {:>11} {:>11} {:>9.2} {:>9.3} {:>10} {:>11.3} {:>11.1} {:>10.3} {:>10.1} {:>9.1} {:>10.1}",
            rec.eps_one,
            rec.eps_permanent,
            rec.recall,
            rec.recall_top20,
            format!("{}/{}", rec.runs_with_top20_detected, rec.reps),
            format!(
                "{:.1}±{:.1}",
                rec.runs_with_top20_expected, rec.runs_with_top20_sd
            ),
            rec.top20_error_z,
            rec.precision,
            format!("{}/{}", rec.runs_with_false_detection, rec.reps),
            rec.detected_within_5se,
            rec.rmse_detected,
            rec.explained_share,
            rec.client_ns_per_report,
            rec.fold_ns_per_report,
            rec.decode_ms
        );
    }
    if let Some(last) = records.last() {
        println!();
        println!("last repetition, ε₁ = {:.3}: per value", last.eps_one);
        println!(
            "{:<24} {:>10} {:>12} {:>10} {:>8} {:>9}",
            "value", "truth", "estimate", "std err", "z err", "detected"
        );
        let shown = last
            .values
            .iter()
            .filter(|v| v.truth > 0)
            .take(r.show)
            .chain(last.values.iter().filter(|v| v.truth == 0 && v.detected));
        for v in shown {
            let z = if v.std_error > 0.0 && v.std_error.is_finite() {
                (v.estimate - v.truth as f64) / v.std_error
            } else {
                0.0
            };
            println!(
                "{:<24} {:>10} {:>12.1} {:>10.1} {:>8.2} {:>9}",
                v.value,
                v.truth,
                v.estimate,
                v.std_error,
                z,
                if v.detected { "yes" } else { "no" }
            );
        }
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&records)?)?;
    }
    if args.csv.is_some() {
        return Err("--csv is not available for rappor runs; use --json".into());
    }
    Ok(())
}

fn run_sketch(args: &RunArgs, hadamard: bool) -> Result<(), BoxError> {
    let p = &args.population;
    let r = &args.rappor;
    let s = &args.sketch;
    let name = if hadamard { "hcms" } else { "cms" };
    let (population, labels) = Population::parse(&p.dist, p.k, p.n)?;
    let bar = progress_bar(args.eps.len() as u64 * u64::from(args.reps), p.quiet);
    let mut records = Vec::new();
    for &eps in &args.eps {
        bar.set_message(format!("{name} ε={eps}"));
        let settings = crate::sketch::SketchRun {
            hadamard,
            hashes: s.sketch_hashes,
            width: s.sketch_width,
            eps,
            absent: r.absent,
            alpha: r.alpha,
            reps: args.reps,
            seed: p.seed,
        };
        let (record, _) = crate::sketch::run(&population, &labels, &settings, &|| bar.inc(1))?;
        records.push(record);
    }
    bar.finish_and_clear();
    println!(
        "{name}: {} devices, {} values ({}), {} absent candidates, d = {}, m = {}, α = {}, {} repetitions (a hash family each), seed {}, simulation RNG {}",
        population.n(),
        population.k(),
        p.dist,
        r.absent,
        s.sketch_hashes,
        s.sketch_width,
        r.alpha,
        args.reps,
        p.seed,
        run::SIMULATION_RNG
    );
    println!(
        "{:>5} {:>13} {:>13} {:>7} {:>17} {:>7} {:>7} {:>10} {:>10} {:>9} {:>10}",
        "ε",
        "MSE",
        "theory",
        "ratio",
        "ratio 99% CI",
        "recall",
        "top-20",
        "false runs",
        "client ns",
        "fold ns",
        "decode ms"
    );
    for rec in &records {
        println!(
            "{:>5} {:>13.1} {:>13.1} {:>7.3} {:>17} {:>7.3} {:>7.3} {:>10} {:>10.1} {:>9.1} {:>10.1}",
            rec.eps,
            rec.mse,
            rec.mse_theory,
            rec.mse_ratio,
            format!(
                "[{:.3}, {:.3}]",
                rec.mse_ratio_ci99[0], rec.mse_ratio_ci99[1]
            ),
            rec.recall,
            rec.recall_top20,
            format!("{}/{}", rec.runs_with_false_detection, rec.reps),
            rec.client_ns_per_report,
            rec.fold_ns_per_report,
            rec.decode_ms
        );
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&records)?)?;
    }
    if args.csv.is_some() {
        return Err(format!("--csv is not available for {name} runs; use --json").into());
    }
    Ok(())
}

fn run_numeric(args: &RunArgs, mechanisms: &[Mechanism]) -> Result<(), BoxError> {
    let p = &args.population;
    let (population, _labels) = Population::parse(&p.dist, p.k, p.n)?;
    let bar = progress_bar(
        (mechanisms.len() * args.eps.len()) as u64 * u64::from(args.reps),
        p.quiet,
    );
    let mut records = Vec::new();
    for mechanism in mechanisms {
        for &eps in &args.eps {
            bar.set_message(format!("{} ε={eps}", mechanism.kind().name()));
            let (record, _) =
                crate::numeric::run(&population, mechanism, eps, args.reps, p.seed, &|| {
                    bar.inc(1)
                })?;
            records.push(record);
        }
    }
    bar.finish_and_clear();
    let (lo, hi, true_mean) = records
        .first()
        .map_or((0.0, 0.0, 0.0), |r| (r.lo, r.hi, r.true_mean));
    println!(
        "numeric means: {} devices, value i of {} ({}) reported as the number i, range [{lo}, {hi}], true mean {true_mean:.4}, {} repetitions, seed {}, simulation RNG {}",
        population.n(),
        population.k(),
        p.dist,
        args.reps,
        p.seed,
        run::SIMULATION_RNG
    );
    println!(
        "{:<9} {:>5} {:>11} {:>11} {:>11} {:>7} {:>17} {:>9} {:>9} {:>9} {:>10}",
        "mech",
        "ε",
        "mean err",
        "MSE",
        "theory",
        "ratio",
        "ratio 99% CI",
        "mean se",
        "√theory",
        "in 95% CI",
        "client ns"
    );
    for r in &records {
        println!(
            "{:<9} {:>5} {:>11.5} {:>11.3e} {:>11.3e} {:>7.3} {:>17} {:>9.5} {:>9.5} {:>9} {:>10.1}",
            r.mechanism,
            r.eps,
            r.mean_error,
            r.mse,
            r.mse_theory,
            r.mse_ratio,
            format!("[{:.3}, {:.3}]", r.mse_ratio_ci99[0], r.mse_ratio_ci99[1]),
            r.mean_std_error,
            r.mse_theory.sqrt(),
            format!("{}/{}", r.runs_covered, r.reps),
            r.client_ns_per_report
        );
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&records)?)?;
    }
    if args.csv.is_some() {
        return Err("--csv is not available for numeric runs; use --json".into());
    }
    Ok(())
}

fn run_grid(args: GridArgs) -> Result<(), BoxError> {
    let mechanisms = mechanisms(&args.mechanism)?;
    let top_mechanism = self::mechanisms(&args.top_mechanism)?
        .into_iter()
        .next()
        .ok_or("--top-mechanism names no mechanism")?;
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let points = (args.k.len() * args.n.len() * mechanisms.len() * args.eps.len()) as u64;
    let bar = progress_bar(points * u64::from(args.reps), args.quiet);
    let mut all = Vec::new();
    let mut written = Vec::new();
    for &k in &args.k {
        for &n in &args.n {
            let (population, labels) = Population::parse(&args.dist, k, n)?;
            let mut series = Vec::new();
            for mechanism in &mechanisms {
                let name = mechanism.kind().name();
                let (lo, hi) = args
                    .eps
                    .iter()
                    .fold((f64::MAX, f64::MIN), |(lo, hi), &e| (lo.min(e), hi.max(e)));
                let theory = (0..=60)
                    .map(|i| lo * (hi / lo).powf(f64::from(i) / 60.0))
                    .map(|e| run::theory_mse(&population, mechanism, e).map(|m| (e, m)))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut measured = Vec::new();
                for &eps in &args.eps {
                    bar.set_message(format!("k={} n={n} {name} ε={eps}", population.k()));
                    let (record, _) =
                        run::run(&population, mechanism, eps, args.reps, args.seed, &|| {
                            bar.inc(1)
                        })?;
                    measured.push(record);
                }
                all.extend(measured.iter().cloned());
                series.push(crate::plot::MseSeries {
                    mechanism: name.to_owned(),
                    theory,
                    measured,
                });
            }
            let stem = args
                .out
                .join(format!("mse_vs_eps_k{}_n{n}", population.k()));
            crate::plot::mse_vs_eps(
                &stem,
                &format!(
                    "MSE of a count vs ε — {}, k = {}, n = {n}, {} reps",
                    args.dist,
                    population.k(),
                    args.reps
                ),
                &series,
            )?;
            written.push(stem);
            let (_, estimates) = run::run(
                &population,
                &top_mechanism,
                args.top_eps,
                1,
                args.seed,
                &|| {},
            )?;
            let stem = args.out.join(format!(
                "top20_{}_eps{}_k{}_n{n}",
                top_mechanism.kind().name(),
                args.top_eps,
                population.k()
            ));
            crate::plot::top_values(
                &stem,
                &format!(
                    "Top 20: true counts and {} estimates (ε = {}, n = {n})",
                    top_mechanism.kind().name(),
                    args.top_eps
                ),
                population.counts(),
                &labels,
                &estimates,
                20,
            )?;
            written.push(stem);
        }
    }
    bar.finish_and_clear();
    std::fs::write(args.out.join("grid.json"), serde_json::to_vec_pretty(&all)?)?;
    for stem in written {
        println!("wrote {}.svg and .png", stem.display());
    }
    println!("wrote {}", args.out.join("grid.json").display());
    Ok(())
}

fn run_advise(args: AdviseArgs) -> Result<(), BoxError> {
    let ranked = ldp_protocol::advisor::rank(args.k, args.n, args.eps, args.max_report_bytes)?;
    println!(
        "k = {}, n = {}, ε = {}{}",
        args.k,
        args.n,
        args.eps,
        args.max_report_bytes
            .map(|b| format!(", reports ≤ {b} bytes"))
            .unwrap_or_default()
    );
    println!(
        "{:<4} {:<5} {:>14} {:>13}  server cost",
        "rank", "mech", "± per count", "report bytes"
    );
    for (i, a) in ranked.iter().enumerate() {
        println!(
            "{:<4} {:<5} {:>14.1} {:>13}  {}{}",
            i + 1,
            a.kind().name(),
            a.std_error,
            a.report_bytes,
            a.server_cost,
            if a.fits { "" } else { "  (too large)" }
        );
    }
    let (_, reason) = ldp_protocol::advisor::recommend(&ranked, args.k, args.eps)
        .ok_or("no mechanism accepts these parameters")?;
    println!("recommendation: {reason}");
    if args.verify {
        let population = Population::zipf(args.k, 1.1, args.n);
        println!("verifying by simulation (Zipf(1.1) population, 5 repetitions):");
        println!(
            "{:<5} {:>14} {:>14} {:>7}",
            "mech", "predicted ±", "measured ±", "ratio"
        );
        for a in &ranked {
            let (record, _) = run::run(&population, &a.mechanism, args.eps, 5, args.seed, &|| {})?;
            // The prediction is for a count of n/k; the measurement is the RMS over values.
            println!(
                "{:<5} {:>14.1} {:>14.1} {:>7.3}",
                a.kind().name(),
                record.mse_theory.sqrt(),
                record.mse.sqrt(),
                (record.mse / record.mse_theory).sqrt()
            );
        }
    }
    Ok(())
}

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

fn run_bench(args: BenchArgs) -> Result<(), BoxError> {
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
    println!(
        "{:<5} {:>10} {:>10} {:>12} {:>16} {:>16}",
        "mech", "encode ns", "fold ns", "estimate ms", "reports/s 1 core", "reports/s all"
    );
    let mut records = Vec::new();
    for mechanism in mechanisms(&args.mechanism)? {
        let config = CampaignConfig::range("bench", mechanism.clone(), args.eps, args.k)?;
        let started = std::time::Instant::now();
        let (counters, encode_ns, fold_ns) =
            one.install(|| run::simulate_once(&config, &values, 1, 0))?;
        let single = started.elapsed().as_secs_f64();
        let started = std::time::Instant::now();
        let _ = std::hint::black_box(counters.estimate());
        let estimate = started.elapsed().as_secs_f64();
        let started = std::time::Instant::now();
        let _ = run::simulate_once(&config, &values, 1, 1)?;
        let all = started.elapsed().as_secs_f64();
        let n = args.n as f64;
        let record = BenchRecord {
            mechanism: mechanism.kind().name().to_owned(),
            k: args.k,
            eps: args.eps,
            n: args.n,
            encode_ns_per_report: encode_ns as f64 / n,
            fold_ns_per_report: fold_ns as f64 / n,
            estimate_ms: estimate * 1e3,
            reports_per_s_one_core: n / (single + estimate),
            reports_per_s_all_cores: n / (all + estimate),
            threads,
            rng: run::SIMULATION_RNG.to_owned(),
        };
        println!(
            "{:<5} {:>10.1} {:>10.1} {:>12.3} {:>16.0} {:>16.0}",
            record.mechanism,
            record.encode_ns_per_report,
            record.fold_ns_per_report,
            record.estimate_ms,
            record.reports_per_s_one_core,
            record.reports_per_s_all_cores
        );
        records.push(record);
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&records)?)?;
    }
    Ok(())
}

fn run_load(args: LoadArgs) -> Result<(), BoxError> {
    let first = args.urls.first().ok_or("give at least one --url")?.clone();
    let uploader = ldp_client::upload::Uploader::with_policy(
        &first,
        ldp_client::upload::RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
        },
    );
    let config = match uploader.fetch_campaign(&args.campaign) {
        Ok(config) => config,
        Err(ldp_client::upload::UploadError::Rejected { status: 404, .. }) => {
            let token = args
                .admin_token
                .as_deref()
                .ok_or("the campaign does not exist; pass --admin-token to create it")?;
            let kind = MechanismKind::EVERY
                .into_iter()
                .find(|k| k.name() == args.mechanism)
                .ok_or_else(|| format!("unknown mechanism {:?}", args.mechanism))?;
            if kind == MechanismKind::Rappor || kind.is_numeric() {
                return Err(format!(
                    "load creates campaigns over 0..k: a frequency oracle, cms or hcms, not {}",
                    kind.name()
                )
                .into());
            }
            let mut spec = CampaignSpec::new(
                &args.campaign,
                Mechanism::with_defaults(kind),
                args.eps,
                Domain::Range { k: args.k },
            );
            spec.description = "load test".into();
            let config = CampaignConfig::new(spec)?;
            crate::demo::create_campaign(&first, token, &config)?;
            uploader.fetch_campaign(&args.campaign)?
        }
        Err(e) => return Err(e.into()),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let plan = LoadPlan {
        urls: args.urls.clone(),
        epoch: now / config.epoch_seconds(),
        config,
        batch_reports: args.batch_size,
        concurrency: args.concurrency,
        duration: Duration::from_secs_f64(args.duration),
        rate: args.rate,
        seed: 1,
        devices: args.n,
    };
    let how_long = match plan.devices {
        Some(n) => format!("{n} fresh reports, once each"),
        None => format!("for {:.0} s", args.duration),
    };
    eprintln!(
        "sending batches of {} {} reports (k = {}) to {} with {} connections, {how_long}{}",
        plan.batch_reports,
        plan.config.params().kind().name(),
        plan.config.k(),
        plan.urls.join(", "),
        plan.concurrency,
        plan.rate
            .map(|r| format!(" at {r:.0} reports/s"))
            .unwrap_or_default()
    );
    let report = load::run(&plan, &|elapsed, reports| {
        eprintln!(
            "  {:>5.1} s  {:>12} reports acknowledged  ({:.0}/s)",
            elapsed.as_secs_f64(),
            reports,
            reports as f64 / elapsed.as_secs_f64().max(1e-9)
        );
    })?;
    println!(
        "{:>14} {:>14} {:>14} {:>12} {:>9} {:>9} {:>9}",
        "sent reports", "acknowledged", "failed", "reports/s", "p50 ms", "p99 ms", "max ms"
    );
    println!(
        "{:>14} {:>14} {:>14} {:>12.0} {:>9.1} {:>9.1} {:>9.1}",
        report.sent_reports,
        report.acked_reports,
        report.failed_reports,
        report.reports_per_s,
        report.p50_ms,
        report.p99_ms,
        report.max_ms
    );
    if let Some(e) = &report.first_error {
        eprintln!("first error: {e}");
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(())
}

fn run_demo(args: DemoArgs) -> Result<(), BoxError> {
    let plan = crate::demo::DemoPlan {
        url: args.url.trim_end_matches('/').to_owned(),
        admin_token: args.token,
        campaign: args.campaign,
        epoch_seconds: args.epoch_seconds,
        baseline_epochs: args.baseline_epochs,
        reports_per_epoch: args.reports_per_epoch,
        epsilon: args.eps,
        ..crate::demo::DemoPlan::default()
    };
    let quiet = args.quiet;
    let progress = |line: &str| {
        if !quiet {
            eprintln!("{line}");
        }
    };
    let summary = crate::demo::run(&plan, &progress)?;
    println!(
        "{} reports sent to {}; {} rose in epoch {}.",
        summary.reports, summary.campaign, summary.planted, summary.planted_epoch
    );
    println!(
        "Open {}/dashboard/campaigns/{} and sign in with an analyst token \
         (ldp-aggregator token create --role analyst).",
        plan.url, summary.campaign
    );
    Ok(())
}
