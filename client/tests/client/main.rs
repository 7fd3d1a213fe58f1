//! Integration tests of ldp-client: one binary, one module per concern.

mod distribution;
mod reuse;
mod vectors;
