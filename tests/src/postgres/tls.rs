//! A throwaway PostgreSQL cluster that speaks TLS only, with certificates made for the test.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

use super::{Cluster, TestPostgres, init_cluster, postgres_ids};

/// A cluster whose only TCP entry is `hostssl` (plain TCP is refused by `pg_hba.conf`), with
/// a server certificate for `localhost` signed by a CA made for this test.
#[derive(Debug)]
pub struct TlsPostgres {
    /// The cluster (its URL is [`TlsPostgres::url`]`("localhost", "verify-full", ca)`).
    pub database: TestPostgres,
    port: u16,
    certs: tempfile::TempDir,
}

impl TlsPostgres {
    /// Starts the cluster, or `None` after printing why PostgreSQL tests are skipped here
    /// (a failure when `LDP_REQUIRE_POSTGRES=1`). Always a throwaway cluster, even when
    /// `LDP_TEST_POSTGRES_URL` names a server: the test needs to choose its TLS settings.
    pub fn start(test: &str) -> Option<Self> {
        TestPostgres::or_skip(test, start_tls_cluster())
    }

    /// The CA that signed the server's certificate (PEM).
    pub fn ca(&self) -> PathBuf {
        self.certs.path().join("ca.pem")
    }

    /// A CA that signed nothing the server has (PEM).
    pub fn other_ca(&self) -> PathBuf {
        self.certs.path().join("other-ca.pem")
    }

    /// A URL of the cluster's `postgres` database through `host` (`localhost` matches the
    /// certificate, `127.0.0.1` does not) with this `sslmode` and, if given, `sslrootcert`.
    pub fn url(&self, host: &str, sslmode: &str, root: Option<&Path>) -> String {
        let root = root.map_or(String::new(), |r| format!("&sslrootcert={}", r.display()));
        format!(
            "postgres://ldp@{host}:{}/postgres?sslmode={sslmode}{root}",
            self.port
        )
    }
}

fn write_owned(cluster: &Cluster, path: &Path, contents: &str, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, contents).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| e.to_string())?;
    if cluster.run_as.is_some() {
        let (uid, gid) = postgres_ids()?;
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn new_ca(name: &str) -> Result<CertifiedIssuer<'static, KeyPair>, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(params, KeyPair::generate()?)
}

fn start_tls_cluster() -> Result<TlsPostgres, String> {
    let (cluster, port) =
        init_cluster(" -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key")?;
    let certs = tempfile::Builder::new()
        .prefix("ldp-pg-certs-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let made = (|| {
        let ca = new_ca("ldp test CA")?;
        let other = new_ca("an unrelated CA")?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let server = params.signed_by(&key, &ca)?;
        Ok::<_, rcgen::Error>((ca.pem(), other.pem(), server.pem(), key.serialize_pem()))
    })()
    .map_err(|e| format!("test certificates: {e}"))?;
    let (ca_pem, other_pem, server_pem, key_pem) = made;
    std::fs::write(certs.path().join("ca.pem"), ca_pem).map_err(|e| e.to_string())?;
    std::fs::write(certs.path().join("other-ca.pem"), other_pem).map_err(|e| e.to_string())?;
    let data = cluster.data();
    write_owned(&cluster, &data.join("server.crt"), &server_pem, 0o644)?;
    write_owned(&cluster, &data.join("server.key"), &key_pem, 0o600)?;
    // TLS is the only way in over TCP; the Unix socket stays for pg_ctl.
    write_owned(
        &cluster,
        &data.join("pg_hba.conf"),
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        0o600,
    )?;
    cluster.start()?;
    Ok(TlsPostgres {
        database: TestPostgres {
            url: format!(
                "postgres://ldp@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={}",
                certs.path().join("ca.pem").display()
            ),
            cluster: Some(cluster),
            dropper: None,
        },
        port,
        certs,
    })
}
