//! [`Client`]: what an app holds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use ldp_client::{Encoder, InMemorySecretStore, ProductionRng, RapporEncoder};
use ldp_protocol::{BatchId, CampaignConfig, MechanismParams, Report, wire};
use rand_core::RngCore;

use crate::error::SdkError;
use crate::schedule::{self, Clock, SystemClock};
use crate::store::{Cached, Enqueue, Store};
use crate::transport::{BATCH_CONTENT_TYPE, HttpRequest, Outcome, Transport};

/// Tunables of a [`Client`]; [`ClientOptions::default`] suits an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Length of the window after an epoch's end over which its batch is released, uniformly
    /// at random; `None` (the default) is one epoch of the campaign.
    pub release_window_seconds: Option<u64>,
    /// Most batches kept in the outbox (default 500); beyond it the oldest are dropped.
    pub max_outbox_batches: u64,
    /// Most report bytes kept in the outbox (default 8 MiB); beyond it the oldest batches
    /// are dropped.
    pub max_outbox_bytes: u64,
    /// Most reports in one batch (default 1,000).
    pub max_batch_reports: u64,
    /// First wait after a failed send, seconds (default 60; doubles per attempt, jittered).
    pub retry_base_seconds: u64,
    /// Longest wait between attempts, seconds (default 6 hours).
    pub retry_max_seconds: u64,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            release_window_seconds: None,
            max_outbox_batches: 500,
            max_outbox_bytes: 8 << 20,
            max_batch_reports: 1000,
            retry_base_seconds: 60,
            retry_max_seconds: 6 * 3600,
        }
    }
}

/// Privacy spent by this device on one campaign in one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochSpend {
    /// Epoch number.
    pub epoch: u64,
    /// Reports charged.
    pub reports: u32,
    /// Upper bound on the ε spent (sequential composition of the effective per-report ε).
    pub epsilon: f64,
}

/// Privacy spent by this device on one campaign.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PrivacySpent {
    /// Campaign id.
    pub campaign: String,
    /// Every epoch with a charge, oldest first.
    pub epochs: Vec<EpochSpend>,
    /// Reports charged over the device's lifetime.
    pub lifetime_reports: u64,
    /// Upper bound on the ε spent over the device's lifetime (the sum over epochs).
    pub lifetime_epsilon: f64,
}

/// What one [`Client::upload_pending`] did, and what is left.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UploadSummary {
    /// Batches the collector acknowledged (counted now, or before a lost answer).
    pub batches_sent: u64,
    /// Reports in them.
    pub reports_sent: u64,
    /// Batches the collector refused for good and that were dropped.
    pub batches_rejected: u64,
    /// Batches still waiting (not yet due, or to be retried).
    pub batches_waiting: u64,
    /// Reports in them.
    pub reports_waiting: u64,
    /// Unix time at which the next batch becomes due, if any is waiting.
    pub next_due: Option<u64>,
    /// Why sending stopped early (the collector could not be reached), if it did.
    pub error: Option<String>,
}

/// A value to record.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    Text(&'a str),
    Index(u32),
    Number(f64),
}

#[derive(Debug)]
enum DeviceEncoder {
    Plain(Box<Encoder>),
    Rappor(Box<RapporEncoder>),
}

#[derive(Debug)]
struct Inner {
    store: Store,
    /// The store's campaigns, parsed once (dropped whenever the store's entry changes).
    campaigns: HashMap<String, Cached>,
    /// The store's upload switch, read once.
    enabled: Option<bool>,
    encoders: HashMap<String, (u64, DeviceEncoder)>,
    rng: ProductionRng,
}

impl Inner {
    fn upload_enabled(&mut self) -> Result<bool, SdkError> {
        if let Some(enabled) = self.enabled {
            return Ok(enabled);
        }
        let enabled = self.store.upload_enabled()?;
        self.enabled = Some(enabled);
        Ok(enabled)
    }

    fn cached(&mut self, campaign: &str) -> Result<Option<Cached>, SdkError> {
        if let Some(cached) = self.campaigns.get(campaign) {
            return Ok(Some(cached.clone()));
        }
        let cached = self.store.cached(campaign)?;
        if let Some(cached) = &cached {
            self.campaigns.insert(campaign.to_owned(), cached.clone());
        }
        Ok(cached)
    }
}

/// The device SDK: records values under the campaigns' privacy budgets, keeps every report in
/// a durable outbox, and releases each epoch's batch at a random moment after the epoch ends.
/// All its state lives in one directory. It is `Send + Sync`; calls are serialized inside.
///
/// ```no_run
/// use ldp_sdk::Client;
///
/// let client = Client::open("/var/lib/my-app/telemetry", "https://telemetry.example.com")?;
/// client.record("emoji", "😂")?;
/// // Later, on a background thread or a timer:
/// let summary = client.upload_pending()?;
/// println!("{} reports sent, {} waiting", summary.reports_sent, summary.reports_waiting);
/// # Ok::<(), ldp_sdk::SdkError>(())
/// ```
#[derive(Debug)]
pub struct Client {
    dir: PathBuf,
    base_url: String,
    options: ClientOptions,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

impl Client {
    /// Opens (creating) the client whose state lives in `data_dir`, sending to the collector
    /// at `collector_url` with the default blocking transport.
    #[cfg(feature = "ureq-transport")]
    pub fn open(data_dir: impl AsRef<Path>, collector_url: &str) -> Result<Self, SdkError> {
        Self::open_with(
            data_dir,
            collector_url,
            ClientOptions::default(),
            Arc::new(crate::transport::UreqTransport::default()),
            Arc::new(SystemClock),
        )
    }

    /// Opens the client with explicit options, transport (the app's own HTTP stack) and clock.
    pub fn open_with(
        data_dir: impl AsRef<Path>,
        collector_url: &str,
        options: ClientOptions,
        transport: Arc<dyn Transport>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, SdkError> {
        let dir = data_dir.as_ref().to_path_buf();
        if dir.as_os_str().is_empty() {
            return Err(SdkError::InvalidArgument("data_dir is empty".into()));
        }
        let base_url = collector_url.trim_end_matches('/').to_owned();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(SdkError::InvalidArgument(format!(
                "collector_url {collector_url:?} is not an http(s) URL"
            )));
        }
        let store = Store::open(&dir)?;
        let rng = ProductionRng::from_os()?;
        Ok(Self {
            dir,
            base_url,
            options,
            transport,
            clock,
            inner: Mutex::new(Inner {
                store,
                campaigns: HashMap::new(),
                enabled: None,
                encoders: HashMap::new(),
                rng,
            }),
        })
    }

    /// The directory holding all of this client's state.
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the store inconsistent (every change is
        // one transaction), so a poisoned lock is safe to keep using.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a string value (a dictionary entry — anything else is counted as `other` —,
    /// an open-domain string, or a range domain's decimal index) for campaign `campaign` in
    /// the current epoch. Refused with a typed error, writing nothing, when the campaign is
    /// unknown, the value is not in its domain, or the epoch's budget is spent. Does nothing
    /// while uploads are disabled.
    pub fn record(&self, campaign: &str, value: &str) -> Result<(), SdkError> {
        self.record_value(campaign, Value::Text(value))
    }

    /// Records a value by its index `< k` (a dictionary's `other` is k − 1).
    pub fn record_index(&self, campaign: &str, index: u32) -> Result<(), SdkError> {
        self.record_value(campaign, Value::Index(index))
    }

    /// Records a number for a numeric campaign; a number outside the campaign's range (or not
    /// finite) is refused with [`SdkError::NumberOutOfRange`].
    pub fn record_number(&self, campaign: &str, x: f64) -> Result<(), SdkError> {
        self.record_value(campaign, Value::Number(x))
    }

    fn record_value(&self, campaign: &str, value: Value<'_>) -> Result<(), SdkError> {
        let mut inner = self.lock();
        if !inner.upload_enabled()? {
            return Ok(());
        }
        let now = self.clock.now();
        let config = self.config_for(&mut inner, campaign, now)?;
        let epoch = schedule::epoch_at(now, config.epoch_seconds());
        let window = self
            .options
            .release_window_seconds
            .unwrap_or(config.epoch_seconds());
        let job = Enqueue {
            campaign,
            epoch,
            digest: config.digest(),
            allowed: config.max_reports_per_epoch(),
            epsilon: config.params().epsilon_upper_bound() * (1.0 + f64::EPSILON),
            max_batch_reports: self.options.max_batch_reports.max(1),
            max_outbox_batches: self.options.max_outbox_batches.max(1),
            max_outbox_bytes: self.options.max_outbox_bytes,
        };
        let Inner {
            store,
            encoders,
            rng,
            ..
        } = &mut *inner;
        let encoder = encoder_for(encoders, store, &config)?;
        store.charge_and_enqueue(
            &job,
            || Ok(wire::encode(&encode(encoder, &config, value)?)?),
            || {
                let mut id = [0; 16];
                rng.fill_bytes(&mut id);
                let release = schedule::release_time(epoch, config.epoch_seconds(), window, rng);
                Ok((BatchId(id), release))
            },
        )?;
        Ok(())
    }

    /// The configuration of `campaign` in force at `now`: cached (a newer one takes over at
    /// its epoch), or fetched once from the collector.
    fn config_for(
        &self,
        inner: &mut Inner,
        campaign: &str,
        now: u64,
    ) -> Result<Arc<CampaignConfig>, SdkError> {
        if let Some(cached) = inner.cached(campaign)? {
            if let Some((next, switch_at)) = cached.next
                && now >= switch_at
            {
                inner.store.promote(campaign)?;
                inner.campaigns.remove(campaign);
                return Ok(next);
            }
            return Ok(cached.config);
        }
        let config = self.fetch_config(campaign)?;
        let epoch = schedule::epoch_at(now, config.epoch_seconds());
        inner.store.put_config(&config, epoch, 0)?;
        inner.campaigns.remove(campaign);
        Ok(Arc::new(config))
    }

    /// Asks the collector for `campaign`'s configuration and checks it against its digest.
    fn fetch_config(&self, campaign: &str) -> Result<CampaignConfig, SdkError> {
        if campaign.is_empty() || !campaign.bytes().all(|b| b.is_ascii_graphic() && b != b'/') {
            return Err(SdkError::UnknownCampaign(campaign.to_owned()));
        }
        let request = HttpRequest {
            method: "GET".into(),
            url: format!("{}/v1/campaigns/{campaign}", self.base_url),
            headers: vec![("accept".into(), "application/json".into())],
            body: Vec::new(),
        };
        let body = match Outcome::of(self.transport.send(&request)) {
            Outcome::Success(body) => body,
            Outcome::Refused { status: 404, .. } => {
                return Err(SdkError::UnknownCampaign(campaign.to_owned()));
            }
            Outcome::Refused { status, detail } => {
                return Err(SdkError::Network(format!("HTTP {status}: {detail}")));
            }
            Outcome::Retry { error, .. } => return Err(SdkError::Network(error)),
        };
        let view: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| SdkError::Config(e.to_string()))?;
        let config: CampaignConfig =
            serde_json::from_value(view.get("config").cloned().unwrap_or_default())
                .map_err(|e| SdkError::Config(e.to_string()))?;
        let digest = format!("{:016x}", config.digest());
        let announced = view.get("digest").and_then(|d| d.as_str());
        if announced != Some(digest.as_str()) || config.id().as_str() != campaign {
            return Err(SdkError::Config(format!(
                "the collector announces campaign {campaign} with digest {announced:?}, but its \
                 configuration is {} with digest {digest}",
                config.id().as_str()
            )));
        }
        Ok(config)
    }

    /// Sends every batch that is due (its epoch has ended and its random release time has
    /// passed), after making its charge durable. Acknowledged batches leave the outbox; a
    /// batch the collector refuses for good is dropped and counted; on a transport failure,
    /// 408, 425, 429 or 5xx sending stops and the batch is retried later, with the identical bytes.
    /// Also picks up changed campaign configurations, once per epoch. Does nothing while
    /// uploads are disabled.
    pub fn upload_pending(&self) -> Result<UploadSummary, SdkError> {
        let mut inner = self.lock();
        let mut summary = UploadSummary::default();
        if inner.upload_enabled()? {
            let now = self.clock.now();
            self.refresh_configs(&mut inner, now)?;
            for batch in inner.store.seal_due(now)? {
                let request = HttpRequest {
                    method: "POST".into(),
                    url: format!("{}/v1/campaigns/{}/reports", self.base_url, batch.campaign),
                    headers: vec![("content-type".into(), BATCH_CONTENT_TYPE.into())],
                    body: batch.body,
                };
                match Outcome::of(self.transport.send(&request)) {
                    Outcome::Success(_) => {
                        inner.store.acknowledge(batch.row, batch.reports)?;
                        summary.batches_sent += 1;
                        summary.reports_sent += batch.reports;
                    }
                    Outcome::Refused { status, detail } => {
                        tracing::warn!(status, %detail, campaign = %batch.campaign, "batch refused; dropped");
                        inner.store.reject(batch.row, batch.reports, &detail)?;
                        summary.batches_rejected += 1;
                    }
                    Outcome::Retry { error, retry_after } => {
                        let attempts = batch.attempts.saturating_add(1);
                        let wait = schedule::retry_delay(
                            attempts,
                            self.options.retry_base_seconds,
                            self.options.retry_max_seconds,
                            retry_after,
                            &mut inner.rng,
                        );
                        inner
                            .store
                            .defer(batch.row, attempts, now.saturating_add(wait))?;
                        summary.error = Some(error);
                        break;
                    }
                }
            }
        }
        inner.store.checkpoint()?;
        let (batches, reports, next) = inner.store.waiting()?;
        summary.batches_waiting = batches;
        summary.reports_waiting = reports;
        summary.next_due = next;
        Ok(summary)
    }

    /// Asks the collector once per epoch whether each cached campaign's configuration changed;
    /// a changed one takes over at the next epoch. An unreachable collector changes nothing.
    fn refresh_configs(&self, inner: &mut Inner, now: u64) -> Result<(), SdkError> {
        for id in inner.store.campaigns()? {
            let Some(cached) = inner.cached(&id)? else {
                continue;
            };
            let epoch = schedule::epoch_at(now, cached.config.epoch_seconds());
            if cached.checked_epoch >= epoch {
                continue;
            }
            match self.fetch_config(&id) {
                Ok(config) => {
                    // A change takes over when the epoch in force ends, never in the middle.
                    let switch_at = schedule::epoch_end(epoch, cached.config.epoch_seconds());
                    inner.store.put_config(&config, epoch, switch_at)?;
                }
                Err(e) => {
                    tracing::debug!(campaign = %id, error = %e, "configuration not refreshed");
                    inner.store.mark_checked(&id, epoch)?;
                }
            }
            inner.campaigns.remove(&id);
        }
        Ok(())
    }

    /// Turns uploads on or off. Off deletes every report waiting in the outbox (overwritten on
    /// disk) and makes `record` and `upload_pending` do nothing; the ledger is kept, so budget
    /// already spent stays spent.
    pub fn set_upload_enabled(&self, enabled: bool) -> Result<(), SdkError> {
        let mut inner = self.lock();
        inner.enabled = None;
        inner.store.set_upload_enabled(enabled)?;
        inner.enabled = Some(enabled);
        Ok(())
    }

    /// Whether uploads are enabled (they are until [`Client::set_upload_enabled`] turns them
    /// off; the choice persists).
    pub fn upload_enabled(&self) -> Result<bool, SdkError> {
        self.lock().upload_enabled()
    }

    /// What this device has spent on `campaign`: reports and ε per epoch and over its lifetime.
    pub fn privacy_spent(&self, campaign: &str) -> Result<PrivacySpent, SdkError> {
        let inner = self.lock();
        let epochs: Vec<EpochSpend> = inner
            .store
            .ledger(campaign)?
            .into_iter()
            .map(|(epoch, reports, epsilon)| EpochSpend {
                epoch,
                reports,
                epsilon,
            })
            .collect();
        Ok(PrivacySpent {
            campaign: campaign.to_owned(),
            lifetime_reports: epochs.iter().map(|e| u64::from(e.reports)).sum(),
            lifetime_epsilon: epochs.iter().map(|e| e.epsilon).sum(),
            epochs,
        })
    }

    /// Counters of the outbox's history: `acknowledged_batches`, `acknowledged_reports`,
    /// `rejected_batches`, `rejected_reports`, `dropped_batches` and `dropped_reports` (dropped
    /// when the outbox was full). Unknown names read 0.
    pub fn counter(&self, name: &str) -> Result<u64, SdkError> {
        self.lock().store.counter(name)
    }
}

/// The encoder for `config`, made once per configuration.
fn encoder_for<'a>(
    encoders: &'a mut HashMap<String, (u64, DeviceEncoder)>,
    store: &mut Store,
    config: &CampaignConfig,
) -> Result<&'a mut DeviceEncoder, SdkError> {
    let id = config.id().as_str();
    let fresh = encoders
        .get(id)
        .is_none_or(|(digest, _)| *digest != config.digest());
    if fresh {
        let encoder = if let MechanismParams::Rappor(_) = config.params() {
            // The secret lives in the store; the PRRs derived from it are the memo.
            let mut secret = InMemorySecretStore::with_secret(store.secret()?);
            DeviceEncoder::Rappor(Box::new(RapporEncoder::new(config, &mut secret)?))
        } else {
            DeviceEncoder::Plain(Box::new(Encoder::new(config)?))
        };
        encoders.insert(id.to_owned(), (config.digest(), encoder));
    }
    encoders
        .get_mut(id)
        .map(|(_, encoder)| encoder)
        .ok_or_else(|| SdkError::Storage("encoder cache".into()))
}

/// One report of `value`, or the typed reason it is refused.
fn encode(
    encoder: &mut DeviceEncoder,
    config: &CampaignConfig,
    value: Value<'_>,
) -> Result<Report, SdkError> {
    let mut value = value;
    if let (Value::Text(s), Some(_)) = (value, config.numeric_range()) {
        let x = s
            .trim()
            .parse::<f64>()
            .map_err(|_| SdkError::InvalidValue(format!("{s:?} is not a number")))?;
        value = Value::Number(x);
    }
    if let Value::Number(x) = value
        && let Some((lo, hi)) = config.numeric_range()
        && !(lo..=hi).contains(&x)
    {
        return Err(SdkError::NumberOutOfRange { value: x, lo, hi });
    }
    match (encoder, value) {
        (DeviceEncoder::Plain(e), Value::Text(s)) => Ok(e.encode(s)?),
        (DeviceEncoder::Plain(e), Value::Index(i)) => Ok(e.encode_index(i)?),
        (DeviceEncoder::Plain(e), Value::Number(x)) => Ok(e.encode_number(x)?),
        (DeviceEncoder::Rappor(e), Value::Text(s)) => Ok(e.encode(s)?),
        (DeviceEncoder::Rappor(e), Value::Index(i)) => {
            if i >= config.k() {
                return Err(SdkError::InvalidValue(format!(
                    "value index {i} is outside the domain 0..{}",
                    config.k()
                )));
            }
            Ok(e.encode(&config.label(i))?)
        }
        (DeviceEncoder::Rappor(_), Value::Number(_)) => Err(SdkError::InvalidValue(
            "campaign mechanism rappor does not take numbers".into(),
        )),
    }
}
