//! The ingest policy: what a batch must satisfy before anything of it is counted.
//!
//! [`decode`] reads the bytes of one batch; [`accept`] checks it against its campaign (id,
//! config digest, epoch window, batch size, every report) and folds it into a per-batch
//! [`Delta`] (the cells its reports add, not a table, where the mechanism allows:
//! [`CellDelta`]); [`accept_into`] makes the same checks and folds into counters the caller
//! keeps.
//! Nothing here knows about HTTP or storage: the service calls [`decode`] and [`accept`] and
//! hands the delta to its committer; the simulator folds every block of reports as a batch
//! through [`accept_into`], exactly as the service would check it.
//!
//! ```
//! use ldp_aggregator::ingest::{self, IngestError, Limits};
//! use ldp_client::Encoder;
//! use ldp_protocol::{Batch, BatchId, CampaignConfig, CampaignSpec, Domain, Mechanism};
//! use rand_chacha::ChaCha20Rng;
//! use rand_core::SeedableRng;
//!
//! let config = CampaignConfig::new(CampaignSpec::new("demo", Mechanism::Grr, 1.0, Domain::Range { k: 4 }))?;
//! let mut encoder = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([7; 32]));
//! let reports = (0..10).map(|i| encoder.encode_index(i % 4)).collect::<Result<Vec<_>, _>>()?;
//! let mut batch = Batch::new(&config, 5, BatchId([1; 16]));
//! batch.reports = reports;
//! let bytes = ldp_protocol::wire::encode(&batch)?;
//!
//! let batch = ingest::decode(&bytes)?;
//! let delta = ingest::accept(&config, &batch, 4..=5, &Limits::default())?;
//! assert_eq!((delta.epoch, delta.reports), (5, 10));
//! // An epoch outside the window is refused, and nothing is counted.
//! let late = ingest::accept(&config, &batch, 6..=7, &Limits::default());
//! assert!(matches!(late, Err(IngestError::EpochOutOfWindow { epoch: 5, .. })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::ops::RangeInclusive;

use ldp_protocol::{Batch, BatchId, CampaignConfig, WireError};

use crate::error::AggregateError;
use crate::estimate::{CellDelta, Counters};

/// Most reports in one batch unless configured otherwise.
pub const DEFAULT_MAX_BATCH_REPORTS: usize = 10_000;

/// Size limits of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most reports in one batch (a batch also needs at least one).
    pub max_batch_reports: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_batch_reports: DEFAULT_MAX_BATCH_REPORTS,
        }
    }
}

/// The checked and folded content of one batch, ready to be committed.
#[derive(Debug, Clone)]
pub struct Delta {
    /// Coarse epoch of the batch.
    pub epoch: u64,
    /// The batch's random id (the unit of idempotency).
    pub batch_id: BatchId,
    /// Reports in the batch.
    pub reports: usize,
    /// What the batch's reports add to the campaign's counters.
    pub cells: CellDelta,
}

/// Why a batch was refused. Nothing of a refused batch is counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The bytes are not a valid batch encoding (truncated, trailing bytes, bad tags).
    #[error(transparent)]
    Malformed(WireError),
    /// The batch is in a format version this build does not read.
    #[error(transparent)]
    UnsupportedVersion(WireError),
    /// The batch names another campaign than the one it was sent to.
    #[error("the batch is for campaign {found:?}, posted to {expected:?}")]
    CampaignMismatch {
        /// The campaign the batch was sent to.
        expected: String,
        /// The campaign the batch names.
        found: String,
    },
    /// The batch was made under another configuration of the campaign.
    #[error(
        "the batch carries config digest {found:016x}; the campaign's is {expected:016x}: fetch the campaign again"
    )]
    DigestMismatch {
        /// The campaign's digest.
        expected: u64,
        /// The batch's digest.
        found: u64,
    },
    /// The batch's epoch is outside the accepted window.
    #[error("epoch {epoch} is outside the accepted epochs {}..={}", .window.start(), .window.end())]
    EpochOutOfWindow {
        /// The batch's epoch.
        epoch: u64,
        /// The epochs accepted now (inclusive).
        window: RangeInclusive<u64>,
    },
    /// The batch holds no report, or more than allowed.
    #[error("a batch holds 1 to {max} reports; this one has {reports}")]
    BatchSize {
        /// Reports in the batch.
        reports: usize,
        /// Most reports allowed.
        max: usize,
    },
    /// A report does not fit the campaign (`index` is its position, when known).
    #[error("{source}")]
    InvalidReport {
        /// Position of the offending report in the batch.
        index: Option<usize>,
        /// What is wrong.
        source: AggregateError,
    },
}

/// Reads one batch from its wire bytes (bounded; trailing bytes refused).
pub fn decode(bytes: &[u8]) -> Result<Batch, IngestError> {
    ldp_protocol::wire::decode_batch(bytes).map_err(|e| match e {
        WireError::UnsupportedVersion(_) => IngestError::UnsupportedVersion(e),
        _ => IngestError::Malformed(e),
    })
}

/// Checks `batch` against `config` — campaign id, config digest, epoch within `window`, size
/// within `limits`, every report — and folds it into a [`Delta`]. Nothing is counted unless
/// every check passes.
pub fn accept(
    config: &CampaignConfig,
    batch: &Batch,
    window: RangeInclusive<u64>,
    limits: &Limits,
) -> Result<Delta, IngestError> {
    check_batch(config, batch, &window, limits)?;
    let cells = CellDelta::of_reports(config, &batch.reports).map_err(invalid_report)?;
    Ok(Delta {
        epoch: batch.epoch,
        batch_id: batch.batch_id,
        reports: batch.reports.len(),
        cells,
    })
}

/// The checks of the batch as a whole: campaign, digest, epoch window, size.
fn check_batch(
    config: &CampaignConfig,
    batch: &Batch,
    window: &RangeInclusive<u64>,
    limits: &Limits,
) -> Result<(), IngestError> {
    let reports = batch.reports.len();
    if batch.campaign.as_str() != config.id().as_str() {
        return Err(IngestError::CampaignMismatch {
            expected: config.id().as_str().to_owned(),
            found: batch.campaign.as_str().to_owned(),
        });
    }
    if batch.config_digest != config.digest() {
        return Err(IngestError::DigestMismatch {
            expected: config.digest(),
            found: batch.config_digest,
        });
    }
    if !window.contains(&batch.epoch) {
        return Err(IngestError::EpochOutOfWindow {
            epoch: batch.epoch,
            window: window.clone(),
        });
    }
    if reports == 0 || reports > limits.max_batch_reports {
        return Err(IngestError::BatchSize {
            reports,
            max: limits.max_batch_reports,
        });
    }
    Ok(())
}

/// A fold's error as the ingest error of an invalid report.
fn invalid_report(source: AggregateError) -> IngestError {
    let index = match &source {
        AggregateError::Report { index, .. } => Some(*index),
        AggregateError::WrongCampaign { .. }
        | AggregateError::DigestMismatch { .. }
        | AggregateError::SnapshotShape { .. }
        | AggregateError::Overflow
        | AggregateError::InvalidArgument(_)
        | AggregateError::WrongFamily { .. }
        | AggregateError::Cancelled
        | AggregateError::Wire(_) => None,
    };
    IngestError::InvalidReport { index, source }
}

/// [`accept`] folding into existing `counters` (made for `config`) instead of a fresh
/// [`Delta`]: the same checks, for a caller that folds many batches into one accumulator (the
/// simulator's shards). Nothing is counted unless every check passes; counters of another
/// configuration are refused ([`IngestError::InvalidReport`] with
/// [`AggregateError::DigestMismatch`]).
pub fn accept_into(
    counters: &mut Counters,
    config: &CampaignConfig,
    batch: &Batch,
    window: RangeInclusive<u64>,
    limits: &Limits,
) -> Result<(), IngestError> {
    check_batch(config, batch, &window, limits)?;
    if counters.config_digest() != config.digest() {
        return Err(IngestError::InvalidReport {
            index: None,
            source: AggregateError::DigestMismatch {
                expected: counters.config_digest(),
                found: config.digest(),
            },
        });
    }
    counters.fold_all(&batch.reports).map_err(invalid_report)
}

#[cfg(test)]
mod tests {
    use ldp_protocol::{CampaignSpec, Domain, Mechanism, Report};

    use super::*;

    fn config(id: &str) -> CampaignConfig {
        CampaignConfig::new(CampaignSpec::new(
            id,
            Mechanism::Grr,
            1.0,
            Domain::Range { k: 4 },
        ))
        .unwrap()
    }

    fn batch(config: &CampaignConfig, epoch: u64, reports: usize) -> Batch {
        let report = Report::Grr(ldp_protocol::report::GrrReport { value: 1 });
        let mut batch = Batch::new(config, epoch, BatchId([3; 16]));
        batch.reports = vec![report; reports];
        batch
    }

    #[test]
    fn every_rule_refuses_with_its_own_error() {
        let c = config("a");
        let limits = Limits {
            max_batch_reports: 5,
        };
        assert!(accept(&c, &batch(&c, 2, 5), 1..=2, &limits).is_ok());
        assert!(matches!(
            accept(&c, &batch(&config("b"), 2, 1), 1..=2, &limits),
            Err(IngestError::CampaignMismatch { .. })
        ));
        let mut stale = batch(&c, 2, 1);
        stale.config_digest ^= 1;
        assert!(matches!(
            accept(&c, &stale, 1..=2, &limits),
            Err(IngestError::DigestMismatch { .. })
        ));
        assert!(matches!(
            accept(&c, &batch(&c, 3, 1), 1..=2, &limits),
            Err(IngestError::EpochOutOfWindow { epoch: 3, .. })
        ));
        for size in [0, 6] {
            assert!(matches!(
                accept(&c, &batch(&c, 2, size), 1..=2, &limits),
                Err(IngestError::BatchSize { .. })
            ));
        }
        let mut bad = batch(&c, 2, 3);
        bad.reports[2] = Report::Grr(ldp_protocol::report::GrrReport { value: 9 });
        assert!(matches!(
            accept(&c, &bad, 1..=2, &limits),
            Err(IngestError::InvalidReport { index: Some(2), .. })
        ));
        assert!(matches!(
            decode(b"\x00"),
            Err(IngestError::Malformed(_) | IngestError::UnsupportedVersion(_))
        ));
    }

    #[test]
    fn accept_into_folds_what_accept_folds_and_refuses_what_it_refuses() {
        let c = config("a");
        let limits = Limits::default();
        let delta = accept(&c, &batch(&c, 2, 3), 1..=2, &limits).unwrap();
        let mut counters = Counters::new(&c);
        accept_into(&mut counters, &c, &batch(&c, 2, 3), 1..=2, &limits).unwrap();
        let mut added = Counters::new(&c);
        added.add_delta(&delta.cells).unwrap();
        assert_eq!(counters, added);

        let mut bad = batch(&c, 2, 3);
        bad.reports[1] = Report::Grr(ldp_protocol::report::GrrReport { value: 9 });
        assert!(matches!(
            accept_into(&mut counters, &c, &bad, 1..=2, &limits),
            Err(IngestError::InvalidReport { index: Some(1), .. })
        ));
        assert!(matches!(
            accept_into(&mut counters, &c, &batch(&c, 3, 1), 1..=2, &limits),
            Err(IngestError::EpochOutOfWindow { epoch: 3, .. })
        ));
        // Counters of another configuration are refused before anything is folded.
        let other = config("b");
        assert!(matches!(
            accept_into(&mut counters, &other, &batch(&other, 2, 1), 1..=2, &limits),
            Err(IngestError::InvalidReport {
                index: None,
                source: AggregateError::DigestMismatch { .. }
            })
        ));
        assert_eq!(counters, added, "nothing counted on error");
    }
}
