//! # ldp-aggregator
//!
//! The collector half of **ldp-telemetry**: folds randomized reports into mergeable counters
//! and debiases them into unbiased estimates with standard errors and 95% intervals.
//!
//! What it is: a library usable without any network code — the simulator folds millions of
//! reports in-process through exactly the code the service uses. What it is not: an encoder
//! (see `ldp-client`); the HTTP service and storage come behind the default `server` feature.
//!
//! ```
//! use ldp_aggregator::{Accumulator, Counters};
//! use ldp_client::Encoder;
//! use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism};
//! use rand_chacha::ChaCha20Rng;
//! use rand_core::SeedableRng;
//!
//! let config = CampaignConfig::new(CampaignSpec::new("demo", Mechanism::Oue, 2.0, Domain::Range { k: 8 }))?;
//! // A seeded RNG keeps the example reproducible; apps use `Encoder::new`.
//! let mut encoder = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([1; 32]));
//! let mut counters = Counters::new(&config);
//! for i in 0..20_000u32 {
//!     let value = if i % 4 == 0 { 3 } else { i % 8 };
//!     counters.fold(&encoder.encode_index(value)?)?;
//! }
//! let estimates = counters.estimate()?;
//! assert_eq!(estimates.n, 20_000);
//! let three = estimates.values[3];
//! // True count of 3: 5,000 + 15,000/7·(1 of 7 non-multiples of 4 map to 3) ≈ 7,500.
//! assert!(three.ci95_low < 7_500.0 + 6.0 * three.std_error);
//! assert!(estimates.top(1)[0].index == 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod alpha;
pub mod error;
pub mod estimate;
pub mod ingest;
pub mod postprocess;
pub mod shuffle;
pub mod trending;

#[cfg(feature = "server")]
pub mod cli;
#[cfg(feature = "server")]
pub mod epoch_time;
#[cfg(feature = "server")]
pub mod query;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod store;

pub use alpha::Alpha;
pub use error::AggregateError;
pub use estimate::{
    Accumulator, CellDelta, CounterSnapshot, Counters, Estimates, Family, FamilyCounters,
    ValueEstimate, Z_95,
};
