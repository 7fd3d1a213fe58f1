//! The real `ldp-aggregator` binary on an ephemeral port with a temporary SQLite database,
//! spoken to over HTTP with the real client.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use ldp_client::Encoder;
use ldp_client::upload::{Ack, EncodedBatch};
use ldp_protocol::report::{GrrReport, UnaryReport};
use ldp_protocol::{
    Batch, BatchId, CampaignConfig, CampaignSpec, Domain, Mechanism, MechanismKind, Report, wire,
};
use ldp_sim::population::Population;
use ldp_tests::postgres::TestPostgres;
use ldp_tests::seeded_rng;
use ldp_tests::server::{Backend, TestServer, batches, current_epoch, send_while_killing};

const BINARY: &str = env!("CARGO_BIN_EXE_ldp-aggregator-under-test");

fn start_with(backend: &Backend, extra: &[&str]) -> TestServer {
    TestServer::start(BINARY, backend, extra)
}

fn range_config(id: &str, kind: MechanismKind, eps: f64, k: u32) -> CampaignConfig {
    let mut spec = CampaignSpec::new(id, Mechanism::with_defaults(kind), eps, Domain::Range { k });
    spec.min_reports = 10;
    CampaignConfig::new(spec).unwrap()
}

fn encode_all(config: &CampaignConfig, pop: &Population, label: &str) -> Vec<Report> {
    let mut encoder = Encoder::with_simulation_rng(config, seeded_rng(label, 0));
    pop.values()
        .map(|v| encoder.encode_index(v).unwrap())
        .collect()
}

fn stored_n(server: &TestServer, campaign: &str) -> u64 {
    server.stored_n(campaign)
}

fn estimates_over_http_are_within_five_standard_errors_of_the_truth(backend: &Backend) {
    let server = start_with(backend, &[]);
    let uploader = server.uploader();
    let pop = Population::zipf(32, 1.1, 50_000);
    for kind in [MechanismKind::Grr, MechanismKind::Oue, MechanismKind::Olh] {
        let id = format!("accuracy-{}", kind.name());
        let config = server.create_campaign(&range_config(&id, kind, 2.0, 32));
        let epoch = current_epoch(&config);
        let reports = encode_all(&config, &pop, &id);
        for batch in batches(&config, epoch, reports, 1000) {
            assert_eq!(uploader.send(&batch).unwrap(), Ack::Counted);
        }
        let answer = server.estimates(&id, "");
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json["n"], 50_000);
        // One epoch of 50,000 devices, one report each: the shuffled bound of the library.
        let shuffled = &answer.json["shuffled"];
        let bound = ldp_aggregator::shuffle::epoch_bound(2.0, 50_000, 1);
        assert_eq!(shuffled["central_epsilon"].as_f64(), Some(bound.epsilon));
        assert!(bound.amplified && bound.epsilon < 0.5, "{bound:?}");
        assert_eq!(shuffled["delta"].as_f64(), Some(1e-6));
        assert_eq!(shuffled["devices"], 50_000);
        assert_eq!(shuffled["amplified"], true);
        assert!(
            shuffled["assumptions"]
                .as_str()
                .unwrap()
                .contains("different device")
        );
        let values = answer.json["values"].as_array().unwrap();
        assert_eq!(values.len(), 32);
        for value in values {
            let index = value["index"].as_u64().unwrap() as usize;
            let count = value["count"].as_f64().unwrap();
            let se = value["std_error"].as_f64().unwrap();
            let truth = pop.counts()[index] as f64;
            assert!(
                (count - truth).abs() <= 5.0 * se,
                "{id}: value {index}: estimate {count} vs truth {truth}, se {se}"
            );
            let ci = value["ci95"].as_array().unwrap();
            assert!(ci[0].as_f64().unwrap() < count && count < ci[1].as_f64().unwrap());
        }
        // top=3 gives the three largest estimates, largest first.
        let top = server.estimates(&id, "?top=3");
        let top = top.json["values"].as_array().unwrap();
        assert_eq!(top.len(), 3);
        assert!(top[0]["count"].as_f64() >= top[1]["count"].as_f64());
    }
    // No client address anywhere in the database or its write-ahead log.
    if let Backend::Sqlite = backend {
        assert!(server.db_path().exists());
    }
    for file in ["ldp.db", "ldp.db-wal"] {
        let path = server.dir().join(file);
        if let Ok(bytes) = std::fs::read(&path) {
            assert!(
                !bytes.windows(9).any(|w| w == b"127.0.0.1"),
                "{file} holds a client address"
            );
        }
    }
}

fn problem_type(answer: &ldp_tests::server::Answer) -> String {
    answer.json["type"].as_str().unwrap_or_default().to_owned()
}

#[expect(
    clippy::too_many_lines,
    reason = "one table of bad inputs and their documented problems"
)]
fn bad_input_gets_its_documented_problem_and_changes_nothing(backend: &Backend) {
    let server = start_with(backend, &[]);
    let oue = server.create_campaign(&range_config("bad-oue", MechanismKind::Oue, 1.0, 16));
    let grr = server.create_campaign(&range_config("bad-grr", MechanismKind::Grr, 1.0, 16));
    let epoch = current_epoch(&oue);
    // Something stored first, so "unchanged" means something.
    let uploader = server.uploader();
    let pop = Population::uniform(16, 200);
    for config in [&oue, &grr] {
        let reports = encode_all(config, &pop, config.id().as_str());
        for batch in batches(config, epoch, reports, 100) {
            uploader.send(&batch).unwrap();
        }
    }
    let before = server.counter_rows();
    assert_eq!(before.len(), 2);

    let batch_for = |config: &CampaignConfig, epoch: u64, reports: Vec<Report>| {
        let mut batch = Batch::new(config, epoch, BatchId([9; 16]));
        batch.reports = reports;
        batch
    };
    let oue_report = || Report::Oue(UnaryReport { bits: vec![0b101] });
    let good = wire::encode(&batch_for(&oue, epoch, vec![oue_report()])).unwrap();
    let mut wrong_digest = batch_for(&oue, epoch, vec![oue_report()]);
    wrong_digest.config_digest ^= 1;
    let unknown = {
        let other = range_config("nope", MechanismKind::Oue, 1.0, 16);
        wire::encode(&batch_for(&other, epoch, vec![oue_report()])).unwrap()
    };
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"garbage");
    let enc = |b: &Batch| wire::encode(b).unwrap();
    let reports_path = |c: &str| format!("/v1/campaigns/{c}/reports");
    let batch_type = "application/x-ldp-batch";

    struct Case {
        name: &'static str,
        path: String,
        content_type: &'static str,
        body: Vec<u8>,
        status: u16,
        slug: &'static str,
    }
    let case = |name, path: String, content_type, body, status, slug| Case {
        name,
        path,
        content_type,
        body,
        status,
        slug,
    };
    let cases = vec![
        case(
            "wrong digest",
            reports_path("bad-oue"),
            batch_type,
            enc(&wrong_digest),
            409,
            "digest-mismatch",
        ),
        case(
            "unknown campaign",
            reports_path("nope"),
            batch_type,
            unknown,
            404,
            "unknown-campaign",
        ),
        case(
            "batch for another campaign",
            reports_path("bad-grr"),
            batch_type,
            good.clone(),
            400,
            "campaign-mismatch",
        ),
        case(
            "wrong content type",
            reports_path("bad-oue"),
            "application/json",
            good.clone(),
            415,
            "unsupported-media-type",
        ),
        case(
            "truncated body",
            reports_path("bad-oue"),
            batch_type,
            good[..good.len() - 3].to_vec(),
            400,
            "malformed-batch",
        ),
        case(
            "trailing garbage",
            reports_path("bad-oue"),
            batch_type,
            trailing,
            400,
            "malformed-batch",
        ),
        case(
            "empty body",
            reports_path("bad-oue"),
            batch_type,
            Vec::new(),
            400,
            "malformed-batch",
        ),
        case(
            "wrong report variant",
            reports_path("bad-oue"),
            batch_type,
            enc(&batch_for(
                &oue,
                epoch,
                vec![Report::Grr(GrrReport { value: 1 })],
            )),
            422,
            "invalid-report",
        ),
        case(
            "index >= k",
            reports_path("bad-grr"),
            batch_type,
            enc(&batch_for(
                &grr,
                epoch,
                vec![Report::Grr(GrrReport { value: 16 })],
            )),
            422,
            "invalid-report",
        ),
        case(
            "wrong bit length",
            reports_path("bad-oue"),
            batch_type,
            enc(&batch_for(
                &oue,
                epoch,
                vec![Report::Oue(UnaryReport { bits: vec![1, 0] })],
            )),
            422,
            "invalid-report",
        ),
        case(
            "bits beyond k",
            reports_path("bad-oue"),
            batch_type,
            enc(&batch_for(
                &oue,
                epoch,
                vec![Report::Oue(UnaryReport {
                    bits: vec![1 << 20],
                })],
            )),
            422,
            "invalid-report",
        ),
        case(
            "one bad report among good ones",
            reports_path("bad-oue"),
            batch_type,
            enc(&batch_for(
                &oue,
                epoch,
                vec![
                    oue_report(),
                    oue_report(),
                    Report::Oue(UnaryReport { bits: vec![] }),
                ],
            )),
            422,
            "invalid-report",
        ),
        case(
            "no reports",
            reports_path("bad-oue"),
            batch_type,
            enc(&batch_for(&oue, epoch, vec![])),
            422,
            "batch-size",
        ),
        case(
            "epoch too old",
            reports_path("bad-oue"),
            batch_type,
            enc(&batch_for(&oue, epoch - 5, vec![oue_report()])),
            422,
            "epoch-out-of-window",
        ),
        case(
            "epoch too far ahead",
            reports_path("bad-oue"),
            batch_type,
            enc(&batch_for(&oue, epoch + 5, vec![oue_report()])),
            422,
            "epoch-out-of-window",
        ),
        case(
            "unknown route",
            "/v1/nothing".into(),
            batch_type,
            good.clone(),
            404,
            "not-found",
        ),
    ];
    for case in cases {
        let answer = server.post(&case.path, case.content_type, &case.body, None);
        assert_eq!(answer.status, case.status, "{}: {}", case.name, answer.text);
        assert_eq!(
            answer.content_type, "application/problem+json",
            "{}",
            case.name
        );
        assert!(
            problem_type(&answer).ends_with(&format!("#{}", case.slug)),
            "{}: {}",
            case.name,
            answer.text
        );
        assert_eq!(answer.json["status"], case.status, "{}", case.name);
    }

    // A body over the 1 MiB limit is refused from its declared length.
    let answer = server.post_declaring_length(&reports_path("bad-oue"), batch_type, 2 << 20);
    assert_eq!(answer.status, 413, "{}", answer.text);
    assert_eq!(answer.content_type, "application/problem+json");
    assert!(problem_type(&answer).ends_with("#payload-too-large"));

    // Tokens: none, unknown, and a role that does not allow the route.
    let spec = serde_json::to_vec(&range_config("fresh", MechanismKind::Grr, 1.0, 4)).unwrap();
    let token_cases = [
        (
            "GET",
            "/v1/campaigns/bad-oue/estimates",
            None,
            401,
            "unauthorized",
        ),
        (
            "GET",
            "/v1/campaigns/bad-oue/estimates",
            Some("ldp_0000"),
            401,
            "unauthorized",
        ),
        (
            "GET",
            "/v1/campaigns/bad-oue/trending",
            None,
            401,
            "unauthorized",
        ),
        ("POST", "/v1/campaigns", None, 401, "unauthorized"),
        (
            "POST",
            "/v1/campaigns",
            Some(server.analyst.as_str()),
            403,
            "forbidden",
        ),
    ];
    for (method, path, token, status, slug) in token_cases {
        let answer = match method {
            "GET" => server.get(path, token),
            _ => server.post(path, "application/json", &spec, token),
        };
        assert_eq!(
            answer.status, status,
            "{method} {path} {token:?}: {}",
            answer.text
        );
        assert!(
            problem_type(&answer).ends_with(&format!("#{slug}")),
            "{}",
            answer.text
        );
    }
    // Invalid campaign configurations.
    let mut bodies = vec![b"{not json".to_vec()];
    // Below the minimum ε: 5e-324 once made one value's count 4.4e12 from 200 reports.
    for epsilon in [-1.0, 5e-324, 0.009] {
        let mut bad_eps = range_config("eps", MechanismKind::Grr, 1.0, 4)
            .spec()
            .clone();
        bad_eps.epsilon = epsilon;
        bodies.push(serde_json::to_vec(&bad_eps).unwrap());
    }
    for body in bodies {
        let answer = server.post(
            "/v1/campaigns",
            "application/json",
            &body,
            Some(&server.admin),
        );
        assert_eq!(answer.status, 400, "{}", answer.text);
        assert!(problem_type(&answer).ends_with("#invalid-config"));
    }
    // The same id with another configuration.
    let clash = serde_json::to_vec(&range_config("bad-oue", MechanismKind::Oue, 2.0, 16)).unwrap();
    let answer = server.post(
        "/v1/campaigns",
        "application/json",
        &clash,
        Some(&server.admin),
    );
    assert_eq!(answer.status, 409, "{}", answer.text);

    assert_eq!(
        server.counter_rows(),
        before,
        "a refused request changed the counters"
    );
    let metrics = server.get("/metrics", None).text;
    assert!(metrics.contains("outcome=\"digest-mismatch\""), "{metrics}");
}

fn estimates_wait_for_the_minimum_number_of_reports(backend: &Backend) {
    let server = start_with(backend, &[]);
    let mut spec = CampaignSpec::new("min", Mechanism::Grr, 1.0, Domain::Range { k: 4 });
    spec.min_reports = 50;
    let config = server.create_campaign(&CampaignConfig::new(spec).unwrap());
    let answer = server.estimates("min", "");
    assert_eq!(answer.status, 409);
    assert!(problem_type(&answer).ends_with("#not-enough-reports"));
    assert_eq!(answer.json["needed"], 50);
    let reports = encode_all(&config, &Population::uniform(4, 49), "min");
    for batch in batches(&config, current_epoch(&config), reports, 100) {
        server.uploader().send(&batch).unwrap();
    }
    let answer = server.estimates("min", "");
    assert_eq!(answer.status, 409);
    assert_eq!(answer.json["needed"], 1);
    let reports = encode_all(&config, &Population::uniform(4, 1), "min-2");
    for batch in batches(&config, current_epoch(&config), reports, 100) {
        server.uploader().send(&batch).unwrap();
    }
    assert_eq!(server.estimates("min", "").status, 200);
}

fn trending_reports_the_value_that_rose_and_nothing_in_the_control(backend: &Backend) {
    // Late uploads for three epochs, so two past epochs can be filled now.
    let server = start_with(backend, &["--late-epochs", "3"]);
    let k = 16;
    let risen = 5usize;
    let base = Population::uniform(k, 20_000);
    let mut weights = vec![1.0; k as usize];
    // Share 1/16 → 2/17: an expected z of about 6.7 against a threshold of 2.73 (α = 0.05
    // over 16 values), so missing it would take a 4σ error.
    weights[risen] = 2.0;
    let rising = Population::from_weights(&weights, 20_000);
    for (id, now_pop) in [("trend", &rising), ("control", &base)] {
        let config = server.create_campaign(&range_config(id, MechanismKind::Grr, 2.0, k));
        let latest = current_epoch(&config) - 1;
        for (epoch, pop, when) in [(latest - 1, &base, "baseline"), (latest, now_pop, "now")] {
            // Seeds name the role, never the epoch: the draws must not change with the date.
            let reports = encode_all(&config, pop, &format!("{id}-{when}"));
            for batch in batches(&config, epoch, reports, 1000) {
                server.uploader().send(&batch).unwrap();
            }
        }
        let answer = server.get(
            &format!("/v1/campaigns/{id}/trending?baseline=1&epoch={latest}"),
            Some(&server.analyst),
        );
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json["n_now"], 20_000);
        assert_eq!(answer.json["n_baseline"], 20_000);
        let found: Vec<u64> = answer.json["rising"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["index"].as_u64().unwrap())
            .collect();
        if id == "trend" {
            assert_eq!(found, vec![risen as u64], "{}", answer.text);
            let t = &answer.json["rising"][0];
            assert!(t["z"].as_f64() > answer.json["z_threshold"].as_f64());
            assert!(t["share_now"].as_f64() > t["share_baseline"].as_f64());
        } else {
            assert!(found.is_empty(), "control: {}", answer.text);
        }
    }
}

fn a_batch_posted_from_eight_connections_at_once_is_counted_once(backend: &Backend) {
    let server = start_with(backend, &[]);
    let config = server.create_campaign(&range_config("idem", MechanismKind::Oue, 1.0, 64));
    let reports = encode_all(&config, &Population::uniform(64, 500), "idem");
    let batch = EncodedBatch::new(&config, current_epoch(&config), reports).unwrap();
    let barrier = Arc::new(Barrier::new(8));
    let acks: Vec<Ack> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let barrier = barrier.clone();
                let uploader = server.uploader();
                let batch = &batch;
                scope.spawn(move || {
                    barrier.wait();
                    uploader.send(batch).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        acks.iter().filter(|a| **a == Ack::Counted).count(),
        1,
        "{acks:?}"
    );
    assert_eq!(stored_n(&server, "idem"), 500);
    // And again later: still once.
    assert_eq!(server.uploader().send(&batch).unwrap(), Ack::Duplicate);
    assert_eq!(stored_n(&server, "idem"), 500);
    // Another batch under the same id is a conflict, not a duplicate, and counts nothing.
    let mut reused = Batch::new(&config, batch.epoch, batch.batch_id);
    reused.reports = encode_all(&config, &Population::uniform(64, 10), "reused");
    let answer = server.post(
        "/v1/campaigns/idem/reports",
        "application/x-ldp-batch",
        &wire::encode(&reused).unwrap(),
        None,
    );
    assert_eq!(answer.status, 409, "{}", answer.text);
    assert!(
        problem_type(&answer).ends_with("#batch-id-conflict"),
        "{}",
        answer.text
    );
    assert_eq!(stored_n(&server, "idem"), 500);
    assert_eq!(server.uploader().send(&batch).unwrap(), Ack::Duplicate);
}

fn acknowledged_batches_survive_sigkill_and_are_counted_exactly_once(backend: &Backend) {
    let mut server = start_with(backend, &[]);
    let config = server.create_campaign(&range_config("crash", MechanismKind::Oue, 1.0, 32));
    let epoch = current_epoch(&config);
    let reports = encode_all(&config, &Population::zipf(32, 1.1, 60_000), "crash");
    // Batch sizes vary so that counts tell batches apart.
    let mut all = Vec::new();
    let mut rest = reports.as_slice();
    let mut size = 20;
    while !rest.is_empty() {
        let take = size.min(rest.len());
        all.push(EncodedBatch::new(&config, epoch, rest[..take].to_vec()).unwrap());
        rest = &rest[take..];
        size = 20 + (size * 7) % 113;
    }
    let total: usize = all.iter().map(|b| b.reports).sum();
    let acked = send_while_killing(&server.url, &all, server.pid());
    server.restart();

    if let Backend::Sqlite = backend {
        let conn = rusqlite::Connection::open(server.db_path()).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }

    let acked_reports: usize = acked.iter().map(|&i| all[i].reports).sum();
    let counted = stored_n(&server, "crash") as usize;
    assert!(
        acked_reports <= counted && counted <= total,
        "acknowledged {acked_reports} ≤ counted {counted} ≤ sent {total} fails"
    );
    // The client re-sends everything: acknowledged batches are duplicates, the rest count once.
    let uploader = server.uploader();
    for (i, batch) in all.iter().enumerate() {
        let ack = uploader.send(batch).unwrap();
        if acked.contains(&i) {
            assert_eq!(ack, Ack::Duplicate, "acknowledged batch {i} was not stored");
        }
    }
    assert_eq!(stored_n(&server, "crash") as usize, total);
    let answer = server.estimates("crash", "");
    assert_eq!(answer.json["n"], total as u64);
}

fn sigterm_finishes_in_flight_work_and_exits_cleanly(backend: &Backend) {
    let mut server = start_with(backend, &[]);
    let config = server.create_campaign(&range_config("term", MechanismKind::Grr, 1.0, 8));
    let reports = encode_all(&config, &Population::uniform(8, 100), "term");
    for batch in batches(&config, current_epoch(&config), reports, 50) {
        server.uploader().send(&batch).unwrap();
    }
    let status = server.terminate();
    assert!(status.success(), "{status}: {}", server.log());
    assert!(server.log().contains("stopped"));
    assert_eq!(stored_n(&server, "term"), 100);
}

fn admin_commands_and_public_documents(backend: &Backend) {
    let server = start_with(backend, &[]);
    let out = server.admin_command(&["token", "create", "--role", "analyst"]);
    let token = String::from_utf8(out.stdout).unwrap();
    assert_eq!(token.lines().count(), 1);
    assert!(
        token.starts_with("ldp_") && token.trim().len() == 68,
        "{token:?}"
    );
    let out = server.admin_command(&[
        "campaign",
        "create",
        "--id",
        "cli",
        "--mechanism",
        "olh",
        "--k",
        "100",
        "--eps",
        "1.5",
        "--epoch-seconds",
        "3600",
        "--min-reports",
        "20",
    ]);
    assert!(out.status.success(), "{out:?}");
    let out = server.admin_command(&["campaign", "show", "cli"]);
    let shown: CampaignConfig = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown.epoch_seconds(), 3600);
    assert_eq!(shown.min_reports(), 20);
    let out = server.admin_command(&["campaign", "list"]);
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("cli\tolh")
    );
    let out = server.admin_command(&[
        "campaign",
        "create",
        "--id",
        "x",
        "--mechanism",
        "grr",
        "--k",
        "1",
        "--eps",
        "1",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("error"));
    // The running server sees a campaign created offline.
    let fetched = server.uploader().fetch_campaign("cli").unwrap();
    assert_eq!(fetched, shown);
    let api = server.get("/openapi.json", None);
    assert_eq!(api.json["openapi"], "3.1.0");
    for path in [
        "/v1/campaigns",
        "/v1/campaigns/{id}/reports",
        "/v1/campaigns/{id}/estimates",
        "/v1/campaigns/{id}/estimates/query",
        "/v1/campaigns/{id}/trending",
        "/v1/campaigns/{id}/series",
        "/v1/campaigns/{id}/close",
        "/v1/campaigns/{id}/retention",
    ] {
        assert!(
            api.json["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert_eq!(server.get("/healthz", None).status, 200);
    assert_eq!(server.get("/readyz", None).status, 200);
}

fn the_load_generator_counts_what_the_server_counts(backend: &Backend) {
    let server = start_with(backend, &[]);
    let config = server.create_campaign(&range_config("load", MechanismKind::Oue, 1.0, 256));
    let plan = ldp_sim::load::LoadPlan {
        urls: vec![server.url.clone()],
        epoch: current_epoch(&config),
        config,
        batch_reports: 100,
        concurrency: 4,
        duration: Duration::from_millis(500),
        rate: None,
        seed: 3,
        devices: None,
    };
    let report = ldp_sim::load::run(&plan, &|_, _| {}).unwrap();
    assert_eq!(report.failed_reports, 0, "{:?}", report.first_error);
    assert!(report.acked_batches > 0);
    assert_eq!(report.sent_reports, report.acked_reports);
    assert_eq!(stored_n(&server, "load"), report.acked_reports);
    assert!(report.p50_ms <= report.p99_ms && report.p99_ms <= report.max_ms);
}

/// `ldp-sim load` encodes strings for an open domain and numbers for a numeric campaign; the
/// server counts every report it sends.
#[test]
fn the_load_generator_encodes_open_domains_and_numbers() {
    let server = start_with(&Backend::Sqlite, &[]);
    let open = CampaignSpec::new(
        "open-load",
        Mechanism::with_defaults(MechanismKind::Cms),
        2.0,
        Domain::Open,
    );
    let numeric = CampaignSpec::new(
        "numeric-load",
        Mechanism::with_defaults(MechanismKind::Duchi),
        1.0,
        Domain::Numeric { lo: 0.0, hi: 100.0 },
    );
    for spec in [open, numeric] {
        let config = server.create_campaign(&CampaignConfig::new(spec).unwrap());
        let id = config.id().as_str().to_owned();
        let plan = ldp_sim::load::LoadPlan {
            urls: vec![server.url.clone()],
            epoch: current_epoch(&config),
            config,
            batch_reports: 100,
            concurrency: 2,
            duration: Duration::from_secs(60),
            rate: None,
            seed: 5,
            devices: Some(2_000),
        };
        let report = ldp_sim::load::run(&plan, &|_, _| {}).unwrap();
        assert_eq!(report.failed_reports, 0, "{id}: {:?}", report.first_error);
        assert_eq!(report.acked_reports, 2_000, "{id}");
        assert_eq!(stored_n(&server, &id), 2_000, "{id}");
    }
}

#[test]
fn slow_clients_cannot_hold_a_connection() {
    use std::io::{Read, Write};
    let server = start_with(&Backend::Sqlite, &["--header-timeout-ms", "300"]);
    let address = server.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = Vec::new();
    // The server closes the connection after its 300 ms header timeout: the read ends with
    // EOF. Without the timeout (hyper's default is 30 s) our 10 s read timeout fires first
    // and the read fails.
    stream
        .read_to_end(&mut buf)
        .expect("the server should close a connection whose headers never finish");
}

/// Runs each named test body once on SQLite and once on PostgreSQL (skipped, with the reason
/// printed, where PostgreSQL cannot be had).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name(&super::Backend::Sqlite);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(pg) = super::TestPostgres::get(stringify!($name)) {
                        super::$name(&super::Backend::Postgres(std::sync::Arc::new(pg)));
                    }
                }
            )*
        }
    };
}

on_both_backends!(
    estimates_over_http_are_within_five_standard_errors_of_the_truth,
    bad_input_gets_its_documented_problem_and_changes_nothing,
    estimates_wait_for_the_minimum_number_of_reports,
    trending_reports_the_value_that_rose_and_nothing_in_the_control,
    a_batch_posted_from_eight_connections_at_once_is_counted_once,
    acknowledged_batches_survive_sigkill_and_are_counted_exactly_once,
    sigterm_finishes_in_flight_work_and_exits_cleanly,
    admin_commands_and_public_documents,
    the_load_generator_counts_what_the_server_counts,
);

#[test]
fn an_app_reporter_records_flushes_and_respects_its_budget() {
    let server = start_with(&Backend::Sqlite, &[]);
    let mut spec = CampaignSpec::new("app", Mechanism::Oue, 1.0, Domain::Range { k: 8 });
    spec.max_reports_per_epoch = 3;
    spec.min_reports = 10;
    server.create_campaign(&CampaignConfig::new(spec).unwrap());
    let mut reporter = ldp_client::upload::Reporter::connect(&server.url, "app").unwrap();
    for value in ["1", "2", "3"] {
        reporter.record(value).unwrap();
    }
    // The fourth report of the epoch is refused on the device.
    assert!(reporter.record("4").is_err());
    let flushed = reporter.flush().unwrap();
    assert_eq!(
        (flushed.batches, flushed.reports, flushed.rejected_batches),
        (1, 3, 0)
    );
    assert!(reporter.unacknowledged().is_empty());
    assert_eq!(stored_n(&server, "app"), 3);
    // Nothing left to send.
    assert_eq!(reporter.flush().unwrap().batches, 0);
}

/// The advisor over HTTP: admin only, the ranking of `ldp-sim advise`, a recommendation ready
/// for a campaign's `mechanism` field, and 400 for a question no mechanism can answer.
#[test]
fn the_advisor_recommends_a_mechanism() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let answer = server.get("/v1/advice?k=16&epsilon=0.5", Some(&server.admin));
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.json["recommended"],
        serde_json::json!({"ss": {"w": 6}})
    );
    assert!(answer.json["reason"].as_str().unwrap().starts_with("ss"));
    let ranked = answer.json["ranked"].as_array().unwrap();
    assert_eq!(ranked.len(), 7, "{}", answer.text);
    let errors: Vec<f64> = ranked
        .iter()
        .map(|a| a["std_error"].as_f64().unwrap())
        .collect();
    assert!(errors[0] <= errors.iter().cloned().fold(f64::INFINITY, f64::min) * 1.02);
    let limited = server.get(
        "/v1/advice?k=4096&epsilon=1&n=50000&max_report_bytes=64",
        Some(&server.admin),
    );
    assert_eq!(limited.status, 200, "{}", limited.text);
    assert!(limited.json["ranked"][0]["report_bytes"].as_u64().unwrap() <= 64);
    assert_eq!(
        server
            .get("/v1/advice?k=16&epsilon=1", Some(&server.analyst))
            .status,
        403
    );
    for bad in [
        "k=1&epsilon=1",
        "k=16&epsilon=0",
        "k=16",
        "k=16&epsilon=1&bogus=2",
    ] {
        let answer = server.get(&format!("/v1/advice?{bad}"), Some(&server.admin));
        assert_eq!(answer.status, 400, "{bad}: {}", answer.text);
        assert_eq!(answer.content_type, "application/problem+json");
    }
}
