//! Mechanisms: what an operator asks for ([`Mechanism`]) and the validated, derived parameters
//! every role uses ([`MechanismParams`]): integer thresholds, exact (p, q), variance, ε.
//!
//! One file per mechanism family, the same names as in `ldp-client::encoder` and
//! `ldp-aggregator::estimate`. Each family's parameters implement [`MechanismFamily`]; the
//! closed enums `Mechanism`, `MechanismParams` and [`Report`] dispatch to it through one
//! generated match per method (`for_every_mechanism!`, the one list of mechanisms).

pub mod dbitflip;
pub mod family;
pub mod grr;
pub mod hadamard;
pub mod local_hash;
pub mod loloha;
pub mod lue;
pub mod numeric;
pub mod rappor;
pub mod sketch;
pub mod subset;
pub mod unary;

use serde::{Deserialize, Serialize};

pub use dbitflip::{DBitFlipParams, DBitFlipSpec};
pub use family::{CheckedReports, MechanismFamily, Payload};
pub use grr::GrrParams;
pub use hadamard::HadamardParams;
pub use local_hash::LocalHashParams;
pub use loloha::{LolohaParams, LolohaSpec};
pub use lue::{LongitudinalSpec, LongitudinalUnaryParams};
pub use numeric::{NumericKind, NumericParams};
pub use rappor::{RapporParams, RapporSpec};
pub use sketch::SketchParams;
pub use subset::SubsetParams;
pub use unary::UnaryParams;

use crate::error::{ConfigError, ReportError};
use crate::math::{LikelihoodRatio, PureParams};
use crate::report::Report;

/// The mechanism an operator asks for, as written in a campaign configuration.
///
/// JSON: `"grr"`, `"sue"`, `"oue"`, `{"olh": {"g": null, "seed_pool": null}}`,
/// `{"blh": {"seed_pool": 1024}}`, `{"ss": {"w": null}}`, `"hr"`,
/// `{"rappor": {"bloom_bits": 128, "hashes": 2, "cohorts": 64, "epsilon_permanent": 4}}`,
/// `{"cms": {"hashes": 64, "width": 1024}}`, `{"hcms": {}}`, and for numeric means `"duchi"`,
/// `{"piecewise": {"grid": 1024}}`, `{"hybrid": {}}`, and for reports repeated epoch after
/// epoch `{"loloha": {"epsilon_permanent": 4, "g": null}}`, `{"l_sue": {"epsilon_permanent": 4}}`
/// and `{"l_oue": {"epsilon_permanent": 4}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
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
    /// Subset Selection: a set of w values.
    Ss {
        /// Values per report; `None` picks the variance-optimal size near k/(e^ε + 1).
        #[serde(default)]
        w: Option<u32>,
    },
    /// Hadamard Response (high-privacy form).
    Hr,
    /// RAPPOR: Bloom filter, memoized permanent and instantaneous randomized response, cohorts.
    /// Open domains (candidates given at query time) allowed.
    Rappor(RapporSpec),
    /// Apple's count-mean sketch: one row of m ±1 entries. Open domains allowed.
    Cms(SketchSpec),
    /// Apple's Hadamard count-mean sketch: one Hadamard coefficient bit. Open domains allowed.
    Hcms(SketchSpec),
    /// Duchi et al.'s one-bit mechanism for the mean of a number (numeric domains).
    Duchi,
    /// The Piecewise Mechanism for the mean of a number (numeric domains).
    Piecewise(GridSpec),
    /// The Hybrid of Piecewise and Duchi for the mean of a number (numeric domains).
    Hybrid(GridSpec),
    /// Longitudinal local hashing: a memoized permanent response per hashed value, so that
    /// repeated reports reveal at most ε∞ per bucket.
    Loloha(LolohaSpec),
    /// Longitudinal symmetric unary encoding: a memoized SUE permanent response per value,
    /// then a symmetric instantaneous one per report.
    LSue(LongitudinalSpec),
    /// Longitudinal optimized unary encoding: a memoized OUE permanent response per value,
    /// then an optimized instantaneous one per report.
    LOue(LongitudinalSpec),
    /// dBitFlip: a memoized histogram and mean of a number (numeric domains), with α-point
    /// rounding.
    #[serde(rename = "dbitflip")]
    DBitFlip(DBitFlipSpec),
}

/// The output grid of a numeric mechanism, as written in a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridSpec {
    /// Piecewise cells (default 1024).
    #[serde(default)]
    pub grid: Option<u32>,
}

/// The shape of a count-mean sketch, as written in a campaign. Every field is optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SketchSpec {
    /// Hash functions d, the sketch's rows (default 64).
    #[serde(default)]
    pub hashes: Option<u32>,
    /// Buckets per row m (default 1024; a power of two for HCMS).
    #[serde(default)]
    pub width: Option<u32>,
    /// Seed of the hash family (default: derived from the campaign id).
    #[serde(default)]
    pub seed: Option<u64>,
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
    /// Subset Selection.
    Ss,
    /// Hadamard Response.
    Hr,
    /// RAPPOR (Bloom filter, permanent + instantaneous randomized response, cohorts).
    Rappor,
    /// Count-mean sketch.
    Cms,
    /// Hadamard count-mean sketch.
    Hcms,
    /// Duchi et al.'s numeric mechanism.
    Duchi,
    /// The Piecewise Mechanism.
    Piecewise,
    /// The Hybrid Mechanism.
    Hybrid,
    /// Longitudinal local hashing.
    Loloha,
    /// Longitudinal symmetric unary encoding.
    LSue,
    /// Longitudinal optimized unary encoding.
    LOue,
    /// dBitFlip (memoized histogram of a number).
    DBitFlip,
}

impl MechanismKind {
    /// Every frequency oracle over a fixed domain (a pure protocol), in a stable order: the
    /// kinds that [`Mechanism::with_defaults`] builds and the advisor ranks.
    pub const ALL: [MechanismKind; 7] = [
        Self::Grr,
        Self::Sue,
        Self::Oue,
        Self::Olh,
        Self::Blh,
        Self::Ss,
        Self::Hr,
    ];
    /// Every kind, the pure oracles then the string mechanisms: the order of the wire tags.
    pub const EVERY: [MechanismKind; MECHANISM_COUNT] = EVERY_KIND;

    /// The longitudinal frequency oracles: memoized, for devices that report every epoch.
    /// Their estimates are a pure protocol's, like [`MechanismKind::ALL`]'s.
    pub const LONGITUDINAL: [MechanismKind; 3] = [Self::Loloha, Self::LSue, Self::LOue];

    /// The numeric mechanisms: means over a numeric domain.
    pub const NUMERIC: [MechanismKind; 4] =
        [Self::Duchi, Self::Piecewise, Self::Hybrid, Self::DBitFlip];

    /// Whether this kind estimates the mean of a number (numeric domains only).
    pub const fn is_numeric(self) -> bool {
        matches!(
            self,
            Self::Duchi | Self::Piecewise | Self::Hybrid | Self::DBitFlip
        )
    }

    /// Whether estimates are made for candidate strings (given at query time, or the
    /// domain's values): RAPPOR and the sketches, which also accept open domains.
    pub const fn takes_candidates(self) -> bool {
        matches!(self, Self::Rappor | Self::Cms | Self::Hcms)
    }

    /// The lowercase name used in configs, CLIs and tables.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Grr => "grr",
            Self::Sue => "sue",
            Self::Oue => "oue",
            Self::Olh => "olh",
            Self::Blh => "blh",
            Self::Ss => "ss",
            Self::Hr => "hr",
            Self::Rappor => "rappor",
            Self::Cms => "cms",
            Self::Hcms => "hcms",
            Self::Duchi => "duchi",
            Self::Piecewise => "piecewise",
            Self::Hybrid => "hybrid",
            Self::Loloha => "loloha",
            Self::LSue => "l_sue",
            Self::LOue => "l_oue",
            Self::DBitFlip => "dbitflip",
        }
    }
}

/// A mechanism name that is not one of [`MechanismKind::EVERY`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown mechanism {0:?}; expected one of grr, sue, oue, olh, blh, ss, hr, rappor, cms, hcms, duchi, piecewise, hybrid, loloha, l_sue, l_oue, dbitflip"
)]
pub struct UnknownMechanism(pub alloc::string::String);

impl core::str::FromStr for MechanismKind {
    type Err = UnknownMechanism;

    /// Parses the lowercase name of [`MechanismKind::name`] (surrounding spaces ignored): the
    /// one parser the CLIs, the simulator and the API share.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let name = name.trim();
        Self::EVERY
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| UnknownMechanism(name.into()))
    }
}

impl core::fmt::Display for MechanismKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl Mechanism {
    /// A mechanism of `kind` with default parameters. RAPPOR's defaults are the paper's
    /// (m = 128, h = 2, 64 cohorts, ε∞ = 4, IRR derived from the campaign's ε).
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
            MechanismKind::Ss => Self::Ss { w: None },
            MechanismKind::Hr => Self::Hr,
            MechanismKind::Rappor => Self::Rappor(RapporSpec {
                bloom_bits: 128,
                hashes: 2,
                cohorts: 64,
                f: None,
                epsilon_permanent: Some(4.0),
                p: None,
                q: None,
            }),
            MechanismKind::Cms => Self::Cms(SketchSpec {
                hashes: None,
                width: None,
                seed: None,
            }),
            MechanismKind::Hcms => Self::Hcms(SketchSpec {
                hashes: None,
                width: None,
                seed: None,
            }),
            MechanismKind::Duchi => Self::Duchi,
            MechanismKind::Piecewise => Self::Piecewise(GridSpec { grid: None }),
            MechanismKind::Hybrid => Self::Hybrid(GridSpec { grid: None }),
            MechanismKind::Loloha => Self::Loloha(LolohaSpec {
                epsilon_permanent: None,
                g: None,
            }),
            MechanismKind::LSue => Self::LSue(LongitudinalSpec {
                epsilon_permanent: None,
            }),
            MechanismKind::LOue => Self::LOue(LongitudinalSpec {
                epsilon_permanent: None,
            }),
            MechanismKind::DBitFlip => Self::DBitFlip(DBitFlipSpec {
                points: None,
                sampled: None,
            }),
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
    /// Subset Selection.
    Ss(SubsetParams),
    /// Hadamard Response.
    Hr(HadamardParams),
    /// RAPPOR.
    Rappor(RapporParams),
    /// Count-mean sketch.
    Cms(SketchParams),
    /// Hadamard count-mean sketch.
    Hcms(SketchParams),
    /// Duchi et al.'s numeric mechanism.
    Duchi(NumericParams),
    /// The Piecewise Mechanism.
    Piecewise(NumericParams),
    /// The Hybrid Mechanism.
    Hybrid(NumericParams),
    /// Longitudinal local hashing.
    Loloha(LolohaParams),
    /// Longitudinal symmetric unary encoding.
    LSue(LongitudinalUnaryParams),
    /// Longitudinal optimized unary encoding.
    LOue(LongitudinalUnaryParams),
    /// dBitFlip.
    DBitFlip(DBitFlipParams),
}

impl MechanismParams {
    /// Validates `mechanism` for ε and a domain of `k` values (0: an open domain, which only
    /// RAPPOR accepts) and derives its thresholds: each family's own constructor.
    pub fn new(mechanism: &Mechanism, epsilon: f64, k: u32) -> Result<Self, ConfigError> {
        Ok(match mechanism {
            Mechanism::Grr => Self::Grr(GrrParams::new(epsilon, k)?),
            Mechanism::Sue => Self::Sue(UnaryParams::symmetric(epsilon, k)?),
            Mechanism::Oue => Self::Oue(UnaryParams::optimized(epsilon, k)?),
            Mechanism::Olh { g, seed_pool } => {
                Self::Olh(LocalHashParams::olh(epsilon, k, *g, *seed_pool)?)
            }
            Mechanism::Blh { seed_pool } => {
                Self::Blh(LocalHashParams::blh(epsilon, k, *seed_pool)?)
            }
            Mechanism::Ss { w } => Self::Ss(SubsetParams::new(epsilon, k, *w)?),
            Mechanism::Hr => Self::Hr(HadamardParams::new(epsilon, k)?),
            Mechanism::Rappor(spec) => Self::Rappor(RapporParams::new(spec, epsilon, k)?),
            Mechanism::Cms(spec) => Self::Cms(SketchParams::from_spec(spec, epsilon, k, false)?),
            Mechanism::Hcms(spec) => Self::Hcms(SketchParams::from_spec(spec, epsilon, k, true)?),
            Mechanism::Duchi => Self::Duchi(NumericParams::from_grid(
                NumericKind::Duchi,
                epsilon,
                GridSpec::default(),
            )?),
            Mechanism::Piecewise(grid) => Self::Piecewise(NumericParams::from_grid(
                NumericKind::Piecewise,
                epsilon,
                *grid,
            )?),
            Mechanism::Hybrid(grid) => Self::Hybrid(NumericParams::from_grid(
                NumericKind::Hybrid,
                epsilon,
                *grid,
            )?),
            Mechanism::Loloha(spec) => Self::Loloha(LolohaParams::new(spec, epsilon, k)?),
            Mechanism::LSue(spec) => {
                Self::LSue(LongitudinalUnaryParams::new(spec, epsilon, k, false)?)
            }
            Mechanism::LOue(spec) => {
                Self::LOue(LongitudinalUnaryParams::new(spec, epsilon, k, true)?)
            }
            Mechanism::DBitFlip(spec) => Self::DBitFlip(DBitFlipParams::new(spec, epsilon)?),
        })
    }
}

/// The one list of mechanisms, in the order of their wire tags: calls `$callback!` with
/// every variant name. `Mechanism`, `MechanismKind`, `MechanismParams` and `Report` have one
/// variant of each name.
macro_rules! for_every_mechanism {
    ($callback:ident) => {
        $callback! { Grr Sue Oue Olh Blh Ss Hr Rappor Cms Hcms Duchi Piecewise Hybrid Loloha LSue LOue DBitFlip }
    };
}

/// The one dispatch: every method of the closed enums that depends on the mechanism is one
/// generated match calling the family's [`MechanismFamily`] implementation.
macro_rules! dispatch {
    ($($variant:ident)*) => {
        /// Number of mechanisms.
        const MECHANISM_COUNT: usize = [$(MechanismKind::$variant),*].len();

        /// Every mechanism kind, in the order of the wire tags.
        const EVERY_KIND: [MechanismKind; MECHANISM_COUNT] = [$(MechanismKind::$variant),*];

        impl Mechanism {
            /// The family of this mechanism.
            pub const fn kind(&self) -> MechanismKind {
                match self {
                    $(Self::$variant { .. } => MechanismKind::$variant,)*
                }
            }
        }

        impl Report {
            /// The mechanism family of this report.
            pub const fn kind(&self) -> MechanismKind {
                match self {
                    $(Self::$variant(_) => MechanismKind::$variant,)*
                }
            }
        }

        impl MechanismParams {
            /// The mechanism family.
            pub const fn kind(&self) -> MechanismKind {
                match self {
                    $(Self::$variant(_) => MechanismKind::$variant,)*
                }
            }

            /// The mechanism with every default resolved: this form goes into the canonical
            /// encoding.
            pub fn resolved(&self) -> Mechanism {
                match self {
                    $(Self::$variant(p) => MechanismFamily::resolved(p),)*
                }
            }

            /// Domain size k (0 for an open or numeric domain).
            pub fn k(&self) -> u32 {
                match self {
                    $(Self::$variant(p) => MechanismFamily::k(p),)*
                }
            }

            /// The exact (p, q) of the pure protocol, from the thresholds actually used. For
            /// RAPPOR, which is not a pure protocol over the domain, the per-bit `(q*, p*)`:
            /// the probability that a reported Bloom bit is 1 when the true bit is 1, and when
            /// it is 0. For a numeric mechanism, the (in-block, out-of-block) probabilities of
            /// its least private part.
            pub fn pure(&self) -> PureParams {
                match self {
                    $(Self::$variant(p) => MechanismFamily::pure(p),)*
                }
            }

            /// The worst-case likelihood ratio of one report, from the thresholds actually
            /// used, as exact integers (for the sketches, over every value; the pure (p, q) of
            /// [`MechanismParams::pure`] is per entry). `None` for RAPPOR, whose ratio is a
            /// power of h (see [`RapporParams::bit_probabilities_exact`]).
            pub fn likelihood_ratio(&self) -> Option<LikelihoodRatio> {
                match self {
                    $(Self::$variant(p) => MechanismFamily::likelihood_ratio(p),)*
                }
            }

            /// The effective ε of one report, from the thresholds actually used, rounded up:
            /// what a privacy-budget accountant charges.
            pub fn epsilon_upper_bound(&self) -> f64 {
                match self {
                    $(Self::$variant(p) => MechanismFamily::epsilon_upper_bound(p),)*
                }
            }

            /// Whether a device's reports depend on state it keeps (RAPPOR's and LOLOHA's
            /// permanent responses, derived from the device secret): such campaigns need the
            /// memoizing encoders, not a stateless one.
            pub fn memoized(&self) -> bool {
                match self {
                    $(Self::$variant(p) => MechanismFamily::memoized(p),)*
                }
            }

            /// For a memoized mechanism, ε∞ rounded up from the thresholds (see
            /// [`MechanismFamily::epsilon_permanent`]); `None` for the others.
            pub fn epsilon_permanent(&self) -> Option<f64> {
                match self {
                    $(Self::$variant(p) => MechanismFamily::epsilon_permanent(p),)*
                }
            }

            /// Encoded size of one report in bytes (bincode, fixed-width integers, with the
            /// enum tag).
            pub fn report_bytes(&self) -> usize {
                match self {
                    $(Self::$variant(p) => MechanismFamily::report_bytes(p),)*
                }
            }

            /// Checks that `report` can have been produced under these parameters: right
            /// variant, indices in range, exact bit length, zero padding.
            pub fn check(&self, report: &Report) -> Result<(), ReportError> {
                match self {
                    $(Self::$variant(p) => MechanismFamily::check_report(p, report),)*
                }
            }
        }
    };
}

for_every_mechanism!(dispatch);

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
