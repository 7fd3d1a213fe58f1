//! Exact geometric gaps: how many Bernoulli(`t/2^64`) trials fail before the first success.
//!
//! Sparse bit vectors (unary encoding at large ε) are drawn by skipping from one 1 to the
//! next, so their cost follows the number of ones instead of the number of bits. The gap G
//! between ones must have exactly the distribution of independent trials,
//! `P(G ≥ g) = r^g` with `r = 1 − t/2^64`, or the encoder would leak through its rounding.
//!
//! Inversion does it exactly: with U uniform on (0, 1), `G ≥ g ⇔ U < r^g`, so
//! `G = ⌈ln U / ln r⌉ − 1`. U is a real number whose binary digits are drawn 64 at a time; after
//! the first word it is only known to lie in an interval of width `2^-64`. The fast path
//! evaluates the quotient in floating point with a rigorous bound on every rounding and on the
//! interval's width; when that bound leaves one integer for G (all but a ~2^-40 fraction of
//! draws) it is the answer. Otherwise the exact path compares U's interval with `r^g` in
//! integer arithmetic (`(2^64 − t)^g` against U's digits scaled by `2^{64g}`), drawing further
//! digits of U until the comparison is decided. Both paths answer the same question about the
//! same U, so the result is exact whatever the floating-point library rounds.

use num_bigint::BigUint;
use rand_core::RngCore;

/// Relative error bound for one `libm` logarithm or one rounding to `f64`, with margin:
/// both are within an ulp (`2^-52` relative); the bound allows 16 of them.
const REL: f64 = 1.0 / (1u64 << 48) as f64;

/// `min(G, limit)`, where G is the number of failures before the first success in independent
/// trials that each succeed with probability `threshold / 2^64`.
///
/// Exact for every threshold (`threshold == 0` never succeeds and returns `limit`). Costs one
/// random word and one logarithm almost always.
pub fn gap<R: RngCore + ?Sized>(rng: &mut R, threshold: u64, limit: u32) -> u32 {
    if threshold == 0 || limit == 0 {
        return limit;
    }
    let u = rng.next_u64();
    match fast_gap(u, threshold, limit) {
        Some(g) => g,
        None => exact_gap(rng, u, threshold, limit),
    }
}

/// `ln r` for `r = 1 − t/2^64`, with a relative error below 4 ulps (either branch is
/// well-conditioned on its half of the range).
fn ln_r(threshold: u64) -> f64 {
    const TWO_64: f64 = 18_446_744_073_709_551_616.0;
    if threshold <= 1 << 63 {
        libm::log1p(-(threshold as f64) / TWO_64)
    } else {
        libm::log(threshold.wrapping_neg() as f64 / TWO_64)
    }
}

/// The gap from the first word of U alone, when floating point with its error bounds decides
/// it; `None` when the bounds straddle an integer (the exact path then decides).
fn fast_gap(u: u64, threshold: u64, limit: u32) -> Option<u32> {
    const TWO_64: f64 = 18_446_744_073_709_551_616.0;
    if u == 0 {
        return None;
    }
    let lr = ln_r(threshold);
    // U lies in [u, u + 1) / 2^64, so ln U lies in [ln(u/2^64), ln(u/2^64) + 1/u].
    let lu = libm::log(u as f64 / TWO_64);
    let err = REL * (1.0 + lu.abs());
    let num_low = lu - err; // most negative ln U
    let num_high = (lu + err + 1.0 / u as f64).min(0.0);
    // x = ln U / ln r is positive and falls as U rises.
    let x_max = num_low / lr * (1.0 + REL);
    let x_min = num_high / lr * (1.0 - REL);
    if !(x_min.is_finite() && x_max.is_finite()) {
        return None;
    }
    if x_min > limit as f64 {
        // x > limit ⇔ U < r^limit ⇔ G ≥ limit.
        return Some(limit);
    }
    let floor = libm::floor(x_min);
    // G = ⌈x⌉ − 1 is the same for the whole range when it holds no integer.
    (floor < x_min && x_max < floor + 1.0).then_some(floor as u32)
}

/// Where U lies against `r^g`, for U in `[a, a + 1) / 2^bits`.
fn below_power(a: &BigUint, bits: u64, base: &BigUint, g: u32) -> Option<bool> {
    // U < r^g ⇔ U · 2^{64g} < base^g, with base = 2^64 − t; compare scaled by 2^bits.
    let power = base.pow(g) << bits;
    let scale = 64 * u64::from(g);
    if ((a + 1u32) << scale) <= power {
        Some(true)
    } else if (a << scale) >= power {
        Some(false)
    } else {
        None
    }
}

/// The gap in integer arithmetic, drawing more digits of U until every comparison it needs is
/// decided. `first` is the word the fast path already drew (U's leading 64 bits).
fn exact_gap<R: RngCore + ?Sized>(rng: &mut R, first: u64, threshold: u64, limit: u32) -> u32 {
    let base = (BigUint::from(1u32) << 64u32) - threshold;
    let mut a = BigUint::from(first);
    let mut bits = 64u64;
    'digits: loop {
        // G = the largest g ≤ limit with U < r^g (true at g = 0). Binary search on [0, limit].
        let (mut low, mut high) = (0u32, limit);
        // Invariant: U < r^low; G < high + 1 unless high == limit and U < r^limit.
        match below_power(&a, bits, &base, high) {
            Some(true) => return limit,
            Some(false) => {}
            None => {
                a = (a << 64u32) + rng.next_u64();
                bits += 64;
                continue 'digits;
            }
        }
        // Now U < r^low and U ≥ r^high.
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            match below_power(&a, bits, &base, mid) {
                Some(true) => low = mid,
                Some(false) => high = mid,
                None => {
                    a = (a << 64u32) + rng.next_u64();
                    bits += 64;
                    continue 'digits;
                }
            }
        }
        return low;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use statrs::distribution::{ChiSquared, ContinuousCDF};

    /// Replays chosen words, then ChaCha20.
    struct Scripted(alloc::vec::Vec<u64>, ChaCha20Rng);
    impl RngCore for Scripted {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            if self.0.is_empty() {
                self.1.next_u64()
            } else {
                self.0.remove(0)
            }
        }
        fn fill_bytes(&mut self, _: &mut [u8]) {
            unimplemented!()
        }
    }

    /// Whenever the fast path answers, the exact path answers the same for the same U.
    #[test]
    fn fast_path_agrees_with_exact_arithmetic() {
        let mut rng = ChaCha20Rng::from_seed([11; 32]);
        let mut typical_undecided = 0;
        for i in 0..3000u32 {
            // Thresholds from 2^-40 to just below 1, and first words across all magnitudes.
            let threshold = (rng.next_u64() | 1) >> (i % 41);
            let u = rng.next_u64() >> (i % 67).min(63);
            let limit = [1, 5, 64, 1000][i as usize % 4];
            let exact = exact_gap(
                &mut Scripted(alloc::vec![], ChaCha20Rng::from_seed([12; 32])),
                u,
                threshold,
                limit,
            );
            match fast_gap(u, threshold, limit) {
                Some(fast) => assert_eq!(fast, exact, "u {u:#x}, t {threshold:#x}, limit {limit}"),
                // A first word below 2^40 (probability 2^-24) leaves U's interval wide; above
                // it, floats are ambiguous with probability about 2^-40.
                None if u >= 1 << 40 => typical_undecided += 1,
                None => {}
            }
        }
        assert_eq!(
            typical_undecided, 0,
            "the fast path left typical draws undecided"
        );
    }

    /// Words placed exactly at or next to a boundary r^g force the exact path, which must
    /// then draw further digits and still land on the right side.
    #[test]
    fn boundaries_are_decided_by_further_digits() {
        // t = 2^63: r = 1/2, r^g = 2^-g. U's first word 2^(64−g) puts it exactly at r^g's
        // lower edge: U ≥ r^g, so G = g − 1 whatever comes next.
        for g in 1..20u32 {
            let u = 1u64 << (64 - g);
            assert_eq!(
                fast_gap(u, 1 << 63, 100),
                None,
                "g {g} is ambiguous in floats"
            );
            let mut rng = Scripted(alloc::vec![0, 0], ChaCha20Rng::from_seed([1; 32]));
            assert_eq!(exact_gap(&mut rng, u, 1 << 63, 100), g - 1);
            // One step below the edge: U < r^g, and U ≥ r^{g+1}, so G = g.
            let mut rng = Scripted(alloc::vec![u64::MAX], ChaCha20Rng::from_seed([1; 32]));
            assert_eq!(exact_gap(&mut rng, u - 1, 1 << 63, 100), g);
        }
        // U's first word 0: decided only by later digits.
        let mut rng = Scripted(alloc::vec![0, 1 << 63], ChaCha20Rng::from_seed([1; 32]));
        assert_eq!(gap(&mut rng, 1 << 63, 1000), 64);
    }

    /// Against the geometric law itself: χ² over g = 0..limit at α = 1e-6 for several
    /// probabilities, including the truncation at `limit`.
    #[test]
    fn gaps_follow_the_geometric_law() {
        let mut rng = ChaCha20Rng::from_seed([13; 32]);
        let n = 200_000u64;
        for (threshold, limit) in [
            (1u64 << 62, 12u32),          // q = 1/4
            (0x0495_1A3C_0000_0001, 120), // q ≈ 0.018 (OUE, ε = 4)
            (3 << 55, 400),               // q ≈ 0.0117
            (0xE666_6666_6666_6666, 6),   // q = 0.9
        ] {
            let q = threshold as f64 / 18_446_744_073_709_551_616.0;
            let mut observed = alloc::vec![0u64; limit as usize + 1];
            for _ in 0..n {
                observed[gap(&mut rng, threshold, limit) as usize] += 1;
            }
            let mut expected: alloc::vec::Vec<f64> = (0..limit)
                .map(|g| n as f64 * (1.0 - q).powi(g as i32) * q)
                .collect();
            expected.push(n as f64 * (1.0 - q).powi(limit as i32));
            // Pool cells under 5 expected into their neighbour.
            let (mut obs, mut exp) = (alloc::vec![], alloc::vec![]);
            let (mut o_acc, mut e_acc) = (0u64, 0.0);
            for (o, e) in observed.iter().zip(&expected) {
                o_acc += o;
                e_acc += e;
                if e_acc >= 5.0 {
                    obs.push(o_acc);
                    exp.push(e_acc);
                    (o_acc, e_acc) = (0, 0.0);
                }
            }
            if let (Some(o), Some(e)) = (obs.last_mut(), exp.last_mut()) {
                *o += o_acc;
                *e += e_acc;
            }
            let stat: f64 = obs
                .iter()
                .zip(&exp)
                .map(|(&o, &e)| (o as f64 - e).powi(2) / e)
                .sum();
            let df = obs.len() as f64 - 1.0;
            let critical = ChiSquared::new(df).unwrap().inverse_cdf(1.0 - 1e-6);
            assert!(
                stat <= critical,
                "t {threshold:#x}: chi2 {stat:.1} > {critical:.1} (df {df})"
            );
        }
    }
}
