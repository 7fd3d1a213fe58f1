//! PostgreSQL over TLS: a cluster that refuses plain TCP, reached with `sslmode=verify-full`,
//! and the clear refusals when the certificate does not match.

use std::process::Command;
use std::sync::Arc;

use ldp_aggregator::store;
use ldp_client::Encoder;
use ldp_client::upload::{Ack, EncodedBatch};
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, MechanismKind};
use ldp_tests::postgres::TlsPostgres;
use ldp_tests::seeded_rng;
use ldp_tests::server::{Backend, TestServer, current_epoch};

const BINARY: &str = env!("CARGO_BIN_EXE_ldp-aggregator-under-test");

/// What opening the store at `url` fails with.
fn refusal(url: &str) -> String {
    match store::open(url, "tls") {
        Ok(_) => panic!("{url} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_tls_only_postgres_is_reached_with_verify_full_and_refused_when_the_certificate_does_not_match()
{
    let Some(pg) = TlsPostgres::start("a_tls_only_postgres_is_reached_with_verify_full") else {
        return;
    };
    let (ca, other_ca) = (pg.ca(), pg.other_ca());

    // The cluster really is TLS-only: plain TCP finds no pg_hba.conf entry.
    let plain = refusal(&pg.url("localhost", "disable", None));
    assert!(plain.contains("no encryption"), "{plain}");
    // The host name is checked: the certificate is for localhost, not 127.0.0.1.
    let wrong_name = refusal(&pg.url("127.0.0.1", "verify-full", Some(&ca)));
    assert!(wrong_name.contains("not valid for name"), "{wrong_name}");
    // The chain is checked: a CA that signed nothing of the server's.
    let wrong_ca = refusal(&pg.url("localhost", "verify-full", Some(&other_ca)));
    assert!(
        wrong_ca.contains("not signed by a root in sslrootcert"),
        "{wrong_ca}"
    );
    // libpq's other modes: verify-ca checks the chain but not the name; require without a
    // root encrypts without checking.
    store::open(&pg.url("127.0.0.1", "verify-ca", Some(&ca)), "tls").unwrap();
    store::open(&pg.url("127.0.0.1", "require", None), "tls").unwrap();
    let wrong_ca = refusal(&pg.url("127.0.0.1", "verify-ca", Some(&other_ca)));
    assert!(wrong_ca.contains("UnknownIssuer"), "{wrong_ca}");

    // The binary names the reason and exits non-zero.
    let out = Command::new(BINARY)
        .args(["--database", &pg.url("127.0.0.1", "verify-full", Some(&ca))])
        .args(["campaign", "list"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("not valid for name"), "{stderr}");

    // The real server on verify-full: a campaign, an upload, its estimates.
    let server = TestServer::start(BINARY, &Backend::Postgres(Arc::new(pg.database)), &[]);
    let mut spec = CampaignSpec::new(
        "tls",
        Mechanism::with_defaults(MechanismKind::Grr),
        1.0,
        Domain::Range { k: 8 },
    );
    spec.min_reports = 10;
    let config = server.create_campaign(&CampaignConfig::new(spec).unwrap());
    let mut encoder = Encoder::with_simulation_rng(&config, seeded_rng("tls", 0));
    let reports: Vec<_> = (0..100)
        .map(|i| encoder.encode_index(i % 8).unwrap())
        .collect();
    let batch = EncodedBatch::new(&config, current_epoch(&config), reports).unwrap();
    assert_eq!(server.uploader().send(&batch).unwrap(), Ack::Counted);
    let estimates = server.estimates("tls", "");
    assert_eq!(estimates.status, 200, "{}", estimates.text);
    assert_eq!(estimates.json["n"], 100);
    assert_eq!(server.stored_n("tls"), 100);
}
