//! The privacy-budget accountant: a device sends at most `max_reports_per_epoch` reports per
//! campaign and epoch, and the ε it has spent is tracked rounding toward more privacy loss.
//!
//! The ledger is a trait so apps can persist it; [`InMemoryLedger`] keeps it in memory.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};

use ldp_protocol::CampaignConfig;

use crate::error::BudgetError;

/// Where spent reports are recorded, per (campaign id, epoch).
pub trait BudgetLedger {
    /// Reports already charged for `campaign` in `epoch`.
    fn spent(&self, campaign: &str, epoch: u64) -> u32;
    /// Records `count` more reports for `campaign` in `epoch`.
    fn record(&mut self, campaign: &str, epoch: u64, count: u32);
}

/// A ledger in memory (lost when the process ends).
#[derive(Debug, Clone, Default)]
pub struct InMemoryLedger {
    spent: BTreeMap<(String, u64), u32>,
}

impl BudgetLedger for InMemoryLedger {
    fn spent(&self, campaign: &str, epoch: u64) -> u32 {
        self.spent
            .get(&(campaign.to_string(), epoch))
            .copied()
            .unwrap_or(0)
    }

    fn record(&mut self, campaign: &str, epoch: u64, count: u32) {
        let entry = self.spent.entry((campaign.to_string(), epoch)).or_insert(0);
        *entry = entry.saturating_add(count);
    }
}

/// What a successful charge cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Charge {
    /// Reports charged so far in this epoch, including this one.
    pub reports_in_epoch: u32,
    /// Upper bound on the ε spent in this epoch for this campaign (sequential composition of
    /// the effective per-report ε, rounded up).
    pub epsilon_in_epoch: f64,
}

/// Refuses reports beyond a campaign's per-epoch allowance.
#[derive(Debug, Clone, Default)]
pub struct Accountant<L = InMemoryLedger> {
    ledger: L,
}

impl<L: BudgetLedger> Accountant<L> {
    /// An accountant over `ledger`.
    pub fn new(ledger: L) -> Self {
        Self { ledger }
    }

    /// Charges one report for `config` in `epoch`, or refuses with [`BudgetError::Exhausted`].
    pub fn charge(&mut self, config: &CampaignConfig, epoch: u64) -> Result<Charge, BudgetError> {
        let campaign = config.id().as_str();
        let spent = self.ledger.spent(campaign, epoch);
        let allowed = config.max_reports_per_epoch();
        if spent >= allowed {
            return Err(BudgetError::Exhausted {
                campaign: campaign.to_string(),
                epoch,
                allowed,
            });
        }
        self.ledger.record(campaign, epoch, 1);
        let per_report = config.params().epsilon_upper_bound();
        let reports = spent + 1;
        Ok(Charge {
            reports_in_epoch: reports,
            epsilon_in_epoch: per_report * f64::from(reports) * (1.0 + f64::EPSILON),
        })
    }

    /// The ledger.
    pub fn ledger(&self) -> &L {
        &self.ledger
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ldp_protocol::{CampaignSpec, Domain, Mechanism};

    #[test]
    fn refuses_beyond_allowance_per_epoch() {
        let mut spec = CampaignSpec::new("c", Mechanism::Grr, 1.0, Domain::Range { k: 4 });
        spec.max_reports_per_epoch = 2;
        let config = CampaignConfig::new(spec).unwrap();
        let mut accountant = Accountant::new(InMemoryLedger::default());
        let first = accountant.charge(&config, 7).unwrap();
        assert_eq!(first.reports_in_epoch, 1);
        assert!(first.epsilon_in_epoch <= 1.0 + 1e-9 && first.epsilon_in_epoch > 0.99);
        assert_eq!(accountant.charge(&config, 7).unwrap().reports_in_epoch, 2);
        assert_eq!(
            accountant.charge(&config, 7),
            Err(BudgetError::Exhausted {
                campaign: "c".into(),
                epoch: 7,
                allowed: 2
            })
        );
        // A new epoch has a new allowance.
        assert!(accountant.charge(&config, 8).is_ok());
    }
}
