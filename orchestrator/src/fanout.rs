//! One orchestration: select detectors (content type, then
//! `required_detectors`), call them in parallel under one deadline, and
//! aggregate: coverage, summary, and the 200 / 206 / 502 verdict.

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::call::{self, CallContext, CallReport, CallStatus};
use super::config::ContentType;
use super::request::OrchestrateRequest;
use super::result::Severity;
use super::settings::Target;
use super::state::{AppState, Slot};

/// Which detectors a request goes to, and which of the ones it asked for
/// cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selection {
    /// Indexes into the configured detectors, in configuration order.
    pub(crate) chosen: Vec<usize>,
    /// Required ids that name no configured detector.
    pub(crate) unknown: Vec<String>,
    /// Required detectors that do not support the content type.
    pub(crate) unsupported: Vec<String>,
}

/// Selects by content type support (any type for `None`), then narrows to
/// `required` if given.
pub(crate) fn select(
    targets: &[Target],
    content_type: Option<ContentType>,
    required: Option<&[String]>,
) -> Selection {
    let supports = |t: &Target| content_type.is_none_or(|ct| t.content_types.contains(&ct));
    let Some(required) = required else {
        let chosen = (0..targets.len())
            .filter(|&i| supports(&targets[i]))
            .collect();
        return Selection {
            chosen,
            unknown: Vec::new(),
            unsupported: Vec::new(),
        };
    };
    let mut selection = Selection {
        chosen: Vec::new(),
        unknown: Vec::new(),
        unsupported: Vec::new(),
    };
    for id in required {
        match targets.iter().position(|t| t.is_named(id)) {
            None => selection.unknown.push(id.clone()),
            Some(i) if !supports(&targets[i]) => selection.unsupported.push(id.clone()),
            Some(i) if !selection.chosen.contains(&i) => selection.chosen.push(i),
            Some(_) => {}
        }
    }
    selection.chosen.sort_unstable();
    selection
}

/// Who a request is, for ids in bodies and headers.
#[derive(Debug, Clone)]
pub(crate) struct RequestIds {
    pub(crate) request_id: String,
    pub(crate) correlation_id: String,
}

/// The aggregated result of one orchestration.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) reports: Vec<CallReport>,
    pub(crate) selection: Selection,
    pub(crate) elapsed_ms: f64,
}

impl Outcome {
    fn successful(&self) -> usize {
        self.reports
            .iter()
            .filter(|r| r.status == CallStatus::Success)
            .count()
    }

    /// Share of selected detectors that succeeded.
    pub(crate) fn coverage(&self) -> f64 {
        match self.reports.len() {
            0 => 0.0,
            n => self.successful() as f64 / n as f64,
        }
    }

    /// 200 when every selected detector succeeded, 206 when some did, 502
    /// when none did.
    pub(crate) fn http_status(&self) -> u16 {
        match self.successful() {
            n if n == self.reports.len() && n > 0 => 200,
            0 => 502,
            _ => 206,
        }
    }

    /// The reply body (`processing_mode` is `sync` or `async`).
    pub(crate) fn to_json(&self, req: &OrchestrateRequest, ids: &RequestIds, mode: &str) -> Value {
        let successful = self.successful();
        let severity = self
            .reports
            .iter()
            .filter_map(|r| r.result.as_ref().map(|res| res.severity))
            .max();
        let findings: usize = self
            .reports
            .iter()
            .filter_map(|r| r.result.as_ref().map(|res| res.findings.len()))
            .sum();
        json!({
            "request_id": ids.request_id,
            "correlation_id": ids.correlation_id,
            "tenant_id": req.tenant_id,
            "processing_mode": mode,
            "status": match self.http_status() { 200 => "completed", 206 => "partial", _ => "failed" },
            "detector_results": self.reports,
            "coverage_achieved": self.coverage(),
            "aggregation_summary": {
                "total": self.reports.len(),
                "successful": successful,
                "failed": self.reports.len() - successful,
                "total_findings": findings,
                "highest_severity": severity.map(severity_name),
            },
            "errors": self.errors(),
            "processing_time_ms": self.elapsed_ms,
        })
    }

    fn errors(&self) -> Vec<Value> {
        let failed = self
            .reports
            .iter()
            .filter(|r| r.status != CallStatus::Success)
            .map(|r| {
                json!({"code": format!("detector_{}", r.status.as_str()), "detector": r.detector,
                   "message": r.error.clone().unwrap_or_default()})
            });
        let unknown = self.selection.unknown.iter().map(|d| {
            json!({"code": "unknown_detector", "detector": d,
                   "message": "no detector with this name or id is configured"})
        });
        let unsupported = self.selection.unsupported.iter().map(|d| {
            json!({"code": "unsupported_content_type", "detector": d,
                   "message": "this detector does not support the request's content type"})
        });
        failed.chain(unknown).chain(unsupported).collect()
    }
}

fn severity_name(severity: Severity) -> Value {
    serde_json::to_value(severity).unwrap_or(Value::Null)
}

/// Calls the selected detectors in parallel; returns when all have ended
/// or the deadline has come, whichever is first.
pub(crate) async fn run(
    state: &AppState,
    req: &OrchestrateRequest,
    ids: &RequestIds,
    selection: Selection,
    deadline: Instant,
) -> Outcome {
    let started = Instant::now();
    let ctx = CallContext {
        client: &state.client,
        metrics: &state.metrics,
        body: detector_body(req, ids),
        correlation_id: &ids.correlation_id,
        // The `NoTimeout` defect: wait for every detector, however long.
        deadline: if state.settings.defects.no_timeout {
            started + std::time::Duration::from_secs(24 * 3600)
        } else {
            deadline
        },
        defects: state.settings.defects,
    };
    let calls = selection
        .chosen
        .iter()
        .map(|&i| call_slot(&ctx, &state.slots[i]));
    let reports = futures_util::future::join_all(calls).await;
    for report in &reports {
        state
            .metrics
            .detector_calls
            .with_label_values(&[report.detector.as_str(), report.status.as_str()])
            .inc();
    }
    Outcome {
        reports,
        selection,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    }
}

async fn call_slot(ctx: &CallContext<'_>, slot: &Slot) -> CallReport {
    let name = slot.target.name.as_str();
    if slot.health.is_unhealthy() {
        return CallReport::skipped(
            name,
            CallStatus::Unhealthy,
            "skipped: its last health check failed",
        );
    }
    match slot.breaker.try_acquire() {
        Some(permit) => call::call(ctx, &slot.target, permit).await,
        None => CallReport::skipped(
            name,
            CallStatus::CircuitOpen,
            "skipped: circuit breaker is open",
        ),
    }
}

/// The body every selected detector gets (CONTRACT §1): `content` plus
/// `metadata` with tenant, correlation and content features. Serialized
/// once per request and shared.
pub(crate) fn detector_body(req: &OrchestrateRequest, ids: &RequestIds) -> Bytes {
    let routing = if req.required_detectors.is_some() {
        "required_detectors"
    } else {
        "content_type_support"
    };
    let body = json!({
        "content": req.content,
        "metadata": {
            "tenant_id": req.tenant_id,
            "correlation_id": ids.correlation_id,
            "request_id": ids.request_id,
            "tenant_context": {
                "tenant_id": req.tenant_id,
                "user_id": Value::Null,
                "request_id": ids.request_id,
            },
            "routing_reason": routing,
            "policy_applied": req.policy_bundle,
            "environment": req.environment,
            "coverage_requirements": {"min_coverage": 1.0},
            "content_features": {
                "content_type": req.content_type.as_str(),
                "content_length": req.content.len(),
                "encoding": "utf-8",
                "processing_priority": req.priority,
            },
            "client_metadata": req.metadata,
        },
    });
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DetectorConfig, OrchestratorConfig};
    use crate::settings::Settings;

    fn targets() -> Vec<Target> {
        let mut config = OrchestratorConfig::default();
        for (name, types) in [
            ("a", vec![ContentType::Text]),
            ("b", ContentType::ALL.to_vec()),
        ] {
            let mut d = DetectorConfig::new("http://127.0.0.1:9");
            d.supported_content_types = types;
            d.detector_id = Some(format!("{name}-id"));
            config.detectors.insert(name.to_owned(), d);
        }
        Settings::from_config(&config, "t").expect("valid").targets
    }

    #[test]
    fn detectors_are_chosen_by_content_type() {
        let t = targets();
        assert_eq!(select(&t, Some(ContentType::Text), None).chosen, vec![0, 1]);
        assert_eq!(select(&t, Some(ContentType::Code), None).chosen, vec![1]);
    }

    #[test]
    fn required_detectors_narrow_the_choice_and_report_what_cannot_be_used() {
        let t = targets();
        let required = ["b-id", "nope", "a", "b"].map(String::from);
        let s = select(&t, Some(ContentType::Code), Some(&required));
        assert_eq!(s.chosen, vec![1]);
        assert_eq!(s.unknown, vec!["nope".to_owned()]);
        assert_eq!(s.unsupported, vec!["a".to_owned()]);
    }

    fn outcome(statuses: &[CallStatus]) -> Outcome {
        let reports = statuses
            .iter()
            .map(|&s| CallReport::skipped("x", s, "test"))
            .collect();
        let selection = Selection {
            chosen: vec![],
            unknown: vec![],
            unsupported: vec![],
        };
        Outcome {
            reports,
            selection,
            elapsed_ms: 0.0,
        }
    }

    #[test]
    fn the_status_follows_coverage() {
        use CallStatus::*;
        assert_eq!(outcome(&[Success, Success]).http_status(), 200);
        assert_eq!(outcome(&[Success, Timeout]).http_status(), 206);
        assert_eq!(outcome(&[Failed, CircuitOpen]).http_status(), 502);
        assert!((outcome(&[Success, Failed, Failed, Success]).coverage() - 0.5).abs() < 1e-12);
    }
}
