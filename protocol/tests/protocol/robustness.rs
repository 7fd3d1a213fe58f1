//! Arbitrary and mutated bytes give `Err`, never a panic; whatever does decode re-encodes to
//! the same bytes (the encoding is canonical).

use ldp_protocol::{Batch, CampaignConfig, Report, WireError, wire};
use proptest::prelude::*;

use crate::roundtrip::batch;

fn decode_everything(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(batch) = wire::decode::<Batch>(bytes) {
        prop_assert_eq!(wire::encode(&batch).unwrap(), bytes);
    }
    if let Ok(config) = wire::decode::<CampaignConfig>(bytes) {
        prop_assert_eq!(wire::encode(&config).unwrap(), bytes);
    }
    if let Ok(report) = wire::decode::<Report>(bytes) {
        prop_assert_eq!(wire::encode(&report).unwrap(), bytes);
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, u8),
    Append(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, x)| Mutation::Insert(i, x)),
        proptest::collection::vec(any::<u8>(), 1..8).prop_map(Mutation::Append),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len().max(1);
    match m {
        Mutation::Flip(i, x) => {
            if !bytes.is_empty() {
                bytes[i % len] ^= x;
            }
        }
        Mutation::Truncate(i) => bytes.truncate(i % len),
        Mutation::Insert(i, x) => bytes.insert(i % (bytes.len() + 1), *x),
        Mutation::Append(tail) => bytes.extend_from_slice(tail),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5_000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        decode_everything(&bytes)?;
    }

    #[test]
    fn mutated_encodings_never_panic(
        (config, batch) in batch(),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let mut bytes = wire::encode(&batch).unwrap();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        decode_everything(&bytes)?;
        let mut config_bytes = wire::encode(&config).unwrap();
        for m in &mutations {
            apply(&mut config_bytes, m);
        }
        decode_everything(&config_bytes)?;
    }
}

#[test]
fn trailing_bytes_are_refused() {
    let report = Report::Grr(ldp_protocol::GrrReport { value: 1 });
    let mut bytes = wire::encode(&report).unwrap();
    bytes.push(0);
    assert_eq!(
        wire::decode::<Report>(&bytes),
        Err(WireError::TrailingBytes(1))
    );
}

#[test]
fn oversized_input_is_refused_before_reading() {
    let bytes = vec![0u8; wire::MAX_DECODE_BYTES + 1];
    assert!(matches!(
        wire::decode::<Batch>(&bytes),
        Err(WireError::TooLarge { .. })
    ));
}

/// A few bytes claiming a gigantic string or sequence fail without allocating it: the
/// decoder's limit scales with the input, and sequences grow only as elements decode.
#[test]
fn huge_length_prefixes_fail_fast() {
    // version, then a campaign-id length of 2^40.
    let mut bytes = 1u16.to_le_bytes().to_vec();
    bytes.extend_from_slice(&(1u64 << 40).to_le_bytes());
    bytes.extend_from_slice(b"abc");
    assert!(matches!(
        wire::decode::<Batch>(&bytes),
        Err(WireError::Malformed(_))
    ));

    // A valid header, then a report count of 2^60 with no reports.
    let config: CampaignConfig = serde_json::from_str(
        r#"{"id":"c","mechanism":"grr","epsilon":1.0,"domain":{"range":{"k":4}}}"#,
    )
    .unwrap();
    let batch = Batch::new(&config, 1, ldp_protocol::BatchId([0; 16]));
    let mut bytes = wire::encode(&batch).unwrap();
    let len = bytes.len();
    bytes[len - 8..].copy_from_slice(&(1u64 << 60).to_le_bytes());
    assert!(matches!(
        wire::decode::<Batch>(&bytes),
        Err(WireError::Malformed(_))
    ));
}

/// Regression: `"epoch_second": 60` (a misspelling of `epoch_seconds`) used to be ignored and
/// the campaign created with the default one-day epoch.
#[test]
fn a_misspelled_campaign_field_is_refused() {
    let good = r#"{"id": "c", "mechanism": "grr", "epsilon": 1.0,
                   "domain": {"range": {"k": 4}}, "epoch_seconds": 60}"#;
    let spec: ldp_protocol::CampaignSpec = serde_json::from_str(good).unwrap();
    assert_eq!(spec.epoch_seconds, 60);
    for bad in [
        r#"{"id": "c", "mechanism": "grr", "epsilon": 1.0,
            "domain": {"range": {"k": 4}}, "epoch_second": 60}"#,
        r#"{"id": "c", "mechanism": {"olh": {"g": 4, "seed_pol": 8}}, "epsilon": 1.0,
            "domain": {"range": {"k": 4}}}"#,
        r#"{"id": "c", "mechanism": "grr", "epsilon": 1.0, "domain": {"range": {"k": 4, "n": 1}}}"#,
        r#"{"id": "c", "mechanism": {"cms": {"hash": 4}}, "epsilon": 1.0, "domain": "open"}"#,
    ] {
        let err = serde_json::from_str::<ldp_protocol::CampaignSpec>(bad).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{bad}: {err}");
    }
}

#[test]
fn mechanism_names_parse_once_for_every_kind() {
    use ldp_protocol::MechanismKind;
    for kind in MechanismKind::EVERY {
        assert_eq!(kind.name().parse::<MechanismKind>(), Ok(kind));
        assert_eq!(format!(" {kind} ").parse::<MechanismKind>(), Ok(kind));
    }
    assert!("GRR".parse::<MechanismKind>().is_err());
    assert!("".parse::<MechanismKind>().is_err());
}
