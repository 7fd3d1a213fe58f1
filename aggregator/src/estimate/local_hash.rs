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
//! per-report-seed formula (f_u = share of value u): the pool must grow with n and with how
//! concentrated the population is. Use per-report seeds unless decoding time forces a pool,
//! and size the pool with `ldp-sim`.

use ldp_protocol::LocalHashReport;
use ldp_protocol::mechanism::LocalHashParams;
use ldp_protocol::mechanism::local_hash::{BucketHasher, pool_hash_seed};

/// Folds one (checked) per-report-seed report into the support counts.
#[inline]
pub(crate) fn fold_support(counts: &mut [u64], params: &LocalHashParams, report: &LocalHashReport) {
    let hasher = BucketHasher::new(report.seed, params.g);
    let reported = hasher.bucket_hashes(report.value);
    for (v, c) in counts.iter_mut().enumerate() {
        *c += u64::from(reported.contains(hasher.hash(v as u32)));
    }
}

/// Folds one (checked) seed-pool report into the P×g table.
#[inline]
pub(crate) fn fold_pool(table: &mut [u64], params: &LocalHashParams, report: &LocalHashReport) {
    let cell = report.seed as usize * params.g as usize + report.value as usize;
    if let Some(c) = table.get_mut(cell) {
        *c += 1;
    }
}

/// Support counts of every value from the P×g table: O(P·k) hashes.
pub(crate) fn pool_support(table: &[u64], params: &LocalHashParams) -> Vec<f64> {
    let g = params.g as usize;
    let mut support = vec![0u64; params.k as usize];
    for (s, row) in table.chunks_exact(g).enumerate() {
        if row.iter().all(|c| *c == 0) {
            continue;
        }
        let hasher = BucketHasher::new(pool_hash_seed(s as u64), params.g);
        for (v, total) in support.iter_mut().enumerate() {
            let b = hasher.bucket(v as u32) as usize;
            *total += row.get(b).copied().unwrap_or(0);
        }
    }
    support.into_iter().map(|c| c as f64).collect()
}
