//! The harness for service tests: the real `ldp-aggregator` binary on an ephemeral port with a
//! temporary SQLite database, killed when the test ends.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ldp_aggregator::estimate::CounterSnapshot;

use ldp_client::upload::{EncodedBatch, RetryPolicy, Uploader};
use ldp_protocol::{CampaignConfig, Report};

use crate::postgres::TestPostgres;

/// Where a test server keeps its data.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A SQLite file in the server's temporary directory.
    Sqlite,
    /// A PostgreSQL database (shared by every server started on it).
    Postgres(Arc<TestPostgres>),
}

/// A running aggregator with its own temporary directory and database.
#[derive(Debug)]
pub struct TestServer {
    binary: PathBuf,
    dir: tempfile::TempDir,
    backend: Backend,
    node: String,
    child: Option<Child>,
    extra: Vec<String>,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// An admin token.
    pub admin: String,
    /// An analyst token.
    pub analyst: String,
}

/// A JSON answer.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: String,
    /// `Retry-After`, if sent.
    pub retry_after: Option<String>,
    /// The body parsed as JSON (`Null` when it is not JSON).
    pub json: serde_json::Value,
    /// The raw body.
    pub text: String,
    /// Every header, names in lower case.
    pub headers: Vec<(String, String)>,
}

/// Asserts an `application/problem+json` answer with `status` and the type `slug`.
#[track_caller]
pub fn assert_problem(answer: &Answer, status: u16, slug: &str) {
    assert_eq!(answer.status, status, "{}", answer.text);
    assert_eq!(
        answer.content_type, "application/problem+json",
        "{}",
        answer.text
    );
    let kind = answer.json["type"].as_str().unwrap_or_default();
    assert!(
        kind.ends_with(&format!("#{slug}")),
        "{kind}: {}",
        answer.text
    );
    assert_eq!(answer.json["status"], status, "{}", answer.text);
}

impl Answer {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find_map(|(n, v)| (n == name).then_some(v.as_str()))
    }
}

impl TestServer {
    /// Starts `binary` (an `ldp-aggregator` executable; integration tests pass
    /// `env!("CARGO_BIN_EXE_ldp-aggregator-under-test")`) on `backend` with extra `serve`
    /// flags, and creates an admin and an analyst token.
    pub fn start(binary: impl Into<PathBuf>, backend: &Backend, extra: &[&str]) -> Self {
        Self::start_node(binary, backend, "node-1", None, extra)
    }

    /// Starts another node on `backend` (named `node`), reusing `tokens` (admin, analyst)
    /// when given.
    pub fn start_node(
        binary: impl Into<PathBuf>,
        backend: &Backend,
        node: &str,
        tokens: Option<(String, String)>,
        extra: &[&str],
    ) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut server = Self {
            binary: binary.into(),
            dir,
            backend: backend.clone(),
            node: node.to_owned(),
            child: None,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            url: String::new(),
            admin: String::new(),
            analyst: String::new(),
        };
        let (admin, analyst) =
            tokens.unwrap_or_else(|| (server.token("admin"), server.token("analyst")));
        server.admin = admin;
        server.analyst = analyst;
        server.launch();
        server
    }

    /// The backend.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The database URL.
    pub fn database_url(&self) -> String {
        match &self.backend {
            Backend::Sqlite => format!("sqlite://{}", self.db_path().display()),
            Backend::Postgres(pg) => pg.url.clone(),
        }
    }

    /// The SQLite file (meaningful for [`Backend::Sqlite`] only).
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("ldp.db")
    }

    /// The temporary directory (database, logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs an admin subcommand of the binary against this server's database.
    pub fn admin_command(&self, args: &[&str]) -> Output {
        Command::new(&self.binary)
            .args(args)
            .arg("--database")
            .arg(self.database_url())
            .args(["--node-id", &self.node])
            .env("LDP_LOG", "warn")
            .output()
            .expect("run ldp-aggregator")
    }

    fn token(&self, role: &str) -> String {
        let out = self.admin_command(&["token", "create", "--role", role]);
        assert!(out.status.success(), "token create: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    fn launch(&mut self) {
        let address_file = self.dir.path().join("address");
        let _ = std::fs::remove_file(&address_file);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .unwrap();
        let child = Command::new(&self.binary)
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .arg("--address-file")
            .arg(&address_file)
            .arg("--database")
            .arg(self.database_url())
            .args(["--node-id", &self.node])
            .args(&self.extra)
            .env("LDP_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start ldp-aggregator");
        self.child = Some(child);
        // A hang guard, not a speed check: give up after 12,000 polls (two minutes).
        let mut polls = 0u32;
        let address = loop {
            if let Ok(address) = std::fs::read_to_string(&address_file) {
                break address;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("server exited with {status}; log:\n{}", self.log());
            }
            polls += 1;
            assert!(polls < 12_000, "server did not start; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(10));
        };
        self.url = format!("http://{}", address.trim());
        assert_eq!(self.get("/healthz", None).status, 200);
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Kills the server with SIGKILL (no shutdown of any kind).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Starts the server again on the same database (new port).
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Sends SIGTERM and waits for the process to exit; its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        child.wait().expect("wait")
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .new_agent()
    }

    fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
        let mut response = response.expect("HTTP request");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        Answer {
            status,
            content_type,
            retry_after,
            json,
            text,
            headers,
        }
    }

    /// `GET path` with an optional bearer token.
    pub fn get(&self, path: &str, token: Option<&str>) -> Answer {
        let mut request = Self::agent().get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        Self::answer(request.call())
    }

    /// `POST path` with a body, a content type and an optional bearer token.
    pub fn post(&self, path: &str, content_type: &str, body: &[u8], token: Option<&str>) -> Answer {
        let mut request = Self::agent()
            .post(format!("{}{path}", self.url))
            .header("content-type", content_type);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        Self::answer(request.send(body))
    }

    /// `PUT path` with a JSON body and an optional bearer token.
    pub fn put_json(&self, path: &str, body: &str, token: Option<&str>) -> Answer {
        let mut request = Self::agent()
            .put(format!("{}{path}", self.url))
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        Self::answer(request.send(body))
    }

    /// `DELETE path` with an optional bearer token.
    pub fn delete(&self, path: &str, token: Option<&str>) -> Answer {
        let mut request = Self::agent().delete(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        Self::answer(request.call())
    }

    /// Sends only the head of a `POST` that declares a `Content-Length` of `length` bytes and
    /// reads the answer (a server refusing the size answers before any body arrives; sending
    /// the body would race with it closing the connection).
    pub fn post_declaring_length(&self, path: &str, content_type: &str, length: usize) -> Answer {
        self.raw(&format!(
            "POST {path} HTTP/1.1\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n"
        ))
    }

    /// Sends `head` — a request line and header lines, each ending in CRLF — with `Host` and
    /// the blank line added, and reads the answer until the server closes the connection
    /// (send `Connection: close` unless the server refuses the request).
    pub fn raw(&self, head: &str) -> Answer {
        use std::io::{Read, Write};
        let address = self.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(stream, "{head}Host: {address}\r\n\r\n").unwrap();
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (head, text) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let content_type = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-type")
                    .then(|| value.trim().to_owned())
            })
            .unwrap_or_default();
        let retry_after = head.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("retry-after")
                .then(|| value.trim().to_owned())
        });
        let headers = head
            .lines()
            .skip(1)
            .filter_map(|l| {
                let (name, value) = l.split_once(':')?;
                Some((name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            })
            .collect();
        Answer {
            status,
            content_type,
            retry_after,
            json: serde_json::from_str(text).unwrap_or(serde_json::Value::Null),
            text: text.to_owned(),
            headers,
        }
    }

    /// Creates a campaign through the API (admin token) and returns the server's view of it.
    pub fn create_campaign(&self, config: &CampaignConfig) -> CampaignConfig {
        let body = serde_json::to_vec(config).unwrap();
        let answer = self.post(
            "/v1/campaigns",
            "application/json",
            &body,
            Some(&self.admin),
        );
        assert_eq!(answer.status, 201, "{}", answer.text);
        self.uploader()
            .fetch_campaign(config.id().as_str())
            .unwrap()
    }

    /// An uploader for this server with quick retries.
    pub fn uploader(&self) -> Uploader {
        Uploader::with_policy(
            &self.url,
            RetryPolicy {
                max_attempts: 5,
                base_delay: Duration::from_millis(20),
                max_delay: Duration::from_millis(500),
                request_timeout: Duration::from_secs(30),
            },
        )
    }

    /// The estimates of a campaign (`query` like `?top=5`).
    pub fn estimates(&self, campaign: &str, query: &str) -> Answer {
        self.get(
            &format!("/v1/campaigns/{campaign}/estimates{query}"),
            Some(&self.analyst),
        )
    }

    /// The stored counters through the `Store` interface (any backend): one entry per
    /// (campaign, epoch), partial rows of several nodes merged, in key order.
    pub fn counter_rows(&self) -> Vec<(String, u64, CounterSnapshot)> {
        let store = ldp_aggregator::store::open(&self.database_url(), "test-reader").unwrap();
        let mut rows = Vec::new();
        for campaign in store.campaigns().unwrap() {
            for (epoch, counters) in store.counters(&campaign.config, 0, u64::MAX).unwrap() {
                rows.push((
                    campaign.config.id().as_str().to_owned(),
                    epoch,
                    counters.snapshot(),
                ));
            }
        }
        rows
    }

    /// Reports stored for `campaign`, over every epoch.
    pub fn stored_n(&self, campaign: &str) -> u64 {
        self.counter_rows()
            .iter()
            .filter(|row| row.0 == campaign)
            .map(|row| row.2.n)
            .sum()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The current epoch for `config` by the test machine's clock.
pub fn current_epoch(config: &CampaignConfig) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    now / config.epoch_seconds()
}

/// Sends `batches` to `url` from four connections, one attempt per batch, while the server
/// process `pid` is killed with SIGKILL after a random 100–400 ms. Returns the indices of the
/// batches that were acknowledged; asserts that the kill fell inside the load.
pub fn send_while_killing(url: &str, batches: &[EncodedBatch], pid: u32) -> HashSet<usize> {
    let once = RetryPolicy {
        max_attempts: 1,
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
        request_timeout: Duration::from_secs(10),
    };
    let acked = Mutex::new(HashSet::new());
    let next = AtomicUsize::new(0);
    let delay_ms = 100
        + u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos(),
        ) % 300;
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let uploader = Uploader::with_policy(url, once);
            let (acked, next) = (&acked, &next);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(batch) = batches.get(i) else { break };
                    if uploader.send(batch).is_ok() {
                        acked.lock().unwrap().insert(i);
                    }
                }
            });
        }
        scope.spawn(move || {
            std::thread::sleep(Duration::from_millis(delay_ms));
            let status = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status()
                .unwrap();
            assert!(status.success());
        });
    });
    let acked = acked.into_inner().unwrap();
    assert!(
        !acked.is_empty(),
        "the kill came before any batch was acknowledged"
    );
    assert!(
        acked.len() < batches.len(),
        "the kill came after the load ended"
    );
    acked
}

/// Splits reports into encoded batches of at most `size` for `epoch`.
pub fn batches(
    config: &CampaignConfig,
    epoch: u64,
    reports: Vec<Report>,
    size: usize,
) -> Vec<EncodedBatch> {
    reports
        .chunks(size)
        .map(|chunk| EncodedBatch::new(config, epoch, chunk.to_vec()).unwrap())
        .collect()
}
