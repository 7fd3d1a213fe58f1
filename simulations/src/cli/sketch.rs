//! `ldp-sim run --mechanism cms` or `hcms`: count errors against theory and detection.

use super::args::RunArgs;
use super::table::{Table, interval, right};
use super::{BoxError, progress_bar};
use crate::population::Population;
use crate::run::SIMULATION_RNG;
use crate::sketch::SketchRun;

/// Runs CMS (HCMS when `hadamard`) at every ε of `args`.
pub(super) fn run(args: &RunArgs, hadamard: bool) -> Result<(), BoxError> {
    let p = &args.population;
    let r = &args.rappor;
    let s = &args.sketch;
    let name = if hadamard { "hcms" } else { "cms" };
    let (population, labels) = Population::parse(&p.dist, p.k, p.n)?;
    let bar = progress_bar(args.eps.len() as u64 * u64::from(args.reps), p.quiet);
    let mut records = Vec::new();
    for eps in args.eps.iter().map(|e| e.get()) {
        bar.set_message(format!("{name} ε={eps}"));
        let settings = SketchRun {
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
        SIMULATION_RNG
    );
    let table = Table::new(&[
        right("ε", 5),
        right("MSE", 13),
        right("theory", 13),
        right("ratio", 7),
        right("ratio 99% CI", 17),
        right("recall", 7),
        right("top-20", 7),
        right("false runs", 10),
        right("client ns", 10),
        right("fold ns", 9),
        right("decode ms", 10),
    ]);
    table.print_header();
    for rec in &records {
        table.print_row(&[
            rec.eps.to_string(),
            format!("{:.1}", rec.mse),
            format!("{:.1}", rec.mse_theory),
            format!("{:.3}", rec.mse_ratio),
            interval(rec.mse_ratio_ci99),
            format!("{:.3}", rec.recall),
            format!("{:.3}", rec.recall_top20),
            format!("{}/{}", rec.runs_with_false_detection, rec.reps),
            format!("{:.1}", rec.client_ns_per_report),
            format!("{:.1}", rec.fold_ns_per_report),
            format!("{:.1}", rec.decode_ms),
        ]);
    }
    args.output.write(&records)
}
