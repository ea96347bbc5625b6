//! One detector's per-request metric series, each looked up once.
//!
//! `with_label_values` hashes every label string and takes the family's
//! lock on each call; a detection request records three or four series, so
//! the throughput benchmark paid for a dozen hash lookups per request. The
//! handles are created on first use (a series that never happened stays
//! absent from `/metrics`, as before) and kept here.

use std::sync::OnceLock;

use prometheus::{Histogram, IntCounter};

use super::protocols::Endpoint;
use crate::metrics::Metrics;
use crate::profile::FaultKind;

/// The outcome labels that are not a fault kind: the outcomes a request can
/// end with are these and every [`FaultKind`].
const NOT_FAULTS: [&str; 2] = ["success", "bad_request"];

/// How many outcome labels get a cached slot.
const OUTCOMES: usize = NOT_FAULTS.len() + FaultKind::ALL.len();

const ENDPOINTS: [Endpoint; Endpoint::ALL.len()] = Endpoint::ALL;

/// `requests_total` and `request_duration_seconds` for one label set.
#[derive(Debug)]
struct RequestSeries {
    count: IntCounter,
    duration: Histogram,
}

/// The cached series of one detector.
#[derive(Debug, Default)]
pub(crate) struct Series {
    requests: [[OnceLock<RequestSeries>; OUTCOMES]; ENDPOINTS.len()],
    faults: [OnceLock<IntCounter>; OUTCOMES],
    injected_delay: OnceLock<Histogram>,
}

impl Series {
    /// Counts one request and its duration under
    /// `{detector, endpoint, outcome}`.
    pub(crate) fn request(
        &self,
        metrics: &Metrics,
        detector: &str,
        endpoint: Endpoint,
        outcome: &str,
        seconds: f64,
    ) {
        let labels = [detector, endpoint.as_str(), outcome];
        let new = || RequestSeries {
            count: metrics.requests.with_label_values(&labels),
            duration: metrics.duration.with_label_values(&labels),
        };
        let slot = ENDPOINTS.iter().position(|e| *e == endpoint);
        match slot.zip(outcome_index(outcome)) {
            Some((e, o)) => {
                let series = self.requests[e][o].get_or_init(new);
                series.count.inc();
                series.duration.observe(seconds);
            }
            None => {
                let series = new();
                series.count.inc();
                series.duration.observe(seconds);
            }
        }
    }

    /// Counts one injected fault of `kind`.
    pub(crate) fn fault(&self, metrics: &Metrics, detector: &str, kind: &str) {
        let new = || metrics.faults.with_label_values(&[detector, kind]);
        match outcome_index(kind) {
            Some(o) => self.faults[o].get_or_init(new).inc(),
            None => new().inc(),
        }
    }

    /// Observes one injected delay.
    pub(crate) fn injected_delay(&self, metrics: &Metrics, detector: &str, seconds: f64) {
        self.injected_delay
            .get_or_init(|| metrics.injected_delay.with_label_values(&[detector]))
            .observe(seconds);
    }
}

fn outcome_index(outcome: &str) -> Option<usize> {
    let faults = FaultKind::ALL.iter().map(|kind| kind.as_str());
    NOT_FAULTS
        .into_iter()
        .chain(faults)
        .position(|known| known == outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampling::PlannedFault;

    #[test]
    fn every_fault_kind_has_a_cached_slot() {
        let kinds = [
            PlannedFault::HttpError {
                status: 500,
                retry_after_s: None,
            },
            PlannedFault::Hang {
                hold: std::time::Duration::ZERO,
                end: crate::profile::HangEnd::Close,
            },
            PlannedFault::Reset,
            PlannedFault::MalformedJson,
            PlannedFault::SchemaInvalid,
            PlannedFault::EmptyBody,
            PlannedFault::SlowBody {
                over: std::time::Duration::ZERO,
            },
        ];
        for kind in kinds {
            assert!(outcome_index(kind.kind_name()).is_some(), "{kind:?}");
        }
    }

    #[test]
    fn cached_and_uncached_series_count_the_same_family() {
        let metrics = Metrics::new();
        let series = Series::default();
        series.request(&metrics, "d", Endpoint::Detect, "success", 0.5);
        series.request(&metrics, "d", Endpoint::Detect, "success", 0.5);
        series.request(&metrics, "d", Endpoint::Detect, "unheard_of", 0.5);
        series.fault(&metrics, "d", "hang");
        series.injected_delay(&metrics, "d", 0.1);
        let count = |outcome: &str| {
            metrics
                .requests
                .with_label_values(&["d", "detect", outcome])
                .get()
        };
        assert_eq!(count("success"), 2);
        assert_eq!(count("unheard_of"), 1);
        assert_eq!(metrics.faults.with_label_values(&["d", "hang"]).get(), 1);
        let delay = metrics.injected_delay.with_label_values(&["d"]);
        assert_eq!(delay.get_sample_count(), 1);
    }
}
