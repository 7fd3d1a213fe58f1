//! GRR counters: one counter per value; a report increments the counter of its index.
//! Fold O(1); estimate O(k). Math: `ldp_protocol::mechanism::grr`.

use ldp_protocol::GrrReport;

/// Folds one (checked) GRR report.
#[inline]
pub(crate) fn fold(counts: &mut [u64], report: &GrrReport) {
    if let Some(c) = counts.get_mut(report.value as usize) {
        *c += 1;
    }
}
