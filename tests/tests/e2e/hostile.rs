//! Hostile load on the real binary: a thousand connections that each start a 1 MiB body and
//! never finish it keep the server within its memory budget, and it keeps answering.

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::time::Duration;

use ldp_tests::server::{Backend, TestServer};

const BINARY: &str = env!("CARGO_BIN_EXE_ldp-aggregator-under-test");
const CONNECTIONS: usize = 1000;
const DECLARED: usize = 1 << 20;
/// The documented bound (BENCHMARKING.md): the body budget (64 MiB), each connection's read
/// buffer (at most 64 KiB), and the process's own baseline.
const MAX_RSS_MIB: u64 = 300;
/// After the attack, resident memory returns to within this much of the baseline ...
const BACK_NEAR_MIB: u64 = 16;
/// ... within this long (jemalloc's decay time is ten seconds).
const BACK_WITHIN: Duration = Duration::from_secs(30);

/// The resident set of process `pid`, in MiB.
fn rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib / 1024
}

/// Writes what the socket takes of `bytes` without waiting; how much it took.
fn write_some(stream: &mut TcpStream, bytes: &[u8]) -> usize {
    let mut sent = 0;
    while sent < bytes.len() {
        match stream.write(&bytes[sent..]) {
            Ok(0) => break,
            Ok(n) => sent += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // Full (the server is not reading it), or refused and closed.
            Err(_) => break,
        }
    }
    sent
}

#[test]
fn a_thousand_unfinished_large_bodies_stay_within_the_memory_budget() {
    let server = TestServer::start(BINARY, &Backend::Sqlite, &[]);
    let pid = server.pid();
    let address = server.url.trim_start_matches("http://").to_owned();
    let baseline = rss_mib(pid);
    let head = format!(
        "POST /v1/campaigns/absent/reports HTTP/1.1\r\nHost: {address}\r\n\
         Content-Type: application/x-ldp-batch\r\nContent-Length: {DECLARED}\r\n\r\n"
    );
    // All but the last ten bytes.
    let body = vec![0x5a_u8; DECLARED - 10];
    let mut streams: Vec<(TcpStream, usize)> = (0..CONNECTIONS)
        .map(|_| {
            let mut stream = TcpStream::connect(&address).unwrap();
            stream.write_all(head.as_bytes()).unwrap();
            stream.set_nonblocking(true).unwrap();
            (stream, 0)
        })
        .collect();
    let mut peak = 0;
    for _round in 0..5 {
        for (stream, sent) in &mut streams {
            *sent += write_some(stream, &body[*sent..]);
        }
        peak = peak.max(rss_mib(pid));
        std::thread::sleep(Duration::from_millis(200));
    }
    let offered: usize = streams.iter().map(|(_, sent)| sent).sum();
    assert!(
        offered > 200 << 20,
        "only {offered} bytes were offered: the test did not load the server"
    );
    peak = peak.max(rss_mib(pid));
    assert!(
        peak <= MAX_RSS_MIB,
        "RSS reached {peak} MiB (baseline {baseline} MiB) with {} MiB of bodies offered",
        offered >> 20
    );
    // Still answering, with every connection open.
    assert_eq!(server.get("/healthz", None).status, 200);
    let metrics = server.get("/metrics", None).text;
    assert!(
        metrics.contains("ldp_body_budget_refusals_total"),
        "{metrics}"
    );
    drop(streams);
    // Once they leave, the memory goes back to the system: jemalloc's background threads
    // purge what was freed within its decay time (glibc kept 48 to 86 MiB of it).
    let left = std::time::Instant::now();
    let mut after = rss_mib(pid);
    let mut series = vec![after];
    while after > baseline + BACK_NEAR_MIB && left.elapsed() < BACK_WITHIN {
        std::thread::sleep(Duration::from_millis(250));
        after = rss_mib(pid);
        series.push(after);
    }
    eprintln!(
        "RSS: baseline {baseline} MiB, peak {peak} MiB, after {after} MiB in {:.1} s ({series:?})",
        left.elapsed().as_secs_f64()
    );
    assert!(
        after <= baseline + BACK_NEAR_MIB,
        "RSS {after} MiB {BACK_WITHIN:?} after the connections closed (baseline {baseline} MiB, \
         peak {peak} MiB)"
    );
}
