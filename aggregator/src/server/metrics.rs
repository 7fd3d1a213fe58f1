//! Prometheus metrics (text format at `/metrics`). Labels never carry client data: routes are
//! the matched route templates, reasons are problem slugs.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use std::sync::Arc;

use super::health::{Health, THROTTLES};
use crate::store::Store;

/// Exports the service's health at scrape time: whether the store can commit, the failed
/// commits and probes, and the log lines held back per site.
#[derive(Debug)]
struct HealthCollector(Arc<Health>);

/// Label of the held-back log lines.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SiteLabels {
    site: String,
}

impl Collector for HealthCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let writable = ConstGauge::new(i64::from(self.0.writable()));
        let metric = encoder.encode_descriptor(
            "store_writable",
            "1 while the last commit or probe of the store succeeded (what /readyz answers)",
            None,
            writable.metric_type(),
        )?;
        writable.encode(metric)?;
        let failures = ConstCounter::new(self.0.failures());
        let metric = encoder.encode_descriptor(
            "store_write_failures",
            "Group commits and store probes that failed",
            None,
            failures.metric_type(),
        )?;
        failures.encode(metric)?;
        let mut family = encoder.encode_descriptor(
            "log_suppressed",
            "Log lines held back because the same site had just written one",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for throttle in THROTTLES {
            let labels = SiteLabels {
                site: throttle.site.to_owned(),
            };
            ConstCounter::new(throttle.suppressed()).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// Reads the store's counters at scrape time.
#[derive(Debug)]
struct StoreCollector(Arc<dyn Store>);

impl Collector for StoreCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let retries = ConstCounter::new(self.0.retries());
        let metric = encoder.encode_descriptor(
            "store_retries",
            "Transactions retried after a serialization failure or deadlock",
            None,
            retries.metric_type(),
        )?;
        retries.encode(metric)
    }
}

/// Labels of the request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Route template, e.g. `/v1/campaigns/{id}/reports`.
    pub route: String,
    /// HTTP method.
    pub method: String,
    /// Status code.
    pub status: u16,
}

/// Labels of the report counters.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `counted`, `duplicate`, or the problem slug of a rejection.
    pub outcome: String,
}

/// The service's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Requests by route, method and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Reports by outcome (counted, duplicate, or rejection reason).
    pub reports: Family<OutcomeLabels, Counter>,
    /// Batches by outcome (counted, duplicate, or rejection reason).
    pub batches: Family<OutcomeLabels, Counter>,
    /// Seconds per group commit.
    pub commit_seconds: Histogram,
    /// Batches per group commit.
    pub commit_batches: Histogram,
    /// Reports per accepted batch.
    pub batch_reports: Histogram,
    /// Whether the store can commit (the committer keeps it; `/readyz` reads it).
    pub health: Arc<Health>,
    /// Requests refused because their body did not fit the memory budget.
    pub bodies_refused: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("ldp");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let reports = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "reports",
            "Reports received, by outcome (counted, duplicate, or rejection reason)",
            reports.clone(),
        );
        let batches = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "batches",
            "Batches received, by outcome (counted, duplicate, or rejection reason)",
            batches.clone(),
        );
        let commit_seconds = Histogram::new(exponential_buckets(0.000_25, 2.0, 14));
        registry.register(
            "commit_seconds",
            "Duration of one group commit (one database transaction)",
            commit_seconds.clone(),
        );
        let commit_batches = Histogram::new(exponential_buckets(1.0, 2.0, 14));
        registry.register(
            "commit_batches",
            "Batches sharing one group commit",
            commit_batches.clone(),
        );
        let batch_reports = Histogram::new(exponential_buckets(1.0, 4.0, 10));
        registry.register(
            "batch_reports",
            "Reports per accepted batch",
            batch_reports.clone(),
        );
        let bodies_refused = Counter::default();
        registry.register(
            "body_budget_refusals",
            "Requests answered 503 because their body did not fit the memory budget",
            bodies_refused.clone(),
        );
        let health = Arc::new(Health::default());
        registry.register_collector(Box::new(HealthCollector(health.clone())));
        Self {
            registry,
            health,
            bodies_refused,
            requests,
            reports,
            batches,
            commit_seconds,
            commit_batches,
            batch_reports,
        }
    }

    /// Exports the store's own counters (transaction retries) with the rest.
    pub fn watch_store(&mut self, store: Arc<dyn Store>) {
        self.registry
            .register_collector(Box::new(StoreCollector(store)));
    }

    /// Counts one batch of `reports` reports under `outcome`, its `implausible` ones (left out
    /// of the counters) under `implausible` instead.
    pub fn record_batch(&self, outcome: &str, reports: usize, implausible: usize) {
        let labels = OutcomeLabels {
            outcome: outcome.to_owned(),
        };
        self.batches.get_or_create(&labels).inc();
        self.reports
            .get_or_create(&labels)
            .inc_by((reports - implausible) as u64);
        if implausible > 0 {
            let labels = OutcomeLabels {
                outcome: "implausible".to_owned(),
            };
            self.reports
                .get_or_create(&labels)
                .inc_by(implausible as u64);
        }
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
