//! Encoders: turn a value into a randomized [`Report`], one module per mechanism family.
//!
//! Each family's file implements [`Randomizer`] for its parameters from `ldp-protocol`: the
//! value it randomizes (an index `< k`, bytes to hash, or a number scaled to [−1, 1]) and the
//! report it writes (the payload of its [`Report`] variant). [`Encoder`] is what an app uses:
//! built from a [`CampaignConfig`], it makes an app's input into the family's value (strings
//! through the domain, out-of-dictionary values to `other`), draws from [`ProductionRng`], and
//! reaches the family's randomizer through one match over [`MechanismParams`] (the
//! `randomizers!` table below). Adding a mechanism adds its file and one line to that table.

pub mod dbitflip;
pub mod grr;
pub mod hadamard;
mod input;
pub mod local_hash;
pub mod loloha;
pub mod lue;
pub mod numeric;
pub mod rappor;
pub mod sketch;
pub mod subset;
pub mod unary;

use ldp_protocol::mechanism::MechanismParams;
use ldp_protocol::{CampaignConfig, Domain, Report};
use rand_core::RngCore;

use crate::budget::{Accountant, BudgetLedger};
use crate::error::ClientError;
use crate::rng::ProductionRng;
use input::{FromInput, Input, Plan};

/// The role every mechanism plays on the device: randomize a value into a report.
///
/// ```
/// use ldp_client::Randomizer;
/// use ldp_protocol::mechanism::GrrParams;
/// use rand_chacha::ChaCha20Rng;
/// use rand_core::SeedableRng;
///
/// let params = GrrParams::new(1.0, 16)?;
/// let mut rng = ChaCha20Rng::from_seed([1; 32]); // a simulation: devices use the OS
/// let mut report = params.encode(&3, &mut rng);
/// assert!(report.value < 16);
/// params.encode_into(&5, &mut rng, &mut report); // reuses the report
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Randomizer {
    /// What the mechanism randomizes: `u32` (an index `< k`, which the caller has checked),
    /// `[u8]` (bytes it hashes) or `f64` (a number scaled to t ∈ [−1, 1]).
    type Value: ?Sized;
    /// The report it writes: the payload of its [`Report`] variant.
    type Report;

    /// A report of this campaign's shape (vectors at their length) to encode into.
    fn blank(&self) -> Self::Report;

    /// Randomizes `value` into `report`, drawing from `rng`. The report is overwritten; its
    /// allocation is reused when it already has this campaign's shape, so a loop of encodes
    /// into one report allocates nothing (Subset Selection and RAPPOR's one-shot reports
    /// still take a scratch buffer).
    fn encode_into<R: RngCore + ?Sized>(
        &self,
        value: &Self::Value,
        rng: &mut R,
        report: &mut Self::Report,
    );

    /// A fresh report of `value`: the draws of [`Randomizer::encode_into`].
    #[inline]
    fn encode<R: RngCore + ?Sized>(&self, value: &Self::Value, rng: &mut R) -> Self::Report {
        let mut report = self.blank();
        self.encode_into(value, rng, &mut report);
        report
    }
}

/// The variant of [`Report`] that holds a family's reports (payloads of type `T`): the
/// `randomizers!` table makes one per line ([`variant`]).
trait Variant<T> {
    /// The payload of `report` if it is this variant.
    fn payload<'r>(&self, report: &'r mut Report) -> Option<&'r mut T>;

    /// The report of `payload`.
    fn wrap(&self, payload: T) -> Report;

    /// Randomizes `value` into `report`: into its payload when it is this variant already
    /// (reusing its allocation), else into a blank of the campaign's shape that replaces it.
    #[inline(always)]
    fn encode<P, R>(&self, randomizer: &P, value: &P::Value, rng: &mut R, report: &mut Report)
    where
        P: Randomizer<Report = T>,
        R: RngCore,
    {
        if let Some(payload) = self.payload(report) {
            randomizer.encode_into(value, rng, payload);
        } else {
            let mut payload = randomizer.blank();
            randomizer.encode_into(value, rng, &mut payload);
            *report = self.wrap(payload);
        }
    }
}

/// A [`Variant`] of its projection and its constructor.
#[inline(always)]
fn variant<T>(
    payload: impl for<'r> Fn(&'r mut Report) -> Option<&'r mut T>,
    wrap: impl Fn(T) -> Report,
) -> impl Variant<T> {
    struct Parts<F, W>(F, W);
    impl<T, F, W> Variant<T> for Parts<F, W>
    where
        F: for<'r> Fn(&'r mut Report) -> Option<&'r mut T>,
        W: Fn(T) -> Report,
    {
        #[inline(always)]
        fn payload<'r>(&self, report: &'r mut Report) -> Option<&'r mut T> {
            (self.0)(report)
        }

        #[inline(always)]
        fn wrap(&self, payload: T) -> Report {
            (self.1)(payload)
        }
    }
    Parts(payload, wrap)
}

/// One encoding step (one input, or a block of indices), run with the family's randomizer
/// and the variant of [`Report`] that holds its reports.
trait Step {
    /// What the step returns: nothing (it encodes into reports it was given) or a new report.
    type Output;

    fn run<P: Randomizer>(
        self,
        randomizer: &P,
        variant: impl Variant<P::Report>,
    ) -> Result<Self::Output, ClientError>
    where
        P::Value: FromInput;
}

/// The one dispatch from a campaign's parameters to its family's randomizer: one line per
/// [`MechanismParams`] variant, naming the randomizer for its parameters `$p`. `dispatch`
/// runs a [`Step`] with that randomizer and its [`Report`] variant.
macro_rules! randomizers {
    ($($variant:ident($p:ident) => $randomizer:expr,)*) => {
        #[inline(always)]
        fn dispatch<S: Step>(params: &MechanismParams, step: S) -> Result<S::Output, ClientError> {
            match params {
                $(MechanismParams::$variant($p) => step.run(
                    $randomizer,
                    variant(
                        |report| match report {
                            Report::$variant(payload) => Some(payload),
                            _ => None,
                        },
                        Report::$variant,
                    ),
                ),)*
            }
        }
    };
}

randomizers! {
    Grr(p) => p,
    Sue(p) => p,
    Oue(p) => p,
    Olh(p) => p,
    Blh(p) => p,
    Ss(p) => p,
    Hr(p) => p,
    Rappor(p) => p,
    Cms(p) => &sketch::Cms(p),
    Hcms(p) => &sketch::Hcms(p),
    Duchi(p) => p,
    Piecewise(p) => p,
    Hybrid(p) => p,
    Loloha(p) => p,
    LSue(p) => p,
    LOue(p) => p,
    DBitFlip(p) => p,
}

/// Encoding an app's input into `report`: made into the randomizer's value (or refused, the
/// report left as it was), then `before` (the budget charge, or nothing), then the draws.
struct Encode<'a, R, B> {
    input: Input<'a>,
    config: &'a CampaignConfig,
    plan: &'a Plan,
    rng: &'a mut R,
    clamped: &'a mut u64,
    report: &'a mut Report,
    before: B,
}

impl<R, B> Step for Encode<'_, R, B>
where
    R: RngCore,
    B: FnOnce(&CampaignConfig) -> Result<(), ClientError>,
{
    type Output = ();

    #[inline(always)]
    fn run<P: Randomizer>(
        self,
        randomizer: &P,
        variant: impl Variant<P::Report>,
    ) -> Result<(), ClientError>
    where
        P::Value: FromInput,
    {
        let Self {
            input,
            config,
            plan,
            rng,
            clamped,
            report,
            before,
        } = self;
        let (value, was_clamped) = P::Value::from_input(input, config, plan)?;
        before(config)?;
        *clamped += u64::from(was_clamped);
        variant.encode(randomizer, P::Value::get(&value), rng, report);
        Ok(())
    }
}

/// Encoding an app's input into a new report: as [`Encode`], but the family's report is made
/// directly, not written over a placeholder.
struct EncodeNew<'a, R, B> {
    input: Input<'a>,
    config: &'a CampaignConfig,
    plan: &'a Plan,
    rng: &'a mut R,
    clamped: &'a mut u64,
    before: B,
}

impl<R, B> Step for EncodeNew<'_, R, B>
where
    R: RngCore,
    B: FnOnce(&CampaignConfig) -> Result<(), ClientError>,
{
    type Output = Report;

    #[inline(always)]
    fn run<P: Randomizer>(
        self,
        randomizer: &P,
        variant: impl Variant<P::Report>,
    ) -> Result<Report, ClientError>
    where
        P::Value: FromInput,
    {
        let Self {
            input,
            config,
            plan,
            rng,
            clamped,
            before,
        } = self;
        let (value, was_clamped) = P::Value::from_input(input, config, plan)?;
        before(config)?;
        *clamped += u64::from(was_clamped);
        Ok(variant.wrap(randomizer.encode(P::Value::get(&value), rng)))
    }
}

/// Encoding a block of indices, each into its report, in order: the indices checked against
/// k before (by [`Encoder::encode_indices_into`]), the family found once, then one loop of
/// draws.
struct EncodeIndices<'a, R> {
    indices: &'a [u32],
    reports: &'a mut [Report],
    config: &'a CampaignConfig,
    plan: &'a Plan,
    rng: &'a mut R,
}

impl<R: RngCore> Step for EncodeIndices<'_, R> {
    type Output = ();

    #[inline(always)]
    fn run<P: Randomizer>(
        self,
        randomizer: &P,
        variant: impl Variant<P::Report>,
    ) -> Result<(), ClientError>
    where
        P::Value: FromInput,
    {
        let Self {
            indices,
            reports,
            config,
            plan,
            rng,
        } = self;
        for (&index, report) in indices.iter().zip(reports) {
            let value = P::Value::from_index(index, config, plan)?;
            variant.encode(randomizer, P::Value::get(&value), rng, report);
        }
        Ok(())
    }
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
    /// What the input conversions read, decided once from `config`.
    plan: Plan,
    rng: R,
    clamped: u64,
}

impl Encoder<ProductionRng> {
    /// An encoder for `config` drawing from ChaCha20 seeded by the operating system.
    /// Memoized mechanisms are refused: their reports need a device secret
    /// ([`rappor::RapporEncoder`], [`loloha::LolohaEncoder`],
    /// [`lue::LongitudinalUnaryEncoder`]).
    pub fn new(config: &CampaignConfig) -> Result<Self, ClientError> {
        if config.params().memoized() {
            return Err(ClientError::WrongEncoder(config.params().kind().name()));
        }
        Ok(Self::with_simulation_rng(config, ProductionRng::from_os()?))
    }
}

impl<R: RngCore> Encoder<R> {
    /// An encoder drawing from a caller-supplied RNG. **For tests and simulations only**: a
    /// predictable RNG voids the privacy guarantee. Apps use [`Encoder::new`].
    pub fn with_simulation_rng(config: &CampaignConfig, rng: R) -> Self {
        Self {
            config: config.clone(),
            plan: Plan::new(config),
            rng,
            clamped: 0,
        }
    }

    /// The campaign this encoder serves.
    pub fn config(&self) -> &CampaignConfig {
        &self.config
    }

    /// Encodes `input` into `report` after `before` accepts (nothing is drawn otherwise);
    /// nothing is called or drawn if the input is refused.
    #[inline(always)]
    fn encode_input_into(
        &mut self,
        input: Input<'_>,
        report: &mut Report,
        before: impl FnOnce(&CampaignConfig) -> Result<(), ClientError>,
    ) -> Result<(), ClientError> {
        let step = Encode {
            input,
            config: &self.config,
            plan: &self.plan,
            rng: &mut self.rng,
            clamped: &mut self.clamped,
            report,
            before,
        };
        dispatch(self.config.params(), step)
    }

    /// [`Encoder::encode_input_into`], into a new report.
    /// Always inlined, so that each public method keeps only the arms its input reaches: as one
    /// shared call the input and the report went through memory, three times slower for a
    /// number (`ldp-sim run --mechanism numeric`).
    #[inline(always)]
    fn encode_input(
        &mut self,
        input: Input<'_>,
        before: impl FnOnce(&CampaignConfig) -> Result<(), ClientError>,
    ) -> Result<Report, ClientError> {
        let step = EncodeNew {
            input,
            config: &self.config,
            plan: &self.plan,
            rng: &mut self.rng,
            clamped: &mut self.clamped,
            before,
        };
        dispatch(self.config.params(), step)
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
        self.encode_input(Input::Number(value), |_| Ok(()))
    }

    /// [`Encoder::encode_number`] into a reused report: the draws, and so the report, are
    /// exactly those of [`Encoder::encode_number`]; a refused value leaves the report as it
    /// was. For callers that encode many numbers in a loop, such as the simulator.
    #[inline]
    pub fn encode_number_into(
        &mut self,
        value: f64,
        report: &mut Report,
    ) -> Result<(), ClientError> {
        self.encode_input_into(Input::Number(value), report, |_| Ok(()))
    }

    /// [`Encoder::encode_number`] after charging one report to `accountant` for `epoch`.
    /// Nothing is charged if the value is refused.
    pub fn encode_number_charged<L: BudgetLedger>(
        &mut self,
        accountant: &mut Accountant<L>,
        epoch: u64,
        value: f64,
    ) -> Result<Report, ClientError> {
        self.encode_input(Input::Number(value), |config| {
            accountant
                .charge(config, epoch)
                .map(drop)
                .map_err(Into::into)
        })
    }

    /// How many values [`Encoder::encode_number`] clamped into the campaign's range. Only the
    /// device knows it; reports never say.
    pub fn clamped(&self) -> u64 {
        self.clamped
    }

    /// Encodes a string value: a dictionary entry (anything else is encoded as `other`), or a
    /// decimal index for a range domain. RAPPOR and the sketches (CMS, HCMS) hash the string
    /// itself, so they take any string for an open or dictionary domain (a range domain's
    /// value is hashed as the canonical decimal of its index); a numeric campaign parses a
    /// number ([`Encoder::encode_number`]).
    pub fn encode(&mut self, value: &str) -> Result<Report, ClientError> {
        self.encode_input(Input::Str(value), |_| Ok(()))
    }

    /// [`Encoder::encode`] into a reused report: the draws, and so the report, are exactly
    /// those of [`Encoder::encode`], and a report that already has this campaign's shape keeps
    /// its allocation, so a loop of encodes allocates nothing. A refused value leaves the report
    /// as it was.
    pub fn encode_into(&mut self, value: &str, report: &mut Report) -> Result<(), ClientError> {
        self.encode_input_into(Input::Str(value), report, |_| Ok(()))
    }

    /// Encodes a value by its index `< k` (a dictionary's `other` is index k − 1). RAPPOR and
    /// the sketches hash the dictionary entry, or for other domains the index's decimal digits.
    pub fn encode_index(&mut self, index: u32) -> Result<Report, ClientError> {
        self.encode_input(Input::Index(index), |_| Ok(()))
    }

    /// Encodes a value by its index `< k` into `report`, reusing its allocation when it already
    /// holds a report of this campaign's shape (for example a unary bit vector of the right
    /// length). The draws, and so the report, are exactly those of [`Encoder::encode_index`];
    /// this is for callers that encode many reports in a loop, such as the simulator.
    #[inline]
    pub fn encode_index_into(
        &mut self,
        index: u32,
        report: &mut Report,
    ) -> Result<(), ClientError> {
        self.encode_input_into(Input::Index(index), report, |_| Ok(()))
    }

    /// Encodes a block of values by their indices `< k`, `indices[i]` into `reports[i]`, in
    /// order: the draws, and so the reports, are exactly those of [`Encoder::encode_index`] on
    /// each index in turn, and a report that already has this campaign's shape keeps its
    /// allocation. The indices are checked and the mechanism found once for the block, so the
    /// draws run in one loop; this is for callers that encode many reports, such as the
    /// simulator. Nothing is drawn, and no report changed, if an index is out of range or the
    /// slices differ in length.
    ///
    /// ```
    /// use ldp_client::Encoder;
    /// use ldp_protocol::{CampaignConfig, GrrReport, Mechanism, Report};
    ///
    /// let config = CampaignConfig::range("level", Mechanism::Grr, 2.0, 8)?;
    /// let mut encoder = Encoder::new(&config)?;
    /// let mut reports = vec![Report::Grr(GrrReport { value: 0 }); 3];
    /// encoder.encode_indices_into(&[1, 7, 2], &mut reports)?;
    /// assert!(encoder.encode_indices_into(&[1, 8, 2], &mut reports).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encode_indices_into(
        &mut self,
        indices: &[u32],
        reports: &mut [Report],
    ) -> Result<(), ClientError> {
        if indices.len() != reports.len() {
            return Err(ClientError::LengthMismatch {
                values: indices.len(),
                reports: reports.len(),
            });
        }
        self.plan.check_all(indices)?;
        let step = EncodeIndices {
            indices,
            reports,
            config: &self.config,
            plan: &self.plan,
            rng: &mut self.rng,
        };
        dispatch(self.config.params(), step)
    }

    /// Charges one report to `accountant` for `epoch`, then encodes `value` as
    /// [`Encoder::encode`] does. Nothing is charged if the value is refused; nothing is encoded
    /// if the budget is spent.
    pub fn encode_charged<L: BudgetLedger>(
        &mut self,
        accountant: &mut Accountant<L>,
        epoch: u64,
        value: &str,
    ) -> Result<Report, ClientError> {
        self.encode_input(Input::Str(value), |config| {
            accountant
                .charge(config, epoch)
                .map(drop)
                .map_err(Into::into)
        })
    }

    /// Whether this campaign maps unknown strings to an `other` bucket.
    pub fn has_other_bucket(&self) -> bool {
        matches!(self.config.domain(), Domain::Dictionary { .. })
    }
}
