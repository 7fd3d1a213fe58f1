//! The one trait every mechanism family implements ([`MechanismFamily`]), and the checked
//! reports it hands out ([`CheckedReports`]): reports that passed their family's check, so
//! that whatever folds them cannot fail.
//!
//! The parameter types of `grr.rs`, `unary.rs`, `local_hash.rs`, `subset.rs`, `hadamard.rs`,
//! `rappor.rs`, `sketch.rs`, `numeric.rs`, `loloha.rs` and `lue.rs` implement it; [`super::MechanismParams`] and
//! [`Report`] dispatch to it in one generated match each (module [`super`]).

use core::marker::PhantomData;

use crate::error::ReportError;
use crate::math::{LikelihoodRatio, PureParams};
use crate::mechanism::{Mechanism, MechanismKind};
use crate::report::Report;

/// One mechanism family's validated parameters: what every role asks of a mechanism.
///
/// Construction from an operator's spec is each type's own constructor (the specs differ);
/// everything after it goes through this trait.
pub trait MechanismFamily: Sized {
    /// The mechanism (SUE and OUE share unary parameters; the parameters know which).
    fn kind(&self) -> MechanismKind;

    /// The mechanism with every default resolved: this form goes into the canonical encoding.
    fn resolved(&self) -> Mechanism;

    /// Domain size k (0 for an open or numeric domain).
    fn k(&self) -> u32;

    /// The exact (p, q) from the thresholds actually used (see
    /// [`super::MechanismParams::pure`] for what it means for RAPPOR and the numeric
    /// mechanisms).
    fn pure(&self) -> PureParams;

    /// The worst-case likelihood ratio of one report as exact integers; `None` when it is not
    /// one ratio (RAPPOR).
    fn likelihood_ratio(&self) -> Option<LikelihoodRatio>;

    /// The effective ε of one report, rounded up: what a privacy-budget accountant charges.
    fn epsilon_upper_bound(&self) -> f64 {
        self.likelihood_ratio()
            .map_or(f64::INFINITY, |r| r.epsilon_upper_bound())
    }

    /// Whether a device's reports depend on state it keeps across reports (a memoized
    /// permanent response); such a mechanism needs a device secret to encode.
    fn memoized(&self) -> bool {
        false
    }

    /// For a memoized mechanism, ε∞ rounded up from the thresholds: the bound on everything
    /// one device's reports reveal about one value, however many it sends (RAPPOR: per value;
    /// LOLOHA: per hashed bucket, so per value too). `None` for the others.
    fn epsilon_permanent(&self) -> Option<f64> {
        None
    }

    /// Encoded size of one report in bytes (bincode, fixed-width integers, with the enum tag).
    fn report_bytes(&self) -> usize;

    /// The family's rule: the report is of this mechanism's variant, its indices in range,
    /// its bit vectors of the exact length with zero padding, its sets of the right size.
    fn check_report(&self, report: &Report) -> Result<(), ReportError>;

    /// Checks one report: a batch of one.
    fn check<'a>(&self, report: &'a Report) -> Result<CheckedReports<'a, Self>, ReportError> {
        self.check_report(report)?;
        Ok(CheckedReports {
            reports: core::slice::from_ref(report),
            family: PhantomData,
        })
    }

    /// Checks every report; on the first error, its index and the reason.
    fn check_all<'a>(
        &self,
        reports: &'a [Report],
    ) -> Result<CheckedReports<'a, Self>, (usize, ReportError)> {
        for (index, report) in reports.iter().enumerate() {
            self.check_report(report)
                .map_err(|source| (index, source))?;
        }
        Ok(CheckedReports {
            reports,
            family: PhantomData,
        })
    }
}

/// [`ReportError::WrongVariant`] for a report of another mechanism than `params`'.
pub(crate) fn wrong_variant(params: &impl MechanismFamily, report: &Report) -> ReportError {
    ReportError::WrongVariant {
        expected: params.kind().name(),
        found: report.kind().name(),
    }
}

/// Reports that all passed [`MechanismFamily::check_all`] for one campaign of family `F`:
/// folding them cannot fail. Only the check makes one.
#[derive(Debug)]
pub struct CheckedReports<'a, F> {
    reports: &'a [Report],
    family: PhantomData<F>,
}

// Copied whatever `F` is: only the reference is copied.
impl<F> Clone for CheckedReports<'_, F> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<F> Copy for CheckedReports<'_, F> {}

impl<'a, F: MechanismFamily> CheckedReports<'a, F> {
    /// Number of reports.
    pub fn len(&self) -> usize {
        self.reports.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.reports.is_empty()
    }

    /// The checked payloads of type `R`, in order: every report yields one when `R` is the
    /// payload of `F`'s variant (the check saw to it).
    pub fn iter<R: Payload + 'a>(&self) -> impl Iterator<Item = &'a R> + use<'a, F, R> {
        self.reports.iter().filter_map(R::of)
    }
}

/// A payload type of [`Report`] variants: how to find it in a report.
pub trait Payload {
    /// The payload of `report` if its variant carries this type.
    fn of(report: &Report) -> Option<&Self>;
}

/// Refuses `value >= bound`.
pub(crate) fn check_index(value: u32, bound: u32) -> Result<(), ReportError> {
    if value < bound {
        Ok(())
    } else {
        Err(ReportError::IndexOutOfRange {
            value: u64::from(value),
            bound: u64::from(bound),
        })
    }
}

/// Refuses a set that is not w strictly increasing values below k.
pub(crate) fn check_subset(values: &[u32], w: u32, k: u32) -> Result<(), ReportError> {
    if values.len() != w as usize {
        return Err(ReportError::WrongSetSize {
            expected: w as usize,
            found: values.len(),
        });
    }
    if let Some(&last) = values.last() {
        check_index(last, k)?;
    }
    if values
        .iter()
        .zip(values.iter().skip(1))
        .any(|(a, b)| a >= b)
    {
        return Err(ReportError::NotStrictlyIncreasing);
    }
    Ok(())
}

/// Refuses a bit vector of other than `words` words, or with bits set at or beyond `k`.
pub(crate) fn check_bits(bits: &[u64], words: usize, k: u32) -> Result<(), ReportError> {
    if bits.len() != words {
        return Err(ReportError::WrongBitLength {
            expected: words,
            found: bits.len(),
        });
    }
    let used = k % 64;
    if used != 0
        && let Some(last) = bits.last()
        && last >> used != 0
    {
        return Err(ReportError::PaddingBitsSet);
    }
    Ok(())
}
