//! A campaign's end over HTTP: closed (ingest answers 410 `campaign-closed`, estimates stay),
//! given a retention, deleted with a confirmation (every counter row gone, the id free again).

use ldp_client::Encoder;
use ldp_protocol::{Batch, BatchId, CampaignConfig, CampaignSpec, Domain, Mechanism, wire};
use ldp_tests::seeded_rng;
use ldp_tests::server::{Answer, Backend, TestServer, assert_problem, current_epoch};

const BINARY: &str = env!("CARGO_BIN_EXE_ldp-aggregator-under-test");

fn campaign(eps: f64) -> CampaignConfig {
    let mut spec = CampaignSpec::new("ending", Mechanism::Grr, eps, Domain::Range { k: 4 });
    spec.min_reports = 10;
    CampaignConfig::new(spec).unwrap()
}

/// Posts one batch of 100 reports with id `[id; 16]`.
fn post_batch(server: &TestServer, config: &CampaignConfig, id: u8) -> Answer {
    let mut encoder = Encoder::with_simulation_rng(config, seeded_rng("lifecycle", id.into()));
    let mut batch = Batch::new(config, current_epoch(config), BatchId([id; 16]));
    batch.reports = (0..100)
        .map(|i| encoder.encode_index(i % 4).unwrap())
        .collect();
    server.post(
        "/v1/campaigns/ending/reports",
        "application/x-ldp-batch",
        &wire::encode(&batch).unwrap(),
        None,
    )
}

#[test]
fn a_closed_campaign_refuses_reports_and_stays_readable() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let config = server.create_campaign(&campaign(1.0));
    assert_eq!(post_batch(&server, &config, 1).status, 202);

    // Only an admin closes.
    let path = "/v1/campaigns/ending/close";
    let refused = server.post(path, "application/json", b"", Some(&server.analyst));
    assert_problem(&refused, 403, "forbidden");
    let closed = server.post(path, "application/json", b"", Some(&server.admin));
    assert_eq!(closed.status, 200, "{}", closed.text);
    let at = closed.json["closed_at"].as_u64().expect("closed_at");
    // Closing again keeps the first time.
    let again = server.post(path, "application/json", b"", Some(&server.admin));
    assert_eq!(again.json["closed_at"].as_u64(), Some(at));
    assert_eq!(
        server.get("/v1/campaigns/ending", None).json["closed_at"].as_u64(),
        Some(at)
    );

    // A new batch is refused with the stable problem type; a retry of a counted one too.
    assert_problem(&post_batch(&server, &config, 2), 410, "campaign-closed");
    assert_problem(&post_batch(&server, &config, 1), 410, "campaign-closed");
    let estimates = server.estimates("ending", "");
    assert_eq!(estimates.status, 200, "{}", estimates.text);
    assert_eq!(estimates.json["n"], 100);
    let metrics = server.get("/metrics", None).text;
    assert!(
        metrics.contains("outcome=\"campaign-closed\""),
        "refusals are counted: {metrics}"
    );

    // The dashboard says so, in the list and on the page.
    let cookie = crate::dashboard::cookie_of(&crate::dashboard::login(&server, &server.analyst));
    let list = crate::dashboard::get(&server, "/dashboard", Some(&cookie));
    assert!(
        list.body.contains("<span class=\"closed\">closed</span>"),
        "{}",
        list.body
    );
    let page = crate::dashboard::get(&server, "/dashboard/campaigns/ending", Some(&cookie));
    assert!(
        page.body.contains("accepts no more reports"),
        "{}",
        page.body
    );

    // Unknown campaigns are 404, not closed.
    let unknown = server.post(
        "/v1/campaigns/nope/close",
        "application/json",
        b"",
        Some(&server.admin),
    );
    assert_problem(&unknown, 404, "unknown-campaign");
}

#[test]
fn retention_is_set_checked_and_cleared() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let config = server.create_campaign(&campaign(1.0));
    assert_eq!(post_batch(&server, &config, 1).status, 202);
    let path = "/v1/campaigns/ending/retention";
    let set = server.put_json(path, r#"{"epochs": 30}"#, Some(&server.admin));
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.json["retention_epochs"], 30);
    // The current epoch is kept: its counters stay.
    assert_eq!(server.estimates("ending", "").json["n"], 100);
    for bad in [
        r#"{"epochs": 0}"#,
        r#"{"epochs": 365001}"#,
        r#"{"days": 3}"#,
        "[]",
    ] {
        assert_problem(
            &server.put_json(path, bad, Some(&server.admin)),
            400,
            "invalid-request",
        );
    }
    assert_problem(
        &server.put_json(path, "{}", Some(&server.analyst)),
        403,
        "forbidden",
    );
    // A whole number written with a fraction part is that number (JSON Schema's `integer`).
    let whole = server.put_json(path, r#"{"epochs": 7.0}"#, Some(&server.admin));
    assert_eq!(whole.json["retention_epochs"], 7, "{}", whole.text);
    let cleared = server.put_json(path, r#"{"epochs": null}"#, Some(&server.admin));
    assert_eq!(cleared.status, 200, "{}", cleared.text);
    assert!(
        cleared.json["retention_epochs"].is_null(),
        "{}",
        cleared.text
    );
}

#[test]
fn deletion_needs_a_confirmation_and_removes_every_counter() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let config = server.create_campaign(&campaign(1.0));
    assert_eq!(post_batch(&server, &config, 1).status, 202);
    assert!(server.counter_rows().iter().any(|(c, _, _)| c == "ending"));

    for path in ["/v1/campaigns/ending", "/v1/campaigns/ending?confirm=other"] {
        assert_problem(
            &server.delete(path, Some(&server.admin)),
            409,
            "confirmation-required",
        );
    }
    let path = "/v1/campaigns/ending?confirm=ending";
    assert_problem(
        &server.delete(path, Some(&server.analyst)),
        403,
        "forbidden",
    );
    assert_problem(&server.delete(path, None), 401, "unauthorized");
    let deleted = server.delete(path, Some(&server.admin));
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_problem(
        &server.delete(path, Some(&server.admin)),
        404,
        "unknown-campaign",
    );

    assert!(server.counter_rows().iter().all(|(c, _, _)| c != "ending"));
    assert_problem(
        &server.get("/v1/campaigns/ending", None),
        404,
        "unknown-campaign",
    );
    assert_problem(&server.estimates("ending", ""), 404, "unknown-campaign");
    assert_problem(&post_batch(&server, &config, 2), 404, "unknown-campaign");

    // The id is free again; the new campaign starts from nothing.
    let fresh = server.create_campaign(&campaign(2.0));
    assert_eq!(post_batch(&server, &fresh, 3).status, 202);
    assert_eq!(server.estimates("ending", "").json["n"], 100);
}
