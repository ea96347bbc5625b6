//! A validated configuration in ready-to-use form: URLs parsed, durations
//! typed, defaults resolved. Built once at start; every check of a value
//! lives here, so a bad file fails before anything listens.

use std::time::Duration;

use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::config::{ConfigError, ContentType, DetectorConfig, OrchestratorConfig};
use super::defects::Defects;

/// One detector, ready to call.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The configured name (key of the `detectors` map).
    pub(crate) name: String,
    /// The id it reports, when configured.
    pub(crate) detector_id: Option<String>,
    /// Where detection requests go.
    pub(crate) analyze_url: Url,
    /// Where the health poll goes.
    pub(crate) health_url: Url,
    pub(crate) timeout: Duration,
    pub(crate) max_retries: u32,
    pub(crate) content_types: Vec<ContentType>,
    pub(crate) capabilities: Vec<String>,
    pub(crate) headers: HeaderMap,
}

impl Target {
    /// Whether `id` names this detector (by name or reported id).
    pub(crate) fn is_named(&self, id: &str) -> bool {
        self.name == id || self.detector_id.as_deref() == Some(id)
    }
}

/// Everything the running orchestrator reads from its configuration.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) targets: Vec<Target>,
    pub(crate) sla_budget: Duration,
    pub(crate) async_budget: Duration,
    pub(crate) max_content_length: usize,
    pub(crate) max_batch_size: usize,
    pub(crate) job_capacity: usize,
    pub(crate) failure_threshold: u32,
    pub(crate) recovery_timeout: Duration,
    pub(crate) health_interval: Duration,
    pub(crate) health_timeout: Duration,
    pub(crate) api_key: Option<String>,
    pub(crate) api_key_header: HeaderName,
    pub(crate) v1_rate: f64,
    pub(crate) v1_burst: f64,
    /// Deliberate defects (all off unless a test sets them).
    pub(crate) defects: Defects,
}

impl Settings {
    /// Validates `config`; `origin` names its source in errors.
    pub(crate) fn from_config(
        config: &OrchestratorConfig,
        origin: &str,
    ) -> Result<Self, ConfigError> {
        let invalid = |field: &str, reason: String| ConfigError::Invalid {
            origin: origin.to_owned(),
            field: field.to_owned(),
            reason,
        };
        check_limits(config, &invalid)?;
        let o = &config.orchestration;
        let cb = &config.circuit_breaker;
        let v1 = &config.api_v1;
        let api_key_header = HeaderName::try_from(config.service.api_key_header.as_str())
            .map_err(|e| invalid("service.api_key_header", e.to_string()))?;
        let targets = targets(config, &invalid)?;
        Ok(Self {
            targets,
            sla_budget: Duration::from_millis(o.sla_budget_ms),
            async_budget: Duration::from_millis(o.async_budget_ms),
            max_content_length: o.max_content_length,
            max_batch_size: o.max_batch_size,
            job_capacity: o.job_capacity,
            failure_threshold: cb.failure_threshold,
            recovery_timeout: Duration::from_millis(cb.recovery_timeout_ms),
            health_interval: Duration::from_millis(config.health.interval_ms),
            health_timeout: Duration::from_millis(config.health.timeout_ms),
            api_key: config.service.api_key.clone().filter(|k| !k.is_empty()),
            api_key_header,
            v1_rate: v1.rate_limit_rps,
            v1_burst: v1.rate_limit_burst,
            defects: Defects::default(),
        })
    }
}

/// Checks every count and duration that must be positive, then the `api_v1`
/// rate limit.
fn check_limits(
    config: &OrchestratorConfig,
    invalid: &impl Fn(&str, String) -> ConfigError,
) -> Result<(), ConfigError> {
    let o = &config.orchestration;
    let positives = [
        (o.sla_budget_ms, "orchestration.sla_budget_ms"),
        (o.async_budget_ms, "orchestration.async_budget_ms"),
        (o.default_timeout_ms, "orchestration.default_timeout_ms"),
        (
            o.max_content_length as u64,
            "orchestration.max_content_length",
        ),
        (o.max_batch_size as u64, "orchestration.max_batch_size"),
        (o.job_capacity as u64, "orchestration.job_capacity"),
        (
            u64::from(config.circuit_breaker.failure_threshold),
            "circuit_breaker.failure_threshold",
        ),
        (config.health.interval_ms, "health.interval_ms"),
        (config.health.timeout_ms, "health.timeout_ms"),
    ];
    for (value, field) in positives {
        positive(value, field, invalid)?;
    }
    let v1 = &config.api_v1;
    if !(v1.rate_limit_rps > 0.0 && v1.rate_limit_burst >= 1.0) {
        return Err(invalid(
            "api_v1",
            "rate_limit_rps must be > 0 and rate_limit_burst >= 1".to_owned(),
        ));
    }
    Ok(())
}

/// The enabled detectors, ready to call; at least one.
fn targets(
    config: &OrchestratorConfig,
    invalid: &impl Fn(&str, String) -> ConfigError,
) -> Result<Vec<Target>, ConfigError> {
    let targets = config
        .detectors
        .iter()
        .filter(|(_, d)| d.enabled)
        .map(|(name, d)| target(name, d, config, invalid))
        .collect::<Result<Vec<_>, _>>()?;
    if targets.is_empty() {
        return Err(invalid(
            "detectors",
            "no enabled detector is configured".to_owned(),
        ));
    }
    Ok(targets)
}

fn positive(
    value: u64,
    field: &str,
    invalid: &impl Fn(&str, String) -> ConfigError,
) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(invalid(field, "must be greater than 0".to_owned()));
    }
    Ok(())
}

/// Checks an endpoint: an absolute http(s) URL with a host.
fn parse_endpoint(
    endpoint: &str,
    field: &str,
    invalid: &impl Fn(&str, String) -> ConfigError,
) -> Result<Url, ConfigError> {
    let url = Url::parse(endpoint)
        .map_err(|e| invalid(field, format!("not a URL ({e}): `{endpoint}`")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid(
            field,
            format!("must be an http(s) URL with a host: `{endpoint}`"),
        ));
    }
    Ok(url)
}

fn target(
    name: &str,
    d: &DetectorConfig,
    config: &OrchestratorConfig,
    invalid: &impl Fn(&str, String) -> ConfigError,
) -> Result<Target, ConfigError> {
    let field = |f: &str| format!("detectors.{name}.{f}");
    let endpoint = parse_endpoint(&d.endpoint, &field("endpoint"), invalid)?;
    let timeout_ms = d
        .timeout_ms
        .unwrap_or(config.orchestration.default_timeout_ms);
    positive(timeout_ms, &field("timeout_ms"), invalid)?;
    if d.supported_content_types.is_empty() {
        return Err(invalid(
            &field("supported_content_types"),
            "must list at least one of text, code, document".to_owned(),
        ));
    }
    let mut headers = HeaderMap::new();
    for (key, value) in &d.headers {
        let header = format!("headers.{key}");
        let key = HeaderName::try_from(key.as_str())
            .map_err(|e| invalid(&field(&header), e.to_string()))?;
        let value = HeaderValue::try_from(value.as_str())
            .map_err(|e| invalid(&field(&header), e.to_string()))?;
        headers.insert(key, value);
    }
    Ok(Target {
        name: name.to_owned(),
        detector_id: d.detector_id.clone(),
        analyze_url: analyze_url(&endpoint),
        health_url: health_url(&endpoint),
        timeout: Duration::from_millis(timeout_ms),
        max_retries: d.max_retries.unwrap_or(config.orchestration.max_retries),
        content_types: d.supported_content_types.clone(),
        capabilities: d.capabilities.clone(),
        headers,
    })
}

/// A base URL gets `/analyze` (CONTRACT §1's default path); a URL with a
/// path is used as it is (the seed's file names `/detect`).
fn analyze_url(endpoint: &Url) -> Url {
    let mut url = endpoint.clone();
    if url.path() == "/" || url.path().is_empty() {
        url.set_path("/analyze");
    }
    url
}

/// `/health` at the endpoint's origin.
fn health_url(endpoint: &Url) -> Url {
    let mut url = endpoint.clone();
    url.set_path("/health");
    url.set_query(None);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(endpoint: &str) -> OrchestratorConfig {
        let mut config = OrchestratorConfig::default();
        config
            .detectors
            .insert("a".to_owned(), DetectorConfig::new(endpoint));
        config
    }

    #[test]
    fn a_base_url_gets_the_analyze_path_and_a_health_url() {
        let settings =
            Settings::from_config(&config_with("http://127.0.0.1:9"), "t").expect("valid");
        let target = &settings.targets[0];
        assert_eq!(target.analyze_url.as_str(), "http://127.0.0.1:9/analyze");
        assert_eq!(target.health_url.as_str(), "http://127.0.0.1:9/health");
        assert_eq!(target.timeout, Duration::from_millis(5000));
        assert_eq!(target.max_retries, 3);
    }

    #[test]
    fn a_url_with_a_path_is_kept() {
        let settings =
            Settings::from_config(&config_with("http://127.0.0.1:9/detect"), "t").expect("valid");
        assert_eq!(
            settings.targets[0].analyze_url.as_str(),
            "http://127.0.0.1:9/detect"
        );
        assert_eq!(
            settings.targets[0].health_url.as_str(),
            "http://127.0.0.1:9/health"
        );
    }

    #[test]
    fn no_detectors_is_an_error() {
        let err = Settings::from_config(&OrchestratorConfig::default(), "t").unwrap_err();
        assert!(err.to_string().contains("detectors"), "{err}");
    }

    #[test]
    fn a_zero_budget_is_rejected() {
        let mut config = config_with("http://127.0.0.1:9");
        config.orchestration.sla_budget_ms = 0;
        let err = Settings::from_config(&config, "t.yaml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.yaml: field `orchestration.sla_budget_ms`: must be greater than 0"
        );
    }

    #[test]
    fn a_detector_is_named_by_name_or_id() {
        let mut config = config_with("http://127.0.0.1:9");
        if let Some(d) = config.detectors.get_mut("a") {
            d.detector_id = Some("det-a".to_owned());
        }
        let settings = Settings::from_config(&config, "t").expect("valid");
        assert!(settings.targets[0].is_named("a"));
        assert!(settings.targets[0].is_named("det-a"));
        assert!(!settings.targets[0].is_named("b"));
    }
}
