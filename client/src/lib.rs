//! # ldp-client
//!
//! The on-device half of **ldp-telemetry**: turns a value into a randomized report under
//! ε-local differential privacy, so the collector never sees the truth.
//!
//! What it is: one [`Randomizer`] per mechanism family of `ldp-protocol` (module `encoder`,
//! one file per family) behind the [`Encoder`] an app uses, OS-seeded ChaCha20 randomness, a
//! privacy-budget accountant, and RAPPOR's memoized encoder with its device-secret store
//! (module `memo`). What it is not: an estimator.
//!
//! ## Features and dependencies
//!
//! - Without default features the crate is `no_std` + `alloc`.
//! - `std` (default) adds only conveniences; output for a given RNG and input never changes.
//! - `upload` (off by default) is the one exception to "no HTTP stack, no JSON library": it
//!   adds module `upload`, a blocking uploader, and with it `std`, `ureq` (HTTP over rustls)
//!   and `serde_json`. Without `upload` the crate depends on no HTTP stack and no JSON
//!   library; with or without it, on no async runtime.
//!
//! ```
//! use ldp_client::{Accountant, Encoder, InMemoryLedger};
//! use ldp_protocol::{Batch, BatchId, CampaignConfig, CampaignSpec, Domain, Mechanism, wire};
//!
//! let config = CampaignConfig::new(CampaignSpec::new(
//!     "emoji",
//!     Mechanism::Olh { g: None, seed_pool: None },
//!     1.0,
//!     Domain::Dictionary { values: vec!["😂".into(), "❤".into(), "😍".into()] },
//! ))?;
//! let mut encoder = Encoder::new(&config)?;
//! let mut accountant = Accountant::new(InMemoryLedger::default());
//! let epoch = 20_000;
//! let report = encoder.encode_charged(&mut accountant, epoch, "❤")?;
//! // One report per epoch by default: a second one is refused.
//! assert!(encoder.encode_charged(&mut accountant, epoch, "😂").is_err());
//!
//! let mut batch = Batch::new(&config, epoch, BatchId([7; 16]));
//! batch.reports.push(report);
//! let bytes = wire::encode(&batch)?;
//! assert_eq!(wire::decode_batch(&bytes)?, batch);
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

pub mod budget;
pub mod encoder;
pub mod error;
pub mod geometric;
pub mod memo;
pub mod rng;
#[cfg(feature = "upload")]
pub mod upload;

pub use budget::{Accountant, BudgetLedger, Charge, InMemoryLedger};
pub use encoder::dbitflip::DBitFlipEncoder;
pub use encoder::loloha::LolohaEncoder;
pub use encoder::lue::LongitudinalUnaryEncoder;
pub use encoder::rappor::RapporEncoder;
pub use encoder::{Encoder, Randomizer};
pub use error::{BudgetError, ClientError};
pub use memo::{DeviceSecret, InMemorySecretStore, MemoTag, SecretStore};
pub use rng::ProductionRng;
