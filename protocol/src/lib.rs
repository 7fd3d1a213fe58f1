//! # ldp-protocol
//!
//! The contract between the devices and the collector of **ldp-telemetry**: campaign
//! configuration, the report and batch wire format, and the shared estimator math.
//!
//! What it is: pure data types and arithmetic, `no_std` + `alloc`, no I/O, no clock, no
//! randomness. What it is not: an encoder (see `ldp-client`) or an estimator (see
//! `ldp-aggregator`); both call the math here, nothing re-derives it.
//!
//! ```
//! use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, wire};
//!
//! let spec = CampaignSpec::new("emoji", Mechanism::Oue, 1.0, Domain::Range { k: 64 });
//! let config = CampaignConfig::new(spec)?;
//! let pure = config.params().pure();
//! // OUE: p = 1/2, q = 1/(e^ε + 1), from the integer thresholds actually used.
//! assert!((pure.p - 0.5).abs() < 1e-9);
//! assert!((pure.q - 1.0 / (1f64.exp() + 1.0)).abs() < 1e-9);
//! // Effective ε never exceeds the configured ε.
//! assert!(config.params().epsilon_upper_bound() <= 1.0 + 1e-9);
//!
//! // The config travels as bytes and comes back validated.
//! let bytes = wire::encode(&config)?;
//! let back: CampaignConfig = wire::decode(&bytes)?;
//! assert_eq!(back.digest(), config.digest());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![no_std]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod advisor;
pub mod campaign;
pub mod error;
pub mod hash;
pub mod limits;
pub mod math;
pub mod mechanism;
pub mod plausibility;
pub mod privacy;
pub mod report;
pub mod wire;

pub use campaign::{CampaignConfig, CampaignId, CampaignSpec, Domain};
pub use error::{ConfigError, ReportError, WireError};
pub use math::{LikelihoodRatio, PureParams, Threshold};
pub use mechanism::{Mechanism, MechanismKind, MechanismParams};
pub use privacy::{Epsilon, LifetimeSpend};
pub use report::{
    Batch, BatchId, DBitFlipReport, FORMAT_VERSION, GrrReport, HadamardSketchReport,
    LocalHashReport, NumericReport, RapporReport, Report, SketchReport, SubsetReport, UnaryReport,
};
