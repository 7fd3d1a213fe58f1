//! What an app passes (a string, an index, a number) made into the value a campaign's
//! randomizer takes ([`Randomizer::Value`](super::Randomizer::Value)): an index `< k`, bytes
//! to hash, or a number scaled to t ∈ [−1, 1]. The rules depend only on the value type and the
//! campaign's domain, which [`Plan`] holds, decided once when the encoder is built.

use alloc::string::ToString;

use ldp_protocol::{CampaignConfig, Domain};

use crate::error::ClientError;

/// An app's input to [`Encoder`](super::Encoder).
#[derive(Debug, Clone, Copy)]
pub(super) enum Input<'a> {
    /// A string: a dictionary entry (anything else is `other`), a decimal index of a range
    /// domain, a string to hash, or a number to parse.
    Str(&'a str),
    /// An index `< k`.
    Index(u32),
    /// A number of a numeric domain.
    Number(f64),
}

/// How a campaign's domain reads strings, for the value types that care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strings {
    /// Strings are dictionary entries; index i stands for the i-th entry (or `other`).
    Dictionary,
    /// Strings are decimal indices `< k`, hashed as their canonical decimal.
    Range,
    /// Strings are hashed as they are (an open domain), or parsed (a numeric one).
    Raw,
}

/// The per-campaign facts the conversions read, computed once when the encoder is built.
#[derive(Debug, Clone, Copy)]
pub(super) struct Plan {
    /// Indices an app may pass: `0..k` (k = 0 for an open or numeric domain).
    k: u32,
    strings: Strings,
    /// A numeric campaign's `(lo, hi, 2/(hi − lo))`.
    numeric: Option<(f64, f64, f64)>,
    /// The mechanism's name, for refusals.
    name: &'static str,
}

impl Plan {
    pub(super) fn new(config: &CampaignConfig) -> Self {
        Self {
            k: config.k(),
            strings: match config.domain() {
                Domain::Dictionary { .. } => Strings::Dictionary,
                Domain::Range { .. } => Strings::Range,
                Domain::Open | Domain::Numeric { .. } => Strings::Raw,
            },
            numeric: config
                .numeric_range()
                .map(|(lo, hi)| (lo, hi, 2.0 / (hi - lo))),
            name: config.params().kind().name(),
        }
    }

    /// `index` if it is `< k`.
    #[inline]
    fn check(&self, index: u32) -> Result<u32, ClientError> {
        if index < self.k {
            Ok(index)
        } else {
            Err(ClientError::IndexOutOfRange { index, k: self.k })
        }
    }

    #[cold]
    fn not_numeric(&self) -> ClientError {
        ClientError::NotNumeric(self.name)
    }
}

/// A randomizer's value type, made from an [`Input`] by the rules of the campaign.
pub(super) trait FromInput {
    /// Calls `f` with the value of `input` and whether a number was clamped into the range,
    /// or refuses the input without calling `f`.
    fn with_value<T>(
        input: Input<'_>,
        config: &CampaignConfig,
        plan: &Plan,
        f: impl FnOnce(&Self, bool) -> Result<T, ClientError>,
    ) -> Result<T, ClientError>;
}

/// An index `< k`: strings through the domain (a dictionary maps unknown strings to `other`).
impl FromInput for u32 {
    #[inline(always)]
    fn with_value<T>(
        input: Input<'_>,
        config: &CampaignConfig,
        plan: &Plan,
        f: impl FnOnce(&Self, bool) -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        let index = match input {
            Input::Index(index) => plan.check(index)?,
            Input::Str(value) => config.index_of(value).ok_or_else(|| not_in_range(value))?,
            Input::Number(_) => return Err(plan.not_numeric()),
        };
        f(&index, false)
    }
}

/// Bytes to hash (RAPPOR and the sketches): a string itself, or for a range domain the
/// canonical decimal of its index (refused when it is not one). An index stands for its
/// dictionary entry, or for its decimal digits.
impl FromInput for [u8] {
    #[inline]
    fn with_value<T>(
        input: Input<'_>,
        config: &CampaignConfig,
        plan: &Plan,
        f: impl FnOnce(&Self, bool) -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        let mut digits = [0; 10];
        match (input, plan.strings) {
            (Input::Index(index), Strings::Dictionary) => {
                f(config.label(plan.check(index)?).as_bytes(), false)
            }
            (Input::Index(index), Strings::Range | Strings::Raw) => {
                f(decimal(plan.check(index)?, &mut digits), false)
            }
            (Input::Str(value), Strings::Range) => {
                let index = config.index_of(value).ok_or_else(|| not_in_range(value))?;
                f(decimal(index, &mut digits), false)
            }
            (Input::Str(value), Strings::Dictionary | Strings::Raw) => f(value.as_bytes(), false),
            (Input::Number(_), _) => Err(plan.not_numeric()),
        }
    }
}

/// A number scaled to t ∈ [−1, 1]: clamped into the campaign's range (and counted), NaN and
/// infinities refused; a string is parsed as a number.
impl FromInput for f64 {
    #[inline(always)]
    fn with_value<T>(
        input: Input<'_>,
        _: &CampaignConfig,
        plan: &Plan,
        f: impl FnOnce(&Self, bool) -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        let value = match input {
            Input::Number(value) => value,
            Input::Str(text) => text.trim().parse().map_err(|_| not_in_range(text))?,
            // A numeric domain has no indices (its k is 0).
            Input::Index(index) => {
                return Err(ClientError::IndexOutOfRange { index, k: plan.k });
            }
        };
        let Some((lo, hi, scale)) = plan.numeric else {
            return Err(plan.not_numeric());
        };
        if !value.is_finite() {
            return Err(not_finite(value));
        }
        let (x, clamped) = if value < lo {
            (lo, true)
        } else if value > hi {
            (hi, true)
        } else {
            (value, false)
        };
        f(&((x - lo) * scale - 1.0).clamp(-1.0, 1.0), clamped)
    }
}

/// The refusal of a string the domain does not hold.
#[cold]
fn not_in_range(value: &str) -> ClientError {
    ClientError::NotInRange(value.to_string())
}

/// The refusal of NaN or an infinity, out of the encoding path.
#[cold]
fn not_finite(value: f64) -> ClientError {
    ClientError::NotFinite(value.to_string())
}

/// The decimal digits of `value` in `buffer`.
fn decimal(mut value: u32, buffer: &mut [u8; 10]) -> &[u8] {
    let mut start = buffer.len();
    loop {
        start -= 1;
        if let Some(digit) = buffer.get_mut(start) {
            *digit = b'0' + (value % 10) as u8;
        }
        value /= 10;
        if value == 0 || start == 0 {
            break;
        }
    }
    buffer.get(start..).unwrap_or_default()
}
