//! `ldp-sim demo`: fills a demo campaign on a running aggregator.

use super::BoxError;
use super::args::DemoArgs;
use crate::demo::{self, DemoPlan};

/// Runs the demo and says where to look.
pub(super) fn run(args: DemoArgs) -> Result<(), BoxError> {
    let plan = DemoPlan {
        url: args.url.trim_end_matches('/').to_owned(),
        admin_token: args.token,
        campaign: args.campaign,
        epoch_seconds: args.epoch_seconds,
        baseline_epochs: args.baseline_epochs,
        reports_per_epoch: args.reports_per_epoch,
        epsilon: args.eps.get(),
        ..DemoPlan::default()
    };
    let quiet = args.quiet;
    let progress = |line: &str| {
        if !quiet {
            eprintln!("{line}");
        }
    };
    let summary = demo::run(&plan, &progress)?;
    println!(
        "{} reports sent to {}; {} rose in epoch {}.",
        summary.reports, summary.campaign, summary.planted, summary.planted_epoch
    );
    println!(
        "Open {}/dashboard/campaigns/{} and sign in with an analyst token \
         (ldp-aggregator token create --role analyst).",
        plan.url, summary.campaign
    );
    args.output.write_json(&summary)?;
    args.output.write_csv(std::slice::from_ref(&summary))
}
