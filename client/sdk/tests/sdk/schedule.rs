//! The upload schedule: nothing leaves before its epoch ends; release times are uniform over
//! the window.

use ldp_protocol::{CampaignConfig, CampaignSpec, Domain, Mechanism};
use ldp_sdk::{ClientOptions, ManualClock};
use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::collector::{Collector, START};

const HOUR: u64 = 3600;

#[test]
fn batches_leave_after_their_epoch_at_uniformly_spread_moments() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let mut spec = CampaignSpec::new("hourly", Mechanism::Grr, 1.0, Domain::Range { k: 4 });
    spec.epoch_seconds = HOUR;
    let config = CampaignConfig::new(spec).unwrap();
    let collector = Collector::new(&clock, &[config]);
    let client = collector.client(dir.path(), ClientOptions::default());

    const EPOCHS: u64 = 2000;
    const BINS: usize = 20;
    let mut counts = [0u64; BINS];
    for e in 0..EPOCHS {
        let epoch_start = START + e * HOUR;
        // Recorded at some moment in the epoch.
        clock.set(epoch_start + (e * 7919) % HOUR);
        client.record_index("hourly", 1).unwrap();
        let due = client.upload_pending().unwrap().next_due.unwrap();
        let end = epoch_start + HOUR;
        assert!((end..end + HOUR).contains(&due), "epoch {e}: due at {due}");
        // Not a second early …
        clock.set(due - 1);
        assert_eq!(client.upload_pending().unwrap().batches_sent, 0);
        // … and on time.
        clock.set(due);
        assert_eq!(client.upload_pending().unwrap().batches_sent, 1);
        counts[((due - end) as usize * BINS) / HOUR as usize] += 1;
    }
    assert!(
        collector
            .seen
            .lock()
            .unwrap()
            .posts
            .iter()
            .all(|(t, _)| (*t - START) % HOUR < HOUR)
    );
    // χ² against uniform; the bound is exceeded by chance with probability 1e-6.
    let expected = EPOCHS as f64 / BINS as f64;
    let chi2: f64 = counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    let bound = ChiSquared::new((BINS - 1) as f64)
        .unwrap()
        .inverse_cdf(1.0 - 1e-6);
    assert!(chi2 < bound, "χ² = {chi2:.1} ≥ {bound:.1}: {counts:?}");
}
