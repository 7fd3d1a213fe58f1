//! `ldp-sim run --mechanism numeric` (or duchi, piecewise, hybrid, dbitflip): the error of the
//! mean.

use ldp_protocol::Mechanism;

use super::args::RunArgs;
use super::table::{Table, interval, left, right};
use super::{BoxError, progress_bar};
use crate::population::Population;
use crate::run::SIMULATION_RNG;

/// Runs the numeric `mechanisms` at every ε of `args`.
pub(super) fn run(args: &RunArgs, mechanisms: &[Mechanism]) -> Result<(), BoxError> {
    let p = &args.population;
    let (population, _labels) = Population::parse(&p.dist, p.k, p.n)?;
    let bar = progress_bar(
        (mechanisms.len() * args.eps.len()) as u64 * u64::from(args.reps),
        p.quiet,
    );
    let mut records = Vec::new();
    for mechanism in mechanisms {
        for eps in args.eps.iter().map(|e| e.get()) {
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
        SIMULATION_RNG
    );
    let table = Table::new(&[
        left("mech", 9),
        right("ε", 5),
        right("mean err", 11),
        right("MSE", 11),
        right("theory", 11),
        right("ratio", 7),
        right("ratio 99% CI", 17),
        right("mean se", 9),
        right("√theory", 9),
        right("in 95% CI", 9),
        right("client ns", 10),
    ]);
    table.print_header();
    for r in &records {
        table.print_row(&[
            r.mechanism.clone(),
            r.eps.to_string(),
            format!("{:.5}", r.mean_error),
            format!("{:.3e}", r.mse),
            format!("{:.3e}", r.mse_theory),
            format!("{:.3}", r.mse_ratio),
            interval(r.mse_ratio_ci99),
            format!("{:.5}", r.mean_std_error),
            format!("{:.5}", r.mse_theory.sqrt()),
            format!("{}/{}", r.runs_covered, r.reps),
            format!("{:.1}", r.client_ns_per_report),
        ]);
    }
    args.output.write(&records)
}
