//! A campaign configuration from an operator: parsed, validated, round-tripped.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ldp_tests::fuzz::campaign(data));
