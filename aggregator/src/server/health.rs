//! What the service knows of its own health: whether the store can commit (so `/readyz` tells
//! a load balancer the truth), and which repeated log lines it holds back.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Whether the store could commit at the last attempt: the committer says so after every
/// commit, and probes the store while it is idle or failing.
#[derive(Debug)]
pub struct Health {
    failing: AtomicBool,
    failures: AtomicU64,
    last_success: Mutex<Instant>,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            failing: AtomicBool::new(false),
            failures: AtomicU64::new(0),
            last_success: Mutex::new(Instant::now()),
        }
    }
}

impl Health {
    /// A commit (or a probe) succeeded.
    pub fn succeeded(&self) {
        self.failing.store(false, Ordering::SeqCst);
        *self
            .last_success
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    /// A commit (or a probe) failed.
    pub fn failed(&self) {
        self.failing.store(true, Ordering::SeqCst);
        self.failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the last commit or probe succeeded.
    pub fn writable(&self) -> bool {
        !self.failing.load(Ordering::SeqCst)
    }

    /// Commits and probes that failed since the start.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Time since the last success.
    pub fn since_success(&self) -> Duration {
        self.last_success
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .elapsed()
    }
}

/// How long a held-back log line's site stays quiet after it wrote one.
pub const LOG_WINDOW: Duration = Duration::from_secs(10);

/// One log line per [`LOG_WINDOW`] for a site that can repeat once per request (a database
/// that is down would otherwise write a line for every refused request); the lines held back
/// are counted, reported with the next line written, and exported as
/// `ldp_log_suppressed_total`.
#[derive(Debug)]
pub struct Throttle {
    /// The site's name (the metric's label).
    pub site: &'static str,
    /// Milliseconds since the process's first line from which the next line may be written.
    next: AtomicU64,
    held: AtomicU64,
    total: AtomicU64,
}

impl Throttle {
    /// A site that has written nothing yet.
    pub const fn new(site: &'static str) -> Self {
        Self {
            site,
            next: AtomicU64::new(0),
            held: AtomicU64::new(0),
            total: AtomicU64::new(0),
        }
    }

    /// `Some(held back since the last line)` when a line may be written now; `None` when it
    /// is held back (and counted).
    pub fn admit(&self) -> Option<u64> {
        static START: OnceLock<Instant> = OnceLock::new();
        let start = *START.get_or_init(Instant::now);
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let now = millis(start.elapsed());
        let next = self.next.load(Ordering::SeqCst);
        if now >= next
            && self
                .next
                .compare_exchange(
                    next,
                    now.saturating_add(millis(LOG_WINDOW)),
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                )
                .is_ok()
        {
            return Some(self.held.swap(0, Ordering::SeqCst));
        }
        self.held.fetch_add(1, Ordering::SeqCst);
        self.total.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// Lines held back since the start.
    pub fn suppressed(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

/// "database unavailable", once per refused request.
pub static DATABASE_UNAVAILABLE: Throttle = Throttle::new("database_unavailable");
/// "storage error", once per request that met corrupt data.
pub static STORAGE_ERROR: Throttle = Throttle::new("storage_error");
/// A failed group commit or store probe.
pub static COMMIT_FAILED: Throttle = Throttle::new("commit_failed");
/// A failed `accept` (out of file descriptors, say), up to 20 a second.
pub static ACCEPT_FAILED: Throttle = Throttle::new("accept_failed");
/// Every throttled site, for the metrics.
pub static THROTTLES: [&Throttle; 4] = [
    &DATABASE_UNAVAILABLE,
    &STORAGE_ERROR,
    &COMMIT_FAILED,
    &ACCEPT_FAILED,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_writes_one_line_per_window_and_counts_the_rest() {
        let site = Throttle::new("test");
        assert_eq!(site.admit(), Some(0));
        for _ in 0..5 {
            assert_eq!(site.admit(), None);
        }
        assert_eq!(site.suppressed(), 5);
        // The window ends: the next line carries the count of those held back.
        site.next.store(0, Ordering::SeqCst);
        assert_eq!(site.admit(), Some(5));
        assert_eq!(site.admit(), None);
        assert_eq!(site.suppressed(), 6);
    }

    #[test]
    fn health_follows_the_last_attempt() {
        let health = Health::default();
        assert!(health.writable());
        health.failed();
        assert!(!health.writable());
        assert_eq!(health.failures(), 1);
        health.succeeded();
        assert!(health.writable());
    }
}
