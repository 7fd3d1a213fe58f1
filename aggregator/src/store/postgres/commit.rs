//! The group commit on PostgreSQL: one transaction per group, campaign rows share-locked and
//! batch ids locked in one global order (so two nodes' groups cannot deadlock), partial counter
//! rows per node; serialization failures and deadlocks are retried by the caller.

use std::collections::{BTreeMap, BTreeSet};

use postgres::Transaction;
use postgres::error::SqlState;

use super::super::chunks;
use super::super::{
    BatchDelta, CampaignState, CommitOutcome, StoreError, open_for, repeat_outcome, to_i64,
};
use super::PostgresStore;

pub(super) fn is_retryable(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
    )
}

/// A failure inside a commit attempt: retryable or not.
pub(super) enum AttemptError {
    Postgres(postgres::Error),
    Store(StoreError),
}

impl From<postgres::Error> for AttemptError {
    fn from(e: postgres::Error) -> Self {
        Self::Postgres(e)
    }
}

impl From<StoreError> for AttemptError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<crate::AggregateError> for AttemptError {
    fn from(e: crate::AggregateError) -> Self {
        Self::Store(e.into())
    }
}

impl PostgresStore {
    pub(super) fn commit_attempt(
        &self,
        tx: &mut Transaction<'_>,
        group: &[&BatchDelta],
    ) -> Result<Vec<CommitOutcome>, AttemptError> {
        // Lock ids in one global order, so two nodes' groups cannot deadlock.
        let mut order: Vec<usize> = (0..group.len()).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (group.get(a), group.get(b));
            a.map(|d| (&d.campaign, d.batch_id))
                .cmp(&b.map(|d| (&d.campaign, d.batch_id)))
        });
        let insert = tx.prepare(
            "INSERT INTO batch_ids (campaign, batch_id, epoch, content) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )?;
        let known =
            tx.prepare("SELECT content FROM batch_ids WHERE campaign = $1 AND batch_id = $2")?;
        let states = campaign_states(tx, group)?;
        let mut outcomes = vec![CommitOutcome::Closed; group.len()];
        for &i in &order {
            let Some(delta) = group.get(i) else { continue };
            let state = states.get(delta.campaign.as_str());
            if !state.is_some_and(|state| open_for(state, delta)) {
                continue;
            }
            let id = &delta.batch_id.0[..];
            let inserted = tx.execute(
                &insert,
                &[
                    &delta.campaign,
                    &id,
                    &to_i64(delta.epoch)?,
                    &&delta.content[..],
                ],
            )?;
            let outcome = if inserted == 1 {
                CommitOutcome::Counted
            } else {
                // The row is there (the insert met it), unless a concurrent transaction made
                // it after this one's snapshot: then it is nobody's count here, a duplicate.
                let content: Option<Vec<u8>> = tx
                    .query_opt(&known, &[&delta.campaign, &id])?
                    .and_then(|row| row.get(0));
                repeat_outcome(content.as_deref(), delta)
            };
            if let Some(slot) = outcomes.get_mut(i) {
                *slot = outcome;
            }
        }
        // Sums per (campaign, epoch) and chunk, in sorted order: the lock order of the rows.
        let count = tx.prepare(
            "INSERT INTO counters (campaign, epoch, node, n, cells) VALUES ($1, $2, $3, $4, '')
             ON CONFLICT (campaign, epoch, node) DO UPDATE SET n = counters.n + excluded.n",
        )?;
        // A new chunk is inserted whole; an existing one is locked, added to and rewritten. The
        // insert waits for any concurrent inserter of the same chunk, so two processes sharing
        // a node id serialize here instead of overwriting each other.
        let insert_new = tx.prepare(
            "INSERT INTO counter_chunks (campaign, epoch, node, chunk, cells)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (campaign, epoch, node, chunk) DO NOTHING",
        )?;
        let select = tx.prepare(
            "SELECT cells FROM counter_chunks
             WHERE campaign = $1 AND epoch = $2 AND node = $3 AND chunk = $4 FOR UPDATE",
        )?;
        let update = tx.prepare(
            "UPDATE counter_chunks SET cells = $5
             WHERE campaign = $1 AND epoch = $2 AND node = $3 AND chunk = $4",
        )?;
        for ((campaign, epoch), row) in chunks::sum_group(group, &outcomes)? {
            let epoch = to_i64(epoch)?;
            tx.execute(&count, &[&campaign, &epoch, &self.node, &to_i64(row.n)?])?;
            for (index, mut sum) in row.chunks {
                let index = to_i64(index)?;
                let key: [&(dyn postgres::types::ToSql + Sync); 4] =
                    [&campaign, &epoch, &self.node, &index];
                let fresh = chunks::encode(&sum);
                if tx.execute(&insert_new, &[key[0], key[1], key[2], key[3], &fresh])? == 1 {
                    continue;
                }
                let stored: Vec<u8> = tx.query_one(&select, &key)?.get(0);
                chunks::add_stored(&mut sum, &stored)?;
                let cells = chunks::encode(&sum);
                tx.execute(&update, &[key[0], key[1], key[2], key[3], &cells])?;
            }
        }
        Ok(outcomes)
    }
}

/// Share-locks the row of every campaign in `group`, in id order (before any batch id, in every
/// transaction: one global lock order), and reads its state: closing or deleting a campaign
/// waits for the commits holding it, and a commit after them sees them.
fn campaign_states<'g>(
    tx: &mut Transaction<'_>,
    group: &[&'g BatchDelta],
) -> Result<BTreeMap<&'g str, CampaignState>, AttemptError> {
    let select = tx.prepare("SELECT digest, closed_at FROM campaigns WHERE id = $1 FOR SHARE")?;
    let ids: BTreeSet<&str> = group.iter().map(|d| d.campaign.as_str()).collect();
    let mut states = BTreeMap::new();
    for id in ids {
        let row = tx.query_opt(&select, &[&id])?;
        states.insert(id, row.map(|r| (r.get(0), r.get(1))));
    }
    Ok(states)
}
