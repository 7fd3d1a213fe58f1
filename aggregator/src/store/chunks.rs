//! Counter rows in chunks: what both backends share of storing counters.
//!
//! A (campaign, epoch) row is a report count (table `counters`) and its cells in chunks of
//! [`CHUNK_CELLS`] (table `counter_chunks`), each stored as little-endian `u64`s with its
//! trailing zero cells trimmed. A commit sums its group's batch deltas per row and chunk
//! (`sum_group`) and rewrites only the chunks they touched: a one-report batch of a
//! campaign with a million values rewrites one 8 KiB chunk, not an 8 MiB row. Rows written
//! before chunks existed keep their whole snapshot in `counters.cells`, added when read
//! (`assemble`).

use std::collections::BTreeMap;

use ldp_protocol::CampaignConfig;

use super::{BatchDelta, CommitOutcome, StoreError, decode_snapshot};
use crate::error::AggregateError;
use crate::estimate::{Added, CounterSnapshot, Counters};

/// Cells per stored chunk (8 KiB when full).
pub const CHUNK_CELLS: usize = 1024;

/// What a group adds to one (campaign, epoch) row: reports, and each touched chunk's cells.
#[derive(Debug, Default)]
pub(crate) struct RowSum {
    /// Reports added.
    pub n: u64,
    /// Chunk index → what each of its cells gains ([`CHUNK_CELLS`] long).
    pub chunks: BTreeMap<u64, Vec<u64>>,
}

/// The counted deltas of `group` (those whose outcome is [`CommitOutcome::Counted`]) summed per
/// (campaign, epoch) row, in key order: the order rows are locked in.
pub(crate) fn sum_group<'a>(
    group: &[&'a BatchDelta],
    outcomes: &[CommitOutcome],
) -> Result<BTreeMap<(&'a str, u64), RowSum>, StoreError> {
    let mut rows: BTreeMap<(&str, u64), RowSum> = BTreeMap::new();
    for (delta, outcome) in group.iter().zip(outcomes) {
        if *outcome != CommitOutcome::Counted {
            continue;
        }
        let row = rows
            .entry((delta.campaign.as_str(), delta.epoch))
            .or_default();
        row.n = row
            .n
            .checked_add(delta.cells.n())
            .ok_or(AggregateError::Overflow)?;
        match delta.cells.added() {
            Added::Table(cells) => {
                for (index, chunk) in (0_u64..).zip(cells.chunks(CHUNK_CELLS)) {
                    if chunk.iter().all(|&c| c == 0) {
                        continue;
                    }
                    let sum = chunk_sum(row, index);
                    // Overflow is checked once per chunk, so the additions vectorize.
                    let mut overflow = false;
                    for (s, c) in sum.iter_mut().zip(chunk) {
                        let (total, over) = s.overflowing_add(*c);
                        *s = total;
                        overflow |= over;
                    }
                    if overflow {
                        return Err(AggregateError::Overflow.into());
                    }
                }
            }
            Added::Ones(cells) => {
                // The cells are sorted: one chunk lookup per run of cells in the same chunk.
                for run in cells.chunk_by(|a, b| a / CHUNK_CELLS == b / CHUNK_CELLS) {
                    let Some(first) = run.first() else { continue };
                    let sum = chunk_sum(row, (first / CHUNK_CELLS) as u64);
                    for &cell in run {
                        if let Some(s) = sum.get_mut(cell % CHUNK_CELLS) {
                            *s = s.checked_add(1).ok_or(AggregateError::Overflow)?;
                        }
                    }
                }
            }
        }
    }
    Ok(rows)
}

/// The sum of chunk `index` in `row`, zero when first touched.
fn chunk_sum(row: &mut RowSum, index: u64) -> &mut Vec<u64> {
    row.chunks
        .entry(index)
        .or_insert_with(|| vec![0; CHUNK_CELLS])
}

/// Adds a stored chunk's cells to `sum`.
pub(crate) fn add_stored(sum: &mut [u64], stored: &[u8]) -> Result<(), StoreError> {
    if !stored.len().is_multiple_of(8) || stored.len() > sum.len() * 8 {
        return Err(StoreError::Corrupt(format!(
            "a counter chunk of {} bytes",
            stored.len()
        )));
    }
    for (s, bytes) in sum.iter_mut().zip(stored.chunks_exact(8)) {
        let mut cell = [0_u8; 8];
        cell.copy_from_slice(bytes);
        *s = s
            .checked_add(u64::from_le_bytes(cell))
            .ok_or(AggregateError::Overflow)?;
    }
    Ok(())
}

/// A chunk's stored form: little-endian cells, trailing zero cells trimmed.
pub(crate) fn encode(cells: &[u64]) -> Vec<u8> {
    let used = cells
        .iter()
        .rposition(|&c| c != 0)
        .map_or(0, |last| last + 1);
    cells
        .iter()
        .take(used)
        .flat_map(|c| c.to_le_bytes())
        .collect()
}

/// One stored row as it is read back: its report count, its legacy snapshot (empty for rows
/// written in chunks only) and its chunks.
pub(crate) struct StoredRow {
    /// Reports counted.
    pub n: u64,
    /// The whole snapshot of a row written before chunks existed, else empty.
    pub legacy: Vec<u8>,
    /// (chunk index, stored cells).
    pub chunks: Vec<(u64, Vec<u8>)>,
}

/// Counters of `config` from stored rows (one per node: their sums). A chunk or snapshot that
/// does not fit the campaign is [`StoreError::Corrupt`].
pub(crate) fn assemble(
    config: &CampaignConfig,
    rows: &[StoredRow],
) -> Result<Counters, StoreError> {
    let mut counters = Counters::new(config);
    let total = counters.cell_count();
    let mut cells = vec![0_u64; total];
    let mut n = 0_u64;
    for row in rows {
        n = n.checked_add(row.n).ok_or(AggregateError::Overflow)?;
        if !row.legacy.is_empty() {
            let snapshot = decode_snapshot(&row.legacy)?;
            if snapshot.config_digest != config.digest() || snapshot.cells.len() != total {
                return Err(StoreError::Corrupt(
                    "a counter snapshot of another configuration".into(),
                ));
            }
            for (c, add) in cells.iter_mut().zip(&snapshot.cells) {
                *c = c.checked_add(*add).ok_or(AggregateError::Overflow)?;
            }
        }
        for (index, stored) in &row.chunks {
            let start = usize::try_from(*index)
                .ok()
                .and_then(|i| i.checked_mul(CHUNK_CELLS))
                .filter(|&start| start < total)
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("counter chunk {index} beyond {total} cells"))
                })?;
            let end = (start + CHUNK_CELLS).min(total);
            let mut sum = vec![0_u64; CHUNK_CELLS];
            add_stored(&mut sum, stored)?;
            if sum.iter().skip(end - start).any(|&c| c != 0) {
                return Err(StoreError::Corrupt(format!(
                    "counter chunk {index} beyond {total} cells"
                )));
            }
            for (c, add) in cells
                .get_mut(start..end)
                .unwrap_or_default()
                .iter_mut()
                .zip(&sum)
            {
                *c = c.checked_add(*add).ok_or(AggregateError::Overflow)?;
            }
        }
    }
    counters.merge_snapshot(&CounterSnapshot {
        config_digest: config.digest(),
        n,
        cells,
    })?;
    Ok(counters)
}

#[cfg(test)]
mod tests {
    use ldp_client::Encoder;
    use ldp_protocol::{BatchId, CampaignSpec, Domain, Mechanism};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;
    use crate::estimate::CellDelta;

    #[test]
    fn a_group_of_sparse_deltas_sums_every_touched_cell_into_its_chunk() {
        let k = 5 * CHUNK_CELLS as u32 + 17;
        let spec = CampaignSpec::new("sum", Mechanism::Grr, 1.0, Domain::Range { k });
        let config = CampaignConfig::new(spec).unwrap();
        let mut encoder = Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed([9; 32]));
        let deltas: Vec<BatchDelta> = (0..3_u8)
            .map(|b| {
                let reports: Vec<_> = (0..2_000_u32)
                    .map(|i| encoder.encode_index(i * 31 % k).unwrap())
                    .collect();
                BatchDelta {
                    campaign: "sum".into(),
                    digest: config.digest(),
                    epoch: 1,
                    batch_id: BatchId([b; 16]),
                    content: [b; 16],
                    cells: CellDelta::of_reports(&config, &reports).unwrap(),
                }
            })
            .collect();
        let mut expected = vec![0_u64; k as usize];
        for delta in &deltas {
            let Added::Ones(cells) = delta.cells.added() else {
                panic!("GRR gives touched cells")
            };
            for &cell in cells {
                expected[cell] += 1;
            }
        }
        let group: Vec<&BatchDelta> = deltas.iter().collect();
        let outcomes = [CommitOutcome::Counted; 3];
        let rows = sum_group(&group, &outcomes).unwrap();
        let row = &rows[&("sum", 1)];
        assert_eq!(row.n, 6_000);
        let mut summed = vec![0_u64; 6 * CHUNK_CELLS];
        for (&index, chunk) in &row.chunks {
            let start = index as usize * CHUNK_CELLS;
            summed[start..start + CHUNK_CELLS].copy_from_slice(chunk);
        }
        summed.truncate(k as usize);
        assert_eq!(summed, expected);
    }

    #[test]
    fn a_chunk_round_trips_with_its_trailing_zeros_trimmed() {
        let mut cells = vec![0_u64; CHUNK_CELLS];
        cells[3] = 7;
        cells[10] = u64::MAX;
        let stored = encode(&cells);
        assert_eq!(stored.len(), 11 * 8);
        let mut back = vec![0_u64; CHUNK_CELLS];
        add_stored(&mut back, &stored).unwrap();
        assert_eq!(back, cells);
        assert!(encode(&[0; 4]).is_empty());
        assert!(matches!(
            add_stored(&mut back, &[1, 2, 3]),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            add_stored(&mut back, &stored),
            Err(StoreError::Counters(AggregateError::Overflow))
        ));
    }
}
