//! The device secret behind memoization (RAPPOR's and LOLOHA's permanent responses), and
//! where it is kept.
//!
//! A permanent randomized response must stay the same for as long as a device reports the
//! same value, or averaging its reports would reveal the value. The memoizing encoders derive
//! it from one 32-byte [`DeviceSecret`] with a PRF (`prf_stream`), so the secret is the only
//! state to keep. A [`SecretStore`] loads it, creating it from the operating
//! system's randomness on first use: [`InMemorySecretStore`] for tests and short-lived
//! processes, [`FileSecretStore`] (with `std`) for apps, written atomically.
//!
//! Losing the secret gives the device new PRRs (weaker longitudinal protection for values it
//! reported before); it never corrupts reports.

use hmac::{Hmac, Mac};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sha2::Sha256;

use crate::error::ClientError;

/// A device's 32-byte secret key for the PRF. Its `Debug` output never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceSecret([u8; 32]);

impl DeviceSecret {
    /// Length in bytes.
    pub const LEN: usize = 32;

    /// A secret from its bytes (for a store's own format).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh secret from the operating system's randomness.
    pub fn generate() -> Result<Self, ClientError> {
        let mut rng =
            rand_chacha::ChaCha20Rng::try_from_os_rng().map_err(|_| ClientError::Randomness)?;
        let mut bytes = [0; 32];
        rng.fill_bytes(&mut bytes);
        Ok(Self(bytes))
    }

    /// The key bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl core::fmt::Debug for DeviceSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("DeviceSecret(..)")
    }
}

/// The PRF behind every memoized draw: HMAC-SHA256(secret, label ‖ len(campaign) ‖ campaign ‖
/// value) as a ChaCha20 seed. The label separates the uses (each encoder's own constants).
pub(crate) fn prf_stream(
    secret: &DeviceSecret,
    label: &[u8],
    campaign: &str,
    value: &[u8],
) -> ChaCha20Rng {
    // HMAC accepts keys of any length, so this cannot fail; the fallback is unreachable.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return ChaCha20Rng::from_seed(*secret.as_bytes()),
    };
    mac.update(label);
    mac.update(&(campaign.len() as u64).to_le_bytes());
    mac.update(campaign.as_bytes());
    mac.update(value);
    ChaCha20Rng::from_seed(mac.finalize().into_bytes().into())
}

/// A device's name for one of its permanent responses in a campaign: two reports carry the
/// same tag exactly when they are drawn from the same permanent response, which is what the
/// lifetime privacy bound counts ([`LifetimeSpend`](ldp_protocol::LifetimeSpend)). The tag is
/// keyed by the device secret, so a stored tag does not show the value it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemoTag(pub [u8; 16]);

/// The tag of the permanent response drawn under `label` for `value` (the first 16 bytes of a
/// PRF stream of its own label, so it reveals nothing of the response).
pub(crate) fn memo_tag(
    secret: &DeviceSecret,
    label: &[u8],
    campaign: &str,
    value: &[u8],
) -> MemoTag {
    let mut keyed = alloc::vec::Vec::with_capacity(TAG_LABEL.len() + label.len());
    keyed.extend_from_slice(TAG_LABEL);
    keyed.extend_from_slice(label);
    let mut tag = [0; 16];
    prf_stream(secret, &keyed, campaign, value).fill_bytes(&mut tag);
    MemoTag(tag)
}

/// Prefix of the labels of [`memo_tag`].
const TAG_LABEL: &[u8] = b"ldp-telemetry memo tag v1 / ";

/// The two public constructors of a memoizing encoder `$encoder<R>`, which has its own
/// `fn with_secret_and_rng(config, secret, rng: R)`: `new` (the device secret from a store,
/// the fresh draws from the operating system) for apps, `with_simulation_rng` for tests and
/// simulations.
macro_rules! device_constructors {
    ($encoder:ident) => {
        impl $encoder<$crate::rng::ProductionRng> {
            /// An encoder for `config` with the device secret from `store` (created on first
            /// use) and its fresh draws from ChaCha20 seeded by the operating system.
            pub fn new<S: $crate::memo::SecretStore + ?Sized>(
                config: &ldp_protocol::CampaignConfig,
                store: &mut S,
            ) -> Result<Self, $crate::error::ClientError> {
                let secret = store.load_or_create()?;
                Self::with_secret_and_rng(config, secret, $crate::rng::ProductionRng::from_os()?)
            }
        }

        impl<R: rand_core::RngCore> $encoder<R> {
            /// An encoder with a given secret and a caller-supplied generator for its fresh
            /// draws. **For tests and simulations only**: apps use `new`.
            pub fn with_simulation_rng(
                config: &ldp_protocol::CampaignConfig,
                secret: $crate::memo::DeviceSecret,
                rng: R,
            ) -> Result<Self, $crate::error::ClientError> {
                Self::with_secret_and_rng(config, secret, rng)
            }
        }
    };
}

pub(crate) use device_constructors;

/// Where a device keeps its secret.
pub trait SecretStore {
    /// The stored secret, or a new one (stored before it is returned) if there is none.
    fn load_or_create(&mut self) -> Result<DeviceSecret, ClientError>;
}

/// A secret that lives as long as the store: each new store is a new device.
#[derive(Debug, Clone, Default)]
pub struct InMemorySecretStore {
    secret: Option<DeviceSecret>,
}

impl InMemorySecretStore {
    /// A store holding `secret`.
    pub fn with_secret(secret: DeviceSecret) -> Self {
        Self {
            secret: Some(secret),
        }
    }
}

impl SecretStore for InMemorySecretStore {
    fn load_or_create(&mut self) -> Result<DeviceSecret, ClientError> {
        if let Some(secret) = &self.secret {
            return Ok(secret.clone());
        }
        let secret = DeviceSecret::generate()?;
        self.secret = Some(secret.clone());
        Ok(secret)
    }
}

#[cfg(feature = "std")]
pub use file::FileSecretStore;

#[cfg(feature = "std")]
mod file {
    use std::fs;
    use std::io::Write;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU64, Ordering};

    use alloc::format;

    use super::{DeviceSecret, SecretStore};
    use crate::error::ClientError;

    /// The secret in a file of exactly 32 bytes, created with mode 0600 (on Unix) and written
    /// atomically: a temporary file in the same directory, synced, then linked to the path
    /// only if no file is there yet (renamed over it where the file system has no hard links),
    /// and the directory synced. A crash leaves either no file or the whole secret, and when
    /// several threads or processes create the secret at once, all of them end up with the one
    /// that was stored first.
    #[derive(Debug, Clone)]
    pub struct FileSecretStore {
        path: PathBuf,
    }

    impl FileSecretStore {
        /// A store at `path` (the file is created on first use).
        pub fn new(path: impl Into<PathBuf>) -> Self {
            Self { path: path.into() }
        }

        /// The file's path.
        pub fn path(&self) -> &Path {
            &self.path
        }

        fn error(&self, what: &str, e: impl core::fmt::Display) -> ClientError {
            ClientError::SecretStore(format!("{what} {}: {e}", self.path.display()))
        }

        /// Stores `secret` unless a secret is already there; false when one was.
        fn write_new(&self, secret: &DeviceSecret) -> Result<bool, ClientError> {
            static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);
            let dir = match self.path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let mut tmp = self.path.clone().into_os_string();
            // Unique per process and per call: concurrent writers never share a temporary file.
            tmp.push(format!(
                ".tmp-{}-{}",
                std::process::id(),
                NEXT_TEMP.fetch_add(1, Ordering::Relaxed)
            ));
            let tmp = PathBuf::from(tmp);
            let mut options = fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(&tmp)
                .map_err(|e| self.error("cannot create", e))?;
            file.write_all(secret.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| self.error("cannot write", e))?;
            drop(file);
            // A hard link creates the path only if it does not exist yet: the first writer wins.
            let stored = match fs::hard_link(&tmp, &self.path) {
                Ok(()) => {
                    let _ = fs::remove_file(&tmp);
                    true
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let _ = fs::remove_file(&tmp);
                    return Ok(false);
                }
                // No hard links on this file system: an atomic rename (the last writer wins).
                Err(_) => {
                    fs::rename(&tmp, &self.path)
                        .map_err(|e| self.error("cannot rename into", e))?;
                    true
                }
            };
            // Make the new name durable; some platforms cannot open a directory, which is fine.
            if let Ok(dir) = fs::File::open(&dir) {
                let _ = dir.sync_all();
            }
            Ok(stored)
        }

        fn read(&self) -> Result<Option<DeviceSecret>, ClientError> {
            match fs::read(&self.path) {
                Ok(bytes) => {
                    let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                        self.error(
                            "is not a device secret (expected exactly 32 bytes):",
                            format!("{} bytes", bytes.len()),
                        )
                    })?;
                    Ok(Some(DeviceSecret::from_bytes(bytes)))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(self.error("cannot read", e)),
            }
        }
    }

    impl SecretStore for FileSecretStore {
        fn load_or_create(&mut self) -> Result<DeviceSecret, ClientError> {
            if let Some(secret) = self.read()? {
                return Ok(secret);
            }
            let secret = DeviceSecret::generate()?;
            if self.write_new(&secret)? {
                return Ok(secret);
            }
            // Another writer stored its secret first: use that one.
            self.read()?
                .ok_or_else(|| self.error("vanished while being created:", "no file"))
        }
    }
}
