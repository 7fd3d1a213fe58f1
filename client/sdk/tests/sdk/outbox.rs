//! The outbox: retries resend identical bytes, refusals and overflow are counted, turning
//! uploads off leaves nothing behind.

use ldp_protocol::{CampaignConfig, Mechanism};
use ldp_sdk::{ClientOptions, DB_FILE, ManualClock};

use crate::collector::{Collector, START};

const DAY: u64 = 86_400;

fn oue(id: &str) -> CampaignConfig {
    let mut spec = ldp_protocol::CampaignSpec::new(
        id,
        Mechanism::Oue,
        1.0,
        ldp_protocol::Domain::Range { k: 1024 },
    );
    spec.max_reports_per_epoch = 5;
    CampaignConfig::new(spec).unwrap()
}

#[test]
fn a_failed_upload_is_retried_later_with_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let collector = Collector::new(&clock, &[oue("clicks")]);
    let client = collector.client(dir.path(), ClientOptions::default());
    for i in 0..5 {
        client.record_index("clicks", i).unwrap();
    }
    clock.advance(2 * DAY);
    collector.seen.lock().unwrap().fail_with = Some(503);
    let summary = client.upload_pending().unwrap();
    assert_eq!(summary.batches_sent, 0);
    assert_eq!(summary.reports_waiting, 5);
    assert!(summary.error.unwrap().contains("503"));
    // Not again before the backoff has passed.
    collector.seen.lock().unwrap().fail_with = None;
    assert_eq!(client.upload_pending().unwrap().batches_sent, 0);

    // The collector counted the batch, but the answer was lost: the device resends.
    clock.advance(3600);
    // The client owns its directory while open: close it to look inside.
    drop(client);
    let sealed = {
        let db = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        db.query_row("SELECT body FROM batches", [], |r| r.get::<_, Vec<u8>>(0))
            .unwrap()
    };
    let client = collector.client(dir.path(), ClientOptions::default());
    let answer = ldp_sdk::Transport::send(
        &collector,
        &ldp_sdk::HttpRequest {
            method: "POST".into(),
            url: "http://collector.test/v1/campaigns/clicks".into(),
            headers: vec![],
            body: sealed.clone(),
        },
    )
    .unwrap();
    assert_eq!(answer.status, 202);
    let summary = client.upload_pending().unwrap();
    assert_eq!((summary.batches_sent, summary.reports_sent), (1, 5));
    assert_eq!(summary.reports_waiting, 0);
    // The collector compares every resend with the counted bytes; it counted them once.
    assert_eq!(collector.reports(), 5);
    assert_eq!(client.counter("acknowledged_reports").unwrap(), 5);
}

#[test]
fn a_refused_batch_is_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let collector = Collector::new(&clock, &[oue("clicks")]);
    let client = collector.client(dir.path(), ClientOptions::default());
    client.record_index("clicks", 1).unwrap();
    clock.advance(2 * DAY);
    collector.seen.lock().unwrap().fail_with = Some(400);
    let summary = client.upload_pending().unwrap();
    assert_eq!((summary.batches_rejected, summary.reports_waiting), (1, 0));
    assert_eq!(client.counter("rejected_reports").unwrap(), 1);
    // The budget it spent stays spent.
    assert_eq!(client.privacy_spent("clicks").unwrap().lifetime_reports, 1);
}

#[test]
fn a_full_outbox_drops_its_oldest_batches_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let collector = Collector::new(&clock, &[oue("clicks")]);
    let options = ClientOptions {
        max_outbox_batches: 3,
        ..ClientOptions::default()
    };
    let client = collector.client(dir.path(), options.clone());
    for round in 0..5 {
        client.record_index("clicks", 1).unwrap();
        if round == 0 {
            // The configuration is cached; from now on the collector is down.
            collector.seen.lock().unwrap().fail_with = Some(503);
        }
        client.record_index("clicks", 2).unwrap();
        clock.advance(DAY);
    }
    let summary = client.upload_pending().unwrap();
    assert_eq!(summary.batches_waiting, 3);
    assert_eq!(client.counter("dropped_batches").unwrap(), 2);
    assert_eq!(client.counter("dropped_reports").unwrap(), 4);

    // A byte bound too: an OUE report over 1,024 values takes 128 bytes of bits and a few of
    // framing, so three fit in 420 bytes and four do not.
    let dir = tempfile::tempdir().unwrap();
    let client = collector.client(
        dir.path(),
        ClientOptions {
            max_outbox_bytes: 420,
            ..options
        },
    );
    collector.seen.lock().unwrap().fail_with = None;
    for i in 0..5 {
        client.record_index("clicks", i).unwrap();
        collector.seen.lock().unwrap().fail_with = Some(503);
        clock.advance(DAY);
    }
    assert_eq!(client.upload_pending().unwrap().reports_waiting, 3);
}

/// Every file in `dir`, concatenated.
fn all_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        all.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    all
}

#[test]
fn turning_uploads_off_deletes_the_outbox_to_the_last_byte_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let collector = Collector::new(&clock, &[oue("clicks")]);
    let client = collector.client(dir.path(), ClientOptions::default());
    for i in 0..5 {
        client.record_index("clicks", i).unwrap();
    }
    drop(client);
    let reports: Vec<Vec<u8>> = {
        let db = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        let mut stmt = db.prepare("SELECT report FROM outbox").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(reports.len(), 5);
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    // The check can fail: the reports are on disk before the switch.
    let before = all_bytes(dir.path());
    assert!(reports.iter().all(|r| contains(&before, r)));
    let client = collector.client(dir.path(), ClientOptions::default());

    client.set_upload_enabled(false).unwrap();
    let after = all_bytes(dir.path());
    for report in &reports {
        assert!(
            !contains(&after, report),
            "a deleted report is still on disk"
        );
    }
    // Recording does nothing, nothing is sent, and the choice survives a restart.
    client.record_index("clicks", 1).unwrap();
    drop(client);
    let client = collector.client(dir.path(), ClientOptions::default());
    assert!(!client.upload_enabled().unwrap());
    clock.advance(3 * DAY);
    let summary = client.upload_pending().unwrap();
    assert_eq!((summary.batches_sent, summary.reports_waiting), (0, 0));
    assert!(collector.seen.lock().unwrap().posts.is_empty());
    // The ledger is kept: the budget spent stays spent.
    assert_eq!(client.privacy_spent("clicks").unwrap().lifetime_reports, 5);
}

#[test]
fn a_damaged_batch_is_dropped_and_counted_without_blocking_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let collector = Collector::new(&clock, &[oue("clicks")]);
    let client = collector.client(dir.path(), ClientOptions::default());
    client.record_index("clicks", 1).unwrap();
    clock.advance(DAY);
    client.record_index("clicks", 2).unwrap();
    drop(client);
    {
        // Damage the first epoch's report on disk.
        let db = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        let changed = db
            .execute(
                "UPDATE outbox SET report = x'ff' WHERE batch = (SELECT MIN(id) FROM batches)",
                [],
            )
            .unwrap();
        assert_eq!(changed, 1);
    }
    let client = collector.client(dir.path(), ClientOptions::default());
    clock.advance(2 * DAY);
    let summary = client.upload_pending().unwrap();
    assert_eq!((summary.reports_sent, summary.reports_waiting), (1, 0));
    assert_eq!(client.counter("dropped_reports").unwrap(), 1);
    assert_eq!(collector.reports(), 1);
}
