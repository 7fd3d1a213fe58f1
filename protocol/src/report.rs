//! Reports and batches: what travels from a device to the collector.
//!
//! A report's encoded length depends only on the campaign configuration, never on the value
//! (fixed-width integers; a unary report always has `ceil(k/64)` words).

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::campaign::{CampaignConfig, CampaignId};
use crate::error::ReportError;
use crate::mechanism::{MechanismKind, MechanismParams};

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
    /// The mechanism family of this report.
    pub const fn kind(&self) -> MechanismKind {
        match self {
            Self::Grr(_) => MechanismKind::Grr,
            Self::Sue(_) => MechanismKind::Sue,
            Self::Oue(_) => MechanismKind::Oue,
            Self::Olh(_) => MechanismKind::Olh,
            Self::Blh(_) => MechanismKind::Blh,
            Self::Ss(_) => MechanismKind::Ss,
            Self::Hr(_) => MechanismKind::Hr,
            Self::Rappor(_) => MechanismKind::Rappor,
            Self::Cms(_) => MechanismKind::Cms,
            Self::Hcms(_) => MechanismKind::Hcms,
            Self::Duchi(_) => MechanismKind::Duchi,
            Self::Piecewise(_) => MechanismKind::Piecewise,
            Self::Hybrid(_) => MechanismKind::Hybrid,
        }
    }

    /// Checks that this report can have been produced under `params`: right variant, indices
    /// in range, exact bit length, zero padding. Every accumulator calls it before counting.
    pub fn check(&self, params: &MechanismParams) -> Result<(), ReportError> {
        let wrong = || ReportError::WrongVariant {
            expected: params.kind().name(),
            found: self.kind().name(),
        };
        match (params, self) {
            (MechanismParams::Grr(p), Report::Grr(r)) => check_index(r.value, p.k),
            (MechanismParams::Sue(p), Report::Sue(r))
            | (MechanismParams::Oue(p), Report::Oue(r)) => check_bits(&r.bits, p.words(), p.k),
            (MechanismParams::Olh(p), Report::Olh(r))
            | (MechanismParams::Blh(p), Report::Blh(r)) => {
                check_index(r.value, p.g)?;
                match p.seed_pool {
                    Some(pool) if r.seed >= u64::from(pool) => Err(ReportError::IndexOutOfRange {
                        value: r.seed,
                        bound: u64::from(pool),
                    }),
                    _ => Ok(()),
                }
            }
            (MechanismParams::Ss(p), Report::Ss(r)) => check_subset(&r.values, p.w, p.k),
            (MechanismParams::Hr(p), Report::Hr(r)) => check_index(r.value, p.outputs),
            (MechanismParams::Rappor(p), Report::Rappor(r)) => {
                check_index(r.cohort, p.cohorts)?;
                check_bits(&r.bits, p.words(), p.bloom_bits)
            }
            (MechanismParams::Cms(p), Report::Cms(r)) => {
                check_index(r.row, p.hashes)?;
                check_bits(&r.bits, p.words(), p.width)
            }
            (MechanismParams::Hcms(p), Report::Hcms(r)) => {
                check_index(r.row, p.hashes)?;
                check_index(r.column, p.width)
            }
            (MechanismParams::Duchi(p), Report::Duchi(r))
            | (MechanismParams::Piecewise(p), Report::Piecewise(r))
            | (MechanismParams::Hybrid(p), Report::Hybrid(r)) => check_index(r.cell, p.cells()),
            _ => Err(wrong()),
        }
    }
}

fn check_index(value: u32, bound: u32) -> Result<(), ReportError> {
    if value < bound {
        Ok(())
    } else {
        Err(ReportError::IndexOutOfRange {
            value: u64::from(value),
            bound: u64::from(bound),
        })
    }
}

fn check_subset(values: &[u32], w: u32, k: u32) -> Result<(), ReportError> {
    if values.len() != w as usize {
        return Err(ReportError::WrongSetSize {
            expected: w as usize,
            found: values.len(),
        });
    }
    if let Some(&last) = values.last() {
        check_index(last, k)?;
    }
    if values.windows(2).any(|pair| pair.first() >= pair.get(1)) {
        return Err(ReportError::NotStrictlyIncreasing);
    }
    Ok(())
}

fn check_bits(bits: &[u64], words: usize, k: u32) -> Result<(), ReportError> {
    if bits.len() != words {
        return Err(ReportError::WrongBitLength {
            expected: words,
            found: bits.len(),
        });
    }
    let used = k % 64;
    if used != 0
        && let Some(last) = bits.last()
        && last >> used != 0
    {
        return Err(ReportError::PaddingBitsSet);
    }
    Ok(())
}

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
