//! The `ldp-aggregator` binary; everything lives in [`ldp_aggregator::cli`].

#[global_allocator]
static ALLOCATOR: ldp_aggregator::cli::Allocator = ldp_aggregator::cli::Allocator;

fn main() -> std::process::ExitCode {
    ldp_aggregator::cli::main()
}
