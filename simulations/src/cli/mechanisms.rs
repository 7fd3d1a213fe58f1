//! `--mechanism`: the one parser of mechanism names, shared by every subcommand.
//!
//! A name is parsed by [`MechanismKind`]'s `FromStr`; a list is comma-separated and may use
//! the groups `all` (every frequency oracle) and `numeric` (every numeric mechanism), both
//! read from the [`crate::registry`]. Errors list the names.

use std::str::FromStr;

use ldp_protocol::MechanismKind;

use crate::registry::{self, Simulation};

/// The names of `kinds`.
fn names(kinds: impl Iterator<Item = MechanismKind>) -> Vec<&'static str> {
    kinds.map(MechanismKind::name).collect()
}

/// The names, groups and rules, for error messages: "grr, sue, … or all (frequency oracles);
/// rappor, cms or hcms alone; duchi, … or numeric (means)".
fn names_help() -> String {
    let mut oracles = names(registry::frequency_oracles());
    oracles.push("all");
    let alone = names(registry::alone());
    let mut numeric = names(registry::numeric());
    numeric.push("numeric");
    format!(
        "{} (frequency oracles, comma-separated); {} alone (strings against candidates); \
         {} (means, comma-separated)",
        listed(&oracles, "or"),
        listed(&alone, "or"),
        listed(&numeric, "or")
    )
}

/// "a, b or c" (`word` "or"), "a, b and c" (`word` "and").
fn listed(names: &[&str], word: &str) -> String {
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} {word} {last}", rest.join(", ")),
    }
}

/// Parses one mechanism name (the `value_parser` of single-mechanism flags).
pub fn parse_kind(name: &str) -> Result<MechanismKind, String> {
    name.parse::<MechanismKind>()
        .ok()
        .filter(|&kind| registry::simulation(kind).is_some())
        .ok_or_else(|| format!("unknown mechanism {:?}; use {}", name.trim(), names_help()))
}

/// A `--mechanism` list: mechanism names and groups, comma-separated, each kind once in the
/// order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MechanismList(Vec<MechanismKind>);

impl FromStr for MechanismList {
    type Err = String;

    fn from_str(list: &str) -> Result<Self, String> {
        let mut kinds = Vec::new();
        for name in list.split(',').map(str::trim) {
            let group: Vec<MechanismKind> = match name {
                "all" => registry::frequency_oracles().collect(),
                "numeric" => registry::numeric().collect(),
                _ => vec![parse_kind(name)?],
            };
            for kind in group {
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
        }
        Ok(Self(kinds))
    }
}

impl MechanismList {
    /// The kinds, in the order given.
    pub fn kinds(&self) -> &[MechanismKind] {
        &self.0
    }

    /// The kinds when every one is a frequency oracle (what `grid`, `bench` and `advise`
    /// simulate); otherwise an error naming the first that is not.
    pub fn frequency_oracles(&self) -> Result<&[MechanismKind], String> {
        let other = self
            .0
            .iter()
            .find(|&&k| registry::simulation(k) != Some(Simulation::FrequencyOracle));
        match other {
            Some(kind) => {
                let mut oracles = names(registry::frequency_oracles());
                oracles.push("all");
                Err(format!(
                    "{kind} is not a frequency oracle; this subcommand takes {}",
                    listed(&oracles, "or")
                ))
            }
            None => Ok(&self.0),
        }
    }

    /// What `run` simulates: the one way the list's mechanisms can run together, or an error
    /// saying which mechanism does not fit.
    pub fn simulation(&self) -> Result<Simulation, String> {
        let simulations: Vec<(MechanismKind, Simulation)> = self
            .0
            .iter()
            .filter_map(|&k| registry::simulation(k).map(|s| (k, s)))
            .collect();
        if let Some(&(kind, simulation)) = simulations.iter().find(|(_, s)| s.runs_alone()) {
            if self.0.len() != 1 {
                return Err(format!("{kind} runs alone: --mechanism {kind}"));
            }
            return Ok(simulation);
        }
        if simulations.iter().any(|&(_, s)| s == Simulation::Numeric) {
            if let Some((kind, _)) = simulations.iter().find(|&&(_, s)| s != Simulation::Numeric) {
                let numeric = names(registry::numeric());
                return Err(format!(
                    "{} estimate means and run only with each other (--mechanism numeric for \
                     all of them); {:?} is not one of them",
                    listed(&numeric, "and"),
                    kind.name()
                ));
            }
            return Ok(Simulation::Numeric);
        }
        if self.0.is_empty() {
            return Err(format!("no mechanism given; use {}", names_help()));
        }
        Ok(Simulation::FrequencyOracle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(list: &str) -> Vec<&'static str> {
        let list: MechanismList = list.parse().unwrap();
        list.kinds().iter().map(|k| k.name()).collect()
    }

    #[test]
    fn groups_expand_and_names_appear_once() {
        assert_eq!(
            kinds("all"),
            [
                "grr", "sue", "oue", "olh", "blh", "ss", "hr", "loloha", "l_sue", "l_oue"
            ]
        );
        assert_eq!(
            kinds("numeric"),
            ["duchi", "piecewise", "hybrid", "dbitflip"]
        );
        assert_eq!(kinds(" oue , grr,oue"), ["oue", "grr"]);
        assert_eq!(
            kinds("hybrid,numeric"),
            ["hybrid", "duchi", "piecewise", "dbitflip"]
        );
    }

    #[test]
    fn an_unknown_name_lists_the_names() {
        let error = "sketch".parse::<MechanismList>().unwrap_err();
        assert!(error.starts_with("unknown mechanism \"sketch\""), "{error}");
        for part in [
            "grr, sue",
            "hr, loloha, l_sue, l_oue or all",
            "rappor, cms or hcms alone",
            "numeric",
        ] {
            assert!(error.contains(part), "{part} missing: {error}");
        }
        assert_eq!(
            parse_kind("OUE").unwrap_err(),
            parse_kind(" OUE ").unwrap_err()
        );
    }

    #[test]
    fn run_rules() {
        let simulation = |list: &str| list.parse::<MechanismList>().unwrap().simulation();
        assert_eq!(simulation("grr,oue"), Ok(Simulation::FrequencyOracle));
        assert_eq!(simulation("numeric"), Ok(Simulation::Numeric));
        assert_eq!(
            simulation("hcms"),
            Ok(Simulation::Sketch { hadamard: true })
        );
        assert_eq!(simulation("rappor"), Ok(Simulation::Rappor));
        assert_eq!(
            simulation("hcms,oue").unwrap_err(),
            "hcms runs alone: --mechanism hcms"
        );
        let error = simulation("duchi,grr").unwrap_err();
        assert!(error.contains("\"grr\" is not one of them"), "{error}");
        assert!(
            error.starts_with("duchi, piecewise, hybrid and dbitflip estimate means"),
            "{error}"
        );
        assert!(
            "cms,oue"
                .parse::<MechanismList>()
                .unwrap()
                .frequency_oracles()
                .is_err()
        );
    }
}
