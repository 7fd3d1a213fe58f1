//! The ledger and the outbox: charging and enqueueing in one transaction, the outbox's bound,
//! sealing before a send, and what happens to a batch after it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use ldp_client::MemoTag;
use ldp_protocol::{Batch, BatchId, CampaignConfig, wire};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::lifetime::LifetimeBurst;
use super::{Store, Totals, int, one, run, time, uint};
use crate::error::SdkError;

/// A batch due to be sent, sealed.
#[derive(Debug, Clone)]
pub(crate) struct Sealed {
    pub row: i64,
    pub campaign: String,
    pub reports: u64,
    pub attempts: u32,
    pub body: Vec<u8>,
}

/// A report charged and encoded in memory, waiting to be written with its charge.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// The configuration the report was made under.
    pub config: Arc<CampaignConfig>,
    /// The epoch it is charged to.
    pub epoch: u64,
    /// The report, in its wire encoding.
    pub report: Vec<u8>,
    /// ε charged for it (the effective per-report ε, rounded up).
    pub epsilon: f64,
    /// Id and release time of the batch it opens, if its (campaign, epoch) has none open.
    pub batch_id: BatchId,
    /// Unix time at which that batch becomes due.
    pub release_at: u64,
    /// The permanent response it was drawn from, for a memoized mechanism.
    pub memo: Option<MemoTag>,
}

/// Bounds on batches and on the outbox.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_batch_reports: u64,
    pub max_outbox_batches: u64,
    pub max_outbox_bytes: u64,
}

/// What one write transaction has learned so far, so that each further report of a burst
/// costs one statement (its outbox row) instead of four.
#[derive(Debug, Default)]
struct Burst<'r> {
    /// Per (campaign, epoch, digest): the open batch's row and its next sequence number.
    open: HashMap<(&'r str, i64, i64), (i64, i64)>,
    /// Per (campaign, epoch): the charges stored before, and this burst's (written at its end).
    ledger: HashMap<(&'r str, i64), Charge>,
    /// Per (campaign, digest): this burst's lifetime additions (written at its end).
    lifetime: LifetimeBurst<'r>,
}

#[derive(Debug, Default)]
struct Charge {
    before: i64,
    reports: i64,
    epsilon: f64,
}

/// A due batch's row: id, campaign, epoch, digest, batch id, reports, attempts, sealed body.
type DueRow = (i64, String, i64, i64, Vec<u8>, i64, i64, Option<Vec<u8>>);

impl Store {
    /// Reports charged to `campaign` in `epoch`.
    pub fn spent(&self, campaign: &str, epoch: u64) -> Result<u32, SdkError> {
        let spent: Option<i64> = one(
            &self.conn,
            "SELECT reports FROM ledger WHERE campaign = ?1 AND epoch = ?2",
            params![campaign, int(epoch)],
            |r| r.get(0),
        )
        .optional()?;
        Ok(u32::try_from(spent.unwrap_or(0)).unwrap_or(u32::MAX))
    }

    /// The latest epoch charged to `campaign` and its reports, if any.
    pub fn latest_charge(&self, campaign: &str) -> Result<Option<(u64, u32)>, SdkError> {
        let latest: Option<(i64, i64)> = one(
            &self.conn,
            "SELECT epoch, reports FROM ledger WHERE campaign = ?1 ORDER BY epoch DESC LIMIT 1",
            params![campaign],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
        Ok(
            latest
                .map(|(epoch, reports)| (uint(epoch), u32::try_from(reports).unwrap_or(u32::MAX))),
        )
    }

    /// Writes `records` in one transaction: each charges the ledger and joins the open batch
    /// of its (campaign, epoch, digest) — or opens the batch it carries. A record its epoch's
    /// allowance cannot pay for (which the client's own count rules out) is not written but
    /// counted as `overdrawn_reports`. Nothing is written when anything fails.
    pub fn write(&mut self, records: &[Record], limits: Limits) -> Result<(), SdkError> {
        let tx = self.conn.transaction()?;
        let mut totals = self.outbox;
        let mut burst = Burst::default();
        for record in records {
            Self::append(&tx, record, limits, &mut totals, &mut burst)?;
        }
        for ((campaign, epoch), charge) in &burst.ledger {
            if charge.reports > 0 {
                run(
                    &tx,
                    "INSERT INTO ledger (campaign, epoch, reports, epsilon) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (campaign, epoch) DO UPDATE
                     SET reports = reports + excluded.reports,
                         epsilon = epsilon + excluded.epsilon",
                    params![campaign, epoch, charge.reports, charge.epsilon],
                )?;
            }
        }
        Self::write_lifetime(&tx, &burst.lifetime)?;
        tx.commit()?;
        self.outbox = totals;
        Ok(())
    }

    fn append<'r>(
        tx: &Transaction<'_>,
        record: &'r Record,
        limits: Limits,
        totals: &mut Totals,
        burst: &mut Burst<'r>,
    ) -> Result<(), SdkError> {
        let config = &record.config;
        let campaign = config.id().as_str();
        let (epoch, digest) = (int(record.epoch), int(config.digest()));
        let charge = match burst.ledger.entry((campaign, epoch)) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let stored: Option<i64> = one(
                    tx,
                    "SELECT reports FROM ledger WHERE campaign = ?1 AND epoch = ?2",
                    params![campaign, epoch],
                    |r| r.get(0),
                )
                .optional()?;
                e.insert(Charge {
                    before: stored.unwrap_or(0),
                    ..Charge::default()
                })
            }
        };
        if charge.before + charge.reports >= i64::from(config.max_reports_per_epoch()) {
            tracing::error!(%campaign, epoch, "a report beyond the epoch's allowance is not kept");
            return Self::bump(tx, "overdrawn_reports", 1);
        }
        charge.reports += 1;
        charge.epsilon += record.epsilon;
        let permanent = record.memo.zip(config.params().epsilon_permanent());
        Self::add_lifetime(
            tx,
            &mut burst.lifetime,
            campaign,
            config.digest(),
            record.epsilon,
            permanent,
        )?;
        let (batch, seq) = Self::batch_for(tx, record, limits, totals, burst)?;
        run(
            tx,
            "INSERT INTO outbox (batch, seq, report) VALUES (?1, ?2, ?3)",
            params![batch, seq, record.report],
        )?;
        burst
            .open
            .insert((campaign, epoch, digest), (batch, seq + 1));
        totals.bytes += record.report.len() as u64;
        let dropped = Self::bound_outbox(
            tx,
            batch,
            limits.max_outbox_batches.max(1),
            limits.max_outbox_bytes,
            totals,
        )?;
        if dropped {
            // A dropped batch may be one the burst holds open.
            burst.open.clear();
        }
        Ok(())
    }

    /// The batch `record` joins, and its sequence number there: the open batch of its
    /// (campaign, epoch, digest) while it has room, else a new one under the record's id.
    fn batch_for<'r>(
        tx: &Transaction<'_>,
        record: &'r Record,
        limits: Limits,
        totals: &mut Totals,
        burst: &Burst<'r>,
    ) -> Result<(i64, i64), SdkError> {
        let config = &record.config;
        let campaign = config.id().as_str();
        let (epoch, digest) = (int(record.epoch), int(config.digest()));
        let open = match burst.open.get(&(campaign, epoch, digest)) {
            Some(&open) => Some(open),
            None => one(
                tx,
                // The next sequence number: one index seek, not a count of the batch.
                "SELECT id, (SELECT COALESCE(MAX(seq), -1) + 1 FROM outbox WHERE batch = id)
                 FROM batches WHERE campaign = ?1 AND epoch = ?2 AND digest = ?3
                 AND body IS NULL ORDER BY id DESC LIMIT 1",
                params![campaign, epoch, digest],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?,
        };
        Ok(match open {
            Some((batch, seq)) if uint(seq) < limits.max_batch_reports.max(1) => (batch, seq),
            _ => {
                // Every record carries a fresh random id for the batch it may open.
                run(
                    tx,
                    "INSERT INTO batches (campaign, epoch, digest, batch_id, release_at,
                     next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    params![
                        campaign,
                        epoch,
                        digest,
                        &record.batch_id.0[..],
                        time(record.release_at)
                    ],
                )?;
                totals.batches += 1;
                (tx.last_insert_rowid(), 0)
            }
        })
    }

    /// Drops the oldest batches (never `keep`) while the outbox holds more than `max_batches`
    /// batches or `max_bytes` report bytes, and counts what was dropped; whether it dropped any.
    fn bound_outbox(
        tx: &Transaction<'_>,
        keep: i64,
        max_batches: u64,
        max_bytes: u64,
        totals: &mut Totals,
    ) -> Result<bool, SdkError> {
        let mut dropped = false;
        while totals.over(max_batches, max_bytes) {
            let oldest: Option<(i64, i64)> = one(
                tx,
                "SELECT id, (SELECT COUNT(*) FROM outbox WHERE batch = id) FROM batches
                 WHERE id != ?1 ORDER BY id LIMIT 1",
                params![keep],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
            let Some((oldest, reports)) = oldest else {
                return Ok(dropped);
            };
            let bytes = Self::batch_bytes(tx, oldest)?;
            run(tx, "DELETE FROM batches WHERE id = ?1", params![oldest])?;
            Self::bump(tx, "dropped_batches", 1)?;
            Self::bump(tx, "dropped_reports", reports)?;
            totals.batches = totals.batches.saturating_sub(1);
            totals.bytes = totals.bytes.saturating_sub(bytes);
            dropped = true;
        }
        Ok(dropped)
    }

    /// Report bytes of batch `row`.
    fn batch_bytes(conn: &Connection, row: i64) -> Result<u64, SdkError> {
        let bytes: i64 = one(
            conn,
            "SELECT COALESCE(SUM(length(report)), 0) FROM outbox WHERE batch = ?1",
            params![row],
            |r| r.get(0),
        )?;
        Ok(uint(bytes))
    }

    fn bump(tx: &Transaction<'_>, name: &str, by: i64) -> Result<(), SdkError> {
        run(
            tx,
            "INSERT INTO counters (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
            params![name, by],
        )?;
        Ok(())
    }

    /// A counter's value (0 when never counted).
    pub fn counter(&self, name: &str) -> Result<u64, SdkError> {
        let value: Option<i64> = self
            .conn
            .query_row(
                "SELECT value FROM counters WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        Ok(uint(value.unwrap_or(0)))
    }

    /// Seals every batch due at `now` (freezing its bytes, so a retry resends them exactly)
    /// in one transaction synced to disk, and returns them oldest first.
    pub fn seal_due(&mut self, now: u64) -> Result<Vec<Sealed>, SdkError> {
        // FULL: this commit syncs the write-ahead log, and with it every earlier commit.
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        let sealed = self.seal_due_synced(now);
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        sealed
    }

    /// Copies the log into the database file where no reader needs it (cheap when it is
    /// short; called after uploads).
    pub fn checkpoint(&self) -> Result<(), SdkError> {
        one(&self.conn, "PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }

    fn seal_due_synced(&mut self, now: u64) -> Result<Vec<Sealed>, SdkError> {
        let tx = self.conn.transaction()?;
        let due: Vec<DueRow> = {
            let mut stmt = tx.prepare(
                "SELECT id, campaign, epoch, digest, batch_id,
                 (SELECT COUNT(*) FROM outbox WHERE batch = id), attempts, body
                 FROM batches WHERE release_at <= ?1 AND next_attempt_at <= ?1
                 ORDER BY release_at, id",
            )?;
            stmt.query_map(params![time(now)], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })?
            .collect::<Result<_, _>>()?
        };
        let mut sealed = Vec::with_capacity(due.len());
        let mut dropped = Totals::default();
        for (row, campaign, epoch, digest, id, reports, attempts, body) in due {
            let body = match body {
                Some(body) => body,
                None => match Self::seal(&tx, row, &campaign, uint(epoch), uint(digest), &id) {
                    Ok(body) => {
                        run(
                            &tx,
                            "UPDATE batches SET body = ?2 WHERE id = ?1",
                            params![row, body],
                        )?;
                        body
                    }
                    // A batch that cannot be read back (its stored state is damaged) can never
                    // be sent: drop it and count it, rather than block every later upload.
                    Err(e) => {
                        tracing::warn!(%campaign, error = %e, "an unreadable batch is dropped");
                        dropped.bytes += Self::batch_bytes(&tx, row)?;
                        dropped.batches += 1;
                        run(&tx, "DELETE FROM batches WHERE id = ?1", params![row])?;
                        Self::bump(&tx, "dropped_batches", 1)?;
                        Self::bump(&tx, "dropped_reports", reports)?;
                        continue;
                    }
                },
            };
            sealed.push(Sealed {
                row,
                campaign,
                reports: uint(reports),
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                body,
            });
        }
        tx.commit()?;
        self.outbox.batches = self.outbox.batches.saturating_sub(dropped.batches);
        self.outbox.bytes = self.outbox.bytes.saturating_sub(dropped.bytes);
        Ok(sealed)
    }

    fn seal(
        tx: &Transaction<'_>,
        row: i64,
        campaign: &str,
        epoch: u64,
        digest: u64,
        id: &[u8],
    ) -> Result<Vec<u8>, SdkError> {
        let json: String = one(
            tx,
            "SELECT json FROM configs WHERE campaign = ?1 AND digest = ?2",
            params![campaign, int(digest)],
            |r| r.get(0),
        )?;
        let config: CampaignConfig = serde_json::from_str(&json)
            .map_err(|e| SdkError::Storage(format!("cached configuration of {campaign}: {e}")))?;
        let id: [u8; 16] = id
            .try_into()
            .map_err(|_| SdkError::Storage("a batch id is corrupt".into()))?;
        let mut batch = Batch::new(&config, epoch, BatchId(id));
        let mut stmt = tx.prepare("SELECT report FROM outbox WHERE batch = ?1 ORDER BY seq")?;
        for report in stmt.query_map(params![row], |r| r.get::<_, Vec<u8>>(0))? {
            batch.reports.push(wire::decode(&report?)?);
        }
        Ok(wire::encode(&batch)?)
    }

    /// The collector counted batch `row` (now or before): it leaves the outbox.
    pub fn acknowledge(&mut self, row: i64, reports: u64) -> Result<(), SdkError> {
        self.remove(row, reports, "acknowledged", None)
    }

    /// The collector refused batch `row` for good: it leaves the outbox, counted.
    pub fn reject(&mut self, row: i64, reports: u64, detail: &str) -> Result<(), SdkError> {
        self.remove(row, reports, "rejected", Some(detail))
    }

    /// Deletes batch `row` and counts it as `{outcome}_batches` and `{outcome}_reports`.
    fn remove(
        &mut self,
        row: i64,
        reports: u64,
        outcome: &str,
        detail: Option<&str>,
    ) -> Result<(), SdkError> {
        let tx = self.conn.transaction()?;
        let bytes = Self::batch_bytes(&tx, row)?;
        let removed = run(&tx, "DELETE FROM batches WHERE id = ?1", params![row])? > 0;
        if removed {
            Self::bump(&tx, &format!("{outcome}_batches"), 1)?;
            Self::bump(&tx, &format!("{outcome}_reports"), int(reports))?;
        }
        if let Some(detail) = detail {
            run(
                &tx,
                "INSERT INTO meta (key, value) VALUES ('last_rejection', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![detail],
            )?;
        }
        tx.commit()?;
        if removed {
            self.outbox.batches = self.outbox.batches.saturating_sub(1);
            self.outbox.bytes = self.outbox.bytes.saturating_sub(bytes);
        }
        Ok(())
    }

    /// Batch `row` failed for now: try again at `next`.
    pub fn defer(&mut self, row: i64, attempts: u32, next: u64) -> Result<(), SdkError> {
        run(
            &self.conn,
            "UPDATE batches SET attempts = ?2, next_attempt_at = ?3 WHERE id = ?1",
            params![row, attempts, time(next)],
        )?;
        Ok(())
    }

    /// (batches, reports, earliest release or retry time) waiting in the outbox.
    pub fn waiting(&self) -> Result<(u64, u64, Option<u64>), SdkError> {
        let (batches, reports, next): (i64, i64, Option<i64>) = one(
            &self.conn,
            "SELECT COUNT(*), (SELECT COUNT(*) FROM outbox), MIN(MAX(release_at, next_attempt_at))
             FROM batches",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok((uint(batches), uint(reports), next.map(uint)))
    }

    /// Per-epoch (epoch, reports, ε) charged to `campaign`, oldest first.
    pub fn ledger(&self, campaign: &str) -> Result<Vec<(u64, u32, f64)>, SdkError> {
        let mut stmt = self.conn.prepare(
            "SELECT epoch, reports, epsilon FROM ledger WHERE campaign = ?1 ORDER BY epoch",
        )?;
        let rows = stmt
            .query_map(params![campaign], |r| {
                Ok((
                    uint(r.get(0)?),
                    u32::try_from(r.get::<_, i64>(1)?).unwrap_or(u32::MAX),
                    r.get(2)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}
