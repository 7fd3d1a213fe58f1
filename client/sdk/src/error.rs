//! Typed errors of the device SDK.

use ldp_client::ClientError;

/// Why the SDK refused a call. A refused `record` writes nothing and charges nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SdkError {
    /// The collector does not know this campaign (or it is not cached and the collector could
    /// not be asked).
    #[error("unknown campaign {0:?}")]
    UnknownCampaign(String),
    /// The value is not in the campaign's domain (an index out of range, a string that is not
    /// an index of a range domain, a string for a numeric campaign).
    #[error("value refused: {0}")]
    InvalidValue(String),
    /// A number outside the campaign's numeric range, or not finite.
    #[error("{value} is outside the campaign's range {lo}..={hi}")]
    NumberOutOfRange {
        /// The number given.
        value: f64,
        /// Smallest accepted number.
        lo: f64,
        /// Largest accepted number.
        hi: f64,
    },
    /// Every report this campaign allows the device in this epoch is already spent.
    #[error(
        "campaign {campaign} allows {allowed} report(s) per device in epoch {epoch}; all are spent"
    )]
    BudgetExhausted {
        /// Campaign id.
        campaign: String,
        /// Epoch number.
        epoch: u64,
        /// Reports allowed per epoch.
        allowed: u32,
    },
    /// The report would take the device's lifetime ε on the campaign past the campaign's
    /// `max_lifetime_epsilon`. Values already reported may still be, for a memoized
    /// mechanism: they draw on permanent responses already counted.
    #[error(
        "campaign {campaign} allows ε {limit} per device over its lifetime; {spent} is spent and this report would take it to {would_be}"
    )]
    LifetimeBudgetExhausted {
        /// Campaign id.
        campaign: String,
        /// The lifetime ε spent so far.
        spent: f64,
        /// The lifetime ε after the refused report.
        would_be: f64,
        /// The campaign's `max_lifetime_epsilon`.
        limit: f64,
    },
    /// The device's state in `data_dir` could not be read or written.
    #[error("device storage: {0}")]
    Storage(String),
    /// The collector could not be reached, or answered with an error.
    #[error("collector: {0}")]
    Network(String),
    /// The collector's campaign configuration is invalid or does not match its digest.
    #[error("campaign configuration from the collector: {0}")]
    Config(String),
    /// An argument of the call is unusable (an empty data directory, a malformed URL).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The operating system's random number generator failed; nothing is made without it.
    #[error("the operating system's random number generator is unavailable")]
    Randomness,
}

impl SdkError {
    /// The error's kind as a name (`"BudgetExhausted"`, `"UnknownCampaign"`, …): what a
    /// binding shows as its error type.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::UnknownCampaign(_) => "UnknownCampaign",
            Self::InvalidValue(_) => "InvalidValue",
            Self::NumberOutOfRange { .. } => "NumberOutOfRange",
            Self::BudgetExhausted { .. } => "BudgetExhausted",
            Self::LifetimeBudgetExhausted { .. } => "LifetimeBudgetExhausted",
            Self::Storage(_) => "Storage",
            Self::Network(_) => "Network",
            Self::Config(_) => "Config",
            Self::InvalidArgument(_) => "InvalidArgument",
            Self::Randomness => "Randomness",
        }
    }
}

#[cfg(feature = "sqlite")]
impl From<rusqlite::Error> for SdkError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Storage(e.to_string())
    }
}

impl From<ClientError> for SdkError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Randomness => Self::Randomness,
            ClientError::Budget(ldp_client::BudgetError::Exhausted {
                campaign,
                epoch,
                allowed,
            }) => Self::BudgetExhausted {
                campaign,
                epoch,
                allowed,
            },
            ClientError::SecretStore(detail) => Self::Storage(detail),
            other => Self::InvalidValue(other.to_string()),
        }
    }
}

impl From<ldp_protocol::WireError> for SdkError {
    fn from(e: ldp_protocol::WireError) -> Self {
        Self::Storage(format!("cannot encode a batch: {e}"))
    }
}
