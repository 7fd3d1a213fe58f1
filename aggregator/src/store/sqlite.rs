//! The embedded default store: one SQLite file in WAL mode.
//!
//! - `journal_mode=WAL`, `synchronous=FULL` by default: a commit is on disk (WAL fsynced)
//!   before [`Store::commit`] returns, so an acknowledged batch survives `kill -9` and power
//!   loss.
//! - One writer connection (the group committer is the only writer) and one reader connection;
//!   WAL lets reads proceed while a commit is written.
//! - The schema lives in `migrations/sqlite/*.sql`, embedded in the binary and applied in
//!   order on open; `PRAGMA user_version` records how many have run.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use ldp_protocol::CampaignConfig;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::chunks::{self, StoredRow};
use super::{
    BatchDelta, CAMPAIGN_COLUMNS, CampaignState, CommitOutcome, EpochRange, Role, SESSION_EXPIRY,
    Store, StoreError, StoredCampaign, TokenGrant, TokenInfo, campaign_row, check_schema_version,
    checked_token_id, decode_campaign, epoch_range_of, open_for, repeat_outcome, role_if_equal,
    session_end, to_i64, to_u64, token_info,
};
use crate::estimate::Counters;

/// A token's stored hash, role, expiry and last day of use.
type TokenRow = (Vec<u8>, String, Option<i64>, Option<i64>);

/// The embedded migrations, applied in order.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_batch_content.sql"),
    include_str!("../../migrations/sqlite/0003_write_probes.sql"),
    include_str!("../../migrations/sqlite/0004_counter_chunks.sql"),
    include_str!("../../migrations/sqlite/0005_token_lifecycle.sql"),
    include_str!("../../migrations/sqlite/0006_campaign_lifecycle.sql"),
    include_str!("../../migrations/sqlite/0007_sessions.sql"),
    include_str!("../../migrations/sqlite/0008_session_tokens.sql"),
];

/// How long a connection waits for a lock held by another process (an admin command).
const BUSY_TIMEOUT_MS: u64 = 5_000;

/// Durability of a commit (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// Every commit is fsynced: survives power loss (the default).
    Full,
    /// WAL is fsynced at checkpoints only: survives a process crash, may lose the last
    /// commits on power loss.
    Normal,
}

/// Where and how to open the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Database file.
    pub path: PathBuf,
    /// Commit durability.
    pub synchronous: Synchronous,
}

impl Options {
    /// Parses the part of a `sqlite://` URL after the scheme: `PATH[?synchronous=full|normal]`.
    pub fn parse(rest: &str) -> Result<Self, StoreError> {
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        if path.is_empty() {
            return Err(StoreError::UnsupportedUrl(format!(
                "sqlite://{rest} (no file path)"
            )));
        }
        let mut synchronous = Synchronous::Full;
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            synchronous = match pair {
                "synchronous=full" => Synchronous::Full,
                "synchronous=normal" => Synchronous::Normal,
                other => {
                    return Err(StoreError::UnsupportedUrl(format!(
                        "sqlite://{rest} (unknown option {other:?}; known: synchronous=full|normal)"
                    )));
                }
            };
        }
        Ok(Self {
            path: PathBuf::from(path),
            synchronous,
        })
    }
}

/// The SQLite store.
#[derive(Debug)]
pub struct SqliteStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

fn connect(options: &Options) -> Result<Connection, StoreError> {
    let conn = Connection::open(&options.path).map_err(|e| {
        StoreError::Database(format!("cannot open {}: {e}", options.path.display()))
    })?;
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Database(format!(
            "{} cannot use WAL mode (journal_mode is {mode})",
            options.path.display()
        )));
    }
    let synchronous = match options.synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON;"
    ))?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let applied = usize::try_from(applied).unwrap_or(usize::MAX);
    check_schema_version(applied, MIGRATIONS.len())?;
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        tx.execute_batch(sql)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", version + 1))?;
    }
    tx.commit()?;
    Ok(())
}

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot leave a transaction open (rusqlite rolls back on
    // drop), so a poisoned connection is still usable.
    conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SqliteStore {
    /// Opens (creating if needed) the database and applies pending migrations.
    pub fn open(options: Options) -> Result<Self, StoreError> {
        let mut writer = connect(&options)?;
        migrate(&mut writer)?;
        let reader = connect(&options)?;
        Ok(Self {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }
}

impl Store for SqliteStore {
    fn create_campaign(
        &self,
        config: &CampaignConfig,
        created_at: u64,
    ) -> Result<bool, StoreError> {
        let (json, digest) = campaign_row(config)?;
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<String> = tx
            .query_row(
                "SELECT digest FROM campaigns WHERE id = ?1",
                [config.id().as_str()],
                |row| row.get(0),
            )
            .optional()?;
        let created = match existing {
            Some(existing) if existing == digest => false,
            Some(_) => return Err(StoreError::CampaignExists(config.id().as_str().to_owned())),
            None => {
                tx.execute(
                    "INSERT INTO campaigns (id, config, digest, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![config.id().as_str(), json, digest, to_i64(created_at)?],
                )?;
                true
            }
        };
        tx.commit()?;
        Ok(created)
    }

    fn campaigns(&self) -> Result<Vec<StoredCampaign>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM campaigns ORDER BY id"
        ))?;
        let rows = stmt.query_map([], campaign_columns)?;
        let mut campaigns = Vec::new();
        for row in rows {
            let (id, json, digest, times) = row?;
            campaigns.push(decode_campaign(&id, &json, &digest, times)?);
        }
        Ok(campaigns)
    }

    fn campaign(&self, id: &str) -> Result<Option<StoredCampaign>, StoreError> {
        let conn = lock(&self.reader);
        let row = conn
            .prepare_cached(&format!(
                "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?1"
            ))?
            .query_row([id], campaign_columns)
            .optional()?;
        row.map(|(id, json, digest, times)| decode_campaign(&id, &json, &digest, times))
            .transpose()
    }

    fn commit(&self, group: &[&BatchDelta]) -> Result<Vec<CommitOutcome>, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut outcomes = Vec::with_capacity(group.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO batch_ids (campaign, batch_id, epoch, content) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
            )?;
            let mut known = tx.prepare_cached(
                "SELECT content FROM batch_ids WHERE campaign = ?1 AND batch_id = ?2",
            )?;
            let mut campaign =
                tx.prepare_cached("SELECT digest, closed_at FROM campaigns WHERE id = ?1")?;
            // Each campaign's row read once per group; the writer lock serializes this with
            // closing and deleting.
            let mut states: Vec<(&str, CampaignState)> = Vec::new();
            for delta in group {
                let known_state = states.iter().position(|(id, _)| *id == delta.campaign);
                let index = match known_state {
                    Some(index) => index,
                    None => {
                        let row = campaign
                            .query_row([&delta.campaign], |row| Ok((row.get(0)?, row.get(1)?)))
                            .optional()?;
                        states.push((&delta.campaign, row));
                        states.len() - 1
                    }
                };
                if !states
                    .get(index)
                    .is_some_and(|(_, state)| open_for(state, delta))
                {
                    outcomes.push(CommitOutcome::Closed);
                    continue;
                }
                let inserted = insert.execute(params![
                    delta.campaign,
                    &delta.batch_id.0[..],
                    to_i64(delta.epoch)?,
                    &delta.content[..]
                ])?;
                if inserted == 0 {
                    let content: Option<Vec<u8>> = known
                        .query_row(params![delta.campaign, &delta.batch_id.0[..]], |row| {
                            row.get(0)
                        })?;
                    outcomes.push(repeat_outcome(content.as_deref(), delta));
                } else {
                    outcomes.push(CommitOutcome::Counted);
                }
            }
        }
        {
            let mut count = tx.prepare_cached(
                "INSERT INTO counters (campaign, epoch, n, cells) VALUES (?1, ?2, ?3, X'')
                 ON CONFLICT (campaign, epoch) DO UPDATE SET n = n + excluded.n",
            )?;
            let mut select = tx.prepare_cached(
                "SELECT cells FROM counter_chunks WHERE campaign = ?1 AND epoch = ?2 AND chunk = ?3",
            )?;
            let mut upsert = tx.prepare_cached(
                "INSERT INTO counter_chunks (campaign, epoch, chunk, cells) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (campaign, epoch, chunk) DO UPDATE SET cells = excluded.cells",
            )?;
            for ((campaign, epoch), row) in chunks::sum_group(group, &outcomes)? {
                let epoch = to_i64(epoch)?;
                count.execute(params![campaign, epoch, to_i64(row.n)?])?;
                for (index, mut sum) in row.chunks {
                    let index = to_i64(index)?;
                    let stored: Option<Vec<u8>> = select
                        .query_row(params![campaign, epoch, index], |row| row.get(0))
                        .optional()?;
                    if let Some(stored) = stored {
                        chunks::add_stored(&mut sum, &stored)?;
                    }
                    upsert.execute(params![campaign, epoch, index, chunks::encode(&sum)])?;
                }
            }
        }
        tx.commit()?;
        Ok(outcomes)
    }

    fn counters(
        &self,
        config: &CampaignConfig,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, Counters)>, StoreError> {
        let conn = lock(&self.reader);
        let campaign = config.id().as_str();
        let from = i64::try_from(from).unwrap_or(i64::MAX);
        let to = i64::try_from(to).unwrap_or(i64::MAX);
        let mut rows: Vec<(i64, StoredRow)> = Vec::new();
        {
            let mut stmt = conn.prepare_cached(
                "SELECT epoch, n, cells FROM counters WHERE campaign = ?1 AND epoch BETWEEN ?2 AND ?3
                 ORDER BY epoch",
            )?;
            let mut query = stmt.query(params![campaign, from, to])?;
            while let Some(row) = query.next()? {
                rows.push((
                    row.get(0)?,
                    StoredRow {
                        n: to_u64(row.get(1)?)?,
                        legacy: row.get(2)?,
                        chunks: Vec::new(),
                    },
                ));
            }
        }
        let mut stmt = conn.prepare_cached(
            "SELECT chunk, cells FROM counter_chunks WHERE campaign = ?1 AND epoch = ?2",
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for (epoch, mut row) in rows {
            let mut query = stmt.query(params![campaign, epoch])?;
            while let Some(chunk) = query.next()? {
                row.chunks.push((to_u64(chunk.get(0)?)?, chunk.get(1)?));
            }
            let counters = chunks::assemble(config, std::slice::from_ref(&row))
                .map_err(|e| StoreError::Corrupt(format!("counters of epoch {epoch}: {e}")))?;
            out.push((to_u64(epoch)?, counters));
        }
        Ok(out)
    }

    fn epoch_range(&self, campaign: &str) -> Result<Option<EpochRange>, StoreError> {
        let conn = lock(&self.reader);
        let (from, to): (Option<i64>, Option<i64>) = conn
            .prepare_cached("SELECT min(epoch), max(epoch) FROM counters WHERE campaign = ?1")?
            .query_row([campaign], |row| Ok((row.get(0)?, row.get(1)?)))?;
        epoch_range_of(from, to)
    }

    fn close_campaign(&self, id: &str, at: u64) -> Result<bool, StoreError> {
        let conn = lock(&self.writer);
        let changed = conn.execute(
            "UPDATE campaigns SET closed_at = coalesce(closed_at, ?2) WHERE id = ?1",
            params![id, to_i64(at)?],
        )?;
        Ok(changed == 1)
    }

    fn delete_campaign(&self, id: &str) -> Result<bool, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for table in ["counter_chunks", "counters", "batch_ids"] {
            tx.execute(&format!("DELETE FROM {table} WHERE campaign = ?1"), [id])?;
        }
        let deleted = tx.execute("DELETE FROM campaigns WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(deleted == 1)
    }

    fn set_retention(&self, id: &str, epochs: Option<u64>) -> Result<bool, StoreError> {
        let conn = lock(&self.writer);
        let changed = conn.execute(
            "UPDATE campaigns SET retention_epochs = ?2 WHERE id = ?1",
            params![id, epochs.map(to_i64).transpose()?],
        )?;
        Ok(changed == 1)
    }

    fn drop_epochs_before(&self, campaign: &str, before_epoch: u64) -> Result<u64, StoreError> {
        let mut conn = lock(&self.writer);
        let before = i64::try_from(before_epoch).unwrap_or(i64::MAX);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM counter_chunks WHERE campaign = ?1 AND epoch < ?2",
            params![campaign, before],
        )?;
        let dropped = tx.execute(
            "DELETE FROM counters WHERE campaign = ?1 AND epoch < ?2",
            params![campaign, before],
        )?;
        tx.commit()?;
        Ok(dropped as u64)
    }

    fn expire_batch_ids(&self, campaign: &str, before_epoch: u64) -> Result<u64, StoreError> {
        let conn = lock(&self.writer);
        let before = i64::try_from(before_epoch).unwrap_or(i64::MAX);
        let deleted = conn.execute(
            "DELETE FROM batch_ids WHERE campaign = ?1 AND epoch < ?2",
            params![campaign, before],
        )?;
        Ok(deleted as u64)
    }

    fn create_token(
        &self,
        hash: &[u8; 32],
        role: Role,
        created_at: u64,
        expires_at: Option<u64>,
    ) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        conn.execute(
            "INSERT INTO tokens (hash, role, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                &hash[..],
                role.name(),
                to_i64(created_at)?,
                expires_at.map(to_i64).transpose()?
            ],
        )?;
        Ok(())
    }

    fn token(&self, hash: &[u8; 32]) -> Result<Option<TokenGrant>, StoreError> {
        let conn = lock(&self.reader);
        let row: Option<TokenRow> = conn
            .prepare_cached(
                "SELECT hash, role, expires_at, last_used_day FROM tokens WHERE hash = ?1",
            )?
            .query_row([&hash[..]], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .optional()?;
        let Some((stored, role, expires_at, last_used_day)) = row else {
            return Ok(None);
        };
        let Some(role) = role_if_equal(&stored, hash, &role) else {
            return Ok(None);
        };
        Ok(Some(TokenGrant {
            role,
            expires_at: expires_at.map(to_u64).transpose()?,
            last_used_day: last_used_day.map(to_u64).transpose()?,
        }))
    }

    fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let conn = lock(&self.reader);
        let mut statement = conn.prepare(
            "SELECT hash, role, created_at, expires_at, last_used_day FROM tokens ORDER BY hash",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, Vec<u8>>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, Option<i64>>(3)?,
                row.get::<_, Option<i64>>(4)?,
            ))
        })?;
        let mut tokens = Vec::new();
        for row in rows {
            let (hash, role, created_at, expires_at, last_used_day) = row?;
            tokens.push(token_info(
                &hash,
                &role,
                created_at,
                expires_at,
                last_used_day,
            )?);
        }
        Ok(tokens)
    }

    fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        let Some(id) = checked_token_id(id) else {
            return Ok(false);
        };
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM sessions WHERE token_hash IN \
             (SELECT hash FROM tokens WHERE lower(hex(substr(hash, 1, 6))) = ?1)",
            [&id],
        )?;
        let deleted = tx.execute(
            "DELETE FROM tokens WHERE lower(hex(substr(hash, 1, 6))) = ?1",
            [&id],
        )?;
        tx.commit()?;
        Ok(deleted > 0)
    }

    fn touch_token(&self, hash: &[u8; 32], day: u64) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        conn.execute(
            "UPDATE tokens SET last_used_day = ?2 WHERE hash = ?1",
            params![&hash[..], to_i64(day)?],
        )?;
        Ok(())
    }

    fn open_session(
        &self,
        hash: &[u8; 32],
        token: &[u8; 32],
        now: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM sessions WHERE expires_at <= ?1",
            [to_i64(now)?],
        )?;
        tx.execute(
            "INSERT INTO sessions (hash, token_hash, expires_at) VALUES (?1, ?2, ?3)",
            params![&hash[..], &token[..], to_i64(expires_at)?],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn session_expiry(&self, hash: &[u8; 32]) -> Result<Option<u64>, StoreError> {
        let conn = lock(&self.reader);
        let expires: Option<(i64, Option<i64>)> = conn
            .prepare_cached(SESSION_EXPIRY)?
            .query_row([&hash[..]], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        expires
            .map(|(session, token)| session_end(session, token))
            .transpose()
    }

    fn close_session(&self, hash: &[u8; 32]) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        conn.execute("DELETE FROM sessions WHERE hash = ?1", [&hash[..]])?;
        Ok(())
    }

    fn has_admin_token(&self) -> Result<bool, StoreError> {
        let conn = lock(&self.reader);
        let count: i64 = conn.query_row(
            "SELECT count(*) FROM tokens WHERE role = 'admin'",
            [],
            |row| row.get(0),
        )?;
        Ok(count > 0)
    }

    fn probe_write(&self) -> Result<(), StoreError> {
        lock(&self.writer).execute(
            "INSERT INTO write_probes (node, probes) VALUES ('local', 1)
             ON CONFLICT (node) DO UPDATE SET probes = probes + 1",
            [],
        )?;
        Ok(())
    }

    fn ping(&self) -> Result<(), StoreError> {
        let conn = lock(&self.reader);
        conn.query_row("SELECT count(*) FROM campaigns", [], |row| {
            row.get::<_, i64>(0)
        })?;
        Ok(())
    }
}

/// A campaign row's columns ([`CAMPAIGN_COLUMNS`]).
type CampaignColumns = (String, String, String, [Option<i64>; 3]);

fn campaign_columns(row: &rusqlite::Row<'_>) -> rusqlite::Result<CampaignColumns> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        [row.get(3)?, row.get(4)?, row.get(5)?],
    ))
}
