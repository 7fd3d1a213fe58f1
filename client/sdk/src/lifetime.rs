//! A campaign's lifetime bound on the device (`max_lifetime_epsilon`): what `record` checks
//! before it charges a report.
//!
//! The store's lifetime ledger holds, per configuration of a campaign, the reports sent, the
//! sum of their ε and the permanent responses they were drawn from; the campaign's lifetime ε
//! is the sum of each configuration's bound ([`LifetimeSpend`]). For a campaign with a bound,
//! the client keeps the configuration in force's share in memory, with the tags of its
//! permanent responses, so that a record decides without reading the store.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ldp_client::MemoTag;
use ldp_protocol::{CampaignConfig, LifetimeSpend};

use crate::encoding::charge_lifetime;
use crate::error::SdkError;
use crate::store::{LifetimeRow, Store};
use crate::types::{EpochSpend, PrivacySpent};

/// The lifetime spend of one bounded campaign, in memory. Exact: the client is its store's
/// only writer, and it is loaded when nothing of the campaign is waiting to be written.
#[derive(Debug)]
pub(crate) struct LifetimeBudget {
    /// The configuration it accounts for.
    digest: u64,
    /// ε of the campaign's other configurations (and of charges from before lifetime
    /// accounting).
    earlier: f64,
    /// What the configuration's reports have spent.
    spend: LifetimeSpend,
    /// The permanent responses they were drawn from.
    tags: HashSet<MemoTag>,
}

impl LifetimeBudget {
    /// The campaign's spend as the store has it, for configuration `config`.
    pub fn load(store: &Store, config: &CampaignConfig) -> Result<Self, SdkError> {
        let campaign = config.id().as_str();
        let digest = config.digest();
        let rows = store.lifetime(campaign)?;
        let earlier = rows
            .iter()
            .filter(|row| row.digest != digest)
            .map(LifetimeRow::epsilon)
            .sum();
        let spend = rows
            .iter()
            .find(|row| row.digest == digest)
            .map_or_else(LifetimeSpend::default, |row| row.spend);
        let tags = store.memo_tags(campaign, digest)?.into_iter().collect();
        Ok(Self {
            digest,
            earlier,
            spend,
            tags,
        })
    }

    /// Charges one report under `config`, drawn from permanent response `tag` (memoized
    /// mechanisms), or refuses it when it would take the lifetime ε past the campaign's bound.
    pub fn charge(
        &mut self,
        config: &CampaignConfig,
        tag: Option<MemoTag>,
    ) -> Result<(), SdkError> {
        let new = tag.is_some_and(|tag| !self.tags.contains(&tag));
        self.spend = charge_lifetime(config, self.earlier, self.spend, new)?;
        if let Some(tag) = tag {
            self.tags.insert(tag);
        }
        Ok(())
    }
}

/// A campaign's lifetime ε from its rows: the sum of each configuration's bound.
fn total(rows: &[LifetimeRow]) -> f64 {
    rows.iter().map(LifetimeRow::epsilon).sum()
}

/// Whether `config` bounds the lifetime ε and `budgets` (per campaign) does not hold its spend
/// under this configuration yet.
pub(crate) fn unloaded(budgets: &HashMap<String, LifetimeBudget>, config: &CampaignConfig) -> bool {
    config.max_lifetime_epsilon().is_some()
        && budgets
            .get(config.id().as_str())
            .is_none_or(|budget| budget.digest != config.digest())
}

/// What the store holds of the device's spending on `campaign`, whose configuration in force
/// is `config` (if cached).
pub(crate) fn privacy_spent(
    store: &Store,
    campaign: &str,
    config: Option<Arc<CampaignConfig>>,
) -> Result<PrivacySpent, SdkError> {
    let epochs: Vec<EpochSpend> = store
        .ledger(campaign)?
        .into_iter()
        .map(|(epoch, reports, epsilon)| EpochSpend {
            epoch,
            reports,
            epsilon,
        })
        .collect();
    let rows = store.lifetime(campaign)?;
    Ok(PrivacySpent {
        campaign: campaign.to_owned(),
        lifetime_reports: epochs.iter().map(|e| u64::from(e.reports)).sum(),
        lifetime_epsilon: total(&rows),
        permanent_responses: rows.iter().map(|r| r.spend.permanent_responses).sum(),
        max_lifetime_epsilon: config.and_then(|config| config.max_lifetime_epsilon()),
        epochs,
    })
}
