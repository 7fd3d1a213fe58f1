//! The dashboard in a real browser: the README's quick start (server, `ldp-sim demo`, sign in,
//! open the campaign) in headless Chromium, with a screenshot saved under the test's output
//! folder (`target/tmp/dashboard/campaign.png`).
//!
//! Needs Debian's `chromium` and `chromium-driver`; `.ci/run` installs them with
//! `scripts/install-chromium.sh` and sets `LDP_REQUIRE_BROWSER=1`, so there the test fails
//! rather than skips.

use std::path::PathBuf;
use std::time::Duration;

use ldp_sim::demo::{DemoPlan, run};
use ldp_tests::server::{Backend, TestServer};
use ldp_tests::webdriver::{Browser, find_chromium};

const BINARY: &str = env!("CARGO_BIN_EXE_ldp-aggregator-under-test");

#[test]
fn the_quick_start_shows_the_planted_emoji_trending_in_chromium() {
    let (chromium, driver) = match find_chromium() {
        Ok(found) => found,
        Err(why) => {
            assert!(
                std::env::var_os("LDP_REQUIRE_BROWSER").is_none(),
                "LDP_REQUIRE_BROWSER is set: {why}"
            );
            eprintln!("skipping the browser test: {why}");
            return;
        }
    };
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let plan = DemoPlan {
        url: server.url.clone(),
        admin_token: server.admin.clone(),
        ..DemoPlan::default()
    };
    let summary = run(&plan, &|line| eprintln!("demo: {line}")).expect("demo");

    let browser = Browser::start(&chromium, &driver, 1100, 2300);
    // Signed out, the campaign page leads to the login form.
    let campaign = format!("{}/dashboard/campaigns/{}", server.url, summary.campaign);
    browser.open(&campaign);
    assert!(
        browser.url().ends_with("/dashboard/login"),
        "{}",
        browser.url()
    );
    browser.type_into("#token", &server.analyst);
    browser.click("form.login button");
    let url = browser.wait_for_url("/dashboard", Duration::from_secs(10));
    assert!(url.ends_with("/dashboard"), "{url}");
    assert!(browser.source().contains(&summary.campaign));

    browser.open(&campaign);
    let top = browser.text("section.top");
    assert!(top.contains("Top 20 values"), "{top}");
    let trending = browser.text("section.trending");
    assert!(
        trending.contains(&summary.planted),
        "{} is not in the trending table: {trending}",
        summary.planted
    );

    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    std::fs::create_dir_all(&out).unwrap();
    let shot = out.join("campaign.png");
    std::fs::write(&shot, browser.screenshot()).unwrap();
    eprintln!("screenshot: {}", shot.display());

    let (from, to) = (summary.planted_epoch - 2, summary.planted_epoch);
    pick_a_range_and_top_10(&browser, &server, &summary.campaign, from, to);
    compare_two_values(&browser, &summary.planted);
    std::fs::write(out.join("comparison.png"), browser.screenshot()).unwrap();
    fits_a_phone(&browser, &campaign);
    std::fs::write(out.join("phone.png"), browser.screenshot()).unwrap();
}

/// Picks the epochs `from..=to` and the top 10 in the page's form; the table and its CSV
/// download follow, the CSV byte for byte the API's for the same question.
fn pick_a_range_and_top_10(
    browser: &Browser,
    server: &TestServer,
    campaign: &str,
    from: u64,
    to: u64,
) {
    browser.type_into("form.controls input[name=from]", &from.to_string());
    browser.type_into("form.controls input[name=to]", &to.to_string());
    // Switch top-N to 10 in the same form.
    browser.click("form.controls select[name=top] option[value='10']");
    browser.click("form.controls button");
    browser.wait_for_url_with("top=10", Duration::from_secs(10));
    assert!(
        browser.text("p.range").contains("(3 epochs)"),
        "{}",
        browser.text("p.range")
    );
    assert_eq!(browser.count("table#top tbody tr"), 10);
    assert!(browser.text("section.top h2").contains("Top 10 values"));

    // Download the table's CSV with the browser's session: the API's rows for the same range.
    let href = browser.property("section.top a[download]", "href");
    let cookie = browser.cookie("ldp_session").expect("the session cookie");
    let csv = ureq::get(&href)
        .header("cookie", &format!("ldp_session={cookie}"))
        .call()
        .expect("the CSV download")
        .body_mut()
        .read_to_string()
        .unwrap();
    let api = server.estimates(campaign, &format!("?from={from}&to={to}&top=10&format=csv"));
    assert_eq!(api.status, 200, "{}", api.text);
    assert_eq!(csv, api.text, "the dashboard's CSV is the API's");
    assert_eq!(csv.lines().count(), 11, "{csv}");
}

/// Adds the planted emoji and the top value to the comparison chart: a legend entry each, and
/// the range and top-N kept.
fn compare_two_values(browser: &Browser, planted: &str) {
    let top_value = browser.text("table#top tbody tr td a");
    browser.clear("form.compare input[name=compare]");
    browser.type_into(
        "form.compare input[name=compare]",
        &format!("{planted}, {top_value}"),
    );
    browser.click("form.compare button");
    browser.wait_for_url_with("compare=", Duration::from_secs(10));
    let series = browser.source();
    let chart = &series[series
        .find("<section class=\"series\"")
        .expect("the series section")..];
    assert!(chart.contains("Shares per epoch"), "{chart}");
    // The SVG's text elements, as the browser holds them.
    let texts: Vec<&str> = chart
        .split("</text>")
        .filter_map(|t| t.rsplit('>').next())
        .map(str::trim)
        .collect();
    for label in [planted, top_value.as_str()] {
        assert!(texts.contains(&label), "no legend entry {label}: {texts:?}");
    }
    // The range and top-N survived the comparison form.
    assert!(browser.url().contains("top=10"), "{}", browser.url());
    assert_eq!(browser.count("table#top tbody tr"), 10);
}

/// At a phone's width (390 px) nothing on the campaign page is wider than the viewport.
fn fits_a_phone(browser: &Browser, campaign: &str) {
    browser.resize(390, 2400);
    browser.open(campaign);
    let widths = browser.script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
    );
    let (scroll, client) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
    assert!(
        client <= 390,
        "the window is {client} px wide, not a phone's"
    );
    assert!(
        scroll <= client,
        "the page overflows at {client} px: {scroll} px wide"
    );
}
