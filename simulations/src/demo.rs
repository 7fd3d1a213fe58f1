//! `ldp-sim demo`: a demo campaign over the real emoji list, fed through the real client.
//!
//! It creates (or reuses) a campaign over the 845 emoji of `data/emoji-frequency.csv` with
//! short epochs, then, epoch by epoch as the server's clock reaches them, uploads reports of
//! devices drawn from the real frequencies; in the last epoch one emoji is planted with a much
//! larger share. When it returns, that epoch is the latest complete one, so the dashboard shows
//! a populated top list, intervals, and the planted emoji in the trending table.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ldp_client::Encoder;
use ldp_client::upload::{Ack, EncodedBatch, RetryPolicy, UploadError, Uploader};
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, MechanismKind};

use crate::population::Population;

/// What the demo sends.
#[derive(Debug, Clone)]
pub struct DemoPlan {
    /// Aggregator base URL.
    pub url: String,
    /// An admin token (to create the campaign).
    pub admin_token: String,
    /// Campaign id.
    pub campaign: String,
    /// Epoch length in seconds.
    pub epoch_seconds: u64,
    /// Epochs of ordinary traffic before the planted one.
    pub baseline_epochs: u64,
    /// Reports per epoch.
    pub reports_per_epoch: u64,
    /// ε per report.
    pub epsilon: f64,
    /// Popularity rank (0 = most popular) of the emoji whose share rises in the last epoch.
    pub planted_rank: usize,
    /// The planted emoji's share in the last epoch.
    pub planted_share: f64,
}

impl Default for DemoPlan {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8080".into(),
            admin_token: String::new(),
            campaign: "emoji-demo".into(),
            epoch_seconds: 3,
            baseline_epochs: 7,
            reports_per_epoch: 20_000,
            epsilon: 2.0,
            planted_rank: 150,
            planted_share: 0.05,
        }
    }
}

/// What the demo did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoSummary {
    /// The campaign fed.
    pub campaign: String,
    /// The planted emoji.
    pub planted: String,
    /// The epoch it was planted in (the latest complete one when the demo returns).
    pub planted_epoch: u64,
    /// Reports acknowledged.
    pub reports: u64,
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The demo campaign's configuration over the emoji labels.
pub fn demo_config(plan: &DemoPlan, labels: &[String]) -> Result<CampaignConfig, String> {
    let mut spec = CampaignSpec::new(
        &plan.campaign,
        Mechanism::with_defaults(MechanismKind::Olh),
        plan.epsilon,
        Domain::Dictionary {
            values: labels.to_vec(),
        },
    );
    spec.description = "Demo: which emoji people use, from 845 emoji with real frequencies".into();
    spec.epoch_seconds = plan.epoch_seconds;
    spec.min_reports = 100;
    CampaignConfig::new(spec).map_err(|e| e.to_string())
}

/// Creates `config` on the server at `url` with an admin token.
pub fn create_campaign(url: &str, token: &str, config: &CampaignConfig) -> Result<(), String> {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent();
    let body = serde_json::to_vec(config).map_err(|e| e.to_string())?;
    let mut response = agent
        .post(format!("{}/v1/campaigns", url.trim_end_matches('/')))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .send(body.as_slice())
        .map_err(|e| format!("{url}: {e}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!(
            "creating campaign {}: {}",
            config.id().as_str(),
            response.body_mut().read_to_string().unwrap_or_default()
        ))
    }
}

/// Runs the demo; `progress` hears one line per step.
#[expect(
    clippy::too_many_lines,
    reason = "one linear script (create or reuse the campaign, then each epoch as the server's \
              clock reaches it, the last one planted), read top to bottom like the demo it runs"
)]
pub fn run(plan: &DemoPlan, progress: &dyn Fn(&str)) -> Result<DemoSummary, String> {
    let (population, labels) = Population::parse("emoji", 0, 1_000_000)?;
    let planted = labels
        .get(plan.planted_rank)
        .ok_or_else(|| format!("there are only {} emoji", labels.len()))?
        .clone();
    let uploader = Uploader::with_policy(
        &plan.url,
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            request_timeout: Duration::from_secs(30),
        },
    );
    let wanted = demo_config(plan, &labels)?;
    let config = match uploader.fetch_campaign(&plan.campaign) {
        Ok(existing) if existing.digest() == wanted.digest() => {
            progress(&format!("reusing campaign {}", plan.campaign));
            existing
        }
        Ok(_) => {
            return Err(format!(
                "campaign {} exists with another configuration; pass --campaign NEW_ID",
                plan.campaign
            ));
        }
        Err(UploadError::Rejected { status: 404, .. }) => {
            create_campaign(&plan.url, &plan.admin_token, &wanted)?;
            progress(&format!(
                "created campaign {} (OLH, ε = {}, {} emoji, {}-second epochs)",
                plan.campaign,
                plan.epsilon,
                labels.len(),
                plan.epoch_seconds
            ));
            uploader
                .fetch_campaign(&plan.campaign)
                .map_err(|e| e.to_string())?
        }
        Err(e) => return Err(format!("{}: {e}", plan.url)),
    };

    let weights: Vec<f64> = population.counts().iter().map(|&c| c as f64).collect();
    let ordinary = Population::from_weights(&weights, plan.reports_per_epoch);
    let planted_index = plan.planted_rank;
    let mut rising = weights.clone();
    let others: f64 = weights.iter().sum::<f64>() - weights[planted_index];
    rising[planted_index] = others * plan.planted_share / (1.0 - plan.planted_share);
    let spiked = Population::from_weights(&rising, plan.reports_per_epoch);

    let mut encoder = Encoder::new(&config).map_err(|e| e.to_string())?;
    let epoch_seconds = config.epoch_seconds() as f64;
    // Start at the next epoch boundary so every epoch is filled while it is current.
    let first = (unix_now() / epoch_seconds).floor() as u64 + 1;
    let mut reports = 0u64;
    for step in 0..=plan.baseline_epochs {
        let epoch = first + step;
        let wait = epoch as f64 * epoch_seconds - unix_now();
        if wait > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(wait));
        }
        let population = if step == plan.baseline_epochs {
            &spiked
        } else {
            &ordinary
        };
        let encoded: Vec<_> = population
            .values()
            .map(|v| encoder.encode_index(v))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        for chunk in encoded.chunks(2000) {
            let batch =
                EncodedBatch::new(&config, epoch, chunk.to_vec()).map_err(|e| e.to_string())?;
            match uploader.send(&batch).map_err(|e| e.to_string())? {
                Ack::Counted | Ack::Duplicate => reports += chunk.len() as u64,
            }
        }
        progress(&format!(
            "epoch {epoch}: {} reports{}",
            population.n(),
            if step == plan.baseline_epochs {
                format!(" ({planted} planted at {:.0}%)", 100.0 * plan.planted_share)
            } else {
                String::new()
            }
        ));
    }
    let planted_epoch = first + plan.baseline_epochs;
    // Wait until the planted epoch is complete: the dashboard's trending compares it then.
    let wait = (planted_epoch + 1) as f64 * epoch_seconds - unix_now();
    if wait > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(wait + 0.2));
    }
    Ok(DemoSummary {
        campaign: config.id().as_str().to_owned(),
        planted,
        planted_epoch,
        reports,
    })
}
