//! What the service does every ten minutes (and a retention change at once): forget batch ids
//! that can no longer be accepted, and delete counters past their campaign's retention.

use super::Settings;
use crate::store::{Store, StoreError};

/// Forgets, for every campaign, the batch ids that can no longer be accepted at time `now`
/// (see [`Settings::batch_id_horizon`]); returns how many.
pub fn expire_batch_ids(
    store: &dyn Store,
    settings: &Settings,
    now: u64,
) -> Result<u64, StoreError> {
    let mut total = 0;
    for c in store.campaigns()? {
        let horizon = settings.batch_id_horizon(now, c.config.epoch_seconds());
        total += store.expire_batch_ids(c.config.id().as_str(), horizon)?;
    }
    Ok(total)
}

/// Deletes, for every campaign with a retention setting, the counters of epochs before its
/// last `retention_epochs` (the current epoch included) at time `now`; returns how many epochs'
/// counters.
pub fn apply_retention(store: &dyn Store, now: u64) -> Result<u64, StoreError> {
    let mut total = 0;
    for c in store.campaigns()? {
        let Some(keep) = c.retention_epochs else {
            continue;
        };
        let current = crate::query::current_epoch(&c.config, now);
        let first_kept = (current + 1).saturating_sub(keep);
        total += store.drop_epochs_before(c.config.id().as_str(), first_kept)?;
    }
    Ok(total)
}
