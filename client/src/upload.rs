//! Blocking uploads to an `ldp-aggregator` (the `upload` feature; `std` only, no async runtime).
//!
//! - [`Uploader`] fetches a campaign's configuration and sends encoded batches, retrying
//!   **only** on transport errors, 5xx and 429, with exponential backoff, full jitter and the
//!   server's `Retry-After`. A retry resends the **identical bytes** (same batch id), so it never
//!   re-randomizes a report and the server counts the batch once.
//! - [`EncodedBatch`] is a batch encoded once, with a random id from the operating system.
//! - [`Reporter`] is what an app holds: it encodes values with production randomness, charges
//!   the privacy budget, queues reports per epoch, and flushes them as batches, keeping every
//!   unacknowledged batch for the next flush.
//!
//! ```no_run
//! use ldp_client::upload::Reporter;
//!
//! let mut reporter = Reporter::connect("http://127.0.0.1:8080", "emoji")?;
//! reporter.record("😂")?;
//! let sent = reporter.flush()?;
//! println!("{} reports acknowledged", sent.reports);
//! # Ok::<(), ldp_client::upload::UploadError>(())
//! ```

use std::collections::BTreeMap;
use std::string::{String, ToString};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use std::vec::Vec;
use std::{format, thread};

use ldp_protocol::{Batch, BatchId, CampaignConfig, ConfigError, Report, WireError, wire};
use rand_core::RngCore;

use crate::budget::{Accountant, BudgetLedger, InMemoryLedger};
use crate::encoder::Encoder;
use crate::error::ClientError;
use crate::rng::ProductionRng;

/// Media type of a batch upload.
pub const BATCH_CONTENT_TYPE: &str = "application/x-ldp-batch";

/// Why an upload failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// Every attempt failed with a retryable error; the batch may be sent again later.
    #[error("gave up after {attempts} attempts: {last}")]
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The last error.
        last: String,
    },
    /// The server refused the request (4xx other than 429); resending will not help.
    #[error("refused with {status}: {detail}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The problem `type` URI, when the server sent one.
        problem_type: Option<String>,
        /// The problem's detail (or the body).
        detail: String,
    },
    /// The server's campaign configuration is invalid or inconsistent with its digest.
    #[error("campaign configuration from the server: {0}")]
    Config(String),
    /// The batch could not be encoded.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// Encoding or budget refused the value.
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl From<ConfigError> for UploadError {
    fn from(e: ConfigError) -> Self {
        Self::Config(e.to_string())
    }
}

/// When and how often to retry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the first retry; doubles with every attempt.
    pub base_delay: Duration,
    /// Longest delay between attempts (a larger `Retry-After` is capped to it).
    pub max_delay: Duration,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (0-based): uniformly jittered in
    /// `[d/2, d]` with `d = min(max_delay, base_delay · 2^retry)`, or the server's
    /// `Retry-After` (capped at `max_delay`) when it asked for longer.
    pub fn delay(
        &self,
        retry: u32,
        retry_after: Option<Duration>,
        rng: &mut impl RngCore,
    ) -> Duration {
        let factor = 1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX);
        let ceiling = self.base_delay.saturating_mul(factor).min(self.max_delay);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        let half = nanos / 2;
        let jitter = if half == 0 {
            0
        } else {
            rng.next_u64() % (half + 1)
        };
        let backoff = Duration::from_nanos(half + jitter);
        match retry_after {
            Some(asked) if asked > backoff => asked.min(self.max_delay),
            _ => backoff,
        }
    }
}

/// A batch encoded once: what is sent, and resent byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedBatch {
    /// Campaign id.
    pub campaign: String,
    /// The batch's random id.
    pub batch_id: BatchId,
    /// Epoch of its reports.
    pub epoch: u64,
    /// Reports in it.
    pub reports: usize,
    /// The wire bytes.
    pub bytes: Vec<u8>,
}

impl EncodedBatch {
    /// Encodes `reports` for `config` and `epoch` under a fresh random batch id from the OS.
    pub fn new(
        config: &CampaignConfig,
        epoch: u64,
        reports: Vec<Report>,
    ) -> Result<Self, UploadError> {
        let mut id = [0u8; 16];
        ProductionRng::from_os()?.fill_bytes(&mut id);
        let mut batch = Batch::new(config, epoch, BatchId(id));
        batch.reports = reports;
        Self::from_batch(&batch)
    }

    /// Encodes an existing batch.
    pub fn from_batch(batch: &Batch) -> Result<Self, UploadError> {
        Ok(Self {
            campaign: batch.campaign.as_str().to_string(),
            batch_id: batch.batch_id,
            epoch: batch.epoch,
            reports: batch.reports.len(),
            bytes: wire::encode(batch)?,
        })
    }
}

/// The server's answer to an accepted batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// Counted now.
    Counted,
    /// Counted before (an earlier attempt got through); nothing added.
    Duplicate,
}

/// A blocking HTTP client for one aggregator.
#[derive(Debug, Clone)]
pub struct Uploader {
    agent: ureq::Agent,
    base: String,
    policy: RetryPolicy,
}

enum Attempt<T> {
    Done(T),
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
}

impl Uploader {
    /// An uploader for the aggregator at `base_url` (e.g. `https://telemetry.example.com`).
    pub fn new(base_url: &str) -> Self {
        Self::with_policy(base_url, RetryPolicy::default())
    }

    /// An uploader with a custom retry policy.
    pub fn with_policy(base_url: &str, policy: RetryPolicy) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(policy.request_timeout))
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
            base: base_url.trim_end_matches('/').to_string(),
            policy,
        }
    }

    /// Fetches campaign `id` and checks that the configuration matches the digest the server
    /// announces.
    pub fn fetch_campaign(&self, id: &str) -> Result<CampaignConfig, UploadError> {
        let url = format!("{}/v1/campaigns/{id}", self.base);
        let body = self.with_retries(|| {
            let response = self.agent.get(&url).call();
            classify(response, |mut r| {
                r.body_mut()
                    .read_to_string()
                    .map_err(|e| UploadError::Config(e.to_string()))
            })
        })?;
        let view: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| UploadError::Config(e.to_string()))?;
        let config: CampaignConfig =
            serde_json::from_value(view.get("config").cloned().unwrap_or_default())
                .map_err(|e| UploadError::Config(e.to_string()))?;
        let announced = view
            .get("digest")
            .and_then(|d| d.as_str())
            .unwrap_or_default();
        let digest = format!("{:016x}", config.digest());
        if announced != digest {
            return Err(UploadError::Config(format!(
                "the server announces digest {announced:?} but the configuration hashes to {digest}; client and server disagree on the format"
            )));
        }
        Ok(config)
    }

    /// Sends one batch, retrying transport errors, 5xx and 429 with the identical bytes.
    pub fn send(&self, batch: &EncodedBatch) -> Result<Ack, UploadError> {
        let url = format!("{}/v1/campaigns/{}/reports", self.base, batch.campaign);
        self.with_retries(|| {
            let response = self
                .agent
                .post(&url)
                .header("content-type", BATCH_CONTENT_TYPE)
                .send(&batch.bytes[..]);
            classify(response, |mut r| {
                let text = r.body_mut().read_to_string().unwrap_or_default();
                Ok(if text.contains("\"duplicate\"") {
                    Ack::Duplicate
                } else {
                    Ack::Counted
                })
            })
        })
    }

    fn with_retries<T>(
        &self,
        mut attempt: impl FnMut() -> Result<Attempt<T>, UploadError>,
    ) -> Result<T, UploadError> {
        let mut rng = ProductionRng::from_os()?;
        let attempts = self.policy.max_attempts.max(1);
        let mut last = String::new();
        for n in 0..attempts {
            match attempt()? {
                Attempt::Done(value) => return Ok(value),
                Attempt::Retry { error, retry_after } => {
                    last = error;
                    if n + 1 < attempts {
                        thread::sleep(self.policy.delay(n, retry_after, &mut rng));
                    }
                }
            }
        }
        Err(UploadError::Exhausted { attempts, last })
    }
}

/// Sorts a response into success, retryable failure, or refusal.
fn classify<T>(
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    on_success: impl FnOnce(ureq::http::Response<ureq::Body>) -> Result<T, UploadError>,
) -> Result<Attempt<T>, UploadError> {
    let mut response = match response {
        Ok(r) => r,
        Err(e) => {
            return Ok(Attempt::Retry {
                error: e.to_string(),
                retry_after: None,
            });
        }
    };
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return on_success(response).map(Attempt::Done);
    }
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = response.body_mut().read_to_string().unwrap_or_default();
    if status >= 500 || status == 429 {
        return Ok(Attempt::Retry {
            error: format!("HTTP {status}: {body}"),
            retry_after,
        });
    }
    let problem: Option<serde_json::Value> = serde_json::from_str(&body).ok();
    let field = |name: &str| {
        problem
            .as_ref()
            .and_then(|p| p.get(name))
            .and_then(|v| v.as_str())
            .map(ToString::to_string)
    };
    Err(UploadError::Rejected {
        status,
        problem_type: field("type"),
        detail: field("detail").unwrap_or(body),
    })
}

/// What a flush sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flushed {
    /// Batches acknowledged.
    pub batches: usize,
    /// Reports in them.
    pub reports: usize,
    /// Batches the server refused for good (4xx other than 429) and that were dropped:
    /// resending the same bytes cannot succeed (for example an epoch that is no longer
    /// accepted, or a campaign whose configuration changed).
    pub rejected_batches: usize,
    /// Reports in them.
    pub rejected_reports: usize,
    /// The last refusal, when there was one.
    pub last_rejection: Option<String>,
}

/// Largest request body the aggregator accepts by default; batches are cut to fit it.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// An app's reporter for one campaign: encode, charge, queue, flush.
#[derive(Debug)]
pub struct Reporter<L: BudgetLedger = InMemoryLedger> {
    uploader: Uploader,
    encoder: Encoder,
    accountant: Accountant<L>,
    queued: BTreeMap<u64, Vec<Report>>,
    unacknowledged: Vec<EncodedBatch>,
    max_batch: usize,
}

impl Reporter<InMemoryLedger> {
    /// Fetches campaign `id` from the aggregator at `base_url` and builds a reporter with an
    /// in-memory budget ledger.
    pub fn connect(base_url: &str, id: &str) -> Result<Self, UploadError> {
        Self::with_ledger(Uploader::new(base_url), id, InMemoryLedger::default())
    }
}

impl<L: BudgetLedger> Reporter<L> {
    /// A reporter for campaign `id` through `uploader`, charging `ledger` (persist it to keep
    /// the budget across restarts).
    pub fn with_ledger(uploader: Uploader, id: &str, ledger: L) -> Result<Self, UploadError> {
        let config = uploader.fetch_campaign(id)?;
        let encoder = Encoder::new(&config)?;
        // At most 1,000 reports, and few enough that the body stays under the server's limit.
        let per_report = config.params().report_bytes().max(1);
        let max_batch = ((DEFAULT_BODY_LIMIT - 4096) / per_report).clamp(1, 1000);
        Ok(Self {
            uploader,
            encoder,
            accountant: Accountant::new(ledger),
            queued: BTreeMap::new(),
            unacknowledged: Vec::new(),
            max_batch,
        })
    }

    /// The campaign configuration.
    pub fn config(&self) -> &CampaignConfig {
        self.encoder.config()
    }

    /// The current epoch of this device's clock.
    pub fn current_epoch(&self) -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        now / self.config().epoch_seconds().max(1)
    }

    /// Encodes `value` for the current epoch (charging the budget) and queues the report.
    pub fn record(&mut self, value: &str) -> Result<(), UploadError> {
        let epoch = self.current_epoch();
        let report = self
            .encoder
            .encode_charged(&mut self.accountant, epoch, value)?;
        self.queued.entry(epoch).or_default().push(report);
        Ok(())
    }

    /// Batches not yet acknowledged (they are resent, identically, by the next flush).
    pub fn unacknowledged(&self) -> &[EncodedBatch] {
        &self.unacknowledged
    }

    /// Turns queued reports into batches and sends every unacknowledged batch. A batch the
    /// server refuses for good is dropped and counted in [`Flushed`]; at the first retryable
    /// failure (after the uploader's own retries) the flush stops, keeping what was not
    /// acknowledged for the next flush.
    pub fn flush(&mut self) -> Result<Flushed, UploadError> {
        let config = self.encoder.config().clone();
        for (epoch, reports) in core::mem::take(&mut self.queued) {
            let mut reports = reports.into_iter().peekable();
            while reports.peek().is_some() {
                let chunk: Vec<Report> = reports.by_ref().take(self.max_batch).collect();
                self.unacknowledged
                    .push(EncodedBatch::new(&config, epoch, chunk)?);
            }
        }
        let mut flushed = Flushed::default();
        let mut kept = Vec::new();
        let mut failure = None;
        for batch in core::mem::take(&mut self.unacknowledged) {
            if failure.is_some() {
                kept.push(batch);
                continue;
            }
            match self.uploader.send(&batch) {
                Ok(_) => {
                    flushed.batches += 1;
                    flushed.reports += batch.reports;
                }
                Err(e @ UploadError::Rejected { .. }) => {
                    flushed.rejected_batches += 1;
                    flushed.rejected_reports += batch.reports;
                    flushed.last_rejection = Some(e.to_string());
                }
                Err(e) => {
                    kept.push(batch);
                    failure = Some(e);
                }
            }
        }
        self.unacknowledged = kept;
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(flushed)
    }
}
