//! The `ldp-aggregator` binary, built inside the test package (see `Cargo.toml`).

fn main() -> std::process::ExitCode {
    ldp_aggregator::cli::main()
}
