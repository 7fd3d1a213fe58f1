//! Means of numbers: Duchi et al.'s one-bit mechanism, the Piecewise Mechanism and their
//! Hybrid, every output from a fixed finite grid.
//!
//! Duchi, Jordan, Wainwright, "Minimax optimal procedures for locally private estimation",
//! JASA 2018; Wang et al., "Collecting and Analyzing Multidimensional Data with Local
//! Differential Privacy", ICDE 2019 (PM and HM). A value x of the campaign's range [lo, hi] is
//! clamped into it and scaled to `t ∈ [−1, 1]`; the device reports one grid cell, and the
//! collector's estimate of the mean of t is the mean of the cells' values.
//!
//! **The discrete piecewise mechanism** ([`Piecewise`]) has G cells with values
//! `y_i = λ·(i + ½ − G/2)` and a block of W consecutive cells starting at s. The device reports
//! a uniform cell of the block with probability α, otherwise a uniform cell outside it, so
//! every cell of the block is `α(G − W)/((1 − α)W)` times as likely as every cell outside:
//! α is the largest threshold with that ratio ≤ e^ε. `E[y | s] = β·λ·(s + W/2 − G/2)` with
//! `β = α − (1 − α)W/(G − W)`, so `λ = 2/(β(G − W))` and a start `s(t) = (t + 1)/2·(G − W)`
//! make the report unbiased: s(t) is rounded to one of its two neighbouring integers at random
//! (the upper with probability equal to the fraction), which keeps `E[y | t] = t` exactly and
//! leaves every cell's probability between the two bounds, so the ratio (and ε) is unchanged.
//! - **Duchi** is the case G = 2, W = 1: output `±1/(2α − 1) = ±(e^ε + 1)/(e^ε − 1)`.
//! - **Piecewise** takes `W = G/(e^{ε/2} + 1)` rounded: in-block probability
//!   `e^{ε/2}/(e^{ε/2} + 1)` and block length `(C − 1)/(2C)` of the range as in the paper
//!   (`C = (e^{ε/2} + 1)/(e^{ε/2} − 1)`). As G grows its variance tends to the paper's
//!   `t²/(e^{ε/2} − 1) + (e^{ε/2} + 3)/(3(e^{ε/2} − 1)²)`; at the default G = 1024 it is within
//!   1% of it for ε ≤ 4 and 3% at ε = 8, where the block is only about 18 cells
//!   ([`Piecewise::variance`] is exact for the grid).
//! - **Hybrid** reports through Piecewise with probability `1 − e^{−ε/2}` when ε > ε* ≈ 0.61,
//!   through Duchi otherwise; the choice does not depend on the value, so each report is ε-LDP
//!   and the variance is the mixture of the two.
//!
//! **The grid's effect.** On ε: none beyond the threshold rounding (the ratio of the integers
//! used is checked exactly). On bias: the random rounding of s(t) and the choice of block cell
//! are exact; what is inexact is computing s(t) in floating point (relative error 2⁻⁵²) and
//! truncating its fraction to a 64-bit threshold (2⁻⁶⁴), which move `E[y]` by less than 10⁻¹⁴
//! of the range. What the grid costs is variance, which [`Piecewise::variance`] gives exactly.
//!
//! Report: the cell index (`u32`); Hybrid numbers Duchi's two cells after Piecewise's G.

use crate::error::ConfigError;
use crate::error::ReportError;
use crate::math::{LikelihoodRatio, PureParams, Threshold};
use crate::mechanism::family::{MechanismFamily, check_index, wrong_variant};
use crate::mechanism::{GridSpec, Mechanism, MechanismKind};
use crate::report::Report;

/// Piecewise cells when none are given.
pub const DEFAULT_GRID: u32 = 1024;
/// Most Piecewise cells.
pub const MAX_GRID: u32 = 1 << 16;
/// Below this ε the Hybrid mechanism is pure Duchi (Wang et al.'s ε*).
pub const HYBRID_THRESHOLD: f64 = 0.610_986_5;

/// One discrete piecewise mechanism: G cells, a block of W.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piecewise {
    /// Cells G.
    pub cells: u32,
    /// Block length W, `1 ≤ W < G`.
    pub block: u32,
    /// Probability α of reporting inside the block (rounded down).
    pub keep: Threshold,
}

impl Piecewise {
    /// G cells and a block of W at ε.
    pub fn new(epsilon: f64, cells: u32, block: u32) -> Result<Self, ConfigError> {
        if !(2..=MAX_GRID).contains(&cells) || block == 0 || block >= cells {
            return Err(ConfigError::InvalidNumeric(
                "the grid needs 2 to 65536 cells and a block of 1 to cells − 1",
            ));
        }
        let e = libm::exp(epsilon);
        let (w, g) = (f64::from(block), f64::from(cells));
        let piecewise = Self {
            cells,
            block,
            keep: Threshold::at_most(e * w / (e * w + g - w)),
        };
        let scale = piecewise.scale();
        if !(scale.is_finite() && scale > 0.0) {
            return Err(ConfigError::InvalidNumeric(
                "epsilon too small for this grid",
            ));
        }
        Ok(piecewise)
    }

    /// Cell spacing `λ = 2/(β(G − W))`, `β = α − (1 − α)W/(G − W)`, from the threshold used.
    pub fn scale(&self) -> f64 {
        let (w, g) = (f64::from(self.block), f64::from(self.cells));
        let beta = self.keep.probability() - self.keep.complement() * w / (g - w);
        2.0 / (beta * (g - w))
    }

    /// The Duchi mechanism: two cells, a block of one.
    pub fn duchi(epsilon: f64) -> Result<Self, ConfigError> {
        Self::new(epsilon, 2, 1)
    }

    /// The Piecewise Mechanism's shape on G cells: `W = G/(e^{ε/2} + 1)` rounded, within
    /// `1..G`.
    pub fn paper_shape(epsilon: f64, cells: u32) -> Result<Self, ConfigError> {
        let w = libm::round(f64::from(cells) / (libm::exp(epsilon / 2.0) + 1.0));
        let w = w.clamp(1.0, f64::from(cells.saturating_sub(1)).max(1.0)) as u32;
        Self::new(epsilon, cells, w)
    }

    /// The value of cell i, in the scaled units of t.
    #[inline]
    pub fn value(&self, cell: u32) -> f64 {
        self.scale() * (f64::from(cell) + 0.5 - f64::from(self.cells) / 2.0)
    }

    /// The continuous block start for t ∈ [−1, 1]: `(t + 1)/2·(G − W)`.
    #[inline]
    pub fn start(&self, t: f64) -> f64 {
        (t + 1.0) / 2.0 * f64::from(self.cells - self.block)
    }

    /// `P[cell in block]/P[cell outside] = t_α(G − W)/((2^64 − t_α)·W)`, exactly.
    pub fn likelihood_ratio(&self) -> LikelihoodRatio {
        LikelihoodRatio {
            numerator: (u128::from(self.keep.0), u128::from(self.cells - self.block)),
            denominator: (
                (1u128 << 64) - u128::from(self.keep.0),
                u128::from(self.block),
            ),
        }
    }

    /// `E[y² | s]` for an integer block start s.
    fn second_moment(&self, s: u32) -> f64 {
        let squares = |from: u32, to: u32| -> f64 {
            (from..to)
                .map(|i| {
                    let y = self.value(i);
                    y * y
                })
                .sum()
        };
        let all = squares(0, self.cells);
        let inside = squares(s, s + self.block);
        let alpha = self.keep.probability();
        alpha * inside / f64::from(self.block)
            + self.keep.complement() * (all - inside) / f64::from(self.cells - self.block)
    }

    /// The exact variance of one report for input t ∈ [−1, 1] (in units of t).
    pub fn variance(&self, t: f64) -> f64 {
        let start = self.start(t.clamp(-1.0, 1.0));
        let low = libm::floor(start);
        let fraction = start - low;
        let low = low as u32;
        let high = (low + 1).min(self.cells - self.block);
        (1.0 - fraction) * self.second_moment(low) + fraction * self.second_moment(high) - t * t
    }
}

/// Which numeric mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumericKind {
    /// Duchi et al.'s one-bit mechanism.
    Duchi,
    /// The Piecewise Mechanism.
    Piecewise,
    /// Piecewise with probability `1 − e^{−ε/2}` (ε > ε*), else Duchi.
    Hybrid,
}

/// Validated numeric-mean parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumericParams {
    /// Which mechanism.
    pub kind: NumericKind,
    /// The Piecewise part (Piecewise, Hybrid).
    pub piecewise: Option<Piecewise>,
    /// The Duchi part (Duchi, Hybrid).
    pub duchi: Option<Piecewise>,
    /// Probability of reporting through Piecewise (Hybrid; 0 when ε ≤ ε*).
    pub piecewise_share: Threshold,
}

impl NumericParams {
    /// `kind` at ε from an operator's grid (Duchi has its two cells; the others default to
    /// [`DEFAULT_GRID`]).
    pub fn from_grid(kind: NumericKind, epsilon: f64, grid: GridSpec) -> Result<Self, ConfigError> {
        let cells = match kind {
            NumericKind::Duchi => 2,
            NumericKind::Piecewise | NumericKind::Hybrid => grid.grid.unwrap_or(DEFAULT_GRID),
        };
        Self::new(kind, epsilon, cells)
    }

    /// The (in-block, out-of-block) probabilities of the least private part.
    pub fn pure(&self) -> PureParams {
        let part = self.piecewise.or(self.duchi);
        let keep = part.map_or(0.5, |x| x.keep.probability());
        PureParams {
            p: keep,
            q: 1.0 - keep,
        }
    }

    /// `kind` at ε with `grid` Piecewise cells.
    pub fn new(kind: NumericKind, epsilon: f64, grid: u32) -> Result<Self, ConfigError> {
        let piecewise = match kind {
            NumericKind::Duchi => None,
            NumericKind::Piecewise | NumericKind::Hybrid => {
                Some(Piecewise::paper_shape(epsilon, grid)?)
            }
        };
        let duchi = match kind {
            NumericKind::Piecewise => None,
            NumericKind::Duchi | NumericKind::Hybrid => Some(Piecewise::duchi(epsilon)?),
        };
        let piecewise_share = match kind {
            NumericKind::Hybrid if epsilon > HYBRID_THRESHOLD => {
                Threshold::at_most(1.0 - libm::exp(-epsilon / 2.0))
            }
            _ => Threshold(0),
        };
        Ok(Self {
            kind,
            piecewise,
            duchi,
            piecewise_share,
        })
    }

    /// Cells of a report: Piecewise's G, then Duchi's 2.
    pub fn cells(&self) -> u32 {
        self.piecewise.map_or(0, |p| p.cells) + self.duchi.map_or(0, |d| d.cells)
    }

    /// The value of report cell `cell`, in units of t (0 beyond the cells).
    pub fn value(&self, cell: u32) -> f64 {
        let offset = self.piecewise.map_or(0, |p| p.cells);
        match (self.piecewise, self.duchi) {
            (Some(p), _) if cell < offset => p.value(cell),
            (_, Some(d)) if cell - offset < d.cells => d.value(cell - offset),
            _ => 0.0,
        }
    }

    /// Probability of reporting through Piecewise: 1, 0, or Hybrid's share.
    pub fn piecewise_probability(&self) -> f64 {
        match (self.piecewise, self.duchi) {
            (Some(_), None) => 1.0,
            (None, _) => 0.0,
            (Some(_), Some(_)) => self.piecewise_share.probability(),
        }
    }

    /// The exact variance of one report for input t (units of t).
    pub fn variance(&self, t: f64) -> f64 {
        let share = self.piecewise_probability();
        let p = self.piecewise.map_or(0.0, |p| p.variance(t));
        let d = self.duchi.map_or(0.0, |d| d.variance(t));
        share * p + (1.0 - share) * d
    }

    /// The largest variance over 65 evenly spaced t ∈ [−1, 1], the ends and the middle
    /// included: the worst case up to the grid's small ripple (the continuous variance is
    /// quadratic in t, so its maximum lies at an end or the middle).
    pub fn worst_variance(&self) -> f64 {
        (0..=64)
            .map(|i| self.variance(-1.0 + f64::from(i) / 32.0))
            .fold(0.0, f64::max)
    }

    /// The worst ratio of the parts used, exactly (Hybrid's coin does not depend on the value,
    /// so a report is as private as its least private part).
    pub fn likelihood_ratio(&self) -> LikelihoodRatio {
        let ratios = [
            self.piecewise.map(|p| p.likelihood_ratio()),
            self.duchi.map(|d| d.likelihood_ratio()),
        ];
        ratios
            .into_iter()
            .flatten()
            .max_by(|a, b| a.epsilon_upper_bound().total_cmp(&b.epsilon_upper_bound()))
            .unwrap_or(LikelihoodRatio {
                numerator: (1, 1),
                denominator: (1, 1),
            })
    }

    /// Every part's exact ratio (for checks that must not rely on the float comparison above).
    pub fn part_ratios(&self) -> impl Iterator<Item = LikelihoodRatio> {
        [self.piecewise, self.duchi]
            .into_iter()
            .flatten()
            .map(|p| p.likelihood_ratio())
    }
}

impl MechanismFamily for NumericParams {
    fn kind(&self) -> MechanismKind {
        match self.kind {
            NumericKind::Duchi => MechanismKind::Duchi,
            NumericKind::Piecewise => MechanismKind::Piecewise,
            NumericKind::Hybrid => MechanismKind::Hybrid,
        }
    }

    fn resolved(&self) -> Mechanism {
        let grid = GridSpec {
            grid: self.piecewise.map(|pm| pm.cells),
        };
        match self.kind {
            NumericKind::Duchi => Mechanism::Duchi,
            NumericKind::Piecewise => Mechanism::Piecewise(grid),
            NumericKind::Hybrid => Mechanism::Hybrid(grid),
        }
    }

    /// 0: a numeric domain has no values to count.
    fn k(&self) -> u32 {
        0
    }

    fn pure(&self) -> PureParams {
        NumericParams::pure(self)
    }

    fn likelihood_ratio(&self) -> Option<LikelihoodRatio> {
        Some(NumericParams::likelihood_ratio(self))
    }

    /// Tag and cell: 8 bytes.
    fn report_bytes(&self) -> usize {
        4 + 4
    }

    /// The cell is below the grid's cells.
    fn check_report(&self, report: &Report) -> Result<(), ReportError> {
        let r = match (self.kind, report) {
            (NumericKind::Duchi, Report::Duchi(r))
            | (NumericKind::Piecewise, Report::Piecewise(r))
            | (NumericKind::Hybrid, Report::Hybrid(r)) => r,
            (_, other) => return Err(wrong_variant(self, other)),
        };
        check_index(r.cell, self.cells())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper_pm_variance(eps: f64, t: f64) -> f64 {
        let e = (eps / 2.0).exp();
        t * t / (e - 1.0) + (e + 3.0) / (3.0 * (e - 1.0) * (e - 1.0))
    }

    #[test]
    fn duchi_matches_the_paper() {
        let eps = 1.0f64;
        let d = Piecewise::duchi(eps).unwrap();
        let b = (eps.exp() + 1.0) / (eps.exp() - 1.0);
        assert!((d.value(1) - b).abs() < 1e-9 && (d.value(0) + b).abs() < 1e-9);
        for t in [-1.0, -0.3, 0.0, 0.8, 1.0] {
            assert!((d.variance(t) - (b * b - t * t)).abs() < 1e-9, "t={t}");
        }
    }

    #[test]
    fn the_default_grid_is_close_to_the_continuous_piecewise_mechanism() {
        for (eps, tolerance) in [
            (0.5, 0.01),
            (1.0, 0.01),
            (2.0, 0.01),
            (4.0, 0.01),
            (8.0, 0.03),
        ] {
            let p = Piecewise::paper_shape(eps, DEFAULT_GRID).unwrap();
            for t in [-1.0, -0.5, 0.0, 0.25, 1.0] {
                let ratio = p.variance(t) / paper_pm_variance(eps, t);
                assert!((ratio - 1.0).abs() < tolerance, "ε={eps} t={t}: {ratio}");
            }
        }
    }

    #[test]
    fn hybrid_mixes_as_the_paper_says() {
        let low = NumericParams::new(NumericKind::Hybrid, 0.5, DEFAULT_GRID).unwrap();
        assert_eq!(low.piecewise_probability(), 0.0);
        let high = NumericParams::new(NumericKind::Hybrid, 2.0, DEFAULT_GRID).unwrap();
        let share = high.piecewise_probability();
        assert!((share - (1.0 - (-1.0f64).exp())).abs() < 1e-12);
        // The hybrid's worst case is below both parts' worst cases.
        let pm = NumericParams::new(NumericKind::Piecewise, 2.0, DEFAULT_GRID).unwrap();
        let duchi = NumericParams::new(NumericKind::Duchi, 2.0, DEFAULT_GRID).unwrap();
        assert!(high.worst_variance() < pm.worst_variance());
        assert!(high.worst_variance() < duchi.worst_variance());
        assert_eq!(high.cells(), DEFAULT_GRID + 2);
        assert!((high.value(DEFAULT_GRID + 1) - duchi.value(1)).abs() < 1e-12);
    }
}
