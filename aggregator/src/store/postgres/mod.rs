//! The PostgreSQL store, for several aggregator nodes sharing one database.
//!
//! - **Partial counters per node.** Every node adds its group commits only to its own rows
//!   `(campaign, epoch, node)` and their chunks (module [`super::chunks`]), so nodes never
//!   contend for a counter row; reads merge the rows of all nodes. A row's count is added in
//!   one `INSERT … ON CONFLICT DO UPDATE`; a chunk is created with `INSERT … ON CONFLICT DO
//!   NOTHING` and otherwise locked (`SELECT … FOR UPDATE`) before it is rewritten, so two
//!   processes started with the same node id stay correct, only slower.
//! - **Exactly once.** A group's batch ids are inserted into a table whose primary key is
//!   `(campaign, batch_id)`, with `ON CONFLICT DO NOTHING`, in the same transaction as the
//!   counter rows. When two nodes commit the same id at once, the second insert waits for the
//!   first transaction and then does nothing, so exactly one of them counts the batch.
//! - **No deadlocks by construction, retries anyway.** Ids and counter rows are locked in
//!   sorted order; serialization failures and deadlocks are still retried (at most
//!   [`MAX_ATTEMPTS`] attempts per group), and counted ([`Store::retries`]).
//! - A connection pool (r2d2) with a connect timeout and a per-statement timeout; migrations in
//!   `migrations/postgres/*.sql` are applied on open under an advisory lock, so nodes starting
//!   together apply them once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ldp_protocol::CampaignConfig;
use r2d2::{Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;
use tokio_postgres_rustls::MakeRustlsConnect;

mod commit;
mod tls;

use self::commit::{AttemptError, is_retryable};
use super::chunks::{self, StoredRow};
use super::{
    BatchDelta, CAMPAIGN_COLUMNS, CommitOutcome, EpochRange, Role, SESSION_EXPIRY, Store,
    StoreError, StoredCampaign, TokenGrant, TokenInfo, campaign_row, check_schema_version,
    checked_token_id, decode_campaign, epoch_range_of, role_if_equal, session_end, to_i64, to_u64,
    token_info,
};
use crate::estimate::Counters;

/// The embedded migrations, applied in order.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/postgres/0001_init.sql"),
    include_str!("../../../migrations/postgres/0002_batch_content.sql"),
    include_str!("../../../migrations/postgres/0003_write_probes.sql"),
    include_str!("../../../migrations/postgres/0004_counter_chunks.sql"),
    include_str!("../../../migrations/postgres/0005_token_lifecycle.sql"),
    include_str!("../../../migrations/postgres/0006_campaign_lifecycle.sql"),
    include_str!("../../../migrations/postgres/0007_sessions.sql"),
    include_str!("../../../migrations/postgres/0008_session_tokens.sql"),
];

/// Attempts per group commit when PostgreSQL reports a serialization failure or deadlock.
pub const MAX_ATTEMPTS: u32 = 5;

/// Longest any statement may run.
const STATEMENT_TIMEOUT_MS: u64 = 30_000;

/// Key of the advisory lock that serializes migrations between nodes.
const MIGRATION_LOCK: i64 = 0x006c_6470_5f6d_6967;

type Manager = PostgresConnectionManager<MakeRustlsConnect>;

/// The PostgreSQL store.
pub struct PostgresStore {
    pool: Pool<Manager>,
    node: String,
    retries: AtomicU64,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        Self::Database(with_causes(&e))
    }
}

/// The error and its causes: the driver's own text is often only "db error" or "error
/// performing TLS handshake", with the server's or TLS's reason in its source.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Where `config` points, for error messages (`host:port`, comma-separated).
fn address(config: &postgres::Config) -> String {
    let ports = config.get_ports();
    config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match host {
                postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
                postgres::config::Host::Unix(dir) => format!("{}:{port}", dir.display()),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        Self::Database(e.to_string())
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:pass@host:port/db`, with `?sslmode=verify-full&
    /// sslrootcert=ca.pem` and the other TLS settings `psql` knows), applies pending
    /// migrations, and writes partial counters under `node`.
    pub fn open(url: &str, node: &str) -> Result<Self, StoreError> {
        let tls::Connection {
            mut config,
            tls,
            mode,
        } = tls::connection(url)?;
        config
            .connect_timeout(Duration::from_secs(5))
            .options(&format!("-c statement_timeout={STATEMENT_TIMEOUT_MS}"))
            .application_name("ldp-aggregator");
        // One connection first, so a refusal (TLS, authentication) is reported with its reason
        // at once rather than as the pool's timeout.
        config.connect(tls.clone()).map_err(|e| {
            let reason = with_causes(&e);
            let hint = if reason.contains("UnknownIssuer") {
                " (the server's certificate is not signed by a root in sslrootcert)"
            } else {
                ""
            };
            StoreError::Database(format!(
                "cannot connect to PostgreSQL at {}: {reason}{hint}",
                address(&config)
            ))
        })?;
        let pool = Pool::builder()
            .max_size(8)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(3))
            .build(PostgresConnectionManager::new(config, tls))?;
        let store = Self {
            pool,
            node: node.to_owned(),
            retries: AtomicU64::new(0),
        };
        store.migrate()?;
        tracing::info!(sslmode = ?mode, node, "PostgreSQL store open");
        Ok(store)
    }

    fn conn(&self) -> Result<PooledConnection<Manager>, StoreError> {
        Ok(self.pool.get()?)
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS ldp_schema (version INTEGER PRIMARY KEY)")?;
        let applied: i32 = tx
            .query_one("SELECT coalesce(max(version), 0) FROM ldp_schema", &[])?
            .get(0);
        let applied = usize::try_from(applied).unwrap_or(usize::MAX);
        check_schema_version(applied, MIGRATIONS.len())?;
        for (version, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            tx.batch_execute(sql)?;
            let version = i32::try_from(version + 1).unwrap_or(i32::MAX);
            tx.execute("INSERT INTO ldp_schema (version) VALUES ($1)", &[&version])?;
        }
        tx.commit()?;
        Ok(())
    }
}

impl Store for PostgresStore {
    fn create_campaign(
        &self,
        config: &CampaignConfig,
        created_at: u64,
    ) -> Result<bool, StoreError> {
        let (json, digest) = campaign_row(config)?;
        let mut conn = self.conn()?;
        let inserted = conn.execute(
            "INSERT INTO campaigns (id, config, digest, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO NOTHING",
            &[&config.id().as_str(), &json, &digest, &to_i64(created_at)?],
        )?;
        if inserted == 1 {
            return Ok(true);
        }
        let existing: String = conn
            .query_one(
                "SELECT digest FROM campaigns WHERE id = $1",
                &[&config.id().as_str()],
            )?
            .get(0);
        if existing == digest {
            Ok(false)
        } else {
            Err(StoreError::CampaignExists(config.id().as_str().to_owned()))
        }
    }

    fn campaigns(&self) -> Result<Vec<StoredCampaign>, StoreError> {
        let mut conn = self.conn()?;
        conn.query(
            &format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns ORDER BY id"),
            &[],
        )?
        .iter()
        .map(campaign_of)
        .collect()
    }

    fn campaign(&self, id: &str) -> Result<Option<StoredCampaign>, StoreError> {
        let mut conn = self.conn()?;
        conn.query_opt(
            &format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1"),
            &[&id],
        )?
        .as_ref()
        .map(campaign_of)
        .transpose()
    }

    fn commit(&self, group: &[&BatchDelta]) -> Result<Vec<CommitOutcome>, StoreError> {
        let mut conn = self.conn()?;
        let mut attempt = 1;
        loop {
            let mut tx = conn.transaction()?;
            let failure = match self.commit_attempt(&mut tx, group) {
                Ok(outcomes) => match tx.commit() {
                    Ok(()) => return Ok(outcomes),
                    Err(e) => AttemptError::Postgres(e),
                },
                Err(e) => e,
            };
            match failure {
                AttemptError::Postgres(e) if is_retryable(&e) && attempt < MAX_ATTEMPTS => {
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(error = %e, attempt, "retrying group commit");
                    std::thread::sleep(Duration::from_millis(u64::from(attempt) * 2));
                    attempt += 1;
                }
                AttemptError::Postgres(e) => return Err(e.into()),
                AttemptError::Store(e) => return Err(e),
            }
        }
    }

    fn counters(
        &self,
        config: &CampaignConfig,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, Counters)>, StoreError> {
        let mut conn = self.conn()?;
        let campaign = config.id().as_str();
        let from = i64::try_from(from).unwrap_or(i64::MAX);
        let to = i64::try_from(to).unwrap_or(i64::MAX);
        // Every node's row of an epoch, then every node's chunks: one row per node.
        let mut epochs: BTreeMap<i64, BTreeMap<String, StoredRow>> = BTreeMap::new();
        for row in conn.query(
            "SELECT epoch, node, n, cells FROM counters
             WHERE campaign = $1 AND epoch BETWEEN $2 AND $3",
            &[&campaign, &from, &to],
        )? {
            let stored = StoredRow {
                n: to_u64(row.get(2))?,
                legacy: row.get(3),
                chunks: Vec::new(),
            };
            epochs
                .entry(row.get(0))
                .or_default()
                .insert(row.get(1), stored);
        }
        for row in conn.query(
            "SELECT epoch, node, chunk, cells FROM counter_chunks
             WHERE campaign = $1 AND epoch BETWEEN $2 AND $3",
            &[&campaign, &from, &to],
        )? {
            let (epoch, node): (i64, String) = (row.get(0), row.get(1));
            let stored = epochs
                .get_mut(&epoch)
                .and_then(|nodes| nodes.get_mut(&node))
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("counter chunks of epoch {epoch} without a row"))
                })?;
            stored.chunks.push((to_u64(row.get(2))?, row.get(3)));
        }
        let mut out = Vec::with_capacity(epochs.len());
        for (epoch, nodes) in epochs {
            let rows: Vec<StoredRow> = nodes.into_values().collect();
            let counters = chunks::assemble(config, &rows)
                .map_err(|e| StoreError::Corrupt(format!("counters of epoch {epoch}: {e}")))?;
            out.push((to_u64(epoch)?, counters));
        }
        Ok(out)
    }

    fn epoch_range(&self, campaign: &str) -> Result<Option<EpochRange>, StoreError> {
        let mut conn = self.conn()?;
        let row = conn.query_one(
            "SELECT min(epoch), max(epoch) FROM counters WHERE campaign = $1",
            &[&campaign],
        )?;
        epoch_range_of(row.get(0), row.get(1))
    }

    fn close_campaign(&self, id: &str, at: u64) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let changed = conn.execute(
            "UPDATE campaigns SET closed_at = coalesce(closed_at, $2) WHERE id = $1",
            &[&id, &to_i64(at)?],
        )?;
        Ok(changed == 1)
    }

    fn delete_campaign(&self, id: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // The row lock first: commits that share-locked it finish before, later ones find no
        // campaign and add nothing.
        if tx
            .query_opt("SELECT 1 FROM campaigns WHERE id = $1 FOR UPDATE", &[&id])?
            .is_none()
        {
            return Ok(false);
        }
        for table in ["counter_chunks", "counters", "batch_ids", "campaigns"] {
            let column = if table == "campaigns" {
                "id"
            } else {
                "campaign"
            };
            tx.execute(&format!("DELETE FROM {table} WHERE {column} = $1"), &[&id])?;
        }
        tx.commit()?;
        Ok(true)
    }

    fn set_retention(&self, id: &str, epochs: Option<u64>) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let changed = conn.execute(
            "UPDATE campaigns SET retention_epochs = $2 WHERE id = $1",
            &[&id, &epochs.map(to_i64).transpose()?],
        )?;
        Ok(changed == 1)
    }

    fn drop_epochs_before(&self, campaign: &str, before_epoch: u64) -> Result<u64, StoreError> {
        let mut conn = self.conn()?;
        let before = i64::try_from(before_epoch).unwrap_or(i64::MAX);
        let mut tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM counter_chunks WHERE campaign = $1 AND epoch < $2",
            &[&campaign, &before],
        )?;
        // One row per node and epoch: count the epochs.
        let dropped = tx
            .query(
                "DELETE FROM counters WHERE campaign = $1 AND epoch < $2 RETURNING epoch",
                &[&campaign, &before],
            )?
            .iter()
            .map(|row| row.get::<_, i64>(0))
            .collect::<BTreeSet<i64>>()
            .len();
        tx.commit()?;
        Ok(dropped as u64)
    }

    fn expire_batch_ids(&self, campaign: &str, before_epoch: u64) -> Result<u64, StoreError> {
        let mut conn = self.conn()?;
        let before = i64::try_from(before_epoch).unwrap_or(i64::MAX);
        Ok(conn.execute(
            "DELETE FROM batch_ids WHERE campaign = $1 AND epoch < $2",
            &[&campaign, &before],
        )?)
    }

    fn create_token(
        &self,
        hash: &[u8; 32],
        role: Role,
        created_at: u64,
        expires_at: Option<u64>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let expires_at = expires_at.map(to_i64).transpose()?;
        conn.execute(
            "INSERT INTO tokens (hash, role, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            &[&&hash[..], &role.name(), &to_i64(created_at)?, &expires_at],
        )?;
        Ok(())
    }

    fn token(&self, hash: &[u8; 32]) -> Result<Option<TokenGrant>, StoreError> {
        let mut conn = self.conn()?;
        let row = conn.query_opt(
            "SELECT hash, role, expires_at, last_used_day FROM tokens WHERE hash = $1",
            &[&&hash[..]],
        )?;
        let Some(row) = row else {
            return Ok(None);
        };
        let stored: Vec<u8> = row.get(0);
        let role: String = row.get(1);
        let Some(role) = role_if_equal(&stored, hash, &role) else {
            return Ok(None);
        };
        let expires_at: Option<i64> = row.get(2);
        let last_used_day: Option<i64> = row.get(3);
        Ok(Some(TokenGrant {
            role,
            expires_at: expires_at.map(to_u64).transpose()?,
            last_used_day: last_used_day.map(to_u64).transpose()?,
        }))
    }

    fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let mut conn = self.conn()?;
        let rows = conn.query(
            "SELECT hash, role, created_at, expires_at, last_used_day FROM tokens ORDER BY hash",
            &[],
        )?;
        rows.iter()
            .map(|row| {
                let hash: Vec<u8> = row.get(0);
                let role: String = row.get(1);
                token_info(&hash, &role, row.get(2), row.get(3), row.get(4))
            })
            .collect()
    }

    fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        let Some(id) = checked_token_id(id) else {
            return Ok(false);
        };
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM sessions WHERE token_hash IN \
             (SELECT hash FROM tokens WHERE encode(substring(hash from 1 for 6), 'hex') = $1)",
            &[&id],
        )?;
        let deleted = tx.execute(
            "DELETE FROM tokens WHERE encode(substring(hash from 1 for 6), 'hex') = $1",
            &[&id],
        )?;
        tx.commit()?;
        Ok(deleted > 0)
    }

    fn touch_token(&self, hash: &[u8; 32], day: u64) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        conn.execute(
            "UPDATE tokens SET last_used_day = $2 WHERE hash = $1",
            &[&&hash[..], &to_i64(day)?],
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
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM sessions WHERE expires_at <= $1",
            &[&to_i64(now)?],
        )?;
        tx.execute(
            "INSERT INTO sessions (hash, token_hash, expires_at) VALUES ($1, $2, $3)",
            &[&&hash[..], &&token[..], &to_i64(expires_at)?],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn session_expiry(&self, hash: &[u8; 32]) -> Result<Option<u64>, StoreError> {
        let mut conn = self.conn()?;
        conn.query_opt(&SESSION_EXPIRY.replace("?1", "$1"), &[&&hash[..]])?
            .map(|row| session_end(row.get(0), row.get(1)))
            .transpose()
    }

    fn close_session(&self, hash: &[u8; 32]) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        conn.execute("DELETE FROM sessions WHERE hash = $1", &[&&hash[..]])?;
        Ok(())
    }

    fn has_admin_token(&self) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let count: i64 = conn
            .query_one("SELECT count(*) FROM tokens WHERE role = 'admin'", &[])?
            .get(0);
        Ok(count > 0)
    }

    fn probe_write(&self) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO write_probes (node, probes) VALUES ($1, 1)
             ON CONFLICT (node) DO UPDATE SET probes = write_probes.probes + 1",
            &[&self.node],
        )?;
        Ok(())
    }

    fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        conn.query_one("SELECT 1", &[])?;
        Ok(())
    }

    fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
}

/// A campaign from a row of [`CAMPAIGN_COLUMNS`].
fn campaign_of(row: &postgres::Row) -> Result<StoredCampaign, StoreError> {
    decode_campaign(
        row.get(0),
        row.get(1),
        row.get(2),
        [row.get(3), row.get(4), row.get(5)],
    )
}
