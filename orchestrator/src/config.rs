//! The orchestrator's configuration: the seed's `test-config.yaml` shape
//! (service, detectors, orchestration defaults, circuit breaker, health,
//! performance targets), the `--detectors name=url,...` shorthand, and
//! validation into ready-to-use [`Settings`].
//!
//! Sections other than these (the seed's file also carries settings for
//! other tools) are ignored; unknown fields *inside* these sections are
//! rejected, naming the file and the field.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Yaml};
use serde::{Deserialize, Serialize};

use super::settings::Settings;

/// A content type the orchestrator accepts and routes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContentType {
    /// Plain text.
    Text,
    /// Source code.
    Code,
    /// A document.
    Document,
}

impl ContentType {
    /// Every content type, in a stable order.
    pub const ALL: [ContentType; 3] = [Self::Text, Self::Code, Self::Document];

    /// The wire name: `text`, `code` or `document`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Code => "code",
            Self::Document => "document",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OrchestratorConfig {
    /// Where to listen and how to authenticate.
    #[serde(default)]
    pub service: ServiceConfig,
    /// Detectors by name (the name is what `required_detectors` uses).
    #[serde(default)]
    pub detectors: BTreeMap<String, DetectorConfig>,
    /// Defaults and limits of orchestration.
    #[serde(default)]
    pub orchestration: OrchestrationConfig,
    /// Circuit breaker thresholds (one breaker per detector).
    #[serde(default)]
    pub circuit_breaker: BreakerConfig,
    /// The background health poll.
    #[serde(default)]
    pub health: HealthConfig,
    /// What a load run must achieve (read by the benchmark).
    #[serde(default)]
    pub performance_targets: PerformanceTargets,
    /// The `/api/v1` shape (CONTRACT §5's newer orchestrator).
    #[serde(default)]
    pub api_v1: ApiV1Config,
}

/// The `service` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    /// Address to listen on (the CLI's default; the library binds port 0).
    pub host: IpAddr,
    /// Port to listen on.
    pub port: u16,
    /// Accepted for compatibility with the seed's file; tokio uses every core.
    pub workers: Option<u32>,
    /// When set, every request but `/health` and `/metrics` needs it.
    pub api_key: Option<String>,
    /// The header carrying the API key.
    pub api_key_header: String,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8000,
            workers: None,
            api_key: None,
            api_key_header: "X-API-Key".to_owned(),
        }
    }
}

/// One detector of the `detectors` map.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorConfig {
    /// A base URL (`/analyze` is appended) or a full URL with a path.
    pub endpoint: String,
    /// The id the detector reports; `required_detectors` may use it too.
    #[serde(default)]
    pub detector_id: Option<String>,
    /// Per-attempt timeout (default: `orchestration.default_timeout_ms`).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Retries after a 5xx or transport failure (default:
    /// `orchestration.max_retries`).
    #[serde(default)]
    pub max_retries: Option<u32>,
    /// Content types it is called for (default: all).
    #[serde(default = "all_content_types", alias = "content_types")]
    pub supported_content_types: Vec<ContentType>,
    /// Informational; reported on `/health`.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Static headers sent with every call (for example auth).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A disabled detector is never called.
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl DetectorConfig {
    /// A detector at `endpoint` with every other field defaulted.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            detector_id: None,
            timeout_ms: None,
            max_retries: None,
            supported_content_types: all_content_types(),
            capabilities: Vec::new(),
            headers: BTreeMap::new(),
            enabled: true,
        }
    }
}

fn all_content_types() -> Vec<ContentType> {
    ContentType::ALL.to_vec()
}

fn yes() -> bool {
    true
}

/// The `orchestration` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrchestrationConfig {
    /// Per-attempt detector timeout when a detector sets none.
    pub default_timeout_ms: u64,
    /// Retries when a detector sets none.
    pub max_retries: u32,
    /// A sync request answers by then; late detectors count as timed out.
    pub sla_budget_ms: u64,
    /// The budget of an async job.
    pub async_budget_ms: u64,
    /// Largest `content`, in bytes.
    pub max_content_length: usize,
    /// Most requests in one `/orchestrate/batch`.
    pub max_batch_size: usize,
    /// Async jobs kept; the oldest is evicted past this.
    pub job_capacity: usize,
}

impl Default for OrchestrationConfig {
    fn default() -> Self {
        Self {
            default_timeout_ms: 5000,
            max_retries: 3,
            sla_budget_ms: 2000,
            async_budget_ms: 30_000,
            max_content_length: 50_000,
            max_batch_size: 100,
            job_capacity: 10_000,
        }
    }
}

/// The `circuit_breaker` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// Consecutive failed calls that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before letting one probe through.
    pub recovery_timeout_ms: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            recovery_timeout_ms: 60_000,
        }
    }
}

/// The `health` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    /// Time between polls of every detector's `/health`.
    pub interval_ms: u64,
    /// Timeout of one poll.
    pub timeout_ms: u64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            interval_ms: 30_000,
            timeout_ms: 2_000,
        }
    }
}

/// The `performance_targets` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PerformanceTargets {
    /// 95th percentile of orchestration latency.
    pub p95_response_time_ms: f64,
    /// Share of requests answered 200 or 206.
    pub success_rate: f64,
    /// Sustained request rate.
    pub throughput_rps: f64,
}

impl Default for PerformanceTargets {
    fn default() -> Self {
        Self {
            p95_response_time_ms: 2000.0,
            success_rate: 0.95,
            throughput_rps: 100.0,
        }
    }
}

/// The `api_v1` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiV1Config {
    /// Sustained requests per second per tenant; more get 429.
    pub rate_limit_rps: f64,
    /// Requests a tenant may send at once above the sustained rate.
    pub rate_limit_burst: f64,
}

impl Default for ApiV1Config {
    fn default() -> Self {
        Self {
            rate_limit_rps: 1000.0,
            rate_limit_burst: 1000.0,
        }
    }
}

/// A configuration that could not be loaded or is not acceptable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file did not parse (syntax, type or unknown field).
    #[error("{origin}: field `{field}`: {reason}")]
    Parse {
        /// The file.
        origin: String,
        /// Dotted path of the field (empty for syntax errors).
        field: String,
        /// What the parser reported.
        reason: String,
    },
    /// A value is not acceptable.
    #[error("{origin}: field `{field}`: {reason}")]
    Invalid {
        /// The file, `--detectors`, or `config` when built in code.
        origin: String,
        /// Dotted path of the field.
        field: String,
        /// Why it was rejected.
        reason: String,
    },
}

impl OrchestratorConfig {
    /// Loads a YAML file in the seed's `test-config.yaml` shape.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let config = Self::parse_path(path)?;
        config.validate(&path.display().to_string())?;
        Ok(config)
    }

    /// Parses YAML text; `origin` names it in errors.
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config = Self::parse_yaml_str(text, origin)?;
        config.validate(origin)?;
        Ok(config)
    }

    /// Loads a YAML file like [`from_path`](Self::from_path) but checks
    /// only its shape, not its values: for callers that complete it first
    /// (the demo brings its own detectors) and validate afterwards, or that
    /// only read settings from it (`mockdet audit`).
    pub fn parse_path(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: origin.clone(),
            source,
        })?;
        Self::parse_yaml_str(&text, &origin)
    }

    fn parse_yaml_str(text: &str, origin: &str) -> Result<Self, ConfigError> {
        Figment::from(Yaml::string(text))
            .extract()
            .map_err(|e| ConfigError::Parse {
                origin: origin.to_owned(),
                field: e.path.join("."),
                reason: e.kind.to_string(),
            })
    }

    /// Replaces the detectors with a `name=url,name=url` list.
    pub fn with_detector_list(mut self, list: &str) -> Result<Self, ConfigError> {
        self.detectors = parse_detector_list(list)?;
        Ok(self)
    }

    /// Checks every value; `origin` names the source in errors.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        Settings::from_config(self, origin).map(|_| ())
    }

    /// The SLA budget of a sync request.
    pub fn sla_budget(&self) -> Duration {
        Duration::from_millis(self.orchestration.sla_budget_ms)
    }
}

/// Parses `name=url,name=url` into detectors with default settings.
fn parse_detector_list(list: &str) -> Result<BTreeMap<String, DetectorConfig>, ConfigError> {
    let invalid = |field: &str, reason: String| ConfigError::Invalid {
        origin: "--detectors".to_owned(),
        field: field.to_owned(),
        reason,
    };
    let mut detectors = BTreeMap::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, url) = item
            .split_once('=')
            .ok_or_else(|| invalid(item, "expected name=url".to_owned()))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(invalid(item, "the name before `=` is empty".to_owned()));
        }
        let detector = DetectorConfig::new(url.trim());
        if detectors.insert(name.to_owned(), detector).is_some() {
            return Err(invalid(name, "named twice".to_owned()));
        }
    }
    if detectors.is_empty() {
        return Err(invalid("", "no detectors given".to_owned()));
    }
    Ok(detectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_SHAPE: &str = r#"
service:
  host: "127.0.0.1"
  port: 8000
  workers: 4
detectors:
  mock-success-detector:
    endpoint: "http://127.0.0.1:8001/detect"
    timeout_ms: 5000
    max_retries: 3
    supported_content_types: [text, code]
    capabilities: [pii_detection]
circuit_breaker:
  failure_threshold: 5
  recovery_timeout_ms: 60000
performance_targets:
  p95_response_time_ms: 2000
  success_rate: 0.95
  throughput_rps: 100
load_testing:
  anything: goes
"#;

    #[test]
    fn the_seed_shape_loads_and_ignores_foreign_sections() {
        let config = OrchestratorConfig::from_yaml_str(SEED_SHAPE, "t.yaml").expect("loads");
        let detector = &config.detectors["mock-success-detector"];
        assert_eq!(detector.timeout_ms, Some(5000));
        assert_eq!(
            detector.supported_content_types,
            vec![ContentType::Text, ContentType::Code]
        );
        assert_eq!(config.circuit_breaker.failure_threshold, 5);
        assert_eq!(config.orchestration.sla_budget_ms, 2000);
    }

    #[test]
    fn an_unknown_field_names_the_file_and_the_field() {
        let text = "detectors:\n  a:\n    endpoint: http://127.0.0.1:1\n    timeout: 5\n";
        let err = OrchestratorConfig::from_yaml_str(text, "t.yaml").unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("t.yaml: field `detectors.a"),
            "{message}"
        );
        assert!(message.contains("timeout"), "{message}");
    }

    #[test]
    fn a_bad_endpoint_names_the_detector() {
        let text = "detectors:\n  a:\n    endpoint: not-a-url\n";
        let err = OrchestratorConfig::from_yaml_str(text, "t.yaml").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("t.yaml: field `detectors.a.endpoint`"),
            "{err}"
        );
    }

    #[test]
    fn a_wrong_type_names_the_field() {
        let text = "orchestration:\n  sla_budget_ms: soon\n";
        let err = OrchestratorConfig::from_yaml_str(text, "t.yaml").unwrap_err();
        assert!(
            err.to_string()
                .contains("field `orchestration.sla_budget_ms`"),
            "{err}"
        );
    }

    #[test]
    fn a_detector_list_parses_names_and_urls() {
        let detectors =
            parse_detector_list("a=http://127.0.0.1:1, b=http://127.0.0.1:2/x").expect("parses");
        assert_eq!(detectors.len(), 2);
        assert_eq!(detectors["b"].endpoint, "http://127.0.0.1:2/x");
    }

    #[test]
    fn a_detector_list_rejects_bad_items() {
        for bad in ["", "a", "=http://h", "a=http://h,a=http://h"] {
            assert!(parse_detector_list(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn content_types_round_trip_their_names() {
        for t in ContentType::ALL {
            assert_eq!(ContentType::parse(t.as_str()), Some(t));
        }
        assert_eq!(ContentType::parse("image"), None);
    }
}
