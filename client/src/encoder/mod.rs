//! Encoders: turn a value into a randomized [`Report`], one module per mechanism family.
//!
//! [`Encoder`] is what an app uses: built from a [`CampaignConfig`], it maps strings to indices
//! (out-of-dictionary values to `other`) and draws from [`ProductionRng`]. The per-mechanism
//! functions in [`grr`], [`unary`] and [`local_hash`] are the exact randomizers it calls; the
//! simulator calls them too.

pub mod grr;
pub mod hadamard;
pub mod local_hash;
pub mod rappor;
pub mod subset;
pub mod unary;

use alloc::string::ToString;

use ldp_protocol::mechanism::MechanismParams;
use ldp_protocol::{CampaignConfig, Domain, Report};
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
        }
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
        }
    }

    /// The campaign this encoder serves.
    pub fn config(&self) -> &CampaignConfig {
        &self.config
    }

    /// Encodes a string value: a dictionary entry (anything else is encoded as `other`), or a
    /// decimal index for a range domain.
    pub fn encode(&mut self, value: &str) -> Result<Report, ClientError> {
        let index = self
            .config
            .index_of(value)
            .ok_or_else(|| ClientError::NotInRange(value.to_string()))?;
        Ok(self.config.params().randomize(index, &mut self.rng))
    }

    /// Encodes a value by its index `< k`.
    pub fn encode_index(&mut self, index: u32) -> Result<Report, ClientError> {
        let k = self.config.k();
        if index >= k {
            return Err(ClientError::IndexOutOfRange { index, k });
        }
        Ok(self.config.params().randomize(index, &mut self.rng))
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
        let index = self
            .config
            .index_of(value)
            .ok_or_else(|| ClientError::NotInRange(value.to_string()))?;
        accountant.charge(&self.config, epoch)?;
        Ok(self.config.params().randomize(index, &mut self.rng))
    }

    /// Whether this campaign maps unknown strings to an `other` bucket.
    pub fn has_other_bucket(&self) -> bool {
        matches!(self.config.domain(), Domain::Dictionary { .. })
    }
}
