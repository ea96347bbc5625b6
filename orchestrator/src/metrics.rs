//! The orchestrator's Prometheus metrics, under the seed's names, in a
//! registry of its own (never the global one), so several orchestrators and
//! fleets coexist in one process.

use prometheus::core::Collector;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// Detector call latency buckets, in milliseconds.
const LATENCY_MS_BUCKETS: &[f64] = &[
    5.0, 10.0, 25.0, 50.0, 100.0, 200.0, 300.0, 500.0, 750.0, 1000.0, 1500.0, 2000.0, 2500.0,
    3000.0, 5000.0, 10000.0, 30000.0,
];

/// Coverage buckets: the fractions five detectors can produce, and more.
const COVERAGE_BUCKETS: &[f64] = &[
    0.0, 0.2, 0.25, 0.34, 0.4, 0.5, 0.6, 0.67, 0.75, 0.8, 0.99, 1.0,
];

/// Every family the orchestrator exports.
#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    registry: Registry,
    /// `orchestrate_requests_total{status}`: answers by HTTP status.
    pub(crate) requests: IntCounterVec,
    /// `detector_latency_ms{detector}`: one observation per attempt.
    pub(crate) detector_latency: HistogramVec,
    /// `detector_calls_total{detector,outcome}`: calls by final outcome.
    pub(crate) detector_calls: IntCounterVec,
    /// `coverage_achieved`: share of selected detectors that succeeded.
    pub(crate) coverage: Histogram,
    /// `circuit_breaker_state{detector}`: 0 closed, 1 half-open, 2 open.
    pub(crate) breaker_state: IntGaugeVec,
}

impl Metrics {
    /// Creates and registers every family in a fresh registry.
    pub(crate) fn new() -> Self {
        let metrics = Self {
            registry: Registry::new(),
            requests: counter(
                "orchestrate_requests_total",
                "Orchestration answers by HTTP status",
                &["status"],
            ),
            detector_latency: histogram(
                "detector_latency_ms",
                "Detector call attempt latency (ms)",
                LATENCY_MS_BUCKETS,
                &["detector"],
            ),
            detector_calls: counter(
                "detector_calls_total",
                "Detector calls by final outcome",
                &["detector", "outcome"],
            ),
            coverage: Histogram::with_opts(
                HistogramOpts::new(
                    "coverage_achieved",
                    "Share of selected detectors that succeeded",
                )
                .buckets(COVERAGE_BUCKETS.to_vec()),
            )
            .expect(VALID),
            breaker_state: gauge(
                "circuit_breaker_state",
                "Circuit breaker per detector: 0 closed, 1 half-open, 2 open",
                &["detector"],
            ),
        };
        for collector in metrics.collectors() {
            metrics
                .registry
                .register(collector)
                .expect("each family is registered once in a fresh registry");
        }
        metrics
    }

    fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.requests.clone()),
            Box::new(self.detector_latency.clone()),
            Box::new(self.detector_calls.clone()),
            Box::new(self.coverage.clone()),
            Box::new(self.breaker_state.clone()),
        ]
    }

    /// Counts one answer with HTTP status `status`.
    pub(crate) fn count_request(&self, status: u16) {
        self.requests
            .with_label_values(&[status.to_string().as_str()])
            .inc();
    }

    /// Renders the Prometheus text format.
    pub(crate) fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(%error, "could not encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Why the definitions below cannot fail: names, help and labels are fixed.
const VALID: &str = "static metric definition is valid";

/// A counter family `name` with `labels`.
fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect(VALID)
}

/// A gauge family `name` with `labels`.
fn gauge(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    IntGaugeVec::new(Opts::new(name, help), labels).expect(VALID)
}

/// A histogram family `name` with `buckets` and `labels`.
fn histogram(name: &str, help: &str, buckets: &[f64], labels: &[&str]) -> HistogramVec {
    HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )
    .expect(VALID)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_names_are_exported() {
        let metrics = Metrics::new();
        metrics.count_request(206);
        metrics
            .detector_latency
            .with_label_values(&["a"])
            .observe(12.0);
        metrics.coverage.observe(0.8);
        metrics.breaker_state.with_label_values(&["a"]).set(2);
        let text = metrics.render();
        for needle in [
            "orchestrate_requests_total{status=\"206\"} 1",
            "detector_latency_ms_bucket{detector=\"a\"",
            "coverage_achieved_bucket",
            "circuit_breaker_state{detector=\"a\"} 2",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }

    #[test]
    fn two_orchestrators_have_independent_registries() {
        let one = Metrics::new();
        let two = Metrics::new();
        one.count_request(200);
        assert!(!two.render().contains("status=\"200\""));
    }
}
