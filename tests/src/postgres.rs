//! PostgreSQL for tests, without a container engine.
//!
//! [`TestPostgres::get`] gives each test an empty database:
//! 1. on the server named by `LDP_TEST_POSTGRES_URL` when set (a fresh database is created
//!    there and dropped afterwards);
//! 2. otherwise on a throwaway cluster: `initdb` + `pg_ctl` in a temporary directory on a free
//!    port, stopped and deleted when the test ends (as the `postgres` user when the tests run
//!    as root, since PostgreSQL refuses to run as root);
//! 3. otherwise the test is skipped with the reason printed — unless `LDP_REQUIRE_POSTGRES=1`
//!    (set by `.ci/run`), which turns the skip into a failure.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

mod tls;

pub use tls::TlsPostgres;

/// An empty database for one test.
#[derive(Debug)]
pub struct TestPostgres {
    /// `postgres://…` URL of the database.
    pub url: String,
    cluster: Option<Cluster>,
    dropper: Option<(String, String)>,
}

#[derive(Debug)]
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    run_as: Option<String>,
    options: String,
}

impl Cluster {
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn start(&self) -> Result<(), String> {
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-o", &self.options, "-w", "start"])
            .output()
            .map_err(|e| format!("pg_ctl: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
            Err(format!("pg_ctl start failed: {log}"))
        }
    }

    fn stop(&self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if let Some((admin_url, database)) = &self.dropper
            && let Ok(mut client) = postgres::Client::connect(admin_url, postgres::NoTls)
        {
            let _ =
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
        }
    }
}

static DATABASES: AtomicU32 = AtomicU32::new(0);

fn find_bin_dir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("initdb"))
            .find(|p| p.is_file())
    });
    let initdb = on_path.or_else(|| {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin/initdb")))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        found.pop()
    })?;
    let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
    let dir = real.parent()?.to_path_buf();
    dir.join("pg_ctl").is_file().then_some(dir)
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn id_of(user: &str, flag: &str) -> Option<u32> {
    let out = Command::new("id").args([flag, user]).output().ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(54_329)
}

/// A fresh cluster (initdb, not yet started) on a free port, listening on 127.0.0.1, plus
/// `extra` server options.
fn init_cluster(extra: &str) -> Result<(Cluster, u16), String> {
    let bin = find_bin_dir().ok_or(
        "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql; \
         install the Debian package `postgresql` or set LDP_TEST_POSTGRES_URL",
    )?;
    let dir = tempfile::Builder::new()
        .prefix("ldp-pg-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let run_as = if running_as_root() {
        let (uid, gid) = postgres_ids()?;
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).map_err(|e| e.to_string())?;
        Some("postgres".to_owned())
    } else {
        None
    };
    let port = free_port();
    // fsync off: these clusters hold test data only; the aggregator's durability does not
    // depend on it (the tests kill aggregator nodes, not PostgreSQL).
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200{extra}",
        dir.path().display()
    );
    let cluster = Cluster {
        dir,
        bin,
        run_as,
        options,
    };
    let out = cluster
        .command("initdb")
        .arg("-D")
        .arg(cluster.data())
        .args([
            "-U",
            "ldp",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ])
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((cluster, port))
}

fn postgres_ids() -> Result<(u32, u32), String> {
    id_of("postgres", "-u")
        .zip(id_of("postgres", "-g"))
        .ok_or_else(|| {
            "running as root and there is no `postgres` user to run PostgreSQL as".into()
        })
}

fn start_cluster() -> Result<TestPostgres, String> {
    let (cluster, port) = init_cluster("")?;
    cluster.start()?;
    let admin = format!("postgres://ldp@127.0.0.1:{port}/postgres");
    let mut client =
        postgres::Client::connect(&admin, postgres::NoTls).map_err(|e| e.to_string())?;
    client
        .batch_execute("CREATE DATABASE ldp")
        .map_err(|e| e.to_string())?;
    Ok(TestPostgres {
        url: format!("postgres://ldp@127.0.0.1:{port}/ldp"),
        cluster: Some(cluster),
        dropper: None,
    })
}

fn on_given_server(url: &str) -> Result<TestPostgres, String> {
    let database = format!(
        "ldp_test_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, Ordering::Relaxed)
    );
    let mut client = postgres::Client::connect(url, postgres::NoTls)
        .map_err(|e| format!("LDP_TEST_POSTGRES_URL: {e}"))?;
    client
        .batch_execute(&format!("CREATE DATABASE {database}"))
        .map_err(|e| format!("LDP_TEST_POSTGRES_URL: {e}"))?;
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let prefix = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    Ok(TestPostgres {
        url: format!("{prefix}/{database}{query}"),
        cluster: None,
        dropper: Some((url.to_owned(), database)),
    })
}

impl TestPostgres {
    /// An empty database for `test`, or `None` after printing why PostgreSQL tests are
    /// skipped here.
    pub fn get(test: &str) -> Option<Self> {
        let result = match std::env::var("LDP_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => on_given_server(&url),
            _ => start_cluster(),
        };
        Self::or_skip(test, result)
    }

    /// `result`'s database, or `None` after printing why PostgreSQL tests are skipped (a
    /// failure when `LDP_REQUIRE_POSTGRES=1`).
    fn or_skip<T>(test: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(pg) => Some(pg),
            Err(reason) => {
                assert!(
                    std::env::var("LDP_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                    "{test}: PostgreSQL is required (LDP_REQUIRE_POSTGRES=1) but: {reason}"
                );
                // Written past the test harness's output capture, so the skip is seen.
                let _ = writeln!(std::io::stderr(), "skipping {test}: {reason}");
                None
            }
        }
    }

    /// Whether this database lives on a throwaway cluster of this test (which
    /// [`TestPostgres::stop_server`] and [`TestPostgres::start_server`] control).
    pub fn is_throwaway(&self) -> bool {
        self.cluster.is_some()
    }

    /// Stops the throwaway cluster at once (`pg_ctl stop -m immediate`), as an outage.
    pub fn stop_server(&self) {
        if let Some(cluster) = &self.cluster {
            cluster.stop();
        }
    }

    /// Starts the throwaway cluster again on the same port.
    pub fn start_server(&self) {
        if let Some(cluster) = &self.cluster {
            cluster.start().expect("restart PostgreSQL");
        }
    }
}
