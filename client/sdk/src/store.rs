//! The device's state in one SQLite file: cached campaign configurations, the budget ledger,
//! the device secret, the outbox, and a few counters.
//!
//! Durability: the database runs in WAL mode. A `record` is one transaction that charges the
//! ledger and appends the report together, committed without waiting for the disk
//! (`synchronous = NORMAL`): after a crash of the process both are there or neither is. Before
//! anything is sent, the batches to send are sealed in a transaction committed with
//! `synchronous = FULL`, which syncs the write-ahead log and with it every earlier commit — so
//! no report leaves the device before the charge that paid for it is on disk.
//! `secure_delete` overwrites deleted content, so a cleared outbox leaves no report bytes.

use std::path::Path;
use std::sync::Arc;

use ldp_client::DeviceSecret;
use ldp_protocol::{Batch, BatchId, CampaignConfig, wire};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::error::SdkError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS configs (
    campaign TEXT NOT NULL, digest INTEGER NOT NULL, json TEXT NOT NULL,
    PRIMARY KEY (campaign, digest));
CREATE TABLE IF NOT EXISTS campaigns (
    campaign TEXT PRIMARY KEY, digest INTEGER NOT NULL,
    next_digest INTEGER, next_from_epoch INTEGER, checked_epoch INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ledger (
    campaign TEXT NOT NULL, epoch INTEGER NOT NULL,
    reports INTEGER NOT NULL, epsilon REAL NOT NULL,
    PRIMARY KEY (campaign, epoch)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY, campaign TEXT NOT NULL, epoch INTEGER NOT NULL,
    digest INTEGER NOT NULL, batch_id BLOB NOT NULL, release_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, body BLOB);
CREATE TABLE IF NOT EXISTS outbox (
    batch INTEGER NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, report BLOB NOT NULL, PRIMARY KEY (batch, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
";

/// The file name of the state inside `data_dir`.
pub const DB_FILE: &str = "ldp-sdk.sqlite3";

/// SQLite stores signed 64-bit integers; digests and epochs keep their bits.
fn int(x: u64) -> i64 {
    i64::from_ne_bytes(x.to_ne_bytes())
}

fn uint(x: i64) -> u64 {
    u64::from_ne_bytes(x.to_ne_bytes())
}

/// Runs a statement compiled once per connection.
fn run(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// The first row of a query compiled once per connection.
fn one<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, row)
}

/// A cached campaign: the configuration in force and a newer one waiting for its epoch.
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    pub config: Arc<CampaignConfig>,
    pub next: Option<(Arc<CampaignConfig>, u64)>,
    pub checked_epoch: u64,
}

/// A batch due to be sent, sealed.
#[derive(Debug, Clone)]
pub(crate) struct Sealed {
    pub row: i64,
    pub campaign: String,
    pub reports: u64,
    pub attempts: u32,
    pub body: Vec<u8>,
}

/// What a new report joins.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Enqueue<'a> {
    pub campaign: &'a str,
    pub epoch: u64,
    pub digest: u64,
    pub allowed: u32,
    pub epsilon: f64,
    pub max_batch_reports: u64,
    pub max_outbox_batches: u64,
    pub max_outbox_bytes: u64,
}

/// A due batch's row: id, campaign, epoch, digest, batch id, reports, attempts, sealed body.
type DueRow = (i64, String, i64, i64, Vec<u8>, i64, i64, Option<Vec<u8>>);

/// The SQLite connection.
#[derive(Debug)]
pub(crate) struct Store {
    conn: Connection,
    /// What the outbox holds, kept beside it (the store is the only writer: it holds the
    /// database's exclusive lock), so that a record never scans the outbox.
    outbox: Totals,
}

/// Batches and report bytes in the outbox.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    batches: u64,
    bytes: u64,
}

impl Totals {
    fn over(self, max_batches: u64, max_bytes: u64) -> bool {
        self.batches > max_batches || self.bytes > max_bytes
    }
}

impl Store {
    /// Opens (creating) the state in `dir`.
    pub fn open(dir: &Path) -> Result<Self, SdkError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| SdkError::Storage(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join(DB_FILE);
        let conn = Connection::open(&path)?;
        // Every statement is compiled once per connection.
        conn.set_prepared_statement_cache_capacity(64);
        conn.busy_timeout(std::time::Duration::from_secs(2))?;
        // One client owns the directory while it is open: no file locks per transaction, and a
        // second client on the same directory gets a clear error instead of a slow contention.
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        // Small pages: a record rewrites a few rows, and every page it touches is appended to
        // the log whole (only takes effect when the file is created).
        conn.pragma_update(None, "page_size", 1024)?;
        let in_use = |e: rusqlite::Error| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                SdkError::Storage(format!(
                    "{} is in use by another client (one client per data_dir at a time)",
                    dir.display()
                ))
            }
            _ => e.into(),
        };
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(in_use)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // The log is copied into the database by `upload_pending` (which syncs anyway), not
        // every thousand pages in the middle of a record; 16 MiB is the backstop.
        conn.pragma_update(None, "wal_autocheckpoint", 16_384)?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA).map_err(in_use)?;
        let outbox = one(
            &conn,
            "SELECT (SELECT COUNT(*) FROM batches),
                    (SELECT COALESCE(SUM(length(report)), 0) FROM outbox)",
            [],
            |r| {
                Ok(Totals {
                    batches: uint(r.get(0)?),
                    bytes: uint(r.get(1)?),
                })
            },
        )?;
        Ok(Self { conn, outbox })
    }

    /// The device secret, created from the OS's randomness on first use.
    pub fn secret(&mut self) -> Result<DeviceSecret, SdkError> {
        let tx = self.conn.transaction()?;
        let stored: Option<Vec<u8>> = tx
            .query_row("SELECT value FROM meta WHERE key = 'secret'", [], |r| {
                r.get(0)
            })
            .optional()?;
        if let Some(bytes) = stored {
            let bytes: [u8; 32] = bytes
                .try_into()
                .map_err(|_| SdkError::Storage("the device secret is corrupt".into()))?;
            return Ok(DeviceSecret::from_bytes(bytes));
        }
        let secret = DeviceSecret::generate()?;
        run(
            &tx,
            "INSERT INTO meta (key, value) VALUES ('secret', ?1)",
            params![&secret.as_bytes()[..]],
        )?;
        tx.commit()?;
        Ok(secret)
    }

    /// Whether uploads are enabled (they are until turned off).
    pub fn upload_enabled(&self) -> Result<bool, SdkError> {
        let flag: Option<i64> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'upload_enabled'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(flag != Some(0))
    }

    /// Turns uploads on or off; off deletes the outbox (the ledger stays).
    pub fn set_upload_enabled(&mut self, enabled: bool) -> Result<(), SdkError> {
        let tx = self.conn.transaction()?;
        run(
            &tx,
            "INSERT INTO meta (key, value) VALUES ('upload_enabled', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![i64::from(enabled)],
        )?;
        if !enabled {
            run(&tx, "DELETE FROM outbox", [])?;
            run(&tx, "DELETE FROM batches", [])?;
        }
        tx.commit()?;
        if !enabled {
            self.outbox = Totals::default();
            // Nothing of the deleted reports may linger in the log either.
            self.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        Ok(())
    }

    /// The cached campaign `id`.
    pub fn cached(&self, id: &str) -> Result<Option<Cached>, SdkError> {
        let row: Option<(i64, Option<i64>, Option<i64>, i64)> = self
            .conn
            .query_row(
                "SELECT digest, next_digest, next_from_epoch, checked_epoch
                 FROM campaigns WHERE campaign = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((digest, next, from, checked)) = row else {
            return Ok(None);
        };
        let config = Arc::new(self.config(id, uint(digest))?);
        let next = match (next, from) {
            (Some(d), Some(from)) => Some((Arc::new(self.config(id, uint(d))?), uint(from))),
            _ => None,
        };
        Ok(Some(Cached {
            config,
            next,
            checked_epoch: uint(checked),
        }))
    }

    /// Campaign ids in the cache.
    pub fn campaigns(&self) -> Result<Vec<String>, SdkError> {
        let mut stmt = self.conn.prepare("SELECT campaign FROM campaigns")?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(ids)
    }

    fn config(&self, id: &str, digest: u64) -> Result<CampaignConfig, SdkError> {
        let json: String = one(
            &self.conn,
            "SELECT json FROM configs WHERE campaign = ?1 AND digest = ?2",
            params![id, int(digest)],
            |r| r.get(0),
        )?;
        let config: CampaignConfig = serde_json::from_str(&json)
            .map_err(|e| SdkError::Storage(format!("cached configuration of {id}: {e}")))?;
        if config.digest() != digest {
            return Err(SdkError::Storage(format!(
                "cached configuration of {id} does not match its digest"
            )));
        }
        Ok(config)
    }

    /// Records `config` as fetched in epoch `checked`: the one in force if the campaign is new,
    /// otherwise the next one from epoch `checked + 1` when its digest differs.
    pub fn put_config(&mut self, config: &CampaignConfig, checked: u64) -> Result<(), SdkError> {
        let id = config.id().as_str();
        let digest = int(config.digest());
        let json = serde_json::to_string(config).map_err(|e| SdkError::Storage(e.to_string()))?;
        let tx = self.conn.transaction()?;
        run(
            &tx,
            "INSERT OR IGNORE INTO configs (campaign, digest, json) VALUES (?1, ?2, ?3)",
            params![id, digest, json],
        )?;
        let current: Option<i64> = tx
            .query_row(
                "SELECT digest FROM campaigns WHERE campaign = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()?;
        match current {
            None => run(
                &tx,
                "INSERT INTO campaigns (campaign, digest, checked_epoch) VALUES (?1, ?2, ?3)",
                params![id, digest, int(checked)],
            )?,
            Some(d) if d == digest => run(
                &tx,
                "UPDATE campaigns SET next_digest = NULL, next_from_epoch = NULL,
                 checked_epoch = ?2 WHERE campaign = ?1",
                params![id, int(checked)],
            )?,
            Some(_) => run(
                &tx,
                "UPDATE campaigns SET next_digest = ?2, next_from_epoch = ?3, checked_epoch = ?4
                 WHERE campaign = ?1",
                params![id, digest, int(checked.saturating_add(1)), int(checked)],
            )?,
        };
        tx.commit()?;
        Ok(())
    }

    /// Notes that the collector was asked about `id` in `epoch` (even if it did not answer).
    pub fn mark_checked(&mut self, id: &str, epoch: u64) -> Result<(), SdkError> {
        run(
            &self.conn,
            "UPDATE campaigns SET checked_epoch = ?2 WHERE campaign = ?1",
            params![id, int(epoch)],
        )?;
        Ok(())
    }

    /// Puts the waiting configuration of `id` in force.
    pub fn promote(&mut self, id: &str) -> Result<(), SdkError> {
        run(
            &self.conn,
            "UPDATE campaigns SET digest = next_digest, next_digest = NULL, next_from_epoch = NULL
             WHERE campaign = ?1 AND next_digest IS NOT NULL",
            params![id],
        )?;
        Ok(())
    }

    /// Reports already charged to `campaign` in `epoch`.
    fn spent_in(tx: &Transaction<'_>, campaign: &str, epoch: u64) -> Result<u32, SdkError> {
        let spent: Option<i64> = tx
            .query_row(
                "SELECT reports FROM ledger WHERE campaign = ?1 AND epoch = ?2",
                params![campaign, int(epoch)],
                |r| r.get(0),
            )
            .optional()?;
        Ok(u32::try_from(spent.unwrap_or(0)).unwrap_or(u32::MAX))
    }

    /// In one transaction: refuses if the epoch's allowance is spent, otherwise calls `encode`
    /// for the report's bytes, charges the ledger and appends the report to the open batch of
    /// (campaign, epoch) — or to a new batch released at `release()`. Nothing is written when
    /// anything fails.
    pub fn charge_and_enqueue(
        &mut self,
        job: &Enqueue<'_>,
        encode: impl FnOnce() -> Result<Vec<u8>, SdkError>,
        new_batch: impl FnOnce() -> Result<(BatchId, u64), SdkError>,
    ) -> Result<u32, SdkError> {
        let tx = self.conn.transaction()?;
        let spent = Self::spent_in(&tx, job.campaign, job.epoch)?;
        if spent >= job.allowed {
            return Err(SdkError::BudgetExhausted {
                campaign: job.campaign.to_owned(),
                epoch: job.epoch,
                allowed: job.allowed,
            });
        }
        let report = encode()?;
        let open: Option<(i64, i64)> = one(
            &tx,
            // The next sequence number: one index seek, not a count of the batch.
            "SELECT id, (SELECT COALESCE(MAX(seq), -1) + 1 FROM outbox WHERE batch = id)
             FROM batches WHERE campaign = ?1 AND epoch = ?2 AND digest = ?3 AND body IS NULL
             ORDER BY id DESC LIMIT 1",
            params![job.campaign, int(job.epoch), int(job.digest)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
        let mut opened = false;
        let (batch, seq) = match open {
            Some((batch, seq)) if uint(seq) < job.max_batch_reports => (batch, seq),
            _ => {
                opened = true;
                let (id, release_at) = new_batch()?;
                run(
                    &tx,
                    "INSERT INTO batches (campaign, epoch, digest, batch_id, release_at,
                     next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    params![
                        job.campaign,
                        int(job.epoch),
                        int(job.digest),
                        &id.0[..],
                        int(release_at)
                    ],
                )?;
                (tx.last_insert_rowid(), 0)
            }
        };
        run(
            &tx,
            "INSERT INTO outbox (batch, seq, report) VALUES (?1, ?2, ?3)",
            params![batch, seq, report],
        )?;
        run(
            &tx,
            "INSERT INTO ledger (campaign, epoch, reports, epsilon) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT (campaign, epoch) DO UPDATE
             SET reports = reports + 1, epsilon = epsilon + excluded.epsilon",
            params![job.campaign, int(job.epoch), job.epsilon],
        )?;
        let mut totals = self.outbox;
        totals.batches += u64::from(opened);
        totals.bytes += report.len() as u64;
        Self::bound_outbox(
            &tx,
            batch,
            job.max_outbox_batches,
            job.max_outbox_bytes,
            &mut totals,
        )?;
        tx.commit()?;
        self.outbox = totals;
        Ok(spent + 1)
    }

    /// Drops the oldest batches (never `keep`) while the outbox holds more than `max_batches`
    /// batches or `max_bytes` report bytes, and counts what was dropped.
    fn bound_outbox(
        tx: &Transaction<'_>,
        keep: i64,
        max_batches: u64,
        max_bytes: u64,
        totals: &mut Totals,
    ) -> Result<(), SdkError> {
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
                return Ok(());
            };
            let bytes = Self::batch_bytes(tx, oldest)?;
            run(tx, "DELETE FROM batches WHERE id = ?1", params![oldest])?;
            Self::bump(tx, "dropped_batches", 1)?;
            Self::bump(tx, "dropped_reports", reports)?;
            totals.batches = totals.batches.saturating_sub(1);
            totals.bytes = totals.bytes.saturating_sub(bytes);
        }
        Ok(())
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
            stmt.query_map(params![int(now)], |r| {
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
        for (row, campaign, epoch, digest, id, reports, attempts, body) in due {
            let body = match body {
                Some(body) => body,
                None => {
                    let body = Self::seal(&tx, row, &campaign, uint(epoch), uint(digest), &id)?;
                    run(
                        &tx,
                        "UPDATE batches SET body = ?2 WHERE id = ?1",
                        params![row, body],
                    )?;
                    body
                }
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
            params![row, attempts, int(next)],
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
