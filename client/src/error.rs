//! Typed errors of the on-device client.

use alloc::string::String;

/// Why the client refused to produce a report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The operating system's randomness source failed; no report is made without it.
    #[error("the operating system's random number generator is unavailable")]
    Randomness,
    /// An index outside a range domain `0..k` (range domains have no `other` bucket).
    #[error("value index {index} is outside the domain 0..{k}")]
    IndexOutOfRange {
        /// Index given.
        index: u32,
        /// Domain size.
        k: u32,
    },
    /// A string that is not a decimal index, for a campaign over a range domain.
    #[error("{0:?} is not an index of this campaign's range domain")]
    NotInRange(String),
    /// The campaign's mechanism needs another encoder (the memoized ones need a device
    /// secret: `RapporEncoder`, `LolohaEncoder`, `LongitudinalUnaryEncoder`).
    #[error(
        "campaign mechanism {0} needs its own encoder (RapporEncoder for rappor, LolohaEncoder for loloha, LongitudinalUnaryEncoder for l_sue and l_oue)"
    )]
    WrongEncoder(&'static str),
    /// A number for a campaign that does not estimate means.
    #[error("campaign mechanism {0} does not take numbers (duchi, piecewise and hybrid do)")]
    NotNumeric(&'static str),
    /// NaN or an infinity given as a number (its text).
    #[error("{0} is not a finite number")]
    NotFinite(String),
    /// The device secret could not be read or written.
    #[error("device secret store: {0}")]
    SecretStore(String),
    /// A block of values and the reports to encode them into differ in length.
    #[error("{values} values cannot be encoded into {reports} reports")]
    LengthMismatch {
        /// Values given.
        values: usize,
        /// Reports given.
        reports: usize,
    },
    /// The privacy budget for this campaign and epoch is spent.
    #[error(transparent)]
    Budget(#[from] BudgetError),
}

/// Why the privacy-budget accountant refused a report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BudgetError {
    /// The device already sent every report the campaign allows in this epoch.
    #[error(
        "campaign {campaign} allows {allowed} report(s) per device in epoch {epoch}; all are spent"
    )]
    Exhausted {
        /// Campaign id.
        campaign: String,
        /// Epoch number.
        epoch: u64,
        /// Reports allowed per epoch.
        allowed: u32,
    },
}
