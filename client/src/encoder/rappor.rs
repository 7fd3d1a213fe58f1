//! RAPPOR encoder: cohort, Bloom filter, memoized permanent randomized response (PRR), and a
//! fresh instantaneous randomized response (IRR) per report. Parameters and privacy
//! arithmetic: `ldp_protocol::mechanism::rappor`.
//!
//! **Memoization without storage.** The PRR of a value is derived from the device secret
//! ([`DeviceSecret`]) with a PRF (`prf_stream`): HMAC-SHA256 keyed by the secret over the
//! campaign id and the value gives a 32-byte seed, and ChaCha20 from that seed draws the PRR's
//! bits. The same
//! device reporting the same value in the same campaign therefore always gets the same PRR,
//! across restarts, and only the secret is kept ([`crate::memo::SecretStore`]). The cohort
//! is derived the same way, once per (device, campaign). An in-memory cache of recent PRRs
//! saves the HMAC on repeated values; it changes no output.
//!
//! Every draw is exact for the integer thresholds: a PRR bit is replaced with probability f
//! (threshold 2·t_{f/2}) by a fair coin, so it becomes 1 with probability exactly f/2 and 0
//! with probability f/2; an IRR bit is 1 with probability q or p (thresholds) by 64-lane
//! Bernoulli draws ([`crate::rng::bernoulli_lanes`]).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use ldp_protocol::mechanism::rappor::bloom_filter_into;
use ldp_protocol::mechanism::{MechanismParams, RapporParams};
use ldp_protocol::{CampaignConfig, RapporReport, Report};
use rand_core::RngCore;

use crate::budget::{Accountant, BudgetLedger};
use crate::encoder::Randomizer;
use crate::error::ClientError;
use crate::memo::{DeviceSecret, MemoTag, device_constructors, memo_tag, prf_stream};
use crate::rng::{ProductionRng, bernoulli_lanes, uniform_below};

/// PRRs kept in memory per encoder; beyond this the cache starts over (outputs never change).
pub const MEMO_CAPACITY: usize = 1024;

/// Domain-separation labels of the two PRF uses.
const COHORT_LABEL: &[u8] = b"ldp-telemetry rappor cohort v1";
const PRR_LABEL: &[u8] = b"ldp-telemetry rappor prr v1";

/// The device's cohort in `campaign`: uniform in `0..cohorts`, fixed by the secret.
pub fn device_cohort(secret: &DeviceSecret, campaign: &str, cohorts: u32) -> u32 {
    uniform_below(
        &mut prf_stream(secret, COHORT_LABEL, campaign, &[]),
        cohorts,
    )
}

/// Writes the PRR of the Bloom filter `bloom` into `out`, drawing from `rng` (the PRF stream
/// in production; any RNG in simulations).
pub fn permanent_response_into<R: RngCore + ?Sized>(
    params: &RapporParams,
    rng: &mut R,
    bloom: &[u64],
    out: &mut [u64],
) {
    // f = 2·t_{f/2} / 2^64 < 1 (validated), so the doubled threshold fits in a u64.
    let replace = params.flip_half.0.saturating_mul(2);
    let last = params.words().saturating_sub(1);
    for (i, (prr, &bits)) in out.iter_mut().zip(bloom).enumerate() {
        let replaced = bernoulli_lanes(rng, replace);
        let coin = rng.next_u64();
        let mut word = (bits & !replaced) | (coin & replaced);
        if i == last {
            word &= padding_mask(params.bloom_bits);
        }
        *prr = word;
    }
}

/// Writes a fresh IRR of the PRR `prr` into `out`: bit i is 1 with probability q where the
/// PRR bit is 1 and p where it is 0.
#[inline]
pub fn instantaneous_response_into<R: RngCore + ?Sized>(
    params: &RapporParams,
    rng: &mut R,
    prr: &[u64],
    out: &mut [u64],
) {
    let last = params.words().saturating_sub(1);
    for (i, (irr, &bits)) in out.iter_mut().zip(prr).enumerate() {
        let ones = bernoulli_lanes(rng, params.q.0);
        let zeros = bernoulli_lanes(rng, params.p.0);
        let mut word = (bits & ones) | (!bits & zeros);
        if i == last {
            word &= padding_mask(params.bloom_bits);
        }
        *irr = word;
    }
}

/// The bits of the last word that lie inside an m-bit filter.
#[inline]
const fn padding_mask(bloom_bits: u32) -> u64 {
    match bloom_bits % 64 {
        0 => u64::MAX,
        used => (1 << used) - 1,
    }
}

/// RAPPOR's randomizer is a device seen once, everything drawn from `rng`: a uniform cohort,
/// the Bloom filter of the value's bytes, a PRR and an IRR. **For simulations**: the
/// distribution of one report is exactly that of a production device's first report, without
/// the PRF's cost. Devices use [`RapporEncoder`], which memoizes the PRR.
impl Randomizer for RapporParams {
    /// The bytes hashed into the Bloom filter.
    type Value = [u8];
    type Report = RapporReport;

    fn blank(&self) -> RapporReport {
        RapporReport {
            cohort: 0,
            bits: vec![0; self.words()],
        }
    }

    /// Writes the report into `report` (its words resized to [`RapporParams::words`]), with a
    /// fresh scratch buffer for the PRR; [`encode_once_into`] takes the buffer instead.
    fn encode_into<R: RngCore + ?Sized>(
        &self,
        value: &[u8],
        rng: &mut R,
        report: &mut RapporReport,
    ) {
        let mut scratch = vec![0; self.words()];
        report.bits.resize(self.words(), 0);
        encode_once_into(self, value, rng, report, &mut scratch);
    }
}

/// A report from a device seen once: [`Randomizer::encode`] of RAPPOR's parameters.
pub fn encode_once<R: RngCore + ?Sized>(
    params: &RapporParams,
    value: &[u8],
    rng: &mut R,
) -> RapporReport {
    params.encode(value, rng)
}

/// [`encode_once`] into a reused report and a scratch buffer, each of
/// [`RapporParams::words`] words: no allocation.
pub fn encode_once_into<R: RngCore + ?Sized>(
    params: &RapporParams,
    value: &[u8],
    rng: &mut R,
    report: &mut RapporReport,
    scratch: &mut [u64],
) {
    report.cohort = uniform_below(rng, params.cohorts);
    bloom_filter_into(params, value, report.cohort, &mut report.bits);
    permanent_response_into(params, rng, &report.bits, scratch);
    instantaneous_response_into(params, rng, scratch, &mut report.bits);
}

/// Encodes string values of one RAPPOR campaign on a device: cohort and PRRs from the device
/// secret, IRRs from [`ProductionRng`].
///
/// ```
/// use ldp_client::RapporEncoder;
/// use ldp_client::memo::InMemorySecretStore;
/// use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, MechanismKind, Report};
///
/// let config = CampaignConfig::new(CampaignSpec::new(
///     "home-page",
///     Mechanism::with_defaults(MechanismKind::Rappor),
///     1.0,
///     Domain::Open,
/// ))?;
/// let mut encoder = RapporEncoder::new(&config, &mut InMemorySecretStore::default())?;
/// let report = encoder.encode("https://example.com/")?;
/// assert!(matches!(report, Report::Rappor(r) if r.bits.len() == 2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RapporEncoder<R = ProductionRng> {
    config: CampaignConfig,
    params: RapporParams,
    secret: DeviceSecret,
    cohort: u32,
    memo: BTreeMap<String, Vec<u64>>,
    rng: R,
}

device_constructors!(RapporEncoder);

impl<R: RngCore> RapporEncoder<R> {
    fn with_secret_and_rng(
        config: &CampaignConfig,
        secret: DeviceSecret,
        rng: R,
    ) -> Result<Self, ClientError> {
        let MechanismParams::Rappor(params) = config.params() else {
            return Err(ClientError::WrongEncoder(config.params().kind().name()));
        };
        let params = params.clone();
        let cohort = device_cohort(&secret, config.id().as_str(), params.cohorts);
        Ok(Self {
            config: config.clone(),
            params,
            secret,
            cohort,
            memo: BTreeMap::new(),
            rng,
        })
    }

    /// The campaign this encoder serves.
    pub fn config(&self) -> &CampaignConfig {
        &self.config
    }

    /// This device's cohort in the campaign.
    pub fn cohort(&self) -> u32 {
        self.cohort
    }

    /// The tag of the permanent response a report of `value` is drawn from.
    pub fn memo_tag(&self, value: &str) -> MemoTag {
        memo_tag(
            &self.secret,
            PRR_LABEL,
            self.config.id().as_str(),
            value.as_bytes(),
        )
    }

    /// The permanent randomized response of `value` on this device: always the same bits.
    pub fn permanent_response(&mut self, value: &str) -> &[u64] {
        if !self.memo.contains_key(value) {
            if self.memo.len() >= MEMO_CAPACITY {
                self.memo.clear();
            }
            let mut bloom = vec![0; self.params.words()];
            bloom_filter_into(&self.params, value.as_bytes(), self.cohort, &mut bloom);
            let mut stream = prf_stream(
                &self.secret,
                PRR_LABEL,
                self.config.id().as_str(),
                value.as_bytes(),
            );
            let mut prr = vec![0; self.params.words()];
            permanent_response_into(&self.params, &mut stream, &bloom, &mut prr);
            self.memo.insert(value.into(), prr);
        }
        self.memo.get(value).map_or(&[], Vec::as_slice)
    }

    /// A report of `value` (any string; for a range domain, the decimal index): the memoized
    /// PRR with a fresh IRR.
    pub fn encode(&mut self, value: &str) -> Result<Report, ClientError> {
        let mut report = RapporReport {
            cohort: self.cohort,
            bits: vec![0; self.params.words()],
        };
        self.encode_into(value, &mut report);
        Ok(Report::Rappor(report))
    }

    /// [`RapporEncoder::encode`] into a reused report: no allocation once `value`'s PRR is
    /// cached.
    pub fn encode_into(&mut self, value: &str, report: &mut RapporReport) {
        self.permanent_response(value);
        let prr = self.memo.get(value).map_or(&[][..], Vec::as_slice);
        report.cohort = self.cohort;
        report.bits.resize(self.params.words(), 0);
        instantaneous_response_into(&self.params, &mut self.rng, prr, &mut report.bits);
    }

    /// Charges one report to `accountant` for `epoch`, then encodes `value`.
    pub fn encode_charged<L: BudgetLedger>(
        &mut self,
        accountant: &mut Accountant<L>,
        epoch: u64,
        value: &str,
    ) -> Result<Report, ClientError> {
        accountant.charge(&self.config, epoch)?;
        self.encode(value)
    }
}
