//! The `ldp-aggregator` binary, built inside the test package (see `Cargo.toml`).

#[global_allocator]
static ALLOCATOR: ldp_aggregator::cli::Allocator = ldp_aggregator::cli::Allocator;

fn main() -> std::process::ExitCode {
    ldp_aggregator::cli::main()
}
