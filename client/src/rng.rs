//! Randomness: production encoders draw from ChaCha20 seeded by the operating system.
//!
//! Seeds are never derived from the value, a device id or the time. A caller-supplied RNG is
//! accepted only through the explicitly named `with_simulation_rng` constructors, meant for
//! tests and the simulator.

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};

use crate::error::ClientError;

/// The production RNG: ChaCha20 seeded from the operating system (`getrandom`).
///
/// Wraps the concrete generator so that no dependency type appears in this crate's API.
#[derive(Debug, Clone)]
pub struct ProductionRng(ChaCha20Rng);

impl ProductionRng {
    /// A fresh generator seeded from the operating system.
    pub fn from_os() -> Result<Self, ClientError> {
        ChaCha20Rng::try_from_os_rng()
            .map(Self)
            .map_err(|_| ClientError::Randomness)
    }
}

impl RngCore for ProductionRng {
    #[inline]
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    #[inline]
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        self.0.fill_bytes(dst)
    }
}

impl CryptoRng for ProductionRng {}

/// A uniform integer in `[0, n)`, exactly (Lemire's multiply-shift with rejection).
/// `n` must be at least 1; for `n == 0` it returns 0.
#[inline]
pub fn uniform_below<R: RngCore + ?Sized>(rng: &mut R, n: u32) -> u32 {
    if n == 0 {
        return 0;
    }
    let n64 = u64::from(n);
    loop {
        let x = rng.next_u64();
        let m = u128::from(x) * u128::from(n64);
        let low = m as u64;
        if low >= n64 || low >= n64.wrapping_neg() % n64 {
            return (m >> 64) as u32;
        }
    }
}

/// One Bernoulli draw: true with probability `t / 2^64`, exactly.
#[inline]
pub fn bernoulli<R: RngCore + ?Sized>(rng: &mut R, threshold: u64) -> bool {
    rng.next_u64() < threshold
}

/// 64 independent Bernoulli draws at once, each 1 with probability `t / 2^64`, exactly.
///
/// Lane i compares its own uniform 64-bit number, built one bit per random word from the most
/// significant end, with `t`; a lane is decided at the first bit where they differ. Undecided
/// lanes halve with every word, so about `log2(64) + 2` words are drawn per 64 lanes whatever
/// the probability, instead of 64.
#[inline]
pub fn bernoulli_lanes<R: RngCore + ?Sized>(rng: &mut R, threshold: u64) -> u64 {
    let mut undecided = u64::MAX;
    let mut ones = 0u64;
    let mut bit = 63u32;
    loop {
        let r = rng.next_u64();
        if (threshold >> bit) & 1 == 1 {
            // Lanes whose bit is 0 are below the threshold: ones.
            ones |= undecided & !r;
            undecided &= r;
        } else {
            // Lanes whose bit is 1 are above the threshold: zeros.
            undecided &= !r;
        }
        if undecided == 0 || bit == 0 {
            // Lanes still undecided after 64 bits equal t exactly: not below it, so zeros.
            return ones;
        }
        bit -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic counter "RNG" to check exact logic on chosen words.
    struct Words(alloc::vec::Vec<u64>, usize);
    impl RngCore for Words {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            let w = self.0[self.1 % self.0.len()];
            self.1 += 1;
            w
        }
        fn fill_bytes(&mut self, _: &mut [u8]) {
            unimplemented!()
        }
    }

    #[test]
    fn lanes_match_per_lane_comparison() {
        // With 64 words w_0..w_63, lane i's number is the bits (w_0[i], w_1[i], …) MSB first.
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        for _ in 0..2000 {
            let words: alloc::vec::Vec<u64> = (0..64).map(|_| rng.next_u64()).collect();
            let t = rng.next_u64() >> (rng.next_u32() % 64);
            let got = bernoulli_lanes(&mut Words(words.clone(), 0), t);
            for lane in 0..64 {
                let mut u = 0u64;
                for w in &words {
                    u = (u << 1) | ((w >> lane) & 1);
                }
                assert_eq!((got >> lane) & 1 == 1, u < t, "lane {lane}, t {t:#x}");
            }
        }
    }

    #[test]
    fn uniform_below_covers_range() {
        let mut rng = ChaCha20Rng::from_seed([1; 32]);
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            seen[uniform_below(&mut rng, 7) as usize] += 1;
        }
        // 1,000 expected per value, standard deviation sqrt(7000·(1/7)·(6/7)) ≈ 29: ±6.8σ.
        assert!(seen.iter().all(|&c| c > 800 && c < 1200), "{seen:?}");
    }

    #[test]
    fn uniform_below_rejects_the_biased_zone() {
        // For n = 3, 2^64 mod 3 = 1: the word 0 falls in the rejection zone and must be
        // discarded; u64::MAX then maps to 2.
        let mut rng = Words(alloc::vec![0, u64::MAX], 0);
        assert_eq!(uniform_below(&mut rng, 3), 2);
        assert_eq!(rng.1, 2, "exactly one word rejected");
    }
}
