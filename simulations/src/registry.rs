//! The one table of simulated mechanisms: how `ldp-sim` simulates each [`MechanismKind`].
//!
//! Adding a mechanism to the simulator is one entry in [`REGISTRY`]; the `--mechanism`
//! groups (`all`, `numeric`), the rules of which mechanisms run together, and the dispatch of
//! `run` all read it. A test checks that every kind has exactly one entry.

use ldp_protocol::MechanismKind;

/// How a mechanism is simulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Simulation {
    /// A frequency oracle over `0..k`: every value's count against the variance formula
    /// ([`crate::run`]). Oracles run together; `--mechanism all` is every one of them, the
    /// one-shot ones then the longitudinal ones.
    FrequencyOracle,
    /// RAPPOR: strings decoded against candidates, with detection ([`crate::rappor`]). Runs
    /// alone.
    Rappor,
    /// A count-mean sketch, strings decoded against candidates ([`crate::sketch`]); HCMS when
    /// `hadamard`. Runs alone.
    Sketch {
        /// One Hadamard coefficient per report (HCMS) rather than m entries (CMS).
        hadamard: bool,
    },
    /// The mean of a number ([`crate::numeric`]). Numeric mechanisms run together;
    /// `--mechanism numeric` is every one of them.
    Numeric,
}

impl Simulation {
    /// Whether a run of this mechanism takes no other mechanism with it (the candidate
    /// decoders: each has its own settings and table).
    pub const fn runs_alone(self) -> bool {
        matches!(self, Self::Rappor | Self::Sketch { .. })
    }
}

/// Every simulated mechanism and how it is simulated, in the order of
/// [`MechanismKind::EVERY`].
pub const REGISTRY: [(MechanismKind, Simulation); 17] = [
    (MechanismKind::Grr, Simulation::FrequencyOracle),
    (MechanismKind::Sue, Simulation::FrequencyOracle),
    (MechanismKind::Oue, Simulation::FrequencyOracle),
    (MechanismKind::Olh, Simulation::FrequencyOracle),
    (MechanismKind::Blh, Simulation::FrequencyOracle),
    (MechanismKind::Ss, Simulation::FrequencyOracle),
    (MechanismKind::Hr, Simulation::FrequencyOracle),
    (MechanismKind::Rappor, Simulation::Rappor),
    (MechanismKind::Cms, Simulation::Sketch { hadamard: false }),
    (MechanismKind::Hcms, Simulation::Sketch { hadamard: true }),
    (MechanismKind::Duchi, Simulation::Numeric),
    (MechanismKind::Piecewise, Simulation::Numeric),
    (MechanismKind::Hybrid, Simulation::Numeric),
    // A device's first report: the memoized responses drawn fresh (see the randomizer).
    (MechanismKind::Loloha, Simulation::FrequencyOracle),
    (MechanismKind::LSue, Simulation::FrequencyOracle),
    (MechanismKind::LOue, Simulation::FrequencyOracle),
    (MechanismKind::DBitFlip, Simulation::Numeric),
];

/// How `kind` is simulated; `None` for a mechanism the simulator does not know.
pub fn simulation(kind: MechanismKind) -> Option<Simulation> {
    REGISTRY
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|&(_, simulation)| simulation)
}

/// The kinds simulated as `simulation`, in registry order.
pub fn kinds(simulation: Simulation) -> impl Iterator<Item = MechanismKind> {
    REGISTRY
        .into_iter()
        .filter(move |&(_, s)| s == simulation)
        .map(|(kind, _)| kind)
}

/// The frequency oracles: `--mechanism all`.
pub fn frequency_oracles() -> impl Iterator<Item = MechanismKind> {
    kinds(Simulation::FrequencyOracle)
}

/// The numeric mechanisms: `--mechanism numeric`.
pub fn numeric() -> impl Iterator<Item = MechanismKind> {
    kinds(Simulation::Numeric)
}

/// The kinds that run alone (RAPPOR and the sketches), in registry order.
pub fn alone() -> impl Iterator<Item = MechanismKind> {
    REGISTRY
        .into_iter()
        .filter(|&(_, s)| s.runs_alone())
        .map(|(kind, _)| kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mechanism_has_exactly_one_entry() {
        for kind in MechanismKind::EVERY {
            let entries = REGISTRY.iter().filter(|(k, _)| *k == kind).count();
            assert_eq!(entries, 1, "{kind} has {entries} registry entries");
        }
        assert_eq!(REGISTRY.len(), MechanismKind::EVERY.len());
    }

    #[test]
    fn the_groups_are_the_protocol_s_lists() {
        assert!(
            frequency_oracles().eq(MechanismKind::ALL
                .into_iter()
                .chain(MechanismKind::LONGITUDINAL))
        );
        assert!(numeric().eq(MechanismKind::NUMERIC));
        for kind in MechanismKind::EVERY {
            let simulation = simulation(kind);
            assert_eq!(
                simulation.is_some_and(Simulation::runs_alone),
                kind.takes_candidates(),
                "{kind}"
            );
        }
    }
}
