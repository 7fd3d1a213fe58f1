//! Integration tests of ldp-aggregator: one binary, one module per concern.

mod intervals;
mod numeric;
mod plausibility;
mod rappor;
mod sketch;
mod trending;
mod vectors;
