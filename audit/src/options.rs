//! What an audit is told: where the orchestrator and the fleet are, the
//! API shape, and the parameters to judge by — each from the
//! orchestrator's configuration file, from an option, or a documented
//! default; what none of them gives is measured.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Yaml};
use mockdet_orchestrator::OrchestratorConfig;
use serde::Deserialize;

use super::contract::Shape;
use super::error::AuditError;
use super::report::{ParameterRow, human};

/// Where a parameter's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The orchestrator's configuration file.
    Config,
    /// An option (command line or builder).
    Option,
    /// The audit's documented default.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Config => "config",
            Source::Option => "option",
            Source::Default => "default",
        })
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known<T> {
    /// The value.
    pub value: T,
    /// Its origin.
    pub source: Source,
}

impl<T> Known<T> {
    /// A value given as an option.
    pub fn option(value: T) -> Self {
        Self {
            value,
            source: Source::Option,
        }
    }

    fn config(value: T) -> Self {
        Self {
            value,
            source: Source::Config,
        }
    }
}

/// The retry budget assumed when nothing states one: 3 retries (4 attempts).
pub const DEFAULT_RETRY_BUDGET: u32 = 3;
/// The shortest acceptable pause before a retry.
pub const DEFAULT_BACKOFF_FLOOR: Duration = Duration::from_millis(50);
/// Requests per second while breaker and health behaviour is measured.
pub const DEFAULT_RATE: f64 = 10.0;

/// Everything an audit needs.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// The orchestrator's base URL.
    pub target: String,
    /// The fleet's detector URLs; the first takes the faults, the others
    /// must stay calm (they are made so for the audit).
    pub fleet: Vec<String>,
    /// The orchestrator's API.
    pub shape: Shape,
    /// The tenant sent (`tenant_id` / `X-Tenant-ID`).
    pub tenant: String,
    /// An API key for the orchestrator: `(header, key)`.
    pub api_key: Option<(String, String)>,
    /// The fleet's admin token (needed beyond loopback).
    pub admin_token: Option<String>,
    /// Fewer repetitions and shorter waits for unknown parameters (for CI).
    pub quick: bool,
    /// Retries the orchestrator allows per detector call (None: default 3).
    pub retry_budget: Option<Known<u32>>,
    /// How long a request may take in all (None: measured).
    pub sla_budget: Option<Known<Duration>>,
    /// Failed calls that open a breaker (None: measured).
    pub breaker_threshold: Option<Known<u32>>,
    /// How long a breaker stays open before it probes (None: measured).
    pub recovery: Option<Known<Duration>>,
    /// Time between health polls (None: measured).
    pub health_interval: Option<Known<Duration>>,
    /// The shortest acceptable pause before a retry.
    pub backoff_floor: Duration,
    /// Requests per second in the breaker and health scenarios.
    pub rate: f64,
    /// What the orchestrator calls each fleet detector, in fleet order,
    /// where its API names detectors (`api_v1`, `fms_v2`). Default: the
    /// name of the configuration entry with the detector's address, else
    /// its `detector_id`.
    pub detector_names: Option<Vec<String>>,
    /// Retry budgets per detector endpoint, from a configuration file:
    /// the faulted detector's is used.
    retries_by_endpoint: Vec<(String, u32)>,
    /// Detector names per endpoint, from a configuration file.
    names_by_endpoint: Vec<(String, String)>,
}

impl AuditOptions {
    /// Options for auditing `target` with `fleet`; everything else default.
    pub fn new(target: impl Into<String>, fleet: Vec<String>) -> Self {
        Self {
            target: target.into().trim_end_matches('/').to_owned(),
            fleet,
            shape: Shape::Seed,
            tenant: "audit".to_owned(),
            api_key: None,
            admin_token: None,
            quick: false,
            retry_budget: None,
            sla_budget: None,
            breaker_threshold: None,
            recovery: None,
            health_interval: None,
            backoff_floor: DEFAULT_BACKOFF_FLOOR,
            rate: DEFAULT_RATE,
            detector_names: None,
            retries_by_endpoint: Vec::new(),
            names_by_endpoint: Vec::new(),
        }
    }

    /// Takes the parameters an orchestrator configuration states (the
    /// reference orchestrator's `test-config.yaml` shape): per-detector and
    /// default `max_retries`, `sla_budget_ms`, the breaker's threshold and
    /// recovery, the health interval plus its timeout, the API key, and the
    /// `perf` section's `shape` and `tenant_id`.
    pub fn with_config(mut self, path: &Path) -> Result<Self, AuditError> {
        // Settings are read, not served: a file without detectors is fine.
        let config = OrchestratorConfig::parse_path(path)?;
        let o = &config.orchestration;
        self.retry_budget = Some(Known::config(o.max_retries));
        self.retries_by_endpoint = config
            .detectors
            .values()
            .filter(|d| d.enabled)
            .map(|d| {
                (
                    origin_of(&d.endpoint),
                    d.max_retries.unwrap_or(o.max_retries),
                )
            })
            .collect();
        self.names_by_endpoint = config
            .detectors
            .iter()
            .filter(|(_, d)| d.enabled)
            .map(|(name, d)| (origin_of(&d.endpoint), name.clone()))
            .collect();
        self.sla_budget = Some(Known::config(Duration::from_millis(o.sla_budget_ms)));
        let cb = &config.circuit_breaker;
        self.breaker_threshold = Some(Known::config(cb.failure_threshold));
        self.recovery = Some(Known::config(Duration::from_millis(cb.recovery_timeout_ms)));
        let health = Duration::from_millis(config.health.interval_ms + config.health.timeout_ms);
        self.health_interval = Some(Known::config(health));
        if let Some(key) = config.service.api_key.clone().filter(|k| !k.is_empty()) {
            self.api_key = Some((config.service.api_key_header.clone(), key));
        }
        let perf = PerfSection::load(path)?;
        if let Some(shape) = perf.shape {
            self.shape = shape.parse().map_err(|reason| AuditError::ConfigFile {
                path: path.to_owned(),
                reason: format!("field `perf.shape`: {reason}"),
            })?;
        }
        if let Some(tenant) = perf.tenant_id {
            self.tenant = tenant;
        }
        Ok(self)
    }

    /// Checks the values that can be checked before anything is sent.
    pub(crate) fn check(&self) -> Result<(), AuditError> {
        if self.fleet.is_empty() {
            return Err(AuditError::Invalid(
                "no fleet: pass at least one --fleet URL (the first takes the faults)".into(),
            ));
        }
        for url in std::iter::once(&self.target).chain(&self.fleet) {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(AuditError::Invalid(format!(
                    "{url:?} is not an http:// or https:// URL"
                )));
            }
        }
        if let Some(names) = &self.detector_names {
            if names.len() != self.fleet.len() {
                return Err(AuditError::Invalid(format!(
                    "{} --detector-name values for {} --fleet URLs: give one per detector, in order",
                    names.len(),
                    self.fleet.len()
                )));
            }
        }
        // A rate is judged over a second and needs 5 requests in it.
        if !(self.rate.is_finite() && (6.0..=200.0).contains(&self.rate)) {
            return Err(AuditError::Invalid(format!(
                "--rate {} must be within 6..=200 requests per second (rates are judged \
                 over one second, on at least 5 requests)",
                self.rate
            )));
        }
        let day = Duration::from_secs(24 * 3600);
        let durations = [
            ("--sla-budget", self.sla_budget),
            ("--recovery", self.recovery),
            ("--health-interval", self.health_interval),
        ];
        for (name, value) in durations {
            if let Some(k) = value.filter(|k| k.value.is_zero() || k.value > day) {
                return Err(AuditError::Invalid(format!(
                    "{name} {} ({}) must be above 0 and at most 24 h",
                    human(k.value),
                    k.source
                )));
            }
        }
        if let Some(k) = self.retry_budget.filter(|k| k.value > 100) {
            return Err(AuditError::Invalid(format!(
                "--retry-budget {} ({}) must be at most 100",
                k.value, k.source
            )));
        }
        if self.backoff_floor > day {
            return Err(AuditError::Invalid(
                "--backoff-floor must be at most 24 h".into(),
            ));
        }
        Ok(())
    }

    /// What the orchestrator calls the `index`th fleet detector, at `url`
    /// with `detector_id`.
    pub(crate) fn name_for(&self, index: usize, url: &str, detector_id: &str) -> String {
        if let Some(name) = self.detector_names.as_ref().and_then(|n| n.get(index)) {
            return name.clone();
        }
        let origin = origin_of(url);
        self.names_by_endpoint
            .iter()
            .find(|(o, _)| *o == origin)
            .map_or_else(|| detector_id.to_owned(), |(_, name)| name.clone())
    }

    /// The retry budget of the detector at `url`.
    pub(crate) fn retry_budget_for(&self, url: &str) -> Known<u32> {
        if let Some(Known {
            source: Source::Option,
            ..
        }) = self.retry_budget
        {
            return self
                .retry_budget
                .unwrap_or(Known::option(DEFAULT_RETRY_BUDGET));
        }
        let origin = origin_of(url);
        self.retries_by_endpoint
            .iter()
            .find(|(o, _)| *o == origin)
            .map(|&(_, n)| Known::config(n))
            .or(self.retry_budget)
            .unwrap_or(Known {
                value: DEFAULT_RETRY_BUDGET,
                source: Source::Default,
            })
    }

    /// The parameter rows of the report.
    pub(crate) fn rows(&self, victim_url: &str) -> Vec<ParameterRow> {
        let budget = self.retry_budget_for(victim_url);
        let dur = |name: &str, k: Option<Known<Duration>>| ParameterRow {
            name: name.to_owned(),
            value: k.map_or("measured".into(), |k| human(k.value)),
            source: k.map_or("unknown".into(), |k| k.source.to_string()),
        };
        vec![
            ParameterRow {
                name: "retry budget".into(),
                value: format!("{} retries ({} attempts)", budget.value, budget.value + 1),
                source: budget.source.to_string(),
            },
            ParameterRow {
                name: "backoff floor".into(),
                value: human(self.backoff_floor),
                source: if self.backoff_floor == DEFAULT_BACKOFF_FLOOR {
                    "default".into()
                } else {
                    "option".into()
                },
            },
            dur("SLA budget", self.sla_budget),
            ParameterRow {
                name: "breaker threshold".into(),
                value: self
                    .breaker_threshold
                    .map_or("measured".into(), |k| format!("{} failed calls", k.value)),
                source: self
                    .breaker_threshold
                    .map_or("unknown".into(), |k| k.source.to_string()),
            },
            dur("breaker recovery", self.recovery),
            dur("health poll interval (+ timeout)", self.health_interval),
            ParameterRow {
                name: "load".into(),
                value: format!("{} requests/s", self.rate),
                source: if self.rate == DEFAULT_RATE {
                    "default".into()
                } else {
                    "option".into()
                },
            },
        ]
    }
}

/// `scheme://host:port` of a URL (what detector endpoints and fleet URLs
/// have in common).
fn origin_of(url: &str) -> String {
    let url = url.trim_end_matches('/');
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => url[..after_scheme + slash].to_owned(),
        None => url.to_owned(),
    }
}

/// The bits of the `perf` section the audit reads.
#[derive(Debug, Default, Deserialize)]
struct PerfSection {
    shape: Option<String>,
    tenant_id: Option<String>,
}

impl PerfSection {
    fn load(path: &Path) -> Result<Self, AuditError> {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            perf: Option<Lenient>,
        }
        // Only these two keys; the rest of `perf` is the load suite's.
        #[derive(Deserialize)]
        struct Lenient {
            shape: Option<String>,
            tenant_id: Option<String>,
        }
        let file: File = Figment::from(Yaml::file_exact(path))
            .extract()
            .map_err(|e| AuditError::ConfigFile {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(file.perf.map_or_else(Self::default, |p| Self {
            shape: p.shape,
            tenant_id: p.tenant_id,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_drop_the_path() {
        assert_eq!(
            origin_of("http://127.0.0.1:8001/analyze"),
            "http://127.0.0.1:8001"
        );
        assert_eq!(origin_of("http://127.0.0.1:8001/"), "http://127.0.0.1:8001");
        assert_eq!(origin_of("https://d.example"), "https://d.example");
    }

    #[test]
    fn the_repository_config_gives_every_parameter() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-config.yaml");
        let options = AuditOptions::new("http://127.0.0.1:8000", vec![])
            .with_config(&path)
            .unwrap();
        assert_eq!(options.shape, Shape::Seed);
        assert_eq!(options.tenant, "perf-tenant");
        let budget = options.retry_budget_for("http://127.0.0.1:8003");
        assert_eq!((budget.value, budget.source), (3, Source::Config));
        assert_eq!(options.name_for(0, "http://127.0.0.1:8003", "x"), "failing");
        assert_eq!(options.name_for(0, "http://127.0.0.1:9999", "x"), "x");
        assert_eq!(options.sla_budget.unwrap().value, Duration::from_secs(2));
        assert_eq!(options.breaker_threshold.unwrap().value, 5);
        assert_eq!(options.recovery.unwrap().value, Duration::from_secs(60));
        assert_eq!(
            options.health_interval.unwrap().value,
            Duration::from_secs(32)
        );
    }

    #[test]
    fn an_option_beats_the_config_and_nothing_gives_the_default() {
        let mut options = AuditOptions::new("http://t", vec!["http://d".into()]);
        assert_eq!(options.retry_budget_for("http://d").source, Source::Default);
        options.retries_by_endpoint = vec![("http://d".into(), 1)];
        assert_eq!(options.retry_budget_for("http://d").value, 1);
        options.retry_budget = Some(Known::option(5));
        assert_eq!(options.retry_budget_for("http://d").value, 5);
    }

    #[test]
    fn bad_options_are_named() {
        let mut options = AuditOptions::new("http://t", vec![]);
        assert!(options.check().unwrap_err().to_string().contains("--fleet"));
        options.fleet = vec!["127.0.0.1:8001".into()];
        assert!(
            options
                .check()
                .unwrap_err()
                .to_string()
                .contains("127.0.0.1:8001")
        );
        options.fleet = vec!["http://127.0.0.1:8001".into()];
        options.detector_names = Some(vec![]);
        assert!(
            options
                .check()
                .unwrap_err()
                .to_string()
                .contains("--detector-name")
        );
        options.detector_names = None;
        options.rate = 5.0;
        assert!(options.check().unwrap_err().to_string().contains("--rate"));
        options.rate = DEFAULT_RATE;
        options.recovery = Some(Known::option(Duration::from_secs(100 * 24 * 3600)));
        assert!(
            options
                .check()
                .unwrap_err()
                .to_string()
                .contains("--recovery")
        );
        options.recovery = None;
        options.retry_budget = Some(Known::option(u32::MAX));
        assert!(
            options
                .check()
                .unwrap_err()
                .to_string()
                .contains("--retry-budget")
        );
    }
}
