//! Several aggregator processes on one PostgreSQL database.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ldp_client::Encoder;
use ldp_client::upload::{Ack, EncodedBatch};
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, MechanismKind};
use ldp_sim::population::Population;
use ldp_tests::postgres::TestPostgres;
use ldp_tests::seeded_rng;
use ldp_tests::server::{Backend, TestServer, current_epoch, send_while_killing};

const BINARY: &str = env!("CARGO_BIN_EXE_ldp-aggregator-under-test");

fn config(id: &str) -> CampaignConfig {
    let mut spec = CampaignSpec::new(
        id,
        Mechanism::with_defaults(MechanismKind::Oue),
        1.0,
        Domain::Range { k: 32 },
    );
    spec.min_reports = 10;
    CampaignConfig::new(spec).unwrap()
}

/// `count` batches of `size` reports of a Zipf population, encoded with a fixed seed.
fn encoded_batches(
    config: &CampaignConfig,
    count: usize,
    size: usize,
    label: &str,
) -> Vec<EncodedBatch> {
    let pop = Population::zipf(config.k(), 1.1, (count * size) as u64);
    let mut encoder = Encoder::with_simulation_rng(config, seeded_rng(label, 0));
    let reports: Vec<_> = pop
        .values()
        .map(|v| encoder.encode_index(v).unwrap())
        .collect();
    let epoch = current_epoch(config);
    reports
        .chunks(size)
        .map(|chunk| EncodedBatch::new(config, epoch, chunk.to_vec()).unwrap())
        .collect()
}

fn two_nodes(pg: TestPostgres) -> (TestServer, TestServer) {
    let backend = Backend::Postgres(Arc::new(pg));
    let a = TestServer::start_node(BINARY, &backend, "node-a", None, &[]);
    let tokens = Some((a.admin.clone(), a.analyst.clone()));
    let b = TestServer::start_node(BINARY, &backend, "node-b", tokens, &[]);
    (a, b)
}

#[test]
fn two_nodes_count_each_of_10000_triple_posted_batches_once_and_agree_with_sqlite() {
    let Some(pg) = TestPostgres::get("two_nodes_count_each_triple_posted_batch_once") else {
        return;
    };
    let (a, b) = two_nodes(pg);
    let config = a.create_campaign(&config("nodes"));
    let all = encoded_batches(&config, 10_000, 10, "nodes");
    let total: usize = all.iter().map(|b| b.reports).sum();
    let uploaders = [a.uploader(), b.uploader()];
    let counted = AtomicUsize::new(0);
    let duplicates = AtomicUsize::new(0);
    // Three senders per batch, each copy to a different node in turn, all at once.
    std::thread::scope(|scope| {
        for copy in 0..3 {
            let next = Arc::new(AtomicUsize::new(0));
            for _ in 0..4 {
                let (all, uploaders, counted, duplicates, next) =
                    (&all, &uploaders, &counted, &duplicates, next.clone());
                scope.spawn(move || {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(batch) = all.get(i) else { break };
                        match uploaders[(i + copy) % 2].send(batch).unwrap() {
                            Ack::Counted => counted.fetch_add(1, Ordering::Relaxed),
                            Ack::Duplicate => duplicates.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                });
            }
        }
    });
    assert_eq!(counted.into_inner(), 10_000);
    assert_eq!(duplicates.into_inner(), 20_000);
    assert_eq!(a.stored_n("nodes"), total as u64);
    let on_a = a.estimates("nodes", "");
    let on_b = b.estimates("nodes", "");
    assert_eq!(on_a.status, 200, "{}", on_a.text);
    assert_eq!(on_a.json, on_b.json);

    // The same batches, once each, into one SQLite node: identical estimates.
    let single = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    single.create_campaign(&config);
    let uploader = single.uploader();
    std::thread::scope(|scope| {
        let next = Arc::new(AtomicUsize::new(0));
        for _ in 0..4 {
            let (all, uploader, next) = (&all, &uploader, next.clone());
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(batch) = all.get(i) else { break };
                    assert_eq!(uploader.send(batch).unwrap(), Ack::Counted);
                }
            });
        }
    });
    let on_sqlite = single.estimates("nodes", "");
    assert_eq!(on_sqlite.json["n"], total as u64);
    assert_eq!(on_sqlite.json["values"], on_a.json["values"]);
    let metrics = a.get("/metrics", None).text;
    assert!(metrics.contains("ldp_store_retries_total"), "{metrics}");
}

#[test]
fn a_killed_node_loses_nothing_acknowledged_and_the_other_node_takes_the_resends() {
    let Some(pg) = TestPostgres::get("a_killed_node_loses_nothing_acknowledged") else {
        return;
    };
    let (mut a, b) = two_nodes(pg);
    let config = a.create_campaign(&config("failover"));
    let all = encoded_batches(&config, 3_000, 17, "failover");
    let total: usize = all.iter().map(|b| b.reports).sum();
    let acked = send_while_killing(&a.url, &all, a.pid());
    a.kill();
    let acked_reports: usize = acked.iter().map(|&i| all[i].reports).sum();
    let counted = b.stored_n("failover") as usize;
    assert!(
        acked_reports <= counted && counted <= total,
        "acknowledged {acked_reports} ≤ counted {counted} ≤ sent {total} fails"
    );
    // The client sends what node a did not acknowledge to node b; and, to prove nothing
    // acknowledged was lost, the acknowledged ones too: all of those are duplicates.
    let uploader = b.uploader();
    for (i, batch) in all.iter().enumerate() {
        let ack = uploader.send(batch).unwrap();
        if acked.contains(&i) {
            assert_eq!(ack, Ack::Duplicate, "acknowledged batch {i} was lost");
        }
    }
    assert_eq!(b.stored_n("failover") as usize, total);
}

#[test]
fn while_postgres_is_down_readiness_fails_and_ingest_answers_503_then_recovers() {
    let Some(pg) = TestPostgres::get("while_postgres_is_down") else {
        return;
    };
    if !pg.is_throwaway() {
        // An outage cannot be staged on a server given by LDP_TEST_POSTGRES_URL.
        return;
    }
    let pg = Arc::new(pg);
    let backend = Backend::Postgres(pg.clone());
    let server = TestServer::start_node(BINARY, &backend, "node-a", None, &[]);
    let config = server.create_campaign(&config("outage"));
    let batches = encoded_batches(&config, 3, 20, "outage");
    let uploader = server.uploader();
    assert_eq!(uploader.send(&batches[0]).unwrap(), Ack::Counted);

    pg.stop_server();
    let ready = server.get("/readyz", None);
    assert_eq!(ready.status, 503, "{}", ready.text);
    assert!(
        ready.json["type"]
            .as_str()
            .unwrap()
            .ends_with("#unavailable")
    );
    let answer = server.post(
        "/v1/campaigns/outage/reports",
        "application/x-ldp-batch",
        &batches[1].bytes,
        None,
    );
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert!(
        answer.json["type"]
            .as_str()
            .unwrap()
            .ends_with("#unavailable")
    );
    assert_eq!(answer.retry_after.as_deref(), Some("1"));

    pg.start_server();
    // The client retries the identical bytes once the database is back.
    let mut recovered = false;
    for _ in 0..50 {
        if server.get("/readyz", None).status == 200 {
            recovered = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(recovered, "readiness did not recover: {}", server.log());
    assert_eq!(uploader.send(&batches[1]).unwrap(), Ack::Counted);
    assert_eq!(uploader.send(&batches[2]).unwrap(), Ack::Counted);
    assert_eq!(uploader.send(&batches[0]).unwrap(), Ack::Duplicate);
    // Nothing half-written: exactly the three batches.
    assert_eq!(server.stored_n("outage"), 60);
}

/// A dashboard session opened on one node works on the other (no sticky load balancing), and
/// logging out on either ends it on both.
#[test]
fn a_dashboard_session_works_on_every_node() {
    let Some(pg) = TestPostgres::get("a_dashboard_session_works_on_every_node") else {
        return;
    };
    let (a, b) = two_nodes(pg);
    let cookie = crate::dashboard::cookie_of(&crate::dashboard::login(&a, &a.analyst));
    for node in [&a, &b] {
        assert_eq!(
            crate::dashboard::get(node, "/dashboard", Some(&cookie)).status,
            200
        );
    }
    assert_eq!(crate::dashboard::logout(&b, &cookie).status, 303);
    for node in [&a, &b] {
        assert_eq!(
            crate::dashboard::get(node, "/dashboard", Some(&cookie)).status,
            303
        );
    }
}
