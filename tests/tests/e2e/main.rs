//! End-to-end tests across crates: one test binary, one module per concern.

mod browser;
mod dashboard;
mod faults;
mod multinode;
mod numeric;
mod pipeline;
mod policy;
mod rappor;
mod sdk;
mod service;
mod sketch;
mod statistics;
mod storage;
mod uploader;
