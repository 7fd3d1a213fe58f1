//! Integration tests of ldp-protocol: one binary, one module per concern.

mod config;
mod epsilon;
mod robustness;
mod roundtrip;
mod variance;
mod vectors;
mod wire_format_doc;
