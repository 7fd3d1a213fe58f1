//! Storage backends against the shared contract, and what SQLite adds: reopening, durability
//! settings, refusing unknown URLs.

use ldp_aggregator::store::{self, StoreError};
use ldp_tests::postgres::TestPostgres;
use ldp_tests::store_contract::{DELETED, check_store_contract};

#[test]
fn sqlite_meets_the_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("contract.db").display());
    let store = store::open(&url, "test").unwrap();
    check_store_contract(&*store);
    drop(store);
    // Deletion left no row of the deleted campaign in any table.
    let db = rusqlite::Connection::open(dir.path().join("contract.db")).unwrap();
    for table in ["counters", "counter_chunks", "batch_ids"] {
        let rows: i64 = db
            .query_row(
                &format!("SELECT count(*) FROM {table} WHERE campaign = ?1"),
                [DELETED],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(rows, 0, "{table} keeps rows of a deleted campaign");
    }
    // Reopening runs no migration twice and finds everything.
    let store = store::open(&url, "test").unwrap();
    assert_eq!(store.campaigns().unwrap().len(), 4);
    assert!(store.has_admin_token().unwrap());
}

#[test]
fn postgres_meets_the_store_contract() {
    let Some(pg) = TestPostgres::get("postgres_meets_the_store_contract") else {
        return;
    };
    let store = store::open(&pg.url, "node-a").unwrap();
    check_store_contract(&*store);
    drop(store);
    // Deletion left no row of the deleted campaign in any table.
    let mut db = postgres::Client::connect(&pg.url, postgres::NoTls).unwrap();
    for table in ["counters", "counter_chunks", "batch_ids", "campaigns"] {
        let column = if table == "campaigns" {
            "id"
        } else {
            "campaign"
        };
        let rows: i64 = db
            .query_one(
                &format!("SELECT count(*) FROM {table} WHERE {column} = $1"),
                &[&DELETED],
            )
            .unwrap()
            .get(0);
        assert_eq!(rows, 0, "{table} keeps rows of a deleted campaign");
    }
    // Reopening (a second node, say) applies no migration twice and sees everything.
    let store = store::open(&pg.url, "node-b").unwrap();
    assert_eq!(store.campaigns().unwrap().len(), 4);
    assert!(store.has_admin_token().unwrap());
}

#[test]
fn postgres_nodes_keep_partial_counters_that_reads_merge() {
    use ldp_aggregator::store::{BatchDelta, CommitOutcome};
    use ldp_aggregator::{Accumulator, CellDelta};
    use ldp_protocol::{BatchId, CampaignConfig, Mechanism};
    let Some(pg) = TestPostgres::get("postgres_nodes_keep_partial_counters_that_reads_merge")
    else {
        return;
    };
    let a = store::open(&pg.url, "node-a").unwrap();
    let b = store::open(&pg.url, "node-b").unwrap();
    let config = CampaignConfig::range("merge", Mechanism::Grr, 1.0, 4).unwrap();
    a.create_campaign(&config, 1).unwrap();
    let delta = |id: u8, value: u32| {
        let report = ldp_protocol::Report::Grr(ldp_protocol::GrrReport { value });
        BatchDelta {
            campaign: "merge".into(),
            digest: config.digest(),
            epoch: 3,
            batch_id: BatchId([id; 16]),
            content: [id; 16],
            cells: CellDelta::of_reports(&config, &[report]).unwrap(),
        }
    };
    let (d1, d2, d3) = (delta(1, 0), delta(2, 1), delta(3, 1));
    assert_eq!(a.commit(&[&d1, &d2]).unwrap(), [CommitOutcome::Counted; 2]);
    // Node b sees a's batch ids: a replay through b is a duplicate.
    assert_eq!(
        b.commit(&[&d2, &d3]).unwrap(),
        [CommitOutcome::Duplicate, CommitOutcome::Counted]
    );
    for store in [&a, &b] {
        let rows = store.counters(&config, 0, 10).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].1.n(), 3);
        assert_eq!(rows[0].1.snapshot().cells, [1, 2, 0, 0]);
    }
    assert_eq!(a.retries(), 0);
}

#[test]
fn database_urls_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    assert!(
        store::open(
            &format!("sqlite://{}?synchronous=normal", db.display()),
            "test"
        )
        .is_ok()
    );
    for bad in [
        "mysql://localhost/ldp".to_owned(),
        "postgres://[oops".to_owned(),
        "ldp.db".to_owned(),
        "sqlite://".to_owned(),
        format!("sqlite://{}?synchronous=off", db.display()),
    ] {
        assert!(
            matches!(
                store::open(&bad, "test"),
                Err(StoreError::UnsupportedUrl(_))
            ),
            "{bad} was accepted"
        );
    }
    let missing_dir = format!("sqlite://{}/no/such/dir/x.db", dir.path().display());
    assert!(matches!(
        store::open(&missing_dir, "test"),
        Err(StoreError::Database(_))
    ));
}

#[test]
fn a_corrupt_counter_row_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let store = store::open(&format!("sqlite://{}", path.display()), "test").unwrap();
    let config =
        ldp_protocol::CampaignConfig::range("c", ldp_protocol::Mechanism::Grr, 1.0, 4).unwrap();
    store.create_campaign(&config, 0).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO counters (campaign, epoch, n, cells) VALUES ('c', 1, 1, x'0102')",
        [],
    )
    .unwrap();
    assert!(matches!(
        store.counters(&config, 0, 10),
        Err(StoreError::Corrupt(_))
    ));
}

/// A counter row written before rows were kept in chunks (its whole snapshot in `counters`)
/// is read as it was and added to by later commits.
#[test]
fn a_row_written_before_chunks_is_read_and_added_to() {
    use ldp_aggregator::store::{BatchDelta, CommitOutcome};
    use ldp_aggregator::{Accumulator, CellDelta, Counters};
    use ldp_protocol::{BatchId, CampaignConfig, Mechanism, Report};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("legacy.db");
    let store = store::open(&format!("sqlite://{}", path.display()), "test").unwrap();
    let config = CampaignConfig::range("legacy", Mechanism::Oue, 1.0, 1500).unwrap();
    store.create_campaign(&config, 0).unwrap();
    let mut encoder =
        ldp_client::Encoder::with_simulation_rng(&config, ldp_tests::seeded_rng("legacy", 1));
    let reports: Vec<Report> = (0..40)
        .map(|v| encoder.encode_index(v * 37).unwrap())
        .collect();
    let (old, new) = reports.split_at(25);
    let mut legacy = Counters::new(&config);
    legacy.fold_all(old).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO counters (campaign, epoch, n, cells) VALUES ('legacy', 4, ?1, ?2)",
        rusqlite::params![legacy.n() as i64, legacy.to_bytes().unwrap()],
    )
    .unwrap();
    let read = store.counters(&config, 4, 4).unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].1.snapshot(), legacy.snapshot());
    let delta = BatchDelta {
        campaign: "legacy".into(),
        digest: config.digest(),
        epoch: 4,
        batch_id: BatchId([9; 16]),
        content: [9; 16],
        cells: CellDelta::of_reports(&config, new).unwrap(),
    };
    assert_eq!(store.commit(&[&delta]).unwrap(), [CommitOutcome::Counted]);
    let mut all = Counters::new(&config);
    all.fold_all(&reports).unwrap();
    let read = store.counters(&config, 0, 9).unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!((read[0].0, read[0].1.snapshot()), (4, all.snapshot()));
}

#[test]
fn postgres_processes_sharing_a_node_id_lose_nothing() {
    use ldp_aggregator::store::{BatchDelta, CommitOutcome};
    use ldp_aggregator::{Accumulator, CellDelta};
    use ldp_protocol::{BatchId, CampaignConfig, Mechanism};
    let Some(pg) = TestPostgres::get("postgres_processes_sharing_a_node_id_lose_nothing") else {
        return;
    };
    let config = CampaignConfig::range("shared", Mechanism::Grr, 1.0, 4).unwrap();
    store::open(&pg.url, "same")
        .unwrap()
        .create_campaign(&config, 1)
        .unwrap();
    // Two stores with one node id commit to the same new (campaign, epoch) row at once,
    // many times over fresh epochs.
    let stores = [
        store::open(&pg.url, "same").unwrap(),
        store::open(&pg.url, "same").unwrap(),
    ];
    let delta = |id: u32, epoch: u64| {
        let report = ldp_protocol::Report::Grr(ldp_protocol::GrrReport { value: id % 4 });
        let mut batch_id = [0u8; 16];
        batch_id[..4].copy_from_slice(&id.to_le_bytes());
        BatchDelta {
            campaign: "shared".into(),
            digest: config.digest(),
            epoch,
            batch_id: BatchId(batch_id),
            content: [0; 16],
            cells: CellDelta::of_reports(&config, &[report]).unwrap(),
        }
    };
    for epoch in 0..40u64 {
        let barrier = std::sync::Barrier::new(2);
        std::thread::scope(|scope| {
            for (i, store) in stores.iter().enumerate() {
                let barrier = &barrier;
                let d = delta(epoch as u32 * 2 + i as u32, epoch);
                scope.spawn(move || {
                    barrier.wait();
                    assert_eq!(store.commit(&[&d]).unwrap(), [CommitOutcome::Counted]);
                });
            }
        });
    }
    let total: u64 = stores[0]
        .counters(&config, 0, 100)
        .unwrap()
        .iter()
        .map(|(_, c)| c.n())
        .sum();
    assert_eq!(total, 80);
}
