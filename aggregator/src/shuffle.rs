//! Privacy amplification by shuffling: the central (ε, δ) of one epoch's reports.
//!
//! Feldman, McMillan, Talwar, "Hiding Among the Clones: A Simple and Nearly Optimal Analysis
//! of Privacy Amplification by Shuffling", FOCS 2021 (arXiv 2012.12803). If n devices each
//! send one report from an ε₀-LDP randomizer and the collector sees the reports without
//! knowing which device sent which (a uniformly random order), the reports together are
//! (ε, δ)-DP for any one device with ε far below ε₀ once n is large.
//!
//! Two bounds, the smaller served:
//! - [`closed_form`] (their Theorem 3.2): for ε₀ ≤ ln(n / (16·ln(4/δ))),
//!   `ε ≤ ln(1 + (1 − e^−ε₀)/(1 + e^(−ε₀−e′)) · (a + c))` with
//!   `a = 8·√(e^ε₀·ln(4/δ)/n)`, `c = 8e^ε₀/n`, `e′ = ln(1 + a + c)`; no bound outside that regime.
//! - [`numerical`] (their Appendix E): the clones argument reduces the question to two
//!   mixtures of binomials indexed by `C ~ Bin(n − 1, e^−ε₀)`; the δ of a candidate ε is
//!   summed over C in intervals, each charged at the worse of its end points (the divergence
//!   is monotone in C), the mass of C left unvisited charged in full (bounded by Bernstein's
//!   inequality), and ε found by bisection.
//!   Every rounding goes the conservative way, so it is an upper bound, and never above ε₀.
//!
//! **When it holds** (the API says so in words, [`ASSUMPTIONS`]): every report of the epoch
//! comes from a different device, and nobody who sees the reports can tell which device sent
//! which. A device that may send m reports per epoch is counted as one randomizer of m·ε₀ over
//! ⌊n/m⌋ devices ([`epoch_bound`]), which stays a valid bound. It fails against an observer of
//! the network (who sees which connection carried which batch) and for a collector that keeps
//! per-request metadata linking batches to devices; this collector keeps neither, but a proxy
//! in front of it might.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use statrs::distribution::{Binomial, Discrete};
use statrs::function::factorial::ln_binomial;

/// What the central guarantee assumes, in words (served beside it).
pub const ASSUMPTIONS: &str = "Holds if each report of the epoch comes from a different device (a \
device allowed m reports per epoch is counted as one randomizer of m times epsilon) and \
nobody who sees the reports can link them to devices: it fails against an observer of the \
network or a proxy that logs which client sent which batch. It is one epoch's guarantee: \
across epochs a device's guarantees add up, and for LOLOHA, whose reports carry the \
device's fixed hash seed and so link its reports across epochs, count on the local \
epsilon_permanent bound instead.";

/// The central privacy of one epoch's shuffled reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CentralBound {
    /// Central ε: at most `local_epsilon`.
    pub epsilon: f64,
    /// δ of the guarantee.
    pub delta: f64,
    /// ε of one device's reports in the epoch (ε₀).
    pub local_epsilon: f64,
    /// Devices the bound counts on.
    pub devices: u64,
    /// Whether shuffling lowered ε by at least 1% (false: too few devices for ε₀, and
    /// `epsilon` is ε₀ itself).
    pub amplified: bool,
}

/// The δ served: 10⁻⁶, or 1/(10n) when that is smaller, so that δ stays well below one
/// device's share.
pub fn default_delta(devices: u64) -> f64 {
    (1.0 / (10.0 * devices.max(1) as f64)).min(1e-6)
}

/// The bound for an epoch of `reports` reports, ε per report and at most `per_device`
/// reports per device, at δ = [`default_delta`] of the devices counted.
///
/// The devices are counted rounded down to three significant digits (fewer devices can only
/// mean a larger ε, so this is conservative by under 1%), and bounds are remembered by their
/// inputs: the numerical bound takes up to a second at 10⁷ devices, and the estimates of one
/// campaign ask for the same few values again and again.
pub fn epoch_bound(epsilon: f64, reports: u64, per_device: u32) -> CentralBound {
    let per_device = per_device.max(1);
    let local = epsilon * f64::from(per_device);
    let devices = three_digits_down(reports / u64::from(per_device));
    let delta = default_delta(devices);
    let central = remembered(local, devices, delta);
    // A gain under 1% is not worth a δ: then the bound served is ε₀ itself.
    let amplified = central < 0.99 * local;
    CentralBound {
        epsilon: if amplified { central } else { local },
        delta,
        local_epsilon: local,
        devices,
        amplified,
    }
}

/// `n` rounded down to its first three significant digits (123,456 → 123,000).
fn three_digits_down(n: u64) -> u64 {
    let mut scale = 1;
    while n / scale >= 1000 {
        scale *= 10;
    }
    n / scale * scale
}

/// Bounds remembered, at most this many (then forgotten all at once).
const REMEMBERED: usize = 4096;

/// Remembered bounds, by the bits of ε₀, n and the bits of δ.
type Bounds = Mutex<HashMap<(u64, u64, u64), f64>>;

/// [`central_epsilon`], remembered by its inputs.
fn remembered(eps0: f64, n: u64, delta: f64) -> f64 {
    static BOUNDS: OnceLock<Bounds> = OnceLock::new();
    let key = (eps0.to_bits(), n, delta.to_bits());
    let bounds = BOUNDS.get_or_init(Mutex::default);
    if let Some(&known) = bounds.lock().ok().as_ref().and_then(|b| b.get(&key)) {
        return known;
    }
    let computed = central_epsilon(eps0, n, delta);
    if let Ok(mut bounds) = bounds.lock() {
        if bounds.len() >= REMEMBERED {
            bounds.clear();
        }
        bounds.insert(key, computed);
    }
    computed
}

/// The smaller of the two bounds, at most ε₀.
pub fn central_epsilon(eps0: f64, n: u64, delta: f64) -> f64 {
    let closed = closed_form(eps0, n, delta).unwrap_or(eps0);
    numerical(eps0, n, delta).min(closed).min(eps0)
}

/// The closed form of Theorem 3.2, or `None` outside its regime ε₀ ≤ ln(n/(16·ln(4/δ))).
pub fn closed_form(eps0: f64, n: u64, delta: f64) -> Option<f64> {
    let n = n as f64;
    let log_term = (4.0 / delta).ln();
    if !(eps0 > 0.0 && delta > 0.0 && delta < 1.0) || eps0 > (n / (16.0 * log_term)).ln() {
        return None;
    }
    let a = 8.0 * (eps0.exp() * log_term / n).sqrt();
    let c = 8.0 * eps0.exp() / n;
    let e = (1.0 + a + c).ln();
    let b = 1.0 - (-eps0).exp();
    let d = 1.0 + (-eps0 - e).exp();
    Some((b / d * (a + c)).ln_1p())
}

/// Bisection steps of [`numerical`]: the result is within 2⁻²⁴ of ε₀ above the exact bound.
const BISECTION_STEPS: u32 = 24;

/// The numerical upper bound (Appendix E of the paper), at most ε₀.
pub fn numerical(eps0: f64, n: u64, delta: f64) -> f64 {
    if n < 2 || !(eps0 > 0.0 && delta > 0.0 && delta < 1.0) {
        return eps0;
    }
    let mut high = closed_form(eps0, n, delta).unwrap_or(eps0).min(eps0);
    let mut low = 0.0;
    // The bisection keeps `high` a value whose δ is below the target (or ε₀ itself).
    for _ in 0..BISECTION_STEPS {
        let mid = (low + high) / 2.0;
        if delta_at(n, eps0, mid, delta) < delta {
            high = mid;
        } else {
            low = mid;
        }
    }
    high
}

/// An upper bound on the δ for which the shuffled reports are (ε, δ)-indistinguishable, or
/// `cap` as soon as it exceeds `cap`.
fn delta_at(n: u64, eps0: f64, eps: f64, cap: f64) -> f64 {
    let p = (-eps0).exp();
    let Ok(clones) = Binomial::new(p, n - 1) else {
        return cap;
    };
    let mean = (n - 1) as f64 * p;
    let variance = mean * (1.0 - p);
    // Intervals of about a tenth of a standard deviation, outward from the mean.
    let step = ((variance.sqrt() / 10.0).ceil() as u64).max(1);
    let (mut delta_p, mut delta_q) = (0.0f64, 0.0f64);
    let start = mean.ceil() as u64;
    let mut above = start; // the next interval above starts here
    let mut below = start; // the next interval below ends just before here
    loop {
        for upward in [true, false] {
            let (lo, hi) = if upward {
                if above >= n {
                    continue;
                }
                let range = (above, (above + step - 1).min(n - 1));
                above = range.1 + 1;
                range
            } else {
                if below == 0 {
                    continue;
                }
                let range = (below.saturating_sub(step), below - 1);
                below = range.0;
                range
            };
            let mass: f64 = (lo..=hi).map(|c| clones.pmf(c)).sum();
            let worst = |p_side: bool| {
                divergence(lo, eps, eps0, p_side).max(divergence(hi, eps, eps0, p_side))
            };
            delta_p += mass * worst(true);
            delta_q += mass * worst(false);
        }
        // The mass not visited yet is charged in full, bounded by Bernstein's inequality on
        // each side; once it is a millionth of the δ asked about, the rest of the sum cannot
        // change the answer.
        let tail = |visited: bool, distance: f64| {
            if visited {
                0.0
            } else {
                (-distance * distance / (2.0 * (variance + distance / 3.0))).exp()
            }
        };
        let rest = tail(above >= n, above as f64 - mean) + tail(below == 0, mean - below as f64);
        let counted = delta_p.max(delta_q);
        if counted > cap {
            return cap;
        }
        if rest < cap * 1e-6 || (above >= n && below == 0) {
            return counted + rest;
        }
    }
}

/// The e^ε-divergence, given C = c, between `P = α·A + (1−α)·B` and `Q = α·B + (1−α)·A`
/// with `A = Bin(c, 1/2)`, `B = A + 1` and `α = e^ε₀/(e^ε₀ + 1)`: `D(P‖Q)` when `p_side`,
/// else `D(Q‖P)`. Clamped at 0 (a divergence is never negative).
fn divergence(c: u64, eps: f64, eps0: f64, p_side: bool) -> f64 {
    let alpha = eps0.exp() / (eps0.exp() + 1.0);
    let e = eps.exp();
    let effective = (((e + 1.0) * alpha - 1.0) / ((1.0 + e) * alpha - e)).ln();
    let beta = if p_side {
        1.0 / (effective.exp() + 1.0)
    } else {
        1.0 / ((-effective).exp() + 1.0)
    };
    let cutoff = beta * (c + 1) as f64;
    let p_mass = alpha * half_cdf(c, cutoff) + (1.0 - alpha) * half_cdf(c, cutoff - 1.0);
    let q_mass = (1.0 - alpha) * half_cdf(c, cutoff) + alpha * half_cdf(c, cutoff - 1.0);
    let value = if p_side {
        p_mass - e * q_mass
    } else {
        (1.0 - q_mass) - e * (1.0 - p_mass)
    };
    value.max(0.0)
}

/// `P[Bin(c, 1/2) ≤ x]` for a real x, to about 10⁻¹⁵: the divergence is a small difference
/// of two such values, so they must be exact to far more digits than `statrs`'s incomplete
/// beta gives for c in the hundreds of thousands.
fn half_cdf(c: u64, x: f64) -> f64 {
    if x < 0.0 {
        return 0.0;
    }
    let x = x.floor() as u64;
    if x >= c {
        1.0
    } else if 2 * x <= c {
        lower_tail(c, x)
    } else {
        // By symmetry, P[X > x] = P[X ≤ c − x − 1].
        1.0 - lower_tail(c, c - x - 1)
    }
}

/// `Σ_{j ≤ x} C(c, j)/2^c` for `x ≤ c/2`, summed from j = x downward with the ratio
/// `C(c, j−1)/C(c, j) = j/(c − j + 1)` until the terms no longer change the sum (about
/// 3·√c terms at the centre, fewer in the tail).
fn lower_tail(c: u64, x: u64) -> f64 {
    let mut term = (ln_binomial(c, x) - c as f64 * std::f64::consts::LN_2).exp();
    let mut sum = 0.0;
    let mut j = x;
    loop {
        sum += term;
        if j == 0 || term <= sum * 1e-17 {
            return sum;
        }
        term *= j as f64 / (c - j + 1) as f64;
        j -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (n, ε₀, δ, closed form, the reference code's numerical lower and upper bounds with 30
    /// bisection steps): computed with the authors' published implementation
    /// (`computeamplification.py`, github.com/apple/ml-shuffling-amplification, step 100).
    const REFERENCE: [(u64, f64, f64, f64, f64, f64); 6] = [
        (
            100_000,
            4.0,
            1e-6,
            0.537_804_024_237_451_2,
            0.167_457_397,
            0.172_433_871,
        ),
        (
            1_000_000,
            1.0,
            1e-6,
            0.023_806_402_804_371_914,
            0.004_334_198,
            0.004_581_199,
        ),
        (
            10_000,
            2.0,
            1e-6,
            0.523_550_977_234_548_5,
            0.152_311_635,
            0.158_549_668,
        ),
        (
            1_000_000,
            8.0,
            1e-8,
            1.087_510_551_677_382,
            0.535_553_245,
            0.649_670_943,
        ),
        (
            1_000,
            1.0,
            1e-6,
            0.649_537_552_410_775_8,
            0.175_091_541,
            0.206_432_319,
        ),
        (
            100_000,
            0.5,
            1e-6,
            0.031_914_552_225_181_435,
            0.005_809_939,
            0.005_956_529,
        ),
    ];

    #[test]
    fn the_closed_form_is_the_paper_s() {
        for (n, eps0, delta, expected, _, _) in REFERENCE {
            let got = closed_form(eps0, n, delta).unwrap();
            assert!(
                (got - expected).abs() < 1e-12,
                "{n} {eps0}: {got} vs {expected}"
            );
        }
    }

    #[test]
    fn the_numerical_bound_lies_between_the_reference_s_bounds() {
        for (n, eps0, delta, _, lower, upper) in REFERENCE {
            let got = numerical(eps0, n, delta);
            // Ours charges each interval at its worse end on both sides (the reference takes
            // one end twice on one side), with finer intervals: between its two bounds.
            assert!(
                got >= lower * (1.0 - 1e-6) && got <= upper * (1.0 + 1e-6),
                "{n} {eps0}: {got} not in [{lower}, {upper}]"
            );
        }
    }

    /// What one bound costs (run with `--ignored --nocapture` in release).
    #[test]
    #[ignore = "a timing, not a check"]
    fn cost() {
        for (n, eps0) in [(1_000u64, 1.0), (100_000, 2.0), (10_000_000, 1.0)] {
            let start = std::time::Instant::now();
            let bound = epoch_bound(eps0, n, 1);
            eprintln!("n {n} eps0 {eps0}: {bound:?} in {:?}", start.elapsed());
        }
    }

    #[test]
    fn without_enough_devices_there_is_no_amplification_and_the_bound_says_so() {
        // Outside the closed form's regime it gives nothing.
        assert_eq!(closed_form(4.0, 100, 1e-6), None);
        // Two devices at ε₀ = 4: the bound is ε₀ itself, and not called amplified.
        let bound = epoch_bound(4.0, 2, 1);
        assert_eq!(bound.epsilon, 4.0);
        assert!(!bound.amplified);
        // Large n: amplified, well below ε₀, never above it.
        let bound = epoch_bound(1.0, 1_000_000, 1);
        assert!(bound.amplified && bound.epsilon < 0.01, "{bound:?}");
        assert_eq!(bound.delta, 1e-7);
        // Several reports per device: counted as one randomizer of m·ε over n/m devices.
        let bound = epoch_bound(1.0, 1_000_000, 4);
        assert_eq!((bound.local_epsilon, bound.devices), (4.0, 250_000));
        // Devices are counted to three significant digits, rounded down.
        assert_eq!(epoch_bound(1.0, 123_456, 1).devices, 123_000);
        assert_eq!(three_digits_down(999), 999);
        assert_eq!(three_digits_down(1_009), 1_000);
        assert!(bound.epsilon > epoch_bound(1.0, 1_000_000, 1).epsilon);
    }
}
