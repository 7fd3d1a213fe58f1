//! Count-mean sketches over HTTP against the real binary: open-domain CMS and HCMS campaigns
//! created from JSON, reports from many devices, estimates for candidates through
//! `POST …/estimates/query`, and a dictionary campaign estimated through GET.

use ldp_client::Encoder;
use ldp_client::upload::Ack;
use ldp_protocol::{CampaignConfig, Report};
use ldp_tests::seeded_rng;
use ldp_tests::server::{Answer, Backend, TestServer, batches, current_epoch};
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_ldp-aggregator-under-test");
const JSON: &str = "application/json";

fn post_json(server: &TestServer, path: &str, body: &Value, token: Option<&str>) -> Answer {
    server.post(path, JSON, &serde_json::to_vec(body).unwrap(), token)
}

/// 20,000 devices: "a" 10,000, "b" 6,000, "c" 4,000. The first 20 are production encoders
/// (OS randomness); the rest draw from a seeded generator.
fn reports(config: &CampaignConfig, id: &str) -> Vec<Report> {
    let truth = [("a", 10_000u32), ("b", 6_000), ("c", 4_000)];
    let mut production = Encoder::new(config).unwrap();
    let mut seeded = Encoder::with_simulation_rng(config, seeded_rng(id, 0));
    let mut out = Vec::with_capacity(20_000);
    for (value, count) in truth {
        for _ in 0..count {
            let encoder_report = if out.len() < 20 {
                production.encode(value)
            } else {
                seeded.encode(value)
            };
            out.push(encoder_report.unwrap());
        }
    }
    out
}

/// Tolerances: a, b and c within 5 standard errors of their counts (z about 30 or more, so
/// detected against the threshold 3.54 of α = 0.001 over 5 candidates); x and y, absent,
/// within 5 standard errors of 0 and not detected (family-wise error at most 10⁻³).
#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one end-to-end scenario, read top to bottom"
)]
fn open_domain_sketches_are_estimated_through_candidate_queries() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    for (id, mechanism) in [
        ("cms-open", json!({"cms": {"hashes": 64, "width": 1024}})),
        ("hcms-open", json!({"hcms": {}})),
    ] {
        let spec = json!({
            "id": id, "mechanism": mechanism, "epsilon": 2.0, "domain": "open",
            "min_reports": 10
        });
        let created = post_json(&server, "/v1/campaigns", &spec, Some(&server.admin));
        assert_eq!(created.status, 201, "{}", created.text);
        let name = id.trim_end_matches("-open");
        let resolved = &created.json["config"]["mechanism"][name];
        assert_eq!(resolved["hashes"], 64, "{}", created.text);
        assert_eq!(resolved["width"], 1024, "{}", created.text);
        assert!(resolved["seed"].is_u64(), "{}", created.text);

        let config: CampaignConfig = server.uploader().fetch_campaign(id).unwrap();
        let epoch = current_epoch(&config);
        let uploader = server.uploader();
        for batch in batches(&config, epoch, reports(&config, id), 1000) {
            assert_eq!(uploader.send(&batch).unwrap(), Ack::Counted);
        }

        let body = json!({"candidates": ["a", "b", "c", "x", "y"], "alpha": 0.001});
        let answer = post_json(
            &server,
            &format!("/v1/campaigns/{id}/estimates/query"),
            &body,
            Some(&server.analyst),
        );
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json["mechanism"], name);
        assert_eq!(answer.json["n"], 20_000);
        assert_eq!(answer.json["detected"], 3, "{}", answer.text);
        let candidates = answer.json["candidates"].as_array().unwrap();
        for (c, truth) in candidates
            .iter()
            .zip([10_000.0, 6_000.0, 4_000.0, 0.0, 0.0])
        {
            let (count, se) = (
                c["count"].as_f64().unwrap(),
                c["std_error"].as_f64().unwrap(),
            );
            assert!(se > 0.0, "{id}: {c}");
            assert!((count - truth).abs() <= 5.0 * se, "{id}: {c} vs {truth}");
            assert_eq!(c["detected"], truth > 0.0, "{id}: {c}");
        }

        // GET …/estimates has no values to list on an open domain.
        let listing = server.estimates(id, "");
        assert_eq!(listing.status, 409, "{}", listing.text);
        assert!(
            listing.text.contains("candidates-required"),
            "{}",
            listing.text
        );
    }

    // A dictionary campaign lists its values (and the `other` bucket) through GET.
    let spec = json!({
        "id": "hcms-dict", "mechanism": {"hcms": {"hashes": 32, "width": 256}},
        "epsilon": 2.0, "domain": {"dictionary": {"values": ["a", "b"]}}, "min_reports": 10
    });
    let created = post_json(&server, "/v1/campaigns", &spec, Some(&server.admin));
    assert_eq!(created.status, 201, "{}", created.text);
    let config: CampaignConfig = server.uploader().fetch_campaign("hcms-dict").unwrap();
    let epoch = current_epoch(&config);
    for batch in batches(&config, epoch, reports(&config, "hcms-dict"), 1000) {
        assert_eq!(server.uploader().send(&batch).unwrap(), Ack::Counted);
    }
    let listing = server.estimates("hcms-dict", "");
    assert_eq!(listing.status, 200, "{}", listing.text);
    let values = listing.json["values"].as_array().unwrap();
    assert_eq!(values.len(), 3, "{}", listing.text);
    for (v, truth) in values.iter().zip([10_000.0, 6_000.0, 4_000.0]) {
        let (count, se) = (
            v["count"].as_f64().unwrap(),
            v["std_error"].as_f64().unwrap(),
        );
        assert!((count - truth).abs() <= 5.0 * se, "{v} vs {truth}");
    }

    // A sketch that cannot be built is refused with a problem.
    for bad in [
        json!({"hcms": {"width": 1000}}),
        json!({"cms": {"hashes": 0}}),
        json!({"cms": {"width": 65536, "hashes": 4096}}),
        json!({"cms": {"depth": 3}}),
    ] {
        let spec = json!({"id": "bad", "mechanism": bad, "epsilon": 1.0, "domain": "open"});
        let answer = post_json(&server, "/v1/campaigns", &spec, Some(&server.admin));
        assert_eq!(answer.status, 400, "{bad}: {}", answer.text);
        assert_eq!(answer.content_type, "application/problem+json");
    }
}
