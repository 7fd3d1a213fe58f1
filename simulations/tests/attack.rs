//! The poisoning attacks against their closed forms (Cao, Jia, Gong 2021): fixed seeds,
//! tolerances of 5 standard deviations of the measured gain (`GainRecord::gain_sigma`).

use ldp_protocol::{Mechanism, MechanismKind};
use ldp_sim::attack::{Attack, AttackPlan, GainRecord, simulate_attack};
use ldp_sim::population::Population;

fn attack(
    kind: MechanismKind,
    attack: Attack,
    eps: f64,
    k: u32,
    beta: f64,
    targets: &[u32],
) -> GainRecord {
    let population = Population::zipf(k, 1.1, 100_000);
    let plan = AttackPlan {
        attack,
        beta,
        targets: targets.to_vec(),
    };
    simulate_attack(
        &population,
        &Mechanism::with_defaults(kind),
        eps,
        &plan,
        4,
        7,
    )
    .unwrap()
}

fn assert_within_5_sigma(record: &GainRecord, closed_form: f64) {
    let sigma = record.gain_sigma;
    assert!(sigma > 0.0, "{record:?}");
    assert!(
        (record.gain - closed_form).abs() <= 5.0 * sigma,
        "{} {} β = {}: measured {} against {closed_form} ± 5 × {sigma}",
        record.mechanism,
        record.attack.name(),
        record.beta,
        record.gain,
    );
}

/// The paper's maximal-gain formulas, written out: GRR `β(1 − f_T) + β(k − r)/(e^ε − 1)`,
/// OUE and OLH `β(2r·e^ε/(e^ε − 1) − f_T)`.
fn paper_mga(kind: MechanismKind, eps: f64, k: u32, record: &GainRecord) -> f64 {
    let (beta, f, r) = (
        record.beta,
        record.target_frequency,
        record.targets.len() as f64,
    );
    let e = eps.exp();
    match kind {
        MechanismKind::Grr => beta * (1.0 - f) + beta * (f64::from(k) - r) / (e - 1.0),
        _ => beta * (2.0 * r * e / (e - 1.0) - f),
    }
}

#[test]
fn the_maximal_gain_attack_reaches_the_papers_closed_form() {
    // OLH at e^ε = 3 and 7, where the campaign's integer g = e^ε + 1 is the paper's.
    let points = [
        (MechanismKind::Grr, 1.0, 64, 0.001, vec![63]),
        (MechanismKind::Grr, 2.0, 256, 0.01, vec![255, 254]),
        (MechanismKind::Grr, 0.5, 32, 0.05, vec![31, 30, 29]),
        (MechanismKind::Oue, 1.0, 64, 0.001, vec![63]),
        (MechanismKind::Oue, 2.0, 256, 0.01, vec![255, 254]),
        (MechanismKind::Oue, 0.5, 32, 0.05, vec![31, 30, 29]),
        (MechanismKind::Olh, 3_f64.ln(), 64, 0.001, vec![63]),
        (MechanismKind::Olh, 7_f64.ln(), 256, 0.01, vec![255, 254]),
        (MechanismKind::Olh, 3_f64.ln(), 32, 0.05, vec![31, 30, 29]),
    ];
    for (kind, eps, k, beta, targets) in points {
        let record = attack(kind, Attack::MaximalGain, eps, k, beta, &targets);
        let closed_form = paper_mga(kind, eps, k, &record);
        assert!(
            (record.gain_paper - closed_form).abs() < 1e-12,
            "{record:?}"
        );
        // The campaign's exact parameters: integer thresholds, and for OUE the per-bit
        // probabilities among reports in the honest range (within 1e-6 of the thresholds').
        assert!(
            (record.gain_expected - closed_form).abs() < 1e-5 * closed_form,
            "{record:?}"
        );
        let per_report = if kind == MechanismKind::Grr {
            1.0
        } else {
            targets.len() as f64
        };
        assert!(
            (record.fake_support - per_report).abs() < 1e-12,
            "{record:?}"
        );
        assert_within_5_sigma(&record, closed_form);
    }
}

#[test]
fn random_item_and_random_value_attacks_reach_their_expected_gain() {
    for kind in [
        MechanismKind::Grr,
        MechanismKind::Oue,
        MechanismKind::Sue,
        MechanismKind::Olh,
        MechanismKind::Blh,
    ] {
        for which in [Attack::RandomItem, Attack::RandomValue] {
            let record = attack(kind, which, 1.0, 64, 0.02, &[63, 62]);
            if which == Attack::RandomItem {
                // Honest encodings of targets: the fakes add β of frequency, less β·f_T.
                let closed_form = record.beta * (1.0 - record.target_frequency);
                assert!(
                    (record.gain_expected - closed_form).abs() < 1e-9,
                    "{record:?}"
                );
            }
            assert_within_5_sigma(&record, record.gain_expected);
        }
    }
}

#[test]
fn no_fake_device_gains_nothing_and_bad_plans_are_refused() {
    let record = attack(MechanismKind::Oue, Attack::MaximalGain, 1.0, 16, 0.0, &[15]);
    assert_eq!((record.fake, record.gain), (0, 0.0));
    let population = Population::zipf(16, 1.1, 1_000);
    let plan = |beta, targets: Vec<u32>| AttackPlan {
        attack: Attack::MaximalGain,
        beta,
        targets,
    };
    for bad in [
        plan(1.0, vec![3]),
        plan(-0.1, vec![3]),
        plan(0.1, vec![]),
        plan(0.1, vec![16]),
    ] {
        assert!(simulate_attack(&population, &Mechanism::Grr, 1.0, &bad, 1, 1).is_err());
    }
    let hr = simulate_attack(&population, &Mechanism::Hr, 1.0, &plan(0.1, vec![3]), 1, 1);
    assert!(hr.unwrap_err().to_string().contains("not hr"));
}
