//! The runner's view of a mockdet fleet: names from `/capabilities`, metric
//! scrapes, admin calls (fault injection) and journal sizes.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::config::FaultStep;
use super::error::PerfError;
use super::prom::{self, Sample};

/// Fleet detectors by name.
#[derive(Debug, Clone, Default)]
pub(crate) struct FleetView {
    client: reqwest::Client,
    /// Bearer token for `/admin/*`, if the fleet needs one.
    admin_token: Option<String>,
    /// name → base URL.
    pub(crate) detectors: BTreeMap<String, String>,
}

impl FleetView {
    /// Asks each URL's `/capabilities` for its name.
    pub(crate) async fn discover(
        urls: &[String],
        admin_token: Option<String>,
    ) -> Result<Self, PerfError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(PerfError::HttpClient)?;
        let mut detectors = BTreeMap::new();
        for url in urls {
            let url = url.trim_end_matches('/').to_owned();
            let caps: Value = match client
                .get(format!("{url}/capabilities"))
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
            {
                Ok(response) => {
                    response
                        .json()
                        .await
                        .map_err(|source| PerfError::Capabilities {
                            url: url.clone(),
                            source,
                        })?
                }
                Err(source) => return Err(PerfError::NotADetector { url, source }),
            };
            let Some(name) = caps["name"].as_str() else {
                return Err(PerfError::Nameless { url });
            };
            detectors.insert(name.to_owned(), url);
        }
        Ok(Self {
            client,
            admin_token,
            detectors,
        })
    }

    /// Scrapes every detector's `/metrics` (missing ones give no samples).
    pub(crate) async fn scrape(&self) -> BTreeMap<String, Vec<Sample>> {
        let mut out = BTreeMap::new();
        for (name, url) in &self.detectors {
            out.insert(name.clone(), scrape_url(&self.client, url).await);
        }
        out
    }

    /// Detection requests the whole fleet has answered so far.
    pub(crate) async fn detection_requests(&self) -> u64 {
        let mut total = 0;
        for url in self.detectors.values() {
            total += scrape_url(&self.client, url)
                .await
                .iter()
                .filter(|s| s.name == "mockdet_requests_total")
                .filter(|s| s.labels.get("endpoint").is_some_and(|e| e != "other"))
                .map(|s| s.value as u64)
                .sum::<u64>();
        }
        total
    }

    /// Applies one fault step through the admin API. Returns the action
    /// label and how long it lasts (`None`: until cleared).
    pub(crate) async fn apply(
        &self,
        step: &FaultStep,
    ) -> Result<(String, Option<Duration>), PerfError> {
        let url = self
            .detectors
            .get(&step.detector)
            .ok_or_else(|| PerfError::UnknownDetector {
                detector: step.detector.clone(),
                known: self.detectors.keys().cloned().collect(),
            })?;
        let call = fault_call(step)?;
        self.post_admin(&format!("{url}/admin/{}", call.path), &call.body)
            .await?;
        Ok((call.label, call.lasts))
    }

    /// Posts `body` to the admin endpoint `admin_url`; a non-2xx answer is
    /// an error carrying its body.
    async fn post_admin(&self, admin_url: &str, body: &Value) -> Result<(), PerfError> {
        let response = self
            .admin(self.client.post(admin_url))
            .json(body)
            .send()
            .await
            .map_err(|source| PerfError::Admin {
                url: admin_url.to_owned(),
                source,
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(PerfError::AdminRefused {
                url: admin_url.to_owned(),
                status,
                body: response.text().await.unwrap_or_default(),
            });
        }
        Ok(())
    }

    /// Adds the admin token, when there is one.
    fn admin(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.admin_token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Clears runtime faults on every detector.
    pub(crate) async fn clear(&self) {
        for url in self.detectors.values() {
            let _ = self
                .client
                .delete(format!("{url}/admin/faults"))
                .send()
                .await;
        }
    }
}

/// What one fault step posts to the admin API.
struct FaultCall {
    /// The admin route under `/admin/`.
    path: &'static str,
    body: Value,
    /// The action label of the step.
    label: String,
    /// How long the fault lasts (`None`: until cleared).
    lasts: Option<Duration>,
}

/// The admin call for `step`: its outage, next-N or script, whichever is set
/// first.
fn fault_call(step: &FaultStep) -> Result<FaultCall, PerfError> {
    let (path, body, label, lasts) = if let Some(outage) = &step.outage {
        let label = format!("outage:{}", outage.mode.as_str());
        let lasts = Some(Duration::from_millis(outage.duration_ms));
        ("outage", serde_json::to_value(outage), label, lasts)
    } else if let Some(next) = &step.next {
        ("next", serde_json::to_value(next), "next".to_owned(), None)
    } else if let Some(script) = &step.script {
        let total: u64 = script.phases.iter().map(|p| p.duration_ms).sum();
        let lasts = (!script.looped).then(|| Duration::from_millis(total));
        (
            "script",
            serde_json::to_value(script),
            "script".to_owned(),
            lasts,
        )
    } else {
        return Err(PerfError::EmptyFaultStep {
            detector: step.detector.clone(),
        });
    };
    let body = body.map_err(|source| PerfError::Encode {
        what: "the fault step",
        source,
    })?;
    Ok(FaultCall {
        path,
        body,
        label,
        lasts,
    })
}

/// Scrapes `{url}/metrics`; an unreachable target gives no samples.
pub(crate) async fn scrape_url(client: &reqwest::Client, url: &str) -> Vec<Sample> {
    let Ok(response) = client.get(format!("{url}/metrics")).send().await else {
        return Vec::new();
    };
    match response.text().await {
        Ok(text) => prom::parse(&text),
        Err(_) => Vec::new(),
    }
}

/// Sum of `orchestrate_requests_total` samples whose `status` matches.
pub(crate) fn orchestrate_count(samples: &[Sample], status: impl Fn(&str) -> bool) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == "orchestrate_requests_total")
        .filter(|s| s.labels.get("status").is_some_and(|v| status(v)))
        .map(|s| s.value)
        .sum()
}
