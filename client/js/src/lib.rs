//! # ldp-js
//!
//! The device SDK of **ldp-telemetry** for web pages and Node, compiled to WebAssembly. This
//! crate is the Rust half: [`device::Device`] holds the state and the rules (the native SDK's
//! encoders, budget ledger, outbox and schedule, from `ldp-sdk`'s portable core) without any
//! I/O, and [`Core`] exposes it to JavaScript with `wasm-bindgen`. The JavaScript half
//! (`client/js/package/`) fetches configurations, sends batches with `fetch` and saves the
//! state's snapshot into a pluggable store. `client/js/README.md` is the guide;
//! `scripts/build-wasm.sh` builds the package.
//!
//! Randomness comes from `crypto.getRandomValues` (getrandom's `wasm_js` backend); the only
//! seeded encoder is [`SimulationEncoder`], for test vectors and benchmarks.

pub mod device;

use ldp_client::Encoder;
use ldp_protocol::{CampaignConfig, CampaignSpec, wire};
use ldp_sdk::encoding::Value;
use ldp_sdk::transport::HttpResponse;
use ldp_sdk::{ClientOptions, SdkError};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::device::{Delivery, Device, Upload};

/// An error for JavaScript: an `Error` whose `name` is the SDK's error kind
/// (`BudgetExhausted`, `UnknownCampaign`, `InvalidValue`, …) and whose `message` explains it.
fn js_error(e: &SdkError) -> JsValue {
    let error = js_sys::Error::new(&e.to_string());
    error.set_name(e.kind());
    error.into()
}

/// Seconds since the Unix epoch, from JavaScript's number (fractions dropped, negative as 0).
fn seconds(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}

/// The options JavaScript may pass to [`Core::new`] (camelCase; every one optional).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct JsOptions {
    release_window_seconds: Option<u64>,
    max_outbox_batches: Option<u64>,
    max_outbox_bytes: Option<u64>,
    max_batch_reports: Option<u64>,
    retry_base_seconds: Option<u64>,
    retry_max_seconds: Option<u64>,
}

impl JsOptions {
    fn into_options(self) -> ClientOptions {
        let d = ClientOptions::default();
        ClientOptions {
            release_window_seconds: self.release_window_seconds.or(d.release_window_seconds),
            max_outbox_batches: self.max_outbox_batches.unwrap_or(d.max_outbox_batches),
            max_outbox_bytes: self.max_outbox_bytes.unwrap_or(d.max_outbox_bytes),
            max_batch_reports: self.max_batch_reports.unwrap_or(d.max_batch_reports),
            retry_base_seconds: self.retry_base_seconds.unwrap_or(d.retry_base_seconds),
            retry_max_seconds: self.retry_max_seconds.unwrap_or(d.retry_max_seconds),
        }
    }
}

/// The device's state and rules, driven by the package's JavaScript `Client`.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Core {
    device: Device,
}

#[wasm_bindgen]
impl Core {
    /// A core from a saved snapshot (or `undefined` for a new device) and options as JSON.
    #[wasm_bindgen(constructor)]
    pub fn new(snapshot: Option<Vec<u8>>, options_json: &str) -> Result<Core, JsValue> {
        let options: JsOptions = serde_json::from_str(options_json)
            .map_err(|e| js_error(&SdkError::InvalidArgument(format!("options: {e}"))))?;
        let device =
            Device::open(snapshot.as_deref(), options.into_options()).map_err(|e| js_error(&e))?;
        Ok(Self { device })
    }

    /// The state to save.
    pub fn snapshot(&self) -> Result<Vec<u8>, JsValue> {
        self.device.snapshot().map_err(|e| js_error(&e))
    }

    /// Whether `campaign`'s configuration must be fetched before recording.
    #[wasm_bindgen(js_name = needsConfig)]
    pub fn needs_config(&self, campaign: &str) -> bool {
        self.device.needs_config(campaign)
    }

    /// Takes the body of the collector's `GET /v1/campaigns/{campaign}` answer.
    #[wasm_bindgen(js_name = installConfig)]
    pub fn install_config(&mut self, campaign: &str, body: &[u8], now: f64) -> Result<(), JsValue> {
        self.device
            .install_config(campaign, body, seconds(now))
            .map_err(|e| js_error(&e))
    }

    /// Campaigns to re-check with the collector in this epoch.
    #[wasm_bindgen(js_name = configsToCheck)]
    pub fn configs_to_check(&mut self, now: f64) -> Vec<String> {
        self.device.configs_to_check(seconds(now))
    }

    /// The collector could not be asked about `campaign` in this epoch.
    #[wasm_bindgen(js_name = configUnavailable)]
    pub fn config_unavailable(&mut self, campaign: &str, now: f64) {
        self.device.config_unavailable(campaign, seconds(now));
    }

    /// Records a string value.
    pub fn record(&mut self, campaign: &str, value: &str, now: f64) -> Result<(), JsValue> {
        self.device
            .record(campaign, Value::Text(value), seconds(now))
            .map_err(|e| js_error(&e))
    }

    /// Records a value by its index.
    #[wasm_bindgen(js_name = recordIndex)]
    pub fn record_index(&mut self, campaign: &str, index: u32, now: f64) -> Result<(), JsValue> {
        self.device
            .record(campaign, Value::Index(index), seconds(now))
            .map_err(|e| js_error(&e))
    }

    /// Records a number for a numeric campaign.
    #[wasm_bindgen(js_name = recordNumber)]
    pub fn record_number(&mut self, campaign: &str, x: f64, now: f64) -> Result<(), JsValue> {
        self.device
            .record(campaign, Value::Number(x), seconds(now))
            .map_err(|e| js_error(&e))
    }

    /// Freezes and returns the batches due at `now`; save the snapshot before sending them.
    pub fn due(&mut self, now: f64) -> Result<Vec<DueBatch>, JsValue> {
        Ok(self
            .device
            .due(seconds(now))
            .map_err(|e| js_error(&e))?
            .into_iter()
            .map(DueBatch)
            .collect())
    }

    /// Takes the collector's answer to batch `row`: its status, `Retry-After` (seconds, or
    /// `undefined`) and body. Returns JSON: `{"outcome": "acknowledged" | "rejected" |
    /// "retry", "reports": …, "retryAt": …}`.
    pub fn answered(
        &mut self,
        row: u32,
        status: u16,
        retry_after: Option<f64>,
        body: Vec<u8>,
        now: f64,
    ) -> Result<String, JsValue> {
        let response = HttpResponse {
            status,
            retry_after: retry_after.map(seconds),
            body,
        };
        self.delivered(row, Ok(response), now)
    }

    /// Batch `row` got no answer (a network error): it is retried later (JSON as
    /// [`Core::answered`]).
    pub fn unanswered(&mut self, row: u32, error: &str, now: f64) -> Result<String, JsValue> {
        self.delivered(row, Err(error.to_owned()), now)
    }

    fn delivered(
        &mut self,
        row: u32,
        response: Result<HttpResponse, String>,
        now: f64,
    ) -> Result<String, JsValue> {
        let delivery = self
            .device
            .delivered(row, response, seconds(now))
            .map_err(|e| js_error(&e))?;
        let json = match delivery {
            Delivery::Acknowledged { reports } => {
                serde_json::json!({ "outcome": "acknowledged", "reports": reports })
            }
            Delivery::Rejected { reports } => {
                serde_json::json!({ "outcome": "rejected", "reports": reports })
            }
            Delivery::Retry { at } => serde_json::json!({ "outcome": "retry", "retryAt": at }),
        };
        Ok(json.to_string())
    }

    /// `{"batches": …, "reports": …, "nextDue": …}` of the outbox, as JSON.
    pub fn waiting(&self) -> String {
        let (batches, reports, next) = self.device.waiting();
        serde_json::json!({ "batches": batches, "reports": reports, "nextDue": next }).to_string()
    }

    /// Turns uploads on or off (off deletes every waiting report; spent budget stays spent).
    #[wasm_bindgen(js_name = setUploadEnabled)]
    pub fn set_upload_enabled(&mut self, enabled: bool) {
        self.device.set_upload_enabled(enabled);
    }

    /// Whether uploads are enabled.
    #[wasm_bindgen(js_name = uploadEnabled)]
    pub fn upload_enabled(&self) -> bool {
        self.device.upload_enabled()
    }

    /// What this device spent on `campaign`, as JSON (`epochs`, `lifetimeReports`,
    /// `lifetimeEpsilon`, `permanentResponses`, `maxLifetimeEpsilon`).
    #[wasm_bindgen(js_name = privacySpent)]
    pub fn privacy_spent(&self, campaign: &str) -> String {
        let spent = self.device.privacy_spent(campaign);
        let epochs: Vec<serde_json::Value> = spent
            .epochs
            .iter()
            .map(|e| serde_json::json!({ "epoch": e.epoch, "reports": e.reports, "epsilon": e.epsilon }))
            .collect();
        serde_json::json!({
            "campaign": spent.campaign,
            "epochs": epochs,
            "lifetimeReports": spent.lifetime_reports,
            "lifetimeEpsilon": spent.lifetime_epsilon,
            "permanentResponses": spent.permanent_responses,
            "maxLifetimeEpsilon": spent.max_lifetime_epsilon,
        })
        .to_string()
    }

    /// An outbox history counter (`acknowledged_reports`, `dropped_batches`, …).
    pub fn counter(&self, name: &str) -> f64 {
        self.device.counter(name) as f64
    }
}

/// A batch to send (from [`Core::due`]).
#[wasm_bindgen]
#[derive(Debug)]
pub struct DueBatch(Upload);

#[wasm_bindgen]
impl DueBatch {
    /// The batch's row, to report its answer with.
    #[wasm_bindgen(getter)]
    pub fn row(&self) -> u32 {
        self.0.row
    }

    /// The campaign: the batch goes to `/v1/campaigns/{campaign}/reports`.
    #[wasm_bindgen(getter)]
    pub fn campaign(&self) -> String {
        self.0.campaign.clone()
    }

    /// The exact bytes to send.
    #[wasm_bindgen(getter)]
    pub fn body(&self) -> Vec<u8> {
        self.0.body.clone()
    }
}

/// Encodes `n` reports of value index `index` for the campaign spec `spec_json` with the
/// production encoder (randomness from `crypto.getRandomValues`, as `Client.record` uses),
/// into one reused report, and returns `n`: the benchmark's measure of encoding in WebAssembly.
#[wasm_bindgen(js_name = benchmarkEncode)]
pub fn benchmark_encode(spec_json: &str, index: u32, n: u32) -> Result<f64, JsValue> {
    let invalid = |detail: String| js_error(&SdkError::InvalidArgument(detail));
    let spec: CampaignSpec =
        serde_json::from_str(spec_json).map_err(|e| invalid(format!("spec: {e}")))?;
    let config = CampaignConfig::new(spec).map_err(|e| invalid(format!("spec: {e}")))?;
    let mut encoder = Encoder::new(&config).map_err(|e| js_error(&e.into()))?;
    let mut report = encoder
        .encode_index(index)
        .map_err(|e| js_error(&e.into()))?;
    for _ in 0..n {
        encoder
            .encode_index_into(index, &mut report)
            .map_err(|e| js_error(&e.into()))?;
        std::hint::black_box(&report);
    }
    Ok(f64::from(n))
}

/// An encoder drawing from a ChaCha20 generator seeded by the caller. **For test vectors and
/// benchmarks only**: a predictable generator voids the privacy guarantee; apps record through
/// the `Client`, whose randomness comes from `crypto.getRandomValues`.
#[wasm_bindgen]
#[derive(Debug)]
pub struct SimulationEncoder {
    encoder: Encoder<ChaCha20Rng>,
}

#[wasm_bindgen]
impl SimulationEncoder {
    /// An encoder for the campaign spec `spec_json` (as in `protocol/testdata`), seeded with
    /// 32 bytes given in hex.
    #[wasm_bindgen(constructor)]
    pub fn new(spec_json: &str, seed_hex: &str) -> Result<SimulationEncoder, JsValue> {
        let invalid = |detail: String| js_error(&SdkError::InvalidArgument(detail));
        let spec: CampaignSpec =
            serde_json::from_str(spec_json).map_err(|e| invalid(format!("spec: {e}")))?;
        let config = CampaignConfig::new(spec).map_err(|e| invalid(format!("spec: {e}")))?;
        let seed: [u8; 32] = hex::decode(seed_hex)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| invalid("the seed is not 32 bytes of hex".into()))?;
        Ok(Self {
            encoder: Encoder::with_simulation_rng(&config, ChaCha20Rng::from_seed(seed)),
        })
    }

    /// One report of `value`, in the wire format.
    pub fn encode(&mut self, value: &str) -> Result<Vec<u8>, JsValue> {
        let report = self
            .encoder
            .encode(value)
            .map_err(|e| js_error(&e.into()))?;
        wire::encode(&report).map_err(|e| js_error(&e.into()))
    }

    /// Encodes `n` reports of value index `index` into one reused report and returns `n`.
    /// Measures encoding without crossing into JavaScript per report.
    #[wasm_bindgen(js_name = encodeRepeated)]
    pub fn encode_repeated(&mut self, index: u32, n: u32) -> Result<f64, JsValue> {
        let mut report = self
            .encoder
            .encode_index(index)
            .map_err(|e| js_error(&e.into()))?;
        for _ in 0..n {
            self.encoder
                .encode_index_into(index, &mut report)
                .map_err(|e| js_error(&e.into()))?;
            std::hint::black_box(&report);
        }
        Ok(f64::from(n))
    }
}
