//! A collector in process: serves campaign configurations, counts batches once per id, and
//! can be told to fail.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use ldp_protocol::{CampaignConfig, wire};
use ldp_sdk::{Client, ClientOptions, Clock, HttpRequest, HttpResponse, ManualClock, Transport};

/// Monday 2027-01-04 00:00 UTC: a whole number of days.
pub const START: u64 = 1_799_020_800;

/// What the fake collector saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Campaigns it serves.
    pub configs: HashMap<String, CampaignConfig>,
    /// Bodies of batches counted, by batch id.
    pub counted: BTreeMap<[u8; 16], Vec<u8>>,
    /// Every POST: (time, body).
    pub posts: Vec<(u64, Vec<u8>)>,
    /// Every GET: the campaign asked for.
    pub gets: Vec<String>,
    /// Reports counted.
    pub reports: u64,
    /// Answer every request with this status instead (e.g. 503).
    pub fail_with: Option<u16>,
}

/// The collector; clones share state.
#[derive(Debug, Clone)]
pub struct Collector {
    pub seen: Arc<Mutex<Seen>>,
    pub clock: ManualClock,
}

impl Collector {
    pub fn new(clock: &ManualClock, configs: &[CampaignConfig]) -> Self {
        let seen = Seen {
            configs: configs
                .iter()
                .map(|c| (c.id().as_str().to_owned(), c.clone()))
                .collect(),
            ..Seen::default()
        };
        Self {
            seen: Arc::new(Mutex::new(seen)),
            clock: clock.clone(),
        }
    }

    pub fn client(&self, dir: &std::path::Path, options: ClientOptions) -> Client {
        Client::open_with(
            dir,
            "http://collector.test",
            options,
            Arc::new(self.clone()),
            Arc::new(self.clock.clone()),
        )
        .unwrap()
    }

    pub fn reports(&self) -> u64 {
        self.seen.lock().unwrap().reports
    }
}

fn answer(status: u16, body: String) -> HttpResponse {
    HttpResponse {
        status,
        retry_after: None,
        body: body.into_bytes(),
    }
}

impl Transport for Collector {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        let mut seen = self.seen.lock().unwrap();
        if let Some(status) = seen.fail_with {
            return Ok(answer(status, r#"{"detail":"failing on purpose"}"#.into()));
        }
        let path = request
            .url
            .strip_prefix("http://collector.test/v1/campaigns/")
            .ok_or("unexpected URL")?;
        if request.method == "GET" {
            seen.gets.push(path.to_owned());
            return Ok(match seen.configs.get(path) {
                Some(config) => answer(
                    200,
                    serde_json::json!({
                        "config": config,
                        "digest": format!("{:016x}", config.digest()),
                    })
                    .to_string(),
                ),
                None => answer(404, r#"{"detail":"no such campaign"}"#.into()),
            });
        }
        let now = self.clock.now();
        seen.posts.push((now, request.body.clone()));
        let batch = wire::decode_batch(&request.body).map_err(|e| e.to_string())?;
        if let Some(before) = seen.counted.get(&batch.batch_id.0) {
            assert_eq!(before, &request.body, "a retry must resend identical bytes");
            return Ok(answer(202, r#"{"status":"duplicate"}"#.into()));
        }
        seen.reports += batch.reports.len() as u64;
        seen.counted.insert(batch.batch_id.0, request.body.clone());
        Ok(answer(202, r#"{"status":"counted"}"#.into()))
    }
}
