//! Reports and batches: what travels from a device to the collector.
//!
//! A report's encoded length depends only on the campaign configuration, never on the value
//! (fixed-width integers; a unary report always has `ceil(k/64)` words).

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::campaign::{CampaignConfig, CampaignId};
use crate::error::ReportError;
use crate::mechanism::{MechanismParams, Payload};

/// The batch format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;

/// One randomized report: one variant per mechanism.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Report {
    /// Generalized randomized response.
    Grr(GrrReport),
    /// Symmetric unary encoding.
    Sue(UnaryReport),
    /// Optimized unary encoding.
    Oue(UnaryReport),
    /// Optimized local hashing.
    Olh(LocalHashReport),
    /// Binary local hashing.
    Blh(LocalHashReport),
    /// Subset Selection.
    Ss(SubsetReport),
    /// Hadamard Response: the reported output `< K`.
    Hr(GrrReport),
    /// RAPPOR.
    Rappor(RapporReport),
    /// Count-mean sketch.
    Cms(SketchReport),
    /// Hadamard count-mean sketch.
    Hcms(HadamardSketchReport),
    /// Duchi et al.'s numeric mechanism.
    Duchi(NumericReport),
    /// The Piecewise Mechanism.
    Piecewise(NumericReport),
    /// The Hybrid Mechanism.
    Hybrid(NumericReport),
    /// Longitudinal local hashing: the device's fixed seed and the reported bucket.
    Loloha(LocalHashReport),
    /// Longitudinal symmetric unary encoding.
    LSue(UnaryReport),
    /// Longitudinal optimized unary encoding.
    LOue(UnaryReport),
    /// dBitFlip: the device's sampled points and a memoized bit for each.
    DBitFlip(DBitFlipReport),
}

/// A dBitFlip report: the device's d sampled points, strictly increasing, and one bit each.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DBitFlipReport {
    /// The sampled points, each `< points`.
    #[serde(deserialize_with = "crate::wire::bounded_vec")]
    pub points: Vec<u32>,
    /// Bit i belongs to `points[i]`; bits from d on are zero.
    pub bits: u64,
}

/// A numeric-mean report: one cell of the mechanism's output grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NumericReport {
    /// Cell `< cells` (Hybrid: Piecewise's cells, then Duchi's two).
    pub cell: u32,
}

/// A GRR report: the (possibly randomized) index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GrrReport {
    /// Reported index `< k`.
    pub value: u32,
}

/// A unary-encoding report: k bits in `ceil(k/64)` words, padding bits zero.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UnaryReport {
    /// Bit i of the domain is bit `i % 64` of `bits[i / 64]`.
    #[serde(deserialize_with = "crate::wire::bounded_vec")]
    pub bits: Vec<u64>,
}

/// A local-hashing report: the hash seed (or seed-pool index) and the reported bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LocalHashReport {
    /// Hash seed; with a seed pool, the pool index.
    pub seed: u64,
    /// Reported bucket `< g`.
    pub value: u32,
}

/// A Subset Selection report: w distinct values, strictly increasing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubsetReport {
    /// The reported set, each value `< k`.
    #[serde(deserialize_with = "crate::wire::bounded_vec")]
    pub values: Vec<u32>,
}

/// A RAPPOR report: the device's cohort and the instantaneous randomized response of its
/// Bloom filter, m bits in `ceil(m/64)` words, padding bits zero.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RapporReport {
    /// Cohort `< cohorts`.
    pub cohort: u32,
    /// Bit i of the filter is bit `i % 64` of `bits[i / 64]`.
    #[serde(deserialize_with = "crate::wire::bounded_vec")]
    pub bits: Vec<u64>,
}

/// A CMS report: the sampled row and the m flipped ±1 entries as bits (1 for +1), in
/// `ceil(m/64)` words, padding bits zero.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SketchReport {
    /// Hash function (row) `< hashes`.
    pub row: u32,
    /// Entry i is bit `i % 64` of `bits[i / 64]`.
    #[serde(deserialize_with = "crate::wire::bounded_vec")]
    pub bits: Vec<u64>,
}

/// An HCMS report: the sampled row and Hadamard column, and the flipped coefficient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HadamardSketchReport {
    /// Hash function (row) `< hashes`.
    pub row: u32,
    /// Hadamard column `< width`.
    pub column: u32,
    /// The coefficient after the flip: true for +1.
    pub positive: bool,
}

impl Report {
    /// Checks that this report can have been produced under `params`: right variant, indices
    /// in range, exact bit length, zero padding. Every accumulator calls it (or the family's
    /// [`check_all`](crate::mechanism::MechanismFamily::check_all)) before counting.
    pub fn check(&self, params: &MechanismParams) -> Result<(), ReportError> {
        params.check(self)
    }
}

/// Implements [`Payload`] for a report type carried by the given variants.
macro_rules! payload {
    ($payload:ty => $($variant:ident)|+) => {
        impl Payload for $payload {
            #[inline]
            fn of(report: &Report) -> Option<&Self> {
                match report {
                    $(Report::$variant(r))|+ => Some(r),
                    _ => None,
                }
            }
        }
    };
}

payload!(GrrReport => Grr | Hr);
payload!(UnaryReport => Sue | Oue | LSue | LOue);
payload!(LocalHashReport => Olh | Blh | Loloha);
payload!(SubsetReport => Ss);
payload!(RapporReport => Rappor);
payload!(SketchReport => Cms);
payload!(HadamardSketchReport => Hcms);
payload!(NumericReport => Duchi | Piecewise | Hybrid);
payload!(DBitFlipReport => DBitFlip);

/// A random 128-bit batch id: the unit of idempotency (a repeated id is counted once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BatchId(pub [u8; 16]);

/// A batch of reports for one campaign and epoch: the body of an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// Format version ([`FORMAT_VERSION`]).
    pub version: u16,
    /// Campaign the reports belong to.
    pub campaign: CampaignId,
    /// Digest of the configuration the reports were made under.
    pub config_digest: u64,
    /// Coarse epoch number (`unix time / epoch length`), never an exact time.
    pub epoch: u64,
    /// Random id, chosen by the device.
    pub batch_id: BatchId,
    /// The reports.
    #[serde(deserialize_with = "crate::wire::bounded_vec")]
    pub reports: Vec<Report>,
}

impl Batch {
    /// An empty batch for `config` and `epoch` with the given random id.
    pub fn new(config: &CampaignConfig, epoch: u64, batch_id: BatchId) -> Self {
        Self {
            version: FORMAT_VERSION,
            campaign: config.id().clone(),
            config_digest: config.digest(),
            epoch,
            batch_id,
            reports: Vec::new(),
        }
    }
}
