//! dBitFlip encoders. Points, thresholds, memoization and variance:
//! `ldp_protocol::mechanism::dbitflip`.
//!
//! Everything a device draws is drawn once: its rounding offset α, its d sampled points, and
//! one response (d bits) per case — its rounded value is the i-th sampled point, or none of
//! them. [`DBitFlipEncoder`] derives all of it from the device secret with the PRF, so a
//! device repeats the same report for as long as its rounded value stays in one case; the
//! [`Randomizer`] is a device seen once, drawing everything from `rng` (for simulations).

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use ldp_protocol::math::TWO_POW_64;
use ldp_protocol::mechanism::DBitFlipParams;
use ldp_protocol::{CampaignConfig, DBitFlipReport, MechanismParams, Report};
use rand_core::RngCore;

use crate::encoder::Randomizer;
use crate::error::ClientError;
use crate::memo::{DeviceSecret, MemoTag, SecretStore, memo_tag, prf_stream};
use crate::rng::uniform_below;

/// Domain-separation labels of the PRF uses.
const SAMPLE_LABEL: &[u8] = b"ldp-telemetry dbitflip sample v1";
const RESPONSE_LABEL: &[u8] = b"ldp-telemetry dbitflip response v1";

/// Draws α and the d sampled points (strictly increasing, into `points`) from `rng`: Floyd's
/// algorithm, so every d-subset of the k points is equally likely.
fn sample_into<R: RngCore + ?Sized>(
    params: &DBitFlipParams,
    rng: &mut R,
    points: &mut Vec<u32>,
) -> u64 {
    let alpha = rng.next_u64();
    points.clear();
    for j in params.points - params.sampled..params.points {
        let t = uniform_below(rng, j + 1);
        points.push(if points.contains(&t) { j } else { t });
    }
    points.sort_unstable();
    alpha
}

/// The point t ∈ [−1, 1] rounds to for offset α: the upper neighbour when the fraction
/// exceeds α (as a 64-bit threshold, truncated), else the lower one.
fn rounded(params: &DBitFlipParams, t: f64, alpha: u64) -> u32 {
    let (lower, fraction) = params.bracket(if t.is_nan() { 0.0 } else { t });
    // Saturates at 2^64 − 1 for a fraction of 1: off by 2^-64 at the top point only.
    let up = (fraction * TWO_POW_64) as u64;
    if alpha < up { lower + 1 } else { lower }
}

/// The case of `point` among the sampled `points`: its position, or d for none of them.
fn case_of(points: &[u32], point: u32) -> u32 {
    points
        .binary_search(&point)
        .map_or(points.len() as u32, |i| i as u32)
}

/// The d bits of case `case`: bit i is 1 with probability p when i is the case, q = 1 − p
/// otherwise (one draw against the threshold each: below it, or not below it).
fn response<R: RngCore + ?Sized>(params: &DBitFlipParams, case: u32, rng: &mut R) -> u64 {
    let mut bits = 0;
    for i in 0..params.sampled {
        let below = rng.next_u64() < params.keep.0;
        if below == (i == case) {
            bits |= 1 << i;
        }
    }
    bits
}

/// dBitFlip's randomizer is a device seen once, everything drawn from `rng`: α, the sample and
/// the bits. **For simulations**: one report's distribution is exactly a production device's
/// first report's, without the PRF's cost. Devices use [`DBitFlipEncoder`], which memoizes.
impl Randomizer for DBitFlipParams {
    /// t ∈ [−1, 1] (clamped; NaN counts as 0).
    type Value = f64;
    type Report = DBitFlipReport;

    #[inline]
    fn blank(&self) -> DBitFlipReport {
        DBitFlipReport {
            points: vec![0; self.sampled as usize],
            bits: 0,
        }
    }

    #[inline]
    fn encode_into<R: RngCore + ?Sized>(&self, t: &f64, rng: &mut R, report: &mut DBitFlipReport) {
        let alpha = sample_into(self, rng, &mut report.points);
        let case = case_of(&report.points, rounded(self, *t, alpha));
        report.bits = response(self, case, rng);
    }
}

/// Encodes numbers of one dBitFlip campaign on a device: α, the sample and every response
/// from the device secret, so the same case always gets the same report.
///
/// ```
/// use ldp_client::DBitFlipEncoder;
/// use ldp_client::memo::InMemorySecretStore;
/// use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, MechanismKind};
///
/// let spec = CampaignSpec::new(
///     "volume",
///     Mechanism::with_defaults(MechanismKind::DBitFlip),
///     1.0,
///     Domain::Numeric { lo: 0.0, hi: 100.0 },
/// );
/// let config = CampaignConfig::new(spec)?;
/// let mut encoder = DBitFlipEncoder::new(&config, &mut InMemorySecretStore::default())?;
/// // A device that keeps its value repeats its report exactly.
/// assert_eq!(encoder.encode_number(42.0)?, encoder.encode_number(42.0)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct DBitFlipEncoder {
    config: CampaignConfig,
    params: DBitFlipParams,
    secret: DeviceSecret,
    /// The range, for scaling numbers to t.
    range: (f64, f64),
    alpha: u64,
    points: Vec<u32>,
    /// Responses drawn so far, by case (at most d + 1).
    memo: BTreeMap<u32, u64>,
}

impl DBitFlipEncoder {
    /// An encoder for `config` with the device secret from `store` (created on first use).
    pub fn new<S: SecretStore + ?Sized>(
        config: &CampaignConfig,
        store: &mut S,
    ) -> Result<Self, ClientError> {
        Self::with_secret(config, store.load_or_create()?)
    }

    /// An encoder for `config` with a given device secret (its store's, or a simulated
    /// device's).
    pub fn with_secret(config: &CampaignConfig, secret: DeviceSecret) -> Result<Self, ClientError> {
        let MechanismParams::DBitFlip(params) = config.params() else {
            return Err(ClientError::WrongEncoder(config.params().kind().name()));
        };
        let range = config
            .numeric_range()
            .ok_or(ClientError::WrongEncoder(config.params().kind().name()))?;
        let mut stream = prf_stream(&secret, SAMPLE_LABEL, config.id().as_str(), &[]);
        let mut points = Vec::with_capacity(params.sampled as usize);
        let alpha = sample_into(params, &mut stream, &mut points);
        Ok(Self {
            config: config.clone(),
            params: *params,
            secret,
            range,
            alpha,
            points,
            memo: BTreeMap::new(),
        })
    }

    /// The campaign this encoder serves.
    pub fn config(&self) -> &CampaignConfig {
        &self.config
    }

    /// This device's sampled points: the same in every report.
    pub fn points(&self) -> &[u32] {
        &self.points
    }

    /// The case of number `x`: the position of its rounded point among the sampled ones, or d.
    fn case(&self, x: f64) -> Result<u32, ClientError> {
        if !x.is_finite() {
            return Err(ClientError::NotFinite(alloc::format!("{x}")));
        }
        let (lo, hi) = self.range;
        let t = (2.0 * (x - lo) / (hi - lo) - 1.0).clamp(-1.0, 1.0);
        Ok(case_of(&self.points, rounded(&self.params, t, self.alpha)))
    }

    /// The tag of the response a report of `x` repeats.
    pub fn memo_tag(&self, x: f64) -> Result<MemoTag, ClientError> {
        let case = self.case(x)?;
        Ok(memo_tag(
            &self.secret,
            RESPONSE_LABEL,
            self.config.id().as_str(),
            &case.to_le_bytes(),
        ))
    }

    /// A report of the number `x` (clamped into the campaign's range): the device's points
    /// and its case's memoized bits.
    pub fn encode_number(&mut self, x: f64) -> Result<Report, ClientError> {
        let case = self.case(x)?;
        let (params, secret, campaign) = (&self.params, &self.secret, self.config.id().as_str());
        let bits = *self.memo.entry(case).or_insert_with(|| {
            let mut stream = prf_stream(secret, RESPONSE_LABEL, campaign, &case.to_le_bytes());
            response(params, case, &mut stream)
        });
        Ok(Report::DBitFlip(DBitFlipReport {
            points: self.points.clone(),
            bits,
        }))
    }
}
