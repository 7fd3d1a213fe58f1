//! Which mechanism to use for k values, n reports and ε: every frequency oracle ranked by its
//! predicted standard error per count (from the exact integer thresholds a campaign would
//! use), then report size, then server cost.
//!
//! The ranking reproduces DESIGN.md §4's rule of thumb — GRR when k < 3e^ε + 2, otherwise OUE
//! or OLH — from the formulas rather than by encoding the rule. Errors within
//! [`TIE_TOLERANCE`] of each other count as a tie, and the smaller report wins it (OLH's
//! fixed 16 bytes against OUE's k bits).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::campaign::CampaignConfig;
use crate::error::ConfigError;
use crate::mechanism::{Mechanism, MechanismKind};
use crate::privacy::Epsilon;

/// Relative difference in standard error treated as a tie.
pub const TIE_TOLERANCE: f64 = 0.02;

/// One mechanism's predicted cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Advice {
    /// The mechanism, with default parameters for (k, ε).
    pub mechanism: Mechanism,
    /// Predicted standard error of a count whose true value is n/k.
    pub std_error: f64,
    /// Bytes per encoded report.
    pub report_bytes: usize,
    /// Collector work, in words.
    pub server_cost: &'static str,
    /// Whether the report fits the size limit asked for.
    pub fits: bool,
}

impl Advice {
    /// The mechanism's kind.
    pub fn kind(&self) -> MechanismKind {
        self.mechanism.kind()
    }
}

fn server_cost(kind: MechanismKind) -> &'static str {
    match kind {
        MechanismKind::Grr => "O(1) per report, O(k) per estimate",
        MechanismKind::Sue | MechanismKind::Oue => "O(k/64) word operations per report",
        MechanismKind::Olh | MechanismKind::Blh => {
            "O(k) hashes per report (O(1) with a seed pool, then O(pool·k) per estimate)"
        }
        MechanismKind::Ss => "O(w) per report (w ≈ k/(e^ε+1)), O(k) per estimate",
        MechanismKind::Hr => "O(1) per report, O(k log k) per estimate (Walsh–Hadamard transform)",
        MechanismKind::Rappor => {
            "O(m/64) word operations per report, a regression over the candidates per estimate"
        }
        MechanismKind::Cms => "O(m/64) word operations per report, O(d) per candidate",
        MechanismKind::Hcms => "O(1) per report, O(d·m log m) once then O(d) per candidate",
        MechanismKind::Duchi | MechanismKind::Piecewise | MechanismKind::Hybrid => {
            "O(1) per report, O(grid) per estimate"
        }
        MechanismKind::Loloha => "O(k) hashes per report, O(k) per estimate",
        MechanismKind::LSue | MechanismKind::LOue => "O(k/64) word operations per report",
        MechanismKind::DBitFlip => "O(d) per report, O(points) per estimate",
    }
}

/// Every frequency oracle that accepts (k, ε), best first. A mechanism that cannot take k
/// (a unary encoding over more than its maximum) is left out.
pub fn rank(
    k: u32,
    n: u64,
    eps: Epsilon,
    max_report_bytes: Option<usize>,
) -> Result<Vec<Advice>, ConfigError> {
    let mut ranked = Vec::new();
    let mut first_error = None;
    for kind in MechanismKind::ALL {
        let mechanism = Mechanism::with_defaults(kind);
        let config = match CampaignConfig::range("advice", mechanism, eps.get(), k) {
            Ok(c) => c,
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        let params = config.params();
        let n = n as f64;
        let std_error = libm::sqrt(params.pure().count_variance(n, n / f64::from(k)));
        let report_bytes = params.report_bytes();
        ranked.push(Advice {
            mechanism: params.resolved(),
            std_error,
            report_bytes,
            server_cost: server_cost(kind),
            fits: max_report_bytes.is_none_or(|max| report_bytes <= max),
        });
    }
    if ranked.is_empty() {
        return Err(first_error.unwrap_or(ConfigError::DomainTooSmall(u64::from(k))));
    }
    ranked.sort_by(|a, b| {
        b.fits.cmp(&a.fits).then_with(|| {
            let tie =
                (a.std_error - b.std_error).abs() <= TIE_TOLERANCE * a.std_error.min(b.std_error);
            if tie {
                a.report_bytes.cmp(&b.report_bytes)
            } else {
                a.std_error.total_cmp(&b.std_error)
            }
        })
    });
    Ok(ranked)
}

/// The first-ranked mechanism and a one-line reason.
pub fn recommend(ranked: &[Advice], k: u32, eps: Epsilon) -> Option<(Advice, String)> {
    let best = ranked.first()?.clone();
    let name = best.kind().name();
    let threshold = 3.0 * libm::exp(eps.get()) + 2.0;
    let mut reason = if !best.fits {
        format!("{name}: no mechanism fits the report size limit; {name} has the smallest error")
    } else if best.kind() == MechanismKind::Grr {
        format!(
            "{name}: with k = {k} below 3e^ε + 2 ≈ {threshold:.1}, direct randomized response has the lowest error (±{:.0} per count) and {}-byte reports",
            best.std_error, best.report_bytes
        )
    } else {
        format!(
            "{name}: k = {k} is above 3e^ε + 2 ≈ {threshold:.1}, so it has the lowest error (±{:.0} per count) with {}-byte reports",
            best.std_error, best.report_bytes
        )
    };
    if let Some(runner_up) = ranked.get(1)
        && runner_up.fits
        && (runner_up.std_error - best.std_error).abs()
            <= TIE_TOLERANCE * best.std_error.min(runner_up.std_error)
    {
        reason.push_str(&format!(
            "; {} is as accurate but sends {} bytes",
            runner_up.kind().name(),
            runner_up.report_bytes
        ));
    }
    Some((best, reason))
}

/// How many standard errors a count must reach to be told from zero in the resolution
/// warning: 3 (a one-sided test at about the 0.1% level).
pub const RESOLVABLE_SIGMAS: f64 = 3.0;

/// How far beyond the resolvable number of values k must be before [`resolution_warning`]
/// speaks: ten times.
pub const RESOLUTION_SLACK: f64 = 10.0;

/// Whether k is far beyond what n reports at the pick's error can resolve. A value is told
/// from zero when its count reaches [`RESOLVABLE_SIGMAS`] standard errors (`best.std_error`),
/// so at most `n / (3σ)` values can each hold that many reports; a domain more than
/// [`RESOLUTION_SLACK`] times larger leaves nearly every value indistinguishable from zero.
/// `None` when k is within reach.
pub fn resolution_warning(best: &Advice, k: u32, n: u64) -> Option<String> {
    let threshold = RESOLVABLE_SIGMAS * best.std_error;
    let resolvable = n as f64 / threshold.max(f64::MIN_POSITIVE);
    if f64::from(k) <= RESOLUTION_SLACK * resolvable {
        return None;
    }
    Some(format!(
        "k = {k} is far beyond what {n} reports can resolve at this ε: a count's standard error is \
         about ±{:.0}, so a value needs about {threshold:.0} reports to be told from zero and at \
         most {:.0} values can have that many; expect only the largest values to show. Use \
         fewer values (bucket or truncate the domain), more reports, or a larger ε.",
        best.std_error,
        libm::floor(resolvable)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_far_beyond_the_reports_is_warned_of() {
        let eps = e(1.0);
        // 10⁶ reports at ε = 1 resolve a few hundred values (σ ≈ 2,500 per count).
        let ranked = rank(256, 1_000_000, eps, None).unwrap();
        assert_eq!(resolution_warning(&ranked[0], 256, 1_000_000), None);
        let ranked = rank(1 << 20, 1_000_000, eps, None).unwrap();
        let warning = resolution_warning(&ranked[0], 1 << 20, 1_000_000).unwrap();
        assert!(warning.contains("far beyond"), "{warning}");
        // Enough reports bring the same domain back within reach.
        let n = 1_000_000_000_000;
        let ranked = rank(1 << 20, n, eps, None).unwrap();
        assert_eq!(resolution_warning(&ranked[0], 1 << 20, n), None);
    }

    fn e(eps: f64) -> Epsilon {
        Epsilon::new(eps).unwrap()
    }

    #[test]
    fn the_ranking_follows_the_rule_of_thumb() {
        // (k, ε) away from the boundary k = 3e^ε + 2 on both sides. Among GRR, OUE and OLH
        // the rule of thumb holds; Subset Selection, when present, is never worse than the
        // rule's pick (it is the optimum at small k); Hadamard Response ties BLH at best.
        let cases = [
            (2u32, 0.5f64),
            (4, 0.5),
            (8, 1.0),
            (16, 2.0),
            (32, 3.0),
            (100, 4.0),
            (12, 0.5),
            (20, 1.0),
            (64, 2.0),
            (1024, 1.0),
            (1024, 4.0),
            (1 << 16, 2.0),
            (300, 4.0),
        ];
        for (k, eps) in cases {
            let ranked = rank(k, 1_000_000, e(eps), None).unwrap();
            let classic: Vec<&Advice> = ranked
                .iter()
                .filter(|a| !matches!(a.kind(), MechanismKind::Ss | MechanismKind::Hr))
                .collect();
            let best = classic[0].kind();
            let grr_wins = f64::from(k) < 3.0 * libm::exp(eps) + 2.0;
            if grr_wins {
                assert_eq!(best, MechanismKind::Grr, "k={k} ε={eps}");
            } else {
                assert!(
                    matches!(best, MechanismKind::Oue | MechanismKind::Olh),
                    "k={k} ε={eps}: {best:?}"
                );
            }
            assert!(
                ranked[0].std_error <= classic[0].std_error * (1.0 + TIE_TOLERANCE),
                "k={k} ε={eps}"
            );
            assert!(recommend(&ranked, k, e(eps)).is_some());
        }
    }

    /// The pick's predicted variance is within 1.05× of the best of every implemented
    /// frequency oracle, computed here from each mechanism's own parameters (not from the
    /// ranking), over k ∈ {16, 64, 1024, 65536} × ε ∈ {0.5, 1, 2, 4}.
    #[test]
    fn the_pick_is_within_five_percent_of_the_best_variance() {
        let n = 1_000_000u64;
        for k in [16u32, 64, 1024, 65_536] {
            for eps in [0.5, 1.0, 2.0, 4.0] {
                let variance = |mechanism: Mechanism| {
                    CampaignConfig::range("check", mechanism, eps, k)
                        .ok()
                        .map(|c| {
                            c.params()
                                .pure()
                                .count_variance(n as f64, n as f64 / f64::from(k))
                        })
                };
                let best = MechanismKind::ALL
                    .into_iter()
                    .filter_map(|kind| variance(Mechanism::with_defaults(kind)))
                    .fold(f64::INFINITY, f64::min);
                let ranked = rank(k, n, e(eps), None).unwrap();
                let pick = variance(ranked[0].mechanism.clone()).unwrap();
                assert!(
                    pick <= 1.05 * best,
                    "k={k} ε={eps}: {} has variance {pick:.0}, best {best:.0}",
                    ranked[0].kind()
                );
            }
        }
    }

    #[test]
    fn a_report_size_limit_is_honoured() {
        let ranked = rank(4096, 1_000_000, e(1.0), Some(64)).unwrap();
        assert!(ranked[0].fits && ranked[0].report_bytes <= 64);
        assert!(!ranked.last().unwrap().fits);
    }
}
