//! Writing behind the caller: `record` charges and encodes a report in memory and queues it;
//! a background thread writes the queue to the store, a whole burst per transaction.
//!
//! The app's thread never waits for the disk. A report and its charge are queued together and
//! written together, so a crash before the write loses both — budget that was never recorded
//! on disk was never spent on anything sent, because nothing is sent before it is written and
//! synced (see [`crate::store`]). Every call that reads the store writes the queue first.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use crate::error::SdkError;
use crate::store::{Limits, Record, Store};

/// Most records queued before `record` writes them itself rather than queue more.
pub(crate) const MAX_QUEUED: usize = 4096;

/// The queue between the app's threads and the store.
#[derive(Debug)]
pub(crate) struct Writer {
    queue: Mutex<Queue>,
    wake: Condvar,
    limits: Limits,
}

#[derive(Debug, Default)]
struct Queue {
    records: Vec<Record>,
    /// Why the last write failed, until a caller is told.
    failure: Option<String>,
    stopping: bool,
}

/// Locks `mutex`, even if a thread panicked while holding it: every change to the state is
/// one store transaction or one push, so nothing is left half done.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Writer {
    /// An empty queue whose records are written under `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            limits,
        }
    }

    /// Queues `record` and wakes the writing thread.
    pub fn push(&self, record: Record) {
        lock(&self.queue).records.push(record);
        self.wake.notify_one();
    }

    /// Records queued.
    pub fn len(&self) -> usize {
        lock(&self.queue).records.len()
    }

    /// Records queued for `campaign` in `epoch`.
    pub fn queued(&self, campaign: &str, epoch: u64) -> u32 {
        let queue = lock(&self.queue);
        let n = queue
            .records
            .iter()
            .filter(|r| r.epoch == epoch && r.config.id().as_str() == campaign)
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The error of a write that failed since the last call, if any (reported once).
    pub fn take_failure(&self) -> Result<(), SdkError> {
        match lock(&self.queue).failure.take() {
            Some(failure) => Err(SdkError::Storage(format!(
                "recorded values could not be stored: {failure}"
            ))),
            None => Ok(()),
        }
    }

    /// Writes everything queued to `store` (whose lock the caller holds, so no other write is
    /// under way); a failure is logged and kept for [`Writer::take_failure`].
    pub fn flush(&self, store: &mut Store) {
        let records = std::mem::take(&mut lock(&self.queue).records);
        if !records.is_empty()
            && let Err(e) = store.write(&records, self.limits)
        {
            tracing::error!(error = %e, lost = records.len(), "recorded values not stored");
            lock(&self.queue).failure = Some(e.to_string());
        }
    }

    /// Blocks until records are queued (true) or the writer is stopping with none left (false).
    pub fn wait(&self) -> bool {
        let mut queue = lock(&self.queue);
        while queue.records.is_empty() && !queue.stopping {
            queue = self
                .wake
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
        !queue.records.is_empty()
    }

    /// Tells the writing thread to finish: it writes what is queued, then returns.
    pub fn stop(&self) {
        lock(&self.queue).stopping = true;
        self.wake.notify_all();
    }

    /// The writing thread's loop: writes each burst of records as it arrives, until stopped.
    pub fn run(&self, store: &Mutex<Store>) {
        while self.wait() {
            self.flush(&mut lock(store));
        }
    }
}
