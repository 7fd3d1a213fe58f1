//! The effective ε of the integer thresholds actually used never exceeds the configured ε,
//! checked in exact integer arithmetic for 1,000 ε values per mechanism and several k.

use ldp_protocol::{
    CampaignConfig, CampaignSpec, Domain, LikelihoodRatio, Mechanism, MechanismKind,
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
    for kind in MechanismKind::ALL {
        for k in [2u32, 16, 1024, 65_536] {
            for eps in epsilons() {
                let config = CampaignConfig::new(CampaignSpec::new(
                    "eps",
                    Mechanism::with_defaults(kind),
                    eps,
                    Domain::Range { k },
                ))
                .unwrap();
                let ratio = config.params().likelihood_ratio();
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
    assert_eq!(checked, 5 * 4 * 1000);
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
