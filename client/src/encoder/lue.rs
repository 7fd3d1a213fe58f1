//! L-SUE / L-OUE encoder: a memoized permanent response (PRR) of the one-hot bits per value,
//! and a fresh instantaneous response (IRR) of it per report. Parameters and privacy
//! arithmetic: `ldp_protocol::mechanism::lue`.
//!
//! **Memoization without storage**, as RAPPOR's: a value's PRR is drawn from the PRF stream of
//! the device secret for the campaign and the value (module [`crate::memo`]), so a device gets
//! the same PRR across restarts and keeps nothing but the secret. Both responses are 64-lane
//! Bernoulli draws, exact for the integer thresholds.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use ldp_protocol::mechanism::LongitudinalUnaryParams;
use ldp_protocol::{CampaignConfig, MechanismParams, Report, UnaryReport};
use rand_core::RngCore;

use crate::encoder::Randomizer;
use crate::error::ClientError;
use crate::memo::{DeviceSecret, MemoTag, device_constructors, memo_tag, prf_stream};
use crate::rng::{ProductionRng, bernoulli_lanes};

/// Domain-separation label of the PRF use.
const PERMANENT_LABEL: &[u8] = b"ldp-telemetry lue permanent v1";

/// PRRs kept in memory per encoder; beyond this the cache starts over (outputs never change).
pub const MEMO_CAPACITY: usize = 1024;

/// The bits of the last word that lie inside a k-bit vector.
const fn padding_mask(k: u32) -> u64 {
    match k % 64 {
        0 => u64::MAX,
        used => (1 << used) - 1,
    }
}

/// Writes `bits` randomized into `out`: a 1-bit is 1 with `one / 2^64`, a 0-bit with
/// `zero / 2^64`, padding cleared.
fn respond<R: RngCore + ?Sized>(
    params: &LongitudinalUnaryParams,
    one: u64,
    zero: u64,
    rng: &mut R,
    bits: impl Fn(usize) -> u64,
    out: &mut [u64],
) {
    let last = params.words().saturating_sub(1);
    for (i, word) in out.iter_mut().enumerate() {
        let ones = bernoulli_lanes(rng, one);
        let zeros = bernoulli_lanes(rng, zero);
        let b = bits(i);
        *word = (b & ones) | (!b & zeros);
        if i == last {
            *word &= padding_mask(params.k);
        }
    }
}

/// The PRR of value `index` into `out`, drawn from `rng`.
fn permanent_into<R: RngCore + ?Sized>(
    params: &LongitudinalUnaryParams,
    index: u32,
    rng: &mut R,
    out: &mut [u64],
) {
    let one_hot = |i: usize| {
        if i == (index / 64) as usize {
            1u64 << (index % 64)
        } else {
            0
        }
    };
    respond(
        params,
        params.prr_one.0,
        params.prr_zero.0,
        rng,
        one_hot,
        out,
    );
}

/// A fresh IRR of `prr` into `out`.
fn instantaneous_into<R: RngCore + ?Sized>(
    params: &LongitudinalUnaryParams,
    prr: &[u64],
    rng: &mut R,
    out: &mut [u64],
) {
    let bits = |i: usize| prr.get(i).copied().unwrap_or(0);
    respond(params, params.irr_one.0, params.irr_zero.0, rng, bits, out);
}

/// The randomizer is a device seen once, everything drawn from `rng`: a PRR and an IRR of
/// it. **For simulations**: the distribution of one report is exactly that of a production
/// device's first report of the value. Devices use [`LongitudinalUnaryEncoder`].
impl Randomizer for LongitudinalUnaryParams {
    type Value = u32;
    type Report = UnaryReport;

    fn blank(&self) -> UnaryReport {
        UnaryReport {
            bits: vec![0; self.words()],
        }
    }

    /// Writes the report into `report.bits` (resized to ⌈k/64⌉ words), with a scratch
    /// buffer for the PRR.
    fn encode_into<R: RngCore + ?Sized>(&self, index: &u32, rng: &mut R, report: &mut UnaryReport) {
        let mut prr = vec![0; self.words()];
        permanent_into(self, *index, rng, &mut prr);
        report.bits.resize(self.words(), 0);
        instantaneous_into(self, &prr, rng, &mut report.bits);
    }
}

/// Encodes values of one L-SUE or L-OUE campaign on a device: the PRRs from the device
/// secret, the IRRs from [`ProductionRng`].
///
/// ```
/// use ldp_client::LongitudinalUnaryEncoder;
/// use ldp_client::memo::InMemorySecretStore;
/// use ldp_protocol::{CampaignConfig, Mechanism, MechanismKind, Report};
///
/// let mechanism = Mechanism::with_defaults(MechanismKind::LOue);
/// let config = CampaignConfig::range("level", mechanism, 1.0, 16)?;
/// let mut encoder = LongitudinalUnaryEncoder::new(&config, &mut InMemorySecretStore::default())?;
/// let report = encoder.encode_index(3)?;
/// assert!(matches!(report, Report::LOue(r) if r.bits.len() == 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct LongitudinalUnaryEncoder<R = ProductionRng> {
    config: CampaignConfig,
    params: LongitudinalUnaryParams,
    secret: DeviceSecret,
    memo: BTreeMap<u32, Vec<u64>>,
    rng: R,
}

device_constructors!(LongitudinalUnaryEncoder);

impl<R: RngCore> LongitudinalUnaryEncoder<R> {
    fn with_secret_and_rng(
        config: &CampaignConfig,
        secret: DeviceSecret,
        rng: R,
    ) -> Result<Self, ClientError> {
        let (MechanismParams::LSue(params) | MechanismParams::LOue(params)) = config.params()
        else {
            return Err(ClientError::WrongEncoder(config.params().kind().name()));
        };
        Ok(Self {
            config: config.clone(),
            params: *params,
            secret,
            memo: BTreeMap::new(),
            rng,
        })
    }

    /// The campaign this encoder serves.
    pub fn config(&self) -> &CampaignConfig {
        &self.config
    }

    /// The PRR of the value with index `index < k` on this device: always the same bits.
    pub fn permanent_response(&mut self, index: u32) -> &[u64] {
        if !self.memo.contains_key(&index) && self.memo.len() >= MEMO_CAPACITY {
            self.memo.clear();
        }
        let (params, secret, campaign) = (&self.params, &self.secret, self.config.id().as_str());
        self.memo.entry(index).or_insert_with(|| {
            let mut stream = prf_stream(secret, PERMANENT_LABEL, campaign, &index.to_le_bytes());
            let mut prr = vec![0; params.words()];
            permanent_into(params, index, &mut stream, &mut prr);
            prr
        })
    }

    /// The tag of the permanent response a report of the value with index `index < k` is
    /// drawn from.
    pub fn memo_tag(&self, index: u32) -> Result<MemoTag, ClientError> {
        if index >= self.params.k {
            return Err(ClientError::IndexOutOfRange {
                index,
                k: self.params.k,
            });
        }
        Ok(memo_tag(
            &self.secret,
            PERMANENT_LABEL,
            self.config.id().as_str(),
            &index.to_le_bytes(),
        ))
    }

    /// A report of the value with index `index < k`: its memoized PRR with a fresh IRR.
    pub fn encode_index(&mut self, index: u32) -> Result<Report, ClientError> {
        if index >= self.params.k {
            return Err(ClientError::IndexOutOfRange {
                index,
                k: self.params.k,
            });
        }
        self.permanent_response(index);
        let prr = self.memo.get(&index).map_or(&[][..], Vec::as_slice);
        let mut bits = vec![0; self.params.words()];
        instantaneous_into(&self.params, prr, &mut self.rng, &mut bits);
        let report = UnaryReport { bits };
        Ok(if self.params.optimized {
            Report::LOue(report)
        } else {
            Report::LSue(report)
        })
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
}
