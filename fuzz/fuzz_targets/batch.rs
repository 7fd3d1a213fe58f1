//! A batch from the network: decoded, checked and folded under every campaign shape.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ldp_tests::fuzz::batch(data));
