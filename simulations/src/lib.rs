//! # ldp-sim
//!
//! Populations for simulations of **ldp-telemetry**: synthetic value distributions that the
//! real client encoders and aggregator counters run through. (The `ldp-sim` CLI with runs,
//! grids, plots and the mechanism advisor builds on this.)

pub mod attack;
pub mod cli;
pub mod demo;
pub mod load;
pub mod longitudinal;
pub mod numeric;
pub mod plot;
pub mod population;
pub mod rappor;
pub mod registry;
pub mod run;
pub mod sketch;
