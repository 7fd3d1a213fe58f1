//! Mechanisms: what an operator asks for ([`Mechanism`]) and the validated, derived parameters
//! every role uses ([`MechanismParams`]): integer thresholds, exact (p, q), variance, ε.
//!
//! One file per mechanism family, the same names as in `ldp-client::encoder` and
//! `ldp-aggregator::estimate`.

pub mod grr;
pub mod local_hash;
pub mod unary;

use serde::{Deserialize, Serialize};

pub use grr::GrrParams;
pub use local_hash::LocalHashParams;
pub use unary::UnaryParams;

use crate::error::ConfigError;
use crate::math::{LikelihoodRatio, PureParams};

/// The mechanism an operator asks for, as written in a campaign configuration.
///
/// JSON: `"grr"`, `"sue"`, `"oue"`, `{"olh": {"g": null, "seed_pool": null}}`,
/// `{"blh": {"seed_pool": 1024}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mechanism {
    /// Generalized randomized response (k-RR, direct encoding).
    Grr,
    /// Symmetric unary encoding (basic one-time RAPPOR).
    Sue,
    /// Optimized unary encoding.
    Oue,
    /// Optimized local hashing.
    Olh {
        /// Hash range; `None` picks the optimum `round(e^ε) + 1`.
        #[serde(default)]
        g: Option<u32>,
        /// Number of shared hash seeds; `None` draws a fresh 64-bit seed per report.
        #[serde(default)]
        seed_pool: Option<u32>,
    },
    /// Binary local hashing (g = 2).
    Blh {
        /// Number of shared hash seeds; `None` draws a fresh 64-bit seed per report.
        #[serde(default)]
        seed_pool: Option<u32>,
    },
}

/// The mechanism families, without parameters: names for errors, logs and tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MechanismKind {
    /// Generalized randomized response.
    Grr,
    /// Symmetric unary encoding.
    Sue,
    /// Optimized unary encoding.
    Oue,
    /// Optimized local hashing.
    Olh,
    /// Binary local hashing.
    Blh,
}

impl MechanismKind {
    /// Every kind, in a stable order.
    pub const ALL: [MechanismKind; 5] = [Self::Grr, Self::Sue, Self::Oue, Self::Olh, Self::Blh];

    /// The lowercase name used in configs, CLIs and tables.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Grr => "grr",
            Self::Sue => "sue",
            Self::Oue => "oue",
            Self::Olh => "olh",
            Self::Blh => "blh",
        }
    }
}

impl core::fmt::Display for MechanismKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl Mechanism {
    /// The family of this mechanism.
    pub const fn kind(&self) -> MechanismKind {
        match self {
            Self::Grr => MechanismKind::Grr,
            Self::Sue => MechanismKind::Sue,
            Self::Oue => MechanismKind::Oue,
            Self::Olh { .. } => MechanismKind::Olh,
            Self::Blh { .. } => MechanismKind::Blh,
        }
    }

    /// A mechanism of `kind` with default parameters.
    pub const fn with_defaults(kind: MechanismKind) -> Self {
        match kind {
            MechanismKind::Grr => Self::Grr,
            MechanismKind::Sue => Self::Sue,
            MechanismKind::Oue => Self::Oue,
            MechanismKind::Olh => Self::Olh {
                g: None,
                seed_pool: None,
            },
            MechanismKind::Blh => Self::Blh { seed_pool: None },
        }
    }
}

/// Validated parameters of a campaign's mechanism, derived once from (mechanism, ε, k).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MechanismParams {
    /// Generalized randomized response.
    Grr(GrrParams),
    /// Symmetric unary encoding.
    Sue(UnaryParams),
    /// Optimized unary encoding.
    Oue(UnaryParams),
    /// Optimized local hashing.
    Olh(LocalHashParams),
    /// Binary local hashing.
    Blh(LocalHashParams),
}

impl MechanismParams {
    /// Validates `mechanism` for ε and a domain of `k` values and derives its thresholds.
    pub fn new(mechanism: &Mechanism, epsilon: f64, k: u32) -> Result<Self, ConfigError> {
        Ok(match mechanism {
            Mechanism::Grr => Self::Grr(GrrParams::new(epsilon, k)?),
            Mechanism::Sue => Self::Sue(UnaryParams::symmetric(epsilon, k)?),
            Mechanism::Oue => Self::Oue(UnaryParams::optimized(epsilon, k)?),
            Mechanism::Olh { g, seed_pool } => {
                let g = g.unwrap_or_else(|| local_hash::optimal_g(epsilon));
                Self::Olh(LocalHashParams::new(epsilon, k, g, *seed_pool)?)
            }
            Mechanism::Blh { seed_pool } => {
                Self::Blh(LocalHashParams::new(epsilon, k, 2, *seed_pool)?)
            }
        })
    }

    /// The mechanism family.
    pub const fn kind(&self) -> MechanismKind {
        match self {
            Self::Grr(_) => MechanismKind::Grr,
            Self::Sue(_) => MechanismKind::Sue,
            Self::Oue(_) => MechanismKind::Oue,
            Self::Olh(_) => MechanismKind::Olh,
            Self::Blh(_) => MechanismKind::Blh,
        }
    }

    /// The mechanism with every default resolved: this form goes into the canonical encoding.
    pub fn resolved(&self) -> Mechanism {
        match self {
            Self::Grr(_) => Mechanism::Grr,
            Self::Sue(_) => Mechanism::Sue,
            Self::Oue(_) => Mechanism::Oue,
            Self::Olh(lh) => Mechanism::Olh {
                g: Some(lh.g),
                seed_pool: lh.seed_pool,
            },
            Self::Blh(lh) => Mechanism::Blh {
                seed_pool: lh.seed_pool,
            },
        }
    }

    /// Domain size k.
    pub const fn k(&self) -> u32 {
        match self {
            Self::Grr(p) => p.k,
            Self::Sue(p) | Self::Oue(p) => p.k,
            Self::Olh(p) | Self::Blh(p) => p.k,
        }
    }

    /// The exact (p, q) of the pure protocol, from the thresholds actually used.
    pub fn pure(&self) -> PureParams {
        match self {
            Self::Grr(p) => p.pure(),
            Self::Sue(p) | Self::Oue(p) => p.pure(),
            Self::Olh(p) | Self::Blh(p) => p.pure(),
        }
    }

    /// The worst-case likelihood ratio of the thresholds actually used.
    pub fn likelihood_ratio(&self) -> LikelihoodRatio {
        match self {
            Self::Grr(p) => p.likelihood_ratio(),
            Self::Sue(p) | Self::Oue(p) => p.likelihood_ratio(),
            Self::Olh(p) | Self::Blh(p) => p.likelihood_ratio(),
        }
    }

    /// Encoded size of one report in bytes (bincode, fixed-width integers, with the enum tag).
    pub fn report_bytes(&self) -> usize {
        match self {
            Self::Grr(_) => 4 + 4,
            Self::Sue(p) | Self::Oue(p) => 4 + 8 + 8 * p.words(),
            Self::Olh(_) | Self::Blh(_) => 4 + 8 + 4,
        }
    }
}

/// Refuses a domain of fewer than 2 or more than `max` values for `mechanism`.
pub(crate) fn check_domain_size(
    k: u32,
    max: u32,
    mechanism: &'static str,
) -> Result<(), ConfigError> {
    if k < 2 {
        return Err(ConfigError::DomainTooSmall(u64::from(k)));
    }
    if k > max {
        return Err(ConfigError::DomainTooLarge {
            k: u64::from(k),
            max,
            mechanism,
        });
    }
    Ok(())
}
