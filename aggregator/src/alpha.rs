//! The family-wise significance level of a detection or trending test, checked once where it
//! enters (an HTTP body or query, a command-line flag) and carried as [`Alpha`] from there on.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::error::AggregateError;

/// A family-wise significance level α in the open interval (0, 1): the probability that any
/// absent candidate (or unchanged value) is reported is at most α.
///
/// Serializes as a plain number; deserializing checks the range.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Alpha(f64);

impl Alpha {
    /// The level used when none is given: 0.05.
    pub const DEFAULT: Self = Self(0.05);

    /// Accepts `0 < alpha < 1`; anything else (0, 1, negative, NaN, ∞) is
    /// [`AggregateError::InvalidArgument`].
    pub fn new(alpha: f64) -> Result<Self, AggregateError> {
        if alpha > 0.0 && alpha < 1.0 {
            Ok(Self(alpha))
        } else {
            Err(AggregateError::InvalidArgument(format!(
                "alpha must be in (0, 1); got {alpha}"
            )))
        }
    }

    /// The value.
    pub const fn get(self) -> f64 {
        self.0
    }

    /// The z a statistic must exceed in a one-sided test at level α/M, Bonferroni over
    /// `tests` = M tests: Φ⁻¹(1 − α/M). Finite for every α in (0, 1).
    ///
    /// It is computed as −Φ⁻¹(α/M), which stays accurate however small α/M is (1 − α/M rounds
    /// to 1, and Φ⁻¹ to ∞, once α/M is below about 10⁻¹⁶). Where α/M is too small for an `f64`
    /// (a subnormal α divided by M rounds to 0), z solves φ(z) = α/M instead, with the density
    /// φ(z) = e^(−z²/2)/√(2π) taken in logarithms: that z is slightly above the exact threshold,
    /// since the upper tail 1 − Φ(z) is below φ(z)/z there, so the level still holds.
    pub fn z_threshold(self, tests: usize) -> f64 {
        let tests = tests.max(1) as f64;
        let level = self.0 / tests;
        if level > 0.0 {
            -Normal::standard().inverse_cdf(level)
        } else {
            let log_level = self.0.ln() - tests.ln();
            (-2.0 * log_level - (2.0 * std::f64::consts::PI).ln()).sqrt()
        }
    }
}

impl Default for Alpha {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<f64> for Alpha {
    type Error = AggregateError;
    fn try_from(alpha: f64) -> Result<Self, Self::Error> {
        Self::new(alpha)
    }
}

impl From<Alpha> for f64 {
    fn from(alpha: Alpha) -> Self {
        alpha.0
    }
}

impl fmt::Display for Alpha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Alpha {
    type Err = AggregateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let alpha: f64 = s.trim().parse().map_err(|_| {
            AggregateError::InvalidArgument(format!("alpha must be a number in (0, 1); got {s:?}"))
        })?;
        Self::new(alpha)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_is_open_at_both_ends() {
        for bad in [
            0.0,
            -0.0,
            1.0,
            -0.5,
            1.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert!(
                matches!(Alpha::new(bad), Err(AggregateError::InvalidArgument(m)) if m.contains("alpha")),
                "{bad}"
            );
        }
        for good in [5e-324, 1e-9, 0.05, 0.5, 1.0 - f64::EPSILON] {
            assert_eq!(Alpha::new(good).map(Alpha::get), Ok(good));
            assert_eq!(Alpha::try_from(good).map(f64::from), Ok(good));
        }
        assert_eq!(Alpha::default(), Alpha::DEFAULT);
        assert_eq!(Alpha::DEFAULT.get(), 0.05);
    }

    #[test]
    fn the_threshold_is_finite_and_accurate_deep_in_the_tail() {
        let z = |alpha: f64, tests: usize| Alpha::new(alpha).unwrap().z_threshold(tests);
        // Φ⁻¹(0.95), Φ⁻¹(1 − 0.05/20), and Φ⁻¹(1 − 10⁻²⁰), where 1 − α would round to 1.
        assert!((z(0.05, 1) - 1.644_853_626_951_472).abs() < 1e-9);
        assert!((z(0.05, 20) - 2.807_033_768_343_811).abs() < 1e-9);
        assert!((z(1e-20, 1) - 9.262_340_089_798_405).abs() < 1e-6);
        assert_eq!(z(0.05, 0), z(0.05, 1));
        // Smaller levels, larger thresholds, up to the smallest α with a million tests.
        let mut last = 0.0;
        for alpha in [0.5, 1e-3, 1e-100, 1e-300, f64::MIN_POSITIVE, 1e-320, 5e-324] {
            let threshold = z(alpha, 1_000_000);
            assert!(
                threshold.is_finite() && threshold > last,
                "{alpha}: {threshold}"
            );
            last = threshold;
        }
        // Where both ways apply, solving φ(z) = α/M gives a z just above the exact one.
        let level: f64 = 1e-300;
        let exact = -Normal::standard().inverse_cdf(level);
        let bound = (-2.0 * level.ln() - (2.0 * std::f64::consts::PI).ln()).sqrt();
        assert!(bound >= exact && bound - exact < 0.1, "{exact} {bound}");
    }

    #[test]
    fn it_parses_from_text_and_json() {
        assert_eq!("0.01".parse::<Alpha>().map(Alpha::get), Ok(0.01));
        assert!("1".parse::<Alpha>().is_err());
        assert!("x".parse::<Alpha>().is_err());
        let a = Alpha::new(0.001).unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), "0.001");
        assert_eq!(serde_json::from_str::<Alpha>("0.001").unwrap(), a);
        let err = serde_json::from_str::<Alpha>("0").unwrap_err().to_string();
        assert!(err.contains("alpha must be in (0, 1)"), "{err}");
    }
}
