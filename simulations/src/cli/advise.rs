//! `ldp-sim advise`: the frequency oracles ranked for (k, n, ε), optionally verified by
//! simulation.

use ldp_protocol::advisor::{self, Advice};

use super::BoxError;
use super::args::AdviseArgs;
use super::table::{Table, left, right};
use crate::population::Population;
use crate::run;

/// One ranked mechanism (the JSON/CSV record).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
struct AdviceRecord {
    /// Rank, 1 = recommended.
    rank: usize,
    /// Mechanism name.
    mechanism: &'static str,
    /// Predicted standard error of a count of n/k.
    std_error: f64,
    /// Bytes per report.
    report_bytes: usize,
    /// Collector work, in words.
    server_cost: &'static str,
    /// Whether the report fits `--max-report-bytes`.
    fits: bool,
    /// With `--verify`: the root mean squared error measured over the values.
    measured_std_error: Option<f64>,
}

/// Ranks, recommends, and with `--verify` simulates each ranked mechanism.
pub(super) fn run(args: &AdviseArgs) -> Result<(), BoxError> {
    let chosen = args.mechanism.frequency_oracles()?;
    let mut ranked = advisor::rank(args.k, args.n, args.eps, args.max_report_bytes)?;
    ranked.retain(|a| chosen.contains(&a.kind()));
    println!(
        "k = {}, n = {}, ε = {}{}",
        args.k,
        args.n,
        args.eps,
        args.max_report_bytes
            .map(|b| format!(", reports ≤ {b} bytes"))
            .unwrap_or_default()
    );
    let mut records: Vec<AdviceRecord> = ranked.iter().enumerate().map(record).collect();
    let table = Table::new(&[
        left("rank", 4),
        left("mech", 5),
        right("± per count", 14),
        right("report bytes", 13),
        left("server cost", 0),
    ]);
    table.print_header();
    for a in &records {
        table.print_row(&[
            a.rank.to_string(),
            a.mechanism.to_owned(),
            format!("{:.1}", a.std_error),
            a.report_bytes.to_string(),
            format!(
                "{}{}",
                a.server_cost,
                if a.fits { "" } else { "  (too large)" }
            ),
        ]);
    }
    let (best, reason) = advisor::recommend(&ranked, args.k, args.eps)
        .ok_or("no mechanism accepts these parameters")?;
    println!("recommendation: {reason}");
    if let Some(warning) = advisor::resolution_warning(&best, args.k, args.n) {
        println!("warning: {warning}");
    }
    if args.verify {
        verify(args, &ranked, &mut records)?;
    }
    args.output.write(&records)
}

fn record((i, a): (usize, &Advice)) -> AdviceRecord {
    AdviceRecord {
        rank: i + 1,
        mechanism: a.kind().name(),
        std_error: a.std_error,
        report_bytes: a.report_bytes,
        server_cost: a.server_cost,
        fits: a.fits,
        measured_std_error: None,
    }
}

/// Simulates each ranked mechanism (Zipf(1.1), 5 repetitions) and prints predicted against
/// measured error; fills in the records' measured errors.
fn verify(
    args: &AdviseArgs,
    ranked: &[Advice],
    records: &mut [AdviceRecord],
) -> Result<(), BoxError> {
    let population = Population::zipf(args.k, 1.1, args.n);
    println!("verifying by simulation (Zipf(1.1) population, 5 repetitions):");
    let table = Table::new(&[
        left("mech", 5),
        right("predicted ±", 14),
        right("measured ±", 14),
        right("ratio", 7),
    ]);
    table.print_header();
    for (a, out) in ranked.iter().zip(records) {
        let (record, _) = run::run(
            &population,
            &a.mechanism,
            args.eps.get(),
            5,
            args.seed,
            &|| {},
        )?;
        // The prediction is for a count of n/k; the measurement is the RMS over values.
        out.measured_std_error = Some(record.mse.sqrt());
        table.print_row(&[
            a.kind().name().to_owned(),
            format!("{:.1}", record.mse_theory.sqrt()),
            format!("{:.1}", record.mse.sqrt()),
            format!("{:.3}", (record.mse / record.mse_theory).sqrt()),
        ]);
    }
    Ok(())
}
