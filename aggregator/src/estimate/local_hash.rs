//! Local-hashing counters (OLH, BLH). Math: `ldp_protocol::mechanism::local_hash`.
//!
//! **Per-report seeds** (the default): a report supports every value whose hash under its seed
//! equals the reported bucket, so folding hashes all k values: O(k) per report (one seeded
//! xxh3 of 4 bytes and a compare each), support counts O(k) memory.
//!
//! **Seed pool** of size P: folding increments one cell of a P×g table, O(1); the estimate
//! hashes every value under every pool seed, O(P·k), independent of n. Because all reports
//! share P hash functions, a heavy value u collides with a value v in a fraction of the pool
//! that deviates from 1/g by about `sqrt((1/g)(1−1/g)/P)`; that deviation shifts v's estimate by
//! `c_u·(p − q_g)·(fraction − 1/g)/(p − 1/g)` for every report of u. Summed over values, the
//! mean squared error grows by a factor of about `1 + n·Σ_u f_u²·(p − q_g)²/P` over the
//! per-report-seed formula (f_u = share of value u) — a factor of 1.8 at n = 10^6, k = 10^4,
//! ε = 1, P = 4096 on Zipf(1.1). The collision fractions are known to the aggregator, so
//! the estimate removes the part due to the heaviest values; with it the measured factor
//! at the default pool of 4096 is 0.97–1.01 (`cargo run --release -p ldp-sim --example
//! seed_pool`). The correction uses estimates of the heavy counts, so the result is unbiased
//! up to the light values' share of Σ f_u², which is small for skewed populations and small
//! anyway for flat ones (their Σ f_u² is 1/k).

use ldp_protocol::mechanism::local_hash::{BucketHasher, pool_hash_seed};
use ldp_protocol::mechanism::{CheckedReports, LocalHashParams};
use ldp_protocol::{CampaignConfig, LocalHashReport};

use super::family::{AddOne, CountEstimate, FamilyCounters, Tally, pure_estimates};
use crate::error::AggregateError;

/// Local-hashing counters: support counts per value (per-report seeds), or the P×g table of
/// a seed pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalHashCounters {
    params: LocalHashParams,
    tally: Tally,
}

impl LocalHashCounters {
    /// The support count of every value. For a seed pool it is computed from the table and
    /// corrected for the pool's known collisions with the heaviest values (see the module
    /// docs).
    pub fn supports(&self) -> Vec<f64> {
        match self.params.seed_pool {
            Some(_) => pool_support(&self.tally.cells, &self.params, self.tally.n as f64),
            None => self.tally.cells.iter().map(|&c| c as f64).collect(),
        }
    }
}

impl FamilyCounters for LocalHashCounters {
    type Params = LocalHashParams;
    type Query<'q> = ();
    type Output = Vec<CountEstimate>;

    fn new(params: &LocalHashParams, _config: &CampaignConfig) -> Self {
        let cells = match params.seed_pool {
            Some(pool) => pool as usize * params.g as usize,
            None => params.k as usize,
        };
        Self {
            params: *params,
            tally: Tally::new(cells),
        }
    }

    fn params(&self) -> &LocalHashParams {
        &self.params
    }

    fn tally(&self) -> &Tally {
        &self.tally
    }

    fn tally_mut(&mut self) -> &mut Tally {
        &mut self.tally
    }

    fn into_cells(self) -> Vec<u64> {
        self.tally.cells
    }

    fn fold(&mut self, reports: CheckedReports<'_, LocalHashParams>) {
        let cells = &mut self.tally.cells;
        if self.params.seed_pool.is_some() {
            add_pool_ones(&self.params, reports, &mut cells[..]);
        } else {
            for report in reports.iter::<LocalHashReport>() {
                fold_support(cells, self.params.g, report);
            }
        }
        self.tally.n += reports.len() as u64;
    }

    /// A seed pool's reports each add one to their (seed, bucket) cell; per-report seeds add
    /// one to every value in the reported bucket (about k/g cells), so their batches are dense.
    fn touched_cells(
        params: &LocalHashParams,
        reports: CheckedReports<'_, LocalHashParams>,
        touched: &mut Vec<usize>,
    ) -> bool {
        if params.seed_pool.is_none() {
            return false;
        }
        add_pool_ones(params, reports, touched);
        true
    }

    fn estimate(&self, (): ()) -> Result<Vec<CountEstimate>, AggregateError> {
        Ok(pure_estimates(
            self.params.pure(),
            self.supports(),
            self.n(),
        ))
    }

    fn value_estimates(&self) -> Result<Vec<CountEstimate>, AggregateError> {
        self.estimate(())
    }
}

/// Folds one (checked) per-report-seed report of a hash range `g` into the support counts:
/// every value hashing to the reported bucket under the report's seed gains one.
#[inline]
pub(crate) fn fold_support(counts: &mut [u64], g: u32, report: &LocalHashReport) {
    let hasher = BucketHasher::new(report.seed, g);
    let reported = hasher.bucket_hashes(report.value);
    for (v, c) in counts.iter_mut().enumerate() {
        *c += u64::from(reported.contains(hasher.hash(v as u32)));
    }
}

/// Folds (checked) seed-pool reports into the P×g table: each adds one to its (seed, bucket)
/// cell.
#[inline]
fn add_pool_ones<T: AddOne + ?Sized>(
    params: &LocalHashParams,
    reports: CheckedReports<'_, LocalHashParams>,
    table: &mut T,
) {
    let g = params.g as usize;
    for report in reports.iter::<LocalHashReport>() {
        table.add_one(report.seed as usize * g + report.value as usize);
    }
}

/// How many of the heaviest values the seed-pool collision correction accounts for.
pub const CORRECTED_HEAVY_VALUES: usize = 64;

/// Support counts of every value from the P×g table, corrected for the pool's known hash
/// collisions with the heaviest values: O(P·k) hashes, twice.
///
/// With a finite pool, `E[ĉ_v] = c_v + (p − q_g)/(p − 1/g) · Σ_{u≠v} c_u·(C_uv − 1/g)`, where
/// `C_uv` is the fraction of pool seeds under which u and v hash to the same bucket — a number
/// the aggregator can compute. The first pass estimates every value; the second subtracts
/// that term for the [`CORRECTED_HEAVY_VALUES`] largest estimates (which carry nearly all of
/// it in a skewed population), accumulated per seed through a g-bucket table so the second
/// pass costs one hash per (seed, value) like the first. The returned supports debias to the
/// corrected estimates.
fn pool_support(table: &[u64], params: &LocalHashParams, n: f64) -> Vec<f64> {
    let g = params.g as usize;
    let pool = table.len() / g.max(1);
    let mut raw = vec![0u64; params.k as usize];
    for (s, row) in table.chunks_exact(g).enumerate() {
        if row.iter().all(|c| *c == 0) {
            continue;
        }
        let hasher = BucketHasher::new(pool_hash_seed(s as u64), params.g);
        for (v, total) in raw.iter_mut().enumerate() {
            let b = hasher.bucket(v as u32) as usize;
            *total += row.get(b).copied().unwrap_or(0);
        }
    }
    let mut support: Vec<f64> = raw.into_iter().map(|c| c as f64).collect();
    if pool == 0 || n <= 0.0 {
        return support;
    }

    // First-pass estimates and the heaviest values' weights.
    let pure = params.pure();
    let inv_g = 1.0 / params.g as f64;
    let slope = (pure.p - params.q_bucket()) / (pure.p - inv_g);
    let mut heavy: Vec<(u32, f64)> = support
        .iter()
        .enumerate()
        .map(|(v, s)| (v as u32, pure.debias(*s, n)))
        .filter(|(_, c)| *c > 0.0)
        .collect();
    heavy.sort_by(|a, b| b.1.total_cmp(&a.1));
    heavy.truncate(CORRECTED_HEAVY_VALUES);
    if heavy.is_empty() {
        return support;
    }
    let weights: Vec<(u32, f64)> = heavy.iter().map(|&(u, c)| (u, c * slope)).collect();
    let total_weight: f64 = weights.iter().map(|(_, w)| w).sum();

    // Second pass: Σ_s W_s[H_s(v)] with W_s[b] = Σ_{u heavy, H_s(u) = b} w_u, over every seed
    // (reports of each value spread uniformly over the pool, used or not).
    let mut collided = vec![0.0f64; params.k as usize];
    let mut by_bucket = vec![0.0f64; g];
    for s in 0..pool {
        let hasher = BucketHasher::new(pool_hash_seed(s as u64), params.g);
        by_bucket.iter_mut().for_each(|w| *w = 0.0);
        for &(u, w) in &weights {
            if let Some(slot) = by_bucket.get_mut(hasher.bucket(u) as usize) {
                *slot += w;
            }
        }
        for (v, total) in collided.iter_mut().enumerate() {
            *total += by_bucket
                .get(hasher.bucket(v as u32) as usize)
                .copied()
                .unwrap_or(0.0);
        }
    }
    let scale = pure.p - pure.q;
    for (v, s) in support.iter_mut().enumerate() {
        let mut correction =
            collided.get(v).copied().unwrap_or(0.0) / pool as f64 - inv_g * total_weight;
        if let Some(&(_, w)) = weights.iter().find(|(u, _)| *u as usize == v) {
            // A value always "collides" with itself: that is its own signal, not bias.
            correction -= w * (1.0 - inv_g);
        }
        *s -= scale * correction;
    }
    support
}
