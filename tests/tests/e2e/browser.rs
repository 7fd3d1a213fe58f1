//! The dashboard in a real browser: the README's quick start (server, `ldp-sim demo`, sign in,
//! open the campaign) in headless Chromium, with a screenshot saved under the test's output
//! folder (`target/tmp/dashboard/campaign.png`).
//!
//! Needs Debian's `chromium` and `chromium-driver`; `.ci/run` installs them with
//! `scripts/install-chromium.sh` and sets `LDP_REQUIRE_BROWSER=1`, so there the test fails
//! rather than skips.

use std::path::PathBuf;

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
    let url = browser.wait_for_url("/dashboard", std::time::Duration::from_secs(10));
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
}
