//! Forged unary reports against the real binary: a report whose number of ones no honest
//! device produces is left out of the counters, answered in the 202, and counted in metrics.

use ldp_client::Encoder;
use ldp_protocol::report::UnaryReport;
use ldp_protocol::{
    Batch, BatchId, CampaignConfig, CampaignSpec, Domain, Mechanism, MechanismParams, Report, wire,
};
use ldp_tests::seeded_rng;
use ldp_tests::server::{Backend, TestServer, current_epoch};

const BINARY: &str = env!("CARGO_BIN_EXE_ldp-aggregator-under-test");

#[test]
fn all_bits_and_single_bit_oue_forgeries_are_left_out_and_counted_as_implausible() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    // The measurement: k = 64, ε = 1.
    let mut spec = CampaignSpec::new("forged", Mechanism::Oue, 1.0, Domain::Range { k: 64 });
    spec.min_reports = 10;
    let config = server.create_campaign(&CampaignConfig::new(spec).unwrap());
    let MechanismParams::Oue(params) = config.params() else {
        unreachable!()
    };
    let mut encoder = Encoder::with_simulation_rng(&config, seeded_rng("forged", 0));
    let mut reports: Vec<Report> = (0..300)
        .map(|i| encoder.encode_index(i % 64).unwrap())
        .collect();
    let honest_kept = reports
        .iter()
        .filter(|r| matches!(r, Report::Oue(u) if params.plausible(&u.bits)))
        .count();
    // Every bit set, and only bit 63: 20 of each.
    for _ in 0..20 {
        reports.push(Report::Oue(UnaryReport {
            bits: vec![u64::MAX],
        }));
        reports.push(Report::Oue(UnaryReport {
            bits: vec![1 << 63],
        }));
    }
    let mut batch = Batch::new(&config, current_epoch(&config), BatchId([0x5a; 16]));
    batch.reports = reports;
    let path = "/v1/campaigns/forged/reports";
    let body = wire::encode(&batch).unwrap();
    let answer = server.post(path, "application/x-ldp-batch", &body, None);
    assert_eq!(answer.status, 202, "{}", answer.text);
    let implausible = 340 - honest_kept as u64;
    assert_eq!(answer.json["reports"], 340);
    assert_eq!(answer.json["implausible"], implausible, "{}", answer.text);
    assert_eq!(server.stored_n("forged"), honest_kept as u64);
    let metrics = server.get("/metrics", None).text;
    let line = format!("ldp_reports_total{{outcome=\"implausible\"}} {implausible}");
    assert!(metrics.contains(&line), "{metrics}");
    let counted = format!("ldp_reports_total{{outcome=\"counted\"}} {honest_kept}");
    assert!(metrics.contains(&counted), "{metrics}");
    // A retry of the same bytes is a duplicate: nothing more counted, nothing more refused.
    let again = server.post(path, "application/x-ldp-batch", &body, None);
    assert_eq!(again.json["status"], "duplicate", "{}", again.text);
    assert_eq!(again.json["implausible"], 0);
    assert_eq!(server.stored_n("forged"), honest_kept as u64);
}

#[test]
fn the_attack_simulator_measures_the_same_gain_against_the_live_collector() {
    use ldp_sim::attack::{Attack, AttackPlan, Live, attack_live, simulate_attack};
    use ldp_sim::population::Population;
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let population = Population::zipf(32, 1.1, 20_000);
    let live = Live {
        url: &server.url,
        admin_token: &server.admin,
    };
    for mechanism in [Mechanism::Grr, Mechanism::Oue] {
        let plan = AttackPlan {
            attack: Attack::MaximalGain,
            beta: 0.01,
            targets: vec![31],
        };
        let over_http = attack_live(&live, &population, &mechanism, 1.0, &plan, 2, 3).unwrap();
        let in_process = simulate_attack(&population, &mechanism, 1.0, &plan, 2, 3).unwrap();
        assert_eq!(over_http.fake_counted, in_process.fake_counted);
        assert!(over_http.gain_sigma > 0.0);
        assert!(
            (over_http.gain - over_http.gain_expected).abs() <= 5.0 * over_http.gain_sigma,
            "{over_http:?}"
        );
        assert!((over_http.gain_expected - in_process.gain_expected).abs() < 1e-9);
    }
}
