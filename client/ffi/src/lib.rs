//! # ldp-ffi
//!
//! `ldp-sdk`'s [`Client`] for other languages, through one binding layer:
//!
//! - **UniFFI** (this module): Python (the `ldp-telemetry` wheel built by maturin), and the
//!   same interface for Kotlin and Swift. Errors arrive as exceptions of [`LdpError`]'s
//!   variants; a panic inside the library arrives as an `InternalError`, never a crash.
//! - **C** (module [`c_api`], header `include/ldp_telemetry.h`): status codes and a
//!   thread-local error message.
//!
//! This is the only crate of the workspace that allows `unsafe` code, and only in `c_api`.
//!
//! ```
//! use ldp_telemetry::{Client, LdpError};
//!
//! let dir = tempfile::tempdir()?;
//! let client = Client::open(dir.path().display().to_string(), "http://127.0.0.1:9".into())?;
//! // Nothing listens there: the campaign cannot be fetched, and nothing is written.
//! assert!(matches!(client.record("emoji".into(), "😂".into()), Err(LdpError::Network(_))));
//! assert_eq!(client.privacy_spent("emoji".into())?.lifetime_reports, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::{Arc, PoisonError, RwLock};

use ldp_sdk::{ClientOptions as SdkOptions, SdkError, SystemClock};

pub mod c_api;

uniffi::setup_scaffolding!("ldp_telemetry");

/// Why a call was refused. In Python each variant is an exception class
/// (`LdpError.BudgetExhausted`, …) whose text says what happened.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum LdpError {
    /// The collector does not know the campaign.
    #[error("{0}")]
    UnknownCampaign(String),
    /// The value is not in the campaign's domain.
    #[error("{0}")]
    InvalidValue(String),
    /// A number outside the campaign's range, or not finite.
    #[error("{0}")]
    NumberOutOfRange(String),
    /// The campaign's allowance for this epoch is spent, or the report would take the
    /// device's lifetime ε past the campaign's bound (the text says which).
    #[error("{0}")]
    BudgetExhausted(String),
    /// The state directory could not be read or written.
    #[error("{0}")]
    Storage(String),
    /// The collector could not be reached or answered with an error.
    #[error("{0}")]
    Network(String),
    /// The collector's campaign configuration is unusable.
    #[error("{0}")]
    Config(String),
    /// An argument is unusable.
    #[error("{0}")]
    InvalidArgument(String),
    /// The operating system's randomness failed.
    #[error("{0}")]
    Randomness(String),
}

impl From<SdkError> for LdpError {
    fn from(e: SdkError) -> Self {
        let text = e.to_string();
        match e {
            SdkError::UnknownCampaign(_) => Self::UnknownCampaign(text),
            SdkError::InvalidValue(_) => Self::InvalidValue(text),
            SdkError::NumberOutOfRange { .. } => Self::NumberOutOfRange(text),
            SdkError::BudgetExhausted { .. } | SdkError::LifetimeBudgetExhausted { .. } => {
                Self::BudgetExhausted(text)
            }
            SdkError::Network(_) => Self::Network(text),
            SdkError::Config(_) => Self::Config(text),
            SdkError::InvalidArgument(_) => Self::InvalidArgument(text),
            SdkError::Randomness => Self::Randomness(text),
            // Storage, and whatever later versions add.
            _ => Self::Storage(text),
        }
    }
}

/// Tunables of a client (see `ldp_sdk::ClientOptions`); `None` keeps the default.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct ClientOptions {
    /// Window after an epoch's end over which its batch is released (default: one epoch).
    #[uniffi(default = None)]
    pub release_window_seconds: Option<u64>,
    /// Most batches kept in the outbox (default 500).
    #[uniffi(default = None)]
    pub max_outbox_batches: Option<u64>,
    /// Most report bytes kept in the outbox (default 8 MiB).
    #[uniffi(default = None)]
    pub max_outbox_bytes: Option<u64>,
    /// First wait after a failed send, seconds (default 60).
    #[uniffi(default = None)]
    pub retry_base_seconds: Option<u64>,
}

impl From<ClientOptions> for SdkOptions {
    fn from(o: ClientOptions) -> Self {
        let d = SdkOptions::default();
        Self {
            release_window_seconds: o.release_window_seconds,
            max_outbox_batches: o.max_outbox_batches.unwrap_or(d.max_outbox_batches),
            max_outbox_bytes: o.max_outbox_bytes.unwrap_or(d.max_outbox_bytes),
            retry_base_seconds: o.retry_base_seconds.unwrap_or(d.retry_base_seconds),
            ..d
        }
    }
}

/// What one `upload_pending` did, and what is left.
#[derive(Debug, Clone, uniffi::Record)]
pub struct UploadSummary {
    /// Batches acknowledged by the collector.
    pub batches_sent: u64,
    /// Reports in them.
    pub reports_sent: u64,
    /// Batches refused for good and dropped.
    pub batches_rejected: u64,
    /// Batches still waiting.
    pub batches_waiting: u64,
    /// Reports in them.
    pub reports_waiting: u64,
    /// Unix time at which the next batch is due.
    pub next_due: Option<u64>,
    /// Why sending stopped early, if it did.
    pub error: Option<String>,
}

impl From<ldp_sdk::UploadSummary> for UploadSummary {
    fn from(s: ldp_sdk::UploadSummary) -> Self {
        Self {
            batches_sent: s.batches_sent,
            reports_sent: s.reports_sent,
            batches_rejected: s.batches_rejected,
            batches_waiting: s.batches_waiting,
            reports_waiting: s.reports_waiting,
            next_due: s.next_due,
            error: s.error,
        }
    }
}

/// Privacy spent on one campaign in one epoch.
#[derive(Debug, Clone, uniffi::Record)]
pub struct EpochSpend {
    /// Epoch number.
    pub epoch: u64,
    /// Reports charged.
    pub reports: u32,
    /// Upper bound on the ε spent.
    pub epsilon: f64,
}

/// Privacy spent by this device on one campaign.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PrivacySpent {
    /// Campaign id.
    pub campaign: String,
    /// Every epoch with a charge, oldest first.
    pub epochs: Vec<EpochSpend>,
    /// Reports over the device's lifetime.
    pub lifetime_reports: u64,
    /// Upper bound on the ε spent over the device's lifetime: for a memoized mechanism the
    /// permanent responses drawn times ε∞, for the others the sum of the per-report ε.
    pub lifetime_epsilon: f64,
    /// Distinct permanent responses drawn (memoized mechanisms).
    pub permanent_responses: u64,
    /// The campaign's bound on `lifetime_epsilon`, if it sets one.
    pub max_lifetime_epsilon: Option<f64>,
}

impl From<ldp_sdk::PrivacySpent> for PrivacySpent {
    fn from(p: ldp_sdk::PrivacySpent) -> Self {
        Self {
            campaign: p.campaign,
            epochs: p
                .epochs
                .into_iter()
                .map(|e| EpochSpend {
                    epoch: e.epoch,
                    reports: e.reports,
                    epsilon: e.epsilon,
                })
                .collect(),
            lifetime_reports: p.lifetime_reports,
            lifetime_epsilon: p.lifetime_epsilon,
            permanent_responses: p.permanent_responses,
            max_lifetime_epsilon: p.max_lifetime_epsilon,
        }
    }
}

/// A request the SDK asks the host app's HTTP stack to send.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HostRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Header names and values, in order.
    pub headers: Vec<HostHeader>,
    /// Body bytes (empty for `GET`).
    pub body: Vec<u8>,
}

/// One HTTP header.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HostHeader {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// The host's answer to a [`HostRequest`].
#[derive(Debug, Clone, uniffi::Record)]
pub struct HostResponse {
    /// HTTP status code.
    pub status: u16,
    /// `Retry-After` in seconds, when the collector sent one.
    #[uniffi(default = None)]
    pub retry_after: Option<u64>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// Why the host could not send a request (no response at all). The SDK keeps the batch and
/// retries it later with the identical bytes.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum TransportError {
    /// DNS, connection, TLS, timeout, or an exception in the host's code.
    #[error("{0}")]
    Failed(String),
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TransportError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed(e.reason)
    }
}

/// The host app's HTTP stack (OkHttp, URLSession, `requests`, …): implement it in the host
/// language and pass it to `Client.open_with_transport`. Called from the thread that called
/// `upload_pending` (and `record`, the first time a campaign is seen); block until the
/// response has arrived. It must not call back into the client (the client is busy with the
/// call that asked for the request).
#[uniffi::export(with_foreign)]
pub trait HostTransport: Send + Sync {
    /// Sends `request` and returns the response, or an error when there was none.
    fn send(&self, request: HostRequest) -> Result<HostResponse, TransportError>;
}

/// Adapts a host's transport to the SDK's.
struct Host(Arc<dyn HostTransport>);

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostTransport")
    }
}

impl ldp_sdk::Transport for Host {
    fn send(&self, request: &ldp_sdk::HttpRequest) -> Result<ldp_sdk::HttpResponse, String> {
        let request = HostRequest {
            method: request.method.clone(),
            url: request.url.clone(),
            headers: request
                .headers
                .iter()
                .map(|(name, value)| HostHeader {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
            body: request.body.clone(),
        };
        match self.0.send(request) {
            Ok(r) => Ok(ldp_sdk::HttpResponse {
                status: r.status,
                retry_after: r.retry_after,
                body: r.body,
            }),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The device SDK's client: records values under the campaigns' privacy budgets into a
/// durable outbox and uploads each epoch's batch at a random moment after the epoch ends.
#[derive(Debug, uniffi::Object)]
pub struct Client(RwLock<Option<Arc<ldp_sdk::Client>>>);

impl Client {
    fn new(client: ldp_sdk::Client) -> Arc<Self> {
        Arc::new(Self(RwLock::new(Some(Arc::new(client)))))
    }

    /// The open client, or the error a closed one answers with.
    fn open_client(&self) -> Result<Arc<ldp_sdk::Client>, LdpError> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| LdpError::InvalidArgument("the client is closed".into()))
    }
}

#[uniffi::export]
impl Client {
    /// Opens (creating) the client whose state lives in `data_dir`, for the collector at
    /// `collector_url`.
    #[uniffi::constructor]
    pub fn open(data_dir: String, collector_url: String) -> Result<Arc<Self>, LdpError> {
        Self::open_with_options(data_dir, collector_url, ClientOptions::default())
    }

    /// Opens the client with explicit options.
    #[uniffi::constructor]
    pub fn open_with_options(
        data_dir: String,
        collector_url: String,
        options: ClientOptions,
    ) -> Result<Arc<Self>, LdpError> {
        let client = ldp_sdk::Client::open_with(
            data_dir,
            &collector_url,
            options.into(),
            Arc::new(ldp_sdk::UreqTransport::default()),
            Arc::new(SystemClock),
        )?;
        Ok(Self::new(client))
    }

    /// Opens the client with the host app's own HTTP stack doing the sending.
    #[uniffi::constructor]
    pub fn open_with_transport(
        data_dir: String,
        collector_url: String,
        options: ClientOptions,
        transport: Arc<dyn HostTransport>,
    ) -> Result<Arc<Self>, LdpError> {
        let client = ldp_sdk::Client::open_with(
            data_dir,
            &collector_url,
            options.into(),
            Arc::new(Host(transport)),
            Arc::new(SystemClock),
        )?;
        Ok(Self::new(client))
    }

    /// Records a string value for `campaign_id` in the current epoch.
    pub fn record(&self, campaign_id: String, value: String) -> Result<(), LdpError> {
        Ok(self.open_client()?.record(&campaign_id, &value)?)
    }

    /// Records a value by its index in the campaign's domain.
    pub fn record_index(&self, campaign_id: String, index: u32) -> Result<(), LdpError> {
        Ok(self.open_client()?.record_index(&campaign_id, index)?)
    }

    /// Records a number for a numeric campaign.
    pub fn record_number(&self, campaign_id: String, x: f64) -> Result<(), LdpError> {
        Ok(self.open_client()?.record_number(&campaign_id, x)?)
    }

    /// Writes every recorded value to the state file now (call it when the app goes to the
    /// background; the SDK's thread does it moments after each record anyway).
    pub fn flush(&self) -> Result<(), LdpError> {
        Ok(self.open_client()?.flush()?)
    }

    /// Sends every batch that is due.
    pub fn upload_pending(&self) -> Result<UploadSummary, LdpError> {
        Ok(self.open_client()?.upload_pending()?.into())
    }

    /// Turns uploads on or off (off deletes the outbox; spent budget stays spent).
    pub fn set_upload_enabled(&self, enabled: bool) -> Result<(), LdpError> {
        Ok(self.open_client()?.set_upload_enabled(enabled)?)
    }

    /// Whether uploads are enabled.
    pub fn upload_enabled(&self) -> Result<bool, LdpError> {
        Ok(self.open_client()?.upload_enabled()?)
    }

    /// What this device has spent on `campaign_id`.
    pub fn privacy_spent(&self, campaign_id: String) -> Result<PrivacySpent, LdpError> {
        Ok(self.open_client()?.privacy_spent(&campaign_id)?.into())
    }

    /// Writes what was recorded and lets go of the state directory, so that another client
    /// may open it (without waiting for the garbage collector). Every later call on this
    /// client is refused with `InvalidArgument`; closing again does nothing.
    pub fn close(&self) -> Result<(), LdpError> {
        let client = self
            .0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match client {
            Some(client) => Ok(client.flush()?),
            None => Ok(()),
        }
    }

    /// An outbox counter (`acknowledged_reports`, `dropped_reports`, …).
    pub fn counter(&self, name: String) -> Result<u64, LdpError> {
        Ok(self.open_client()?.counter(&name)?)
    }
}
