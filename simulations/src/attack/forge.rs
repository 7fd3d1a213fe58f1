//! The fake devices' reports.

use ldp_client::Encoder;
use ldp_protocol::mechanism::local_hash::{BucketHasher, pool_hash_seed};
use ldp_protocol::{
    CampaignConfig, GrrReport, LocalHashReport, MechanismParams, Report, UnaryReport,
};
use rand_core::RngCore;
use wyrand::WyRand;

use super::Attack;
use crate::run::RunError;

/// Seeds a maximal-gain local-hashing device tries before settling for the best found.
pub const SEED_TRIES: u32 = 1 << 16;

/// One fake device's report for `attack` (module docs); `encoder` encodes the random-item
/// attack's target honestly. Returns the report and how many targets it supports.
pub(super) fn fake_report(
    config: &CampaignConfig,
    attack: Attack,
    targets: &[u32],
    rng: &mut WyRand,
    encoder: &mut Encoder<WyRand>,
) -> Result<(Report, u32), RunError> {
    let params = config.params();
    let pick = |rng: &mut WyRand, below: u32| (rng.next_u64() % u64::from(below)) as u32;
    let target = targets[pick(rng, targets.len() as u32) as usize];
    let report = match (attack, params) {
        (Attack::RandomItem, _) => encoder.encode_index(target)?,
        (Attack::RandomValue, MechanismParams::Grr(p)) => Report::Grr(GrrReport {
            value: pick(rng, p.k),
        }),
        (Attack::MaximalGain, MechanismParams::Grr(_)) => Report::Grr(GrrReport { value: target }),
        (_, MechanismParams::Oue(p) | MechanismParams::Sue(p)) => {
            let mut bits = vec![0_u64; p.k.div_ceil(64) as usize];
            let set = |bits: &mut [u64], v: u32| bits[v as usize / 64] |= 1 << (v % 64);
            if attack == Attack::RandomValue {
                for v in 0..p.k {
                    if rng.next_u64() & 1 == 1 {
                        set(&mut bits, v);
                    }
                }
            } else {
                for &t in targets {
                    set(&mut bits, t);
                }
                // Pad to an honest report's expected number of ones with non-targets.
                let pure = params.pure();
                let honest = pure.p + f64::from(p.k - 1) * pure.q;
                let pad = (honest - targets.len() as f64).floor().max(0.0) as u32;
                let free = p.k - targets.len() as u32;
                let mut added = 0;
                while added < pad.min(free) {
                    let v = pick(rng, p.k);
                    if bits[v as usize / 64] >> (v % 64) & 1 == 0 {
                        set(&mut bits, v);
                        added += 1;
                    }
                }
            }
            let report = UnaryReport { bits };
            if matches!(params, MechanismParams::Oue(_)) {
                Report::Oue(report)
            } else {
                Report::Sue(report)
            }
        }
        (_, MechanismParams::Olh(p) | MechanismParams::Blh(p)) => {
            let hash_seed = |seed: u64| match p.seed_pool {
                Some(_) => pool_hash_seed(seed),
                None => seed,
            };
            let draw_seed = |rng: &mut WyRand| match p.seed_pool {
                Some(pool) => u64::from(pick(rng, pool)),
                None => rng.next_u64(),
            };
            let (seed, value) = if attack == Attack::RandomValue {
                (draw_seed(rng), pick(rng, p.g))
            } else {
                best_seed(targets, p.g, SEED_TRIES, || draw_seed(rng), hash_seed)
            };
            let report = LocalHashReport { seed, value };
            if matches!(params, MechanismParams::Olh(_)) {
                Report::Olh(report)
            } else {
                Report::Blh(report)
            }
        }
        (_, other) => {
            return Err(RunError::Invalid(format!(
                "the attacks cover grr, sue, oue, olh and blh, not {}",
                other.kind()
            )));
        }
    };
    let support = targets
        .iter()
        .filter(|&&t| supports(params, &report, t))
        .count() as u32;
    Ok((report, support))
}

/// The seed (of up to `tries` drawn) whose hash puts the most targets into one bucket, and
/// that bucket; stops at the first that puts them all there.
fn best_seed(
    targets: &[u32],
    g: u32,
    tries: u32,
    mut draw: impl FnMut() -> u64,
    hash_seed: impl Fn(u64) -> u64,
) -> (u64, u32) {
    let mut best = (0, 0, 0);
    let mut buckets = vec![0_u32; g as usize];
    for _ in 0..tries {
        let seed = draw();
        let hasher = BucketHasher::new(hash_seed(seed), g);
        buckets.fill(0);
        for &t in targets {
            buckets[hasher.bucket(t) as usize] += 1;
        }
        let (bucket, &count) = buckets
            .iter()
            .enumerate()
            .max_by_key(|&(_, c)| *c)
            .unwrap_or((0, &0));
        if count > best.2 {
            best = (seed, bucket as u32, count);
        }
        if count as usize == targets.len() {
            break;
        }
    }
    (best.0, best.1)
}

/// Whether `report` supports `value` (the report structures of [`Family`]).
fn supports(params: &MechanismParams, report: &Report, value: u32) -> bool {
    match (params, report) {
        (_, Report::Grr(r)) => r.value == value,
        (_, Report::Oue(r) | Report::Sue(r)) => r
            .bits
            .get(value as usize / 64)
            .is_some_and(|w| w >> (value % 64) & 1 == 1),
        (MechanismParams::Olh(p) | MechanismParams::Blh(p), Report::Olh(r) | Report::Blh(r)) => {
            let seed = match p.seed_pool {
                Some(_) => pool_hash_seed(r.seed),
                None => r.seed,
            };
            BucketHasher::new(seed, p.g).bucket(value) == r.value
        }
        _ => false,
    }
}

/// Whether the collector counts `report`: unary reports only when their number of ones is in
/// the honest range; every other report is counted.
pub(super) fn counted(params: &MechanismParams, report: &Report) -> bool {
    match (params, report) {
        (MechanismParams::Oue(p) | MechanismParams::Sue(p), Report::Oue(r) | Report::Sue(r)) => {
            p.plausible(&r.bits)
        }
        _ => true,
    }
}
