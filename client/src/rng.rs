//! Randomness: production encoders draw from ChaCha20 seeded by the operating system.
//!
//! Seeds are never derived from the value, a device id or the time. A caller-supplied RNG is
//! accepted only through the explicitly named `with_simulation_rng` constructors, meant for
//! tests and the simulator.

use rand_core::{CryptoRng, RngCore, TryRngCore};

use crate::error::ClientError;

/// ChaCha20 as rand_chacha implements it (SSE2/AVX2 on x86-64).
#[cfg(not(target_arch = "wasm32"))]
type ChaCha = rand_chacha::ChaCha20Rng;
/// ChaCha20 as the RustCrypto `chacha20` crate implements it: its portable backend compiles to
/// plain 32-bit WebAssembly arithmetic, where rand_chacha's emulated vectors are about four
/// times slower (BENCHMARKING.md, the WebAssembly package).
#[cfg(target_arch = "wasm32")]
type ChaCha = chacha20::ChaCha20Rng;

/// The production RNG: ChaCha20 seeded from the operating system (`getrandom`; in WebAssembly,
/// `crypto.getRandomValues`).
///
/// Wraps the concrete generator so that no dependency type appears in this crate's API.
///
/// Not `Clone`: two copies would draw the same numbers.
#[derive(Debug)]
pub struct ProductionRng(ChaCha);

impl ProductionRng {
    /// A fresh generator seeded from the operating system.
    pub fn from_os() -> Result<Self, ClientError> {
        let mut seed = [0u8; 32];
        rand_core::OsRng
            .try_fill_bytes(&mut seed)
            .map_err(|_| ClientError::Randomness)?;
        Ok(Self(seeded(seed)))
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn seeded(seed: [u8; 32]) -> ChaCha {
    rand_core::SeedableRng::from_seed(seed)
}

#[cfg(target_arch = "wasm32")]
fn seeded(seed: [u8; 32]) -> ChaCha {
    chacha20::rand_core::SeedableRng::from_seed(seed)
}

#[cfg(not(target_arch = "wasm32"))]
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

#[cfg(target_arch = "wasm32")]
impl RngCore for ProductionRng {
    #[inline]
    fn next_u32(&mut self) -> u32 {
        chacha20::rand_core::Rng::next_u32(&mut self.0)
    }
    #[inline]
    fn next_u64(&mut self) -> u64 {
        chacha20::rand_core::Rng::next_u64(&mut self.0)
    }
    #[inline]
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        chacha20::rand_core::Rng::fill_bytes(&mut self.0, dst)
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

/// One Bernoulli draw, true with probability `t / 2^64` exactly, from 32-bit words: the high
/// half of a uniform `u64` first, the low half only on a tie (probability 2^-32). The result is
/// the comparison `(hi·2^32 + lo) < t` of [`bernoulli`], for about half the random bytes.
#[inline]
pub fn bernoulli_lazy<R: RngCore + ?Sized>(rng: &mut R, threshold: u64) -> bool {
    let high = rng.next_u32();
    let t_high = (threshold >> 32) as u32;
    if high != t_high {
        return high < t_high;
    }
    rng.next_u32() < threshold as u32
}

/// A uniform integer in `[0, n)` from 32-bit words, exactly (Lemire's multiply-shift with
/// rejection on `u32`). For `n == 0` it returns 0.
#[inline]
pub fn uniform_below_lazy<R: RngCore + ?Sized>(rng: &mut R, n: u32) -> u32 {
    if n == 0 {
        return 0;
    }
    loop {
        let m = u64::from(rng.next_u32()) * u64::from(n);
        let low = m as u32;
        if low >= n || low >= n.wrapping_neg() % n {
            return (m >> 32) as u32;
        }
    }
}

/// 64 independent Bernoulli draws at once, each 1 with probability `t / 2^64`, exactly.
///
/// Lane i compares its own uniform 64-bit number, built one bit per random word from the most
/// significant end, with `t`; a lane is decided at the first bit where they differ. Undecided
/// lanes halve with every word, so about `log2(64) + 2` words are drawn per 64 lanes whatever
/// the probability, instead of 64.
#[inline]
pub fn bernoulli_lanes<R: RngCore + ?Sized>(rng: &mut R, threshold: u64) -> u64 {
    finish_lanes(rng, threshold, 63, 0, u64::MAX)
}

/// Rounds drawn for every word of a block before any lane is checked (see
/// [`bernoulli_lanes_into`]).
pub const BLOCK_ROUNDS: usize = 9;
/// Words of lanes decided together by [`bernoulli_lanes_into`].
pub const BLOCK_WORDS: usize = 16;

/// Fills `out` with independent 64-lane Bernoulli words, each bit 1 with probability `t / 2^64`,
/// exactly: the comparison of [`bernoulli_lanes`], arranged for speed.
///
/// Words are taken [`BLOCK_WORDS`] at a time. For such a block, `BLOCK_ROUNDS · len` random
/// words are drawn first, round-major (round j of output word w is random word
/// `j · len + w`), and the first [`BLOCK_ROUNDS`] bits of every lane are compared without a
/// branch; the few lanes still undecided (about 12% of output words hold one) then continue
/// word by word, in output order, as in [`bernoulli_lanes`]. Drawing a round for a word whose
/// lanes are all decided wastes random bits but changes no probability. The branch-free
/// rounds draw about 9.3 words per 64 lanes instead of 7.3 but avoid a mispredicted loop exit
/// per word: with a fast generator (the simulator's) a 1,024-bit report takes about 30% less
/// time, with ChaCha20 about 6% more (`cargo bench -p ldp-client --bench encode`,
/// `ldp-sim bench`).
#[inline]
pub fn bernoulli_lanes_into<R: RngCore + ?Sized>(rng: &mut R, threshold: u64, out: &mut [u64]) {
    for block in out.chunks_mut(BLOCK_WORDS) {
        let len = block.len();
        let mut random = [0u64; BLOCK_ROUNDS * BLOCK_WORDS];
        for word in random.iter_mut().take(BLOCK_ROUNDS * len) {
            *word = rng.next_u64();
        }
        let mut ones = [0u64; BLOCK_WORDS];
        let mut undecided = [u64::MAX; BLOCK_WORDS];
        for (round, words) in random.chunks_exact(len).take(BLOCK_ROUNDS).enumerate() {
            let bit = threshold_bit_mask(threshold, 63 - round as u32);
            for ((one, open), r) in ones.iter_mut().zip(undecided.iter_mut()).zip(words) {
                // Where the threshold's bit is 1, lanes drawing 0 are below it: ones. Either
                // way, lanes drawing the threshold's bit stay undecided.
                *one |= *open & !*r & bit;
                *open &= !(*r ^ bit);
            }
        }
        for ((slot, one), open) in block.iter_mut().zip(ones).zip(undecided) {
            *slot = finish_lanes(rng, threshold, 63 - BLOCK_ROUNDS as u32, one, open);
        }
    }
}

/// All ones when bit `bit` of `threshold` is 1, else zero.
#[inline(always)]
fn threshold_bit_mask(threshold: u64, bit: u32) -> u64 {
    0u64.wrapping_sub((threshold >> bit) & 1)
}

/// Continues the lane comparison from bit `bit` (down to 0) for the `undecided` lanes, one
/// random word per bit, until every lane is decided.
#[inline]
fn finish_lanes<R: RngCore + ?Sized>(
    rng: &mut R,
    threshold: u64,
    mut bit: u32,
    mut ones: u64,
    mut undecided: u64,
) -> u64 {
    while undecided != 0 {
        let r = rng.next_u64();
        let mask = threshold_bit_mask(threshold, bit);
        ones |= undecided & !r & mask;
        undecided &= !(r ^ mask);
        if bit == 0 {
            // Lanes still undecided after 64 bits equal t exactly: not below it, so zeros.
            break;
        }
        bit -= 1;
    }
    ones
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

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

    /// The lazy Bernoulli is the 64-bit comparison of the two halves it reads.
    #[test]
    fn lazy_bernoulli_is_the_full_comparison() {
        let mut rng = ChaCha20Rng::from_seed([3; 32]);
        for case in 0..20_000u32 {
            let high = rng.next_u32();
            let low = rng.next_u32();
            // Thresholds sharing the high half often, to exercise the tie.
            let t = match case % 3 {
                0 => rng.next_u64(),
                1 => (u64::from(high) << 32) | u64::from(rng.next_u32()),
                _ => u64::from(high) << 32,
            };
            let words = alloc::vec![u64::from(high), u64::from(low)];
            let lazy = bernoulli_lazy(&mut Words(words, 0), t);
            assert_eq!(
                lazy,
                ((u64::from(high) << 32) | u64::from(low)) < t,
                "{t:#x}"
            );
        }
    }

    /// The lazy uniform's rejection zone: for n = 3, 2^32 mod 3 = 1, so the word 0 is
    /// redrawn; every other multiply-shift cell of a small n is hit by equally many words
    /// (⌊2^32/n⌋ of them, checked through the cell boundaries).
    #[test]
    fn lazy_uniform_is_exact() {
        let mut rng = Words(alloc::vec![0, u64::from(u32::MAX)], 0);
        assert_eq!(uniform_below_lazy(&mut rng, 3), 2);
        assert_eq!(rng.1, 2, "exactly one word rejected");
        for n in [1000u32, 65_535, 3_000_000] {
            let zone = n.wrapping_neg() % n;
            // Value v is returned for the accepted words x with ⌊x·n/2^32⌋ = v: count them
            // from the boundaries, excluding the rejected low parts.
            let accepted = |v: u32| -> u64 {
                (0..=u32::MAX as u64)
                    .step_by(1)
                    .skip(((u64::from(v) << 32).div_ceil(u64::from(n))) as usize)
                    .take_while(|x| (x * u64::from(n)) >> 32 == u64::from(v))
                    .filter(|x| ((x * u64::from(n)) as u32) >= zone)
                    .count() as u64
            };
            let first = accepted(0);
            assert_eq!(first, (1u64 << 32) / u64::from(n), "n={n}");
            assert_eq!(accepted(n - 1), first, "n={n}");
            assert_eq!(accepted(n / 2), first, "n={n}");
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

    /// The block version against a per-lane reference that assigns words in the documented
    /// order: round-major for the first `BLOCK_ROUNDS` bits, then word by word.
    #[test]
    fn block_lanes_match_per_lane_comparison() {
        let mut rng = ChaCha20Rng::from_seed([9; 32]);
        for case in 0..300 {
            let len = [1usize, 5, 16, 17, 40][case % 5];
            // Thresholds with long runs of equal bits keep lanes open past the block rounds.
            let t = match case % 3 {
                0 => rng.next_u64(),
                1 => rng.next_u64() >> (rng.next_u32() % 64),
                _ => (1u64 << 63) | (rng.next_u64() >> 40),
            };
            let words: alloc::vec::Vec<u64> = (0..len * 80).map(|_| rng.next_u64()).collect();
            let mut got = alloc::vec![0u64; len];
            let mut source = Words(words.clone(), 0);
            bernoulli_lanes_into(&mut source, t, &mut got);
            // Reference: replay the same stream, block by block.
            let mut next = 0usize;
            for (b, block) in got.chunks(BLOCK_WORDS).enumerate() {
                let n = block.len();
                let block_words = &words[next..next + BLOCK_ROUNDS * n];
                next += BLOCK_ROUNDS * n;
                for (w, &value) in block.iter().enumerate() {
                    // This word's first BLOCK_ROUNDS random words, then its own continuation.
                    let mut stream: alloc::vec::Vec<u64> =
                        (0..BLOCK_ROUNDS).map(|j| block_words[j * n + w]).collect();
                    let mut expected = 0u64;
                    let mut extra = 0usize;
                    let mut open = u64::MAX;
                    for bit in (0..64u32).rev() {
                        let round = 63 - bit as usize;
                        if round >= BLOCK_ROUNDS {
                            if open == 0 {
                                break;
                            }
                            stream.push(words[next + extra]);
                            extra += 1;
                        }
                        let r = stream[round];
                        let tb = (t >> bit) & 1;
                        for lane in 0..64 {
                            if (open >> lane) & 1 == 1 && (r >> lane) & 1 != tb {
                                open &= !(1 << lane);
                                if tb == 1 {
                                    expected |= 1 << lane;
                                }
                            }
                        }
                    }
                    next += extra;
                    assert_eq!(
                        value, expected,
                        "case {case}, block {b}, word {w}, t {t:#x}"
                    );
                }
            }
            assert_eq!(source.1, next, "case {case}: words drawn");
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
