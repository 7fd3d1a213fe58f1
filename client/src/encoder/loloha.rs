//! LOLOHA encoder: the device's fixed hash, a memoized permanent response per bucket, and a
//! fresh instantaneous response per report. Parameters and privacy arithmetic:
//! `ldp_protocol::mechanism::loloha`.
//!
//! **Memoization without storage**, as RAPPOR's: the device's hash seed and the permanent
//! response of each bucket are derived from the device secret with the PRF of
//! [`crate::memo`] (keyed by the campaign id, and for a permanent response by the bucket), so
//! a device gets the same ones across restarts and keeps nothing but the secret. Each is one
//! randomized response over the g buckets (`randomize_index` of the GRR encoder), drawn exactly for the
//! integer thresholds.

use alloc::collections::BTreeMap;

use ldp_protocol::mechanism::LolohaParams;
use ldp_protocol::mechanism::local_hash::bucket;
use ldp_protocol::{CampaignConfig, LocalHashReport, MechanismParams, Report};
use rand_core::RngCore;

use crate::budget::{Accountant, BudgetLedger};
use crate::encoder::Randomizer;
use crate::encoder::grr::randomize_index;
use crate::error::ClientError;
use crate::memo::{DeviceSecret, MemoTag, device_constructors, memo_tag, prf_stream};
use crate::rng::ProductionRng;

/// Domain-separation labels of the two PRF uses.
const SEED_LABEL: &[u8] = b"ldp-telemetry loloha seed v1";
const PERMANENT_LABEL: &[u8] = b"ldp-telemetry loloha permanent v1";

/// LOLOHA's randomizer is a device seen once, everything drawn from `rng`: a fresh seed, the
/// bucket's permanent response and an instantaneous one. **For simulations**: the
/// distribution of one report is exactly that of a production device's first report, without
/// the PRF's cost. Devices use [`LolohaEncoder`], which memoizes.
impl Randomizer for LolohaParams {
    type Value = u32;
    type Report = LocalHashReport;

    #[inline]
    fn blank(&self) -> LocalHashReport {
        LocalHashReport { seed: 0, value: 0 }
    }

    #[inline]
    fn encode_into<R: RngCore + ?Sized>(
        &self,
        index: &u32,
        rng: &mut R,
        report: &mut LocalHashReport,
    ) {
        let seed = rng.next_u64();
        let permanent = randomize_index(
            self.keep_permanent.0,
            self.g,
            bucket(seed, *index, self.g),
            rng,
        );
        report.seed = seed;
        report.value = randomize_index(self.keep_instant.0, self.g, permanent, rng);
    }
}

/// Encodes values of one LOLOHA campaign on a device: the hash seed and the permanent
/// responses from the device secret, the instantaneous responses from [`ProductionRng`].
///
/// ```
/// use ldp_client::LolohaEncoder;
/// use ldp_client::memo::InMemorySecretStore;
/// use ldp_protocol::{CampaignConfig, Mechanism, MechanismKind, Report};
///
/// let config = CampaignConfig::range("level", Mechanism::with_defaults(MechanismKind::Loloha), 1.0, 16)?;
/// let mut encoder = LolohaEncoder::new(&config, &mut InMemorySecretStore::default())?;
/// let first = encoder.encode_index(3)?;
/// let again = encoder.encode_index(3)?;
/// // The same device keeps its hash: both reports carry its seed.
/// assert!(matches!((first, again), (Report::Loloha(a), Report::Loloha(b)) if a.seed == b.seed));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct LolohaEncoder<R = ProductionRng> {
    config: CampaignConfig,
    params: LolohaParams,
    secret: DeviceSecret,
    seed: u64,
    /// Permanent responses computed so far, by bucket (at most g entries).
    memo: BTreeMap<u32, u32>,
    rng: R,
}

device_constructors!(LolohaEncoder);

impl<R: RngCore> LolohaEncoder<R> {
    fn with_secret_and_rng(
        config: &CampaignConfig,
        secret: DeviceSecret,
        rng: R,
    ) -> Result<Self, ClientError> {
        let MechanismParams::Loloha(params) = config.params() else {
            return Err(ClientError::WrongEncoder(config.params().kind().name()));
        };
        let seed = prf_stream(&secret, SEED_LABEL, config.id().as_str(), &[]).next_u64();
        Ok(Self {
            config: config.clone(),
            params: *params,
            secret,
            seed,
            memo: BTreeMap::new(),
            rng,
        })
    }

    /// The campaign this encoder serves.
    pub fn config(&self) -> &CampaignConfig {
        &self.config
    }

    /// This device's hash seed in the campaign: the same in every report.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The permanent response of bucket `x < g` on this device: always the same bucket.
    pub fn permanent_response(&mut self, x: u32) -> u32 {
        let (params, secret, campaign) = (&self.params, &self.secret, self.config.id().as_str());
        *self.memo.entry(x).or_insert_with(|| {
            let mut stream = prf_stream(secret, PERMANENT_LABEL, campaign, &x.to_le_bytes());
            randomize_index(params.keep_permanent.0, params.g, x, &mut stream)
        })
    }

    /// The tag of the permanent response a report of the value with index `index < k` is
    /// drawn from: its bucket's, so values hashed to one bucket share it.
    pub fn memo_tag(&self, index: u32) -> Result<MemoTag, ClientError> {
        if index >= self.params.k {
            return Err(ClientError::IndexOutOfRange {
                index,
                k: self.params.k,
            });
        }
        let x = bucket(self.seed, index, self.params.g);
        Ok(memo_tag(
            &self.secret,
            PERMANENT_LABEL,
            self.config.id().as_str(),
            &x.to_le_bytes(),
        ))
    }

    /// A report of the value with index `index < k`: its bucket's memoized permanent response
    /// with a fresh instantaneous response.
    pub fn encode_index(&mut self, index: u32) -> Result<Report, ClientError> {
        if index >= self.params.k {
            return Err(ClientError::IndexOutOfRange {
                index,
                k: self.params.k,
            });
        }
        let permanent = self.permanent_response(bucket(self.seed, index, self.params.g));
        Ok(Report::Loloha(LocalHashReport {
            seed: self.seed,
            value: randomize_index(
                self.params.keep_instant.0,
                self.params.g,
                permanent,
                &mut self.rng,
            ),
        }))
    }

    /// A report of a string value: a dictionary entry (anything else is `other`) or a range
    /// domain's decimal index.
    pub fn encode(&mut self, value: &str) -> Result<Report, ClientError> {
        let index = self
            .config
            .index_of(value)
            .ok_or_else(|| ClientError::NotInRange(value.into()))?;
        self.encode_index(index)
    }

    /// Charges one report to `accountant` for `epoch`, then encodes the value with index
    /// `index`. Nothing is charged if the index is refused.
    pub fn encode_index_charged<L: BudgetLedger>(
        &mut self,
        accountant: &mut Accountant<L>,
        epoch: u64,
        index: u32,
    ) -> Result<Report, ClientError> {
        if index >= self.params.k {
            return Err(ClientError::IndexOutOfRange {
                index,
                k: self.params.k,
            });
        }
        accountant.charge(&self.config, epoch)?;
        self.encode_index(index)
    }
}
