//! L-SUE / L-OUE counters: SUE's and OUE's unary counters (module `unary`) over the
//! longitudinal parameters, whose (p, q) are those of the two chained responses, with the same
//! honest-range filter (a fresh device's bits are independent, with that p and q). Fold O(k/64)
//! words per report; estimate O(k). Math: `ldp_protocol::mechanism::lue`.

use ldp_protocol::PureParams;
use ldp_protocol::mechanism::LongitudinalUnaryParams;

use super::unary::{UnaryCounters, UnaryShape};

impl UnaryShape for LongitudinalUnaryParams {
    fn words(&self) -> usize {
        LongitudinalUnaryParams::words(self)
    }

    fn plausible(&self, bits: &[u64]) -> bool {
        LongitudinalUnaryParams::plausible(self, bits)
    }

    fn counted(&self) -> PureParams {
        LongitudinalUnaryParams::counted(self)
    }
}

/// Longitudinal unary counters: per value, how many reports set its bit.
pub type LongitudinalUnaryCounters = UnaryCounters<LongitudinalUnaryParams>;
