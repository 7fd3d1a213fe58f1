//! Hadamard Response (high-privacy form): a report of log₂K bits, decoded by a fast
//! Walsh–Hadamard transform.
//!
//! Acharya, Sun, Zhang, "Hadamard Response: Estimating Distributions Privately, Efficiently,
//! and with Little Communication", AISTATS 2019. K is the smallest power of two above k. Value
//! v owns the set `C_v = {j < K : popcount((v + 1) & j) is even}` — the +1 entries of row v + 1
//! of the K × K Sylvester–Hadamard matrix, K/2 of them. The device reports a uniform element of
//! `C_v` with probability `p = e^ε/(e^ε + 1)`, otherwise a uniform element of its complement.
//! Any two rows agree on exactly half their entries, so a report lands in another value's set
//! with probability exactly 1/2: a pure protocol with `p = e^ε/(e^ε + 1)`, `q = 1/2` and
//! `Var* = (e^ε + 1)²/(e^ε − 1)²`, the same as binary local hashing, with 8-byte reports.
//!
//! The aggregator keeps a histogram of the K outputs (fold O(1)); the support count of v is
//! `(n + Ĥ[v + 1])/2` where Ĥ is the Walsh–Hadamard transform of the histogram, O(K log K) for
//! all values at once.

use crate::error::ConfigError;
use crate::error::ReportError;
use crate::math::{LikelihoodRatio, PureParams, Threshold};
use crate::mechanism::check_domain_size;
use crate::mechanism::family::{MechanismFamily, check_index, wrong_variant};
use crate::mechanism::{Mechanism, MechanismKind};
use crate::report::Report;

/// Largest domain Hadamard Response accepts (K ≤ 2^21 histogram cells).
pub const MAX_K: u32 = 1 << 20;

/// Validated Hadamard Response parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HadamardParams {
    /// Domain size.
    pub k: u32,
    /// Output range: the smallest power of two above k.
    pub outputs: u32,
    /// Probability of reporting an element of the value's own set (rounded down).
    pub keep: Threshold,
}

impl HadamardParams {
    /// Hadamard Response for ε over `k` values.
    pub fn new(epsilon: f64, k: u32) -> Result<Self, ConfigError> {
        check_domain_size(k, MAX_K, "hr")?;
        let e = libm::exp(epsilon);
        Ok(Self {
            k,
            outputs: (k + 1).next_power_of_two(),
            keep: Threshold::at_most(e / (e + 1.0)),
        })
    }

    /// Exact (p, q): `p = t/2^64`, `q = 1/2`.
    pub fn pure(&self) -> PureParams {
        PureParams {
            p: self.keep.probability(),
            q: 0.5,
        }
    }

    /// `P[y | v] / P[y | v']` for y ∈ C_v \ C_v' = `t / (2^64 − t)` (the sets have equal size).
    pub fn likelihood_ratio(&self) -> LikelihoodRatio {
        LikelihoodRatio {
            numerator: (u128::from(self.keep.0), 1),
            denominator: ((1u128 << 64) - u128::from(self.keep.0), 1),
        }
    }
}

impl MechanismFamily for HadamardParams {
    fn kind(&self) -> MechanismKind {
        MechanismKind::Hr
    }

    fn resolved(&self) -> Mechanism {
        Mechanism::Hr
    }

    fn k(&self) -> u32 {
        self.k
    }

    fn pure(&self) -> PureParams {
        HadamardParams::pure(self)
    }

    fn likelihood_ratio(&self) -> Option<LikelihoodRatio> {
        Some(HadamardParams::likelihood_ratio(self))
    }

    /// Tag and output: 8 bytes.
    fn report_bytes(&self) -> usize {
        4 + 4
    }

    /// The output is below K.
    fn check_report(&self, report: &Report) -> Result<(), ReportError> {
        match report {
            Report::Hr(r) => check_index(r.value, self.outputs),
            other => Err(wrong_variant(self, other)),
        }
    }
}

/// Whether output `y` is in the set of value `v`: `popcount((v + 1) & y)` is even.
#[inline]
pub const fn in_set(v: u32, y: u32) -> bool {
    ((v + 1) & y).count_ones().is_multiple_of(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_halves_that_meet_in_quarters() {
        let params = HadamardParams::new(1.0, 12).unwrap();
        assert_eq!(params.outputs, 16);
        for v in 0..12 {
            let own = (0..16).filter(|&y| in_set(v, y)).count();
            assert_eq!(own, 8);
            for u in 0..12 {
                if u != v {
                    let both = (0..16).filter(|&y| in_set(v, y) && in_set(u, y)).count();
                    assert_eq!(both, 4, "v={v} u={u}");
                }
            }
        }
    }
}
