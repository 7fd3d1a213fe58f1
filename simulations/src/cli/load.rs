//! `ldp-sim load`: batches to a running aggregator, throughput and latency.

use std::time::Duration;

use ldp_client::upload::{RetryPolicy, UploadError, Uploader};
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism};

use super::BoxError;
use super::args::LoadArgs;
use super::table::{Table, right};
use crate::load::{self, LoadPlan};
use crate::registry::{self, Simulation};

/// Fetches (or creates) the campaign, sends, and prints what was acknowledged.
pub(super) fn run(args: &LoadArgs) -> Result<(), BoxError> {
    let first = args.urls.first().ok_or("give at least one --url")?.clone();
    let uploader = Uploader::with_policy(
        &first,
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
        },
    );
    let config = fetch_or_create(args, &first, &uploader)?;
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
    let table = Table::new(&[
        right("sent reports", 14),
        right("acknowledged", 14),
        right("failed", 14),
        right("reports/s", 12),
        right("p50 ms", 9),
        right("p99 ms", 9),
        right("max ms", 9),
    ]);
    table.print_header();
    table.print_row(&[
        report.sent_reports.to_string(),
        report.acked_reports.to_string(),
        report.failed_reports.to_string(),
        format!("{:.0}", report.reports_per_s),
        format!("{:.1}", report.p50_ms),
        format!("{:.1}", report.p99_ms),
        format!("{:.1}", report.max_ms),
    ]);
    if let Some(e) = &report.first_error {
        eprintln!("first error: {e}");
    }
    args.output.write_json(&report)?;
    args.output.write_csv(std::slice::from_ref(&report))
}

/// The campaign of `--campaign`, created first when it is missing and `--admin-token` is given.
fn fetch_or_create(
    args: &LoadArgs,
    url: &str,
    uploader: &Uploader,
) -> Result<CampaignConfig, BoxError> {
    match uploader.fetch_campaign(&args.campaign) {
        Ok(config) => Ok(config),
        Err(UploadError::Rejected { status: 404, .. }) => {
            let token = args
                .admin_token
                .as_deref()
                .ok_or("the campaign does not exist; pass --admin-token to create it")?;
            crate::demo::create_campaign(url, token, &campaign(args)?)?;
            Ok(uploader.fetch_campaign(&args.campaign)?)
        }
        Err(e) => Err(e.into()),
    }
}

/// The campaign `load` creates when it is missing: `--mechanism` over `0..k` at `--eps`.
fn campaign(args: &LoadArgs) -> Result<CampaignConfig, BoxError> {
    let kind = args.mechanism;
    if !matches!(
        registry::simulation(kind),
        Some(Simulation::FrequencyOracle | Simulation::Sketch { .. })
    ) {
        return Err(format!(
            "load creates campaigns over 0..k: a frequency oracle, cms or hcms, not {}",
            kind.name()
        )
        .into());
    }
    let mut spec = CampaignSpec::new(
        &args.campaign,
        Mechanism::with_defaults(kind),
        args.eps.get(),
        Domain::Range { k: args.k },
    );
    spec.description = "load test".into();
    Ok(CampaignConfig::new(spec)?)
}
