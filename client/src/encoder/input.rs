//! What an app passes (a string, an index, a number) made into the value a campaign's
//! randomizer takes ([`Randomizer::Value`](super::Randomizer::Value)): an index `< k`, bytes
//! to hash, or a number scaled to t ∈ [−1, 1]. The rules depend only on the value type and the
//! campaign's domain, which [`Plan`] holds, decided once when the encoder is built.

use alloc::string::{String, ToString};

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

    /// `Ok` if every index is `< k`, else the refusal of the first that is not.
    #[inline]
    pub(super) fn check_all(&self, indices: &[u32]) -> Result<(), ClientError> {
        match indices.iter().find(|&&index| index >= self.k) {
            Some(&index) => Err(ClientError::IndexOutOfRange { index, k: self.k }),
            None => Ok(()),
        }
    }

    #[cold]
    fn not_numeric(&self) -> ClientError {
        ClientError::NotNumeric(self.name)
    }
}

/// A randomizer's value type, made from an [`Input`] by the rules of the campaign. The value
/// is returned, not handed to a callback, so that the encoding after it inlines into one path.
pub(super) trait FromInput {
    /// What holds the value: the value itself (`u32`, `f64`), or bytes borrowed from the input
    /// or the campaign or made from an index ([`Bytes`]).
    type Held<'a>;

    /// The value of `input` and whether a number was clamped into the range, or the refusal
    /// of the input.
    fn from_input<'a>(
        input: Input<'a>,
        config: &'a CampaignConfig,
        plan: &Plan,
    ) -> Result<(Self::Held<'a>, bool), ClientError>;

    /// The value of an index already checked to be `< k` ([`Plan::check`]), or the refusal of
    /// indices by a value type that takes none.
    fn from_index(
        index: u32,
        config: &CampaignConfig,
        plan: &Plan,
    ) -> Result<Self::Held<'static>, ClientError>;

    /// The value `held` holds.
    fn get<'h>(held: &'h Self::Held<'_>) -> &'h Self;
}

/// An index `< k`: strings through the domain (a dictionary maps unknown strings to `other`).
impl FromInput for u32 {
    type Held<'a> = u32;

    #[inline(always)]
    fn from_input<'a>(
        input: Input<'a>,
        config: &'a CampaignConfig,
        plan: &Plan,
    ) -> Result<(u32, bool), ClientError> {
        let index = match input {
            Input::Index(index) => plan.check(index)?,
            Input::Str(value) => config.index_of(value).ok_or_else(|| not_in_range(value))?,
            Input::Number(_) => return Err(plan.not_numeric()),
        };
        Ok((index, false))
    }

    #[inline(always)]
    fn from_index(index: u32, _: &CampaignConfig, _: &Plan) -> Result<u32, ClientError> {
        Ok(index)
    }

    #[inline(always)]
    fn get(held: &u32) -> &u32 {
        held
    }
}

/// Bytes to hash: borrowed from the input, or made for an index (its dictionary entry, or its
/// canonical decimal digits).
#[derive(Debug)]
pub(super) enum Bytes<'a> {
    /// The input string itself.
    Borrowed(&'a [u8]),
    /// A dictionary entry of an index.
    Entry(String),
    /// The decimal digits of an index.
    Digits(Decimal),
}

/// Bytes to hash (RAPPOR and the sketches): a string itself, or for a range domain the
/// canonical decimal of its index (refused when it is not one). An index stands for its
/// dictionary entry, or for its decimal digits.
impl FromInput for [u8] {
    type Held<'a> = Bytes<'a>;

    // Always inlined: as calls, the bytes went through memory and an HCMS `Encoder::encode`
    // took 48–54 ns instead of 37–41 (`cargo bench -p ldp-client --bench encode sketch/hcms`).
    #[inline(always)]
    fn from_input<'a>(
        input: Input<'a>,
        config: &'a CampaignConfig,
        plan: &Plan,
    ) -> Result<(Bytes<'a>, bool), ClientError> {
        let bytes = match (input, plan.strings) {
            (Input::Index(index), _) => Self::from_index(plan.check(index)?, config, plan)?,
            (Input::Str(value), Strings::Range) => {
                let index = config.index_of(value).ok_or_else(|| not_in_range(value))?;
                Bytes::Digits(Decimal::new(index))
            }
            (Input::Str(value), Strings::Dictionary | Strings::Raw) => {
                Bytes::Borrowed(value.as_bytes())
            }
            (Input::Number(_), _) => return Err(plan.not_numeric()),
        };
        Ok((bytes, false))
    }

    #[inline(always)]
    fn from_index(
        index: u32,
        config: &CampaignConfig,
        plan: &Plan,
    ) -> Result<Bytes<'static>, ClientError> {
        Ok(match plan.strings {
            Strings::Dictionary => Bytes::Entry(config.label(index)),
            Strings::Range | Strings::Raw => Bytes::Digits(Decimal::new(index)),
        })
    }

    #[inline(always)]
    fn get<'h>(held: &'h Bytes<'_>) -> &'h [u8] {
        match held {
            Bytes::Borrowed(bytes) => bytes,
            Bytes::Entry(entry) => entry.as_bytes(),
            Bytes::Digits(digits) => digits.as_bytes(),
        }
    }
}

/// A number scaled to t ∈ [−1, 1]: clamped into the campaign's range (and counted), NaN and
/// infinities refused; a string is parsed as a number.
impl FromInput for f64 {
    type Held<'a> = f64;

    #[inline(always)]
    fn from_input<'a>(
        input: Input<'a>,
        config: &'a CampaignConfig,
        plan: &Plan,
    ) -> Result<(f64, bool), ClientError> {
        let value = match input {
            Input::Number(value) => value,
            Input::Str(text) => text.trim().parse().map_err(|_| not_in_range(text))?,
            Input::Index(index) => {
                return Self::from_index(index, config, plan).map(|t| (t, false));
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
        Ok((((x - lo) * scale - 1.0).clamp(-1.0, 1.0), clamped))
    }

    /// A numeric domain has no indices (its k is 0): every index is refused.
    #[inline]
    fn from_index(index: u32, _: &CampaignConfig, plan: &Plan) -> Result<f64, ClientError> {
        Err(ClientError::IndexOutOfRange { index, k: plan.k })
    }

    #[inline(always)]
    fn get(held: &f64) -> &f64 {
        held
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

/// The canonical decimal digits of an index.
#[derive(Debug, Clone, Copy)]
pub(super) struct Decimal {
    buffer: [u8; 10],
    /// Where the digits start in `buffer`.
    start: usize,
}

impl Decimal {
    /// The digits of `value`.
    fn new(mut value: u32) -> Self {
        let mut buffer = [0; 10];
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
        Self { buffer, start }
    }

    /// The digits.
    fn as_bytes(&self) -> &[u8] {
        self.buffer.get(self.start..).unwrap_or_default()
    }
}
