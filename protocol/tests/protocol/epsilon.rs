//! The effective ε of the integer thresholds actually used never exceeds the configured ε,
//! checked in exact integer arithmetic for 1,000 ε values per mechanism and several k.

use ldp_protocol::{
    CampaignConfig, CampaignSpec, Domain, LikelihoodRatio, Mechanism, MechanismKind,
    MechanismParams,
};
use num_bigint::BigUint;

/// A number certainly below e^ε: the float exp rounded down by far more than its error,
/// as an exact dyadic rational `mantissa · 2^exponent`.
fn exp_lower_bound(eps: f64) -> (u64, i32) {
    let lower = eps.exp() * (1.0 - 2f64.powi(-50));
    let bits = lower.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32;
    assert!(exponent > 0, "normal number");
    let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
    (mantissa, exponent - 1075)
}

/// Exact check: numerator/denominator ≤ mantissa · 2^exponent.
fn ratio_at_most(ratio: &LikelihoodRatio, bound: (u64, i32)) -> bool {
    let num = BigUint::from(ratio.numerator.0) * BigUint::from(ratio.numerator.1);
    let den = BigUint::from(ratio.denominator.0) * BigUint::from(ratio.denominator.1);
    let (mantissa, exponent) = bound;
    let rhs = den * BigUint::from(mantissa);
    if exponent >= 0 {
        num <= rhs << exponent as usize
    } else {
        num << (-exponent) as usize <= rhs
    }
}

fn epsilons() -> impl Iterator<Item = f64> {
    // 1,000 values over (0, 20], irregularly spaced, including both ends' neighbourhoods.
    (1..=1000).map(|i| {
        let x = i as f64 / 1000.0;
        20.0 * x * x * (1.0 - 0.3 * (x * 17.0).sin().abs() * (1.0 - x))
    })
}

#[test]
fn effective_epsilon_never_exceeds_configured() {
    let mut checked = 0;
    let kinds: Vec<MechanismKind> = MechanismKind::EVERY
        .into_iter()
        .filter(|&kind| kind != MechanismKind::Rappor)
        .collect();
    for &kind in &kinds {
        for k in [2u32, 16, 1024, 65_536] {
            for eps in epsilons() {
                let domain = if kind.is_numeric() {
                    Domain::Numeric { lo: 0.0, hi: 1.0 }
                } else {
                    Domain::Range { k }
                };
                let config = CampaignConfig::new(CampaignSpec::new(
                    "eps",
                    Mechanism::with_defaults(kind),
                    eps,
                    domain,
                ))
                .unwrap();
                if let MechanismParams::Duchi(p)
                | MechanismParams::Piecewise(p)
                | MechanismParams::Hybrid(p) = config.params()
                {
                    for part in p.part_ratios() {
                        assert!(
                            ratio_at_most(&part, exp_lower_bound(eps)),
                            "{kind} eps={eps}: a part's effective epsilon exceeds configured"
                        );
                    }
                }
                let ratio = config.params().likelihood_ratio().unwrap();
                assert!(
                    ratio_at_most(&ratio, exp_lower_bound(eps)),
                    "{kind} k={k} eps={eps}: effective epsilon exceeds configured"
                );
                // And the thresholds are not needlessly conservative (the 2^-40 margin costs most
                // near p = 1, at ε = 20 and k = 2: about 5e-4).
                let effective = ratio.epsilon_upper_bound();
                assert!(
                    effective > eps - 1e-3,
                    "{kind} k={k} eps={eps}: effective {effective}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, kinds.len() * 4 * 1000);
}

/// The check above can fail: a threshold one part in 10^9 above the exact keep probability
/// exceeds ε.
#[test]
fn the_exact_check_catches_a_generous_threshold() {
    let eps: f64 = 1.0;
    let k = 16u32;
    let p = eps.exp() / (eps.exp() + f64::from(k) - 1.0);
    let generous = (p * (1.0 + 1e-9) * 18_446_744_073_709_551_616.0) as u64;
    let ratio = LikelihoodRatio {
        numerator: (u128::from(generous), u128::from(k - 1)),
        denominator: ((1u128 << 64) - u128::from(generous), 1),
    };
    assert!(!ratio_at_most(&ratio, exp_lower_bound(eps)));
}

/// Exact check: (num/den)^power ≤ mantissa · 2^exponent.
fn power_ratio_at_most(num: &BigUint, den: &BigUint, power: u32, bound: (u64, i32)) -> bool {
    let (mantissa, exponent) = bound;
    let lhs = num.pow(power);
    let rhs = den.pow(power) * BigUint::from(mantissa);
    if exponent >= 0 {
        lhs <= rhs << exponent as usize
    } else {
        lhs << (-exponent) as usize <= rhs
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    ldp_protocol::hash::mix64(*state)
}

fn unit(state: &mut u64) -> f64 {
    (splitmix(state) >> 11) as f64 / (1u64 << 53) as f64
}

/// RAPPOR's ε∞ = 2h·ln((1 − f/2)/(f/2)) and ε₁ = h·ln(q*(1 − p*)/(p*(1 − q*))), computed from
/// the integer thresholds in exact arithmetic, never exceed the targets: 1,000 random
/// parameter sets, half with the IRR derived from ε₁, half with p and q given.
#[test]
fn rappor_epsilons_never_exceed_their_targets() {
    use ldp_protocol::mechanism::{RapporParams, RapporSpec};
    let mut state = 2014;
    let mut checked = 0;
    while checked < 1000 {
        let hashes = 1 + (splitmix(&mut state) % 8) as u32;
        let eps_inf = 0.05 + 15.0 * unit(&mut state);
        let derived = checked % 2 == 0;
        let (p, q) = if derived {
            (None, None)
        } else {
            let p = 0.49 * unit(&mut state);
            (
                Some(p),
                Some(p + (1.0 - p) * (0.01 + 0.99 * unit(&mut state))),
            )
        };
        let eps_one = if derived {
            0.01 + eps_inf * unit(&mut state)
        } else {
            20.0
        };
        let spec = RapporSpec {
            bloom_bits: 128,
            hashes,
            cohorts: 64,
            f: None,
            epsilon_permanent: Some(eps_inf),
            p,
            q,
        };
        let params = match RapporParams::new(&spec, eps_one, 0) {
            Ok(params) => params,
            // Explicit (p, q) may exceed ε₁ = 20 for large h; the refusal is the right answer.
            Err(_) if !derived => continue,
            Err(e) => panic!("{spec:?} eps1={eps_one}: {e}"),
        };
        let t = BigUint::from(params.flip_half.0);
        let two64 = BigUint::from(1u8) << 64;
        assert!(
            power_ratio_at_most(&(two64 - &t), &t, 2 * hashes, exp_lower_bound(eps_inf)),
            "{spec:?}: epsilon_inf exceeds its target"
        );
        let (q_star, p_star) = params.bit_probabilities_exact();
        let two128 = BigUint::from(1u8) << 128;
        let num = BigUint::from(q_star) * (&two128 - BigUint::from(p_star));
        let den = BigUint::from(p_star) * (&two128 - BigUint::from(q_star));
        assert!(
            power_ratio_at_most(&num, &den, hashes, exp_lower_bound(eps_one)),
            "{spec:?} eps1={eps_one}: epsilon_1 exceeds its target"
        );
        // Not needlessly conservative when derived.
        if derived && params.p.0 > 0 {
            assert!(params.epsilon_one_upper_bound() > eps_one - 1e-6);
        }
        assert!(params.epsilon_permanent_upper_bound() > eps_inf - 1e-6);
        checked += 1;
    }
}

/// The RAPPOR check can fail: one more unit on q's threshold at the target breaks it.
#[test]
fn the_rappor_check_catches_a_generous_irr() {
    use ldp_protocol::mechanism::{RapporParams, RapporSpec};
    let spec = RapporSpec {
        bloom_bits: 128,
        hashes: 2,
        cohorts: 64,
        f: None,
        epsilon_permanent: Some(4.0),
        p: None,
        q: None,
    };
    let mut params = RapporParams::new(&spec, 1.0, 0).unwrap();
    // Make q a relative 1e-6 more generous.
    params.q = ldp_protocol::Threshold(params.q.0 + params.q.0 / 1_000_000);
    let (q_star, p_star) = params.bit_probabilities_exact();
    let two128 = BigUint::from(1u8) << 128;
    let num = BigUint::from(q_star) * (&two128 - BigUint::from(p_star));
    let den = BigUint::from(p_star) * (&two128 - BigUint::from(q_star));
    assert!(!power_ratio_at_most(&num, &den, 2, exp_lower_bound(1.0)));
}

/// The memoized mechanisms' permanent responses: the exact ratio of their integer thresholds
/// never exceeds the configured ε∞, for ε∞ over (0, 40] with each report's ε half of it.
/// (dBitFlip repeats one report exactly, so its ε∞ is its ε, checked above.)
#[test]
fn effective_epsilon_permanent_never_exceeds_configured() {
    use ldp_protocol::mechanism::{LolohaSpec, LongitudinalSpec};
    let mut checked = 0;
    for kind in MechanismKind::LONGITUDINAL {
        for k in [2u32, 16, 1024] {
            for eps_inf in epsilons().map(|e| 2.0 * e) {
                let epsilon_permanent = Some(eps_inf);
                let mechanism = match kind {
                    MechanismKind::Loloha => Mechanism::Loloha(LolohaSpec {
                        epsilon_permanent,
                        g: None,
                    }),
                    MechanismKind::LSue => Mechanism::LSue(LongitudinalSpec { epsilon_permanent }),
                    _ => Mechanism::LOue(LongitudinalSpec { epsilon_permanent }),
                };
                // A pair the thresholds cannot realize is refused by the constructor.
                let Ok(config) = CampaignConfig::new(CampaignSpec::new(
                    "eps",
                    mechanism,
                    eps_inf / 2.0,
                    Domain::Range { k },
                )) else {
                    continue;
                };
                let ratio = match config.params() {
                    MechanismParams::Loloha(p) => p.permanent_ratio(),
                    MechanismParams::LSue(p) | MechanismParams::LOue(p) => p.permanent_ratio(),
                    other => panic!("{other:?}"),
                };
                assert!(
                    ratio_at_most(&ratio, exp_lower_bound(eps_inf)),
                    "{kind} k={k} eps_inf={eps_inf}: effective epsilon_permanent exceeds configured"
                );
                checked += 1;
            }
        }
    }
    // Nearly every pair is realizable; the check ran on all of those.
    assert!(checked > 3 * 3 * 900, "{checked}");
}
