//! Integration tests of ldp-client: one binary, one module per concern.

mod distribution;
mod memo;
mod rappor;
mod reuse;
mod vectors;
