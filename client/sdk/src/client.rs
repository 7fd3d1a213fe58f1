//! [`Client`]: what an app holds.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use ldp_client::ProductionRng;
use ldp_protocol::{BatchId, CampaignConfig, LifetimeSpend, wire};
use rand_core::RngCore;

use crate::encoding::{DeviceEncoder, Value, encode, encoder_for, memo_tag};
use crate::error::SdkError;
use crate::lifetime::{self, LifetimeBudget};
use crate::schedule::{self, Clock, SystemClock};
use crate::store::{Cached, Limits, Record, Store};
use crate::transport::{BATCH_CONTENT_TYPE, HttpRequest, Outcome, Transport, campaign_view};
use crate::types::{ClientOptions, PrivacySpent, UploadSummary};
use crate::writer::{MAX_QUEUED, Writer, lock};

/// How long the collector's "unknown campaign" stands before it is asked again: an app that
/// records a campaign not created yet (or misspelled) costs the collector one request per this
/// many seconds, not one per value.
pub const UNKNOWN_CAMPAIGN_SECONDS: u64 = 600;

/// What `record` needs, kept in memory so that it does not touch the store.
#[derive(Debug)]
struct Memory {
    /// The store's campaigns, parsed once (dropped whenever the store's entry changes).
    campaigns: HashMap<String, Cached>,
    /// The store's upload switch, read once.
    enabled: Option<bool>,
    encoders: HashMap<String, (u64, DeviceEncoder)>,
    /// Per campaign, the latest epoch charged and the reports charged in it, stored or
    /// queued. Exact: this client is the store's only writer.
    latest: HashMap<String, (u64, u32)>,
    /// Campaigns the collector said it does not know, and until when that answer stands.
    unknown: HashMap<String, u64>,
    /// Per campaign with a `max_lifetime_epsilon`, its lifetime spend.
    lifetime: HashMap<String, LifetimeBudget>,
    rng: ProductionRng,
}

impl Memory {
    fn upload_enabled(&mut self, store: &Store) -> Result<bool, SdkError> {
        if let Some(enabled) = self.enabled {
            return Ok(enabled);
        }
        let enabled = store.upload_enabled()?;
        self.enabled = Some(enabled);
        Ok(enabled)
    }

    fn cached(&mut self, store: &Store, campaign: &str) -> Result<Option<Cached>, SdkError> {
        if let Some(cached) = self.campaigns.get(campaign) {
            return Ok(Some(cached.clone()));
        }
        let cached = store.cached(campaign)?;
        if let Some(cached) = &cached {
            self.campaigns.insert(campaign.to_owned(), cached.clone());
        }
        Ok(cached)
    }
}

/// What the app's threads and the writing thread share. Locks are taken in the order store,
/// memory, writer's queue.
#[derive(Debug)]
struct Shared {
    store: Mutex<Store>,
    memory: Mutex<Memory>,
    writer: Writer,
}

/// A record about to be charged: the configuration in force, its epoch, and the reports
/// already charged in that epoch.
struct Ready {
    config: Arc<CampaignConfig>,
    epoch: u64,
    spent: u32,
}

/// The device SDK: records values under the campaigns' privacy budgets, keeps every report in
/// a durable outbox, and releases each epoch's batch at a random moment after the epoch ends.
/// All its state lives in one directory. It is `Send + Sync`.
///
/// `record` does its work in memory — the budget check, the encoding, the charge — and queues
/// the report; a background thread writes queued reports with their charges to the state file,
/// a burst per transaction, moments later. A crash before that write loses the report and its
/// charge together (nothing is sent before its charge is on disk). [`Client::flush`] writes the
/// queue at once, and dropping the client writes it too.
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
    shared: Arc<Shared>,
    /// The writing thread; `None` where threads are unavailable (then `record` writes).
    thread: Option<JoinHandle<()>>,
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
        let limits = Limits {
            max_batch_reports: options.max_batch_reports,
            max_outbox_batches: options.max_outbox_batches,
            max_outbox_bytes: options.max_outbox_bytes,
        };
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            memory: Mutex::new(Memory {
                campaigns: HashMap::new(),
                enabled: None,
                encoders: HashMap::new(),
                latest: HashMap::new(),
                unknown: HashMap::new(),
                lifetime: HashMap::new(),
                rng,
            }),
            writer: Writer::new(limits),
        });
        let writing = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("ldp-sdk-writer".into())
            .spawn(move || writing.writer.run(&writing.store))
            .inspect_err(|e| tracing::info!(error = %e, "no writing thread; record writes"))
            .ok();
        Ok(Self {
            dir,
            base_url,
            options,
            transport,
            clock,
            shared,
            thread,
        })
    }

    /// The directory holding all of this client's state.
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// Records a string value (a dictionary entry — anything else is counted as `other` —,
    /// an open-domain string, or a range domain's decimal index) for campaign `campaign` in
    /// the current epoch. Refused with a typed error, writing nothing, when the campaign is
    /// unknown (the collector is asked again after [`UNKNOWN_CAMPAIGN_SECONDS`]), the value is
    /// not in its domain, or the epoch's budget is spent. Does nothing while uploads are
    /// disabled.
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
        self.shared.writer.take_failure()?;
        let now = self.clock.now();
        if self.thread.is_some() {
            let mut memory = lock(&self.shared.memory);
            if memory.enabled == Some(false) {
                return Ok(());
            }
            if let Some(ready) = self.ready(&memory, campaign, now) {
                return self.charge(&mut memory, campaign, ready, value);
            }
        }
        // Something must come from the store (or the collector) first.
        let mut store = lock(&self.shared.store);
        if self.shared.writer.len() >= MAX_QUEUED {
            self.shared.writer.flush(&mut store);
        }
        let mut memory = lock(&self.shared.memory);
        if !memory.upload_enabled(&store)? {
            return Ok(());
        }
        let ready = self.load(&mut store, &mut memory, campaign, now)?;
        self.charge(&mut memory, campaign, ready, value)?;
        drop(memory);
        if self.thread.is_none() {
            self.shared.writer.flush(&mut store);
            self.shared.writer.take_failure()?;
        }
        Ok(())
    }

    /// What a record of `campaign` at `now` needs, if memory holds all of it.
    fn ready(&self, memory: &Memory, campaign: &str, now: u64) -> Option<Ready> {
        let cached = memory.campaigns.get(campaign)?;
        if cached.next.as_ref().is_some_and(|(_, from)| now >= *from)
            || self.shared.writer.len() >= MAX_QUEUED
        {
            return None;
        }
        let config = &cached.config;
        let (digest, _) = memory.encoders.get(campaign)?;
        let &(latest, spent) = memory.latest.get(campaign)?;
        let epoch = schedule::epoch_at(now, config.epoch_seconds());
        let spent = match epoch.cmp(&latest) {
            Ordering::Equal => spent,
            Ordering::Greater => 0,
            Ordering::Less => return None,
        };
        if lifetime::unloaded(&memory.lifetime, config) {
            return None;
        }
        (*digest == config.digest()).then(|| Ready {
            config: Arc::clone(config),
            epoch,
            spent,
        })
    }

    /// What a record of `campaign` at `now` needs, loaded from the store (or fetched).
    fn load(
        &self,
        store: &mut Store,
        memory: &mut Memory,
        campaign: &str,
        now: u64,
    ) -> Result<Ready, SdkError> {
        let config = self.config_for(store, memory, campaign, now)?;
        encoder_for(&mut memory.encoders, || store.secret(), &config)?;
        if lifetime::unloaded(&memory.lifetime, &config) {
            // The store must hold every charge of the campaign before its spend is read.
            self.shared.writer.flush(store);
            self.shared.writer.take_failure()?;
            let budget = LifetimeBudget::load(store, &config)?;
            memory.lifetime.insert(campaign.to_owned(), budget);
        }
        let epoch = schedule::epoch_at(now, config.epoch_seconds());
        let (latest, spent) = match memory.latest.get(campaign) {
            Some(&latest) => latest,
            None => {
                // Nothing of the campaign is queued before its first charge here.
                let latest = store.latest_charge(campaign)?.unwrap_or((0, 0));
                memory.latest.insert(campaign.to_owned(), latest);
                latest
            }
        };
        let spent = match epoch.cmp(&latest) {
            Ordering::Equal => spent,
            Ordering::Greater => 0,
            // The clock went back: count the epoch's charges, stored and queued (none is being
            // written: the caller holds the store).
            Ordering::Less => store
                .spent(campaign, epoch)?
                .saturating_add(self.shared.writer.queued(campaign, epoch)),
        };
        Ok(Ready {
            config,
            epoch,
            spent,
        })
    }

    /// Refuses the record if its epoch's allowance is spent; otherwise encodes it, charges it
    /// and queues it for the writer. Nothing is charged when anything fails.
    fn charge(
        &self,
        memory: &mut Memory,
        campaign: &str,
        ready: Ready,
        value: Value<'_>,
    ) -> Result<(), SdkError> {
        let Ready {
            config,
            epoch,
            spent,
        } = ready;
        let allowed = config.max_reports_per_epoch();
        if spent >= allowed {
            return Err(SdkError::BudgetExhausted {
                campaign: campaign.to_owned(),
                epoch,
                allowed,
            });
        }
        let Memory {
            encoders,
            latest,
            lifetime,
            rng,
            ..
        } = memory;
        let (_, encoder) = encoders
            .get_mut(campaign)
            .ok_or_else(|| SdkError::Storage("encoder cache".into()))?;
        let report = wire::encode(&encode(encoder, &config, value)?)?;
        let memo = memo_tag(encoder, &config, value)?;
        if config.max_lifetime_epsilon().is_some() {
            lifetime
                .get_mut(campaign)
                .ok_or_else(|| SdkError::Storage("lifetime cache".into()))?
                .charge(&config, memo)?;
        }
        let mut batch_id = [0; 16];
        rng.fill_bytes(&mut batch_id);
        let window = self
            .options
            .release_window_seconds
            .unwrap_or(config.epoch_seconds());
        let release_at = schedule::release_time(epoch, config.epoch_seconds(), window, rng);
        if let Some(charged) = latest.get_mut(campaign)
            && epoch >= charged.0
        {
            *charged = (epoch, spent + 1);
        }
        self.shared.writer.push(Record {
            epsilon: LifetimeSpend::report_epsilon(config.params()),
            config,
            epoch,
            report,
            batch_id: BatchId(batch_id),
            release_at,
            memo,
        });
        Ok(())
    }

    /// The configuration of `campaign` in force at `now`: cached (a newer one takes over at
    /// its epoch), or fetched once from the collector.
    fn config_for(
        &self,
        store: &mut Store,
        memory: &mut Memory,
        campaign: &str,
        now: u64,
    ) -> Result<Arc<CampaignConfig>, SdkError> {
        if let Some(cached) = memory.cached(store, campaign)? {
            if let Some((next, switch_at)) = cached.next
                && now >= switch_at
            {
                store.promote(campaign)?;
                memory.campaigns.remove(campaign);
                return Ok(next);
            }
            return Ok(cached.config);
        }
        if memory
            .unknown
            .get(campaign)
            .is_some_and(|&until| now < until)
        {
            return Err(SdkError::UnknownCampaign(campaign.to_owned()));
        }
        let config = self.fetch_config(campaign).inspect_err(|e| {
            if let SdkError::UnknownCampaign(_) = e {
                let until = now.saturating_add(UNKNOWN_CAMPAIGN_SECONDS);
                memory.unknown.insert(campaign.to_owned(), until);
            }
        })?;
        memory.unknown.remove(campaign);
        let epoch = schedule::epoch_at(now, config.epoch_seconds());
        store.put_config(&config, epoch, 0)?;
        memory.campaigns.remove(campaign);
        Ok(Arc::new(config))
    }

    /// Writes every recorded value to the state file now, instead of moments later (the app
    /// may call it when it goes to the background). Reports a write that failed.
    pub fn flush(&self) -> Result<(), SdkError> {
        self.shared.writer.flush(&mut lock(&self.shared.store));
        self.shared.writer.take_failure()
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
        campaign_view(campaign, &body)
    }

    /// Sends every batch that is due (its epoch has ended and its random release time has
    /// passed), after making its charge durable. Acknowledged batches leave the outbox; a
    /// batch the collector refuses for good is dropped and counted; on a transport failure,
    /// 401, 403, 408, 425, 429 or 5xx sending stops and the batch is retried later, with the
    /// identical bytes.
    /// Also picks up changed campaign configurations, once per epoch. Does nothing while
    /// uploads are disabled.
    pub fn upload_pending(&self) -> Result<UploadSummary, SdkError> {
        let mut store = lock(&self.shared.store);
        self.shared.writer.flush(&mut store);
        self.shared.writer.take_failure()?;
        let mut summary = UploadSummary::default();
        // The memory lock is taken briefly, never across a request: records go on meanwhile.
        if lock(&self.shared.memory).upload_enabled(&store)? {
            let now = self.clock.now();
            self.refresh_configs(&mut store, now)?;
            for batch in store.seal_due(now)? {
                let request = HttpRequest {
                    method: "POST".into(),
                    url: format!("{}/v1/campaigns/{}/reports", self.base_url, batch.campaign),
                    headers: vec![("content-type".into(), BATCH_CONTENT_TYPE.into())],
                    body: batch.body,
                };
                match Outcome::of(self.transport.send(&request)) {
                    Outcome::Success(_) => {
                        store.acknowledge(batch.row, batch.reports)?;
                        summary.batches_sent += 1;
                        summary.reports_sent += batch.reports;
                    }
                    Outcome::Refused { status, detail } => {
                        tracing::warn!(status, %detail, campaign = %batch.campaign, "batch refused; dropped");
                        store.reject(batch.row, batch.reports, &detail)?;
                        summary.batches_rejected += 1;
                    }
                    Outcome::Retry { error, retry_after } => {
                        let attempts = batch.attempts.saturating_add(1);
                        let wait = schedule::retry_delay(
                            attempts,
                            self.options.retry_base_seconds,
                            self.options.retry_max_seconds,
                            retry_after,
                            &mut lock(&self.shared.memory).rng,
                        );
                        store.defer(batch.row, attempts, now.saturating_add(wait))?;
                        summary.error = Some(error);
                        break;
                    }
                }
            }
        }
        store.checkpoint()?;
        let (batches, reports, next) = store.waiting()?;
        summary.batches_waiting = batches;
        summary.reports_waiting = reports;
        summary.next_due = next;
        Ok(summary)
    }

    /// Asks the collector once per epoch whether each cached campaign's configuration changed;
    /// a changed one takes over at the next epoch. An unreachable collector changes nothing.
    fn refresh_configs(&self, store: &mut Store, now: u64) -> Result<(), SdkError> {
        for id in store.campaigns()? {
            let Some(cached) = lock(&self.shared.memory).cached(store, &id)? else {
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
                    store.put_config(&config, epoch, switch_at)?;
                }
                Err(e) => {
                    tracing::debug!(campaign = %id, error = %e, "configuration not refreshed");
                    store.mark_checked(&id, epoch)?;
                }
            }
            lock(&self.shared.memory).campaigns.remove(&id);
        }
        Ok(())
    }

    /// Turns uploads on or off. Off deletes every report waiting in the outbox (overwritten on
    /// disk) and makes `record` and `upload_pending` do nothing; the ledger is kept, so budget
    /// already spent stays spent.
    pub fn set_upload_enabled(&self, enabled: bool) -> Result<(), SdkError> {
        let mut store = lock(&self.shared.store);
        // Queued charges are written (and their reports deleted with the rest).
        self.shared.writer.flush(&mut store);
        let mut memory = lock(&self.shared.memory);
        memory.enabled = None;
        store.set_upload_enabled(enabled)?;
        memory.enabled = Some(enabled);
        Ok(())
    }

    /// Whether uploads are enabled (they are until [`Client::set_upload_enabled`] turns them
    /// off; the choice persists).
    pub fn upload_enabled(&self) -> Result<bool, SdkError> {
        let store = lock(&self.shared.store);
        lock(&self.shared.memory).upload_enabled(&store)
    }

    /// What this device has spent on `campaign`: reports and ε per epoch and over its lifetime
    /// (for a memoized mechanism, the permanent responses drawn times ε∞).
    pub fn privacy_spent(&self, campaign: &str) -> Result<PrivacySpent, SdkError> {
        let mut store = lock(&self.shared.store);
        self.shared.writer.flush(&mut store);
        let config = lock(&self.shared.memory).cached(&store, campaign)?;
        lifetime::privacy_spent(&store, campaign, config.map(|cached| cached.config))
    }

    /// Counters of the outbox's history: `acknowledged_batches`, `acknowledged_reports`,
    /// `rejected_batches`, `rejected_reports`, `dropped_batches` and `dropped_reports` (dropped
    /// when the outbox was full). Unknown names read 0.
    pub fn counter(&self, name: &str) -> Result<u64, SdkError> {
        let mut store = lock(&self.shared.store);
        self.shared.writer.flush(&mut store);
        store.counter(name)
    }
}

impl Drop for Client {
    /// Writes what is queued: the writing thread finishes the queue and stops.
    fn drop(&mut self) {
        self.shared.writer.stop();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the writing thread panicked");
        }
        // Without a writing thread (or after it failed), the rest is written here.
        self.shared.writer.flush(&mut lock(&self.shared.store));
        if let Err(e) = self.shared.writer.take_failure() {
            tracing::error!(error = %e, "recorded values lost when the client closed");
        }
    }
}
