//! The documented limits of campaign configurations, in one leaf module: the error messages
//! of [`crate::error`] quote them, and the modules that enforce them re-export them.

/// Largest ε per report accepted. Beyond it randomization is cosmetic.
pub const MAX_EPSILON: f64 = 20.0;
/// Smallest ε per report a new campaign may use. A count's standard error grows as 1/ε
/// (about 2√n/ε for OUE at small ε), so at ε = 0.01 even 4·10⁸ reports only resolve a value
/// with a 1% share to ±1 standard error; below it a campaign answers nothing a real
/// population could use, and as ε → 0 its thresholds p and q meet and the estimates' scale
/// 1/(p − q) explodes (ε = 5e-324 gave one value a count of 4.4·10¹² from 200 reports).
pub const MIN_EPSILON: f64 = 0.01;
/// Largest ε∞ of a memoized mechanism's permanent response (LOLOHA, L-SUE, L-OUE): twice the
/// largest per-report ε. Beyond it the permanent response is the value itself on all but
/// about 10⁻¹⁷ of devices.
pub const MAX_EPSILON_PERMANENT: f64 = 2.0 * MAX_EPSILON;
/// Largest description, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 1024;
/// Largest dictionary entry, in bytes.
pub const MAX_DICTIONARY_ENTRY_BYTES: usize = 256;
/// Shortest epoch: two seconds, for demos and tests. An epoch is the finest time the server
/// ever records about a report, so production campaigns use hours or days (the default is a
/// day).
pub const MIN_EPOCH_SECONDS: u64 = 2;
/// Longest epoch: 366 days.
pub const MAX_EPOCH_SECONDS: u64 = 366 * 24 * 3600;
/// Most reports one device may send per campaign and epoch.
pub const MAX_REPORTS_PER_EPOCH: u32 = 1000;
/// Estimates are never released below this many reports, whatever the campaign says.
pub const MIN_REPORTS_FLOOR: u64 = 10;
/// Largest local-hashing seed pool.
pub const MAX_SEED_POOL: u32 = 1 << 20;
/// Largest local-hashing seed-pool table (pool × g counters, 8 bytes each: 128 MiB), so that
/// one campaign's counters cannot exhaust a collector's memory.
pub const MAX_POOL_CELLS: u64 = 1 << 24;
/// Largest domain a new campaign may give a mechanism whose every report costs the collector
/// one hash per value of the domain — local hashing with a seed per report (OLH, BLH) and
/// LOLOHA, whose reports each carry their own hash seed: 65,536 values, on the order of 100 µs
/// of one core per report, a thousand times a GRR or seed-pool report's cost. Beyond it a
/// modest stream of reports would occupy a collector's cores; a seed pool makes each report
/// cost one counter whatever the domain.
pub const MAX_HASHED_PER_REPORT_K: u32 = 1 << 16;
