//! Counters and estimators: fold reports into mergeable counters, debias them into estimates.
//!
//! [`Counters`] is the accumulator for one campaign (and, in the service, one epoch): `fold`,
//! `fold_batch`, `merge`, a serializable [`CounterSnapshot`], and [`Counters::estimate`]. The
//! mechanism-specific folding lives in one module per family. The frequency oracles are pure
//! protocols, so their estimation is one formula from `ldp_protocol::math`; the string
//! mechanisms (RAPPOR, CMS, HCMS) estimate candidate strings ([`Counters::decode`],
//! module [`candidates`]).

pub mod candidates;
pub mod grr;
pub mod hadamard;
pub mod local_hash;
pub mod numeric;
pub mod rappor;
pub mod sketch;
pub mod unary;

use ldp_protocol::mechanism::MechanismParams;
use ldp_protocol::{Batch, CampaignConfig, MechanismKind, Report};
use serde::{Deserialize, Serialize};

use crate::error::AggregateError;
use crate::postprocess::norm_sub;

/// The 97.5% quantile of the standard normal: 95% two-sided intervals.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// The role every mechanism's counters play: fold reports, merge with other partial counters,
/// and produce the support count of every value.
pub trait Accumulator {
    /// Checks and counts one report. Nothing is counted on error.
    fn fold(&mut self, report: &Report) -> Result<(), AggregateError>;
    /// Adds another node's partial counters for the same campaign. Associative, commutative.
    fn merge(&mut self, other: &Self) -> Result<(), AggregateError>;
    /// Reports counted.
    fn n(&self) -> u64;
}

/// Counters of one campaign: everything the aggregator stores. Never raw reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counters {
    campaign: String,
    digest: u64,
    params: MechanismParams,
    n: u64,
    /// Support counts per value (k cells), or the P×g table of a seed pool.
    cells: Vec<u64>,
    /// Pending bit-sliced unary counts (unary mechanisms only).
    slices: Option<unary::BitSlices>,
    /// Pending bit-sliced counts per row: RAPPOR's cohorts, CMS's hash rows.
    row_slices: Vec<unary::BitSlices>,
    /// The domain's values as strings, decoded against by [`Counters::estimate`] (string
    /// mechanisms).
    candidates: Vec<String>,
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
        let params = config.params().clone();
        let (cells, slices) = match &params {
            MechanismParams::Sue(p) | MechanismParams::Oue(p) => (
                vec![0; p.k as usize],
                Some(unary::BitSlices::new(p.words())),
            ),
            MechanismParams::Olh(p) | MechanismParams::Blh(p) => match p.seed_pool {
                Some(pool) => (vec![0; pool as usize * p.g as usize], None),
                None => (vec![0; p.k as usize], None),
            },
            MechanismParams::Grr(p) => (vec![0; p.k as usize], None),
            MechanismParams::Ss(p) => (vec![0; p.k as usize], None),
            MechanismParams::Hr(p) => (vec![0; p.outputs as usize], None),
            MechanismParams::Rappor(p) => (vec![0; p.cells()], None),
            MechanismParams::Cms(p) | MechanismParams::Hcms(p) => (vec![0; p.cells()], None),
            MechanismParams::Duchi(p)
            | MechanismParams::Piecewise(p)
            | MechanismParams::Hybrid(p) => (vec![0; p.cells() as usize], None),
        };
        let (row_slices, candidates) = match &params {
            MechanismParams::Rappor(p) => (rappor::new_slices(p), config.default_candidates()),
            MechanismParams::Cms(p) | MechanismParams::Hcms(p) => {
                (sketch::new_slices(p), config.default_candidates())
            }
            _ => (Vec::new(), Vec::new()),
        };
        Self {
            campaign: config.id().as_str().to_owned(),
            digest: config.digest(),
            params,
            n: 0,
            cells,
            slices,
            row_slices,
            candidates,
        }
    }

    /// Counters restored from a snapshot, checked against `config`.
    pub fn from_snapshot(
        config: &CampaignConfig,
        snapshot: CounterSnapshot,
    ) -> Result<Self, AggregateError> {
        let mut counters = Self::new(config);
        if snapshot.config_digest != counters.digest {
            return Err(AggregateError::DigestMismatch {
                expected: counters.digest,
                found: snapshot.config_digest,
            });
        }
        if snapshot.cells.len() != counters.cells.len() {
            return Err(AggregateError::SnapshotShape {
                expected: counters.cells.len(),
                found: snapshot.cells.len(),
            });
        }
        counters.n = snapshot.n;
        counters.cells = snapshot.cells;
        Ok(counters)
    }

    /// The serializable state (pending bit slices included).
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            config_digest: self.digest,
            n: self.n,
            cells: self.flushed_cells(),
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
        self.add_cells(snapshot.config_digest, snapshot.n, &snapshot.cells)
    }

    fn add_cells(&mut self, digest: u64, n: u64, cells: &[u64]) -> Result<(), AggregateError> {
        if digest != self.digest {
            return Err(AggregateError::DigestMismatch {
                expected: self.digest,
                found: digest,
            });
        }
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

    /// Approximate memory these counters hold, in bytes (cells and pending bit slices).
    pub fn approx_bytes(&self) -> usize {
        self.cells.len() * 8
            + self.slices.as_ref().map_or(0, |s| s.approx_bytes())
            + self
                .row_slices
                .iter()
                .map(unary::BitSlices::approx_bytes)
                .sum::<usize>()
    }

    /// Digest of the campaign configuration these counters belong to.
    pub fn config_digest(&self) -> u64 {
        self.digest
    }

    /// The mechanism parameters.
    pub fn params(&self) -> &MechanismParams {
        &self.params
    }

    fn flushed_cells(&self) -> Vec<u64> {
        let mut cells = self.cells.clone();
        if let Some(slices) = &self.slices {
            slices.add_to(&mut cells);
        }
        match &self.params {
            MechanismParams::Rappor(p) => rappor::add_slices_to(&self.row_slices, p, &mut cells),
            MechanismParams::Cms(p) => sketch::flush(&self.row_slices, p, &mut cells),
            _ => {}
        }
        cells
    }

    /// Folds a report that [`Report::check`] accepted.
    #[inline]
    fn fold_checked(&mut self, report: &Report) {
        match (&self.params, report) {
            (MechanismParams::Grr(_), Report::Grr(r)) => grr::fold(&mut self.cells, r),
            (MechanismParams::Sue(_), Report::Sue(r))
            | (MechanismParams::Oue(_), Report::Oue(r)) => {
                if let Some(slices) = self.slices.as_mut() {
                    slices.add(&r.bits, &mut self.cells);
                }
            }
            (MechanismParams::Olh(p), Report::Olh(r))
            | (MechanismParams::Blh(p), Report::Blh(r)) => {
                if p.seed_pool.is_some() {
                    local_hash::fold_pool(&mut self.cells, p, r);
                } else {
                    local_hash::fold_support(&mut self.cells, p, r);
                }
            }
            (MechanismParams::Hr(_), Report::Hr(r)) => hadamard::fold(&mut self.cells, r),
            (MechanismParams::Ss(_), Report::Ss(r)) => {
                for &v in &r.values {
                    if let Some(cell) = self.cells.get_mut(v as usize) {
                        *cell += 1;
                    }
                }
            }
            (MechanismParams::Rappor(p), Report::Rappor(r)) => {
                rappor::fold(&mut self.cells, &mut self.row_slices, p, r);
            }
            (MechanismParams::Cms(p), Report::Cms(r)) => {
                sketch::fold_cms(&mut self.cells, &mut self.row_slices, p, r);
            }
            (MechanismParams::Hcms(p), Report::Hcms(r)) => sketch::fold_hcms(&mut self.cells, p, r),
            (MechanismParams::Duchi(_), Report::Duchi(r))
            | (MechanismParams::Piecewise(_), Report::Piecewise(r))
            | (MechanismParams::Hybrid(_), Report::Hybrid(r)) => numeric::fold(&mut self.cells, r),
            // Unreachable after `check`; counting nothing is the safe answer.
            _ => return,
        }
        self.n += 1;
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
        if batch.config_digest != self.digest {
            return Err(AggregateError::DigestMismatch {
                expected: self.digest,
                found: batch.config_digest,
            });
        }
        self.fold_all(&batch.reports)
    }

    /// Checks every report, then folds them all. On error nothing is counted.
    pub fn fold_all(&mut self, reports: &[Report]) -> Result<(), AggregateError> {
        for (index, report) in reports.iter().enumerate() {
            report
                .check(&self.params)
                .map_err(|source| AggregateError::Report { index, source })?;
        }
        if let Some(slices) = self.slices.as_mut() {
            // Unary reports, eight at a time through the carry-save adder.
            let mut groups = reports.chunks_exact(8);
            for group in &mut groups {
                let bits: [&[u64]; 8] = core::array::from_fn(|i| match group.get(i) {
                    Some(Report::Sue(r) | Report::Oue(r)) => r.bits.as_slice(),
                    _ => &[],
                });
                slices.add8(bits, &mut self.cells);
            }
            self.n += (reports.len() - groups.remainder().len()) as u64;
            for report in groups.remainder() {
                self.fold_checked(report);
            }
            return Ok(());
        }
        if let MechanismParams::Rappor(p) = &self.params {
            // The hot loop without a per-report dispatch on the mechanism.
            for report in reports {
                if let Report::Rappor(r) = report {
                    rappor::fold(&mut self.cells, &mut self.row_slices, p, r);
                }
            }
            self.n += reports.len() as u64;
            return Ok(());
        }
        if let MechanismParams::Grr(_) = self.params {
            // The hot loop without a per-report dispatch on the mechanism.
            for report in reports {
                if let Report::Grr(r) = report {
                    grr::fold(&mut self.cells, r);
                }
            }
            self.n += reports.len() as u64;
            return Ok(());
        }
        for report in reports {
            self.fold_checked(report);
        }
        Ok(())
    }

    /// The support count of every domain value. For a seed pool it is computed from the table
    /// and corrected for the pool's known collisions with the heaviest values (module
    /// `local_hash` explains how).
    pub fn supports(&self) -> Vec<f64> {
        let cells = self.flushed_cells();
        match &self.params {
            MechanismParams::Olh(p) | MechanismParams::Blh(p) if p.seed_pool.is_some() => {
                local_hash::pool_support(&cells, p, self.n as f64)
            }
            MechanismParams::Hr(p) => hadamard::supports(p, &cells, self.n),
            _ => cells.into_iter().map(|c| c as f64).collect(),
        }
    }

    /// The string mechanisms: estimates for `candidates` with a detection test at
    /// family-wise level `alpha` — RAPPOR's regression (module [`rappor`]) or the sketches'
    /// per-candidate estimates (module [`sketch`]). The frequency oracles estimate every value
    /// of their domain with [`Counters::estimate`] and refuse.
    pub fn decode(
        &self,
        candidates: &[String],
        alpha: f64,
    ) -> Result<candidates::CandidateDecoding, AggregateError> {
        self.decode_cancellable(
            candidates,
            alpha,
            &std::sync::atomic::AtomicBool::new(false),
        )
    }

    /// [`Counters::decode`] that stops with [`AggregateError::Cancelled`] soon after `cancel`
    /// is set (RAPPOR checks it before its fit; the sketches finish in milliseconds). For
    /// callers with a deadline, such as the service's query route.
    pub fn decode_cancellable(
        &self,
        candidates: &[String],
        alpha: f64,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<candidates::CandidateDecoding, AggregateError> {
        match &self.params {
            MechanismParams::Rappor(p) => {
                rappor::decode(p, &self.flushed_cells(), candidates, alpha, cancel)
            }
            MechanismParams::Cms(p) | MechanismParams::Hcms(p) => {
                sketch::decode(p, &self.flushed_cells(), candidates, alpha)
            }
            other => Err(AggregateError::InvalidArgument(format!(
                "{} estimates every value of its domain; candidate lists are for rappor, cms \
                 and hcms",
                other.kind()
            ))),
        }
    }

    /// RAPPOR: the debiased per-cohort, per-bit counts (`None` for other mechanisms).
    pub fn rappor_bits(&self) -> Option<Vec<rappor::BitEstimate>> {
        match &self.params {
            MechanismParams::Rappor(p) => Some(rappor::bit_estimates(p, &self.flushed_cells())),
            _ => None,
        }
    }

    /// Unbiased estimates of every value's count, with standard errors, 95% intervals, and the
    /// Norm-Sub consistent counts beside them.
    ///
    /// The string mechanisms decode against the campaign's own values (the dictionary, or a
    /// range's decimal indices; an open domain has none): for RAPPOR a value the fit did not
    /// select has count 0; a dictionary's `other` bucket gets the reports left over.
    ///
    /// A numeric campaign has no values to list (its estimate is [`Counters::mean`]).
    pub fn estimate(&self) -> Estimates {
        if self.params.kind().takes_candidates() {
            return self.estimate_candidates();
        }
        if self.params.kind().is_numeric() {
            return self.assemble(Vec::new());
        }
        let pure = self.params.pure();
        let n = self.n as f64;
        let counts: Vec<f64> = self
            .supports()
            .into_iter()
            .map(|s| pure.debias(s, n))
            .collect();
        let with_errors = counts
            .into_iter()
            .map(|count| {
                // The c_v term of the variance uses the estimate, clamped to what is possible.
                let variance = pure.count_variance(n, count.clamp(0.0, n));
                (count, variance.max(0.0).sqrt())
            })
            .collect();
        self.assemble(with_errors)
    }
}

impl Counters {
    /// The numeric mechanisms: the estimated mean over `[lo, hi]`, with its standard error
    /// and 95% interval (`None` for other mechanisms).
    pub fn mean(&self, lo: f64, hi: f64) -> Option<numeric::MeanEstimate> {
        match &self.params {
            MechanismParams::Duchi(p)
            | MechanismParams::Piecewise(p)
            | MechanismParams::Hybrid(p) => Some(numeric::mean(p, &self.cells, lo, hi)),
            _ => None,
        }
    }

    fn estimate_candidates(&self) -> Estimates {
        let candidates = &self.candidates;
        let decoding = self
            .decode(candidates, candidates::DEFAULT_ALPHA)
            .unwrap_or_else(|_| {
                candidates::CandidateDecoding::empty(self.n, candidates::DEFAULT_ALPHA)
            });
        let n = self.n as f64;
        let mut counts: Vec<(f64, f64)> = decoding
            .candidates
            .iter()
            .map(|c| (c.count, c.std_error))
            .collect();
        if self.params.k() as usize > candidates.len() {
            // The `other` bucket of a dictionary: everything the candidates do not explain,
            // as uncertain as their sum (n is exact).
            let explained: f64 = counts.iter().map(|c| c.0).sum();
            counts.push((n - explained, decoding.total_std_error));
        }
        self.assemble(counts)
    }

    /// Estimates from (count, standard error) per value: 95% intervals and Norm-Sub counts.
    fn assemble(&self, counts: Vec<(f64, f64)>) -> Estimates {
        let raw: Vec<f64> = counts.iter().map(|c| c.0).collect();
        let consistent = norm_sub(&raw, self.n as f64);
        let values = counts
            .into_iter()
            .zip(consistent)
            .enumerate()
            .map(|(i, ((count, std_error), norm_sub_count))| ValueEstimate {
                index: i as u32,
                count,
                std_error,
                ci95_low: count - Z_95 * std_error,
                ci95_high: count + Z_95 * std_error,
                norm_sub_count,
            })
            .collect();
        Estimates {
            mechanism: self.params.kind(),
            n: self.n,
            values,
        }
    }
}

impl Accumulator for Counters {
    fn fold(&mut self, report: &Report) -> Result<(), AggregateError> {
        report
            .check(&self.params)
            .map_err(|source| AggregateError::Report { index: 0, source })?;
        self.fold_checked(report);
        Ok(())
    }

    fn merge(&mut self, other: &Self) -> Result<(), AggregateError> {
        self.add_cells(other.digest, other.n, &other.flushed_cells())
    }

    fn n(&self) -> u64 {
        self.n
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
