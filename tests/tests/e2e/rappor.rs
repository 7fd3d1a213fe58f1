//! RAPPOR over HTTP against the real binary: an open-domain campaign created from JSON,
//! reports from many devices, estimates through `POST …/estimates/query`, and the problems
//! for everything a candidate query or a RAPPOR configuration can get wrong.

use ldp_client::upload::Ack;
use ldp_client::{InMemorySecretStore, RapporEncoder};
use ldp_protocol::{CampaignConfig, MechanismParams, Report};
use ldp_tests::seeded_rng;
use ldp_tests::server::{Answer, Backend, TestServer, assert_problem, batches, current_epoch};
use serde_json::{Value, json};

use super::dashboard;

const BINARY: &str = env!("CARGO_BIN_EXE_ldp-aggregator-under-test");
const JSON: &str = "application/json";

/// ε₁ of these settings is about 1.88 (f from ε∞ = 4 with h = 2, p = 0.25, q = 0.75), within
/// the campaign's ε of 2.
fn rappor_mechanism() -> Value {
    json!({"rappor": {
        "bloom_bits": 128, "hashes": 2, "cohorts": 64,
        "epsilon_permanent": 4, "p": 0.25, "q": 0.75
    }})
}

fn open_campaign(id: &str) -> Value {
    json!({
        "id": id,
        "mechanism": rappor_mechanism(),
        "epsilon": 2.0,
        "domain": "open",
        "min_reports": 10
    })
}

fn post_json(server: &TestServer, path: &str, body: &Value, token: Option<&str>) -> Answer {
    server.post(path, JSON, &serde_json::to_vec(body).unwrap(), token)
}

fn create(server: &TestServer, spec: &Value) -> Answer {
    post_json(server, "/v1/campaigns", spec, Some(&server.admin))
}

fn query(server: &TestServer, id: &str, params: &str, body: &Value) -> Answer {
    post_json(
        server,
        &format!("/v1/campaigns/{id}/estimates/query{params}"),
        body,
        Some(&server.analyst),
    )
}

fn candidate<'a>(answer: &'a Answer, value: &str) -> &'a Value {
    answer.json["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["value"] == value)
        .unwrap_or_else(|| panic!("no candidate {value:?}: {}", answer.text))
}

/// 20,000 devices, one report each: "a" 50%, "b" 30%, "c" 20%. 40 of the "a" devices are
/// production encoders (`RapporEncoder::new`: a fresh device secret and OS randomness); the
/// rest draw their cohort, PRR and IRR from `seeded_rng("rappor-open", 0)` through
/// `encode_once`, which has the same distribution for a device's first report.
///
/// Tolerances: each of a, b, c must lie within 5 standard errors of its true count (a
/// two-sided normal tail of 5.7·10⁻⁷ each) and be detected (its z is about 18 or more, the
/// threshold 3.54); x and y, absent, must not be detected, which the Bonferroni test at
/// α = 0.001 over the 5 candidates bounds at 10⁻³. With the fixed seed the outcome is the same
/// on every run up to the 40 production devices; a false failure has probability below 2·10⁻³.
#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one end-to-end scenario, read top to bottom"
)]
fn an_open_domain_is_estimated_through_candidate_queries() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let id = "rappor-open";

    // Created from the JSON an operator writes: ε∞ as a target, the domain "open".
    let created = create(&server, &open_campaign(id));
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["k"], 0);
    assert_eq!(created.json["config"]["domain"], "open");
    let config: CampaignConfig = server.uploader().fetch_campaign(id).unwrap();
    assert!(config.is_open());
    let MechanismParams::Rappor(params) = config.params() else {
        panic!("not rappor: {:?}", config.params());
    };
    assert!(params.epsilon_one_upper_bound() <= 2.0);

    // Below min_reports: the same refusal as GET …/estimates gives a closed domain.
    let candidates = json!({"candidates": ["a", "b", "c", "x", "y"], "alpha": 0.001});
    let early = query(&server, id, "", &candidates);
    assert_problem(&early, 409, "not-enough-reports");
    assert_eq!(early.json["n"], 0);
    assert_eq!(early.json["needed"], 10);

    // The devices.
    let truth = [("a", 10_000u32), ("b", 6_000), ("c", 4_000)];
    let production = 40;
    let mut rng = seeded_rng(id, 0);
    let mut reports = Vec::with_capacity(20_000);
    for (value, count) in truth {
        for i in 0..count {
            let report = if value == "a" && i < production {
                RapporEncoder::new(&config, &mut InMemorySecretStore::default())
                    .unwrap()
                    .encode(value)
                    .unwrap()
            } else {
                Report::Rappor(ldp_client::encoder::rappor::encode_once(
                    params,
                    value.as_bytes(),
                    &mut rng,
                ))
            };
            reports.push(report);
        }
    }
    let epoch = current_epoch(&config);
    let uploader = server.uploader();
    for batch in batches(&config, epoch, reports, 1000) {
        assert_eq!(uploader.send(&batch).unwrap(), Ack::Counted);
    }

    // The query.
    let answer = query(&server, id, "", &candidates);
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["campaign"], id);
    assert_eq!(answer.json["mechanism"], "rappor");
    assert_eq!(answer.json["k"], 0);
    assert_eq!(answer.json["n"], 20_000);
    assert_eq!(answer.json["epochs"]["from"], epoch);
    assert_eq!(answer.json["epochs"]["to"], epoch);
    let time = ldp_aggregator::epoch_time::EpochTime::new(config.epoch_seconds());
    assert_eq!(answer.json["epochs"]["start"], json!(time.start(epoch)));
    assert_eq!(answer.json["epochs"]["end"], json!(time.end(epoch)));
    assert_eq!(answer.json["min_reports"], 10);
    assert_eq!(answer.json["alpha"], 0.001);
    assert_eq!(answer.json["detected"], 3, "{}", answer.text);
    let listed: Vec<&str> = answer.json["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["a", "b", "c", "x", "y"], "in the order given");
    for (value, count) in truth {
        let c = candidate(&answer, value);
        let (estimate, se) = (
            c["count"].as_f64().unwrap(),
            c["std_error"].as_f64().unwrap(),
        );
        assert!(se > 0.0, "{value}: {c}");
        assert!(
            (estimate - f64::from(count)).abs() <= 5.0 * se,
            "{value}: estimate {estimate} vs truth {count}, se {se}"
        );
        assert_eq!(c["detected"], true, "{value}: {c}");
        let (low, high) = (
            c["ci95_low"].as_f64().unwrap(),
            c["ci95_high"].as_f64().unwrap(),
        );
        assert!(low < estimate && estimate < high, "{value}: {c}");
    }
    for absent in ["x", "y"] {
        let c = candidate(&answer, absent);
        assert_eq!(c["detected"], false, "{absent}: {c}");
        let (estimate, se) = (
            c["count"].as_f64().unwrap(),
            c["std_error"].as_f64().unwrap(),
        );
        assert!(estimate.abs() <= 5.0 * se, "{absent}: {c}");
    }
    let explained = answer.json["explained_share"].as_f64().unwrap();
    assert!((explained - 1.0).abs() < 0.1, "explained share {explained}");

    // Epochs are chosen as for GET …/estimates; alpha defaults to 0.05.
    let by_epoch = query(
        &server,
        id,
        &format!("?epoch={epoch}"),
        &json!({"candidates": ["a", "b"]}),
    );
    assert_eq!(by_epoch.status, 200, "{}", by_epoch.text);
    assert_eq!(by_epoch.json["alpha"], 0.05);
    assert_eq!(by_epoch.json["n"], 20_000);
    let later = query(
        &server,
        id,
        &format!("?from={}&to={}", epoch + 1, epoch + 2),
        &candidates,
    );
    assert_problem(&later, 409, "not-enough-reports");
    assert_problem(
        &query(
            &server,
            id,
            &format!("?epoch={epoch}&from={epoch}"),
            &candidates,
        ),
        400,
        "invalid-request",
    );
    assert_problem(
        &query(&server, id, "?top=3", &candidates),
        400,
        "invalid-request",
    );

    // GET …/estimates and …/trending have no values to list: they point at the query.
    let listing = server.estimates(id, "");
    assert_problem(&listing, 409, "candidates-required");
    assert_eq!(
        listing.json["query"],
        format!("/v1/campaigns/{id}/estimates/query")
    );
    assert!(
        listing.json["detail"]
            .as_str()
            .unwrap()
            .contains("/estimates/query")
    );
    let trending = server.get(
        &format!("/v1/campaigns/{id}/trending?epoch={epoch}&baseline=1"),
        Some(&server.analyst),
    );
    assert_problem(&trending, 409, "candidates-required");

    // The dashboard: "open" in the list, a note instead of charts on the campaign page.
    let cookie = dashboard::cookie_of(&dashboard::login(&server, &server.analyst));
    let list = dashboard::get(&server, "/dashboard", Some(&cookie));
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(
        list.body.contains("<td class=\"num\">open</td>"),
        "{}",
        list.body
    );
    for path in [
        format!("/dashboard/campaigns/{id}"),
        format!("/dashboard/campaigns/{id}?value=0"),
        format!("/dashboard/campaigns/{id}?view=consistent"),
    ] {
        let page = dashboard::get(&server, &path, Some(&cookie));
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(page.body.contains("open domain"), "{path}: {}", page.body);
        assert!(page.body.contains("/estimates/query"), "{path}");
        assert!(page.body.contains("20,000 reports"), "{path}");
        assert!(page.body.contains("ε∞"), "{path}");
        assert!(!page.body.contains("<svg"), "{path}: a chart of nothing");
    }

    // The page's candidate form answers as the API does, on the page and as CSV.
    let asked = json!({"candidates": ["a", "b", "c", "x", "y"]});
    let api = query(&server, id, "", &asked);
    assert_eq!(api.status, 200, "{}", api.text);
    let form = "?candidates=a%0D%0Ab%0D%0Ac%0D%0Ax%0D%0Ay%0D%0Aa";
    let page = dashboard::get(
        &server,
        &format!("/dashboard/campaigns/{id}{form}"),
        Some(&cookie),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("3 of 5 candidates detected"),
        "{}",
        page.body
    );
    let csv = dashboard::get(
        &server,
        &format!("/dashboard/campaigns/{id}/candidates.csv{form}"),
        Some(&cookie),
    );
    assert_eq!(csv.status, 200, "{}", csv.body);
    let rows: Vec<Vec<&str>> = csv
        .body
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let listed = api.json["candidates"].as_array().unwrap();
    assert_eq!(rows.len(), listed.len(), "{}", csv.body);
    for (row, c) in rows.iter().zip(listed) {
        assert_eq!(row[0], c["value"].as_str().unwrap());
        assert_eq!(row[1].parse::<f64>().unwrap(), c["count"].as_f64().unwrap());
        assert_eq!(
            row[2].parse::<f64>().unwrap(),
            c["std_error"].as_f64().unwrap()
        );
        assert_eq!(row[7], c["detected"].to_string());
    }
}

/// Every way a candidate query can be wrong gets its documented problem, never a panic.
#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one table of bad queries and their problems"
)]
fn bad_candidate_queries_get_problems() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let id = "rappor-checks";
    assert_eq!(create(&server, &open_campaign(id)).status, 201);
    let oue = json!({
        "id": "plain-oue", "mechanism": "oue", "epsilon": 1.0,
        "domain": {"range": {"k": 8}}, "min_reports": 10
    });
    assert_eq!(create(&server, &oue).status, 201);
    let path = format!("/v1/campaigns/{id}/estimates/query");
    let good = json!({"candidates": ["a", "b"]});
    let body = serde_json::to_vec(&good).unwrap();

    // An analyst token is required.
    assert_problem(&server.post(&path, JSON, &body, None), 401, "unauthorized");
    assert_problem(
        &server.post(&path, JSON, &body, Some("ldp_0000")),
        401,
        "unauthorized",
    );
    // The admin token reads estimates too (no reports yet).
    assert_problem(
        &server.post(&path, JSON, &body, Some(&server.admin)),
        409,
        "not-enough-reports",
    );

    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "duplicates",
            json!({"candidates": ["a", "b", "a"]}),
            "more than once",
        ),
        ("no candidates", json!({"candidates": []}), "at least one"),
        (
            "an empty candidate",
            json!({"candidates": ["a", ""]}),
            "candidate 1",
        ),
        (
            "a too long candidate",
            json!({"candidates": ["x".repeat(20_000)]}),
            "bytes",
        ),
        (
            "alpha of 1",
            json!({"candidates": ["a"], "alpha": 1.0}),
            "alpha",
        ),
        (
            "alpha of 0",
            json!({"candidates": ["a"], "alpha": 0}),
            "alpha",
        ),
        (
            "a negative alpha",
            json!({"candidates": ["a"], "alpha": -0.5}),
            "alpha",
        ),
        (
            "alpha as text",
            json!({"candidates": ["a"], "alpha": "x"}),
            "expected f64",
        ),
        ("no candidates field", json!({"alpha": 0.05}), "candidates"),
        (
            "candidates not strings",
            json!({"candidates": [1, 2]}),
            "expected a string",
        ),
        (
            "candidates as a string",
            json!({"candidates": "a"}),
            "expected a sequence",
        ),
        (
            "an unknown field",
            json!({"candidates": ["a"], "candidate": ["b"]}),
            "unknown field",
        ),
        ("not an object", json!(["a", "b"]), "candidate query"),
    ];
    for (name, body, detail) in cases {
        let answer = query(&server, id, "", &body);
        assert_problem(&answer, 400, "invalid-request");
        assert!(
            answer.json["detail"].as_str().unwrap().contains(detail),
            "{name}: {}",
            answer.text
        );
    }
    for raw in [
        &b"{"[..],
        b"",
        b"\xff\xfe",
        b"{\"candidates\": [\"a\"]} trailing",
    ] {
        let answer = server.post(&path, JSON, raw, Some(&server.analyst));
        assert_problem(&answer, 400, "invalid-request");
    }
    assert_problem(
        &server.post(&path, "text/plain", &body, Some(&server.analyst)),
        415,
        "unsupported-media-type",
    );
    // Over the body limit (1 MiB): refused from the declared length.
    assert_problem(
        &server.post_declaring_length(&path, JSON, (1 << 20) + 1),
        413,
        "payload-too-large",
    );
    // More candidates than the decoder takes, within the body limit (about 800 kB).
    let many: Vec<String> = (0..100_001).map(|i| format!("{i:x}")).collect();
    let answer = query(&server, id, "", &json!({ "candidates": many }));
    assert_problem(&answer, 400, "invalid-request");
    assert!(answer.text.contains("at most 100000"), "{}", answer.text);

    // No such campaign; a campaign that is not RAPPOR.
    assert_problem(&query(&server, "nope", "", &good), 404, "unknown-campaign");
    let wrong = query(&server, "plain-oue", "", &good);
    assert_problem(&wrong, 409, "candidates-unsupported");
    let detail = wrong.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("candidate lists are for rappor, cms and hcms campaigns"),
        "{detail}"
    );
    assert_eq!(wrong.json["mechanism"], "oue");
    // GET on the query route is not a route.
    assert_problem(
        &server.get(&path, Some(&server.analyst)),
        405,
        "method-not-allowed",
    );

    // The route is in the OpenAPI document.
    let openapi = server.get("/openapi.json", None);
    let route = &openapi.json["paths"]["/v1/campaigns/{id}/estimates/query"]["post"];
    assert!(route.is_object(), "{}", openapi.text);
    assert!(openapi.json["components"]["schemas"]["CandidateEstimatesView"].is_object());
}

/// RAPPOR settings are checked when the campaign is created: a 400 problem that names the
/// rule broken, and nothing stored.
#[test]
fn invalid_rappor_settings_are_refused_on_creation() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let with = |mechanism: Value, epsilon: f64, domain: Value| json!({"id": "bad-rappor", "mechanism": mechanism, "epsilon": epsilon, "domain": domain});
    let rappor = |fields: Value| json!({ "rappor": fields });
    let cases = [
        (
            with(
                rappor(json!({"bloom_bits": 128, "hashes": 2, "cohorts": 64})),
                2.0,
                json!("open"),
            ),
            "give exactly one of f and epsilon_permanent",
        ),
        (
            with(rappor_mechanism(), 1.0, json!("open")),
            "above the configured 1",
        ),
        (
            with(
                rappor(json!({"bloom_bits": 0, "hashes": 2, "cohorts": 64, "f": 0.5})),
                2.0,
                json!("open"),
            ),
            "bloom_bits",
        ),
        (
            with(
                rappor(json!({"bloom_bits": 128, "hashes": 2, "cohorts": 64,
                              "epsilon_permanent": 4, "p": 0.75, "q": 0.25})),
                2.0,
                json!("open"),
            ),
            "p and q",
        ),
        (
            with(json!("oue"), 2.0, json!("open")),
            "open domains need rappor",
        ),
        (
            with(rappor(json!({"bloom_bits": 128})), 2.0, json!("open")),
            "missing field",
        ),
    ];
    for (spec, detail) in cases {
        let answer = create(&server, &spec);
        assert_problem(&answer, 400, "invalid-config");
        assert!(
            answer.json["detail"].as_str().unwrap().contains(detail),
            "{spec}: {}",
            answer.text
        );
    }
    assert_eq!(
        server.get("/v1/campaigns", None).json,
        json!([]),
        "nothing stored"
    );
    // The same mechanism with a dictionary is accepted too.
    let dictionary = json!({
        "id": "rappor-dictionary", "mechanism": rappor_mechanism(), "epsilon": 2.0,
        "domain": {"dictionary": {"values": ["a", "b"]}}
    });
    let created = create(&server, &dictionary);
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["k"], 3);
}
