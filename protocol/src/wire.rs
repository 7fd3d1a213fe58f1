//! The one place bytes are made and read: bincode 2.0.1 through serde, little-endian,
//! fixed-width integers.
//!
//! bincode is pinned (3.0.0 is a deliberate compile error) and marked unmaintained
//! (RUSTSEC-2025-0141); nothing else in the workspace names it, so swapping the format means
//! changing this module only.
//!
//! Decoding is total: inputs above [`MAX_DECODE_BYTES`] are refused before reading, the decoder's
//! allocation limit is scaled to the input (at most a small multiple of its length), sequences
//! grow only as elements actually decode, trailing bytes are an error, and every failure is a
//! typed [`WireError`].

use alloc::string::ToString;
use alloc::vec::Vec;
use core::marker::PhantomData;

use serde::de::{DeserializeOwned, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::campaign::CampaignSpec;
use crate::error::WireError;
use crate::report::{Batch, FORMAT_VERSION};

/// Largest input [`decode`] accepts: 16 MiB.
pub const MAX_DECODE_BYTES: usize = 16 << 20;

/// Elements a sequence reserves before any of them has decoded.
const PREALLOCATED_ELEMENTS: usize = 16;

fn base_config() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Fixint,
    bincode::config::NoLimit,
> {
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
}

/// Encodes `value` in the wire format.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, WireError> {
    bincode::serde::encode_to_vec(value, base_config())
        .map_err(|e| WireError::Encode(e.to_string()))
}

/// Decodes exactly one `T` from `bytes`: refuses oversized input and trailing bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    if bytes.len() > MAX_DECODE_BYTES {
        return Err(WireError::TooLarge {
            len: bytes.len(),
            max: MAX_DECODE_BYTES,
        });
    }
    // bincode's limit caps what a length prefix may claim (strings allocate their claimed
    // length up front). Legitimate input claims at most its own length, so a limit of about
    // twice the input keeps any allocation within a small multiple of the input.
    let budget = bytes.len().saturating_mul(2).saturating_add(64);
    let result = if budget <= 1 << 12 {
        decode_limited::<T, { 1 << 12 }>(bytes)
    } else if budget <= 1 << 16 {
        decode_limited::<T, { 1 << 16 }>(bytes)
    } else if budget <= 1 << 20 {
        decode_limited::<T, { 1 << 20 }>(bytes)
    } else if budget <= 1 << 23 {
        decode_limited::<T, { 1 << 23 }>(bytes)
    } else {
        decode_limited::<T, { 2 * MAX_DECODE_BYTES }>(bytes)
    };
    let (value, used) = result?;
    if used != bytes.len() {
        return Err(WireError::TrailingBytes(bytes.len() - used));
    }
    Ok(value)
}

fn decode_limited<T: DeserializeOwned, const LIMIT: usize>(
    bytes: &[u8],
) -> Result<(T, usize), WireError> {
    bincode::serde::decode_from_slice(bytes, base_config().with_limit::<LIMIT>())
        .map_err(|e| WireError::Malformed(e.to_string()))
}

/// Decodes a [`Batch`] and checks its format version. Whether it fits a campaign is the
/// caller's next step ([`crate::Report::check`], digest, epoch window).
pub fn decode_batch(bytes: &[u8]) -> Result<Batch, WireError> {
    let batch: Batch = decode(bytes)?;
    if batch.version != FORMAT_VERSION {
        return Err(WireError::UnsupportedVersion(batch.version));
    }
    Ok(batch)
}

/// The config digest: xxh3-64 of the canonical encoding of the normalized spec, without the
/// final `None` byte of an absent `max_lifetime_epsilon` (the last field), so that a
/// campaign without a lifetime bound has the digest it had before the field existed.
pub(crate) fn digest(spec: &CampaignSpec) -> u64 {
    // Every field of a spec has a known length, so encoding cannot fail; an error would leave
    // the digest of nothing.
    let bytes = bincode::serde::encode_to_vec(spec, base_config()).unwrap_or_default();
    let covered = match spec.max_lifetime_epsilon {
        None => bytes.len().saturating_sub(1),
        Some(_) => bytes.len(),
    };
    twox_hash::XxHash3_64::oneshot_with_seed(0, bytes.get(..covered).unwrap_or_default())
}

/// `deserialize_with` for vectors read from untrusted input: reserves a few elements and grows
/// only as elements decode, so a huge length prefix cannot make a large allocation.
pub(crate) fn bounded_vec<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct BoundedVec<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for BoundedVec<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("a sequence")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let hint = seq.size_hint().unwrap_or(0).min(PREALLOCATED_ELEMENTS);
            let mut out = Vec::with_capacity(hint);
            while let Some(element) = seq.next_element()? {
                out.push(element);
            }
            Ok(out)
        }
    }

    deserializer.deserialize_seq(BoundedVec(PhantomData))
}
