//! The group committer: the only writer of counters.
//!
//! Request handlers validate and fold a batch into a [`BatchDelta`], hand it over with
//! [`Committer::submit`], and wait. One thread takes the first waiting delta, keeps collecting
//! for the commit window (a few milliseconds) or until the group is full, commits the whole
//! group in **one** transaction ([`Store::commit`]), and only then answers every waiting
//! request. Under load, the deltas that arrive while one commit is being written form the next
//! group, so the cost of an fsync is shared by hundreds of batches.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::health::{COMMIT_FAILED, Health};
use super::metrics::Metrics;
use crate::store::{BatchDelta, CommitOutcome, Store, StoreError};

/// Most batches in one transaction.
pub const MAX_GROUP: usize = 4096;

struct Pending {
    delta: BatchDelta,
    reply: oneshot::Sender<Result<CommitOutcome, Arc<StoreError>>>,
}

/// Why a batch could not be committed.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// Too many batches are waiting; retry later.
    #[error("the commit queue is full")]
    Overloaded,
    /// The committer has stopped (shutdown).
    #[error("the committer has stopped")]
    Stopped,
    /// The transaction failed; nothing of its group was written.
    #[error(transparent)]
    Store(Arc<StoreError>),
}

/// Handle to the committer thread.
#[derive(Debug, Clone)]
pub struct Committer {
    queue: SyncSender<Pending>,
    /// Bytes of counter deltas waiting or being committed, bounded by `max_bytes`: a batch's
    /// delta holds a counter per value, so large domains must be bounded by memory, not count.
    queued_bytes: Arc<AtomicUsize>,
    max_bytes: usize,
}

/// Most bytes of counter deltas waiting for a commit before ingest answers 503.
pub const DEFAULT_QUEUE_BYTES: usize = 256 << 20;

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("delta", &self.delta)
            .finish()
    }
}

impl Committer {
    /// Starts the committer thread. It runs until every [`Committer`] handle is dropped, then
    /// commits what is still queued and ends; join the returned handle to wait for that.
    pub fn start(
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        window: Duration,
        queue_capacity: usize,
    ) -> std::io::Result<(Self, JoinHandle<()>)> {
        let (queue, receiver) = sync_channel(queue_capacity);
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let in_flight = queued_bytes.clone();
        let thread = std::thread::Builder::new()
            .name("group-commit".into())
            .spawn(move || run(&*store, &metrics, window, &receiver, &in_flight))?;
        Ok((
            Self {
                queue,
                queued_bytes,
                max_bytes: DEFAULT_QUEUE_BYTES,
            },
            thread,
        ))
    }

    /// Queues `delta` and waits until its group is committed.
    pub async fn submit(&self, delta: BatchDelta) -> Result<CommitOutcome, SubmitError> {
        let bytes = delta.counters.approx_bytes();
        let before = self.queued_bytes.fetch_add(bytes, Ordering::SeqCst);
        if before > 0 && before + bytes > self.max_bytes {
            self.queued_bytes.fetch_sub(bytes, Ordering::SeqCst);
            return Err(SubmitError::Overloaded);
        }
        let (reply, answer) = oneshot::channel();
        let refused = match self.queue.try_send(Pending { delta, reply }) {
            Ok(()) => None,
            Err(TrySendError::Full(_)) => Some(SubmitError::Overloaded),
            Err(TrySendError::Disconnected(_)) => Some(SubmitError::Stopped),
        };
        if let Some(e) = refused {
            self.queued_bytes.fetch_sub(bytes, Ordering::SeqCst);
            return Err(e);
        }
        match answer.await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(e)) => Err(SubmitError::Store(e)),
            Err(_) => Err(SubmitError::Stopped),
        }
    }
}

/// How often an idle committer wakes to see whether the store needs a probe.
const IDLE_WAKE: Duration = Duration::from_millis(250);
/// How long the store may go without a successful write before the idle committer probes it:
/// an unwritable store shows on `/readyz` within about this plus [`IDLE_WAKE`].
const PROBE_AFTER: Duration = Duration::from_millis(500);

/// While no batch arrives: probes the store when it last failed, or has not written for
/// [`PROBE_AFTER`], so that readiness follows the store even without traffic.
fn probe_if_due(store: &dyn Store, health: &Health) {
    if health.writable() && health.since_success() < PROBE_AFTER {
        return;
    }
    match store.probe_write() {
        Ok(()) => health.succeeded(),
        Err(e) => {
            health.failed();
            if let Some(held_back) = COMMIT_FAILED.admit() {
                tracing::error!(error = %e, held_back, "the store cannot commit; not ready");
            }
        }
    }
}

fn run(
    store: &dyn Store,
    metrics: &Metrics,
    window: Duration,
    receiver: &Receiver<Pending>,
    queued_bytes: &AtomicUsize,
) {
    let health = &metrics.health;
    loop {
        let first = match receiver.recv_timeout(IDLE_WAKE) {
            Ok(first) => first,
            Err(RecvTimeoutError::Timeout) => {
                probe_if_due(store, health);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut group = vec![first];
        let deadline = Instant::now() + window;
        while group.len() < MAX_GROUP {
            let left = deadline.saturating_duration_since(Instant::now());
            match receiver.recv_timeout(left) {
                Ok(pending) => group.push(pending),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        let bytes: usize = group.iter().map(|p| p.delta.counters.approx_bytes()).sum();
        let deltas: Vec<&BatchDelta> = group.iter().map(|p| &p.delta).collect();
        let started = Instant::now();
        let result = store.commit(&deltas);
        metrics
            .commit_seconds
            .observe(started.elapsed().as_secs_f64());
        metrics.commit_batches.observe(group.len() as f64);
        drop(deltas);
        queued_bytes.fetch_sub(bytes, Ordering::SeqCst);
        if result.is_ok() {
            health.succeeded();
        } else {
            health.failed();
        }
        match result {
            Ok(outcomes) if outcomes.len() == group.len() => {
                for (pending, outcome) in group.into_iter().zip(outcomes) {
                    // A request that gave up waiting has dropped its receiver; its batch is
                    // committed all the same and a retry will be answered as a duplicate.
                    let _ = pending.reply.send(Ok(outcome));
                }
            }
            Ok(outcomes) => {
                let e = Arc::new(StoreError::Database(format!(
                    "commit returned {} outcomes for {} batches",
                    outcomes.len(),
                    group.len()
                )));
                tracing::error!(error = %e, "group commit");
                for pending in group {
                    let _ = pending.reply.send(Err(e.clone()));
                }
            }
            Err(e) => {
                if let Some(held_back) = COMMIT_FAILED.admit() {
                    tracing::error!(error = %e, batches = group.len(), held_back, "group commit failed; nothing of it was written");
                }
                let e = Arc::new(e);
                for pending in group {
                    let _ = pending.reply.send(Err(e.clone()));
                }
            }
        }
    }
    tracing::debug!("group committer stopped");
}
