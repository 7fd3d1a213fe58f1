//! Storage backends against the shared contract, and what SQLite adds: reopening, durability
//! settings, refusing unknown URLs.

use ldp_aggregator::store::{self, StoreError};
use ldp_tests::store_contract::check_store_contract;

#[test]
fn sqlite_meets_the_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("contract.db").display());
    let store = store::open(&url).unwrap();
    check_store_contract(&*store);
    drop(store);
    // Reopening runs no migration twice and finds everything.
    let store = store::open(&url).unwrap();
    assert_eq!(store.campaigns().unwrap().len(), 2);
    assert!(store.has_admin_token().unwrap());
}

#[test]
fn database_urls_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    assert!(store::open(&format!("sqlite://{}?synchronous=normal", db.display())).is_ok());
    for bad in [
        "mysql://localhost/ldp".to_owned(),
        "ldp.db".to_owned(),
        "sqlite://".to_owned(),
        format!("sqlite://{}?synchronous=off", db.display()),
    ] {
        assert!(
            matches!(store::open(&bad), Err(StoreError::UnsupportedUrl(_))),
            "{bad} was accepted"
        );
    }
    let missing_dir = format!("sqlite://{}/no/such/dir/x.db", dir.path().display());
    assert!(matches!(
        store::open(&missing_dir),
        Err(StoreError::Database(_))
    ));
}

#[test]
fn a_corrupt_counter_row_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let store = store::open(&format!("sqlite://{}", path.display())).unwrap();
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
