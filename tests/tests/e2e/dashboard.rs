//! The dashboard over HTTP against the real binary: sessions, redirects, escaping, security
//! headers, and the pages' content.

use std::time::Duration;

use ldp_aggregator::epoch_time::EpochTime;
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
    pub(crate) location: Option<String>,
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

/// Signs the session `cookie` out.
pub(crate) fn logout(server: &TestServer, cookie: &str) -> Page {
    page(
        agent()
            .post(format!("{}/dashboard/logout", server.url))
            .header("cookie", cookie)
            .send(""),
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

/// 3,000 reports of values 0, 1 and 2 (3 : 1 : 1) in the current epoch.
fn fill(server: &TestServer, config: &CampaignConfig) -> u64 {
    let epoch = current_epoch(config);
    let mut encoder = Encoder::with_simulation_rng(config, seeded_rng("dashboard", 0));
    let reports = (0..3000u32)
        .map(|i| {
            encoder
                .encode_index([0, 0, 0, 1, 2][i as usize % 5])
                .unwrap()
        })
        .collect();
    let uploader = server.uploader();
    for batch in batches(config, epoch, reports, 1000) {
        assert_eq!(uploader.send(&batch).unwrap(), Ack::Counted);
    }
    epoch
}

/// The rows of the table with id `id` (header row excluded).
fn table_rows(body: &str, id: &str) -> usize {
    let start = body
        .find(&format!("<table id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no table {id}: {body}"));
    let table = &body[start..];
    let table = &table[..table.find("</table>").unwrap()];
    table.matches("<tr").count() - 1
}

#[test]
fn the_page_picks_ranges_top_n_and_compared_values_and_exports_what_it_shows() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let config = server.create_campaign(&campaign("pets", "Pets"));
    let epoch = fill(&server, &config);
    let cookie = cookie_of(&login(&server, &server.analyst));
    top_n_and_its_csv(&server, &cookie);
    ranges_by_date_number_and_preset(&server, &cookie, &config, epoch);
    compared_values_and_their_csv(&server, &cookie, epoch);
    refusals(&server, &cookie);
}

const PETS: &str = "/dashboard/campaigns/pets";

/// Top-N: the table and its CSV hold N rows, the CSV byte for byte the API's.
fn top_n_and_its_csv(server: &TestServer, cookie: &str) {
    let base = PETS;
    let page2 = get(server, &format!("{base}?top=2"), Some(cookie));
    assert_eq!(page2.status, 200, "{}", page2.body);
    assert_eq!(table_rows(&page2.body, "top"), 2);
    // Without `top`, every value fits in the default 20: five and the `other` bucket.
    let all = get(server, base, Some(cookie));
    assert_eq!(table_rows(&all.body, "top"), 6);
    let csv = get(server, &format!("{base}/estimates.csv?top=2"), Some(cookie));
    assert_eq!(csv.status, 200, "{}", csv.body);
    let api = server.estimates("pets", "?top=2&format=csv");
    assert_eq!(api.status, 200, "{}", api.text);
    assert_eq!(csv.body, api.text);
    assert_eq!(csv.body.lines().count(), 3, "{}", csv.body);
}

/// A range by dates, by epoch numbers and by a preset: the same estimates.
fn ranges_by_date_number_and_preset(
    server: &TestServer,
    cookie: &str,
    config: &CampaignConfig,
    epoch: u64,
) {
    let base = PETS;
    let date = &EpochTime::new(config.epoch_seconds()).start(epoch).unwrap()[..10];
    let by_date = get(
        server,
        &format!("{base}/estimates.csv?from={date}&to={date}"),
        Some(cookie),
    );
    let by_number = get(
        server,
        &format!("{base}/estimates.csv?from={epoch}&to={epoch}"),
        Some(cookie),
    );
    let by_preset = get(
        server,
        &format!("{base}/estimates.csv?last=7"),
        Some(cookie),
    );
    assert_eq!(by_date.body, by_number.body);
    assert_eq!(by_preset.body, by_number.body);
    let ranged = get(server, &format!("{base}?last=7"), Some(cookie));
    assert!(ranged.body.contains("(7 epochs)"), "{}", ranged.body);
    assert!(
        ranged.body.contains("<strong>last 7 epochs</strong>"),
        "{}",
        ranged.body
    );
    // An empty range says how many reports are missing instead of estimating.
    let before = get(
        server,
        &format!("{base}?from={}&to={}", epoch - 3, epoch - 1),
        Some(cookie),
    );
    assert!(
        before.body.contains("0 reports in this range"),
        "{}",
        before.body
    );
    // The widest range there is: answered, not an overflow.
    let widest = get(
        server,
        &format!("{base}?from=0&to={}", u64::MAX),
        Some(cookie),
    );
    assert_eq!(widest.status, 200, "{}", widest.body);
}

/// Two values compared: a line each, one row per epoch and value in the CSV, matching the
/// API's estimates; a label outside the domain is named.
fn compared_values_and_their_csv(server: &TestServer, cookie: &str, epoch: u64) {
    let base = PETS;
    let compared = get(
        server,
        &format!("{base}?compare=beta,%20alpha,emu"),
        Some(cookie),
    );
    assert_eq!(compared.status, 200, "{}", compared.body);
    assert!(
        compared
            .body
            .contains("Not in this campaign&#39;s domain: emu")
            || compared.body.contains("Not in this campaign's domain: emu"),
        "{}",
        compared.body
    );
    assert!(
        compared.body.contains("value=\"beta, alpha\""),
        "{}",
        compared.body
    );
    let series = get(
        server,
        &format!("{base}/series.csv?compare=beta,alpha"),
        Some(cookie),
    );
    let json = server.estimates("pets", &format!("?epoch={epoch}"));
    let rows: Vec<Vec<&str>> = series
        .body
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 2, "{}", series.body);
    for (row, (index, label)) in rows.iter().zip([(1, "beta"), (0, "alpha")]) {
        assert_eq!(row[0], epoch.to_string());
        assert_eq!(row[3], index.to_string());
        assert_eq!(row[4], label);
        let value = &json.json["values"][index];
        assert_eq!(
            row[6].parse::<f64>().unwrap(),
            value["count"].as_f64().unwrap()
        );
    }
    let trending = get(server, &format!("{base}/trending.csv"), Some(cookie));
    assert_eq!(trending.status, 200);
    assert!(
        trending.body.starts_with("index,value,share_now,"),
        "{}",
        trending.body
    );
}

/// Wrong options are refused; exports need a session like the page.
fn refusals(server: &TestServer, cookie: &str) {
    let base = PETS;
    for bad in [
        "?top=0",
        "?top=many",
        "?last=0",
        "?from=2026-13-01",
        "?value=9",
    ] {
        let answer = get(server, &format!("{base}{bad}"), Some(cookie));
        assert_eq!(answer.status, 400, "{bad}: {}", answer.body);
    }
    assert_eq!(
        get(server, &format!("{base}/nothing.csv"), Some(cookie)).status,
        404
    );
    let anonymous = get(server, &format!("{base}/estimates.csv"), None);
    assert_eq!(anonymous.status, 303);
    assert!(!anonymous.body.contains("alpha"));
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

    fill(&server, &config);
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

    let logout = logout(&server, &cookie);
    assert_eq!(logout.status, 303);
    assert_eq!(get(&server, "/dashboard", Some(&cookie)).status, 303);
}

#[test]
fn sessions_survive_a_restart_and_malformed_ones_are_refused() {
    let mut server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let cookie = cookie_of(&login(&server, &server.analyst));
    assert_eq!(get(&server, "/dashboard", Some(&cookie)).status, 200);
    server.restart();
    assert_eq!(
        get(&server, "/dashboard", Some(&cookie)).status,
        200,
        "lost at restart"
    );
    for forged in [
        "ldp_session=".to_owned(),
        "ldp_session=xyz".to_owned(),
        format!("ldp_session={}", "0".repeat(64)),
        format!("{}0", cookie),
    ] {
        assert_eq!(
            get(&server, "/dashboard", Some(&forged)).status,
            303,
            "{forged}"
        );
    }
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
