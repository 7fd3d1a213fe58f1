//! RAPPOR decoding accuracy through the real encoder and decoder: n = 10^6 devices, 200 values
//! with Zipf(1.1) counts, m = 128, h = 2, 64 cohorts, ε∞ = 4, IRR p = 0.25, q = 0.75
//! (ε₁ ≈ 1.88), and 200 candidates no device holds.

use ldp_protocol::mechanism::RapporSpec;
use ldp_sim::population::Population;
use ldp_sim::rappor::{RapporRun, run};

fn settings(reps: u32, seed: u64) -> RapporRun {
    RapporRun {
        spec: RapporSpec::paper_example(),
        eps: 1.9,
        absent: 200,
        alpha: 0.05,
        reps,
        seed,
    }
}

fn population() -> (Population, Vec<String>) {
    Population::parse("zipf:1.1", 200, 1_000_000).unwrap()
}

/// The 20 most frequent values are detectable, and detected where the test has the power:
/// each one's expected z (true count over its standard error) exceeds the Bonferroni
/// threshold, and every one whose expected z exceeds it by 4 (power above 99.99%) is detected.
/// Every detected value's estimate lies within 5 of its standard errors of the true count.
/// (The 20th value sits about 1.5 standard errors above the threshold, so in some seeded runs
/// it is missed, as the power says it should be; see the 50-run test.)
#[test]
fn the_top_20_are_detected_where_the_test_has_power_and_estimates_are_within_5_standard_errors() {
    let (population, labels) = population();
    let (record, decoding) = run(&population, &labels, &settings(1, 1), &|| {}).unwrap();
    assert!((record.eps_one - 1.882).abs() < 1e-3, "{}", record.eps_one);
    assert!(record.eps_permanent <= 4.0);
    let threshold = decoding.z_threshold;
    for v in &record.values[..20] {
        let expected_z = v.truth as f64 / v.std_error;
        assert!(expected_z > threshold, "{v:?} is not detectable");
        if expected_z > threshold + 4.0 {
            assert!(v.detected, "{v:?} missed with power above 99.99%");
        }
    }
    assert_eq!(record.detected_within_5se, 1.0, "{:?}", record.values);
    assert!(decoding.detected >= 15);
}

/// Over 50 seeded runs at family-wise level α = 0.05 the Bonferroni test detects an absent
/// candidate in at most 7 runs: the 99.9% upper bound of Binomial(50, 0.05).
#[test]
fn absent_candidates_are_detected_in_at_most_7_of_50_runs() {
    let (population, labels) = population();
    let (record, _) = run(&population, &labels, &settings(50, 2), &|| {}).unwrap();
    println!(
        "50 runs: {} with an absent candidate detected; top-20 recall {:.3} (all 20 in {} runs); precision {:.4}; detected within 5 SE {:.4}",
        record.runs_with_false_detection,
        record.recall_top20,
        record.runs_with_top20_detected,
        record.precision,
        record.detected_within_5se
    );
    assert!(
        record.runs_with_false_detection <= 7,
        "{} runs with a false detection",
        record.runs_with_false_detection
    );
}
