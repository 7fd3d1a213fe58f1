//! `ldp-sim attack`: fake devices against each mechanism, the targets' measured frequency gain
//! beside its closed form ([`crate::attack`]).

use ldp_protocol::Mechanism;

use super::args::AttackArgs;
use super::table::{Table, left, right};
use super::{BoxError, progress_bar};
use crate::attack::{self, AttackPlan, GainRecord, Live};
use crate::plot;
use crate::population::Population;

/// Runs `attack`: every (mechanism, attack, β) point, a table row each.
pub(super) fn run(args: &AttackArgs) -> Result<(), BoxError> {
    let p = &args.population;
    let (population, labels) = Population::parse(&p.dist, p.k, p.n)?;
    let targets = least_frequent(population.counts(), args.targets)?;
    let eps = args.eps.get();
    let mechanisms: Vec<Mechanism> = args
        .mechanism
        .kinds()
        .iter()
        .map(|&kind| Mechanism::with_defaults(kind))
        .collect();
    let points = mechanisms.len() * args.attack.len() * args.beta.len();
    let bar = progress_bar(points as u64, p.quiet);
    let mut records = Vec::new();
    for mechanism in &mechanisms {
        for &attack in &args.attack {
            for &beta in &args.beta {
                bar.set_message(format!("{} {} β={beta}", mechanism.kind(), attack.name()));
                let plan = AttackPlan {
                    attack,
                    beta,
                    targets: targets.clone(),
                };
                let record = match (&args.url, &args.admin_token) {
                    (Some(url), Some(token)) => attack::attack_live(
                        &Live {
                            url,
                            admin_token: token,
                        },
                        &population,
                        mechanism,
                        eps,
                        &plan,
                        args.reps,
                        p.seed,
                    )?,
                    _ => attack::simulate_attack(
                        &population,
                        mechanism,
                        eps,
                        &plan,
                        args.reps,
                        p.seed,
                    )?,
                };
                records.push(record);
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();
    let names: Vec<&str> = targets
        .iter()
        .map(|&t| labels.get(t as usize).map_or("?", String::as_str))
        .collect();
    println!(
        "{} honest devices over k = {} ({}), ε = {eps}, targets {} (true frequency {:.5}), \
         {} repetitions, seed {}",
        population.n(),
        population.k(),
        p.dist,
        names.join(", "),
        records.first().map_or(0.0, |r| r.target_frequency),
        args.reps,
        p.seed,
    );
    print_table(&records);
    if let Some(stem) = &args.plot {
        plot::gain_vs_beta(stem, &records)?;
        println!("wrote {}.svg and {}.png", stem.display(), stem.display());
    }
    args.output.write(&records)
}

fn print_table(records: &[GainRecord]) {
    let table = Table::new(&[
        left("mech", 5),
        left("attack", 6),
        right("β", 7),
        right("fake", 8),
        right("gain", 9),
        right("expected", 9),
        right("± 1σ", 8),
        right("paper", 9),
        right("rank before → after", 20),
    ]);
    table.print_header();
    for r in records {
        table.print_row(&[
            r.mechanism.clone(),
            r.attack.name().to_owned(),
            format!("{:.4}", r.beta),
            r.fake.to_string(),
            format!("{:.4}", r.gain),
            format!("{:.4}", r.gain_expected),
            format!("{:.4}", r.gain_sigma),
            format!("{:.4}", r.gain_paper),
            format!("{} → {}", r.rank_before, r.rank_after),
        ]);
    }
    println!(
        "gain: the targets' summed estimated frequency after the attack minus before; \
         expected: at the campaign's exact parameters; paper: Cao, Jia, Gong 2021's closed form"
    );
}

/// The `r` values with the smallest true counts (the later value first among equals).
fn least_frequent(counts: &[u64], r: u32) -> Result<Vec<u32>, BoxError> {
    if r == 0 || r as usize >= counts.len() {
        return Err(format!(
            "--targets must be between 1 and k − 1 = {}",
            counts.len() - 1
        )
        .into());
    }
    let mut order: Vec<u32> = (0..counts.len() as u32).collect();
    order.sort_by(|&a, &b| counts[a as usize].cmp(&counts[b as usize]).then(b.cmp(&a)));
    order.truncate(r as usize);
    Ok(order)
}
