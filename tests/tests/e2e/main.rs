//! End-to-end tests across crates: one test binary, one module per concern.

mod analyst;
mod browser;
mod contract;
mod dashboard;
mod dbitflip;
mod fairness;
mod faults;
mod fuzz_corpus;
mod health;
mod hostile;
mod lifecycle;
mod longitudinal;
mod multinode;
mod numeric;
mod pipeline;
mod poisoning;
mod policy;
mod postgres_tls;
mod rappor;
mod sdk;
mod service;
mod sketch;
mod statistics;
mod storage;
mod tokens;
mod uploader;
