//! Typed errors of the aggregator library.

use ldp_protocol::{ReportError, WireError};

/// Why reports, batches or counters were refused. Nothing is counted when an error is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AggregateError {
    /// A report does not fit the campaign's mechanism (report index given).
    #[error("report {index}: {source}")]
    Report {
        /// Position of the report in its batch (0 for a single report).
        index: usize,
        /// What is wrong with it.
        source: ReportError,
    },
    /// The batch belongs to another campaign.
    #[error("batch is for campaign {found}, not {expected}")]
    WrongCampaign {
        /// Campaign of these counters.
        expected: String,
        /// Campaign named by the batch.
        found: String,
    },
    /// The batch was made under another configuration (stale or foreign config digest).
    #[error("batch config digest {found:016x} does not match the campaign's {expected:016x}")]
    DigestMismatch {
        /// Digest of the campaign configuration.
        expected: u64,
        /// Digest carried by the batch or counters.
        found: u64,
    },
    /// Counters of a different shape (another mechanism, k, g or pool).
    #[error("counter snapshot has {found} cells; this campaign needs {expected}")]
    SnapshotShape {
        /// Cells required.
        expected: usize,
        /// Cells found.
        found: usize,
    },
    /// A counter would overflow 64 bits.
    #[error("counter overflow")]
    Overflow,
    /// An argument is outside its documented range.
    #[error("{0}")]
    InvalidArgument(String),
    /// The operation belongs to another mechanism family (a mean of a frequency oracle,
    /// support counts of a string mechanism, …).
    #[error("{mechanism} has no {operation}")]
    WrongFamily {
        /// The campaign's mechanism.
        mechanism: &'static str,
        /// What was asked for.
        operation: &'static str,
    },
    /// The caller gave up (a query timed out) and the work stopped early.
    #[error("cancelled")]
    Cancelled,
    /// Counter bytes could not be decoded.
    #[error(transparent)]
    Wire(#[from] WireError),
}
