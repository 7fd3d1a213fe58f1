//! The client uploader's retry rules against a scripted HTTP peer: retry only transport
//! errors, 5xx and 429, honour `Retry-After`, and resend the identical bytes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use ldp_client::upload::{Ack, EncodedBatch, RetryPolicy, UploadError, Uploader};
use ldp_protocol::report::GrrReport;
use ldp_protocol::{CampaignConfig, Mechanism, Report};

/// What the scripted peer saw: each request's body and the moment it arrived.
type Seen = Vec<(Vec<u8>, Instant)>;

/// Serves one scripted response per connection and returns what it received.
fn scripted_peer(responses: Vec<String>) -> (String, std::thread::JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut bodies = Vec::new();
        for response in responses {
            let (stream, _) = listener.accept().unwrap();
            let arrived = Instant::now();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            bodies.push((body, arrived));
            let mut stream = stream;
            stream.write_all(response.as_bytes()).unwrap();
        }
        bodies
    });
    (url, handle)
}

fn response(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: {}\r\n{headers}\r\n{body}",
        body.len()
    )
}

fn batch() -> EncodedBatch {
    let config = CampaignConfig::range("retry", Mechanism::Grr, 1.0, 4).unwrap();
    EncodedBatch::new(&config, 7, vec![Report::Grr(GrrReport { value: 2 }); 3]).unwrap()
}

fn policy(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts: attempts,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_secs(5),
        request_timeout: Duration::from_secs(10),
    }
}

#[test]
fn retries_5xx_and_429_with_identical_bytes_honouring_retry_after() {
    let (url, peer) = scripted_peer(vec![
        response("503 Service Unavailable", "retry-after: 1\r\n", "{}"),
        response("429 Too Many Requests", "", "{}"),
        response("500 Internal Server Error", "", "{}"),
        response(
            "202 Accepted",
            "content-type: application/json\r\n",
            r#"{"status":"counted","reports":3}"#,
        ),
    ]);
    let batch = batch();
    let ack = Uploader::with_policy(&url, policy(5)).send(&batch).unwrap();
    assert_eq!(ack, Ack::Counted);
    let seen = peer.join().unwrap();
    assert_eq!(seen.len(), 4);
    assert!(
        seen.iter().all(|(b, _)| *b == batch.bytes),
        "a retry changed the bytes"
    );
    // Retry-After: 1 was honoured: the second request came no sooner than a second after the
    // first (the backoff alone would be a few milliseconds).
    let gap = seen[1].1 - seen[0].1;
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
}

#[test]
fn client_errors_are_not_retried() {
    let problem = r#"{"type":"https://example/problems.md#digest-mismatch","title":"t","status":409,"detail":"stale"}"#;
    let (url, peer) = scripted_peer(vec![response(
        "409 Conflict",
        "content-type: application/problem+json\r\n",
        problem,
    )]);
    let err = Uploader::with_policy(&url, policy(5))
        .send(&batch())
        .unwrap_err();
    match err {
        UploadError::Rejected {
            status,
            problem_type,
            detail,
        } => {
            assert_eq!(status, 409);
            assert!(problem_type.unwrap().ends_with("#digest-mismatch"));
            assert_eq!(detail, "stale");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(peer.join().unwrap().len(), 1);
}

#[test]
fn transport_errors_are_retried_then_reported() {
    // Nothing listens on this port once the listener is dropped.
    let url = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    match Uploader::with_policy(&url, policy(3)).send(&batch()) {
        Err(UploadError::Exhausted { attempts, .. }) => assert_eq!(attempts, 3),
        other => panic!("{other:?}"),
    }
}

#[test]
fn backoff_doubles_with_jitter_and_is_capped() {
    let policy = RetryPolicy {
        max_attempts: 10,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(2),
        request_timeout: Duration::from_secs(1),
    };
    let mut rng = ldp_tests::seeded_rng("backoff", 0);
    for retry in 0..8 {
        let ceiling = (Duration::from_millis(100) * (1 << retry)).min(Duration::from_secs(2));
        for _ in 0..50 {
            let d = policy.delay(retry, None, &mut rng);
            assert!(d >= ceiling / 2 && d <= ceiling, "retry {retry}: {d:?}");
        }
    }
    // Retry-After wins when longer, up to the cap.
    assert_eq!(
        policy.delay(0, Some(Duration::from_secs(1)), &mut rng),
        Duration::from_secs(1)
    );
    assert_eq!(
        policy.delay(0, Some(Duration::from_secs(60)), &mut rng),
        Duration::from_secs(2)
    );
}
