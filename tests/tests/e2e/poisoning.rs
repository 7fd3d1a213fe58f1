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
