//! Campaign configuration: what is collected, with which mechanism, at which ε.
//!
//! Untrusted input (JSON from an operator, bytes, CLI flags) is a [`CampaignSpec`]; the one
//! fallible constructor [`CampaignConfig::new`] turns it into a [`CampaignConfig`] that cannot be
//! invalid. `CampaignConfig` serializes as its normalized spec (every default resolved) and
//! deserializes through the same constructor, so no path skips validation.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::mechanism::{Mechanism, MechanismParams};
use crate::privacy::{Epsilon, LifetimeSpend};

pub use crate::limits::{
    MAX_DESCRIPTION_BYTES, MAX_DICTIONARY_ENTRY_BYTES, MAX_EPOCH_SECONDS, MAX_EPSILON,
    MAX_HASHED_PER_REPORT_K, MAX_REPORTS_PER_EPOCH, MIN_EPOCH_SECONDS, MIN_EPSILON,
    MIN_REPORTS_FLOOR,
};
/// Default minimum number of reports before estimates are released.
pub const DEFAULT_MIN_REPORTS: u64 = 100;
/// Default epoch length: one day.
pub const DEFAULT_EPOCH_SECONDS: u64 = 24 * 3600;

/// A campaign id: 1 to 64 characters from `a-z 0-9 - _`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CampaignId(String);

impl CampaignId {
    /// Validates a slug.
    pub fn new(id: impl Into<String>) -> Result<Self, ConfigError> {
        let id = id.into();
        let bytes = id.as_bytes();
        let ok = !bytes.is_empty()
            && bytes.len() <= 64
            && bytes
                .first()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_');
        if ok {
            Ok(Self(id))
        } else {
            Err(ConfigError::InvalidId(id))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CampaignId {
    type Error = ConfigError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<CampaignId> for String {
    fn from(value: CampaignId) -> Self {
        value.0
    }
}

impl core::fmt::Display for CampaignId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The set of values a campaign estimates.
///
/// JSON: `{"range": {"k": 16}}`, `{"dictionary": {"values": ["😂", "❤"]}}`, `"open"`, or
/// `{"numeric": {"lo": 0, "hi": 100}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Domain {
    /// The indices `0..k`.
    Range {
        /// Number of values.
        k: u32,
    },
    /// Candidate strings, plus an implicit final `other` bucket (index `values.len()`) that
    /// every out-of-dictionary value maps to. k = `values.len() + 1`.
    Dictionary {
        /// The candidates, in index order.
        values: Vec<String>,
    },
    /// Any string: no dictionary, candidates are given when estimates are asked for (RAPPOR,
    /// CMS and HCMS only). k = 0.
    Open,
    /// A number in `[lo, hi]` whose mean is estimated (numeric mechanisms only). Values
    /// outside are clamped on the device. k = 0.
    Numeric {
        /// Smallest value.
        lo: f64,
        /// Largest value.
        hi: f64,
    },
}

/// The label of the `other` bucket of a dictionary domain.
pub const OTHER_LABEL: &str = "(other)";

impl Domain {
    /// Number of values k (including the `other` bucket of a dictionary; 0 when open).
    pub fn size(&self) -> u64 {
        match self {
            Self::Range { k } => u64::from(*k),
            Self::Dictionary { values } => values.len() as u64 + 1,
            Self::Open | Self::Numeric { .. } => 0,
        }
    }
}

/// A campaign configuration as written by an operator: untrusted until
/// [`CampaignConfig::new`] accepts it. Unknown fields are refused (a misspelled
/// `"epoch_second"` must not silently leave the default in place).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignSpec {
    /// Campaign id (a slug).
    pub id: String,
    /// What the campaign measures, for people.
    #[serde(default)]
    pub description: String,
    /// Mechanism and its parameters.
    pub mechanism: Mechanism,
    /// ε per report.
    pub epsilon: f64,
    /// The values estimated.
    pub domain: Domain,
    /// Epoch length in seconds (default one day).
    #[serde(default = "default_epoch_seconds")]
    pub epoch_seconds: u64,
    /// Reports one device may send per epoch (default 1).
    #[serde(default = "default_reports_per_epoch")]
    pub max_reports_per_epoch: u32,
    /// Reports needed before estimates are released (default 100, never below 10).
    #[serde(default = "default_min_reports")]
    pub min_reports: u64,
    /// The most ε one device may spend on the campaign over its lifetime, as
    /// [`LifetimeSpend`] accounts it; the device refuses a report that
    /// would take it past. Absent (the default): no bound. JSON leaves it out when absent, and
    /// the digest does not cover it then, so campaigns without it keep their digests.
    #[serde(default)]
    pub max_lifetime_epsilon: Option<f64>,
}

impl Serialize for CampaignSpec {
    /// Every field in order. A binary format (the canonical encoding) always carries
    /// `max_lifetime_epsilon`, as the `Option` it is; a human-readable one (JSON) leaves it
    /// out when absent.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let human = serializer.is_human_readable();
        let mut spec = serializer.serialize_struct("CampaignSpec", 9)?;
        spec.serialize_field("id", &self.id)?;
        spec.serialize_field("description", &self.description)?;
        spec.serialize_field("mechanism", &self.mechanism)?;
        spec.serialize_field("epsilon", &self.epsilon)?;
        spec.serialize_field("domain", &self.domain)?;
        spec.serialize_field("epoch_seconds", &self.epoch_seconds)?;
        spec.serialize_field("max_reports_per_epoch", &self.max_reports_per_epoch)?;
        spec.serialize_field("min_reports", &self.min_reports)?;
        if human && self.max_lifetime_epsilon.is_none() {
            spec.skip_field("max_lifetime_epsilon")?;
        } else {
            spec.serialize_field("max_lifetime_epsilon", &self.max_lifetime_epsilon)?;
        }
        spec.end()
    }
}

fn default_epoch_seconds() -> u64 {
    DEFAULT_EPOCH_SECONDS
}
fn default_reports_per_epoch() -> u32 {
    1
}
fn default_min_reports() -> u64 {
    DEFAULT_MIN_REPORTS
}

impl CampaignSpec {
    /// A spec with defaults for everything but the essentials.
    pub fn new(id: &str, mechanism: Mechanism, epsilon: f64, domain: Domain) -> Self {
        Self {
            id: id.into(),
            description: String::new(),
            mechanism,
            epsilon,
            domain,
            epoch_seconds: DEFAULT_EPOCH_SECONDS,
            max_reports_per_epoch: 1,
            min_reports: DEFAULT_MIN_REPORTS,
            max_lifetime_epsilon: None,
        }
    }
}

/// A validated campaign configuration. Cannot be built invalid; cheap to clone once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CampaignSpec", into = "CampaignSpec")]
pub struct CampaignConfig {
    id: CampaignId,
    epsilon: Epsilon,
    spec: CampaignSpec,
    params: MechanismParams,
    dictionary: BTreeMap<String, u32>,
    digest: u64,
}

impl CampaignConfig {
    /// The configuration of a campaign about to be created: [`CampaignConfig::new`], plus the
    /// rules that bind new campaigns only, so that a campaign stored before a rule existed
    /// still loads: ε at least [`MIN_EPSILON`], and no mechanism that hashes every value for
    /// every report over more than [`MAX_HASHED_PER_REPORT_K`] values.
    pub fn create(spec: CampaignSpec) -> Result<Self, ConfigError> {
        let config = Self::new(spec)?;
        let epsilon = config.epsilon.get();
        if epsilon < MIN_EPSILON {
            return Err(ConfigError::EpsilonTooSmall(epsilon));
        }
        let hashed_per_report = match config.params() {
            MechanismParams::Olh(p) | MechanismParams::Blh(p) if p.seed_pool.is_none() => {
                Some((p.k, "local hashing with a seed per report"))
            }
            MechanismParams::Loloha(p) => Some((p.k, "loloha")),
            _ => None,
        };
        if let Some((k, mechanism)) = hashed_per_report
            && k > MAX_HASHED_PER_REPORT_K
        {
            return Err(ConfigError::PerReportCostTooHigh {
                k,
                max: MAX_HASHED_PER_REPORT_K,
                mechanism,
            });
        }
        Ok(config)
    }

    /// The single fallible constructor: validates every field and combination, resolves
    /// defaults (e.g. OLH's g) and computes the digest.
    pub fn new(mut spec: CampaignSpec) -> Result<Self, ConfigError> {
        let id = CampaignId::new(spec.id.clone())?;
        if spec.description.len() > MAX_DESCRIPTION_BYTES {
            return Err(ConfigError::DescriptionTooLong(spec.description.len()));
        }
        let epsilon = Epsilon::new(spec.epsilon)?;
        let k = spec.domain.size();
        check_numeric(&spec.mechanism, &spec.domain)?;
        let string_mechanism = spec.mechanism.kind().takes_candidates();
        if let Mechanism::Cms(sketch) | Mechanism::Hcms(sketch) = &mut spec.mechanism {
            // Each campaign draws its own hash family unless the operator fixes one.
            sketch
                .seed
                .get_or_insert_with(|| crate::mechanism::sketch::default_seed(id.as_str()));
        }
        if spec.domain == Domain::Open {
            if !string_mechanism {
                return Err(ConfigError::OpenDomainUnsupported(
                    spec.mechanism.kind().name(),
                ));
            }
        } else if k < 2 && !spec.mechanism.kind().is_numeric() {
            return Err(ConfigError::DomainTooSmall(k));
        }
        let k32 = u32::try_from(k).map_err(|_| ConfigError::DomainTooLarge {
            k,
            max: u32::MAX,
            mechanism: spec.mechanism.kind().name(),
        })?;
        let mut dictionary = BTreeMap::new();
        if let Domain::Dictionary { values } = &spec.domain {
            for (i, value) in values.iter().enumerate() {
                if value.is_empty() {
                    return Err(ConfigError::EmptyDictionaryEntry(i));
                }
                if value.len() > MAX_DICTIONARY_ENTRY_BYTES {
                    return Err(ConfigError::DictionaryEntryTooLong(i));
                }
                // `i < k32` because k = values.len() + 1 fits in u32.
                if dictionary.insert(value.clone(), i as u32).is_some() {
                    return Err(ConfigError::DuplicateDictionaryEntry(value.clone()));
                }
            }
        }
        if !(MIN_EPOCH_SECONDS..=MAX_EPOCH_SECONDS).contains(&spec.epoch_seconds) {
            return Err(ConfigError::EpochLengthOutOfRange(spec.epoch_seconds));
        }
        if !(1..=MAX_REPORTS_PER_EPOCH).contains(&spec.max_reports_per_epoch) {
            return Err(ConfigError::ReportsPerEpochOutOfRange(
                spec.max_reports_per_epoch,
            ));
        }
        if spec.min_reports < MIN_REPORTS_FLOOR {
            return Err(ConfigError::MinReportsTooSmall(spec.min_reports));
        }
        let params = MechanismParams::new(&spec.mechanism, epsilon.get(), k32)?;
        spec.mechanism = params.resolved();
        if let Some(limit) = spec.max_lifetime_epsilon {
            // The first report must fit, or the campaign could never be reported.
            let first = LifetimeSpend::default()
                .after_report(&params, true)
                .epsilon(&params);
            if !(limit.is_finite() && limit >= first) {
                return Err(ConfigError::LifetimeEpsilonTooSmall { limit, first });
            }
        }
        let digest = crate::wire::digest(&spec);
        Ok(Self {
            id,
            epsilon,
            spec,
            params,
            dictionary,
            digest,
        })
    }

    /// A campaign over the indices `0..k` with every other setting at its default.
    pub fn range(
        id: &str,
        mechanism: Mechanism,
        epsilon: f64,
        k: u32,
    ) -> Result<Self, ConfigError> {
        Self::new(CampaignSpec::new(
            id,
            mechanism,
            epsilon,
            Domain::Range { k },
        ))
    }

    /// Campaign id.
    pub fn id(&self) -> &CampaignId {
        &self.id
    }

    /// The normalized spec (defaults resolved).
    pub fn spec(&self) -> &CampaignSpec {
        &self.spec
    }

    /// ε per report as configured.
    pub fn epsilon(&self) -> f64 {
        self.epsilon.get()
    }

    /// Domain size k (0 for an open domain).
    pub fn k(&self) -> u32 {
        self.params.k()
    }

    /// The domain.
    pub fn domain(&self) -> &Domain {
        &self.spec.domain
    }

    /// Validated mechanism parameters.
    pub fn params(&self) -> &MechanismParams {
        &self.params
    }

    /// Epoch length in seconds.
    pub fn epoch_seconds(&self) -> u64 {
        self.spec.epoch_seconds
    }

    /// Reports one device may send per epoch.
    pub fn max_reports_per_epoch(&self) -> u32 {
        self.spec.max_reports_per_epoch
    }

    /// Reports needed before estimates are released.
    pub fn min_reports(&self) -> u64 {
        self.spec.min_reports
    }

    /// The most ε one device may spend on the campaign over its lifetime, if bounded.
    pub fn max_lifetime_epsilon(&self) -> Option<f64> {
        self.spec.max_lifetime_epsilon
    }

    /// xxh3-64 of the canonical encoding; every batch carries it.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// The index of a string value: its dictionary position, or the `other` bucket for a value
    /// not in the dictionary. For a range domain, a decimal index `< k`; anything else is `None`.
    pub fn index_of(&self, value: &str) -> Option<u32> {
        match &self.spec.domain {
            Domain::Dictionary { values } => Some(
                self.dictionary
                    .get(value)
                    .copied()
                    .unwrap_or(values.len() as u32),
            ),
            Domain::Range { k } => value.parse::<u32>().ok().filter(|i| i < k),
            Domain::Open | Domain::Numeric { .. } => None,
        }
    }

    /// The range `(lo, hi)` of a numeric domain.
    pub fn numeric_range(&self) -> Option<(f64, f64)> {
        match self.spec.domain {
            Domain::Numeric { lo, hi } => Some((lo, hi)),
            _ => None,
        }
    }

    /// Whether the domain is open: estimates need candidates.
    pub fn is_open(&self) -> bool {
        self.spec.domain == Domain::Open
    }

    /// The strings estimates are made for when none are asked for: the dictionary (without
    /// the `other` bucket), the decimal indices of a range, nothing for an open domain.
    pub fn default_candidates(&self) -> Vec<String> {
        use alloc::string::ToString;
        match &self.spec.domain {
            Domain::Dictionary { values } => values.clone(),
            Domain::Range { k } => (0..*k).map(|i| i.to_string()).collect(),
            Domain::Open | Domain::Numeric { .. } => Vec::new(),
        }
    }

    /// The index of the `other` bucket, for a dictionary domain.
    pub fn other_index(&self) -> Option<u32> {
        match &self.spec.domain {
            Domain::Dictionary { values } => Some(values.len() as u32),
            Domain::Range { .. } | Domain::Open | Domain::Numeric { .. } => None,
        }
    }

    /// A label for index `i`: the dictionary entry, [`OTHER_LABEL`], or the decimal index.
    pub fn label(&self, i: u32) -> String {
        use alloc::string::ToString;
        match &self.spec.domain {
            Domain::Dictionary { values } => values
                .get(i as usize)
                .cloned()
                .unwrap_or_else(|| OTHER_LABEL.into()),
            Domain::Range { .. } | Domain::Open | Domain::Numeric { .. } => i.to_string(),
        }
    }
}

/// A numeric mechanism needs a numeric domain with `lo < hi`, both finite, and the reverse.
fn check_numeric(mechanism: &Mechanism, domain: &Domain) -> Result<(), ConfigError> {
    let numeric = mechanism.kind().is_numeric();
    match domain {
        Domain::Numeric { lo, hi } => {
            if !numeric {
                return Err(ConfigError::NumericMismatch(
                    "a numeric domain needs a numeric mechanism: duchi, piecewise or hybrid",
                ));
            }
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(ConfigError::InvalidNumeric(
                    "the numeric range needs finite lo < hi",
                ));
            }
            Ok(())
        }
        _ if numeric => Err(ConfigError::NumericMismatch(
            "duchi, piecewise and hybrid estimate means: the domain must be {\"numeric\": {\"lo\", \"hi\"}}",
        )),
        _ => Ok(()),
    }
}

impl TryFrom<CampaignSpec> for CampaignConfig {
    type Error = ConfigError;
    fn try_from(spec: CampaignSpec) -> Result<Self, Self::Error> {
        Self::new(spec)
    }
}

impl From<CampaignConfig> for CampaignSpec {
    fn from(config: CampaignConfig) -> Self {
        config.spec
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mechanism::MechanismKind;
    use alloc::vec;

    fn spec(mechanism: Mechanism, epsilon: f64, k: u32) -> CampaignSpec {
        CampaignSpec::new("test", mechanism, epsilon, Domain::Range { k })
    }

    #[test]
    fn nan_epsilon_is_rejected() {
        let err = CampaignConfig::new(spec(Mechanism::Grr, f64::NAN, 4)).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidEpsilon(e) if e.is_nan()));
    }

    #[test]
    fn olh_g_is_resolved_into_the_digest() {
        let implicit =
            CampaignConfig::new(spec(Mechanism::with_defaults(MechanismKind::Olh), 1.0, 16))
                .unwrap();
        let explicit = CampaignConfig::new(spec(
            Mechanism::Olh {
                g: Some(4),
                seed_pool: None,
            },
            1.0,
            16,
        ))
        .unwrap();
        assert_eq!(implicit.digest(), explicit.digest());
        assert_eq!(
            implicit.spec().mechanism,
            Mechanism::Olh {
                g: Some(4),
                seed_pool: None
            }
        );
        let other = CampaignConfig::new(spec(Mechanism::Grr, 1.0, 16)).unwrap();
        assert_ne!(implicit.digest(), other.digest());
    }

    #[test]
    fn dictionary_maps_unknown_values_to_other() {
        let config = CampaignConfig::new(CampaignSpec::new(
            "emoji",
            Mechanism::Grr,
            1.0,
            Domain::Dictionary {
                values: vec!["😂".into(), "❤".into()],
            },
        ))
        .unwrap();
        assert_eq!(config.k(), 3);
        assert_eq!(config.index_of("❤"), Some(1));
        assert_eq!(config.index_of("🦀"), Some(2));
        assert_eq!(config.other_index(), Some(2));
        assert_eq!(config.label(2), OTHER_LABEL);
    }
}
