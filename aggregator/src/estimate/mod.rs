//! Counters and estimators: fold reports into mergeable counters, debias them into estimates.
//!
//! [`Counters`] is the accumulator for one campaign (and, in the service, one epoch): `fold`,
//! `fold_batch`, `merge`, a serializable [`CounterSnapshot`], and [`Counters::estimate`]. It
//! holds one [`Family`]: the counters of one mechanism family, each in its own module and
//! implementing [`FamilyCounters`] (fold checked reports, merge, snapshot and restore, a
//! family-typed estimate). `each_family!` is the one dispatch over them, once per batch. The
//! frequency oracles are pure protocols, so their estimation is one formula from
//! `ldp_protocol::math`; the string mechanisms (RAPPOR, CMS, HCMS) estimate candidate strings
//! ([`Counters::decode`], module [`candidates`]); the numeric ones a mean
//! ([`Counters::mean`]).

pub mod bitslice;
pub mod candidates;
pub mod dbitflip;
pub mod delta;
pub mod family;
pub mod grr;
pub mod hadamard;
pub mod local_hash;
pub mod loloha;
pub mod lue;
pub mod numeric;
pub mod rappor;
pub mod sketch;
pub mod subset;
pub mod transform;
pub mod unary;

use std::sync::atomic::AtomicBool;

use ldp_protocol::mechanism::MechanismFamily;
pub(crate) use ldp_protocol::mechanism::MechanismParams;
use ldp_protocol::{Batch, CampaignConfig, MechanismKind, Report};
use serde::{Deserialize, Serialize};

use crate::alpha::Alpha;
use crate::error::AggregateError;
use crate::postprocess::norm_sub;

pub use delta::{Added, CellDelta};
pub use family::{CandidateQuery, CountEstimate, FamilyCounters};
pub use numeric::MeanEstimate;

/// The 97.5% quantile of the standard normal: 95% two-sided intervals.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// What [`Counters`] do for a caller: fold reports, merge with other partial counters.
pub trait Accumulator {
    /// Checks and counts one report. Nothing is counted on error.
    fn fold(&mut self, report: &Report) -> Result<(), AggregateError>;
    /// Adds another node's partial counters for the same campaign. Associative, commutative.
    fn merge(&mut self, other: &Self) -> Result<(), AggregateError>;
    /// Reports counted.
    fn n(&self) -> u64;
}

/// One family's counters: the closed set the aggregator knows. Each variant's type owns its
/// fields and implements [`FamilyCounters`]; SUE and OUE, OLH and BLH, and the three numeric
/// mechanisms share a family (their parameters tell them apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Family {
    /// GRR.
    Grr(grr::GrrCounters),
    /// SUE, OUE.
    Unary(unary::UnaryCounters),
    /// OLH, BLH.
    LocalHash(local_hash::LocalHashCounters),
    /// Subset Selection.
    Subset(subset::SubsetCounters),
    /// Hadamard Response.
    Hadamard(hadamard::HadamardCounters),
    /// RAPPOR.
    Rappor(rappor::RapporCounters),
    /// Count-mean sketch.
    Cms(sketch::CmsCounters),
    /// Hadamard count-mean sketch.
    Hcms(sketch::HcmsCounters),
    /// Duchi, Piecewise, Hybrid.
    Numeric(numeric::NumericCounters),
    /// LOLOHA.
    Loloha(loloha::LolohaCounters),
    /// L-SUE, L-OUE.
    LongitudinalUnary(lue::LongitudinalUnaryCounters),
    /// dBitFlip.
    DBitFlip(dbitflip::DBitFlipCounters),
}

/// The one dispatch over [`Family`]: `$body` once per family, with `$c` bound to its
/// counters (the same code monomorphized for each type).
macro_rules! each_family {
    ($family:expr, $c:ident => $body:expr) => {
        match $family {
            Family::Grr($c) => $body,
            Family::Unary($c) => $body,
            Family::LocalHash($c) => $body,
            Family::Subset($c) => $body,
            Family::Hadamard($c) => $body,
            Family::Rappor($c) => $body,
            Family::Cms($c) => $body,
            Family::Hcms($c) => $body,
            Family::Numeric($c) => $body,
            Family::Loloha($c) => $body,
            Family::LongitudinalUnary($c) => $body,
            Family::DBitFlip($c) => $body,
        }
    };
}

/// The one place a mechanism maps to its family: `$body` with `$p` bound to the mechanism's
/// parameters, `$C` to its family's counters type and `$wrap` to the [`Family`] variant that
/// holds them.
macro_rules! with_family {
    ($params:expr, $p:ident, $C:ident, $wrap:ident => $body:expr) => {{
        use $crate::estimate::{
            MechanismParams as M, dbitflip, grr, hadamard, local_hash, loloha, lue, numeric,
            rappor, sketch, subset, unary,
        };
        match $params {
            M::Grr($p) => with_family!(@ grr::GrrCounters, Grr, $C, $wrap, $body),
            M::Sue($p) | M::Oue($p) => {
                with_family!(@ unary::UnaryCounters, Unary, $C, $wrap, $body)
            }
            M::Olh($p) | M::Blh($p) => {
                with_family!(@ local_hash::LocalHashCounters, LocalHash, $C, $wrap, $body)
            }
            M::Ss($p) => with_family!(@ subset::SubsetCounters, Subset, $C, $wrap, $body),
            M::Hr($p) => with_family!(@ hadamard::HadamardCounters, Hadamard, $C, $wrap, $body),
            M::Rappor($p) => with_family!(@ rappor::RapporCounters, Rappor, $C, $wrap, $body),
            M::Cms($p) => with_family!(@ sketch::CmsCounters, Cms, $C, $wrap, $body),
            M::Hcms($p) => with_family!(@ sketch::HcmsCounters, Hcms, $C, $wrap, $body),
            M::Duchi($p) | M::Piecewise($p) | M::Hybrid($p) => {
                with_family!(@ numeric::NumericCounters, Numeric, $C, $wrap, $body)
            }
            M::Loloha($p) => with_family!(@ loloha::LolohaCounters, Loloha, $C, $wrap, $body),
            M::LSue($p) | M::LOue($p) => {
                with_family!(@ lue::LongitudinalUnaryCounters, LongitudinalUnary, $C, $wrap, $body)
            }
            M::DBitFlip($p) => {
                with_family!(@ dbitflip::DBitFlipCounters, DBitFlip, $C, $wrap, $body)
            }
        }
    }};
    (@ $T:ty, $variant:ident, $C:ident, $wrap:ident, $body:expr) => {{
        type $C = $T;
        #[allow(unused_variables)]
        let $wrap = $crate::estimate::Family::$variant;
        $body
    }};
}
pub(crate) use with_family;

impl Family {
    /// Empty counters for `config`.
    pub fn new(config: &CampaignConfig) -> Self {
        with_family!(config.params(), p, C, wrap => wrap(C::new(p, config)))
    }

    /// The mechanism.
    pub fn kind(&self) -> MechanismKind {
        each_family!(self, c => c.params().kind())
    }

    /// Reports counted.
    pub fn n(&self) -> u64 {
        each_family!(self, c => c.n())
    }

    /// Checks every report against the family's parameters, then folds them all: one
    /// dispatch per batch. On error nothing is counted.
    pub fn fold_all(&mut self, reports: &[Report]) -> Result<(), AggregateError> {
        each_family!(self, c => check_and_fold(c, reports))
    }

    /// The snapshot's cells.
    pub fn cells(&self) -> Vec<u64> {
        each_family!(self, c => c.cells())
    }

    /// Adds `n` reports' counter `cells`. Nothing changes on error.
    pub fn add_cells(&mut self, n: u64, cells: &[u64]) -> Result<(), AggregateError> {
        each_family!(self, c => c.add_cells(n, cells))
    }

    /// Approximate memory held, in bytes.
    pub fn approx_bytes(&self) -> usize {
        each_family!(self, c => c.approx_bytes())
    }

    /// Cells in the snapshot's layout.
    pub fn cell_count(&self) -> usize {
        each_family!(self, c => c.cell_count())
    }

    /// The count of every value of the domain (see [`FamilyCounters::value_estimates`]).
    pub fn value_estimates(&self) -> Result<Vec<CountEstimate>, AggregateError> {
        each_family!(self, c => c.value_estimates())
    }

    /// [`AggregateError::WrongFamily`] for `operation`.
    fn wrong(&self, operation: &'static str) -> AggregateError {
        AggregateError::WrongFamily {
            mechanism: self.kind().name(),
            operation,
        }
    }
}

/// Checks `reports` against `counters`' parameters, then folds them.
fn check_and_fold<C: FamilyCounters>(
    counters: &mut C,
    reports: &[Report],
) -> Result<(), AggregateError> {
    let checked = counters
        .params()
        .check_all(reports)
        .map_err(|(index, source)| AggregateError::Report { index, source })?;
    counters.fold(checked);
    Ok(())
}

/// Counters of one campaign: everything the aggregator stores. Never raw reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counters {
    campaign: String,
    digest: u64,
    family: Family,
}

/// The serializable state of [`Counters`]: campaign digest, n, and the counter cells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterSnapshot {
    /// Digest of the campaign configuration the counters belong to.
    pub config_digest: u64,
    /// Reports counted.
    pub n: u64,
    /// Counter cells (layout defined by the mechanism).
    pub cells: Vec<u64>,
}

impl Counters {
    /// Empty counters for `config`.
    pub fn new(config: &CampaignConfig) -> Self {
        Self {
            campaign: config.id().as_str().to_owned(),
            digest: config.digest(),
            family: Family::new(config),
        }
    }

    /// Counters restored from a snapshot, checked against `config`.
    pub fn from_snapshot(
        config: &CampaignConfig,
        snapshot: CounterSnapshot,
    ) -> Result<Self, AggregateError> {
        let mut counters = Self::new(config);
        counters.merge_snapshot(&snapshot)?;
        Ok(counters)
    }

    /// The serializable state (pending bit slices included).
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            config_digest: self.digest,
            n: self.family.n(),
            cells: self.family.cells(),
        }
    }

    /// The snapshot in the wire format.
    pub fn to_bytes(&self) -> Result<Vec<u8>, AggregateError> {
        Ok(ldp_protocol::wire::encode(&self.snapshot())?)
    }

    /// Counters from [`Counters::to_bytes`] output, checked against `config`.
    pub fn from_bytes(config: &CampaignConfig, bytes: &[u8]) -> Result<Self, AggregateError> {
        Self::from_snapshot(config, ldp_protocol::wire::decode(bytes)?)
    }

    /// Adds stored counters (for example a row read back from the database) to these.
    /// Nothing changes on error.
    pub fn merge_snapshot(&mut self, snapshot: &CounterSnapshot) -> Result<(), AggregateError> {
        self.check_digest(snapshot.config_digest)?;
        self.family.add_cells(snapshot.n, &snapshot.cells)
    }

    fn check_digest(&self, digest: u64) -> Result<(), AggregateError> {
        if digest == self.digest {
            Ok(())
        } else {
            Err(AggregateError::DigestMismatch {
                expected: self.digest,
                found: digest,
            })
        }
    }

    /// Cells in the snapshot's layout (what a stored row holds).
    pub fn cell_count(&self) -> usize {
        self.family.cell_count()
    }

    /// Approximate memory these counters hold, in bytes (cells and pending bit slices).
    pub fn approx_bytes(&self) -> usize {
        self.family.approx_bytes()
    }

    /// Digest of the campaign configuration these counters belong to.
    pub fn config_digest(&self) -> u64 {
        self.digest
    }

    /// The mechanism.
    pub fn kind(&self) -> MechanismKind {
        self.family.kind()
    }

    /// The family's counters, for family-typed estimates ([`FamilyCounters::estimate`]).
    pub fn family(&self) -> &Family {
        &self.family
    }

    /// Checks every report of `batch` (campaign, digest, each report), then folds them all.
    /// On error nothing is counted.
    pub fn fold_batch(&mut self, batch: &Batch) -> Result<(), AggregateError> {
        if batch.campaign.as_str() != self.campaign {
            return Err(AggregateError::WrongCampaign {
                expected: self.campaign.clone(),
                found: batch.campaign.as_str().to_owned(),
            });
        }
        self.check_digest(batch.config_digest)?;
        self.fold_all(&batch.reports)
    }

    /// Checks every report, then folds them all. On error nothing is counted.
    pub fn fold_all(&mut self, reports: &[Report]) -> Result<(), AggregateError> {
        self.family.fold_all(reports)
    }

    /// The frequency oracles: the support count of every domain value. For a seed pool it is
    /// computed from the table and corrected for the pool's known collisions with the
    /// heaviest values (module `local_hash` explains how).
    pub fn supports(&self) -> Result<Vec<f64>, AggregateError> {
        match &self.family {
            Family::Grr(c) => Ok(c.supports()),
            Family::Unary(c) => Ok(c.supports()),
            Family::LocalHash(c) => Ok(c.supports()),
            Family::Subset(c) => Ok(c.supports()),
            Family::Hadamard(c) => Ok(c.supports()),
            Family::Loloha(c) => Ok(c.supports()),
            Family::LongitudinalUnary(c) => Ok(c.supports()),
            other => Err(other.wrong("support counts (a frequency oracle's)")),
        }
    }

    /// The string mechanisms: estimates for `candidates` with a detection test at
    /// family-wise level `alpha` — RAPPOR's regression (module [`rappor`]) or the sketches'
    /// per-candidate estimates (module [`sketch`]). The frequency oracles estimate every value
    /// of their domain with [`Counters::estimate`] and refuse.
    pub fn decode(
        &self,
        candidates: &[String],
        alpha: Alpha,
    ) -> Result<candidates::CandidateDecoding, AggregateError> {
        self.decode_cancellable(candidates, alpha, &AtomicBool::new(false))
    }

    /// [`Counters::decode`] that stops with [`AggregateError::Cancelled`] soon after `cancel`
    /// is set (RAPPOR checks it before its fit; the sketches finish in milliseconds). For
    /// callers with a deadline, such as the service's query route.
    pub fn decode_cancellable(
        &self,
        candidates: &[String],
        alpha: Alpha,
        cancel: &AtomicBool,
    ) -> Result<candidates::CandidateDecoding, AggregateError> {
        let query = CandidateQuery {
            candidates,
            alpha,
            cancel,
        };
        match &self.family {
            Family::Rappor(c) => c.estimate(query),
            Family::Cms(c) => c.estimate(query),
            Family::Hcms(c) => c.estimate(query),
            other => Err(AggregateError::InvalidArgument(format!(
                "{} estimates every value of its domain; candidate lists are for rappor, cms \
                 and hcms",
                other.kind()
            ))),
        }
    }

    /// RAPPOR: the debiased per-cohort, per-bit counts.
    pub fn rappor_bits(&self) -> Result<Vec<rappor::BitEstimate>, AggregateError> {
        match &self.family {
            Family::Rappor(c) => Ok(c.bit_estimates()),
            other => Err(other.wrong("per-bit RAPPOR counts")),
        }
    }

    /// The numeric mechanisms: the estimated mean over `[lo, hi]`, with its standard error
    /// and 95% interval.
    pub fn mean(&self, lo: f64, hi: f64) -> Result<numeric::MeanEstimate, AggregateError> {
        match &self.family {
            Family::Numeric(c) => c.estimate((lo, hi)),
            Family::DBitFlip(c) => c.estimate((lo, hi)),
            other => Err(other.wrong("mean (a numeric mechanism's)")),
        }
    }

    /// Unbiased estimates of every value's count, with standard errors, 95% intervals, and the
    /// Norm-Sub consistent counts beside them.
    ///
    /// The string mechanisms decode against the campaign's own values (the dictionary, or a
    /// range's decimal indices; an open domain has none): for RAPPOR a value the fit did not
    /// select has count 0; a dictionary's `other` bucket gets the reports left over. Their
    /// decoding refuses what it refuses for any list (a range of more than
    /// [`candidates::MAX_CANDIDATES`] values).
    ///
    /// A numeric campaign has no values to list (its estimate is [`Counters::mean`]).
    pub fn estimate(&self) -> Result<Estimates, AggregateError> {
        Ok(self.assemble(self.family.value_estimates()?))
    }

    /// Estimates from (count, standard error) per value: 95% intervals and Norm-Sub counts.
    fn assemble(&self, counts: Vec<CountEstimate>) -> Estimates {
        let n = self.family.n();
        let raw: Vec<f64> = counts.iter().map(|c| c.count).collect();
        let consistent = norm_sub(&raw, n as f64);
        let values = counts
            .into_iter()
            .zip(consistent)
            .enumerate()
            .map(|(i, (c, norm_sub_count))| ValueEstimate {
                index: i as u32,
                count: c.count,
                std_error: c.std_error,
                ci95_low: c.count - Z_95 * c.std_error,
                ci95_high: c.count + Z_95 * c.std_error,
                norm_sub_count,
            })
            .collect();
        Estimates {
            mechanism: self.kind(),
            n,
            values,
        }
    }
}

impl Accumulator for Counters {
    fn fold(&mut self, report: &Report) -> Result<(), AggregateError> {
        self.fold_all(core::slice::from_ref(report))
    }

    fn merge(&mut self, other: &Self) -> Result<(), AggregateError> {
        self.check_digest(other.digest)?;
        self.family
            .add_cells(other.family.n(), &other.family.cells())
    }

    fn n(&self) -> u64 {
        self.family.n()
    }
}

/// Estimates for every value of a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimates {
    /// Mechanism that produced the reports.
    #[serde(with = "kind_name")]
    pub mechanism: MechanismKind,
    /// Reports counted.
    pub n: u64,
    /// One entry per domain value, in index order.
    pub values: Vec<ValueEstimate>,
}

/// The estimate for one value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ValueEstimate {
    /// Domain index.
    pub index: u32,
    /// Unbiased count estimate (may be negative).
    pub count: f64,
    /// Standard error of `count`, from the variance formula with the estimate for `c_v`.
    pub std_error: f64,
    /// Lower end of the 95% normal interval.
    pub ci95_low: f64,
    /// Upper end of the 95% normal interval.
    pub ci95_high: f64,
    /// Norm-Sub consistent count: non-negative, summing to n over all values, **biased**.
    pub norm_sub_count: f64,
}

impl Estimates {
    /// The `top` values by unbiased count, largest first.
    pub fn top(&self, top: usize) -> Vec<ValueEstimate> {
        let mut sorted = self.values.clone();
        sorted.sort_by(|a, b| b.count.total_cmp(&a.count));
        sorted.truncate(top);
        sorted
    }
}

mod kind_name {
    use ldp_protocol::MechanismKind;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(kind: &MechanismKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(kind.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<MechanismKind, D::Error> {
        let name = String::deserialize(d)?;
        MechanismKind::EVERY
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown mechanism {name:?}")))
    }
}
