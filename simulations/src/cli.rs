//! The `ldp-sim` command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, MechanismKind};

use crate::load::{self, LoadPlan};

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
    /// Send encoded batches to a running aggregator and measure throughput and latency.
    Load(LoadArgs),
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
    /// Mechanism of a created campaign.
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
    pub batch: usize,
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
    pub devices: Option<u64>,
    /// Write the result as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Runs the command line; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Load(args) => run_load(args),
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

fn run_load(args: LoadArgs) -> Result<(), BoxError> {
    let first = args.urls.first().ok_or("give at least one --url")?.clone();
    let uploader = ldp_client::upload::Uploader::new(&first);
    let config = match uploader.fetch_campaign(&args.campaign) {
        Ok(config) => config,
        Err(ldp_client::upload::UploadError::Rejected { status: 404, .. }) => {
            let token = args
                .admin_token
                .as_deref()
                .ok_or("the campaign does not exist; pass --admin-token to create it")?;
            let kind = MechanismKind::ALL
                .into_iter()
                .find(|k| k.name() == args.mechanism)
                .ok_or_else(|| format!("unknown mechanism {:?}", args.mechanism))?;
            let mut spec = CampaignSpec::new(
                &args.campaign,
                Mechanism::with_defaults(kind),
                args.eps,
                Domain::Range { k: args.k },
            );
            spec.description = "load test".into();
            let config = CampaignConfig::new(spec)?;
            let agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .new_agent();
            let mut response = agent
                .post(format!("{}/v1/campaigns", first.trim_end_matches('/')))
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .send(serde_json::to_vec(&config)?.as_slice())?;
            if !response.status().is_success() {
                return Err(format!(
                    "creating the campaign: {}",
                    response.body_mut().read_to_string().unwrap_or_default()
                )
                .into());
            }
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
        batch_reports: args.batch,
        concurrency: args.concurrency,
        duration: Duration::from_secs_f64(args.duration),
        rate: args.rate,
        seed: 1,
        devices: args.devices,
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
        "acknowledged {} reports in {} batches in {:.1} s: {:.0} reports/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} errors",
        report.reports,
        report.batches,
        report.seconds,
        report.reports_per_second,
        report.p50_ms,
        report.p99_ms,
        report.max_ms,
        report.errors
    );
    if let Some(e) = &report.first_error {
        eprintln!("first error: {e}");
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(())
}
