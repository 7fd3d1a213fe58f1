//! The dashboard over HTTP against the real binary: sessions, redirects, escaping, security
//! headers, and the pages' content.

use std::time::Duration;

use ldp_client::Encoder;
use ldp_client::upload::Ack;
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism};
use ldp_tests::seeded_rng;
use ldp_tests::server::{Backend, TestServer, batches, current_epoch};

const BINARY: &str = env!("CARGO_BIN_EXE_ldp-aggregator-under-test");
const HOSTILE: &str = "<script>alert(1)</script>";

/// One HTTP answer with the headers the dashboard tests look at.
pub(crate) struct Page {
    pub(crate) status: u16,
    location: Option<String>,
    set_cookie: Option<String>,
    csp: Option<String>,
    pub(crate) body: String,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent()
}

fn page(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Page {
    let mut response = response.expect("HTTP request");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (location, set_cookie, csp) = (
        header("location"),
        header("set-cookie"),
        header("content-security-policy"),
    );
    Page {
        status: response.status().as_u16(),
        location,
        set_cookie,
        csp,
        body: response.body_mut().read_to_string().unwrap_or_default(),
    }
}

pub(crate) fn get(server: &TestServer, path: &str, cookie: Option<&str>) -> Page {
    let mut request = agent().get(format!("{}{path}", server.url));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    page(request.call())
}

pub(crate) fn login(server: &TestServer, token: &str) -> Page {
    page(
        agent()
            .post(format!("{}/dashboard/login", server.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .send(format!("token={token}")),
    )
}

/// The `name=value` part of a `Set-Cookie` header.
pub(crate) fn cookie_of(page: &Page) -> String {
    let header = page.set_cookie.as_deref().expect("a session cookie");
    header.split(';').next().unwrap().to_owned()
}

fn campaign(id: &str, description: &str) -> CampaignConfig {
    let mut spec = CampaignSpec::new(
        id,
        Mechanism::Oue,
        2.0,
        Domain::Dictionary {
            values: ["alpha", "beta", HOSTILE, "delta", "epsilon"]
                .map(String::from)
                .to_vec(),
        },
    );
    spec.description = description.to_owned();
    spec.min_reports = 100;
    CampaignConfig::new(spec).unwrap()
}

#[test]
fn without_a_session_every_page_redirects_to_the_login() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    server.create_campaign(&campaign("exists", "x"));
    for path in [
        "/dashboard",
        "/dashboard/campaigns/exists",
        "/dashboard/campaigns/does-not-exist",
    ] {
        let answer = get(&server, path, None);
        assert_eq!(answer.status, 303, "{path}");
        assert_eq!(
            answer.location.as_deref(),
            Some("/dashboard/login"),
            "{path}"
        );
        assert!(answer.csp.is_some(), "{path}: no CSP");
    }
    // A forged or expired cookie is no session either.
    let forged = format!("ldp_session={}", "ab".repeat(32));
    assert_eq!(get(&server, "/dashboard", Some(&forged)).status, 303);
    // The API never reads cookies.
    assert_eq!(
        get(&server, "/v1/campaigns/exists/estimates", Some(&forged)).status,
        401
    );
}

#[test]
fn a_wrong_token_is_refused_without_saying_more() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let answer = login(&server, "ldp_0000");
    assert_eq!(answer.status, 401);
    assert!(answer.set_cookie.is_none());
    assert!(answer.body.contains("not accepted"), "{}", answer.body);
    // The login page carries the same policy as every dashboard page.
    let csp = answer.csp.expect("CSP");
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
}

#[test]
fn a_session_shows_campaigns_escaped_and_ends_at_logout() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let config = server.create_campaign(&campaign("hostile", HOSTILE));

    let answer = login(&server, &server.analyst);
    assert_eq!(answer.status, 303);
    assert_eq!(answer.location.as_deref(), Some("/dashboard"));
    let header = answer.set_cookie.clone().unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/dashboard"] {
        assert!(header.contains(attribute), "{header}");
    }
    assert!(!header.contains("Secure"), "plain HTTP: {header}");
    let cookie = cookie_of(&answer);

    let list = get(&server, "/dashboard", Some(&cookie));
    assert_eq!(list.status, 200);
    assert!(list.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!list.body.contains(HOSTILE), "unescaped description");

    // Not enough reports yet: the page says how many more are needed.
    let empty = get(&server, "/dashboard/campaigns/hostile", Some(&cookie));
    assert_eq!(empty.status, 200);
    assert!(empty.body.contains("No reports yet"), "{}", empty.body);

    let epoch = current_epoch(&config);
    let mut encoder = Encoder::with_simulation_rng(&config, seeded_rng("dashboard", 0));
    let reports = (0..3000u32)
        .map(|i| {
            encoder
                .encode_index([0, 0, 0, 1, 2][i as usize % 5])
                .unwrap()
        })
        .collect();
    let uploader = server.uploader();
    for batch in batches(&config, epoch, reports, 1000) {
        assert_eq!(uploader.send(&batch).unwrap(), Ack::Counted);
    }
    let full = get(&server, "/dashboard/campaigns/hostile", Some(&cookie));
    assert_eq!(full.status, 200, "{}", full.body);
    assert!(full.body.contains("3,000 reports"), "{}", full.body);
    assert!(full.body.contains("<svg"), "no chart");
    assert!(full.body.contains("ε = 2 locally private"));
    assert!(!full.body.contains(HOSTILE), "unescaped value label");
    let consistent = get(
        &server,
        "/dashboard/campaigns/hostile?view=consistent",
        Some(&cookie),
    );
    assert!(consistent.body.contains("Consistency-processed"));
    let bad = get(
        &server,
        "/dashboard/campaigns/hostile?view=nope",
        Some(&cookie),
    );
    assert_eq!(bad.status, 400);

    let logout = page(
        agent()
            .post(format!("{}/dashboard/logout", server.url))
            .header("cookie", &cookie)
            .send(""),
    );
    assert_eq!(logout.status, 303);
    assert_eq!(get(&server, "/dashboard", Some(&cookie)).status, 303);
}

#[test]
fn cookies_are_secure_behind_a_tls_proxy() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let answer = page(
        agent()
            .post(format!("{}/dashboard/login", server.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-proto", "https")
            .send(format!("token={}", server.analyst)),
    );
    assert!(answer.set_cookie.unwrap().contains("; Secure"));
}
