//! Integration tests of ldp-aggregator: one binary, one module per concern.

mod intervals;
mod rappor;
mod trending;
mod vectors;
