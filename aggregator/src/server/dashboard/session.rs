//! Dashboard sessions: a random id in an `HttpOnly`, `SameSite=Strict` cookie, and in the
//! database only the id's SHA-256 hash with an expiry. A session lets its holder read the
//! dashboard and nothing else: the API never looks at cookies, so a session grants no admin
//! rights even when an admin token opened it.
//!
//! Sessions live in the store ([`Store::open_session`]): a restart keeps them, and every node
//! on the same PostgreSQL database knows every session (no sticky load balancing needed).
//! A session belongs to the token that opened it: it ends when that token is revoked or
//! expires. Expired sessions are deleted whenever one is opened.

use sha2::{Digest, Sha256};

use crate::store::{Store, StoreError};

/// Name of the session cookie.
pub const COOKIE: &str = "ldp_session";

/// How long a session lasts from login, in seconds (8 hours).
pub const LIFETIME_SECONDS: u64 = 8 * 3600;

/// Why a session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The operating system's random generator failed.
    #[error("the operating system's random generator failed: {0}")]
    Random(getrandom::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Opens a session for the token whose hash is `token`, ending [`LIFETIME_SECONDS`] after
/// `now` or when the token expires or is revoked; returns the id for the cookie (64 hex
/// digits, 256 random bits).
pub fn open(store: &dyn Store, token: &[u8; 32], now: u64) -> Result<String, SessionError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(SessionError::Random)?;
    let id: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    store.open_session(&hash(&id), token, now, now + LIFETIME_SECONDS)?;
    Ok(id)
}

/// Whether `id` names a live session at `now`.
pub fn check(store: &dyn Store, id: &str, now: u64) -> Result<bool, StoreError> {
    Ok(store
        .session_expiry(&hash(id))?
        .is_some_and(|expires| expires > now))
}

/// Ends the session `id` (logout).
pub fn close(store: &dyn Store, id: &str) -> Result<(), StoreError> {
    store.close_session(&hash(id))
}

fn hash(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}
