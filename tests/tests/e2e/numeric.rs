//! Numeric means over HTTP against the real binary: Duchi, Piecewise, Hybrid and dBitFlip campaigns over
//! a numeric range created from JSON, devices reporting numbers (some outside the range), the
//! mean through GET …/estimates and on the dashboard, and the problems for questions about
//! values and for bad numeric configurations.

use ldp_client::Encoder;
use ldp_client::upload::Ack;
use ldp_protocol::CampaignConfig;
use ldp_tests::seeded_rng;
use ldp_tests::server::{Answer, Backend, TestServer, assert_problem, batches, current_epoch};
use serde_json::{Value, json};

use super::dashboard;

const BINARY: &str = env!("CARGO_BIN_EXE_ldp-aggregator-under-test");
const JSON: &str = "application/json";

fn post_json(server: &TestServer, path: &str, body: &Value, token: Option<&str>) -> Answer {
    server.post(path, JSON, &serde_json::to_vec(body).unwrap(), token)
}

/// 20,000 devices with values 0, 1, …, 99 repeated (mean of the clamped values 49.5 over
/// [0, 100]) plus 500 devices at 250, clamped to 100: true clamped mean
/// (20,000·49.5 + 500·100)/20,500. The estimate must lie within 5 standard errors.
#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one end-to-end scenario, read top to bottom"
)]
fn numeric_campaigns_estimate_a_mean() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let cookie = dashboard::cookie_of(&dashboard::login(&server, &server.analyst));
    let truth = (20_000.0 * 49.5 + 500.0 * 100.0) / 20_500.0;
    for (id, mechanism) in [
        ("mean-duchi", json!("duchi")),
        ("mean-piecewise", json!({"piecewise": {"grid": 512}})),
        ("mean-hybrid", json!({"hybrid": {}})),
        ("mean-dbitflip", json!({"dbitflip": {"points": 16}})),
    ] {
        let spec = json!({
            "id": id, "mechanism": mechanism, "epsilon": 2.0,
            "domain": {"numeric": {"lo": 0, "hi": 100}}, "min_reports": 10
        });
        let created = post_json(&server, "/v1/campaigns", &spec, Some(&server.admin));
        assert_eq!(created.status, 201, "{}", created.text);
        let config: CampaignConfig = server.uploader().fetch_campaign(id).unwrap();
        let mut encoder = Encoder::with_simulation_rng(&config, seeded_rng(id, 0));
        let mut reports: Vec<_> = (0..20_000)
            .map(|i| encoder.encode_number(f64::from(i % 100)).unwrap())
            .collect();
        reports.extend((0..500).map(|_| encoder.encode("250").unwrap()));
        assert_eq!(encoder.clamped(), 500);
        let epoch = current_epoch(&config);
        for batch in batches(&config, epoch, reports, 1000) {
            assert_eq!(server.uploader().send(&batch).unwrap(), Ack::Counted);
        }

        let answer = server.estimates(id, "");
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json["n"], 20_500);
        // dBitFlip also counts its points (a histogram); the others list no values.
        let points = if id == "mean-dbitflip" { 16 } else { 0 };
        assert_eq!(answer.json["values"].as_array().unwrap().len(), points);
        let mean = &answer.json["mean"];
        let (estimate, se) = (
            mean["mean"].as_f64().unwrap(),
            mean["std_error"].as_f64().unwrap(),
        );
        assert!(se > 0.0 && se < 5.0, "{id}: {mean}");
        assert!(
            (estimate - truth).abs() <= 5.0 * se,
            "{id}: {mean} vs {truth}"
        );
        assert_eq!(mean["n"], 20_500);
        assert_eq!(mean["lo"], 0.0);
        assert_eq!(mean["hi"], 100.0);

        // Questions about values get a problem naming the estimates route.
        let trending = server.get(
            &format!("/v1/campaigns/{id}/trending?epoch={epoch}&baseline=1"),
            Some(&server.analyst),
        );
        assert_problem(&trending, 409, "numeric-campaign");
        let query = post_json(
            &server,
            &format!("/v1/campaigns/{id}/estimates/query"),
            &json!({"candidates": ["1"]}),
            Some(&server.analyst),
        );
        assert_problem(&query, 409, "numeric-campaign");

        let page = dashboard::get(
            &server,
            &format!("/dashboard/campaigns/{id}"),
            Some(&cookie),
        );
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Mean"), "{}", page.body);
        assert!(page.body.contains("95% interval"), "{}", page.body);
        if points == 0 {
            assert!(!page.body.contains("<svg"), "a chart of nothing");
        }
    }
    let list = dashboard::get(&server, "/dashboard", Some(&cookie));
    assert!(list.body.contains("numeric [0, 100]"), "{}", list.body);

    // Bad numeric configurations are refused with a problem.
    for (mechanism, domain) in [
        (json!("duchi"), json!({"numeric": {"lo": 5, "hi": 5}})),
        (json!("duchi"), json!({"range": {"k": 4}})),
        (json!("grr"), json!({"numeric": {"lo": 0, "hi": 1}})),
        (
            json!({"piecewise": {"grid": 1}}),
            json!({"numeric": {"lo": 0, "hi": 1}}),
        ),
        (
            json!({"hybrid": {"cells": 4}}),
            json!({"numeric": {"lo": 0, "hi": 1}}),
        ),
    ] {
        let spec = json!({"id": "bad", "mechanism": mechanism, "epsilon": 1.0, "domain": domain});
        let answer = post_json(&server, "/v1/campaigns", &spec, Some(&server.admin));
        assert_eq!(answer.status, 400, "{mechanism} {domain}: {}", answer.text);
        assert_eq!(answer.content_type, "application/problem+json");
    }
}
