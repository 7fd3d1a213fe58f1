//! Integration tests of ldp-client: one binary, one module per concern.

mod distribution;
mod rappor;
mod reuse;
mod vectors;
