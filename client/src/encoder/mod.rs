//! Encoders: turn a value into a randomized [`Report`], one module per mechanism family.
//!
//! [`Encoder`] is what an app uses: built from a [`CampaignConfig`], it maps strings to indices
//! (out-of-dictionary values to `other`) and draws from [`ProductionRng`]. The per-mechanism
//! functions in [`grr`], [`unary`] and [`local_hash`] are the exact randomizers it calls; the
//! simulator calls them too.

pub mod grr;
pub mod hadamard;
pub mod local_hash;
pub mod numeric;
pub mod rappor;
pub mod sketch;
pub mod subset;
pub mod unary;

use alloc::string::ToString;

use ldp_protocol::mechanism::MechanismParams;
use ldp_protocol::{CampaignConfig, Domain, NumericReport, Report};
use rand_core::RngCore;

use crate::budget::{Accountant, BudgetLedger};
use crate::error::ClientError;
use crate::rng::ProductionRng;

/// The role every mechanism's parameters play on the device: randomize an index.
pub trait Randomizer {
    /// A randomized report of `index` (which must be `< k`).
    fn randomize<R: RngCore + ?Sized>(&self, index: u32, rng: &mut R) -> Report;
}

impl Randomizer for MechanismParams {
    #[inline]
    fn randomize<R: RngCore + ?Sized>(&self, index: u32, rng: &mut R) -> Report {
        match self {
            MechanismParams::Grr(p) => p.randomize(index, rng),
            MechanismParams::Sue(p) | MechanismParams::Oue(p) => {
                unary::encode(p, self.kind(), index, rng)
            }
            MechanismParams::Olh(p) => Report::Olh(local_hash::encode(p, index, rng)),
            MechanismParams::Blh(p) => Report::Blh(local_hash::encode(p, index, rng)),
            MechanismParams::Ss(p) => subset::encode(p, index, rng),
            MechanismParams::Hr(p) => Report::Hr(ldp_protocol::GrrReport {
                value: hadamard::randomize(p, index, rng),
            }),
            // A RAPPOR index stands for the string of its decimal digits, reported by a
            // device seen once (everything drawn from `rng`). Devices use `RapporEncoder`.
            MechanismParams::Rappor(p) => {
                let mut digits = itoa_buffer();
                let text = decimal(index, &mut digits);
                Report::Rappor(rappor::encode_once(p, text, rng))
            }
            // Sketches hash strings; an index stands for its decimal digits, as in a range
            // domain.
            MechanismParams::Cms(p) => {
                let mut digits = itoa_buffer();
                Report::Cms(sketch::encode_cms(p, decimal(index, &mut digits), rng))
            }
            MechanismParams::Hcms(p) => {
                let mut digits = itoa_buffer();
                Report::Hcms(sketch::encode_hcms(p, decimal(index, &mut digits), rng))
            }
            // A numeric mechanism reads the index as a point of a 2^32 grid over [−1, 1):
            // t = index/2^31 − 1.
            MechanismParams::Duchi(p) => Report::Duchi(numeric_report(p, index, rng)),
            MechanismParams::Piecewise(p) => Report::Piecewise(numeric_report(p, index, rng)),
            MechanismParams::Hybrid(p) => Report::Hybrid(numeric_report(p, index, rng)),
        }
    }
}

fn numeric_report<R: RngCore + ?Sized>(
    params: &ldp_protocol::mechanism::NumericParams,
    index: u32,
    rng: &mut R,
) -> NumericReport {
    let t = f64::from(index) / 2_147_483_648.0 - 1.0;
    NumericReport {
        cell: numeric::randomize(params, t, rng),
    }
}

/// A numeric report of `t` for `params` (`None` unless numeric).
fn numeric_of<R: RngCore + ?Sized>(
    params: &MechanismParams,
    t: f64,
    rng: &mut R,
) -> Option<Report> {
    let mut report = |p| NumericReport {
        cell: numeric::randomize(p, t, rng),
    };
    Some(match params {
        MechanismParams::Duchi(p) => Report::Duchi(report(p)),
        MechanismParams::Piecewise(p) => Report::Piecewise(report(p)),
        MechanismParams::Hybrid(p) => Report::Hybrid(report(p)),
        _ => return None,
    })
}

/// The refusal of NaN or an infinity, out of the encoding path.
#[cold]
fn not_finite(value: f64) -> ClientError {
    ClientError::NotFinite(value.to_string())
}

/// The bytes a sketch hashes for `value`: the string itself, or for a range domain the
/// canonical decimal of its index (refused when it is not one).
fn sketch_bytes<'a>(
    config: &CampaignConfig,
    value: &'a str,
    digits: &'a mut [u8; 10],
) -> Result<&'a [u8], ClientError> {
    match config.domain() {
        Domain::Range { .. } => {
            let index = config
                .index_of(value)
                .ok_or_else(|| ClientError::NotInRange(value.to_string()))?;
            Ok(decimal(index, digits))
        }
        Domain::Dictionary { .. } | Domain::Open | Domain::Numeric { .. } => Ok(value.as_bytes()),
    }
}

fn itoa_buffer() -> [u8; 10] {
    [0; 10]
}

/// The decimal digits of `value` in `buffer`.
fn decimal(mut value: u32, buffer: &mut [u8; 10]) -> &[u8] {
    let mut start = buffer.len();
    loop {
        start -= 1;
        if let Some(digit) = buffer.get_mut(start) {
            *digit = b'0' + (value % 10) as u8;
        }
        value /= 10;
        if value == 0 || start == 0 {
            break;
        }
    }
    buffer.get(start..).unwrap_or_default()
}

/// Encodes values of one campaign into randomized reports.
///
/// ```
/// use ldp_client::Encoder;
/// use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, Report};
///
/// let config = CampaignConfig::new(CampaignSpec::new(
///     "fruit",
///     Mechanism::Grr,
///     2.0,
///     Domain::Dictionary { values: vec!["apple".into(), "pear".into()] },
/// ))?;
/// let mut encoder = Encoder::new(&config)?;
/// let report = encoder.encode("kiwi")?; // not in the dictionary: encoded as `other`
/// assert!(matches!(report, Report::Grr(r) if r.value < 3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Encoder<R = ProductionRng> {
    config: CampaignConfig,
    rng: R,
    clamped: u64,
    /// A numeric campaign's (lo, hi, 2/(hi − lo)), computed once.
    numeric: Option<(f64, f64, f64)>,
}

/// `(lo, hi, 2/(hi − lo))` of a numeric campaign.
fn numeric_scale(config: &CampaignConfig) -> Option<(f64, f64, f64)> {
    config
        .numeric_range()
        .map(|(lo, hi)| (lo, hi, 2.0 / (hi - lo)))
}

impl Encoder<ProductionRng> {
    /// An encoder for `config` drawing from ChaCha20 seeded by the operating system.
    /// RAPPOR campaigns are refused: their reports need a device secret
    /// ([`rappor::RapporEncoder`]).
    pub fn new(config: &CampaignConfig) -> Result<Self, ClientError> {
        if let MechanismParams::Rappor(_) = config.params() {
            return Err(ClientError::WrongEncoder(config.params().kind().name()));
        }
        Ok(Self {
            config: config.clone(),
            rng: ProductionRng::from_os()?,
            clamped: 0,
            numeric: numeric_scale(config),
        })
    }
}

impl<R: RngCore> Encoder<R> {
    /// An encoder drawing from a caller-supplied RNG. **For tests and simulations only**: a
    /// predictable RNG voids the privacy guarantee. Apps use [`Encoder::new`].
    pub fn with_simulation_rng(config: &CampaignConfig, rng: R) -> Self {
        Self {
            config: config.clone(),
            rng,
            clamped: 0,
            numeric: numeric_scale(config),
        }
    }

    /// The campaign this encoder serves.
    pub fn config(&self) -> &CampaignConfig {
        &self.config
    }

    /// Encodes a number for a campaign over a numeric domain [lo, hi]. A value outside the
    /// range is clamped to it and counted ([`Encoder::clamped`]); NaN and infinities are
    /// refused.
    ///
    /// ```
    /// use ldp_client::Encoder;
    /// use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism};
    /// use ldp_protocol::mechanism::GridSpec;
    ///
    /// let config = CampaignConfig::new(CampaignSpec::new(
    ///     "volume",
    ///     Mechanism::Hybrid(GridSpec::default()),
    ///     2.0,
    ///     Domain::Numeric { lo: 0.0, hi: 100.0 },
    /// ))?;
    /// let mut encoder = Encoder::new(&config)?;
    /// encoder.encode_number(42.0)?;
    /// encoder.encode_number(250.0)?; // reported as 100
    /// assert_eq!(encoder.clamped(), 1);
    /// assert!(encoder.encode_number(f64::NAN).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn encode_number(&mut self, value: f64) -> Result<Report, ClientError> {
        let t = self.scaled(value)?;
        let params = self.config.params();
        numeric_of(params, t, &mut self.rng)
            .ok_or_else(|| ClientError::NotNumeric(params.kind().name()))
    }

    /// [`Encoder::encode_number`] after charging one report to `accountant` for `epoch`.
    pub fn encode_number_charged<L: BudgetLedger>(
        &mut self,
        accountant: &mut Accountant<L>,
        epoch: u64,
        value: f64,
    ) -> Result<Report, ClientError> {
        if !self.config.params().kind().is_numeric() {
            return Err(ClientError::NotNumeric(self.config.params().kind().name()));
        }
        if !value.is_finite() {
            return Err(not_finite(value));
        }
        accountant.charge(&self.config, epoch)?;
        self.encode_number(value)
    }

    /// How many values [`Encoder::encode_number`] clamped into the campaign's range. Only the
    /// device knows it; reports never say.
    pub fn clamped(&self) -> u64 {
        self.clamped
    }

    /// `value` clamped into the numeric range and scaled to t ∈ [−1, 1].
    #[inline]
    fn scaled(&mut self, value: f64) -> Result<f64, ClientError> {
        let Some((lo, hi, scale)) = self.numeric else {
            return Err(ClientError::NotNumeric(self.config.params().kind().name()));
        };
        if !value.is_finite() {
            return Err(not_finite(value));
        }
        let x = if value < lo {
            self.clamped += 1;
            lo
        } else if value > hi {
            self.clamped += 1;
            hi
        } else {
            value
        };
        Ok(((x - lo) * scale - 1.0).clamp(-1.0, 1.0))
    }

    /// Encodes a string value: a dictionary entry (anything else is encoded as `other`), or a
    /// decimal index for a range domain. The sketches (CMS, HCMS) hash the string itself, so
    /// they take any string for an open or dictionary domain; a numeric campaign parses a
    /// number ([`Encoder::encode_number`]).
    pub fn encode(&mut self, value: &str) -> Result<Report, ClientError> {
        if self.config.params().kind().is_numeric() {
            let number: f64 = value
                .trim()
                .parse()
                .map_err(|_| ClientError::NotInRange(value.to_string()))?;
            return self.encode_number(number);
        }
        if let Some(report) = self.encode_sketch(value)? {
            return Ok(report);
        }
        let index = self
            .config
            .index_of(value)
            .ok_or_else(|| ClientError::NotInRange(value.to_string()))?;
        Ok(self.config.params().randomize(index, &mut self.rng))
    }

    /// A sketch report of `value` (`None` for the other mechanisms). A range domain's value
    /// must be one of its indices, hashed as its canonical decimal digits.
    fn encode_sketch(&mut self, value: &str) -> Result<Option<Report>, ClientError> {
        let params = match self.config.params() {
            MechanismParams::Cms(p) | MechanismParams::Hcms(p) => *p,
            _ => return Ok(None),
        };
        let mut digits = itoa_buffer();
        let bytes = sketch_bytes(&self.config, value, &mut digits)?;
        Ok(Some(if params.hadamard {
            Report::Hcms(sketch::encode_hcms(&params, bytes, &mut self.rng))
        } else {
            Report::Cms(sketch::encode_cms(&params, bytes, &mut self.rng))
        }))
    }

    /// [`Encoder::encode`] into a reused report: a CMS report keeps its words, so a loop of
    /// encodes allocates nothing once the report has its shape. Other mechanisms overwrite it.
    pub fn encode_into(&mut self, value: &str, report: &mut Report) -> Result<(), ClientError> {
        if let (MechanismParams::Cms(p), Report::Cms(r)) = (self.config.params(), &mut *report) {
            let mut digits = itoa_buffer();
            let bytes = sketch_bytes(&self.config, value, &mut digits)?;
            sketch::encode_cms_into(p, bytes, &mut self.rng, r);
            return Ok(());
        }
        *report = self.encode(value)?;
        Ok(())
    }

    /// Encodes a value by its index `< k`.
    pub fn encode_index(&mut self, index: u32) -> Result<Report, ClientError> {
        let k = self.config.k();
        if index >= k {
            return Err(ClientError::IndexOutOfRange { index, k });
        }
        if self.sketches_labels() {
            let label = self.config.label(index);
            return self.encode(&label);
        }
        Ok(self.config.params().randomize(index, &mut self.rng))
    }

    /// Whether indices stand for dictionary strings that a sketch hashes.
    fn sketches_labels(&self) -> bool {
        matches!(self.config.domain(), Domain::Dictionary { .. })
            && matches!(
                self.config.params(),
                MechanismParams::Cms(_) | MechanismParams::Hcms(_)
            )
    }

    /// Encodes a value by its index `< k` into `report`, reusing its allocation when it already
    /// holds a report of this campaign's shape (a unary bit vector of the right length). The
    /// draws, and so the report, are exactly those of [`Encoder::encode_index`]; this is for
    /// callers that encode many reports in a loop, such as the simulator.
    pub fn encode_index_into(
        &mut self,
        index: u32,
        report: &mut Report,
    ) -> Result<(), ClientError> {
        let k = self.config.k();
        if index >= k {
            return Err(ClientError::IndexOutOfRange { index, k });
        }
        if self.sketches_labels() {
            *report = self.encode_index(index)?;
            return Ok(());
        }
        match (self.config.params(), report) {
            (MechanismParams::Grr(p), Report::Grr(r)) => {
                r.value = grr::randomize_index(p.keep.0, p.k, index, &mut self.rng);
            }
            (MechanismParams::Sue(p), Report::Sue(r))
            | (MechanismParams::Oue(p), Report::Oue(r))
                if r.bits.len() == p.words() =>
            {
                unary::encode_into(p, index, &mut self.rng, &mut r.bits);
            }
            (MechanismParams::Cms(p), Report::Cms(r)) => {
                let mut digits = itoa_buffer();
                sketch::encode_cms_into(p, decimal(index, &mut digits), &mut self.rng, r);
            }
            (params, slot) => *slot = params.randomize(index, &mut self.rng),
        }
        Ok(())
    }

    /// Charges one report to `accountant` for `epoch`, then encodes `value`. Nothing is charged
    /// if the value is refused; nothing is encoded if the budget is spent.
    pub fn encode_charged<L: BudgetLedger>(
        &mut self,
        accountant: &mut Accountant<L>,
        epoch: u64,
        value: &str,
    ) -> Result<Report, ClientError> {
        if self.config.params().kind().takes_candidates() {
            return self.encode_sketch_charged(accountant, epoch, value);
        }
        let index = self
            .config
            .index_of(value)
            .ok_or_else(|| ClientError::NotInRange(value.to_string()))?;
        accountant.charge(&self.config, epoch)?;
        Ok(self.config.params().randomize(index, &mut self.rng))
    }

    /// [`Encoder::encode_charged`] for any string: what the sketches of an open or dictionary
    /// domain report.
    fn encode_sketch_charged<L: BudgetLedger>(
        &mut self,
        accountant: &mut Accountant<L>,
        epoch: u64,
        value: &str,
    ) -> Result<Report, ClientError> {
        if let Domain::Range { .. } = self.config.domain()
            && self.config.index_of(value).is_none()
        {
            return Err(ClientError::NotInRange(value.to_string()));
        }
        accountant.charge(&self.config, epoch)?;
        self.encode(value)
    }

    /// Whether this campaign maps unknown strings to an `other` bucket.
    pub fn has_other_bucket(&self) -> bool {
        matches!(self.config.domain(), Domain::Dictionary { .. })
    }
}
