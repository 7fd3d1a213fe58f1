//! `ldp-sim run`: the mechanisms' simulation chosen by the registry, and the frequency
//! oracles' table.

use ldp_protocol::Mechanism;

use super::args::RunArgs;
use super::table::{Table, interval, left, right};
use super::{BoxError, progress_bar};
use crate::population::Population;
use crate::registry::Simulation;
use crate::{longitudinal, plot, run};

/// Runs `run`: the list's mechanisms through their simulation.
pub(super) fn run(args: &RunArgs) -> Result<(), BoxError> {
    let mechanisms: Vec<Mechanism> = args
        .mechanism
        .kinds()
        .iter()
        .map(|&kind| Mechanism::with_defaults(kind))
        .collect();
    match args.mechanism.simulation()? {
        Simulation::FrequencyOracle if args.rounds.is_some() => rounds(args, &mechanisms),
        Simulation::FrequencyOracle => frequency_oracles(args, &mechanisms),
        Simulation::Rappor => super::rappor::run(args),
        Simulation::Sketch { hadamard } => super::sketch::run(args, hadamard),
        Simulation::Numeric => super::numeric::run(args, &mechanisms),
    }
}

/// Frequency oracles over rounds: each round's MSE and the devices' lifetime ε.
fn rounds(args: &RunArgs, mechanisms: &[Mechanism]) -> Result<(), BoxError> {
    let p = &args.population;
    let rounds = args.rounds.unwrap_or(1);
    let (population, _labels) = Population::parse(&p.dist, p.k, p.n)?;
    let bar = progress_bar(
        (mechanisms.len() * args.eps.len()) as u64 * u64::from(rounds),
        p.quiet,
    );
    let mut records = Vec::new();
    for mechanism in mechanisms {
        for eps in args.eps.iter().map(|e| e.get()) {
            bar.set_message(format!("{} ε={eps}", mechanism.kind().name()));
            records.extend(longitudinal::simulate(
                &population,
                mechanism,
                eps,
                rounds,
                args.change_rate,
                p.seed,
                &|| bar.inc(1),
            )?);
        }
    }
    bar.finish_and_clear();
    println!(
        "{} devices over k = {} ({}), {rounds} rounds, values change with probability {} per \
         round, seed {}",
        population.n(),
        population.k(),
        p.dist,
        args.change_rate,
        p.seed,
    );
    let table = Table::new(&[
        left("mech", 7),
        right("ε", 5),
        right("ε∞", 6),
        right("round", 6),
        right("MSE", 13),
        right("theory", 13),
        right("ratio", 7),
        right("lifetime ε mean", 16),
        right("max", 9),
    ]);
    table.print_header();
    // Rounds 1, 2, 5, 10, 20, 50, … and the last: the whole series is in --json/--csv.
    let shown = |round: u32| {
        round == rounds || {
            let mut mark = 1;
            while mark * 10 <= round {
                mark *= 10;
            }
            [mark, 2 * mark, 5 * mark].contains(&round)
        }
    };
    for r in records.iter().filter(|r| shown(r.round)) {
        table.print_row(&[
            r.mechanism.clone(),
            r.eps.to_string(),
            r.eps_permanent
                .map_or("—".to_owned(), |e| format!("{e:.2}")),
            r.round.to_string(),
            format!("{:.1}", r.mse),
            format!("{:.1}", r.mse_theory),
            format!("{:.3}", r.mse_ratio),
            format!("{:.2}", r.lifetime_eps_mean),
            format!("{:.2}", r.lifetime_eps_max),
        ]);
    }
    if let Some(stem) = &args.plot {
        plot::lifetime_vs_rounds(stem, &records)?;
        println!("wrote {}.svg and {}.png", stem.display(), stem.display());
    }
    args.output.write(&records)
}

/// Frequency oracles: every value's count against the variance formula.
fn frequency_oracles(args: &RunArgs, mechanisms: &[Mechanism]) -> Result<(), BoxError> {
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
    let table = Table::new(&[
        left("mech", 5),
        right("ε", 5),
        right("MSE", 13),
        right("theory", 13),
        right("ratio", 7),
        right("ratio 99% CI", 17),
        right("max |err|", 11),
        right("MSE norm-sub", 13),
        right("client ns", 10),
        right("agg ns", 10),
    ]);
    table.print_header();
    for r in &records {
        table.print_row(&[
            r.mechanism.clone(),
            r.eps.to_string(),
            format!("{:.1}", r.mse),
            format!("{:.1}", r.mse_theory),
            format!("{:.3}", r.mse_ratio),
            interval(r.mse_ratio_ci99),
            format!("{:.1}", r.max_abs_error),
            format!("{:.1}", r.mse_consistent),
            format!("{:.1}", r.client_ns_per_report),
            format!("{:.1}", r.aggregator_ns_per_report),
        ]);
    }
    args.output.write(&records)
}
