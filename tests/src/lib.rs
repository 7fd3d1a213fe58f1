//! # ldp-tests
//!
//! End-to-end tests across the ldp-telemetry crates; the tests live in `tests/`.
