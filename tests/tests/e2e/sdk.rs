//! The device SDK against the real collector, killed with SIGKILL at random moments: the
//! budget is never overspent, every charged report is in the outbox or acknowledged, and the
//! collector counts exactly the acknowledged reports — none lost, none twice.
//!
//! SIGKILL ends the process, not the machine: the operating system keeps what SQLite wrote, so
//! this shows the transactions' atomicity and the outbox's retry rules. That the seal is synced
//! before a send (power loss) rests on SQLite's documented `synchronous = FULL` commit.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism};
use ldp_sdk::{Client, ClientOptions, SystemClock, UreqTransport};
use ldp_tests::seeded_rng;
use ldp_tests::server::{Backend, TestServer};
use rand_core::RngCore;

const BINARY: &str = env!("CARGO_BIN_EXE_ldp-aggregator-under-test");
const RECORDER: &str = env!("CARGO_BIN_EXE_ldp-sdk-recorder");
const ALLOWED: u32 = 200;
const KILLS: usize = 220;

/// What the device's state says, read straight from its database.
#[derive(Debug, Default, PartialEq, Eq)]
struct Books {
    charged: u64,
    /// Reports in the lifetime ledger (written in the charge's transaction).
    lifetime: u64,
    most_in_an_epoch: u32,
    in_outbox: u64,
    acknowledged: u64,
    rejected: u64,
    dropped: u64,
}

fn books(dir: &Path) -> Books {
    let path = dir.join(ldp_sdk::DB_FILE);
    if !path.exists() {
        return Books::default();
    }
    let db = rusqlite::Connection::open(path).unwrap();
    let counter = |name: &str| -> u64 {
        db.query_row(
            "SELECT COALESCE((SELECT value FROM counters WHERE name = ?1), 0)",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .unwrap() as u64
    };
    let (charged, most): (i64, i64) = db
        .query_row(
            "SELECT COALESCE(SUM(reports), 0), COALESCE(MAX(reports), 0) FROM ledger",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let in_outbox: i64 = db
        .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))
        .unwrap();
    let lifetime: i64 = db
        .query_row("SELECT COALESCE(SUM(reports), 0) FROM lifetime", [], |r| {
            r.get(0)
        })
        .unwrap_or(0);
    Books {
        charged: charged as u64,
        lifetime: lifetime as u64,
        most_in_an_epoch: most as u32,
        in_outbox: in_outbox as u64,
        acknowledged: counter("acknowledged_reports"),
        rejected: counter("rejected_reports"),
        dropped: counter("dropped_reports"),
    }
}

#[test]
fn sigkill_at_random_moments_loses_nothing_overspends_nothing_and_counts_once() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let mut spec = CampaignSpec::new("crash", Mechanism::Grr, 1.0, Domain::Range { k: 8 });
    spec.epoch_seconds = 2;
    spec.max_reports_per_epoch = ALLOWED;
    server.create_campaign(&CampaignConfig::new(spec).unwrap());
    let device = tempfile::tempdir().unwrap();
    let mut rng = seeded_rng("sdk-crash", 0);

    for kill in 0..KILLS {
        let mut child = Command::new(RECORDER)
            .arg(device.path())
            .arg(&server.url)
            .arg("crash")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Anywhere from before the database is open to deep into a run of records and uploads.
        std::thread::sleep(Duration::from_micros(rng.next_u64() % 150_000));
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "the recorder exited by itself with {status}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let books = books(device.path());
        assert!(
            books.most_in_an_epoch <= ALLOWED,
            "after kill {kill}: {books:?}"
        );
        assert_eq!(
            books.charged,
            books.in_outbox + books.acknowledged + books.rejected + books.dropped,
            "after kill {kill}: a charged report is neither waiting nor acknowledged"
        );
        assert_eq!(
            books.lifetime, books.charged,
            "after kill {kill}: the lifetime ledger and the epochs' ledger disagree"
        );
    }

    // Let the device finish its uploads in peace.
    let client = Client::open_with(
        device.path(),
        &server.url,
        ClientOptions {
            release_window_seconds: Some(1),
            retry_base_seconds: 1,
            ..ClientOptions::default()
        },
        Arc::new(UreqTransport::default()),
        Arc::new(SystemClock),
    )
    .unwrap();
    // Every batch is due within a few epochs; bounded so a bug cannot hang the run.
    let mut polls = 0u32;
    while client.upload_pending().unwrap().reports_waiting > 0 {
        polls += 1;
        assert!(polls < 600, "uploads never finished");
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(client); // the client owns its directory while open
    let books = books(device.path());
    assert_eq!((books.rejected, books.dropped, books.in_outbox), (0, 0, 0));
    assert!(books.charged > 0);
    assert_eq!(books.acknowledged, books.charged);
    assert_eq!(server.stored_n("crash"), books.acknowledged, "{books:?}");
    eprintln!("{KILLS} kills; {books:?}");
}
