//! Reading a snapshot of layout version 1 (before the lifetime ledger): the same state, and
//! each campaign's charges entered into the lifetime ledger by composition (the sum of their
//! ε, the bound they were charged under), under digest 0.

use std::collections::BTreeMap;

use ldp_protocol::LifetimeSpend;
use serde::Deserialize;

use super::{Cached, Lifetime, Pending, SNAPSHOT_VERSION, State};

/// The layout of version 1, read to be upgraded.
#[derive(Debug, Deserialize)]
pub(super) struct StateV1 {
    pub version: u32,
    secret: [u8; 32],
    upload_enabled: bool,
    configs: BTreeMap<String, Cached>,
    ledger: BTreeMap<String, BTreeMap<u64, (u32, f64)>>,
    batches: Vec<Pending>,
    next_row: u32,
    counters: BTreeMap<String, u64>,
}

impl From<StateV1> for State {
    fn from(old: StateV1) -> Self {
        let lifetime = old
            .ledger
            .iter()
            .map(|(campaign, epochs)| {
                let spend = LifetimeSpend {
                    reports: epochs
                        .values()
                        .map(|&(reports, _)| u64::from(reports))
                        .sum(),
                    composed: epochs.values().map(|&(_, epsilon)| epsilon).sum(),
                    permanent_responses: 0,
                };
                let before = Lifetime {
                    spend,
                    ..Lifetime::default()
                };
                (campaign.clone(), BTreeMap::from([(0, before)]))
            })
            .collect();
        Self {
            version: SNAPSHOT_VERSION,
            secret: old.secret,
            upload_enabled: old.upload_enabled,
            configs: old.configs,
            ledger: old.ledger,
            batches: old.batches,
            next_row: old.next_row,
            counters: old.counters,
            lifetime,
        }
    }
}
