//! The fleet side: each detector's identity, its journal, and its faults,
//! all through the detector's own HTTP API (`/capabilities`, `/admin/*`,
//! `/metrics`), so the audit works against any running fleet — in this
//! process, in docker-compose, or in a cluster.
//!
//! While the audit runs, every detector is *calm* (5 ms fixed latency, no
//! faults of its own) so that what the orchestrator does is caused by the
//! faults the audit injects and nothing else. The original profiles are put
//! back, and every fault cleared, when it ends — also when it is
//! interrupted or fails.

use std::time::{Duration, SystemTime};

use mockdet::JournalEntry;
use mockdet::profile::{FaultKind, FaultSpec, NextFaults, Outage};
use serde_json::{Value, json};

use super::error::AuditError;

/// The latency of a calm detector.
const CALM_MS: f64 = 5.0;

/// One detector of the fleet.
#[derive(Debug, Clone)]
pub(crate) struct Detector {
    /// Its base URL, without a trailing slash.
    pub(crate) url: String,
    /// Its profile name.
    pub(crate) name: String,
    /// The id orchestrators are configured with.
    pub(crate) detector_id: String,
    /// Its profile as found, put back at the end.
    original: Value,
}

/// The fleet under the audit's control.
#[derive(Debug)]
pub(crate) struct FleetDriver {
    client: reqwest::Client,
    token: Option<String>,
    pub(crate) detectors: Vec<Detector>,
}

impl FleetDriver {
    /// Reads each detector's identity and profile. Fails, naming the URL,
    /// when one does not answer or its admin API refuses.
    pub(crate) async fn connect(
        urls: &[String],
        token: Option<String>,
    ) -> Result<Self, AuditError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(AuditError::HttpClient)?;
        let mut driver = Self {
            client,
            token,
            detectors: Vec::new(),
        };
        for url in urls {
            let url = url.trim_end_matches('/').to_owned();
            let caps = driver.get_json(&url, "/capabilities").await?;
            let original = driver.get_json(&url, "/admin/profile").await?;
            let text = |field: &str| caps.get(field).and_then(Value::as_str).map(str::to_owned);
            let (Some(name), Some(detector_id)) = (text("name"), text("detector_id")) else {
                return Err(AuditError::Fleet {
                    url,
                    reason:
                        "GET /capabilities did not name the detector: is this a mockdet detector?"
                            .into(),
                });
            };
            driver.detectors.push(Detector {
                url,
                name,
                detector_id,
                original,
            });
        }
        Ok(driver)
    }

    /// The detector that takes the faults: the first one given.
    pub(crate) fn victim(&self) -> &Detector {
        &self.detectors[0]
    }

    /// Makes every detector calm: fixed 5 ms latency, no faults, no
    /// schedule or bursts of its own, nothing pending.
    pub(crate) async fn calm(&self) -> Result<(), AuditError> {
        for detector in &self.detectors {
            let mut profile = detector.original.clone();
            if let Some(fields) = profile.as_object_mut() {
                fields.insert("latency".into(), json!({"model": "fixed", "ms": CALM_MS}));
                fields.insert("faults".into(), json!([]));
                fields.insert("schedule".into(), json!([]));
                fields.remove("bursts");
            }
            self.send(
                &detector.url,
                reqwest::Method::PUT,
                "/admin/profile",
                Some(profile),
            )
            .await?;
            self.clear(detector).await?;
        }
        Ok(())
    }

    /// Puts every original profile back and clears every fault; carries
    /// on past failures and reports the first.
    pub(crate) async fn restore(&self) -> Result<(), AuditError> {
        let mut first = None;
        for detector in &self.detectors {
            let put = self
                .send(
                    &detector.url,
                    reqwest::Method::PUT,
                    "/admin/profile",
                    Some(detector.original.clone()),
                )
                .await;
            let cleared = self.clear(detector).await;
            if let Err(error) = put.and(cleared) {
                first.get_or_insert(error);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Clears windows, scripts and pending next-N faults.
    pub(crate) async fn clear(&self, detector: &Detector) -> Result<(), AuditError> {
        self.send(
            &detector.url,
            reqwest::Method::DELETE,
            "/admin/faults",
            None,
        )
        .await
        .map(drop)
    }

    /// Forces `fault` on the detector's next `count` requests.
    pub(crate) async fn next(
        &self,
        detector: &Detector,
        count: u32,
        fault: FaultSpec,
    ) -> Result<(), AuditError> {
        let body = serde_json::to_value(NextFaults { count, fault }).map_err(AuditError::Json)?;
        self.send(
            &detector.url,
            reqwest::Method::POST,
            "/admin/next",
            Some(body),
        )
        .await
        .map(drop)
    }

    /// Opens an outage window now.
    pub(crate) async fn outage(
        &self,
        detector: &Detector,
        outage: Outage,
    ) -> Result<(), AuditError> {
        let body = serde_json::to_value(outage).map_err(AuditError::Json)?;
        self.send(
            &detector.url,
            reqwest::Method::POST,
            "/admin/outage",
            Some(body),
        )
        .await
        .map(drop)
    }

    /// The highest journal sequence number now (0 when empty): later
    /// entries are the ones a scenario caused.
    pub(crate) async fn mark(&self, detector: &Detector) -> Result<u64, AuditError> {
        let page = self
            .get_json(&detector.url, "/admin/requests?limit=1")
            .await?;
        Ok(entries_of(&detector.url, &page)?
            .last()
            .map_or(0, |e| e.seq))
    }

    /// Journal entries after `mark`, oldest first.
    pub(crate) async fn since(
        &self,
        detector: &Detector,
        mark: u64,
    ) -> Result<Vec<Seen>, AuditError> {
        let path = format!("/admin/requests?since_seq={mark}");
        let page = self.get_json(&detector.url, &path).await?;
        entries_of(&detector.url, &page)
            .map(|entries| entries.into_iter().map(Seen::from).collect())
    }

    /// How many times `/health` has been polled (from `/metrics`).
    pub(crate) async fn health_polls(&self, detector: &Detector) -> Result<u64, AuditError> {
        let text = self.get_text(&detector.url, "/metrics").await?;
        Ok(health_polls_in(&text))
    }

    async fn get_json(&self, url: &str, path: &str) -> Result<Value, AuditError> {
        self.send(url, reqwest::Method::GET, path, None).await
    }

    async fn get_text(&self, url: &str, path: &str) -> Result<String, AuditError> {
        let response = self
            .client
            .get(format!("{url}{path}"))
            .send()
            .await
            .map_err(|e| AuditError::fleet(url, format!("GET {path}: {}", describe(&e))))?;
        if !response.status().is_success() {
            let status = response.status();
            return Err(AuditError::fleet(
                url,
                format!("GET {path} answered {status}"),
            ));
        }
        response
            .text()
            .await
            .map_err(|e| AuditError::fleet(url, format!("GET {path}: {}", describe(&e))))
    }

    async fn send(
        &self,
        url: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, AuditError> {
        let what = format!("{method} {path}");
        let mut request = self.client.request(method, format!("{url}{path}"));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| AuditError::fleet(url, format!("{what}: {}", describe(&e))))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| AuditError::fleet(url, format!("{what}: {}", describe(&e))))?;
        if !status.is_success() {
            let hint = if status.as_u16() == 401 || status.as_u16() == 403 {
                " (pass the fleet's admin token with --admin-token or MOCKDET_ADMIN_TOKEN)"
            } else {
                ""
            };
            return Err(AuditError::fleet(
                url,
                format!("{what} answered {status}: {}{hint}", text.trim()),
            ));
        }
        serde_json::from_str(&text)
            .map_err(|e| AuditError::fleet(url, format!("{what}: not JSON ({e})")))
    }
}

fn entries_of(url: &str, page: &Value) -> Result<Vec<JournalEntry>, AuditError> {
    let list = page.get("requests").cloned().unwrap_or(Value::Null);
    serde_json::from_value(list).map_err(|e| {
        AuditError::fleet(
            url,
            format!("GET /admin/requests: unexpected journal ({e})"),
        )
    })
}

/// The sum of `mockdet_health_checks_total` in a detector's `/metrics`.
fn health_polls_in(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("mockdet_health_checks_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// A transport error with its causes (reqwest's top line says little).
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// One call a detector saw, as the audit judges it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Seen {
    /// When it arrived.
    #[serde(serialize_with = "crate::report::as_rfc3339")]
    pub at: SystemTime,
    /// How long the detector took to answer (or to give up on it).
    #[serde(rename = "duration_ms", serialize_with = "crate::report::as_ms")]
    pub took: Duration,
    /// The status it answered; `None` for a reset, hang or dropped call.
    pub status: Option<u16>,
    /// The fault it injected, if any.
    pub fault: Option<String>,
    /// The `X-Correlation-ID` it carried.
    pub correlation_id: Option<String>,
    /// Its request key (see mockdet's replay by request).
    pub key: Option<String>,
}

impl Seen {
    /// When the detector was done with it.
    pub(crate) fn ended(&self) -> SystemTime {
        self.at + self.took
    }
}

impl From<JournalEntry> for Seen {
    fn from(entry: JournalEntry) -> Self {
        let at = humantime::parse_rfc3339(&entry.at).unwrap_or(SystemTime::UNIX_EPOCH);
        let took = Duration::try_from_secs_f64(entry.duration_ms.max(0.0) / 1000.0)
            .unwrap_or(Duration::ZERO);
        Self {
            at,
            took,
            status: entry.status,
            fault: entry.fault,
            correlation_id: entry.correlation_id,
            key: entry.key,
        }
    }
}

/// A fault spec for `/admin/next`.
pub(crate) fn http_error(status: u16, retry_after_s: Option<u32>) -> FaultSpec {
    let mut fault = FaultSpec::new(FaultKind::HttpError, 1.0);
    fault.status = Some(status);
    fault.retry_after_s = retry_after_s;
    fault
}

/// A fault spec of `kind` for `/admin/next`.
pub(crate) fn fault(kind: FaultKind) -> FaultSpec {
    FaultSpec::new(kind, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_polls_add_up_across_statuses() {
        let metrics = "# HELP x\n\
            mockdet_health_checks_total{detector=\"a\",status=\"healthy\"} 7\n\
            mockdet_health_checks_total{detector=\"a\",status=\"unhealthy\"} 2\n\
            mockdet_requests_total{detector=\"a\"} 99\n";
        assert_eq!(health_polls_in(metrics), 9);
        assert_eq!(health_polls_in(""), 0);
    }

    #[test]
    fn journal_entries_become_timed_calls() {
        let line = r#"{"seq":3,"at":"2026-01-02T03:04:05.250Z","method":"POST","path":"/analyze","correlation_id":"c","content_bytes":1,"injected_delay_ms":5.0,"fault":"http_error","imposed_by":"next","status":503,"duration_ms":12.5}"#;
        let entry: JournalEntry = serde_json::from_str(line).unwrap();
        let seen = Seen::from(entry);
        assert_eq!(seen.status, Some(503));
        assert_eq!(seen.took, Duration::from_micros(12_500));
        let at = humantime::parse_rfc3339("2026-01-02T03:04:05.250Z").unwrap();
        assert_eq!(seen.at, at);
        assert_eq!(seen.ended(), at + Duration::from_micros(12_500));
    }
}
