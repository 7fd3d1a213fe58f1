//! Headless Chromium for browser tests, driven over W3C WebDriver by Debian's `chromedriver`.
//!
//! WebDriver is a small JSON-over-HTTP protocol; the few commands the tests need are spoken
//! here with `ureq`, the client the rest of the suite already uses.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

/// The flags every browser test starts Chromium with (plus a fresh `--user-data-dir`).
pub const CHROMIUM_FLAGS: [&str; 5] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
];

/// Where Chromium and its driver are, or why the test cannot run.
pub fn find_chromium() -> Result<(PathBuf, PathBuf), String> {
    let chromium = std::env::var_os("LDP_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let driver = std::env::var_os("LDP_CHROMEDRIVER")
        .map_or_else(|| PathBuf::from("/usr/bin/chromedriver"), PathBuf::from);
    for path in [&chromium, &driver] {
        if !path.exists() {
            return Err(format!(
                "{} is missing (scripts/install-chromium.sh installs Chromium and its driver)",
                path.display()
            ));
        }
    }
    Ok((chromium, driver))
}

/// A running `chromedriver` with one browser session; both end on drop.
#[derive(Debug)]
pub struct Browser {
    driver: Child,
    base: String,
    agent: ureq::Agent,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts `driver` on a free port and opens a headless `chromium` session with a fresh
    /// profile and a `width`×`height` window.
    pub fn start(chromium: &Path, driver: &Path, width: u32, height: u32) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .new_agent();
        let mut browser = Self {
            driver: child,
            base: format!("http://127.0.0.1:{port}"),
            agent,
            _profile: tempfile::tempdir().expect("profile directory"),
        };
        // A hang guard, not a timing assumption: the driver answers /status once it listens.
        let mut ready = false;
        for _ in 0..600 {
            if browser.call("GET", "/status", None).is_ok() {
                ready = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(ready, "chromedriver did not start");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!(
            "--user-data-dir={}",
            browser._profile.path().display()
        ));
        args.push(format!("--window-size={width},{height}"));
        let session = browser
            .call(
                "POST",
                "/session",
                Some(json!({ "capabilities": { "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": { "binary": chromium, "args": args }
                } } })),
            )
            .expect("a browser session");
        let id = session["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        browser.base = format!("{}/session/{id}", browser.base);
        browser
    }

    /// One WebDriver command; the answer's `value`, or the driver's error message.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let response = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, body) => self
                .agent
                .post(&url)
                .header("content-type", "application/json")
                .send(body.unwrap_or_else(|| json!({})).to_string()),
        };
        let mut response = response.map_err(|e| e.to_string())?;
        let ok = response.status().is_success();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())?;
        let answer: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
        let value = answer.get("value").cloned().unwrap_or(Value::Null);
        if ok {
            Ok(value)
        } else {
            Err(value["message"].as_str().unwrap_or(&text).to_owned())
        }
    }

    fn element(&self, css: &str) -> String {
        let found = self
            .call(
                "POST",
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .unwrap_or_else(|e| panic!("no element {css}: {e}"));
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .expect("an element reference")
            .to_owned()
    }

    /// Opens `url` and waits for the page to load.
    pub fn open(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })))
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The current URL.
    pub fn url(&self) -> String {
        self.call("GET", "/url", None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Waits up to `timeout` for the current URL to end with `suffix` (a click that submits a
    /// form returns before the next page has loaded); returns the last URL seen.
    pub fn wait_for_url(&self, suffix: &str, timeout: std::time::Duration) -> String {
        self.wait_until_url(|url| url.ends_with(suffix), timeout)
    }

    /// Waits up to `timeout` for the current URL to contain `part`; returns the last URL seen.
    pub fn wait_for_url_with(&self, part: &str, timeout: std::time::Duration) -> String {
        self.wait_until_url(|url| url.contains(part), timeout)
    }

    fn wait_until_url(&self, done: impl Fn(&str) -> bool, timeout: std::time::Duration) -> String {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let url = self.url();
            if done(&url) || std::time::Instant::now() >= deadline {
                return url;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Types `text` into the element matching `css`.
    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css);
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Clicks the element matching `css` (a submit button navigates and waits for the load).
    pub fn click(&self, css: &str) {
        let element = self.element(css);
        self.call("POST", &format!("/element/{element}/click"), None)
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// The visible text of the element matching `css`.
    pub fn text(&self, css: &str) -> String {
        let element = self.element(css);
        self.call("GET", &format!("/element/{element}/text"), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// How many elements match `css`.
    pub fn count(&self, css: &str) -> usize {
        self.call(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        )
        .ok()
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(0)
    }

    /// Empties the text field matching `css`.
    pub fn clear(&self, css: &str) {
        let element = self.element(css);
        self.call("POST", &format!("/element/{element}/clear"), None)
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
    }

    /// The attribute `name` of the element matching `css`, as the DOM resolves it (an `href`
    /// comes back absolute).
    pub fn property(&self, css: &str, name: &str) -> String {
        let element = self.element(css);
        self.call("GET", &format!("/element/{element}/property/{name}"), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The value of cookie `name` for the current page (HttpOnly ones included).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.call("GET", &format!("/cookie/{name}"), None)
            .ok()
            .and_then(|v| v["value"].as_str().map(str::to_owned))
    }

    /// Runs `script` (a function body) in the page through the driver (not subject to the
    /// page's content security policy) and returns its value.
    pub fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .unwrap_or_else(|e| panic!("script {script}: {e}"))
    }

    /// Resizes the window to `width`×`height`.
    pub fn resize(&self, width: u32, height: u32) {
        self.call(
            "POST",
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .unwrap_or_else(|e| panic!("resize to {width}x{height}: {e}"));
    }

    /// The page's HTML as the browser holds it.
    pub fn source(&self) -> String {
        self.call("GET", "/source", None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// A PNG screenshot of the window.
    pub fn screenshot(&self) -> Vec<u8> {
        let encoded = self.call("GET", "/screenshot", None).expect("a screenshot");
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .expect("base64 PNG")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.call("DELETE", "", None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
