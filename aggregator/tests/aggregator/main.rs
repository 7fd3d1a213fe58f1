//! Integration tests of ldp-aggregator: one binary, one module per concern.

mod intervals;
mod trending;
mod vectors;
