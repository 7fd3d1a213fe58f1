//! The lifetime ledger: per campaign and configuration, the reports sent, the sum of their ε,
//! and the permanent responses they were drawn from (one row in `memo` per tag), written in
//! the transaction that charges the epoch's ledger.

use std::collections::HashMap;

use ldp_client::MemoTag;
use ldp_protocol::LifetimeSpend;
use rusqlite::{Transaction, params};

use super::{Store, int, run, uint};
use crate::error::SdkError;

/// One configuration's share of a campaign's lifetime spend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LifetimeRow {
    /// The configuration's digest (0: charges from before lifetime accounting).
    pub digest: u64,
    /// What was spent under it.
    pub spend: LifetimeSpend,
    /// Its ε∞, for a memoized mechanism.
    pub epsilon_permanent: Option<f64>,
}

impl LifetimeRow {
    /// The ε bound of this configuration's reports: `permanent_responses` · ε∞ for a memoized
    /// mechanism, the sum of the per-report ε otherwise.
    pub fn epsilon(&self) -> f64 {
        self.spend.bound(self.epsilon_permanent)
    }
}

/// One write transaction's additions, per (campaign, digest), written at its end.
pub(super) type LifetimeBurst<'r> = HashMap<(&'r str, i64), LifetimeRow>;

impl Store {
    /// Adds one report to the lifetime ledger of its configuration: `tag` names the permanent
    /// response it was drawn from (memoized mechanisms), counted once per configuration.
    pub(super) fn add_lifetime<'r>(
        tx: &Transaction<'_>,
        burst: &mut LifetimeBurst<'r>,
        campaign: &'r str,
        digest: u64,
        epsilon: f64,
        permanent: Option<(MemoTag, f64)>,
    ) -> Result<(), SdkError> {
        let row = burst
            .entry((campaign, int(digest)))
            .or_insert_with(|| LifetimeRow {
                digest,
                spend: LifetimeSpend::default(),
                epsilon_permanent: permanent.map(|(_, eps)| eps),
            });
        row.spend.reports += 1;
        row.spend.composed += epsilon;
        if let Some((tag, _)) = permanent {
            let new = run(
                tx,
                "INSERT OR IGNORE INTO memo (campaign, digest, tag) VALUES (?1, ?2, ?3)",
                params![campaign, int(digest), &tag.0[..]],
            )?;
            row.spend.permanent_responses += new as u64;
        }
        Ok(())
    }

    /// Writes a transaction's lifetime additions.
    pub(super) fn write_lifetime(
        tx: &Transaction<'_>,
        burst: &LifetimeBurst<'_>,
    ) -> Result<(), SdkError> {
        for (&(campaign, digest), row) in burst {
            run(
                tx,
                "INSERT INTO lifetime
                     (campaign, digest, reports, composed, permanent_responses, epsilon_permanent)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (campaign, digest) DO UPDATE
                 SET reports = reports + excluded.reports,
                     composed = composed + excluded.composed,
                     permanent_responses = permanent_responses + excluded.permanent_responses",
                params![
                    campaign,
                    digest,
                    int(row.spend.reports),
                    row.spend.composed,
                    int(row.spend.permanent_responses),
                    row.epsilon_permanent,
                ],
            )?;
        }
        Ok(())
    }

    /// Every configuration's lifetime spend on `campaign`.
    pub fn lifetime(&self, campaign: &str) -> Result<Vec<LifetimeRow>, SdkError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT digest, reports, composed, permanent_responses, epsilon_permanent
             FROM lifetime WHERE campaign = ?1",
        )?;
        let rows = stmt
            .query_map(params![campaign], |r| {
                Ok(LifetimeRow {
                    digest: uint(r.get(0)?),
                    spend: LifetimeSpend {
                        reports: uint(r.get(1)?),
                        composed: r.get(2)?,
                        permanent_responses: uint(r.get(3)?),
                    },
                    epsilon_permanent: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The tags of the permanent responses drawn under configuration `digest` of `campaign`.
    pub fn memo_tags(&self, campaign: &str, digest: u64) -> Result<Vec<MemoTag>, SdkError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT tag FROM memo WHERE campaign = ?1 AND digest = ?2")?;
        let tags = stmt
            .query_map(params![campaign, int(digest)], |r| r.get::<_, Vec<u8>>(0))?
            .map(|tag| {
                let tag = tag?;
                <[u8; 16]>::try_from(tag.as_slice())
                    .map(MemoTag)
                    .map_err(|_| SdkError::Storage("a memo tag is corrupt".into()))
            })
            .collect::<Result<_, _>>()?;
        Ok(tags)
    }
}
