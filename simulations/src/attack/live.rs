//! The attacks against a running collector: per repetition a fresh campaign, the honest
//! devices' reports uploaded and estimated, then the fake devices' reports, and the estimates
//! again, all over HTTP with the real uploader.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ldp_client::Encoder;
use ldp_client::upload::{EncodedBatch, Uploader};
use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism, Report};
use wyrand::WyRand;

use super::{
    AttackPlan, GainRecord, Once, check_plan, fake_devices, fake_reports, record, target_share,
};
use crate::population::Population;
use crate::run::RunError;

/// Reports per uploaded batch.
const BATCH: usize = 10_000;

/// A running collector and an admin token (which may also read estimates).
#[derive(Debug, Clone)]
pub struct Live<'a> {
    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub url: &'a str,
    /// An admin token: creates the campaigns and reads their estimates.
    pub admin_token: &'a str,
}

/// Runs `plan` against the collector `live`, `reps` times, each in a campaign of its own
/// (`attack-<mechanism>-<attack>-<run>-<rep>`), and records it like [`super::simulate_attack`].
pub fn attack_live(
    live: &Live<'_>,
    population: &Population,
    mechanism: &Mechanism,
    eps: f64,
    plan: &AttackPlan,
    reps: u32,
    seed: u64,
) -> Result<GainRecord, RunError> {
    check_plan(plan, reps, population)?;
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64 & 0xffff_ffff);
    let m = fake_devices(population.n(), plan.beta);
    let mut onces = Vec::new();
    let mut config = None;
    for rep in 0..reps {
        let id = format!(
            "attack-{}-{}-{run:08x}-{rep}",
            mechanism.kind().name().replace('_', "-"),
            plan.attack.name()
        );
        let mut spec = CampaignSpec::new(
            &id,
            mechanism.clone(),
            eps,
            Domain::Range { k: population.k() },
        );
        spec.description = "ldp-sim attack".into();
        spec.min_reports = 10;
        let created = CampaignConfig::new(spec)?;
        let family = super::Family::of(created.params())?;
        crate::demo::create_campaign(live.url, live.admin_token, &created)
            .map_err(RunError::Invalid)?;
        let uploader = Uploader::new(live.url);
        let campaign = uploader.fetch_campaign(&id).map_err(http)?;
        let epoch = current_epoch(live, &id)?;
        let mut encoder =
            Encoder::with_simulation_rng(&campaign, WyRand::new(seed ^ u64::from(rep)));
        let honest = population
            .values()
            .map(|v| encoder.encode_index(v))
            .collect::<Result<Vec<_>, _>>()?;
        upload(&uploader, &campaign, epoch, honest)?;
        let (n_before, before_counts) = estimates(live, &id)?;
        let (before, rank_before) = target_share(n_before, &before_counts, &plan.targets);
        let (reports, support) =
            fake_reports(&campaign, plan, m, seed ^ 0xa77a_c4ed_u64.rotate_left(rep))?;
        upload(&uploader, &campaign, epoch, reports)?;
        let (n_after, after_counts) = estimates(live, &id)?;
        let (after, rank_after) = target_share(n_after, &after_counts, &plan.targets);
        onces.push(Once {
            gain: after - before,
            support,
            fakes_counted: n_after - n_before,
            honest_counted: n_before,
            ranks: (rank_before, rank_after),
        });
        config = Some((campaign, family));
    }
    let (config, family) = config.ok_or_else(|| RunError::Invalid("no repetition ran".into()))?;
    Ok(record(&config, family, population, plan, m, &onces))
}

fn http(e: impl std::fmt::Display) -> RunError {
    RunError::Invalid(e.to_string())
}

/// Uploads `reports` in batches, each acknowledged before the next.
fn upload(
    uploader: &Uploader,
    config: &CampaignConfig,
    epoch: u64,
    reports: Vec<Report>,
) -> Result<(), RunError> {
    for chunk in reports.chunks(BATCH) {
        let batch = EncodedBatch::new(config, epoch, chunk.to_vec()).map_err(http)?;
        uploader.send(&batch).map_err(http)?;
    }
    Ok(())
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent()
}

/// `GET path` with the admin token, as JSON; an answer other than 200 is an error.
fn get_json(live: &Live<'_>, path: &str) -> Result<serde_json::Value, RunError> {
    let url = format!("{}{path}", live.url.trim_end_matches('/'));
    let mut response = agent()
        .get(&url)
        .header("authorization", format!("Bearer {}", live.admin_token))
        .call()
        .map_err(|e| RunError::Invalid(format!("{url}: {e}")))?;
    let status = response.status();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    if status != 200 {
        return Err(RunError::Invalid(format!("{url}: {status}: {text}")));
    }
    serde_json::from_str(&text).map_err(|e| RunError::Invalid(format!("{url}: {e}")))
}

/// The collector's current epoch for campaign `id`.
fn current_epoch(live: &Live<'_>, id: &str) -> Result<u64, RunError> {
    get_json(live, &format!("/v1/campaigns/{id}"))?["current_epoch"]
        .as_u64()
        .ok_or_else(|| RunError::Invalid(format!("campaign {id}: no current_epoch")))
}

/// The reports counted for campaign `id` and every value's estimated count, in index order.
fn estimates(live: &Live<'_>, id: &str) -> Result<(u64, Vec<f64>), RunError> {
    let answer = get_json(live, &format!("/v1/campaigns/{id}/estimates"))?;
    let n = answer["n"].as_u64().unwrap_or(0);
    let counts = answer["values"]
        .as_array()
        .map(|values| {
            values
                .iter()
                .map(|v| v["count"].as_f64().unwrap_or(0.0))
                .collect()
        })
        .unwrap_or_default();
    Ok((n, counts))
}
