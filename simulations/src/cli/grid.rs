//! `ldp-sim grid`: MSE against ε (and n, k) with theory curves, plus a top-20 chart.

use std::path::PathBuf;

use indicatif::ProgressBar;
use ldp_protocol::Mechanism;

use super::args::GridArgs;
use super::{BoxError, progress_bar};
use crate::plot::{self, MseSeries};
use crate::population::Population;
use crate::registry::{self, Simulation};
use crate::run::{self, RunRecord};

/// Runs the grid and writes its plots and `grid.json` under `--out`.
pub(super) fn run(args: &GridArgs) -> Result<(), BoxError> {
    let mechanisms: Vec<Mechanism> = args
        .mechanism
        .frequency_oracles()?
        .iter()
        .map(|&kind| Mechanism::with_defaults(kind))
        .collect();
    if registry::simulation(args.top_mechanism) != Some(Simulation::FrequencyOracle) {
        return Err(format!(
            "--top-mechanism {} is not a frequency oracle",
            args.top_mechanism
        )
        .into());
    }
    let top_mechanism = Mechanism::with_defaults(args.top_mechanism);
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let points = (args.k.len() * args.n.len() * mechanisms.len() * args.eps.len()) as u64;
    let bar = progress_bar(points * u64::from(args.reps), args.quiet);
    let mut all = Vec::new();
    let mut written = Vec::new();
    for &k in &args.k {
        for &n in &args.n {
            let (records, stems) = point(args, k, n, &mechanisms, &top_mechanism, &bar)?;
            all.extend(records);
            written.extend(stems);
        }
    }
    bar.finish_and_clear();
    std::fs::write(args.out.join("grid.json"), serde_json::to_vec_pretty(&all)?)?;
    for stem in written {
        println!("wrote {}.svg and .png", stem.display());
    }
    println!("wrote {}", args.out.join("grid.json").display());
    args.output.write(&all)
}

/// One (k, n) of the grid: every mechanism at every ε, the MSE plot and the top-20 chart.
/// Returns the records and the plots' file stems.
fn point(
    args: &GridArgs,
    k: u32,
    n: u64,
    mechanisms: &[Mechanism],
    top_mechanism: &Mechanism,
    bar: &ProgressBar,
) -> Result<(Vec<RunRecord>, Vec<PathBuf>), BoxError> {
    let (population, labels) = Population::parse(&args.dist, k, n)?;
    let mut all = Vec::new();
    let mut series = Vec::new();
    for mechanism in mechanisms {
        let one = mechanism_series(args, &population, mechanism, bar)?;
        all.extend(one.measured.iter().cloned());
        series.push(one);
    }
    let mse_stem = args
        .out
        .join(format!("mse_vs_eps_k{}_n{n}", population.k()));
    plot::mse_vs_eps(
        &mse_stem,
        &format!(
            "MSE of a count vs ε — {}, k = {}, n = {n}, {} reps",
            args.dist,
            population.k(),
            args.reps
        ),
        &series,
    )?;
    let (_, estimates) = run::run(
        &population,
        top_mechanism,
        args.top_eps.get(),
        1,
        args.seed,
        &|| {},
    )?;
    let top_stem = args.out.join(format!(
        "top20_{}_eps{}_k{}_n{n}",
        top_mechanism.kind().name(),
        args.top_eps,
        population.k()
    ));
    plot::top_values(
        &top_stem,
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
    Ok((all, vec![mse_stem, top_stem]))
}

/// One mechanism's theory curve (61 points over the ε range) and its measured records.
fn mechanism_series(
    args: &GridArgs,
    population: &Population,
    mechanism: &Mechanism,
    bar: &ProgressBar,
) -> Result<MseSeries, BoxError> {
    let name = mechanism.kind().name();
    let (lo, hi) = args.eps.iter().fold((f64::MAX, f64::MIN), |(lo, hi), e| {
        (lo.min(e.get()), hi.max(e.get()))
    });
    let theory = (0..=60)
        .map(|i| lo * (hi / lo).powf(f64::from(i) / 60.0))
        .map(|e| run::theory_mse(population, mechanism, e).map(|m| (e, m)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut measured = Vec::new();
    for eps in args.eps.iter().map(|e| e.get()) {
        bar.set_message(format!(
            "k={} n={} {name} ε={eps}",
            population.k(),
            population.n()
        ));
        let (record, _) = run::run(population, mechanism, eps, args.reps, args.seed, &|| {
            bar.inc(1)
        })?;
        measured.push(record);
    }
    Ok(MseSeries {
        mechanism: name.to_owned(),
        theory,
        measured,
    })
}
