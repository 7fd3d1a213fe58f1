//! The one trait every mechanism family's counters implement ([`FamilyCounters`]), and the
//! pieces they share: the cell table ([`Tally`]), the estimate of one value
//! ([`CountEstimate`]) and the candidate query ([`CandidateQuery`]).
//!
//! Each family's counters own exactly the fields they use, fold only reports its protocol
//! check accepted ([`CheckedReports`], so folding cannot fail), and answer one family-typed
//! question: the frequency oracles every value's count, the string mechanisms a list of
//! candidates, the numeric mechanisms a mean.

use std::sync::atomic::AtomicBool;

use ldp_protocol::mechanism::{CheckedReports, MechanismFamily};
use ldp_protocol::{CampaignConfig, PureParams};

use crate::alpha::Alpha;
use crate::error::AggregateError;

/// One mechanism family's counters: fold, merge, snapshot and restore, estimate.
pub trait FamilyCounters: Sized {
    /// The family's parameters (protocol).
    type Params: MechanismFamily;
    /// What the family's estimate needs to be asked (nothing, candidates, a range).
    type Query<'q>;
    /// What the family estimates: counts, a candidate decoding, or a mean.
    type Output;

    /// Empty counters for `params` of `config` (whose values the string mechanisms decode
    /// against by default).
    fn new(params: &Self::Params, config: &CampaignConfig) -> Self;

    /// The family's parameters.
    fn params(&self) -> &Self::Params;

    /// The stored part: report count and counter cells (pending partial counts aside).
    fn tally(&self) -> &Tally;

    /// The stored part, to add to.
    fn tally_mut(&mut self) -> &mut Tally;

    /// Reports counted.
    fn n(&self) -> u64 {
        self.tally().n
    }

    /// Counts reports that passed the family's check. Dispatch happens once per batch, so
    /// this is the family's hot loop.
    fn fold(&mut self, reports: CheckedReports<'_, Self::Params>);

    /// The counter cells with every pending partial count added: the snapshot's layout.
    /// A family that keeps partial counts pending (bit slices) adds them here.
    fn cells(&self) -> Vec<u64> {
        self.tally().cells.clone()
    }

    /// [`FamilyCounters::cells`] of counters no longer needed: a family whose table is
    /// already its snapshot, or that can flush its pending counts into it, gives the table
    /// without a copy.
    fn into_cells(self) -> Vec<u64> {
        self.cells()
    }

    /// Adds stored or merged counters (`n` reports, `cells` in the snapshot's layout).
    /// Nothing changes on error.
    fn add_cells(&mut self, n: u64, cells: &[u64]) -> Result<(), AggregateError> {
        self.tally_mut().add(n, cells)
    }

    /// Approximate memory held, in bytes (a family with pending counts adds theirs).
    fn approx_bytes(&self) -> usize {
        self.tally().approx_bytes()
    }

    /// Cells in the snapshot's layout.
    fn cell_count(&self) -> usize {
        self.tally().cells.len()
    }

    /// A family whose reports each add one to a few cells (GRR, HR, Subset Selection, a seed
    /// pool, HCMS, the numeric histograms, dBitFlip) pushes to `touched` the cell each of
    /// `reports` adds one to, repeats included, and answers `true`: a batch's sparse delta,
    /// made without a domain-sized table. The others answer `false` (the default) and a batch
    /// folds into a whole table.
    fn touched_cells(
        _params: &Self::Params,
        _reports: CheckedReports<'_, Self::Params>,
        _touched: &mut Vec<usize>,
    ) -> bool {
        false
    }

    /// The family's estimate.
    fn estimate(&self, query: Self::Query<'_>) -> Result<Self::Output, AggregateError>;

    /// The count of every value of the campaign's domain, in index order (the frequency
    /// oracles' estimate; the string mechanisms decode the domain's own values; a numeric
    /// campaign has none).
    fn value_estimates(&self) -> Result<Vec<CountEstimate>, AggregateError>;

    /// Adds another node's counters for the same campaign. Associative and commutative.
    fn merge(&mut self, other: &Self) -> Result<(), AggregateError> {
        self.add_cells(other.n(), &other.cells())
    }
}

/// The estimated count of one value with its standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CountEstimate {
    /// Unbiased count estimate (may be negative).
    pub count: f64,
    /// Its standard error.
    pub std_error: f64,
}

/// A list of candidate strings to estimate, at a family-wise level, cancellable.
#[derive(Debug, Clone, Copy)]
pub struct CandidateQuery<'q> {
    /// The candidates (checked by the decoder).
    pub candidates: &'q [String],
    /// Family-wise significance level of the detection test.
    pub alpha: Alpha,
    /// Set by a caller that gives up: the decoder stops soon after.
    pub cancel: &'q AtomicBool,
}

/// Where a family whose reports each add one to a few cells counts them: its own table
/// (`[u64]`) or a batch's list of touched cells (`Vec<usize>`). A family's fold is written once,
/// generic over this, and serves both [`FamilyCounters::fold`] and
/// [`FamilyCounters::touched_cells`].
pub(crate) trait AddOne {
    /// Adds one to `cell` (a cell outside the table is ignored: checked reports have none).
    fn add_one(&mut self, cell: usize);
}

impl AddOne for [u64] {
    #[inline]
    fn add_one(&mut self, cell: usize) {
        if let Some(count) = self.get_mut(cell) {
            *count += 1;
        }
    }
}

impl AddOne for Vec<usize> {
    #[inline]
    fn add_one(&mut self, cell: usize) {
        self.push(cell);
    }
}

/// Report count and counter cells: the part of every family's counters that is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Reports counted.
    pub(crate) n: u64,
    /// Counter cells (layout defined by the family).
    pub(crate) cells: Vec<u64>,
}

impl Tally {
    /// No reports, `cells` zero cells.
    pub(crate) fn new(cells: usize) -> Self {
        Self {
            n: 0,
            cells: vec![0; cells],
        }
    }

    /// Adds `n` reports and `cells`, checking the shape and for overflow. Nothing changes on
    /// error.
    pub(crate) fn add(&mut self, n: u64, cells: &[u64]) -> Result<(), AggregateError> {
        if cells.len() != self.cells.len() {
            return Err(AggregateError::SnapshotShape {
                expected: self.cells.len(),
                found: cells.len(),
            });
        }
        let n = self.n.checked_add(n).ok_or(AggregateError::Overflow)?;
        let mut sums = Vec::with_capacity(cells.len());
        for (mine, add) in self.cells.iter().zip(cells) {
            sums.push(mine.checked_add(*add).ok_or(AggregateError::Overflow)?);
        }
        self.cells = sums;
        self.n = n;
        Ok(())
    }

    /// Bytes held by the cells.
    pub(crate) fn approx_bytes(&self) -> usize {
        self.cells.len() * 8
    }
}

/// The pure protocols' estimate: every value's support count debiased with the exact (p, q),
/// with the standard error from the variance formula.
pub(crate) fn pure_estimates(pure: PureParams, supports: Vec<f64>, n: u64) -> Vec<CountEstimate> {
    let n = n as f64;
    supports
        .into_iter()
        .map(|support| {
            let count = pure.debias(support, n);
            // The c_v term of the variance uses the estimate, clamped to what is possible.
            let variance = pure.count_variance(n, count.clamp(0.0, n));
            CountEstimate {
                count,
                std_error: variance.max(0.0).sqrt(),
            }
        })
        .collect()
}
