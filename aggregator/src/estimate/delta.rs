//! What one batch adds to its campaign's counters: a [`CellDelta`].
//!
//! A family whose reports each add one to a few cells (GRR, HR, Subset Selection, a seed pool,
//! HCMS, the numeric histograms, dBitFlip) gives the list of cells its reports touched, so a
//! one-report batch of a campaign with a million values costs one entry, not a million-cell
//! table. The other families (unary, RAPPOR, CMS, local hashing with per-report seeds,
//! LOLOHA) touch a large part of their table with every report and give the whole table.
//! The committer adds either form to the stored counters chunk by chunk (module
//! `crate::store`), so it rewrites only the chunks a group of batches touched.

use ldp_protocol::mechanism::MechanismFamily;
use ldp_protocol::{CampaignConfig, Report};

use super::family::FamilyCounters;
use super::{Counters, Family, with_family};
use crate::error::AggregateError;

/// The counter cells one batch adds, in the snapshot's layout (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellDelta {
    digest: u64,
    n: u64,
    implausible: u64,
    added: Added,
}

/// The cells a [`CellDelta`] adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// What every cell of the table gains.
    Table(Vec<u64>),
    /// One for each listed cell, repeats included, in ascending order (so the committer adds
    /// them chunk by chunk, one lookup per chunk).
    Ones(Vec<usize>),
}

impl CellDelta {
    /// Checks every report against `config`'s parameters, then folds them all into a delta.
    /// On error nothing is made.
    pub fn of_reports(config: &CampaignConfig, reports: &[Report]) -> Result<Self, AggregateError> {
        let (added, n) =
            with_family!(config.params(), p, C, wrap => added_by::<C>(p, config, reports))?;
        Ok(Self {
            digest: config.digest(),
            n,
            implausible: reports.len() as u64 - n,
            added,
        })
    }

    /// Reports counted in the delta.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// Reports of the batch left out as statistically impossible for an honest device
    /// (`ldp_protocol::plausibility`): valid in form, outside the honest range.
    pub fn implausible(&self) -> u64 {
        self.implausible
    }

    /// Digest of the campaign configuration the delta belongs to.
    pub fn config_digest(&self) -> u64 {
        self.digest
    }

    /// The cells it adds.
    pub fn added(&self) -> &Added {
        &self.added
    }

    /// Approximate memory held, in bytes.
    pub fn approx_bytes(&self) -> usize {
        match &self.added {
            Added::Table(cells) => cells.len() * 8,
            Added::Ones(cells) => cells.len() * size_of::<usize>(),
        }
    }
}

/// The cells `reports` add under the family `C`, and how many reports are counted: the
/// touched list where the family has one, else the whole folded table (whose fold may leave
/// out implausible reports).
fn added_by<C: FamilyCounters>(
    params: &C::Params,
    config: &CampaignConfig,
    reports: &[Report],
) -> Result<(Added, u64), AggregateError> {
    let checked = params
        .check_all(reports)
        .map_err(|(index, source)| AggregateError::Report { index, source })?;
    let mut touched = Vec::new();
    if C::touched_cells(params, checked, &mut touched) {
        // Sorted here, on the request's thread, not in the one committer thread.
        touched.sort_unstable();
        return Ok((Added::Ones(touched), reports.len() as u64));
    }
    let mut counters = C::new(params, config);
    counters.fold(checked);
    let n = counters.n();
    Ok((Added::Table(counters.into_cells()), n))
}

impl Counters {
    /// Adds a batch's delta (made for the same configuration). Nothing changes on error.
    pub fn add_delta(&mut self, delta: &CellDelta) -> Result<(), AggregateError> {
        self.check_digest(delta.digest)?;
        let family: &mut Family = &mut self.family;
        match &delta.added {
            Added::Table(cells) => family.add_cells(delta.n, cells),
            Added::Ones(touched) => {
                let mut cells = vec![0_u64; family.cell_count()];
                for &cell in touched {
                    let slot = cells.get_mut(cell).ok_or(AggregateError::SnapshotShape {
                        expected: family.cell_count(),
                        found: cell + 1,
                    })?;
                    *slot += 1;
                }
                family.add_cells(delta.n, &cells)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use ldp_client::Encoder;
    use ldp_protocol::{CampaignSpec, Domain, Mechanism};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;
    use crate::Accumulator;

    fn config(mechanism: Mechanism, k: u32) -> CampaignConfig {
        CampaignConfig::new(CampaignSpec::new(
            "delta",
            mechanism,
            2.0,
            Domain::Range { k },
        ))
        .unwrap()
    }

    fn reports(config: &CampaignConfig, n: u32) -> Vec<Report> {
        let mut encoder = Encoder::with_simulation_rng(config, ChaCha20Rng::from_seed([5; 32]));
        (0..n)
            .map(|i| encoder.encode_index(i * 7 % 64).unwrap())
            .collect()
    }

    #[test]
    fn a_delta_adds_exactly_what_folding_counts() {
        for (mechanism, sparse) in [
            (Mechanism::Grr, true),
            (Mechanism::Hr, true),
            (Mechanism::Oue, false),
            (
                Mechanism::Olh {
                    g: None,
                    seed_pool: None,
                },
                false,
            ),
            (
                Mechanism::Olh {
                    g: None,
                    seed_pool: Some(16),
                },
                true,
            ),
        ] {
            let config = config(mechanism.clone(), 64);
            let reports = reports(&config, 300);
            let delta = CellDelta::of_reports(&config, &reports).unwrap();
            assert_eq!(
                matches!(delta.added(), Added::Ones(_)),
                sparse,
                "{mechanism:?}"
            );
            let mut folded = Counters::new(&config);
            folded.fold_all(&reports).unwrap();
            let mut added = Counters::new(&config);
            added.add_delta(&delta).unwrap();
            added.add_delta(&delta).unwrap();
            folded.merge(&folded.clone()).unwrap();
            assert_eq!(added.snapshot(), folded.snapshot(), "{mechanism:?}");
        }
    }

    #[test]
    fn a_sparse_delta_of_a_large_domain_is_small() {
        let config = config(Mechanism::Grr, 1 << 20);
        let delta = CellDelta::of_reports(&config, &reports(&config, 1)).unwrap();
        assert!(delta.approx_bytes() <= 64, "{}", delta.approx_bytes());
        let other = config_other();
        assert!(matches!(
            Counters::new(&other).add_delta(&delta),
            Err(AggregateError::DigestMismatch { .. })
        ));
    }

    fn config_other() -> CampaignConfig {
        config(Mechanism::Grr, 4)
    }
}
