//! The group committer: the only writer of counters.
//!
//! Request handlers validate and fold a batch into a [`BatchDelta`], hand it over with
//! [`Committer::submit`], and wait. One thread takes the first waiting delta, keeps collecting
//! for the commit window (a few milliseconds) or until the group is full, commits the whole
//! group in **one** transaction ([`Store::commit`]), and only then answers every waiting
//! request. Under load, the deltas that arrive while one commit is being written form the next
//! group, so the cost of an fsync is shared by hundreds of batches.
//!
//! **Fair between campaigns.** One campaign may hold at most a quarter of the queue (batches
//! and bytes, [`CAMPAIGN_SHARE`]): a flood on one campaign is refused with 503 while the
//! others' batches are still admitted. When more batches wait than one group takes
//! ([`MAX_GROUP`]), the group takes them from each waiting campaign in turn, so a campaign
//! with a backlog delays another's acknowledgement by at most the commits its own share
//! fills. A batch's delta holds only the cells its reports touched where the mechanism allows
//! (`crate::estimate::CellDelta`), and a commit rewrites only the counter chunks its group
//! touched, so a batch's cost follows its reports, not its campaign's domain.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::health::{COMMIT_FAILED, Health};
use super::metrics::Metrics;
use crate::store::{BatchDelta, CommitOutcome, Store, StoreError};

/// Most batches in one transaction.
pub const MAX_GROUP: usize = 4096;

/// The part of the queue (batches and bytes) one campaign may hold: one in four.
pub const CAMPAIGN_SHARE: usize = 4;

struct Pending {
    delta: BatchDelta,
    bytes: usize,
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
    held: Arc<Held>,
}

/// What waits for a commit, in all and per campaign: bounded by memory, not only by count,
/// since a dense delta holds a counter per cell of its campaign's table.
#[derive(Debug)]
struct Held {
    bytes: AtomicUsize,
    max_bytes: usize,
    max_campaign_batches: usize,
    per_campaign: Mutex<HashMap<String, (usize, usize)>>,
}

impl Held {
    /// Reserves room for a delta of `bytes` of `campaign`, or says why not.
    fn reserve(&self, campaign: &str, bytes: usize) -> Result<(), SubmitError> {
        let mut per_campaign = self
            .per_campaign
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let before = self.bytes.load(Ordering::SeqCst);
        let (batches, held) = per_campaign.get(campaign).copied().unwrap_or_default();
        let over_total = before > 0 && before + bytes > self.max_bytes;
        let over_share = batches > 0
            && (batches >= self.max_campaign_batches
                || held + bytes > self.max_bytes / CAMPAIGN_SHARE);
        if over_total || over_share {
            return Err(SubmitError::Overloaded);
        }
        self.bytes.fetch_add(bytes, Ordering::SeqCst);
        per_campaign.insert(campaign.to_owned(), (batches + 1, held + bytes));
        Ok(())
    }

    /// Gives back what [`Held::reserve`] took.
    fn release(&self, campaign: &str, bytes: usize) {
        let mut per_campaign = self
            .per_campaign
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.bytes.fetch_sub(bytes, Ordering::SeqCst);
        if let Some((batches, held)) = per_campaign.get_mut(campaign) {
            *batches -= 1;
            *held -= bytes;
            if *batches == 0 {
                per_campaign.remove(campaign);
            }
        }
    }
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
        let held = Arc::new(Held {
            bytes: AtomicUsize::new(0),
            max_bytes: DEFAULT_QUEUE_BYTES,
            max_campaign_batches: (queue_capacity / CAMPAIGN_SHARE).max(1),
            per_campaign: Mutex::new(HashMap::new()),
        });
        let released = held.clone();
        let thread = std::thread::Builder::new()
            .name("group-commit".into())
            .spawn(move || run(&*store, &metrics, window, &receiver, &released))?;
        Ok((Self { queue, held }, thread))
    }

    /// Queues `delta` and waits until its group is committed.
    pub async fn submit(&self, delta: BatchDelta) -> Result<CommitOutcome, SubmitError> {
        let bytes = delta.cells.approx_bytes();
        self.held.reserve(&delta.campaign, bytes)?;
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            delta,
            bytes,
            reply,
        };
        if let Err(e) = self.queue.try_send(pending) {
            let (refused, pending) = match e {
                TrySendError::Full(p) => (SubmitError::Overloaded, p),
                TrySendError::Disconnected(p) => (SubmitError::Stopped, p),
            };
            self.held.release(&pending.delta.campaign, pending.bytes);
            return Err(refused);
        }
        match answer.await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(e)) => Err(SubmitError::Store(e)),
            Err(_) => Err(SubmitError::Stopped),
        }
    }
}

/// Batches waiting for the committer, per campaign, in arrival order.
#[derive(Default)]
struct Waiting {
    campaigns: BTreeMap<String, VecDeque<Pending>>,
    count: usize,
}

impl Waiting {
    fn push(&mut self, pending: Pending) {
        self.count += 1;
        self.campaigns
            .entry(pending.delta.campaign.clone())
            .or_default()
            .push_back(pending);
    }

    /// Up to [`MAX_GROUP`] batches, one from each waiting campaign in turn.
    fn take_group(&mut self) -> Vec<Pending> {
        let mut group = Vec::with_capacity(self.count.min(MAX_GROUP));
        while group.len() < MAX_GROUP && self.count > 0 {
            for queue in self.campaigns.values_mut() {
                if group.len() == MAX_GROUP {
                    break;
                }
                if let Some(pending) = queue.pop_front() {
                    group.push(pending);
                    self.count -= 1;
                }
            }
        }
        self.campaigns.retain(|_, queue| !queue.is_empty());
        group
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
    held: &Held,
) {
    let health = &metrics.health;
    let mut waiting = Waiting::default();
    let mut open = true;
    while open || waiting.count > 0 {
        if waiting.count == 0 {
            match receiver.recv_timeout(IDLE_WAKE) {
                Ok(first) => waiting.push(first),
                Err(RecvTimeoutError::Timeout) => {
                    probe_if_due(store, health);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let deadline = Instant::now() + window;
            while waiting.count < MAX_GROUP {
                let left = deadline.saturating_duration_since(Instant::now());
                match receiver.recv_timeout(left) {
                    Ok(pending) => waiting.push(pending),
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => {
                        open = false;
                        break;
                    }
                }
            }
        }
        // Whatever else arrived joins the turn-taking.
        while let Ok(pending) = receiver.try_recv() {
            waiting.push(pending);
        }
        let group = waiting.take_group();
        commit_group(store, metrics, held, group);
    }
    tracing::debug!("group committer stopped");
}

/// Commits one group and answers each of its requests.
fn commit_group(store: &dyn Store, metrics: &Metrics, held: &Held, group: Vec<Pending>) {
    let health = &metrics.health;
    let deltas: Vec<&BatchDelta> = group.iter().map(|p| &p.delta).collect();
    let started = Instant::now();
    let result = store.commit(&deltas);
    metrics
        .commit_seconds
        .observe(started.elapsed().as_secs_f64());
    metrics.commit_batches.observe(group.len() as f64);
    drop(deltas);
    for pending in &group {
        held.release(&pending.delta.campaign, pending.bytes);
    }
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
