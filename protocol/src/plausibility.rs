//! Honest ranges: how many ones an honest bit-vector report can hold.
//!
//! A report of k bits whose true value's bit is one with probability p and every other bit
//! with probability q (unary encoding) holds `X = B + Y` ones, `B ~ Bernoulli(p)`,
//! `Y ~ Binomial(k − 1, q)`, whatever the value. A report with all bits set, or a single
//! one, is far outside that distribution: it is a forgery (a poisoning attack) with
//! overwhelming likelihood. [`OnesRange`] keeps the reports whose count lies in `[lo, hi]`,
//! the narrowest range with at most [`FALSE_REJECTION`]/2 of the exact binomial mass below it
//! and at most as much above; an honest report is refused with probability
//! [`OnesRange::false_rejection`] ≤ [`FALSE_REJECTION`].
//!
//! Filtering conditions what is counted, so the filter also gives the per-bit probabilities
//! among the reports it keeps ([`OnesRange::counted`]): the true bit is one with
//! `p' = P(B = 1 | kept)`, every other bit with `q' = E[Y | kept]/(k − 1)` (the k − 1 other
//! bits are exchangeable). Whether a report is kept does not depend on its value, so the kept
//! reports are a value-independent sample and `(count − n·q')/(p' − q')` stays unbiased.
//! Everything is computed from the tails alone, in log space, so no probability underflows.

use crate::math::PureParams;

/// The per-report bound on refusing an honest report: one in a million. Small enough that
/// honest loss is negligible (ten reports in ten million), large enough to catch the
/// forgeries that matter (a unary report with one bit set, or all).
pub const FALSE_REJECTION: f64 = 1e-6;

/// The honest range of a bit-vector report's number of ones: `[lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnesRange {
    /// Fewest ones kept.
    pub lo: u32,
    /// Most ones kept.
    pub hi: u32,
}

/// What refusing the counts outside a range takes away from honest reports.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Refused {
    /// `P(X ∉ [lo, hi])`.
    mass: f64,
    /// `P(X ∉ [lo, hi], B = 1)`.
    with_true: f64,
    /// `E[Y; X ∉ [lo, hi]]`.
    others: f64,
}

impl OnesRange {
    /// The range for k bits with probabilities (p, q) that refuses at most `alpha` of honest
    /// reports, half in each tail.
    pub fn new(k: u32, pure: PureParams, alpha: f64) -> Self {
        let tails = Tails::new(k, pure);
        let half = alpha / 2.0;
        let (first, last) = tails.span(k);
        // lo: the largest count with P(X < lo) ≤ α/2.
        let (mut lo, mut below) = (first, 0.0);
        while lo < last {
            let next = below + tails.pmf_x(lo);
            if next > half {
                break;
            }
            below = next;
            lo += 1;
        }
        // hi: the smallest count with P(X > hi) ≤ α/2.
        let (mut hi, mut above) = (last, 0.0);
        while hi > lo {
            let next = above + tails.pmf_x(hi);
            if next > half {
                break;
            }
            above = next;
            hi -= 1;
        }
        Self { lo, hi }
    }

    /// Every count from 0 to k: nothing refused.
    pub const fn all(k: u32) -> Self {
        Self { lo: 0, hi: k }
    }

    /// Whether a report with `ones` ones is kept.
    #[inline]
    pub const fn keeps(&self, ones: u32) -> bool {
        self.lo <= ones && ones <= self.hi
    }

    /// The exact probability that an honest report of k bits with probabilities `pure` falls
    /// outside the range.
    pub fn false_rejection(&self, k: u32, pure: PureParams) -> f64 {
        self.refused(k, pure).mass
    }

    /// `(p', q')`: the per-bit probabilities among the reports kept (module docs), for the
    /// estimator of k bits with probabilities `pure`.
    pub fn counted(&self, k: u32, pure: PureParams) -> PureParams {
        let refused = self.refused(k, pure);
        if refused.mass == 0.0 {
            return pure;
        }
        let kept = 1.0 - refused.mass;
        let others = f64::from(k.saturating_sub(1));
        PureParams {
            p: (pure.p - refused.with_true) / kept,
            q: if others == 0.0 {
                pure.q
            } else {
                (others * pure.q - refused.others) / (others * kept)
            },
        }
    }

    fn refused(&self, k: u32, pure: PureParams) -> Refused {
        let tails = Tails::new(k, pure);
        let mut refused = Refused {
            mass: 0.0,
            with_true: 0.0,
            others: 0.0,
        };
        let (first, last) = tails.span(k);
        for x in (first..self.lo).chain(self.hi.saturating_add(1)..=last) {
            let with_true = if x == 0 {
                0.0
            } else {
                pure.p * tails.pmf_y(x - 1)
            };
            let without = (1.0 - pure.p) * tails.pmf_y(x);
            refused.mass += with_true + without;
            refused.with_true += with_true;
            refused.others += with_true * f64::from(x.saturating_sub(1)) + without * f64::from(x);
        }
        refused
    }
}

/// The count of ones `X = B + Y` of k bits: `B ~ Bernoulli(p)`, `Y ~ Binomial(k − 1, q)`,
/// each probability computed in log space.
struct Tails {
    n: u32,
    p: f64,
    ln_q: f64,
    ln_not_q: f64,
}

impl Tails {
    fn new(k: u32, pure: PureParams) -> Self {
        Self {
            n: k.saturating_sub(1),
            p: pure.p,
            ln_q: libm::log(pure.q),
            ln_not_q: libm::log1p(-pure.q),
        }
    }

    /// The counts outside which the mass is negligible: `μ ± 40σ` when σ ≥ 10 (by Bernstein's
    /// inequality the mass beyond is below e^-340), else every count `0..=k`. Tails are
    /// walked inside it only, so a large k costs O(σ), not O(k).
    fn span(&self, k: u32) -> (u32, u32) {
        let q = libm::exp(self.ln_q);
        let n = f64::from(self.n);
        let mean = self.p + n * q;
        let sigma = libm::sqrt(self.p * (1.0 - self.p) + n * q * (1.0 - q));
        if sigma < 10.0 {
            return (0, k);
        }
        let first = libm::fmax(libm::floor(mean - 40.0 * sigma), 0.0) as u32;
        let last = libm::fmin(libm::ceil(mean + 40.0 * sigma), f64::from(k)) as u32;
        (first, last)
    }

    /// `P(Y = y)`, zero outside `0..=n`.
    fn pmf_y(&self, y: u32) -> f64 {
        if y > self.n {
            return 0.0;
        }
        let (n, y) = (f64::from(self.n), f64::from(y));
        let ln_choose = libm::lgamma(n + 1.0) - libm::lgamma(y + 1.0) - libm::lgamma(n - y + 1.0);
        libm::exp(ln_choose + y * self.ln_q + (n - y) * self.ln_not_q)
    }

    /// `P(X = x)`.
    fn pmf_x(&self, x: u32) -> f64 {
        let with_true = if x == 0 { 0.0 } else { self.pmf_y(x - 1) };
        self.p * with_true + (1.0 - self.p) * self.pmf_y(x)
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;
    use alloc::vec::Vec;

    use super::*;

    /// `P(X = x)` by direct summation with exact binomial coefficients (small k only).
    fn exact_pmf(k: u32, p: f64, q: f64) -> Vec<f64> {
        let n = k - 1;
        let mut choose = vec![1.0_f64; n as usize + 1];
        for y in 1..=n as usize {
            choose[y] = choose[y - 1] * f64::from(n - y as u32 + 1) / y as f64;
        }
        let pmf_y: Vec<f64> = (0..=n)
            .map(|y| {
                choose[y as usize]
                    * libm::pow(q, f64::from(y))
                    * libm::pow(1.0 - q, f64::from(n - y))
            })
            .collect();
        (0..=k)
            .map(|x| {
                let with_true = if x == 0 { 0.0 } else { pmf_y[x as usize - 1] };
                let without = pmf_y.get(x as usize).copied().unwrap_or(0.0);
                p * with_true + (1.0 - p) * without
            })
            .collect()
    }

    #[test]
    fn the_range_is_the_narrowest_with_at_most_half_alpha_in_each_tail() {
        for (k, p, q, alpha) in [
            (64, 0.5, 0.268_941_421_369_995, 1e-6),
            (16, 0.731, 0.269, 1e-3),
            (300, 0.5, 0.1, 1e-6),
        ] {
            let filter = OnesRange::new(k, PureParams { p, q }, alpha);
            let pmf = exact_pmf(k, p, q);
            let below: f64 = pmf[..filter.lo as usize].iter().sum();
            let above: f64 = pmf[filter.hi as usize + 1..].iter().sum();
            assert!(below <= alpha / 2.0 * (1.0 + 1e-9), "{filter:?}");
            assert!(above <= alpha / 2.0 * (1.0 + 1e-9), "{filter:?}");
            // One more count on either side would pass α/2.
            assert!(below + pmf[filter.lo as usize] > alpha / 2.0, "{filter:?}");
            assert!(above + pmf[filter.hi as usize] > alpha / 2.0, "{filter:?}");
            let refused = filter.false_rejection(k, PureParams { p, q });
            assert!(((below + above) - refused).abs() <= 1e-12 + 1e-9 * refused);
        }
    }

    #[test]
    fn a_large_domain_walks_only_the_tails_and_finds_the_same_range() {
        let oue = PureParams {
            p: 0.5,
            q: 1.0 / (libm::exp(1.0) + 1.0),
        };
        let k = 4_000;
        let tails = Tails::new(k, oue);
        let (first, last) = tails.span(k);
        assert!(first == 0 && last < k, "{first} {last}");
        let range = OnesRange::new(k, oue, FALSE_REJECTION);
        let below: f64 = (0..range.lo).map(|x| tails.pmf_x(x)).sum();
        let above: f64 = (range.hi + 1..=k).map(|x| tails.pmf_x(x)).sum();
        let half = FALSE_REJECTION / 2.0;
        assert!(
            below <= half && below + tails.pmf_x(range.lo) > half,
            "{range:?}"
        );
        assert!(
            above <= half && above + tails.pmf_x(range.hi) > half,
            "{range:?}"
        );
        assert!((range.false_rejection(k, oue) - (below + above)).abs() < 1e-15);
    }

    #[test]
    fn the_counted_probabilities_are_the_conditional_ones() {
        let (k, p, q, alpha) = (12, 0.6, 0.3, 0.05);
        let filter = OnesRange::new(k, PureParams { p, q }, alpha);
        // Enumerate (B, Y) exactly.
        let n = k - 1;
        let (mut kept, mut kept_true, mut kept_others) = (0.0, 0.0, 0.0);
        let mut choose = 1.0_f64;
        for y in 0..=n {
            if y > 0 {
                choose *= f64::from(n - y + 1) / f64::from(y);
            }
            let pmf_y = choose * libm::pow(q, f64::from(y)) * libm::pow(1.0 - q, f64::from(n - y));
            for (b, pb) in [(1, p), (0, 1.0 - p)] {
                if filter.keeps(y + b) {
                    kept += pb * pmf_y;
                    kept_true += f64::from(b) * pb * pmf_y;
                    kept_others += f64::from(y) * pb * pmf_y;
                }
            }
        }
        let counted = filter.counted(k, PureParams { p, q });
        assert!((counted.p - kept_true / kept).abs() < 1e-12, "{counted:?}");
        assert!((counted.q - kept_others / (kept * f64::from(n))).abs() < 1e-12);
        assert!(filter.lo > 0 && filter.hi < k, "{filter:?}");
    }

    #[test]
    fn the_oue_forgeries_lie_outside_and_nothing_is_refused_at_alpha_zero() {
        // k = 64, ε = 1: a single bit, or every bit, is refused.
        let e = libm::exp(1.0);
        let oue = PureParams {
            p: 0.5,
            q: 1.0 / (e + 1.0),
        };
        let filter = OnesRange::new(64, oue, FALSE_REJECTION);
        assert!(
            !filter.keeps(1) && !filter.keeps(64) && filter.keeps(17),
            "{filter:?}"
        );
        assert!(filter.false_rejection(64, oue) <= FALSE_REJECTION);
        let open = OnesRange::new(64, oue, 0.0);
        assert_eq!((open.lo, open.hi), (0, 64));
        assert_eq!(open, OnesRange::all(64));
        assert_eq!(open.counted(64, oue), oue);
        let one_bit = OnesRange::new(1, PureParams { p: 0.7, q: 0.3 }, FALSE_REJECTION);
        assert_eq!((one_bit.lo, one_bit.hi), (0, 1));
    }
}
