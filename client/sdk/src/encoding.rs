//! From an app's value to a report: the encoder of each campaign, and the typed refusals.

use std::collections::HashMap;

use ldp_client::{Encoder, InMemorySecretStore, RapporEncoder};
use ldp_protocol::{CampaignConfig, MechanismParams, Report};

use crate::error::SdkError;
use crate::store::Store;

/// A value to record.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Text(&'a str),
    Index(u32),
    Number(f64),
}

#[derive(Debug)]
pub(crate) enum DeviceEncoder {
    Plain(Box<Encoder>),
    Rappor(Box<RapporEncoder>),
}

/// The encoder for `config`, made once per configuration.
pub(crate) fn encoder_for<'a>(
    encoders: &'a mut HashMap<String, (u64, DeviceEncoder)>,
    store: &mut Store,
    config: &CampaignConfig,
) -> Result<&'a mut DeviceEncoder, SdkError> {
    let id = config.id().as_str();
    let fresh = encoders
        .get(id)
        .is_none_or(|(digest, _)| *digest != config.digest());
    if fresh {
        let encoder = if let MechanismParams::Rappor(_) = config.params() {
            // The secret lives in the store; the PRRs derived from it are the memo.
            let mut secret = InMemorySecretStore::with_secret(store.secret()?);
            DeviceEncoder::Rappor(Box::new(RapporEncoder::new(config, &mut secret)?))
        } else {
            DeviceEncoder::Plain(Box::new(Encoder::new(config)?))
        };
        encoders.insert(id.to_owned(), (config.digest(), encoder));
    }
    encoders
        .get_mut(id)
        .map(|(_, encoder)| encoder)
        .ok_or_else(|| SdkError::Storage("encoder cache".into()))
}

/// One report of `value`, or the typed reason it is refused.
pub(crate) fn encode(
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
    }
}
