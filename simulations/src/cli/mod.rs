//! The `ldp-sim` command line.
//!
//! [`args`] parses; each subcommand runs in its own module (`run` dispatches to the
//! frequency-oracle, `rappor`, `sketch` or `numeric` module by the
//! [registry](crate::registry)); every table prints through [`table`] and every `--json` and
//! `--csv` is written by [`output`]. Mechanism names parse once, in [`mechanisms`].

mod advise;
pub mod args;
mod attack;
mod bench;
mod demo;
mod grid;
mod load;
pub mod mechanisms;
mod numeric;
pub mod output;
mod rappor;
mod run;
mod sketch;
pub mod table;

use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command};

/// The error of a subcommand, printed as `error: …`.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Runs the command line; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Grid(args) => grid::run(&args),
        Command::Advise(args) => advise::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Load(args) => load::run(&args),
        Command::Attack(args) => attack::run(&args),
        Command::Demo(args) => demo::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A progress bar over `total` steps (hidden when `quiet`).
pub(crate) fn progress_bar(total: u64, quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg} (eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}
