//! The `ldp-sim` command line: subcommands and their flags (parsing only; each subcommand
//! runs in its own module of [`crate::cli`]).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use ldp_aggregator::Alpha;
use ldp_protocol::{Epsilon, MechanismKind};

use super::mechanisms::{MechanismList, parse_kind};
use super::output::OutputArgs;

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
    /// Poison a population with fake devices (random-value, random-item and maximal-gain
    /// attacks) and measure the targets' frequency gain against its closed form.
    Attack(AttackArgs),
    /// Fill a demo campaign on a running aggregator: the real emoji list, a few short epochs,
    /// one planted rising emoji (about half a minute); then open its dashboard.
    Demo(DemoArgs),
}

/// `attack` flags.
#[derive(Debug, Args)]
pub struct AttackArgs {
    /// The honest devices.
    #[command(flatten)]
    pub population: PopulationArgs,
    /// Mechanisms attacked, comma-separated: grr, sue, oue, olh, blh.
    #[arg(long, default_value = "grr,oue,olh")]
    pub mechanism: MechanismList,
    /// Attacks, comma-separated: rva (random value), ria (random item), mga (maximal gain).
    #[arg(long, value_delimiter = ',', default_value = "mga")]
    pub attack: Vec<crate::attack::Attack>,
    /// Fake devices' shares of all devices, comma-separated, each in [0, 1).
    #[arg(long, value_delimiter = ',', default_value = "0.001,0.005,0.01,0.05")]
    pub beta: Vec<f64>,
    /// ε per report.
    #[arg(long, default_value = "1", value_parser = parse_epsilon)]
    pub eps: Epsilon,
    /// Number of targets: the values least frequent among the honest devices.
    #[arg(long, default_value_t = 1)]
    pub targets: u32,
    /// Repetitions per point (honest and fake devices drawn afresh).
    #[arg(long, default_value_t = 3)]
    pub reps: u32,
    /// Write a chart of gain against β per mechanism here (PATH.svg and PATH.png).
    #[arg(long, value_name = "PATH")]
    pub plot: Option<PathBuf>,
    /// Attack a running collector instead of the in-process one: a fresh campaign per point
    /// and repetition, honest and fake reports uploaded over HTTP, estimates read back.
    #[arg(long, requires = "admin_token")]
    pub url: Option<String>,
    /// An admin token of the collector at `--url` (creates the campaigns, reads estimates).
    #[arg(long, env = "LDP_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// Where to write the records (one per printed row).
    #[command(flatten)]
    pub output: OutputArgs,
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
    #[arg(long, default_value = "2", value_parser = parse_epsilon)]
    pub eps: Epsilon,
    /// No progress lines.
    #[arg(long)]
    pub quiet: bool,
    /// Where to write the summary (JSON: one object; CSV: one row).
    #[command(flatten)]
    pub output: OutputArgs,
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
    pub mechanism: MechanismList,
    /// RAPPOR settings.
    #[command(flatten)]
    pub rappor: RapporArgs,
    /// Count-mean sketch settings.
    #[command(flatten)]
    pub sketch: SketchArgs,
    /// ε values, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0.5,1,2,4", value_parser = parse_epsilon)]
    pub eps: Vec<Epsilon>,
    /// Repetitions per (mechanism, ε).
    #[arg(long, default_value_t = 10)]
    pub reps: u32,
    /// Frequency oracles only: the same devices report every round for this many rounds
    /// (memoized mechanisms such as loloha through the device encoder), printing each round's
    /// MSE against theory and the devices' lifetime ε (one repetition).
    #[arg(long)]
    pub rounds: Option<u32>,
    /// With --rounds: probability that a device's value changes between rounds.
    #[arg(long, default_value_t = 0.1)]
    pub change_rate: f64,
    /// With --rounds: draw lifetime ε and MSE against rounds to PATH.svg and PATH.png.
    #[arg(long, value_name = "PATH")]
    pub plot: Option<std::path::PathBuf>,
    /// Where to write the records.
    #[command(flatten)]
    pub output: OutputArgs,
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
    #[arg(long, default_value = "0.05", value_parser = parse_alpha)]
    pub alpha: Alpha,
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
    #[arg(long, value_delimiter = ',', default_value = "0.25,0.5,1,2,4,8", value_parser = parse_epsilon)]
    pub eps: Vec<Epsilon>,
    /// Frequency oracles: a comma-separated list, or `all`.
    #[arg(long, default_value = "all")]
    pub mechanism: MechanismList,
    /// Repetitions per point.
    #[arg(long, default_value_t = 5)]
    pub reps: u32,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory for the plots and grid.json.
    #[arg(long, default_value = "ldp-sim-plots")]
    pub out: PathBuf,
    /// Mechanism of the top-20 chart (a frequency oracle).
    #[arg(long, default_value = "olh", value_parser = parse_kind)]
    pub top_mechanism: MechanismKind,
    /// ε of the top-20 chart.
    #[arg(long, default_value = "2", value_parser = parse_epsilon)]
    pub top_eps: Epsilon,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Where to write the records too (besides `grid.json` in --out).
    #[command(flatten)]
    pub output: OutputArgs,
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
    #[arg(long, value_parser = parse_epsilon)]
    pub eps: Epsilon,
    /// Largest acceptable report, in bytes.
    #[arg(long)]
    pub max_report_bytes: Option<usize>,
    /// Confirm the predicted errors by simulation (Zipf(1.1) population, 5 repetitions).
    #[arg(long)]
    pub verify: bool,
    /// Seed for --verify.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Frequency oracles to rank: a comma-separated list, or `all`.
    #[arg(long, default_value = "all")]
    pub mechanism: MechanismList,
    /// Where to write the ranking (with the measured errors under --verify).
    #[command(flatten)]
    pub output: OutputArgs,
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
    #[arg(long, default_value = "1", value_parser = parse_epsilon)]
    pub eps: Epsilon,
    /// Frequency oracles: a comma-separated list, or `all`.
    #[arg(long, default_value = "all")]
    pub mechanism: MechanismList,
    /// Where to write the results.
    #[command(flatten)]
    pub output: OutputArgs,
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
    #[arg(long, default_value = "oue", value_parser = parse_kind)]
    pub mechanism: MechanismKind,
    /// Domain size of a created campaign.
    #[arg(long, default_value_t = 256)]
    pub k: u32,
    /// ε of a created campaign.
    #[arg(long, default_value = "1", value_parser = parse_epsilon)]
    pub eps: Epsilon,
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
    /// Where to write the result (JSON: one object; CSV: one row).
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Parses an ε flag: a number in (0, 20], refused where it enters.
pub fn parse_epsilon(text: &str) -> Result<Epsilon, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    Epsilon::new(value).map_err(|e| e.to_string())
}

/// Parses a significance level flag: a number in (0, 1), refused where it enters.
pub fn parse_alpha(text: &str) -> Result<Alpha, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    Alpha::new(value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsilon_and_alpha_flags_are_checked_where_they_enter() {
        assert_eq!(parse_epsilon("2").map(Epsilon::get), Ok(2.0));
        assert_eq!(parse_epsilon("20").map(Epsilon::get), Ok(20.0));
        for bad in ["0", "-1", "20.5", "inf", "NaN", "x", ""] {
            assert!(parse_epsilon(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_alpha("0.05"), Ok(Alpha::DEFAULT));
        for bad in ["0", "1", "-0.5", "NaN", "x"] {
            assert!(parse_alpha(bad).is_err(), "{bad}");
        }
    }
}
