//! When a recorded report may leave the device.
//!
//! A report is never sent when it is recorded: the send time would tell the collector when the
//! user acted. Every report of a campaign and epoch waits in one batch, released at a moment
//! drawn uniformly from a window that opens when the epoch ends (by default the whole next
//! epoch). Failed sends wait with exponential backoff and full jitter, or as long as the
//! collector's `Retry-After` asks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use rand_core::RngCore;

/// A source of the current time, in whole seconds since the Unix epoch.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Seconds since the Unix epoch now.
    fn now(&self) -> u64;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A clock that only moves when told to, for tests of the schedule.
///
/// ```
/// use ldp_sdk::schedule::{Clock, ManualClock};
///
/// let clock = ManualClock::new(1_000);
/// clock.advance(60);
/// assert_eq!(clock.now(), 1_060);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock reading `now`.
    pub fn new(now: u64) -> Self {
        Self(Arc::new(AtomicU64::new(now)))
    }

    /// Sets the time.
    pub fn set(&self, now: u64) {
        self.0.store(now, Ordering::SeqCst);
    }

    /// Moves the time forward by `seconds`.
    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The epoch that contains Unix time `now`.
pub fn epoch_at(now: u64, epoch_seconds: u64) -> u64 {
    now / epoch_seconds.max(1)
}

/// The first second after `epoch`.
pub fn epoch_end(epoch: u64, epoch_seconds: u64) -> u64 {
    epoch.saturating_add(1).saturating_mul(epoch_seconds.max(1))
}

/// The release time of `epoch`'s batch: uniform over `[end, end + window)` where `end` is the
/// epoch's end (a zero window releases at the end).
pub fn release_time(epoch: u64, epoch_seconds: u64, window: u64, rng: &mut impl RngCore) -> u64 {
    epoch_end(epoch, epoch_seconds).saturating_add(uniform_below(window, rng))
}

/// The wait before retry number `attempt` (1 after the first failure): uniform in
/// `[d/2, d]` with `d = min(max, base · 2^(attempt−1))`, or `retry_after` when longer.
pub fn retry_delay(
    attempt: u32,
    base: u64,
    max: u64,
    retry_after: Option<u64>,
    rng: &mut impl RngCore,
) -> u64 {
    let doubling = attempt.saturating_sub(1).min(40);
    let ceiling = base.saturating_mul(1u64 << doubling).min(max).max(1);
    let wait = ceiling / 2 + uniform_below(ceiling - ceiling / 2 + 1, rng);
    retry_after.map_or(wait, |asked| wait.max(asked.min(max)))
}

/// A uniform integer in `0..n` (0 when `n` is 0), without modulo bias.
fn uniform_below(n: u64, rng: &mut impl RngCore) -> u64 {
    if n == 0 {
        return 0;
    }
    // Rejection sampling: accept draws below the largest multiple of n.
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let x = rng.next_u64();
        if x < zone {
            return x % n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    #[test]
    fn releases_fall_in_the_window_after_the_epoch() {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([1; 32]);
        for _ in 0..1000 {
            let t = release_time(10, 60, 60, &mut rng);
            assert!((660..720).contains(&t), "{t}");
        }
        assert_eq!(release_time(10, 60, 0, &mut rng), 660);
    }

    #[test]
    fn retries_back_off_and_honour_retry_after() {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([2; 32]);
        for attempt in 1..10 {
            let d = retry_delay(attempt, 30, 3600, None, &mut rng);
            let ceiling = (30u64 << (attempt - 1)).min(3600);
            assert!(d >= ceiling / 2 && d <= ceiling, "{attempt}: {d}");
        }
        assert_eq!(retry_delay(1, 30, 3600, Some(600), &mut rng), 600);
        assert_eq!(retry_delay(1, 30, 3600, Some(99_999), &mut rng), 3600);
    }
}
