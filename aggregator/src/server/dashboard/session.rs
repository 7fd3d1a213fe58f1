//! Dashboard sessions: a random id in an `HttpOnly`, `SameSite=Strict` cookie, and on the server
//! only the id's SHA-256 hash with an expiry. A session lets its holder read the dashboard and
//! nothing else: the API never looks at cookies, so a session grants no admin rights even when
//! an admin token opened it.
//!
//! Sessions live in this process's memory: a restart logs everyone out, and behind a load
//! balancer a node only knows the sessions it created (use sticky sessions).

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// Name of the session cookie.
pub const COOKIE: &str = "ldp_session";

/// How long a session lasts from login, in seconds (8 hours).
pub const LIFETIME_SECONDS: u64 = 8 * 3600;

/// Most sessions kept at once; the oldest are dropped first beyond it.
const MAX_SESSIONS: usize = 10_000;

/// The server side of every dashboard session.
#[derive(Debug, Default)]
pub struct Sessions {
    /// Hash of the session id → expiry (Unix seconds).
    live: Mutex<HashMap<[u8; 32], u64>>,
}

impl Sessions {
    /// Opens a session that expires `LIFETIME_SECONDS` after `now`; returns the id for the cookie.
    pub fn open(&self, now: u64) -> Result<String, getrandom::Error> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)?;
        let id: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.retain(|_, expires| *expires > now);
        while live.len() >= MAX_SESSIONS {
            // Drop the session closest to expiry (the oldest login).
            let oldest = live
                .iter()
                .min_by_key(|(_, expires)| **expires)
                .map(|(k, _)| *k);
            match oldest {
                Some(key) => live.remove(&key),
                None => break,
            };
        }
        live.insert(hash(&id), now + LIFETIME_SECONDS);
        Ok(id)
    }

    /// Whether `id` names a live session at `now`.
    pub fn check(&self, id: &str, now: u64) -> bool {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.get(&hash(id)).is_some_and(|expires| *expires > now)
    }

    /// Ends the session `id` (logout).
    pub fn close(&self, id: &str) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.remove(&hash(id));
    }
}

fn hash(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_close() {
        let sessions = Sessions::default();
        let id = sessions.open(1000).unwrap();
        assert_eq!(id.len(), 64);
        assert!(sessions.check(&id, 1000 + LIFETIME_SECONDS - 1));
        assert!(!sessions.check(&id, 1000 + LIFETIME_SECONDS));
        assert!(!sessions.check("not-a-session", 1000));
        sessions.close(&id);
        assert!(!sessions.check(&id, 1001));
    }
}
