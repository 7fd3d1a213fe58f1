//! The family-wise significance level of a detection or trending test, checked once where it
//! enters (an HTTP body or query, a command-line flag) and carried as [`Alpha`] from there on.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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
