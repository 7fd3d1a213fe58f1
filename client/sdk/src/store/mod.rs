//! The device's state in one SQLite file: cached campaign configurations, the budget ledger,
//! the device secret, the outbox, and a few counters.
//!
//! Durability: the database runs in WAL mode. Records are written by the client's writer, in
//! transactions that each charge the ledger and append the reports together, committed
//! without waiting for the disk (`synchronous = NORMAL`): after a crash of the process a
//! report and its charge are both there or neither is. Before
//! anything is sent, the batches to send are sealed in a transaction committed with
//! `synchronous = FULL`, which syncs the write-ahead log and with it every earlier commit — so
//! no report leaves the device before the charge that paid for it is on disk.
//! `secure_delete` overwrites deleted content, so a cleared outbox leaves no report bytes.

use std::path::Path;
use std::sync::Arc;

use ldp_client::DeviceSecret;
use ldp_protocol::CampaignConfig;
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::SdkError;

mod lifetime;
mod outbox;

pub(crate) use lifetime::LifetimeRow;
pub(crate) use outbox::{Limits, Record};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS configs (
    campaign TEXT NOT NULL, digest INTEGER NOT NULL, json TEXT NOT NULL,
    PRIMARY KEY (campaign, digest));
CREATE TABLE IF NOT EXISTS campaigns (
    campaign TEXT PRIMARY KEY, digest INTEGER NOT NULL,
    next_digest INTEGER, next_from INTEGER, checked_epoch INTEGER NOT NULL);
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
CREATE TABLE IF NOT EXISTS lifetime (
    campaign TEXT NOT NULL, digest INTEGER NOT NULL, reports INTEGER NOT NULL,
    composed REAL NOT NULL, permanent_responses INTEGER NOT NULL, epsilon_permanent REAL,
    PRIMARY KEY (campaign, digest)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS memo (
    campaign TEXT NOT NULL, digest INTEGER NOT NULL, tag BLOB NOT NULL,
    PRIMARY KEY (campaign, digest, tag)) WITHOUT ROWID;
";

/// A state file from before lifetime accounting: its charges become one row per campaign under
/// digest 0, counted by composition (the sum of their ε), the bound they were charged under.
const LIFETIME_FROM_LEDGER: &str = "
INSERT OR IGNORE INTO lifetime
    (campaign, digest, reports, composed, permanent_responses, epsilon_permanent)
SELECT campaign, 0, SUM(reports), SUM(epsilon), 0, NULL FROM ledger GROUP BY campaign;
";

/// The file name of the state inside `data_dir`.
pub const DB_FILE: &str = "ldp-sdk.sqlite3";

/// SQLite stores signed 64-bit integers; digests and epochs keep their bits.
fn int(x: u64) -> i64 {
    i64::from_ne_bytes(x.to_ne_bytes())
}

/// A Unix time or epoch for SQLite, saturating instead of wrapping (a time beyond `i64::MAX`
/// seconds would otherwise read back as negative, that is due at once).
fn time(x: u64) -> i64 {
    i64::try_from(x).unwrap_or(i64::MAX)
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

fn table_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    one(
        conn,
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        params![name],
        |r| r.get(0),
    )
}

/// A cached campaign: the configuration in force and a newer one waiting for its epoch.
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    pub config: Arc<CampaignConfig>,
    /// The configuration waiting, and the Unix time from which it is in force.
    pub next: Option<(Arc<CampaignConfig>, u64)>,
    pub checked_epoch: u64,
}

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
        let had_ledger = table_exists(&conn, "ledger").map_err(in_use)?;
        let had_lifetime = table_exists(&conn, "lifetime")?;
        conn.execute_batch(SCHEMA).map_err(in_use)?;
        if had_ledger && !had_lifetime {
            conn.execute_batch(LIFETIME_FROM_LEDGER)?;
        }
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
                "SELECT digest, next_digest, next_from, checked_epoch
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

    /// Records `config` as fetched in epoch `checked` (of the configuration in force): the one
    /// in force if the campaign is new; otherwise, when its digest differs, the next one, in
    /// force from Unix time `switch_at` (the end of epoch `checked`) — unless it is already
    /// the one waiting, whose switch time stays.
    pub fn put_config(
        &mut self,
        config: &CampaignConfig,
        checked: u64,
        switch_at: u64,
    ) -> Result<(), SdkError> {
        let id = config.id().as_str();
        let digest = int(config.digest());
        let json = serde_json::to_string(config).map_err(|e| SdkError::Storage(e.to_string()))?;
        let tx = self.conn.transaction()?;
        run(
            &tx,
            "INSERT OR IGNORE INTO configs (campaign, digest, json) VALUES (?1, ?2, ?3)",
            params![id, digest, json],
        )?;
        let known: Option<(i64, Option<i64>)> = one(
            &tx,
            "SELECT digest, next_digest FROM campaigns WHERE campaign = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
        match known {
            None => run(
                &tx,
                "INSERT INTO campaigns (campaign, digest, checked_epoch) VALUES (?1, ?2, ?3)",
                params![id, digest, int(checked)],
            )?,
            Some((current, _)) if current == digest => run(
                &tx,
                "UPDATE campaigns SET next_digest = NULL, next_from = NULL,
                 checked_epoch = ?2 WHERE campaign = ?1",
                params![id, int(checked)],
            )?,
            Some((_, Some(waiting))) if waiting == digest => run(
                &tx,
                "UPDATE campaigns SET checked_epoch = ?2 WHERE campaign = ?1",
                params![id, int(checked)],
            )?,
            Some(_) => run(
                &tx,
                "UPDATE campaigns SET next_digest = ?2, next_from = ?3, checked_epoch = ?4
                 WHERE campaign = ?1",
                params![id, digest, time(switch_at), int(checked)],
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
            "UPDATE campaigns SET digest = next_digest, next_digest = NULL, next_from = NULL
             WHERE campaign = ?1 AND next_digest IS NOT NULL",
            params![id],
        )?;
        Ok(())
    }
}
