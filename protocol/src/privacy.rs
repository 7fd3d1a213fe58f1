//! Validated privacy parameters: an ε is checked once, where it enters, and carried as
//! [`Epsilon`] from there on, so nothing downstream re-checks a bare `f64`.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::limits::MAX_EPSILON;
use crate::mechanism::MechanismParams;

/// ε per report: a finite number in (0, [`MAX_EPSILON`]].
///
/// Serializes as a plain number, so JSON and the canonical encoding behind the config digest
/// are those of the `f64` it holds; deserializing checks the range.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Epsilon(f64);

impl Epsilon {
    /// Accepts a finite ε with `0 < ε ≤ MAX_EPSILON`; anything else (0, negative, NaN, ∞, too
    /// large) is [`ConfigError::InvalidEpsilon`].
    pub fn new(epsilon: f64) -> Result<Self, ConfigError> {
        if epsilon.is_finite() && epsilon > 0.0 && epsilon <= MAX_EPSILON {
            Ok(Self(epsilon))
        } else {
            Err(ConfigError::InvalidEpsilon(epsilon))
        }
    }

    /// The value.
    pub const fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Epsilon {
    type Error = ConfigError;
    fn try_from(epsilon: f64) -> Result<Self, Self::Error> {
        Self::new(epsilon)
    }
}

impl From<Epsilon> for f64 {
    fn from(epsilon: Epsilon) -> Self {
        epsilon.0
    }
}

impl fmt::Display for Epsilon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl core::str::FromStr for Epsilon {
    type Err = ConfigError;
    /// Parses a decimal number and checks its range; text that is not a number is
    /// [`ConfigError::InvalidEpsilon`] with NaN.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let value: f64 = s
            .trim()
            .parse()
            .map_err(|_| ConfigError::InvalidEpsilon(f64::NAN))?;
        Self::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_is_open_at_zero_and_closed_at_the_maximum() {
        for bad in [0.0, -0.0, -1.0, MAX_EPSILON + 1e-9, 20.5, f64::INFINITY] {
            assert_eq!(Epsilon::new(bad), Err(ConfigError::InvalidEpsilon(bad)));
        }
        assert!(matches!(
            Epsilon::new(f64::NAN),
            Err(ConfigError::InvalidEpsilon(e)) if e.is_nan()
        ));
        assert!(Epsilon::new(f64::NEG_INFINITY).is_err());
        for good in [5e-324, f64::MIN_POSITIVE, 0.5, 1.0, MAX_EPSILON] {
            assert_eq!(Epsilon::new(good).map(Epsilon::get), Ok(good));
            assert_eq!(Epsilon::try_from(good).map(f64::from), Ok(good));
        }
    }

    #[test]
    fn it_parses_from_text() {
        assert_eq!("2".parse::<Epsilon>().map(Epsilon::get), Ok(2.0));
        assert!("0".parse::<Epsilon>().is_err());
        assert!("x".parse::<Epsilon>().is_err());
        assert!("21".parse::<Epsilon>().is_err());
    }

    #[test]
    fn it_travels_as_a_plain_number() {
        let e = Epsilon::new(1.5).unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), "1.5");
        assert_eq!(serde_json::from_str::<Epsilon>("1.5").unwrap(), e);
        assert!(serde_json::from_str::<Epsilon>("0").is_err());
        assert!(serde_json::from_str::<Epsilon>("25").is_err());
    }
}

/// What one device has spent on one campaign configuration over its lifetime, and the ε bound
/// that follows from it.
///
/// - A mechanism that keeps nothing between reports composes: the bound is the sum of the
///   per-report ε charged (`composed`).
/// - A memoized mechanism (RAPPOR, LOLOHA, L-SUE, L-OUE) draws every report from a permanent
///   response of the reported value (LOLOHA: of its hashed bucket), so its reports are
///   post-processing of the permanent responses drawn: the bound is
///   `permanent_responses` · ε∞, however many reports were sent. For LOLOHA that is at most
///   min(changes + 1, g) · ε∞. Each single report is ε-LDP on its own besides (ε per report ≤
///   ε∞), which adds nothing to the lifetime bound.
///
/// ```
/// use ldp_protocol::{CampaignConfig, LifetimeSpend, Mechanism};
/// use ldp_protocol::mechanism::LolohaSpec;
///
/// let loloha = Mechanism::Loloha(LolohaSpec { epsilon_permanent: Some(2.0), g: None });
/// let config = CampaignConfig::range("mood", loloha, 1.0, 64)?;
/// let params = config.params();
/// // A year of daily reports of one value: one permanent response.
/// let mut spend = LifetimeSpend::default().after_report(params, true);
/// for _ in 1..365 {
///     spend = spend.after_report(params, false);
/// }
/// let eps_inf = params.epsilon_permanent().unwrap();
/// assert_eq!(spend.epsilon(params), eps_inf);
/// assert!(spend.composed > 300.0);
/// # Ok::<(), ldp_protocol::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LifetimeSpend {
    /// Reports sent.
    pub reports: u64,
    /// Sum of the per-report ε charged: the bound by sequential composition.
    pub composed: f64,
    /// Distinct permanent responses the reports were drawn from (memoized mechanisms only).
    pub permanent_responses: u64,
}

impl LifetimeSpend {
    /// The ε one report is charged: the effective ε of the thresholds, rounded up once more
    /// so that a sum of them never falls below the exact sum.
    pub fn report_epsilon(params: &MechanismParams) -> f64 {
        params.epsilon_upper_bound() * (1.0 + f64::EPSILON)
    }

    /// The spend after one more report. `new_permanent` says whether the report is drawn from
    /// a permanent response no earlier report used (ignored for a mechanism without them).
    #[must_use]
    pub fn after_report(self, params: &MechanismParams, new_permanent: bool) -> Self {
        let memoized = params.epsilon_permanent().is_some();
        Self {
            reports: self.reports.saturating_add(1),
            composed: self.composed + Self::report_epsilon(params),
            permanent_responses: self.permanent_responses + u64::from(memoized && new_permanent),
        }
    }

    /// The ε bound over the device's lifetime under `params`.
    pub fn epsilon(&self, params: &MechanismParams) -> f64 {
        self.bound(params.epsilon_permanent())
    }

    /// The ε bound for a mechanism with ε∞ `epsilon_permanent` (`None`: not memoized).
    pub fn bound(&self, epsilon_permanent: Option<f64>) -> f64 {
        match epsilon_permanent {
            Some(permanent) => self.permanent_responses as f64 * permanent,
            None => self.composed,
        }
    }
}
