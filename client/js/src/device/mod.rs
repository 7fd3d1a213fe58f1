//! The device's state as one value: budget ledger, outbox, cached configurations, device secret
//! and upload switch. It lives in memory and is saved whole ([`Device::snapshot`]) by the
//! JavaScript side into the app's store; the rules are the native SDK's (`ldp-sdk`), in the
//! same words: a report and its charge enter the state together, every epoch's reports wait
//! in one batch released at a random moment after the epoch ends, a batch's bytes are frozen
//! when it is first sent so that a retry resends them exactly, and nothing is sent before the
//! state holding its charge has been saved (the JavaScript side's duty: it saves after
//! [`Device::due`] and before sending).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use ldp_client::{DeviceSecret, ProductionRng};
use ldp_protocol::{Batch, BatchId, CampaignConfig, LifetimeSpend, wire};
use ldp_sdk::encoding::{DeviceEncoder, Value, charge_lifetime, encode, encoder_for, memo_tag};
use ldp_sdk::schedule::{self, epoch_at};
use ldp_sdk::transport::{HttpResponse, Outcome, campaign_view};
use ldp_sdk::{ClientOptions, EpochSpend, PrivacySpent, SdkError};
use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use upgrade::StateV1;

mod upgrade;

/// Version of the snapshot's layout; a snapshot of another version is refused, not guessed at
/// (version 1, from before the lifetime ledger, is read and given one).
const SNAPSHOT_VERSION: u32 = 2;

/// Largest outbox a snapshot holds, in report bytes: a snapshot must stay decodable
/// (`wire::MAX_DECODE_BYTES`, with room for the rest of the state).
pub const MAX_OUTBOX_BYTES: u64 = 12 << 20;

/// What is saved.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    version: u32,
    secret: [u8; 32],
    upload_enabled: bool,
    configs: BTreeMap<String, Cached>,
    /// Per campaign, per epoch: reports charged and the ε they spent.
    ledger: BTreeMap<String, BTreeMap<u64, (u32, f64)>>,
    /// The outbox, oldest first.
    batches: Vec<Pending>,
    next_row: u32,
    counters: BTreeMap<String, u64>,
    /// Per campaign, per configuration digest: the lifetime ledger (digest 0: charges from
    /// before it existed, counted by composition).
    lifetime: BTreeMap<String, BTreeMap<u64, Lifetime>>,
}

/// One configuration's share of a campaign's lifetime spend.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Lifetime {
    spend: LifetimeSpend,
    /// ε∞ of a memoized mechanism.
    epsilon_permanent: Option<f64>,
    /// Tags of the permanent responses drawn.
    tags: BTreeSet<[u8; 16]>,
}

impl Lifetime {
    fn epsilon(&self) -> f64 {
        self.spend.bound(self.epsilon_permanent)
    }
}

/// A campaign's configuration as the collector announced it (JSON, digest-checked on arrival).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cached {
    json: String,
    /// The last epoch in which the collector was asked for a newer configuration.
    checked_epoch: u64,
    /// A newer configuration and the time it takes over (the end of the epoch it arrived in).
    next: Option<(String, u64)>,
}

/// One batch in the outbox.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    row: u32,
    release_at: u64,
    next_attempt_at: u64,
    attempts: u32,
    /// Report bytes, for the outbox's bound.
    bytes: u64,
    batch: Batch,
    /// The bytes sent, frozen on the first attempt.
    body: Option<Vec<u8>>,
}

/// A batch to send: where, and the exact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The batch's row in the outbox, to report the answer with.
    pub row: u32,
    /// Campaign id (the URL is `/v1/campaigns/{campaign}/reports`).
    pub campaign: String,
    /// The batch in the wire format.
    pub body: Vec<u8>,
}

/// What became of one sent batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Counted by the collector (now, or before an answer that was lost): gone from the outbox.
    Acknowledged {
        /// Reports in it.
        reports: u64,
    },
    /// Refused for good: dropped and counted.
    Rejected {
        /// Reports in it.
        reports: u64,
    },
    /// To be sent again, with the same bytes, no earlier than `at`; stop sending for now.
    Retry {
        /// Unix time of the next attempt.
        at: u64,
    },
}

/// The device SDK's state and rules, without I/O: the caller supplies the time, fetches
/// configurations, sends uploads and saves snapshots.
#[derive(Debug)]
pub struct Device {
    state: State,
    options: ClientOptions,
    parsed: HashMap<String, Arc<CampaignConfig>>,
    encoders: HashMap<String, (u64, DeviceEncoder)>,
    rng: ProductionRng,
}

impl Device {
    /// A device from a saved snapshot, or a new one (with a new device secret) when there is
    /// none.
    pub fn open(snapshot: Option<&[u8]>, mut options: ClientOptions) -> Result<Self, SdkError> {
        options.max_outbox_bytes = options.max_outbox_bytes.min(MAX_OUTBOX_BYTES);
        options.max_batch_reports = options.max_batch_reports.max(1);
        let state = match snapshot {
            Some(bytes) => {
                let state = match wire::decode::<State>(bytes) {
                    Ok(state) => state,
                    Err(e) => match wire::decode::<StateV1>(bytes) {
                        Ok(old) if old.version == 1 => State::from(old),
                        _ => {
                            return Err(SdkError::Storage(format!(
                                "the saved state is unreadable: {e}"
                            )));
                        }
                    },
                };
                if state.version != SNAPSHOT_VERSION {
                    return Err(SdkError::Storage(format!(
                        "the saved state has layout version {}, this package reads {SNAPSHOT_VERSION}",
                        state.version
                    )));
                }
                state
            }
            None => State {
                version: SNAPSHOT_VERSION,
                secret: *DeviceSecret::generate()?.as_bytes(),
                upload_enabled: true,
                configs: BTreeMap::new(),
                ledger: BTreeMap::new(),
                batches: Vec::new(),
                next_row: 0,
                counters: BTreeMap::new(),
                lifetime: BTreeMap::new(),
            },
        };
        Ok(Self {
            state,
            options,
            parsed: HashMap::new(),
            encoders: HashMap::new(),
            rng: ProductionRng::from_os()?,
        })
    }

    /// The whole state in the wire format, for the store.
    pub fn snapshot(&self) -> Result<Vec<u8>, SdkError> {
        Ok(wire::encode(&self.state)?)
    }

    /// Whether `campaign`'s configuration must be fetched before it can be recorded.
    pub fn needs_config(&self, campaign: &str) -> bool {
        !self.state.configs.contains_key(campaign)
    }

    /// Takes the collector's answer to `GET /v1/campaigns/{campaign}` (checked against its
    /// digest). A first configuration is in force at once; a changed one takes over when the
    /// epoch in force ends, never in the middle.
    pub fn install_config(
        &mut self,
        campaign: &str,
        body: &[u8],
        now: u64,
    ) -> Result<(), SdkError> {
        let config = campaign_view(campaign, body)?;
        let json = serde_json::to_string(&config).map_err(|e| SdkError::Config(e.to_string()))?;
        if !self.state.configs.contains_key(campaign) {
            let checked_epoch = epoch_at(now, config.epoch_seconds());
            self.state.configs.insert(
                campaign.to_owned(),
                Cached {
                    json,
                    checked_epoch,
                    next: None,
                },
            );
            return Ok(());
        }
        let current = self.parsed_config(campaign)?;
        let epoch = epoch_at(now, current.epoch_seconds());
        if let Some(cached) = self.state.configs.get_mut(campaign) {
            cached.checked_epoch = epoch;
            cached.next = (current.digest() != config.digest())
                .then(|| (json, schedule::epoch_end(epoch, current.epoch_seconds())));
        }
        Ok(())
    }

    /// Campaigns whose configuration has not been checked with the collector in the current
    /// epoch (the caller fetches each and calls [`Device::install_config`], or
    /// [`Device::config_unavailable`] when the collector cannot be asked).
    pub fn configs_to_check(&mut self, now: u64) -> Vec<String> {
        let ids: Vec<String> = self.state.configs.keys().cloned().collect();
        ids.into_iter()
            .filter(|id| {
                self.parsed_config(id).is_ok_and(|config| {
                    self.state.configs.get(id).is_some_and(|cached| {
                        cached.checked_epoch < epoch_at(now, config.epoch_seconds())
                    })
                })
            })
            .collect()
    }

    /// The collector could not be asked for `campaign` in this epoch: asked again next epoch.
    pub fn config_unavailable(&mut self, campaign: &str, now: u64) {
        if let Ok(config) = self.parsed_config(campaign)
            && let Some(cached) = self.state.configs.get_mut(campaign)
        {
            cached.checked_epoch = epoch_at(now, config.epoch_seconds());
        }
    }

    /// The parsed configuration of `campaign` in force (a newer one is promoted first when
    /// its time has come).
    fn config_in_force(
        &mut self,
        campaign: &str,
        now: u64,
    ) -> Result<Arc<CampaignConfig>, SdkError> {
        let cached = self
            .state
            .configs
            .get_mut(campaign)
            .ok_or_else(|| SdkError::UnknownCampaign(campaign.to_owned()))?;
        if let Some((_, switch_at)) = &cached.next
            && now >= *switch_at
            && let Some((json, _)) = cached.next.take()
        {
            cached.json = json;
            self.parsed.remove(campaign);
        }
        self.parsed_config(campaign)
    }

    fn parsed_config(&mut self, campaign: &str) -> Result<Arc<CampaignConfig>, SdkError> {
        if let Some(config) = self.parsed.get(campaign) {
            return Ok(Arc::clone(config));
        }
        let cached = self
            .state
            .configs
            .get(campaign)
            .ok_or_else(|| SdkError::UnknownCampaign(campaign.to_owned()))?;
        let config: CampaignConfig = serde_json::from_str(&cached.json)
            .map_err(|e| SdkError::Storage(format!("cached configuration of {campaign}: {e}")))?;
        let config = Arc::new(config);
        self.parsed.insert(campaign.to_owned(), Arc::clone(&config));
        Ok(config)
    }

    /// Charges one report under `config`, drawn from permanent response `tag` (memoized
    /// mechanisms), to the lifetime ledger, or refuses it when it would take the campaign's
    /// lifetime ε past its bound, changing nothing.
    fn charge_lifetime(
        &mut self,
        config: &CampaignConfig,
        tag: Option<[u8; 16]>,
    ) -> Result<(), SdkError> {
        let digest = config.digest();
        let shares = self
            .state
            .lifetime
            .entry(config.id().as_str().to_owned())
            .or_default();
        let earlier = shares
            .iter()
            .filter(|&(&d, _)| d != digest)
            .map(|(_, share)| share.epsilon())
            .sum();
        let share = shares.entry(digest).or_insert_with(|| Lifetime {
            epsilon_permanent: config.params().epsilon_permanent(),
            ..Lifetime::default()
        });
        let new = tag.is_some_and(|tag| !share.tags.contains(&tag));
        share.spend = charge_lifetime(config, earlier, share.spend, new)?;
        share.tags.extend(tag);
        Ok(())
    }

    /// Records `value` for `campaign` at `now`: refused with a typed error, changing nothing,
    /// when the campaign is not cached, the value is not in its domain, or the epoch's budget
    /// is spent. Does nothing while uploads are disabled.
    pub fn record(&mut self, campaign: &str, value: Value<'_>, now: u64) -> Result<(), SdkError> {
        if !self.state.upload_enabled {
            return Ok(());
        }
        let config = self.config_in_force(campaign, now)?;
        let epoch = epoch_at(now, config.epoch_seconds());
        let allowed = config.max_reports_per_epoch();
        let spent = self
            .state
            .ledger
            .get(campaign)
            .and_then(|epochs| epochs.get(&epoch))
            .map_or(0, |&(reports, _)| reports);
        if spent >= allowed {
            return Err(SdkError::BudgetExhausted {
                campaign: campaign.to_owned(),
                epoch,
                allowed,
            });
        }
        let secret = self.state.secret;
        let encoder = encoder_for(
            &mut self.encoders,
            || Ok(DeviceSecret::from_bytes(secret)),
            &config,
        )?;
        let report = encode(encoder, &config, value)?;
        let bytes = wire::encode(&report)?.len() as u64;
        let tag = memo_tag(encoder, &config, value)?.map(|tag| tag.0);
        self.charge_lifetime(&config, tag)?;
        let charge = self
            .state
            .ledger
            .entry(campaign.to_owned())
            .or_default()
            .entry(epoch)
            .or_insert((0, 0.0));
        charge.0 += 1;
        charge.1 += LifetimeSpend::report_epsilon(config.params());
        let digest = config.digest();
        let max_reports = usize::try_from(self.options.max_batch_reports).unwrap_or(usize::MAX);
        let open = self.state.batches.iter_mut().rev().find(|p| {
            p.body.is_none()
                && p.batch.epoch == epoch
                && p.batch.config_digest == digest
                && p.batch.campaign.as_str() == campaign
                && p.batch.reports.len() < max_reports
        });
        let row = match open {
            Some(pending) => {
                pending.batch.reports.push(report);
                pending.bytes += bytes;
                pending.row
            }
            None => {
                let mut id = [0; 16];
                self.rng.fill_bytes(&mut id);
                let window = self
                    .options
                    .release_window_seconds
                    .unwrap_or(config.epoch_seconds());
                let release_at =
                    schedule::release_time(epoch, config.epoch_seconds(), window, &mut self.rng);
                let mut batch = Batch::new(&config, epoch, BatchId(id));
                batch.reports.push(report);
                let row = self.state.next_row;
                self.state.next_row = row.wrapping_add(1);
                self.state.batches.push(Pending {
                    row,
                    release_at,
                    next_attempt_at: 0,
                    attempts: 0,
                    bytes,
                    batch,
                    body: None,
                });
                row
            }
        };
        self.bound_outbox(row);
        Ok(())
    }

    /// Drops the oldest batches (never `keep`) while the outbox is over its bounds.
    fn bound_outbox(&mut self, keep: u32) {
        loop {
            let batches = self.state.batches.len() as u64;
            let bytes: u64 = self.state.batches.iter().map(|p| p.bytes).sum();
            if batches <= self.options.max_outbox_batches && bytes <= self.options.max_outbox_bytes
            {
                return;
            }
            let Some(oldest) = self.state.batches.iter().position(|p| p.row != keep) else {
                return;
            };
            let dropped = self.state.batches.remove(oldest);
            self.bump("dropped_batches", 1);
            self.bump("dropped_reports", dropped.batch.reports.len() as u64);
        }
    }

    fn bump(&mut self, name: &str, by: u64) {
        let counter = self.state.counters.entry(name.to_owned()).or_insert(0);
        *counter = counter.saturating_add(by);
    }

    /// Freezes the bytes of every batch due at `now` and returns them, oldest first. The
    /// caller saves the snapshot before sending any of them.
    pub fn due(&mut self, now: u64) -> Result<Vec<Upload>, SdkError> {
        if !self.state.upload_enabled {
            return Ok(Vec::new());
        }
        let mut due = Vec::new();
        for pending in &mut self.state.batches {
            if pending.release_at > now || pending.next_attempt_at > now {
                continue;
            }
            let body = match &pending.body {
                Some(body) => body.clone(),
                None => {
                    let body = wire::encode(&pending.batch)?;
                    pending.body = Some(body.clone());
                    body
                }
            };
            due.push(Upload {
                row: pending.row,
                campaign: pending.batch.campaign.as_str().to_owned(),
                body,
            });
        }
        Ok(due)
    }

    /// Takes the collector's answer to batch `row` (`response`, or the transport's error).
    pub fn delivered(
        &mut self,
        row: u32,
        response: Result<HttpResponse, String>,
        now: u64,
    ) -> Result<Delivery, SdkError> {
        let index = self
            .state
            .batches
            .iter()
            .position(|p| p.row == row)
            .ok_or_else(|| SdkError::InvalidArgument(format!("no batch {row} in the outbox")))?;
        let outcome = Outcome::of(response);
        if let Outcome::Retry { retry_after, .. } = outcome {
            let pending = self
                .state
                .batches
                .get_mut(index)
                .ok_or_else(|| SdkError::InvalidArgument(format!("no batch {row}")))?;
            pending.attempts = pending.attempts.saturating_add(1);
            let wait = schedule::retry_delay(
                pending.attempts,
                self.options.retry_base_seconds,
                self.options.retry_max_seconds,
                retry_after,
                &mut self.rng,
            );
            pending.next_attempt_at = now.saturating_add(wait);
            return Ok(Delivery::Retry {
                at: pending.next_attempt_at,
            });
        }
        let pending = self.state.batches.remove(index);
        let reports = pending.batch.reports.len() as u64;
        Ok(match outcome {
            Outcome::Refused { .. } => {
                self.bump("rejected_batches", 1);
                self.bump("rejected_reports", reports);
                Delivery::Rejected { reports }
            }
            _ => {
                self.bump("acknowledged_batches", 1);
                self.bump("acknowledged_reports", reports);
                Delivery::Acknowledged { reports }
            }
        })
    }

    /// Batches and reports waiting, and when the next one is due.
    pub fn waiting(&self) -> (u64, u64, Option<u64>) {
        let batches = self.state.batches.len() as u64;
        let reports = self
            .state
            .batches
            .iter()
            .map(|p| p.batch.reports.len() as u64)
            .sum();
        let next = self
            .state
            .batches
            .iter()
            .map(|p| p.release_at.max(p.next_attempt_at))
            .min();
        (batches, reports, next)
    }

    /// Turns uploads on or off. Off deletes every waiting report and makes `record` and `due`
    /// do nothing; the ledger is kept, so budget already spent stays spent.
    pub fn set_upload_enabled(&mut self, enabled: bool) {
        self.state.upload_enabled = enabled;
        if !enabled {
            self.state.batches.clear();
        }
    }

    /// Whether uploads are enabled.
    pub fn upload_enabled(&self) -> bool {
        self.state.upload_enabled
    }

    /// What this device has spent on `campaign`: reports and ε per epoch and over its lifetime.
    pub fn privacy_spent(&self, campaign: &str) -> PrivacySpent {
        let epochs: Vec<EpochSpend> = self
            .state
            .ledger
            .get(campaign)
            .into_iter()
            .flatten()
            .map(|(&epoch, &(reports, epsilon))| EpochSpend {
                epoch,
                reports,
                epsilon,
            })
            .collect();
        let shares = self
            .state
            .lifetime
            .get(campaign)
            .into_iter()
            .flat_map(BTreeMap::values);
        let max_lifetime_epsilon = self.state.configs.get(campaign).and_then(|cached| {
            serde_json::from_str::<CampaignConfig>(&cached.json)
                .ok()?
                .max_lifetime_epsilon()
        });
        PrivacySpent {
            campaign: campaign.to_owned(),
            lifetime_reports: epochs.iter().map(|e| u64::from(e.reports)).sum(),
            lifetime_epsilon: shares.clone().map(Lifetime::epsilon).sum(),
            permanent_responses: shares.map(|share| share.spend.permanent_responses).sum(),
            max_lifetime_epsilon,
            epochs,
        }
    }

    /// The outbox's history counters (the native SDK's names); unknown names read 0.
    pub fn counter(&self, name: &str) -> u64 {
        self.state.counters.get(name).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests;
