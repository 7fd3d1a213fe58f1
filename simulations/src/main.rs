//! The `ldp-sim` binary; everything lives in [`ldp_sim::cli`].

fn main() -> std::process::ExitCode {
    ldp_sim::cli::main()
}
