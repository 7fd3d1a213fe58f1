//! The expected gain of an attack and its standard deviation, in closed form (see the
//! parent module's docs).

use ldp_protocol::plausibility::OnesRange;
use ldp_protocol::{MechanismParams, PureParams};
use statrs::distribution::{Binomial, Discrete};

use super::Attack;
use crate::run::RunError;

/// What one fake report is expected to support, `E[S]` of the module docs, for a campaign
/// of `family` with pure parameters `pure`, and `r` targets out of `k` values.
pub(super) fn fake_support_expected(
    attack: Attack,
    family: Family,
    pure: PureParams,
    r: f64,
    k: f64,
) -> f64 {
    match (attack, family) {
        (Attack::RandomItem, _) => pure.p + (r - 1.0) * pure.q,
        (Attack::RandomValue, Family::Grr) => r / k,
        (Attack::RandomValue, Family::Unary) => r / 2.0,
        (Attack::RandomValue, Family::LocalHash { g }) => r / f64::from(g),
        (Attack::MaximalGain, Family::Grr) => 1.0,
        (Attack::MaximalGain, _) => r,
    }
}

/// The per-bit (p, q) the collector's estimator uses: for unary encoding those among the
/// reports in the honest range (`UnaryParams::counted`), else the pure protocol's.
pub(super) fn counted_pure(params: &MechanismParams) -> PureParams {
    match params {
        MechanismParams::Oue(p) | MechanismParams::Sue(p) => p.counted(),
        other => other.pure(),
    }
}

/// `E[S]` over the fake reports of a random-value or random-item attack that the collector
/// counts, for `params` of `family`, r targets out of k values.
pub(super) fn support_expected(
    attack: Attack,
    params: &MechanismParams,
    family: Family,
    r: f64,
    k: u32,
) -> f64 {
    match (attack, params) {
        (Attack::RandomValue, MechanismParams::Oue(p) | MechanismParams::Sue(p)) => {
            random_bits_support(p.honest, k, r)
        }
        _ => fake_support_expected(attack, family, counted_pure(params), r, f64::from(k)),
    }
}

/// `E[S]` over the random-value reports the collector counts, for unary encoding: k fair
/// random bits with X ones, counted when X is in `honest`, so `r·E[X | counted]/k` (the bits
/// are exchangeable).
fn random_bits_support(honest: OnesRange, k: u32, r: f64) -> f64 {
    let Ok(bits) = Binomial::new(0.5, u64::from(k)) else {
        return r / 2.0;
    };
    let (mut kept, mut ones) = (0.0, 0.0);
    for x in honest.lo..=honest.hi {
        let p = bits.pmf(u64::from(x));
        kept += p;
        ones += p * f64::from(x);
    }
    if kept == 0.0 {
        return 0.0;
    }
    r * ones / kept / f64::from(k)
}

/// The expected frequency gain `β·(E[S] − r·q)/(p − q) − β·f_T` (module docs).
pub fn expected_gain(pure: PureParams, beta: f64, support: f64, r: f64, target_freq: f64) -> f64 {
    beta * (support - r * pure.q) / (pure.p - pure.q) - beta * target_freq
}

/// The standard deviation of one repetition's gain around [`expected_gain`], for `counts`
/// (honest, fake) devices. The gain is `(C_f/N − C_h·m/(n·N))/(p − q)` with `C_h`, `C_f` the
/// honest and fake reports' summed support of the targets and N = n + m, so its variance is
/// `(m·Var S_f/N² + n·Var S_h·(m/(n·N))²)/(p − q)²`, where `Var S_h` is one honest report's
/// (values drawn from the population, reports independent: exact for GRR and unary
/// encoding, and for local hashing as far as the hash is pairwise independent; a fixed
/// population varies less, so this bounds it).
pub fn gain_sigma(
    pure: PureParams,
    family: Family,
    attack: Attack,
    counts: (u64, u64),
    setting: &Setting,
) -> f64 {
    let (n, m) = (counts.0 as f64, counts.1 as f64);
    let Setting {
        r, k, target_freq, ..
    } = *setting;
    let total = n + m;
    let PureParams { p, q } = pure;
    // One report of a device holding a target, and of one holding another value.
    let (var_in, var_out) = match family {
        Family::Grr => {
            let hit = p + (r - 1.0) * q;
            (hit * (1.0 - hit), r * q * (1.0 - r * q))
        }
        Family::Unary | Family::LocalHash { .. } => {
            (p * (1.0 - p) + (r - 1.0) * q * (1.0 - q), r * q * (1.0 - q))
        }
    };
    let honest = match family {
        // A Bernoulli whose mean mixes the two.
        Family::Grr => {
            let hit = target_freq * (p + (r - 1.0) * q) + (1.0 - target_freq) * r * q;
            hit * (1.0 - hit)
        }
        _ => {
            target_freq * var_in
                + (1.0 - target_freq) * var_out
                + (p - q) * (p - q) * target_freq * (1.0 - target_freq)
        }
    };
    let fake = match (attack, family) {
        (Attack::MaximalGain, _) => 0.0,
        (Attack::RandomItem, _) => var_in,
        (Attack::RandomValue, Family::Grr) => (r / k) * (1.0 - r / k),
        (Attack::RandomValue, Family::Unary) => r / 4.0,
        (Attack::RandomValue, Family::LocalHash { g }) => {
            let h = 1.0 / f64::from(g);
            r * h * (1.0 - h)
        }
    };
    let scale = m / (n * total);
    ((m * fake / (total * total) + n * honest * scale * scale) / ((p - q) * (p - q))).sqrt()
}

/// The paper's closed form: [`expected_gain`] with the ideal real-valued (p, q) for ε (for
/// OLH, g = e^ε + 1 rather than the integer a campaign uses), and a maximal-gain report
/// supporting every target.
pub fn paper_gain(params: &MechanismParams, eps: f64, attack: Attack, setting: &Setting) -> f64 {
    let e = eps.exp();
    let Setting {
        beta,
        r,
        k,
        target_freq,
    } = *setting;
    let (pure, family) = match params {
        MechanismParams::Grr(_) => {
            let denominator = e + k - 1.0;
            (
                PureParams {
                    p: e / denominator,
                    q: 1.0 / denominator,
                },
                Family::Grr,
            )
        }
        MechanismParams::Sue(_) => {
            let h = (eps / 2.0).exp();
            (
                PureParams {
                    p: h / (h + 1.0),
                    q: 1.0 / (h + 1.0),
                },
                Family::Unary,
            )
        }
        MechanismParams::Olh(p) | MechanismParams::Blh(p) => {
            let g = if p.binary { 2.0 } else { e + 1.0 };
            let pure = PureParams {
                p: e / (e + g - 1.0),
                q: 1.0 / g,
            };
            (pure, Family::LocalHash { g: p.g })
        }
        _ => (
            PureParams {
                p: 0.5,
                q: 1.0 / (e + 1.0),
            },
            Family::Unary,
        ),
    };
    let support = match (attack, family) {
        (Attack::RandomValue, Family::LocalHash { .. }) => r * pure.q,
        _ => fake_support_expected(attack, family, pure, r, k),
    };
    expected_gain(pure, beta, support, r, target_freq)
}

/// What an expected gain is computed for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Setting {
    /// Fake devices' share of all devices.
    pub beta: f64,
    /// Number of targets.
    pub r: f64,
    /// Domain size.
    pub k: f64,
    /// The targets' true frequency among honest devices.
    pub target_freq: f64,
}

/// The report structures the attacks know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// One index (GRR).
    Grr,
    /// k bits (SUE, OUE).
    Unary,
    /// A seed and a bucket of g (OLH, BLH).
    LocalHash {
        /// Hash range.
        g: u32,
    },
}

impl Family {
    /// The family of `params`, or why the attacks do not cover it.
    pub fn of(params: &MechanismParams) -> Result<Self, RunError> {
        match params {
            MechanismParams::Grr(_) => Ok(Self::Grr),
            MechanismParams::Sue(_) | MechanismParams::Oue(_) => Ok(Self::Unary),
            MechanismParams::Olh(p) | MechanismParams::Blh(p) => Ok(Self::LocalHash { g: p.g }),
            other => Err(RunError::Invalid(format!(
                "the attacks cover grr, sue, oue, olh and blh, not {}",
                other.kind()
            ))),
        }
    }
}
