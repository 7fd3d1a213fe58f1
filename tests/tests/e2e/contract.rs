//! The API's contract: `/openapi.json` says where the server reads each parameter. Every path
//! parameter is a segment of its route's template, every query parameter is read from the
//! query string (a generated client or a fuzzer that follows the document is answered), and a
//! parameter the document does not declare is refused.

use std::collections::BTreeSet;

use ldp_protocol::{CampaignConfig, Mechanism};
use ldp_tests::server::{Answer, Backend, TestServer};

const BINARY: &str = env!("CARGO_BIN_EXE_ldp-aggregator-under-test");

/// A value that the query parameter `name` accepts.
fn sample(name: &str) -> &'static str {
    match name {
        "k" => "16",
        "epsilon" => "1",
        "n" => "10000",
        "max_report_bytes" => "64",
        "alpha" => "0.05",
        "top" => "3",
        "baseline" => "2",
        "format" => "csv",
        // Epochs (a number; dates are tested in `analyst`).
        _ => "0",
    }
}

/// Whether the server could not read the request's query string (as opposed to reading it
/// and finding a value out of range, say `to` before the default `from`).
fn query_refused(answer: &Answer) -> bool {
    let detail = answer.json["detail"].as_str().unwrap_or_default();
    answer.status == 400
        && answer.json["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("#invalid-request"))
        && (detail.contains("unknown field") || detail.contains("deserialize"))
}

#[test]
fn every_parameter_in_the_openapi_document_is_where_the_server_reads_it() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    server.create_campaign(&CampaignConfig::range("contract", Mechanism::Grr, 1.0, 16).unwrap());
    let doc = server.get("/openapi.json", None).json;
    let mut read = 0;
    for (template, item) in doc["paths"].as_object().expect("paths") {
        let segments: BTreeSet<&str> = template
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        for (method, operation) in item.as_object().expect("operations") {
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let name = |p: &serde_json::Value| p["name"].as_str().expect("name").to_owned();
            let in_path: BTreeSet<String> = parameters
                .iter()
                .filter(|p| p["in"] == "path")
                .map(name)
                .collect();
            let in_path: BTreeSet<&str> = in_path.iter().map(String::as_str).collect();
            assert_eq!(in_path, segments, "{method} {template}: path parameters");
            let query: Vec<&serde_json::Value> =
                parameters.iter().filter(|p| p["in"] == "query").collect();
            assert_eq!(
                in_path.len() + query.len(),
                parameters.len(),
                "{method} {template}: a parameter neither in the path nor the query"
            );
            if method != "get" || query.is_empty() {
                continue;
            }
            let path = template.replace("{id}", "contract");
            let required: Vec<String> = query
                .iter()
                .filter(|p| p["required"] == true)
                .map(|p| format!("{}={}", name(p), sample(&name(p))))
                .collect();
            for parameter in &query {
                let mut pairs = required.clone();
                let name = name(parameter);
                if parameter["required"] != true {
                    pairs.push(format!("{name}={}", sample(&name)));
                }
                let url = format!("{path}?{}", pairs.join("&"));
                let answer = server.get(&url, Some(&server.admin));
                assert!(!query_refused(&answer), "GET {url}: {}", answer.text);
                read += 1;
            }
            let mut pairs = required.clone();
            pairs.push("undeclared=1".into());
            let url = format!("{path}?{}", pairs.join("&"));
            let answer = server.get(&url, Some(&server.admin));
            assert!(query_refused(&answer), "GET {url}: {}", answer.text);
        }
    }
    // Estimates (4), trending (4) and advice (4) at least.
    assert!(read >= 12, "only {read} query parameters were tried");
}

/// Whether `answer` is a problem of type `slug` whose body says the status it was sent with.
fn is_problem(answer: &Answer, slug: &str) -> bool {
    answer.content_type == "application/problem+json"
        && answer.json["type"]
            .as_str()
            .is_some_and(|t| t.ends_with(&format!("#{slug}")))
        && answer.json["status"] == answer.status
}

#[test]
fn refusals_of_the_http_layer_are_problems_too() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &["--body-limit", "1024"]);
    let close = "Connection: close\r\n";
    let cases: Vec<(String, u16, &str)> = vec![
        (
            format!("GET /no/such/route HTTP/1.1\r\n{close}"),
            404,
            "not-found",
        ),
        (
            format!("DELETE /healthz HTTP/1.1\r\n{close}"),
            405,
            "method-not-allowed",
        ),
        (
            format!("GET /healthz?{} HTTP/1.1\r\n{close}", "a".repeat(9000)),
            414,
            "uri-too-long",
        ),
        (
            format!(
                "GET /healthz HTTP/1.1\r\n{close}{}",
                "X-Filler: 1\r\n".repeat(100)
            ),
            431,
            "headers-too-large",
        ),
        (
            format!(
                "GET /healthz HTTP/1.1\r\n{close}X-Big: {}\r\n",
                "b".repeat(20_000)
            ),
            431,
            "headers-too-large",
        ),
        (
            format!(
                "POST /v1/campaigns/x/reports HTTP/1.1\r\n{close}\
                 Content-Type: application/x-ldp-batch\r\nContent-Length: 4096\r\n"
            ),
            413,
            "payload-too-large",
        ),
        (
            format!("GET /v1/advice?k=16 HTTP/1.1\r\n{close}"),
            401,
            "unauthorized",
        ),
    ];
    for (head, status, slug) in cases {
        let answer = server.raw(&head);
        let line = head.lines().next().unwrap_or_default();
        let line = &line[..line.len().min(80)];
        assert_eq!(answer.status, status, "{line}: {}", answer.text);
        assert!(is_problem(&answer, slug), "{line}: {answer:?}");
        if status == 405 {
            assert!(answer.header("allow").is_some(), "{line}: no Allow header");
        }
    }
}

/// `GET path` on `address` over a plain socket: (status, body).
fn get_from(address: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, raw)
}

#[test]
fn metrics_can_be_served_apart_from_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metrics-address");
    let file_arg = file.to_str().unwrap();
    let server = TestServer::start(
        BINARY,
        &Backend::Sqlite,
        &[
            "--metrics-listen",
            "127.0.0.1:0",
            "--metrics-address-file",
            file_arg,
        ],
    );
    let address = (0..400)
        .find_map(|_| {
            let address = std::fs::read_to_string(&file).ok();
            if address.is_none() {
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            address
        })
        .expect("the metrics listener's address");
    let api = server.get("/metrics", None);
    assert_eq!(
        api.status, 404,
        "the API still serves /metrics: {}",
        api.text
    );
    let (status, metrics) = get_from(&address, "/metrics");
    assert_eq!(status, 200, "{metrics}");
    assert!(metrics.contains("ldp_store_writable"), "{metrics}");
    let (status, other) = get_from(&address, "/healthz");
    assert_eq!(status, 404, "{other}");
    assert!(other.contains("application/problem+json"), "{other}");
}
