//! # ldp-sdk
//!
//! The device SDK of **ldp-telemetry**: what an app embeds to report values under local
//! differential privacy. It wraps `ldp-client`'s encoders with the state a real device needs,
//! all of it in one directory:
//!
//! - a **budget ledger** per campaign and epoch (and over the device's lifetime) that survives
//!   restarts, so a device never sends more reports than a campaign allows;
//! - a **durable outbox**: a report and the charge that paid for it are written in one atomic
//!   step, and nothing is sent before that step is on disk;
//! - an **upload schedule**: each epoch's reports leave in one batch at a random moment after
//!   the epoch ends, so send times say nothing about when the user acted; retries resend
//!   identical bytes, so the collector counts a batch once;
//! - the **device secret** behind RAPPOR's memoized responses.
//!
//! The host app's HTTP stack can do the sending ([`Transport`]); the default transport is a
//! small blocking client (feature `ureq-transport`). `ldp-client` itself stays `no_std` and
//! free of HTTP and storage; this crate is its `std` companion (see `client/README.md`).
//!
//! ```
//! # #[cfg(feature = "sqlite")] {
//! use std::sync::Arc;
//! use ldp_sdk::{Client, ClientOptions, HttpRequest, HttpResponse, ManualClock, Transport};
//!
//! /// A collector that knows one campaign, for the example.
//! #[derive(Debug)]
//! struct Collector;
//! impl Transport for Collector {
//!     fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
//!         let config = ldp_protocol::CampaignConfig::range(
//!             "level", ldp_protocol::Mechanism::Grr, 1.0, 8,
//!         ).map_err(|e| e.to_string())?;
//!         let body = match request.method.as_str() {
//!             "GET" => serde_json::json!({
//!                 "config": config,
//!                 "digest": format!("{:016x}", config.digest()),
//!             }).to_string(),
//!             _ => r#"{"status":"counted"}"#.to_owned(),
//!         };
//!         Ok(HttpResponse { status: if request.method == "GET" { 200 } else { 202 }, retry_after: None, body: body.into_bytes() })
//!     }
//! }
//!
//! let dir = tempfile::tempdir()?;
//! let clock = ManualClock::new(1_800_000_000);
//! let client = Client::open_with(
//!     dir.path(), "https://telemetry.example.com", ClientOptions::default(),
//!     Arc::new(Collector), Arc::new(clock.clone()),
//! )?;
//! client.record_index("level", 3)?;
//! // One report per day by default: a second one is refused, and nothing is written.
//! assert!(matches!(client.record_index("level", 4), Err(ldp_sdk::SdkError::BudgetExhausted { .. })));
//! // Nothing leaves before the day is over …
//! assert_eq!(client.upload_pending()?.batches_sent, 0);
//! // … and by the end of the next day the batch has gone.
//! clock.advance(2 * 86_400);
//! assert_eq!(client.upload_pending()?.reports_sent, 1);
//! assert_eq!(client.privacy_spent("level")?.lifetime_reports, 1);
//! # }
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

#[cfg(feature = "sqlite")]
mod client;
pub mod encoding;
pub mod error;
#[cfg(feature = "sqlite")]
mod lifetime;
pub mod schedule;
#[cfg(feature = "sqlite")]
mod store;
pub mod transport;
mod types;
#[cfg(feature = "sqlite")]
mod writer;

#[cfg(feature = "sqlite")]
pub use client::{Client, UNKNOWN_CAMPAIGN_SECONDS};
pub use error::SdkError;
pub use schedule::{Clock, ManualClock, SystemClock};
#[cfg(feature = "sqlite")]
pub use store::DB_FILE;
#[cfg(feature = "ureq-transport")]
pub use transport::UreqTransport;
pub use transport::{HttpRequest, HttpResponse, Transport};
pub use types::{ClientOptions, EpochSpend, PrivacySpent, UploadSummary};

/// The app developers' guide (`client/README.md`); its Rust snippet is compiled as a test.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct AppDevelopersGuide;
