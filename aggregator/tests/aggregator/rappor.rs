//! RAPPOR counters: exact folding, merging and snapshots; unbiased per-cohort bit estimates;
//! decoding candidates given at query time.

use ldp_aggregator::estimate::candidates::MAX_CANDIDATES;
use ldp_aggregator::{Accumulator, AggregateError, Alpha, Counters};
use ldp_client::encoder::rappor::encode_once;
use ldp_protocol::mechanism::rappor::bloom_filter;
use ldp_protocol::mechanism::{MechanismParams, RapporParams, RapporSpec};
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, RapporReport, Report};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

fn config(cohorts: u32, domain: Domain) -> CampaignConfig {
    CampaignConfig::new(CampaignSpec::new(
        "rappor",
        Mechanism::Rappor(RapporSpec {
            cohorts,
            ..RapporSpec::paper_example()
        }),
        1.9,
        domain,
    ))
    .unwrap()
}

fn params(config: &CampaignConfig) -> RapporParams {
    match config.params() {
        MechanismParams::Rappor(p) => p.clone(),
        _ => unreachable!(),
    }
}

#[test]
fn folding_counts_every_bit_per_cohort_and_merges_exactly() {
    let config = config(8, Domain::Open);
    let params = params(&config);
    let mut rng = ChaCha8Rng::from_seed([5; 32]);
    let reports: Vec<Report> = (0..70_000u32)
        .map(|i| Report::Rappor(encode_once(&params, &i.to_le_bytes(), &mut rng)))
        .collect();
    let mut naive = vec![0u64; params.cells()];
    for r in &reports {
        let Report::Rappor(r) = r else { unreachable!() };
        let base = r.cohort as usize * 129;
        for i in 0..128 {
            naive[base + i] += r.bits[i / 64] >> (i % 64) & 1;
        }
        naive[base + 128] += 1;
    }
    let mut all = Counters::new(&config);
    all.fold_all(&reports).unwrap();
    assert_eq!(all.snapshot().cells, naive);
    // Two halves merged, and a snapshot round trip, give the same counters.
    let (a, b) = reports.split_at(31_337);
    let mut left = Counters::new(&config);
    left.fold_all(a).unwrap();
    let mut right = Counters::new(&config);
    for r in b {
        right.fold(r).unwrap();
    }
    left.merge(&right).unwrap();
    assert_eq!(left.snapshot(), all.snapshot());
    let back = Counters::from_bytes(&config, &all.to_bytes().unwrap()).unwrap();
    assert_eq!(back.snapshot(), all.snapshot());
}

#[test]
fn malformed_reports_are_refused_and_nothing_is_counted() {
    let config = config(8, Domain::Open);
    let mut counters = Counters::new(&config);
    let good = Report::Rappor(RapporReport {
        cohort: 7,
        bits: vec![1, 1],
    });
    let bad = [
        Report::Rappor(RapporReport {
            cohort: 8,
            bits: vec![0, 0],
        }),
        Report::Rappor(RapporReport {
            cohort: 0,
            bits: vec![0],
        }),
        Report::Rappor(RapporReport {
            cohort: 0,
            bits: vec![0, 0, 0],
        }),
        Report::Grr(ldp_protocol::GrrReport { value: 0 }),
    ];
    for b in bad {
        assert!(counters.fold_all(&[good.clone(), b]).is_err());
    }
    assert_eq!(counters.n(), 0);
    // A non-RAPPOR campaign refuses candidate lists with a clear error.
    let grr = CampaignConfig::range("g", Mechanism::Grr, 1.0, 4).unwrap();
    assert!(
        Counters::new(&grr)
            .decode(&["a".into()], Alpha::DEFAULT)
            .is_err()
    );
    // ... and the questions of other families with their typed error.
    let rappor = Counters::new(&config);
    for error in [
        rappor.mean(0.0, 1.0).unwrap_err(),
        rappor.supports().unwrap_err(),
        Counters::new(&grr).rappor_bits().unwrap_err(),
    ] {
        assert!(
            matches!(error, AggregateError::WrongFamily { .. }),
            "{error:?}"
        );
    }
}

/// Regression: the estimate of a campaign's own values used to swallow a decoding error and
/// answer as if there were no candidates. A range longer than a candidate list may be is now
/// refused with the decoder's reason.
#[test]
fn estimating_a_range_too_long_to_decode_is_an_error_not_an_empty_answer() {
    let too_long = u32::try_from(MAX_CANDIDATES + 1).unwrap();
    let counters = Counters::new(&config(8, Domain::Range { k: too_long }));
    assert!(matches!(
        counters.estimate(),
        Err(AggregateError::InvalidArgument(_))
    ));
    let fits = Counters::new(&config(8, Domain::Range { k: 16 }));
    assert_eq!(fits.estimate().unwrap().values.len(), 16);
}

/// The per-cohort bit estimates t̂_ij are unbiased: over a fixed population of 100,000
/// devices (one report each), every one of the 64 × 128 estimates lies within 5σ of the true
/// number of devices in its cohort whose Bloom bit is set (σ² = Σ over devices of q*(1−q*) or
/// p*(1−p*)), and their squared z-scores sum to a χ²(8192) value within its 99.9999% interval.
#[test]
fn per_cohort_bit_estimates_are_unbiased() {
    let config = config(64, Domain::Open);
    let params = params(&config);
    let (q_star, p_star) = params.bit_probabilities();
    let mut rng = ChaCha8Rng::from_seed([214; 32]);
    let mut counters = Counters::new(&config);
    let mut truth = vec![0u64; 64 * 128];
    let mut devices = vec![0u64; 64];
    for d in 0..100_000u32 {
        // Zipf-like values: a few common, many rare.
        let value = format!("v{}", (d.wrapping_mul(2_654_435_761) % 1000) / (1 + d % 7));
        let report = encode_once(&params, value.as_bytes(), &mut rng);
        let bloom = bloom_filter(&params, value.as_bytes(), report.cohort);
        for i in 0..128 {
            truth[report.cohort as usize * 128 + i] += bloom[i / 64] >> (i % 64) & 1;
        }
        devices[report.cohort as usize] += 1;
        counters.fold(&Report::Rappor(report)).unwrap();
    }
    let estimates = counters.rappor_bits().unwrap();
    assert_eq!(estimates.len(), 64 * 128);
    let mut chi2 = 0.0;
    for e in &estimates {
        let t = truth[e.cohort as usize * 128 + e.bit as usize] as f64;
        let n = devices[e.cohort as usize] as f64;
        assert_eq!(e.reports as f64, n);
        let d = q_star - p_star;
        let var = (t * q_star * (1.0 - q_star) + (n - t) * p_star * (1.0 - p_star)) / (d * d);
        let z = (e.count - t) / var.sqrt();
        assert!(z.abs() < 5.0, "cohort {} bit {}: z = {z}", e.cohort, e.bit);
        chi2 += z * z;
    }
    // χ²(8192): mean 8192, sd 128; ±5 sd is far outside any plausible draw.
    assert!((chi2 - 8192.0).abs() < 5.0 * 128.0, "chi2 = {chi2}");
}

/// A 16-cohort campaign over the dictionary a, b, c, d.
fn abcd_dictionary() -> (CampaignConfig, RapporParams) {
    let values: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
    let config = config(16, Domain::Dictionary { values });
    let params = params(&config);
    (config, params)
}

/// A dictionary campaign's estimates decode against the dictionary: one value per entry plus
/// the `other` bucket with the reports the entries leave unexplained.
#[test]
fn dictionary_estimates_decode_against_the_dictionary() {
    let (config, params) = abcd_dictionary();
    let mut rng = ChaCha8Rng::from_seed([9; 32]);
    let mut counters = Counters::new(&config);
    // 60% "a", 30% "b", 10% strings outside the dictionary; "c" and "d" absent.
    let n = 50_000u32;
    for i in 0..n {
        let value = match i % 10 {
            0..=5 => "a".to_owned(),
            6..=8 => "b".to_owned(),
            _ => format!("other-{i}"),
        };
        let report = encode_once(&params, value.as_bytes(), &mut rng);
        counters.fold(&Report::Rappor(report)).unwrap();
    }
    let estimates = counters.estimate().unwrap();
    assert_eq!(estimates.values.len(), 5);
    let truth = [30_000.0, 15_000.0, 0.0, 0.0, 5_000.0];
    for (v, t) in estimates.values.iter().zip(truth) {
        assert!(v.std_error > 0.0, "{v:?}");
        assert!((v.count - t).abs() < 5.0 * v.std_error, "{v:?} vs {t}");
    }
    let total: f64 = estimates.values.iter().map(|v| v.count).sum();
    assert!((total - f64::from(n)).abs() < 1e-6);
}

/// A dictionary's estimates are calibrated, the `other` bucket's included: over 200 seeded
/// populations (n = 20,000, 16 cohorts; 60% "a", 30% "b", 10% "c", "d" absent, nothing outside
/// the dictionary), each entry's Σz² lies within 5 standard deviations (√(2·200)) of 200, so
/// its estimate is unbiased and its standard error right. `other` (n minus the entries' sum)
/// takes the standard error of the sum from the fit's covariance; the sum of the entries'
/// standard errors would make its Σz² about 38.
#[test]
fn dictionary_standard_errors_are_calibrated_including_other() {
    let (config, params) = abcd_dictionary();
    let truth = [12_000.0, 6_000.0, 2_000.0, 0.0, 0.0];
    let runs = 200u8;
    let mut chi2 = [0.0f64; 5];
    for run in 0..runs {
        let mut rng = ChaCha8Rng::from_seed([run; 32]);
        let mut counters = Counters::new(&config);
        for i in 0..20_000u32 {
            let value = match i % 10 {
                0..=5 => "a",
                6..=8 => "b",
                _ => "c",
            };
            let report = encode_once(&params, value.as_bytes(), &mut rng);
            counters.fold(&Report::Rappor(report)).unwrap();
        }
        let estimates = counters.estimate().unwrap();
        for ((v, t), sum) in estimates.values.iter().zip(truth).zip(&mut chi2) {
            let z = (v.count - t) / v.std_error;
            *sum += z * z;
        }
    }
    let expected = f64::from(runs);
    let bound = 5.0 * (2.0 * expected).sqrt();
    for (name, sum) in ["a", "b", "c", "d", "other"].iter().zip(chi2) {
        assert!(
            (sum - expected).abs() < bound,
            "{name}: Σz² = {sum:.1} over {runs} runs (expected {expected} ± {bound:.0})"
        );
    }
}

/// Candidates the data cannot tell apart (here two strings with the same Bloom filter in the
/// only cohort) are not estimated — infinite standard error, never detected — and the others
/// still are, unbiased.
#[test]
fn indistinguishable_candidates_are_left_out_and_the_rest_estimated() {
    let config = config(1, Domain::Open);
    let params = params(&config);
    let filter = |v: &str| bloom_filter(&params, v.as_bytes(), 0);
    let names: Vec<String> = (0..5000).map(|i| format!("s{i}")).collect();
    let (x, y) = names
        .iter()
        .enumerate()
        .find_map(|(i, x)| {
            names[i + 1..]
                .iter()
                .find(|y| filter(y) == filter(x))
                .map(|y| (x.clone(), y.clone()))
        })
        .expect("two strings share a Bloom filter");
    let disjoint = |v: &str| filter(v).iter().zip(filter(&x)).all(|(a, b)| a & b == 0);
    let a = names.iter().find(|v| disjoint(v)).unwrap().clone();
    let b = names
        .iter()
        .find(|v| {
            disjoint(v) && **v != a && filter(v).iter().zip(filter(&a)).all(|(p, q)| p & q == 0)
        })
        .unwrap()
        .clone();
    let mut rng = ChaCha8Rng::from_seed([11; 32]);
    let mut counters = Counters::new(&config);
    for i in 0..20_000u32 {
        let value = if i % 2 == 0 {
            &a
        } else if i % 4 == 1 {
            &x
        } else {
            &b
        };
        let report = encode_once(&params, value.as_bytes(), &mut rng);
        counters.fold(&Report::Rappor(report)).unwrap();
    }
    let candidates = vec![a.clone(), x.clone(), y.clone(), b.clone()];
    let decoding = counters.decode(&candidates, Alpha::DEFAULT).unwrap();
    let [ea, ex, ey, eb] = &decoding.candidates[..] else {
        panic!("four estimates")
    };
    for (e, truth) in [(ea, 10_000.0), (eb, 5_000.0)] {
        assert!(e.selected && e.std_error.is_finite(), "{e:?}");
        assert!(
            (e.count - truth).abs() < 5.0 * e.std_error,
            "{e:?} vs {truth}"
        );
        assert!(e.detected, "{e:?}");
    }
    for e in [ex, ey] {
        assert!(
            !e.selected && !e.detected && e.std_error == f64::INFINITY,
            "{e:?}"
        );
    }
    assert!(decoding.total_std_error.is_finite() && decoding.total_std_error > 0.0);
}

/// A decoding whose caller gave up stops with `Cancelled` instead of finishing the fit.
#[test]
fn a_cancelled_decoding_stops() {
    let config = config(8, Domain::Open);
    let params = params(&config);
    let mut rng = ChaCha8Rng::from_seed([8; 32]);
    let reports: Vec<Report> = (0..5_000u32)
        .map(|i| {
            let value = format!("v{}", i % 20);
            Report::Rappor(encode_once(&params, value.as_bytes(), &mut rng))
        })
        .collect();
    let mut counters = Counters::new(&config);
    counters.fold_all(&reports).unwrap();
    let candidates: Vec<String> = (0..20).map(|i| format!("v{i}")).collect();
    let cancelled = std::sync::atomic::AtomicBool::new(true);
    assert!(matches!(
        counters.decode_cancellable(&candidates, Alpha::DEFAULT, &cancelled),
        Err(ldp_aggregator::AggregateError::Cancelled)
    ));
    let live = std::sync::atomic::AtomicBool::new(false);
    assert!(
        counters
            .decode_cancellable(&candidates, Alpha::DEFAULT, &live)
            .is_ok()
    );
}

/// Decoding small and degenerate data never fails or panics: tiny filters, one to three
/// cohorts (some empty), 0 to 60 reports, lists from 1 to 40 candidates — more than a fit can
/// take for the smallest filters, so forward selection and the rank-deficient fallback run
/// too. Every count is finite, a standard error positive, and infinite exactly where the
/// candidate was left out of the fit (indistinguishable from others); only fitted ones are
/// detected.
#[test]
fn small_and_degenerate_data_decode_without_failing() {
    let mut rng = ChaCha8Rng::from_seed([12; 32]);
    for bloom_bits in [1u32, 2, 4, 8, 16] {
        for hashes in [1u32, 2, 4] {
            for cohorts in [1u32, 3] {
                let Ok(config) = CampaignConfig::new(CampaignSpec::new(
                    "tiny",
                    Mechanism::Rappor(RapporSpec {
                        bloom_bits,
                        hashes,
                        cohorts,
                        ..RapporSpec::paper_example()
                    }),
                    1.9,
                    Domain::Open,
                )) else {
                    continue; // a shape the campaign checks refuse
                };
                let params = params(&config);
                for n in [0u32, 1, 5, 60] {
                    let mut counters = Counters::new(&config);
                    for i in 0..n {
                        let value = format!("v{}", i % 3);
                        let report = encode_once(&params, value.as_bytes(), &mut rng);
                        counters.fold(&Report::Rappor(report)).unwrap();
                    }
                    for listed in [1usize, 7, 40] {
                        let candidates: Vec<String> =
                            (0..listed).map(|i| format!("v{i}")).collect();
                        let decoding =
                            counters
                                .decode(&candidates, Alpha::DEFAULT)
                                .unwrap_or_else(|e| {
                                    panic!("m={bloom_bits} h={hashes} cohorts={cohorts} n={n}: {e}")
                                });
                        assert_eq!(decoding.candidates.len(), listed);
                        for c in &decoding.candidates {
                            assert!(c.count.is_finite(), "{c:?}");
                            assert!(c.std_error > 0.0, "{c:?}");
                            assert!(!c.selected || c.std_error.is_finite(), "{c:?}");
                            assert!(!c.detected || c.selected, "{c:?}");
                        }
                    }
                }
            }
        }
    }
}
