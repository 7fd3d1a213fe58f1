//! Tokens have a lifecycle: listed without their secrets, given an expiry, revoked; an expired
//! or revoked token is refused with 401 on every protected route. The bootstrap admin token
//! can go to a file only its owner reads. Revoking a token ends the dashboard sessions it opened.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ldp_aggregator::server::auth::token_hash;
use ldp_aggregator::store::{self, Role, token_id};
use ldp_protocol::{CampaignConfig, Mechanism};
use ldp_tests::server::{Backend, TestServer};

use crate::dashboard::{cookie_of, get, login};

const BINARY: &str = env!("CARGO_BIN_EXE_ldp-aggregator-under-test");

/// Every route that needs a token, as (method, path, body).
const PROTECTED: [(&str, &str, &str); 8] = [
    ("GET", "/v1/campaigns/tokens/estimates", ""),
    (
        "POST",
        "/v1/campaigns/tokens/estimates/query",
        r#"{"candidates": ["a"]}"#,
    ),
    ("GET", "/v1/campaigns/tokens/trending", ""),
    ("GET", "/v1/advice?k=16&epsilon=1&n=1000", ""),
    ("POST", "/v1/campaigns", "{}"),
    ("GET", "/v1/campaigns/tokens/estimates?format=csv", ""),
    ("POST", "/v1/campaigns/tokens/close", ""),
    ("GET", "/v1/campaigns/tokens/series?values=1", ""),
];

fn assert_refused_everywhere(server: &TestServer, token: &str, why: &str) {
    for (method, path, body) in PROTECTED {
        let answer = if method == "GET" {
            server.get(path, Some(token))
        } else {
            server.post(path, "application/json", body.as_bytes(), Some(token))
        };
        assert_eq!(answer.status, 401, "{method} {path}: {}", answer.text);
        assert!(
            answer.text.contains(why),
            "{method} {path}: {}",
            answer.text
        );
    }
    let login = server.post(
        "/dashboard/login",
        "application/x-www-form-urlencoded",
        format!("token={token}").as_bytes(),
        None,
    );
    assert_eq!(login.status, 401, "{}", login.text);
}

#[test]
fn expired_and_revoked_tokens_get_401_on_every_protected_route() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    server.create_campaign(&CampaignConfig::range("tokens", Mechanism::Grr, 1.0, 16).unwrap());
    // An analyst token that expired a second ago, written as `token create` would.
    let expired = "ldp_expired-analyst-token";
    let db = store::open(&server.database_url(), "test").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    db.create_token(&token_hash(expired), Role::Analyst, now - 10, Some(now - 1))
        .unwrap();
    assert_refused_everywhere(&server, expired, "expired");

    // A fresh admin token works, is listed with its expiry, and is refused once revoked.
    let out = server.admin_command(&[
        "token",
        "create",
        "--role",
        "admin",
        "--expires-in-days",
        "30",
    ]);
    assert!(out.status.success(), "{out:?}");
    let admin = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(server.get(PROTECTED[3].1, Some(&admin)).status, 200);
    let id = token_id(&token_hash(&admin));
    let list = server.admin_command(&["token", "list", "--json"]);
    let listed = String::from_utf8(list.stdout).unwrap();
    let entry: serde_json::Value = listed
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|t| t["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not in {listed}"));
    assert_eq!(entry["role"], "admin");
    let expires = entry["expires_at"].as_u64().unwrap();
    assert!(expires.abs_diff(now + 30 * 86_400) < 120, "{entry}");
    assert_eq!(
        entry["last_used_day"].as_u64(),
        Some(now / 86_400),
        "{entry}"
    );
    // Neither the secret nor the whole hash is ever printed.
    let table = server.admin_command(&["token", "list"]);
    let table = String::from_utf8(table.stdout).unwrap();
    for secret in [admin.as_str(), &server.analyst, &server.admin] {
        assert!(
            !listed.contains(secret) && !table.contains(secret),
            "{table}"
        );
    }
    assert!(table.contains(&id) && table.contains("never"), "{table}");
    let revoke = server.admin_command(&["token", "revoke", &id]);
    assert!(revoke.status.success(), "{revoke:?}");
    assert_refused_everywhere(&server, &admin, "unknown token");
    let again = server.admin_command(&["token", "revoke", &id]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("no token has id"));
    // The other tokens are untouched.
    assert_eq!(server.get(PROTECTED[3].1, Some(&server.admin)).status, 200);
}

#[test]
fn the_bootstrap_admin_token_can_go_to_a_file_only_its_owner_reads() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("boot.db").display());
    let (address, secret) = (dir.path().join("address"), dir.path().join("admin-token"));
    let mut child = Command::new(BINARY)
        .args(["--database", &database, "serve", "--listen", "127.0.0.1:0"])
        .arg("--address-file")
        .arg(&address)
        .arg("--admin-token-file")
        .arg(&secret)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !address.exists() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let token = std::fs::read_to_string(&secret).unwrap();
    let token = token.trim();
    assert!(token.starts_with("ldp_"), "{token}");
    assert!(!stdout.contains(token), "{stdout}");
    assert!(stdout.contains("admin token written to"), "{stdout}");
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let db = store::open(&database, "test").unwrap();
    let grant = db.token(&token_hash(token)).unwrap().unwrap();
    assert_eq!((grant.role, grant.expires_at), (Role::Admin, None));
}

#[test]
fn revoking_a_token_ends_the_dashboard_sessions_it_opened() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    server.create_campaign(&CampaignConfig::range("tokens", Mechanism::Grr, 1.0, 16).unwrap());
    let out = server.admin_command(&["token", "create", "--role", "analyst"]);
    assert!(out.status.success(), "{out:?}");
    let analyst = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let revoked = cookie_of(&login(&server, &analyst));
    let kept = cookie_of(&login(&server, &server.analyst));
    let pages = ["/dashboard", "/dashboard/campaigns/tokens/estimates.csv"];
    for page in pages {
        assert_eq!(get(&server, page, Some(&revoked)).status, 200, "{page}");
    }
    let revoke = server.admin_command(&["token", "revoke", &token_id(&token_hash(&analyst))]);
    assert!(revoke.status.success(), "{revoke:?}");
    for page in pages {
        let answer = get(&server, page, Some(&revoked));
        assert_eq!(answer.status, 303, "{page}: {}", answer.body);
        assert_eq!(answer.location.as_deref(), Some("/dashboard/login"));
        // Another token's session is untouched.
        assert_eq!(get(&server, page, Some(&kept)).status, 200, "{page}");
    }
}
