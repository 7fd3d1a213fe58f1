//! The aggregator reads the checked-in test vectors (`protocol/testdata/`): every report and
//! batch decodes to its stated value and folds; every `bad_*` vector is refused with nothing
//! counted.

use std::path::PathBuf;

use ldp_aggregator::{Accumulator, Counters};
use ldp_protocol::{Batch, CampaignConfig, CampaignSpec, Report, wire};
use serde_json::Value;

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../protocol/testdata")
}

fn files(prefix: &str) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = std::fs::read_dir(testdata())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (name, value)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn config_of(v: &Value) -> CampaignConfig {
    let spec: CampaignSpec = serde_json::from_value(v["config"].clone()).unwrap();
    CampaignConfig::new(spec).unwrap()
}

#[test]
fn report_vectors_decode_and_fold() {
    let reports = files("report_");
    assert!(reports.len() >= 5);
    for (name, v) in reports {
        let config = config_of(&v);
        let bytes = hex::decode(v["report_hex"].as_str().unwrap()).unwrap();
        let report: Report = wire::decode(&bytes).unwrap();
        let stated: Report = serde_json::from_value(v["report"].clone()).unwrap();
        assert_eq!(report, stated, "{name}");
        let mut counters = Counters::new(&config);
        counters.fold(&report).unwrap();
        assert_eq!(counters.n(), 1, "{name}");
    }
}

#[test]
fn batch_vector_decodes_and_folds() {
    let v = &files("batch.json")[0].1;
    let config = config_of(v);
    let bytes = hex::decode(v["bytes_hex"].as_str().unwrap()).unwrap();
    let batch = wire::decode_batch(&bytes).unwrap();
    let stated: Batch = serde_json::from_value(v["batch"].clone()).unwrap();
    assert_eq!(batch, stated);
    let mut counters = Counters::new(&config);
    counters.fold_batch(&batch).unwrap();
    assert_eq!(counters.n(), 4);
}

#[test]
fn bad_vectors_are_refused_and_count_nothing() {
    let bad = files("bad_");
    assert!(bad.len() >= 8);
    for (name, v) in bad {
        let bytes = hex::decode(v["bytes_hex"].as_str().unwrap()).unwrap();
        match v["decode_as"].as_str().unwrap() {
            "batch" => assert!(wire::decode_batch(&bytes).is_err(), "{name} decoded"),
            "config" => assert!(wire::decode::<CampaignConfig>(&bytes).is_err(), "{name}"),
            "report" => {
                let config = config_of(&v);
                let mut counters = Counters::new(&config);
                let before = counters.snapshot();
                let refused = match wire::decode::<Report>(&bytes) {
                    Err(_) => true,
                    Ok(report) => counters.fold(&report).is_err(),
                };
                assert!(refused, "{name} was counted");
                assert_eq!(counters.snapshot(), before, "{name}");
            }
            other => panic!("{name}: unknown decode_as {other}"),
        }
    }
}
