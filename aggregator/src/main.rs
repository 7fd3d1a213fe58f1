//! The `ldp-aggregator` binary; everything lives in [`ldp_aggregator::cli`].

fn main() -> std::process::ExitCode {
    ldp_aggregator::cli::main()
}
