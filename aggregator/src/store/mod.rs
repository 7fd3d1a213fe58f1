//! Durable storage: campaigns, counters per (campaign, epoch), the batch-id set, tokens.
//!
//! [`Store`] is the one interface the service uses. It is synchronous: the service calls it
//! from blocking threads (the group committer owns one, reads go through
//! `tokio::task::spawn_blocking`), so a backend is free to use a blocking driver and a
//! connection pool. What a backend must guarantee:
//!
//! - [`Store::commit`] is **one transaction** for a whole group of batches: the batch ids are
//!   inserted into a set with a unique key, and only batches whose id was new have their
//!   counter deltas added. Either everything in the group is durable when it returns `Ok`, or
//!   nothing is.
//! - Nothing but counters is stored for reports: no raw report, address, user agent or
//!   arrival time. Batch ids are kept with their coarse epoch so they can be expired.
//!
//! The embedded default is [`sqlite`]; [`postgres`] serves several nodes on one database. A
//! database URL picks the backend ([`open`]); handlers only ever see `dyn Store`.

pub mod chunks;
pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use ldp_protocol::{BatchId, CampaignConfig};

use crate::error::AggregateError;
use crate::estimate::{CellDelta, Counters};

/// What a stored token grants, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenGrant {
    /// The token's role.
    pub role: Role,
    /// When it expires (Unix seconds), if ever.
    pub expires_at: Option<u64>,
    /// The last Unix day (seconds / 86,400) it was used on, if recorded.
    pub last_used_day: Option<u64>,
}

impl TokenGrant {
    /// Whether the token is still valid at Unix time `now`.
    pub fn valid_at(&self, now: u64) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }
}

/// A token as listed: its id and dates, never its secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenInfo {
    /// The first 12 hex digits of its SHA-256 hash ([`token_id`]): names it for `token revoke`.
    pub id: String,
    /// Its role.
    pub role: Role,
    /// When it was created (Unix seconds).
    pub created_at: u64,
    /// When it expires (Unix seconds), if ever.
    pub expires_at: Option<u64>,
    /// The last Unix day it was used on, if any.
    pub last_used_day: Option<u64>,
}

/// The id of the token whose SHA-256 hash is `hash`: its first six bytes in lower-case hex.
/// It names the token without revealing it (the hash of a random 256-bit secret).
pub fn token_id(hash: &[u8]) -> String {
    hash.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Who a token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Creates campaigns; may also read estimates.
    Admin,
    /// Reads estimates and the dashboard.
    Analyst,
}

impl Role {
    /// The role's name as stored and printed.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Analyst => "analyst",
        }
    }

    /// The role named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "admin" => Some(Self::Admin),
            "analyst" => Some(Self::Analyst),
            _ => None,
        }
    }

    /// Whether this role may do what `required` may.
    pub fn grants(self, required: Role) -> bool {
        self == Self::Admin || self == required
    }
}

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCampaign {
    /// The validated configuration.
    pub config: CampaignConfig,
    /// Creation time, Unix seconds (an operator action, not a report).
    pub created_at: u64,
    /// When it was closed (Unix seconds): it accepts no reports since, and stays readable.
    pub closed_at: Option<u64>,
    /// Epochs of counters kept: the current one and the `n - 1` before it (`None`: all).
    pub retention_epochs: Option<u64>,
}

/// The validated counter delta of one batch, ready to commit.
#[derive(Debug, Clone)]
pub struct BatchDelta {
    /// Campaign id.
    pub campaign: String,
    /// The digest of the configuration the batch was checked against: a commit refuses the
    /// batch when the stored campaign has another (it was deleted and made again).
    pub digest: u64,
    /// Coarse epoch of the batch.
    pub epoch: u64,
    /// The batch's random id (the unit of idempotency).
    pub batch_id: BatchId,
    /// XXH3-128 of the batch's bytes as received: tells a retry of the batch (identical bytes)
    /// from another batch that reuses its id. Not a security boundary (either way nothing is
    /// counted twice; only the answer differs), so a fast hash serves.
    pub content: [u8; 16],
    /// What the batch's reports add to the campaign's counters.
    pub cells: CellDelta,
}

/// What a commit did with one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    /// The batch id was new: its counters were added.
    Counted,
    /// The batch id was already known, with the same content: nothing was added.
    Duplicate,
    /// The batch id was already known with other content: nothing was added.
    Conflict,
    /// The campaign is closed, deleted, or made again with another configuration since the
    /// batch was checked: nothing was added.
    Closed,
}

/// What a batch whose id is known already is: a duplicate when the content recorded with the
/// id is its own (or none comparable was recorded: ids from before contents were kept, or
/// recorded as 32-byte SHA-256 before the 16-byte hash), else a conflict.
pub(crate) fn repeat_outcome(recorded: Option<&[u8]>, delta: &BatchDelta) -> CommitOutcome {
    match recorded {
        Some(content) if content.len() == delta.content.len() && content != delta.content => {
            CommitOutcome::Conflict
        }
        _ => CommitOutcome::Duplicate,
    }
}

/// The range of epochs that hold counters for a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochRange {
    /// First epoch, inclusive.
    pub from: u64,
    /// Last epoch, inclusive.
    pub to: u64,
}

/// Storage errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL names no supported backend.
    #[error(
        "unsupported database URL {0:?}: expected sqlite://PATH or postgres://USER@HOST:PORT/DATABASE"
    )]
    UnsupportedUrl(String),
    /// A campaign with this id exists with a different configuration.
    #[error("campaign {0:?} already exists with a different configuration")]
    CampaignExists(String),
    /// No campaign with this id.
    #[error("no campaign {0:?}")]
    UnknownCampaign(String),
    /// Stored data does not decode (or does not match its campaign).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Stored counters could not be merged.
    #[error(transparent)]
    Counters(#[from] AggregateError),
    /// The database failed or is unreachable.
    #[error("database error: {0}")]
    Database(String),
    /// The database URL's TLS settings cannot be used (an unknown `sslmode`, an unreadable
    /// `sslrootcert`, client certificates).
    #[error("PostgreSQL TLS settings: {0}")]
    Tls(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(e.to_string())
    }
}

/// The storage interface of the service. See the module documentation for its contract.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Stores a new campaign. Creating the identical configuration again is not an error;
    /// a different configuration under an existing id is [`StoreError::CampaignExists`].
    /// Returns whether the campaign was new.
    fn create_campaign(&self, config: &CampaignConfig, created_at: u64)
    -> Result<bool, StoreError>;
    /// Every campaign, ordered by id.
    fn campaigns(&self) -> Result<Vec<StoredCampaign>, StoreError>;
    /// One campaign.
    fn campaign(&self, id: &str) -> Result<Option<StoredCampaign>, StoreError>;
    /// Commits a group of validated batches in one transaction; one outcome per batch, in
    /// order. A batch id seen before (in an earlier commit or earlier in `group`) adds nothing:
    /// it is a [`CommitOutcome::Duplicate`] when its content is the same as then (or was not
    /// recorded then), else a [`CommitOutcome::Conflict`].
    fn commit(&self, group: &[&BatchDelta]) -> Result<Vec<CommitOutcome>, StoreError>;
    /// Commits a trivial write (this node's probe counter) in a transaction of its own: whether
    /// the store can commit right now. The committer probes while it is idle, so readiness
    /// follows the store without traffic. By default, only [`Store::ping`].
    fn probe_write(&self) -> Result<(), StoreError> {
        self.ping()
    }
    /// The counters of every epoch in `from..=to` that has any, in epoch order.
    fn counters(
        &self,
        config: &CampaignConfig,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, Counters)>, StoreError>;
    /// The epochs holding counters for `campaign`, if any.
    fn epoch_range(&self, campaign: &str) -> Result<Option<EpochRange>, StoreError>;
    /// Closes a campaign at `at` (Unix seconds): commits refuse its batches from now on
    /// ([`CommitOutcome::Closed`]). Closing a closed campaign keeps the first time. Returns
    /// whether the campaign exists.
    fn close_campaign(&self, id: &str, at: u64) -> Result<bool, StoreError>;
    /// Deletes a campaign with every counter and batch id it has, in one transaction; a commit
    /// that checked the campaign before waits for it, or is refused after. Returns whether the
    /// campaign existed.
    fn delete_campaign(&self, id: &str) -> Result<bool, StoreError>;
    /// Sets how many epochs of counters a campaign keeps (`None`: all). Returns whether the
    /// campaign exists.
    fn set_retention(&self, id: &str, epochs: Option<u64>) -> Result<bool, StoreError>;
    /// Deletes the counters of `campaign` from epochs before `before_epoch`; returns how many
    /// epochs' rows were deleted.
    fn drop_epochs_before(&self, campaign: &str, before_epoch: u64) -> Result<u64, StoreError>;
    /// Forgets the batch ids of `campaign` from epochs before `before_epoch`; returns how many.
    fn expire_batch_ids(&self, campaign: &str, before_epoch: u64) -> Result<u64, StoreError>;
    /// Stores a token's SHA-256 hash with its role, and when it expires (Unix seconds; `None`:
    /// never).
    fn create_token(
        &self,
        hash: &[u8; 32],
        role: Role,
        created_at: u64,
        expires_at: Option<u64>,
    ) -> Result<(), StoreError>;
    /// The token whose hash is `hash`, if any (expired or not: the caller compares the time).
    fn token(&self, hash: &[u8; 32]) -> Result<Option<TokenGrant>, StoreError>;
    /// Every token, by id; never a secret or a whole hash.
    fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError>;
    /// Deletes the token whose id ([`token_id`]) is `id`, and the dashboard sessions it
    /// opened; returns whether one was.
    fn revoke_token(&self, id: &str) -> Result<bool, StoreError>;
    /// Records that the token whose hash is `hash` was used on Unix day `day`.
    fn touch_token(&self, hash: &[u8; 32], day: u64) -> Result<(), StoreError>;
    /// Stores a dashboard session by the SHA-256 `hash` of its id, opened with the token whose
    /// hash is `token`, until `expires_at` (Unix seconds); deletes sessions that expired by
    /// `now` on the way. Revoking the token ([`Store::revoke_token`]) ends the session.
    fn open_session(
        &self,
        hash: &[u8; 32],
        token: &[u8; 32],
        now: u64,
        expires_at: u64,
    ) -> Result<(), StoreError>;
    /// When the session whose id hashes to `hash` ends — its own expiry or its token's,
    /// whichever is first — if it and its token exist.
    fn session_expiry(&self, hash: &[u8; 32]) -> Result<Option<u64>, StoreError>;
    /// Deletes the session whose id hashes to `hash` (logout).
    fn close_session(&self, hash: &[u8; 32]) -> Result<(), StoreError>;
    /// Whether any admin token exists.
    fn has_admin_token(&self) -> Result<bool, StoreError>;
    /// A cheap query proving the database answers (readiness).
    fn ping(&self) -> Result<(), StoreError>;
    /// Transactions retried after serialization failures or deadlocks since the store was
    /// opened.
    fn retries(&self) -> u64 {
        0
    }
}

/// Opens the store a URL names, creating its schema on first use:
///
/// - `sqlite://PATH` (`sqlite:///abs/path.db` for an absolute path), options in the query
///   string: `?synchronous=normal` trades the last commits before a power loss for speed (the
///   default `full` survives it);
/// - `postgres://user:password@host:port/database` (or `postgresql://`), for several nodes;
///   `node` names this process's partial counter rows and must differ between nodes.
pub fn open(url: &str, node: &str) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let options = sqlite::Options::parse(rest)?;
        return Ok(Arc::new(sqlite::SqliteStore::open(options)?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(postgres::PostgresStore::open(url, node)?));
    }
    Err(StoreError::UnsupportedUrl(without_password(url)))
}

/// The stored form of a campaign: its JSON and its digest in hex.
fn campaign_row(config: &CampaignConfig) -> Result<(String, String), StoreError> {
    let json = serde_json::to_string(config)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode campaign: {e}")))?;
    Ok((json, format!("{:016x}", config.digest())))
}

/// The columns of a campaign row, in the order [`decode_campaign`] reads them.
const CAMPAIGN_COLUMNS: &str = "id, config, digest, created_at, closed_at, retention_epochs";

/// A campaign row's `digest` and `closed_at` as a commit reads them (`None`: no row).
type CampaignState = Option<(String, Option<i64>)>;

/// Whether a commit may add `delta` to a campaign in `state`: it exists, is open, and has the
/// configuration the batch was checked against.
fn open_for(state: &CampaignState, delta: &BatchDelta) -> bool {
    state.as_ref().is_some_and(|(digest, closed_at)| {
        closed_at.is_none() && u64::from_str_radix(digest, 16) == Ok(delta.digest)
    })
}

/// A stored campaign row, checked against its digest.
fn decode_campaign(
    id: &str,
    json: &str,
    digest: &str,
    [created_at, closed_at, retention]: [Option<i64>; 3],
) -> Result<StoredCampaign, StoreError> {
    let config: CampaignConfig = serde_json::from_str(json)
        .map_err(|e| StoreError::Corrupt(format!("campaign {id:?}: {e}")))?;
    if format!("{:016x}", config.digest()) != digest {
        return Err(StoreError::Corrupt(format!(
            "campaign {id:?}: stored digest {digest} does not match its configuration"
        )));
    }
    let time = |value: Option<i64>, what: &str| {
        value
            .map(u64::try_from)
            .transpose()
            .map_err(|_| StoreError::Corrupt(format!("campaign {id:?}: negative {what}")))
    };
    Ok(StoredCampaign {
        config,
        created_at: time(created_at, "creation time")?.unwrap_or(0),
        closed_at: time(closed_at, "closing time")?,
        retention_epochs: time(retention, "retention")?,
    })
}

/// Refuses a database whose schema is newer than this build's `known` migrations.
fn check_schema_version(applied: usize, known: usize) -> Result<(), StoreError> {
    if applied > known {
        return Err(StoreError::Database(format!(
            "database schema version {applied} is newer than this build ({known}); upgrade ldp-aggregator"
        )));
    }
    Ok(())
}

/// A stored integer column from a count or epoch.
fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{value} exceeds i64")))
}

/// A count or epoch from a stored integer column.
fn to_u64(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative value {value}")))
}

/// The epoch range from a `min(epoch), max(epoch)` row (both NULL when nothing is stored).
fn epoch_range_of(from: Option<i64>, to: Option<i64>) -> Result<Option<EpochRange>, StoreError> {
    match (from, to) {
        (Some(from), Some(to)) => Ok(Some(EpochRange {
            from: to_u64(from)?,
            to: to_u64(to)?,
        })),
        _ => Ok(None),
    }
}

/// The role of a token row found by its hash. The lookup was keyed by the hash of the secret,
/// which reveals nothing; the final comparison is constant-time all the same.
fn role_if_equal(stored: &[u8], hash: &[u8; 32], role: &str) -> Option<Role> {
    let equal: bool = subtle::ConstantTimeEq::ct_eq(stored, &hash[..]).into();
    if equal { Role::from_name(role) } else { None }
}

/// A listed token from its stored columns.
fn token_info(
    hash: &[u8],
    role: &str,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_day: Option<i64>,
) -> Result<TokenInfo, StoreError> {
    Ok(TokenInfo {
        id: token_id(hash),
        role: Role::from_name(role)
            .ok_or_else(|| StoreError::Corrupt(format!("a token with role {role:?}")))?,
        created_at: to_u64(created_at)?,
        expires_at: expires_at.map(to_u64).transpose()?,
        last_used_day: last_used_day.map(to_u64).transpose()?,
    })
}

/// A token id as given: 12 hex digits, lower case.
/// `url` with the password of its user info (`scheme://user:password@host…`) replaced by
/// `***`, for error messages and logs.
pub(crate) fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// A session's expiry and its token's, joined (`?1`: the session's hash).
const SESSION_EXPIRY: &str = "SELECT s.expires_at, t.expires_at FROM sessions s \
     JOIN tokens t ON t.hash = s.token_hash WHERE s.hash = ?1";

/// When a session ends: its own expiry or its token's, whichever is first.
fn session_end(session: i64, token: Option<i64>) -> Result<u64, StoreError> {
    let session = to_u64(session)?;
    Ok(match token {
        Some(token) => session.min(to_u64(token)?),
        None => session,
    })
}

fn checked_token_id(id: &str) -> Option<String> {
    let id = id.trim().to_ascii_lowercase();
    (id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
}

/// A stored counter snapshot.
fn decode_snapshot(bytes: &[u8]) -> Result<crate::estimate::CounterSnapshot, StoreError> {
    ldp_protocol::wire::decode(bytes).map_err(|e| StoreError::Corrupt(format!("counters: {e}")))
}

#[cfg(test)]
mod tests {
    use ldp_protocol::report::GrrReport;
    use ldp_protocol::{CampaignSpec, Domain, Mechanism, Report};

    use super::*;

    #[test]
    fn a_known_id_is_a_conflict_only_when_a_comparable_recorded_content_differs() {
        let config = CampaignConfig::new(CampaignSpec::new(
            "c",
            Mechanism::Grr,
            1.0,
            Domain::Range { k: 4 },
        ))
        .unwrap();
        let report = Report::Grr(GrrReport { value: 1 });
        let delta = BatchDelta {
            campaign: "c".into(),
            digest: config.digest(),
            epoch: 1,
            batch_id: BatchId([1; 16]),
            content: [7; 16],
            cells: CellDelta::of_reports(&config, &[report]).unwrap(),
        };
        assert_eq!(
            repeat_outcome(Some(&[7; 16]), &delta),
            CommitOutcome::Duplicate
        );
        assert_eq!(
            repeat_outcome(Some(&[8; 16]), &delta),
            CommitOutcome::Conflict
        );
        // Recorded before contents were kept, or as a 32-byte hash: nothing to compare.
        assert_eq!(repeat_outcome(None, &delta), CommitOutcome::Duplicate);
        assert_eq!(
            repeat_outcome(Some(&[8; 32]), &delta),
            CommitOutcome::Duplicate
        );
    }
}
