//! `ldp-sim run --mechanism rappor`: detection and per-value errors.

use ldp_protocol::mechanism::RapporSpec;

use super::args::RunArgs;
use super::table::{Table, left, right};
use super::{BoxError, progress_bar};
use crate::population::Population;
use crate::rappor::{RapporRecord, RapporRun};
use crate::run::SIMULATION_RNG;

/// Runs RAPPOR at every ε of `args`.
pub(super) fn run(args: &RunArgs) -> Result<(), BoxError> {
    let p = &args.population;
    let r = &args.rappor;
    let (population, labels) = Population::parse(&p.dist, p.k, p.n)?;
    let spec = RapporSpec {
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
        SIMULATION_RNG
    );
    for eps in args.eps.iter().map(|e| e.get()) {
        bar.set_message(format!("rappor ε₁ ≤ {eps}"));
        let settings = RapporRun {
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
    print_summary(&records);
    if let Some(last) = records.last() {
        println!();
        println!("last repetition, ε₁ = {:.3}: per value", last.eps_one);
        print_per_value(last, r.show);
    }
    args.output.write(&records)
}

/// One row per ε.
fn print_summary(records: &[RapporRecord]) {
    let table = Table::new(&[
        right("ε₁", 6),
        right("ε∞", 6),
        right("recall", 7),
        right("top-20", 9),
        right("all 20 runs", 11),
        right("(expected)", 11),
        right("top-20 z", 9),
        right("precision", 9),
        right("false runs", 10),
        right("within 5se", 11),
        right("RMSE det.", 11),
        right("explained", 10),
        right("client ns", 10),
        right("fold ns", 9),
        right("decode ms", 10),
    ]);
    table.print_header();
    for rec in records {
        table.print_row(&[
            format!("{:.3}", rec.eps_one),
            format!("{:.3}", rec.eps_permanent),
            format!("{:.3}", rec.recall),
            format!("{:.3}", rec.recall_top20),
            format!("{}/{}", rec.runs_with_top20_detected, rec.reps),
            format!(
                "{:.1}±{:.1}",
                rec.runs_with_top20_expected, rec.runs_with_top20_sd
            ),
            format!("{:.2}", rec.top20_error_z),
            format!("{:.3}", rec.precision),
            format!("{}/{}", rec.runs_with_false_detection, rec.reps),
            format!("{:.3}", rec.detected_within_5se),
            format!("{:.1}", rec.rmse_detected),
            format!("{:.3}", rec.explained_share),
            format!("{:.1}", rec.client_ns_per_report),
            format!("{:.1}", rec.fold_ns_per_report),
            format!("{:.1}", rec.decode_ms),
        ]);
    }
}

/// The `show` most frequent values of the last repetition, then the absent candidates it
/// detected.
fn print_per_value(record: &RapporRecord, show: usize) {
    let table = Table::new(&[
        left("value", 24),
        right("truth", 10),
        right("estimate", 12),
        right("std err", 10),
        right("z err", 8),
        right("detected", 9),
    ]);
    table.print_header();
    let shown = record
        .values
        .iter()
        .filter(|v| v.truth > 0)
        .take(show)
        .chain(record.values.iter().filter(|v| v.truth == 0 && v.detected));
    for v in shown {
        let z = if v.std_error > 0.0 && v.std_error.is_finite() {
            (v.estimate - v.truth as f64) / v.std_error
        } else {
            0.0
        };
        table.print_row(&[
            v.value.clone(),
            v.truth.to_string(),
            format!("{:.1}", v.estimate),
            format!("{:.1}", v.std_error),
            format!("{z:.2}"),
            (if v.detected { "yes" } else { "no" }).to_owned(),
        ]);
    }
}
