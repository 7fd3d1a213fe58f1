//! A request from the network: through the service's whole router, in process.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ldp_tests::fuzz::http(data));
