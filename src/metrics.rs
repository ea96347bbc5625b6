//! Prometheus metrics: one [`Registry`] per fleet, never the global one, so
//! several fleets (say, in one test binary) coexist. Each detector's
//! `/metrics` renders only its own series.

use prometheus::core::Collector;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Server-side latency buckets in seconds, spanning quick answers to hangs.
const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0,
    60.0,
];

/// Batch size buckets.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0];

/// The fleet's metric families.
#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    registry: Registry,
    /// `mockdet_requests_total{detector,endpoint,outcome}`.
    pub(crate) requests: IntCounterVec,
    /// `mockdet_request_duration_seconds{detector,endpoint,outcome}`.
    pub(crate) duration: HistogramVec,
    /// `mockdet_injected_delay_seconds{detector}`.
    pub(crate) injected_delay: HistogramVec,
    /// `mockdet_faults_injected_total{detector,kind}`.
    pub(crate) faults: IntCounterVec,
    /// `mockdet_in_flight_requests{detector}`.
    pub(crate) in_flight: IntGaugeVec,
    /// `mockdet_batch_items{detector}`.
    pub(crate) batch_items: HistogramVec,
    /// `mockdet_fault_windows_active{detector,mode}`, refreshed on scrape.
    pub(crate) windows_active: IntGaugeVec,
    /// `mockdet_script_phase{detector}`: the phase index, -1 when none runs.
    pub(crate) script_phase: IntGaugeVec,
    /// `mockdet_admin_changes_total{detector,action}`.
    pub(crate) admin_changes: IntCounterVec,
    /// `mockdet_overrides_ignored_total{detector}`: `X-Mock-*` headers sent
    /// to a detector that does not allow overrides.
    pub(crate) overrides_ignored: IntCounterVec,
    /// `mockdet_connections_shed_total{detector}`: connections closed at
    /// once because the process was out of file descriptors.
    pub(crate) connections_shed: IntCounterVec,
    /// `mockdet_client_timeouts_total{detector,phase}`: clients cut off for
    /// not sending a request's `headers` (or staying idle) or its `body`
    /// within the read timeout.
    pub(crate) client_timeouts: IntCounterVec,
    /// `mockdet_replay_events_total{detector,event}`: request-mode keys
    /// forgotten at capacity (`key_evicted`), and requests a replayed
    /// journal had an outcome for (`journal_hit`) or not (`journal_miss`).
    pub(crate) replay_events: IntCounterVec,
    /// `mockdet_health_checks_total{detector,status}`: `GET /health`
    /// answered `healthy` or `unhealthy` (how often a caller polls).
    pub(crate) health_checks: IntCounterVec,
    /// `mockdet_recorded_answers_total{detector,event}`: successful answers
    /// served from recorded answers (`replayed`) or made up (`synthesized`)
    /// by a detector whose profile has `recorded_answers`.
    pub(crate) recorded_answers: IntCounterVec,
}

/// A metric family's name and help text.
type Family = (&'static str, &'static str);

const REQUESTS: Family = ("mockdet_requests_total", "Requests answered, by outcome");
const DURATION: Family = (
    "mockdet_request_duration_seconds",
    "Server-side time from arrival to answer",
);
const INJECTED_DELAY: Family = (
    "mockdet_injected_delay_seconds",
    "Latency drawn from the profile",
);
const FAULTS: Family = ("mockdet_faults_injected_total", "Faults injected, by kind");
const IN_FLIGHT: Family = ("mockdet_in_flight_requests", "Requests being served now");
const BATCH_ITEMS: Family = ("mockdet_batch_items", "Items per batch request");
const WINDOWS_ACTIVE: Family = (
    "mockdet_fault_windows_active",
    "Outage windows open now, by mode",
);
const SCRIPT_PHASE: Family = (
    "mockdet_script_phase",
    "Index of the running fault script's phase, -1 when none",
);
const ADMIN_CHANGES: Family = (
    "mockdet_admin_changes_total",
    "Runtime changes made through the admin API or the library",
);
const CONNECTIONS_SHED: Family = (
    "mockdet_connections_shed_total",
    "Connections closed at accept because the process was out of file descriptors",
);
const CLIENT_TIMEOUTS: Family = (
    "mockdet_client_timeouts_total",
    "Clients cut off for not sending headers (or staying idle) or a body in time",
);
const REPLAY_EVENTS: Family = (
    "mockdet_replay_events_total",
    "Request-mode keys forgotten at capacity, and replayed-journal hits and misses",
);
const HEALTH_CHECKS: Family = (
    "mockdet_health_checks_total",
    "GET /health answers, by the status they reported",
);
const RECORDED_ANSWERS: Family = (
    "mockdet_recorded_answers_total",
    "Successful answers replayed from recorded answers or synthesized",
);
const OVERRIDES_IGNORED: Family = (
    "mockdet_overrides_ignored_total",
    "Requests whose X-Mock-* headers were ignored (overrides off)",
);

/// The three request labels.
const REQUEST_LABELS: &[&str] = &["detector", "endpoint", "outcome"];
/// The detector label alone.
const DETECTOR: &[&str] = &["detector"];

fn counter((name, help): Family, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("static metric definition is valid")
}

fn gauge((name, help): Family, labels: &[&str]) -> IntGaugeVec {
    IntGaugeVec::new(Opts::new(name, help), labels).expect("static metric definition is valid")
}

fn histogram((name, help): Family, buckets: &[f64], labels: &[&str]) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
    HistogramVec::new(opts, labels).expect("static metric definition is valid")
}

impl Metrics {
    /// Creates and registers every family in a fresh registry.
    pub(crate) fn new() -> Self {
        let metrics = Self {
            registry: Registry::new(),
            requests: counter(REQUESTS, REQUEST_LABELS),
            duration: histogram(DURATION, DURATION_BUCKETS, REQUEST_LABELS),
            injected_delay: histogram(INJECTED_DELAY, DURATION_BUCKETS, DETECTOR),
            faults: counter(FAULTS, &["detector", "kind"]),
            in_flight: gauge(IN_FLIGHT, DETECTOR),
            batch_items: histogram(BATCH_ITEMS, BATCH_BUCKETS, DETECTOR),
            windows_active: gauge(WINDOWS_ACTIVE, &["detector", "mode"]),
            script_phase: gauge(SCRIPT_PHASE, DETECTOR),
            admin_changes: counter(ADMIN_CHANGES, &["detector", "action"]),
            overrides_ignored: counter(OVERRIDES_IGNORED, DETECTOR),
            connections_shed: counter(CONNECTIONS_SHED, DETECTOR),
            client_timeouts: counter(CLIENT_TIMEOUTS, &["detector", "phase"]),
            replay_events: counter(REPLAY_EVENTS, &["detector", "event"]),
            health_checks: counter(HEALTH_CHECKS, &["detector", "status"]),
            recorded_answers: counter(RECORDED_ANSWERS, &["detector", "event"]),
        };
        register_all(&metrics.registry, metrics.collectors());
        metrics
    }

    fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.requests.clone()),
            Box::new(self.duration.clone()),
            Box::new(self.injected_delay.clone()),
            Box::new(self.faults.clone()),
            Box::new(self.in_flight.clone()),
            Box::new(self.batch_items.clone()),
            Box::new(self.windows_active.clone()),
            Box::new(self.script_phase.clone()),
            Box::new(self.admin_changes.clone()),
            Box::new(self.overrides_ignored.clone()),
            Box::new(self.connections_shed.clone()),
            Box::new(self.client_timeouts.clone()),
            Box::new(self.replay_events.clone()),
            Box::new(self.health_checks.clone()),
            Box::new(self.recorded_answers.clone()),
        ]
    }

    /// Renders the Prometheus text format, keeping only series whose
    /// `detector` label is `detector` (or every series for `None`).
    pub(crate) fn render(&self, detector: Option<&str>) -> String {
        let mut families = self.registry.gather();
        if let Some(name) = detector {
            for family in &mut families {
                let kept: Vec<_> = family
                    .take_metric()
                    .into_iter()
                    .filter(|m| {
                        m.get_label()
                            .iter()
                            .any(|l| l.name() == "detector" && l.value() == name)
                    })
                    .collect();
                family.set_metric(kept);
            }
            families.retain(|f| !f.get_metric().is_empty());
        }
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed families.
        if let Err(e) = TextEncoder::new().encode(&families, &mut out) {
            tracing::warn!(error = %e, "could not encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Registers every family in `registry`, a fresh one per fleet or
/// orchestrator (never the global registry, so several coexist).
pub(crate) fn register_all(registry: &Registry, collectors: Vec<Box<dyn Collector>>) {
    for collector in collectors {
        registry
            .register(collector)
            .expect("each family is registered once in a fresh registry");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_keeps_only_the_named_detector() {
        let metrics = Metrics::new();
        metrics
            .requests
            .with_label_values(&["a", "detect", "success"])
            .inc();
        metrics
            .requests
            .with_label_values(&["b", "detect", "success"])
            .inc();
        let a = metrics.render(Some("a"));
        assert!(a.contains("detector=\"a\""), "{a}");
        assert!(!a.contains("detector=\"b\""), "{a}");
        assert!(metrics.render(None).contains("detector=\"b\""));
    }

    #[test]
    fn two_fleets_have_independent_registries() {
        let one = Metrics::new();
        let two = Metrics::new();
        one.in_flight.with_label_values(&["x"]).set(3);
        assert!(!two.render(None).contains("detector=\"x\""));
    }
}
