//! The values a [`Client`](crate::Client) takes and returns.

/// Tunables of a [`Client`](crate::Client); [`ClientOptions::default`] suits an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Length of the window after an epoch's end over which its batch is released, uniformly
    /// at random; `None` (the default) is one epoch of the campaign.
    pub release_window_seconds: Option<u64>,
    /// Most batches kept in the outbox (default 500); beyond it the oldest are dropped.
    pub max_outbox_batches: u64,
    /// Most report bytes kept in the outbox (default 8 MiB); beyond it the oldest batches
    /// are dropped.
    pub max_outbox_bytes: u64,
    /// Most reports in one batch (default 1,000).
    pub max_batch_reports: u64,
    /// First wait after a failed send, seconds (default 60; doubles per attempt, jittered).
    pub retry_base_seconds: u64,
    /// Longest wait between attempts, seconds (default 6 hours).
    pub retry_max_seconds: u64,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            release_window_seconds: None,
            max_outbox_batches: 500,
            max_outbox_bytes: 8 << 20,
            max_batch_reports: 1000,
            retry_base_seconds: 60,
            retry_max_seconds: 6 * 3600,
        }
    }
}

/// Privacy spent by this device on one campaign in one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochSpend {
    /// Epoch number.
    pub epoch: u64,
    /// Reports charged.
    pub reports: u32,
    /// Upper bound on the ε spent (sequential composition of the effective per-report ε).
    pub epsilon: f64,
}

/// Privacy spent by this device on one campaign.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PrivacySpent {
    /// Campaign id.
    pub campaign: String,
    /// Every epoch with a charge, oldest first.
    pub epochs: Vec<EpochSpend>,
    /// Reports charged over the device's lifetime.
    pub lifetime_reports: u64,
    /// Upper bound on the ε spent over the device's lifetime, summed over the campaign's
    /// configurations: for a memoized mechanism (RAPPOR, LOLOHA, L-SUE, L-OUE) the permanent
    /// responses drawn times ε∞, however many reports were sent; for the others the sum of
    /// the per-report ε (see [`LifetimeSpend`](ldp_protocol::LifetimeSpend)).
    pub lifetime_epsilon: f64,
    /// Distinct permanent responses the device's reports were drawn from (memoized mechanisms;
    /// a LOLOHA device draws at most g).
    pub permanent_responses: u64,
    /// The campaign's `max_lifetime_epsilon` in the configuration in force, if it sets one.
    pub max_lifetime_epsilon: Option<f64>,
}

/// What one [`Client::upload_pending`](crate::Client::upload_pending) did, and what is left.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UploadSummary {
    /// Batches the collector acknowledged (counted now, or before a lost answer).
    pub batches_sent: u64,
    /// Reports in them.
    pub reports_sent: u64,
    /// Batches the collector refused for good and that were dropped.
    pub batches_rejected: u64,
    /// Batches still waiting (not yet due, or to be retried).
    pub batches_waiting: u64,
    /// Reports in them.
    pub reports_waiting: u64,
    /// Unix time at which the next batch becomes due, if any is waiting.
    pub next_due: Option<u64>,
    /// Why sending stopped early (the collector could not be reached), if it did.
    pub error: Option<String>,
}
