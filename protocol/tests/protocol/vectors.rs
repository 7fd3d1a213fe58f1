//! Checked-in test vectors (`protocol/testdata/`): the config vector decodes to its spec and
//! digest, and every `bad_*` vector that needs no mechanism context fails to decode.

use std::path::PathBuf;

use ldp_protocol::{CampaignConfig, CampaignSpec, Report, wire};
use serde_json::Value;

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(testdata().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn config_vector() {
    let v = load("config.json");
    let spec: CampaignSpec = serde_json::from_value(v["spec"].clone()).unwrap();
    let config = CampaignConfig::new(spec).unwrap();
    let bytes = hex::decode(v["bytes_hex"].as_str().unwrap()).unwrap();
    assert_eq!(wire::encode(&config).unwrap(), bytes);
    assert_eq!(
        format!("{:016x}", config.digest()),
        v["digest_hex"].as_str().unwrap()
    );
    let decoded: CampaignConfig = wire::decode(&bytes).unwrap();
    assert_eq!(decoded, config);
    let normalized: CampaignSpec = serde_json::from_value(v["normalized_spec"].clone()).unwrap();
    assert_eq!(decoded.spec(), &normalized);
}

#[test]
fn bad_vectors_fail_to_decode_or_check() {
    let mut seen = 0;
    for entry in std::fs::read_dir(testdata()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("bad_") {
            continue;
        }
        let v = load(&name);
        let bytes = hex::decode(v["bytes_hex"].as_str().unwrap()).unwrap();
        let failed = match v["decode_as"].as_str().unwrap() {
            "batch" => match wire::decode_batch(&bytes) {
                Err(_) => true,
                Ok(batch) => fails_check(&v, &batch.reports),
            },
            "report" => match wire::decode::<Report>(&bytes) {
                Err(_) => true,
                Ok(report) => fails_check(&v, std::slice::from_ref(&report)),
            },
            "config" => wire::decode::<CampaignConfig>(&bytes).is_err(),
            other => panic!("{name}: unknown decode_as {other}"),
        };
        assert!(failed, "{name} was accepted");
        seen += 1;
    }
    assert!(seen >= 8, "expected the bad_* vectors, found {seen}");
}

fn fails_check(v: &Value, reports: &[Report]) -> bool {
    let spec: CampaignSpec = serde_json::from_value(v["config"].clone()).unwrap();
    let config = CampaignConfig::new(spec).unwrap();
    reports.iter().any(|r| r.check(config.params()).is_err())
}
