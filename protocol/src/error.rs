//! Typed errors for everything `ldp-protocol` refuses.
//!
//! Sub-enums are small and comparable so tests can assert the exact reason.

use alloc::string::String;

/// Why a campaign configuration was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The campaign id is not a slug (`[a-z0-9][a-z0-9_-]{0,63}`).
    #[error(
        "campaign id {0:?} is not a slug: 1 to 64 characters from a-z, 0-9, '-', '_', starting with a letter or digit"
    )]
    InvalidId(String),
    /// The description is longer than [`crate::limits::MAX_DESCRIPTION_BYTES`].
    #[error("description is {0} bytes; at most {max} are allowed", max = crate::limits::MAX_DESCRIPTION_BYTES)]
    DescriptionTooLong(usize),
    /// ε is not a finite number in (0, [`crate::limits::MAX_EPSILON`]].
    #[error("epsilon must be finite, > 0 and <= {max}; got {0}", max = crate::limits::MAX_EPSILON)]
    InvalidEpsilon(f64),
    /// ε is below [`crate::limits::MIN_EPSILON`], the smallest a new campaign may use.
    #[error(
        "epsilon {0} is below {min}, the smallest a new campaign may use: with less, even 10^8 \
         reports cannot tell a value with a 1% share from none",
        min = crate::limits::MIN_EPSILON
    )]
    EpsilonTooSmall(f64),
    /// The domain has fewer than two values.
    #[error("the domain must have at least 2 values; got {0}")]
    DomainTooSmall(u64),
    /// The domain is larger than the mechanism allows.
    #[error("the domain has {k} values; {mechanism} allows at most {max}")]
    DomainTooLarge {
        /// Domain size asked for.
        k: u64,
        /// Largest domain the mechanism accepts.
        max: u32,
        /// Mechanism name.
        mechanism: &'static str,
    },
    /// A new campaign whose every report would cost the collector a hash per value of a
    /// domain larger than [`crate::limits::MAX_HASHED_PER_REPORT_K`].
    #[error(
        "{mechanism} costs the collector one hash per value for every report; {k} values is more than the {max} a new campaign may use (use a seed pool: each report then costs one counter)"
    )]
    PerReportCostTooHigh {
        /// Domain size asked for.
        k: u32,
        /// Largest domain allowed for this mechanism and setting.
        max: u32,
        /// The mechanism and setting, in words.
        mechanism: &'static str,
    },
    /// A dictionary entry is empty.
    #[error("dictionary entry {0} is empty")]
    EmptyDictionaryEntry(usize),
    /// A dictionary entry is longer than [`crate::limits::MAX_DICTIONARY_ENTRY_BYTES`].
    #[error("dictionary entry {0} is longer than {max} bytes", max = crate::limits::MAX_DICTIONARY_ENTRY_BYTES)]
    DictionaryEntryTooLong(usize),
    /// A dictionary entry appears twice.
    #[error("dictionary entry {0:?} appears more than once")]
    DuplicateDictionaryEntry(String),
    /// The local-hashing range g is outside `2..=min(k, MAX_HASH_RANGE)`.
    #[error("hash range g = {g} is out of range: 2 <= g <= {max}")]
    HashRangeOutOfRange {
        /// g asked for.
        g: u32,
        /// Largest g allowed for this domain.
        max: u32,
    },
    /// The seed pool size is outside `1..=MAX_SEED_POOL`, or its table (pool × g) is larger
    /// than `MAX_POOL_CELLS`.
    #[error("seed pool size {0} is out of range: 1 <= pool <= {max} and pool × g <= {cells}", max = crate::limits::MAX_SEED_POOL, cells = crate::limits::MAX_POOL_CELLS)]
    SeedPoolOutOfRange(u32),
    /// The epoch length is outside the documented range.
    #[error("epoch length {0} s is out of range: {min} <= seconds <= {max}", min = crate::limits::MIN_EPOCH_SECONDS, max = crate::limits::MAX_EPOCH_SECONDS)]
    EpochLengthOutOfRange(u64),
    /// The per-device, per-epoch report allowance is outside the documented range.
    #[error("max reports per epoch {0} is out of range: 1 <= n <= {max}", max = crate::limits::MAX_REPORTS_PER_EPOCH)]
    ReportsPerEpochOutOfRange(u32),
    /// The minimum number of reports before estimates are released is too small.
    #[error("min reports {0} is below the floor of {min}", min = crate::limits::MIN_REPORTS_FLOOR)]
    MinReportsTooSmall(u64),
    /// The Subset Selection set size is outside `1..k`.
    #[error("subset size w = {w} is out of range: 1 <= w < k = {k}")]
    SubsetSizeOutOfRange {
        /// w asked for.
        w: u32,
        /// Domain size.
        k: u32,
    },
    /// RAPPOR settings that cannot work.
    #[error("invalid RAPPOR settings: {0}")]
    InvalidRappor(&'static str),
    /// Numeric-mean settings that cannot work (grid, range).
    #[error("invalid numeric settings: {0}")]
    InvalidNumeric(&'static str),
    /// A numeric mechanism without a numeric domain, or a numeric domain without one.
    #[error("{0}")]
    NumericMismatch(&'static str),
    /// Longitudinal settings that cannot work (ε∞ against ε, hash range).
    #[error("invalid longitudinal settings: {0}")]
    InvalidLongitudinal(&'static str),
    /// A lifetime bound that is not a finite number at least the ε of a device's first
    /// report: no report could ever be sent.
    #[error(
        "max_lifetime_epsilon must be a finite number of at least {first} (the first report's ε); got {limit}"
    )]
    LifetimeEpsilonTooSmall {
        /// The bound given.
        limit: f64,
        /// What one report spends.
        first: f64,
    },
    /// CMS or HCMS settings that cannot work (shape, size).
    #[error("invalid sketch settings: {0}")]
    InvalidSketch(&'static str),
    /// The ε of the integer thresholds a setting would use exceeds the ε it is allowed.
    #[error("these settings give epsilon {computed:.6}, above the configured {configured}")]
    EpsilonExceeded {
        /// ε computed from the thresholds (rounded up).
        computed: f64,
        /// ε configured.
        configured: f64,
    },
    /// The domain is open (no dictionary) but the mechanism needs a fixed domain.
    #[error(
        "{0} needs a fixed domain (range or dictionary); open domains need rappor, cms or hcms"
    )]
    OpenDomainUnsupported(&'static str),
}

/// Why bytes could not be decoded, or a value could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The input is longer than the decoder accepts.
    #[error("input is {len} bytes; at most {max} are accepted")]
    TooLarge {
        /// Input length.
        len: usize,
        /// Byte limit.
        max: usize,
    },
    /// The bytes are not a valid encoding (truncated, bad tag, bad length, invalid UTF-8…).
    #[error("malformed encoding: {0}")]
    Malformed(String),
    /// A valid value was followed by extra bytes.
    #[error("{0} trailing bytes after the encoded value")]
    TrailingBytes(usize),
    /// The bytes decoded, but into something that violates a protocol rule.
    #[error("invalid content: {0}")]
    Invalid(String),
    /// The batch was written in a format version this build does not read.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u16),
    /// Encoding failed (only for values larger than the byte limit).
    #[error("could not encode: {0}")]
    Encode(String),
}

/// Why a report does not fit the campaign it claims to belong to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The report's variant belongs to another mechanism.
    #[error("report variant {found} does not match the campaign's mechanism {expected}")]
    WrongVariant {
        /// Mechanism of the campaign.
        expected: &'static str,
        /// Mechanism of the report.
        found: &'static str,
    },
    /// A reported index is outside the domain (or hash range).
    #[error("reported value {value} is out of range (must be < {bound})")]
    IndexOutOfRange {
        /// Reported value.
        value: u64,
        /// Exclusive upper bound.
        bound: u64,
    },
    /// A bit vector has the wrong number of 64-bit words.
    #[error("bit vector has {found} words; the campaign needs {expected}")]
    WrongBitLength {
        /// Words required.
        expected: usize,
        /// Words received.
        found: usize,
    },
    /// Bits beyond the domain size are set.
    #[error("bits beyond the domain size k are set")]
    PaddingBitsSet,
    /// A set of values has the wrong size.
    #[error("the report holds {found} values; the campaign needs {expected}")]
    WrongSetSize {
        /// Values required.
        expected: usize,
        /// Values received.
        found: usize,
    },
    /// A set of values is not strictly increasing (repeated or unsorted values).
    #[error("the reported values must be strictly increasing")]
    NotStrictlyIncreasing,
}
