//! From an app's value to a report: the encoder of each campaign, and the typed refusals.
//! Shared by every persisted client (SQLite here, the WebAssembly package's snapshot store).

use std::collections::HashMap;

use ldp_client::{
    DBitFlipEncoder, DeviceSecret, Encoder, InMemorySecretStore, LolohaEncoder,
    LongitudinalUnaryEncoder, MemoTag, RapporEncoder,
};
use ldp_protocol::{CampaignConfig, LifetimeSpend, MechanismParams, Report};

use crate::error::SdkError;

/// A value to record.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    /// A dictionary entry, an open-domain string, a range domain's decimal index, or a
    /// numeric campaign's number in decimal.
    Text(&'a str),
    /// A value's index below the campaign's k.
    Index(u32),
    /// A numeric campaign's number.
    Number(f64),
}

/// A campaign's encoder on the device: the memoized mechanisms' (RAPPOR, LOLOHA, L-SUE, L-OUE,
/// dBitFlip) carry the memo derived from the device secret.
#[derive(Debug)]
pub enum DeviceEncoder {
    /// Every mechanism that keeps nothing between reports.
    Plain(Box<Encoder>),
    /// RAPPOR, with its permanent responses.
    Rappor(Box<RapporEncoder>),
    /// LOLOHA, with the device's hash and its permanent responses.
    Loloha(Box<LolohaEncoder>),
    /// L-SUE and L-OUE, with their permanent responses.
    LongitudinalUnary(Box<LongitudinalUnaryEncoder>),
    /// dBitFlip, with the device's rounding offset, sampled points and responses.
    DBitFlip(Box<DBitFlipEncoder>),
}

/// The encoder for `config`, made once per configuration (`encoders` maps a campaign to the
/// digest its encoder was made for). `secret` gives the device secret; only the memoized
/// mechanisms ask.
pub fn encoder_for<'a>(
    encoders: &'a mut HashMap<String, (u64, DeviceEncoder)>,
    secret: impl FnOnce() -> Result<DeviceSecret, SdkError>,
    config: &CampaignConfig,
) -> Result<&'a mut DeviceEncoder, SdkError> {
    let id = config.id().as_str();
    let fresh = encoders
        .get(id)
        .is_none_or(|(digest, _)| *digest != config.digest());
    if fresh {
        // The secret lives in the store; the permanent responses derived from it are the memo.
        let encoder = match config.params() {
            MechanismParams::Rappor(_) => {
                let mut secret = InMemorySecretStore::with_secret(secret()?);
                DeviceEncoder::Rappor(Box::new(RapporEncoder::new(config, &mut secret)?))
            }
            MechanismParams::Loloha(_) => {
                let mut secret = InMemorySecretStore::with_secret(secret()?);
                DeviceEncoder::Loloha(Box::new(LolohaEncoder::new(config, &mut secret)?))
            }
            MechanismParams::LSue(_) | MechanismParams::LOue(_) => {
                let mut secret = InMemorySecretStore::with_secret(secret()?);
                DeviceEncoder::LongitudinalUnary(Box::new(LongitudinalUnaryEncoder::new(
                    config,
                    &mut secret,
                )?))
            }
            MechanismParams::DBitFlip(_) => {
                DeviceEncoder::DBitFlip(Box::new(DBitFlipEncoder::with_secret(config, secret()?)?))
            }
            _ => DeviceEncoder::Plain(Box::new(Encoder::new(config)?)),
        };
        encoders.insert(id.to_owned(), (config.digest(), encoder));
    }
    encoders
        .get_mut(id)
        .map(|(_, encoder)| encoder)
        .ok_or_else(|| SdkError::Storage("encoder cache".into()))
}

/// One report of `value`, or the typed reason it is refused.
pub fn encode(
    encoder: &mut DeviceEncoder,
    config: &CampaignConfig,
    value: Value<'_>,
) -> Result<Report, SdkError> {
    let mut value = value;
    if let (Value::Text(s), Some(_)) = (value, config.numeric_range()) {
        let x = s
            .trim()
            .parse::<f64>()
            .map_err(|_| SdkError::InvalidValue(format!("{s:?} is not a number")))?;
        value = Value::Number(x);
    }
    if let Value::Number(x) = value
        && let Some((lo, hi)) = config.numeric_range()
        && !(lo..=hi).contains(&x)
    {
        return Err(SdkError::NumberOutOfRange { value: x, lo, hi });
    }
    match (encoder, value) {
        (DeviceEncoder::Plain(e), Value::Text(s)) => Ok(e.encode(s)?),
        (DeviceEncoder::Plain(e), Value::Index(i)) => Ok(e.encode_index(i)?),
        (DeviceEncoder::Plain(e), Value::Number(x)) => Ok(e.encode_number(x)?),
        (DeviceEncoder::Rappor(e), Value::Text(s)) => Ok(e.encode(s)?),
        (DeviceEncoder::Rappor(e), Value::Index(i)) => {
            if i >= config.k() {
                return Err(SdkError::InvalidValue(format!(
                    "value index {i} is outside the domain 0..{}",
                    config.k()
                )));
            }
            Ok(e.encode(&config.label(i))?)
        }
        (DeviceEncoder::Rappor(_), Value::Number(_)) => Err(SdkError::InvalidValue(
            "campaign mechanism rappor does not take numbers".into(),
        )),
        (DeviceEncoder::Loloha(e), Value::Text(s)) => Ok(e.encode(s)?),
        (DeviceEncoder::Loloha(e), Value::Index(i)) => Ok(e.encode_index(i)?),
        (DeviceEncoder::Loloha(_), Value::Number(_)) => Err(SdkError::InvalidValue(
            "campaign mechanism loloha does not take numbers".into(),
        )),
        (DeviceEncoder::LongitudinalUnary(e), Value::Text(s)) => Ok(e.encode(s)?),
        (DeviceEncoder::LongitudinalUnary(e), Value::Index(i)) => Ok(e.encode_index(i)?),
        (DeviceEncoder::LongitudinalUnary(_), Value::Number(_)) => {
            Err(SdkError::InvalidValue(format!(
                "campaign mechanism {} does not take numbers",
                config.params().kind()
            )))
        }
        (DeviceEncoder::DBitFlip(e), Value::Number(x)) => Ok(e.encode_number(x)?),
        (DeviceEncoder::DBitFlip(_), _) => Err(SdkError::InvalidValue(
            "campaign mechanism dbitflip takes numbers".into(),
        )),
    }
}

/// The permanent response a report of `value` is drawn from, for a memoized mechanism (what
/// the lifetime ledger counts); `None` for the others. Call it for a value `encode` accepted.
pub fn memo_tag(
    encoder: &DeviceEncoder,
    config: &CampaignConfig,
    value: Value<'_>,
) -> Result<Option<MemoTag>, SdkError> {
    let index = |value: Value<'_>| match value {
        Value::Index(i) => Ok(i),
        Value::Text(s) => config
            .index_of(s)
            .ok_or_else(|| SdkError::InvalidValue(format!("{s:?} is not in the domain"))),
        Value::Number(_) => Err(SdkError::InvalidValue(
            "a memoized campaign does not take numbers".into(),
        )),
    };
    Ok(match encoder {
        DeviceEncoder::Plain(_) => None,
        DeviceEncoder::Rappor(e) => Some(match value {
            Value::Text(s) => e.memo_tag(s),
            _ => e.memo_tag(&config.label(index(value)?)),
        }),
        DeviceEncoder::Loloha(e) => Some(e.memo_tag(index(value)?)?),
        DeviceEncoder::LongitudinalUnary(e) => Some(e.memo_tag(index(value)?)?),
        DeviceEncoder::DBitFlip(e) => match value {
            Value::Number(x) => Some(e.memo_tag(x)?),
            Value::Text(s) => Some(
                e.memo_tag(
                    s.trim()
                        .parse::<f64>()
                        .map_err(|_| SdkError::InvalidValue(format!("{s:?} is not a number")))?,
                )?,
            ),
            Value::Index(_) => {
                return Err(SdkError::InvalidValue(
                    "campaign mechanism dbitflip takes numbers".into(),
                ));
            }
        },
    })
}

/// The spend of `config`'s configuration after one more report (`new`: drawn from a permanent
/// response no earlier report used), or [`SdkError::LifetimeBudgetExhausted`] when the
/// campaign bounds the lifetime ε and the report would take it past: `earlier` is the ε of the
/// campaign's other configurations.
pub fn charge_lifetime(
    config: &CampaignConfig,
    earlier: f64,
    spend: LifetimeSpend,
    new: bool,
) -> Result<LifetimeSpend, SdkError> {
    let params = config.params();
    let next = spend.after_report(params, new);
    if let Some(limit) = config.max_lifetime_epsilon() {
        let would_be = earlier + next.epsilon(params);
        if would_be > limit {
            return Err(SdkError::LifetimeBudgetExhausted {
                campaign: config.id().as_str().to_owned(),
                spent: earlier + spend.epsilon(params),
                would_be,
                limit,
            });
        }
    }
    Ok(next)
}
