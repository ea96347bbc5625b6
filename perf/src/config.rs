//! What a perf run is configured with: the `performance_targets` and `perf`
//! sections of `test-config.yaml` (other sections belong to the
//! orchestrator and are ignored here). Every field has the seed's default,
//! so a run without a config file works.

use std::path::Path;

use figment::Figment;
use figment::providers::{Format, Serialized, Yaml};
use serde::{Deserialize, Serialize};

use mockdet::{NextFaults, Outage, Script};

use super::error::PerfError;

/// The targets a run is judged against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Targets {
    /// p95 of orchestration requests, milliseconds.
    pub(crate) p95_response_time_ms: f64,
    /// Share of requests that succeeded (2xx in the contract's success set).
    pub(crate) success_rate: f64,
    /// Achieved requests per second.
    pub(crate) throughput_rps: f64,
}

impl Default for Targets {
    fn default() -> Self {
        Self {
            p95_response_time_ms: 2000.0,
            success_rate: 0.95,
            throughput_rps: 100.0,
        }
    }
}

/// Which request shape the target speaks (CONTRACT.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Shape {
    /// `POST /orchestrate`, batch, async jobs (the seed's service).
    #[default]
    Seed,
    /// `/api/v1`, tenant header required, `detector_types`, wrapped replies.
    ApiV1,
}

/// The target's HTTP contract, handed to the k6 and Locust scripts as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Contract {
    /// Request shape.
    pub(crate) shape: Shape,
    /// Single orchestration path.
    pub(crate) orchestrate_path: String,
    /// Batch path, if the target batches.
    pub(crate) batch_path: Option<String>,
    /// Async status path with `{job_id}`, if the target runs async jobs.
    pub(crate) status_path: Option<String>,
    /// Health path.
    pub(crate) health_path: String,
    /// Header carrying the tenant.
    pub(crate) tenant_header: String,
    /// Statuses that count as success.
    pub(crate) success_statuses: Vec<u16>,
    /// Statuses of an accepted async job.
    pub(crate) async_statuses: Vec<u16>,
    /// Statuses a malformed request should get.
    pub(crate) client_error_statuses: Vec<u16>,
    /// Detector ids the scripts may pin.
    pub(crate) detectors: Vec<String>,
}

impl Contract {
    /// The preset for a shape.
    pub(crate) fn preset(shape: Shape) -> Self {
        let detectors = ["success", "variable", "failing", "timeout", "batch"]
            .map(|n| format!("mock-{n}-detector"))
            .to_vec();
        match shape {
            Shape::Seed => Self {
                shape,
                orchestrate_path: "/orchestrate".into(),
                batch_path: Some("/orchestrate/batch".into()),
                status_path: Some("/orchestrate/status/{job_id}".into()),
                health_path: "/health".into(),
                tenant_header: "X-Tenant-ID".into(),
                success_statuses: vec![200, 206],
                async_statuses: vec![202],
                client_error_statuses: vec![400, 422],
                detectors,
            },
            Shape::ApiV1 => Self {
                shape,
                orchestrate_path: "/api/v1/orchestrate".into(),
                batch_path: None,
                status_path: None,
                health_path: "/api/v1/health".into(),
                tenant_header: "X-Tenant-ID".into(),
                success_statuses: vec![200],
                async_statuses: vec![202],
                client_error_statuses: vec![400, 422],
                detectors,
            },
        }
    }
}

/// How big one test type is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Size {
    /// k6 virtual users.
    pub(crate) vus: u32,
    /// Locust users.
    pub(crate) users: u32,
    /// How long, e.g. "2m".
    pub(crate) duration: String,
}

fn size(vus: u32, duration: &str) -> Size {
    Size {
        vus,
        users: vus,
        duration: duration.into(),
    }
}

/// One fault the runner injects during a fault-tolerance run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultStep {
    /// Fleet detector name (as in its `/capabilities` `name`).
    pub(crate) detector: String,
    /// When, after the run starts, e.g. "5s".
    pub(crate) at: String,
    /// An outage window to open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) outage: Option<Outage>,
    /// A "next N requests" fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) next: Option<NextFaults>,
    /// A phased script (e.g. error bursts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) script: Option<Script>,
}

/// The fault-tolerance scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultTolerance {
    /// Locust users.
    pub(crate) users: u32,
    /// How long.
    pub(crate) duration: String,
    /// Largest acceptable share of 5xx answers from the orchestrator.
    pub(crate) max_server_error_rate: f64,
    /// What to inject, and when.
    pub(crate) faults: Vec<FaultStep>,
}

/// The scalability matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Scalability {
    /// Batch sizes to try.
    pub(crate) batch_sizes: Vec<u32>,
    /// User counts to try.
    pub(crate) users: Vec<u32>,
    /// How long each cell runs.
    pub(crate) duration: String,
}

/// The `perf` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct PerfSection {
    /// The orchestrator under test.
    pub(crate) target: String,
    /// Contract preset.
    pub(crate) shape: Shape,
    /// Full contract (overrides the preset when given).
    pub(crate) contract: Option<Contract>,
    /// Fleet detector base URLs to scrape and drive.
    pub(crate) fleet: Vec<String>,
    /// Tenant sent with every request.
    pub(crate) tenant_id: String,
    /// API key sent with every request.
    pub(crate) api_key: String,
    /// Header for the API key.
    pub(crate) api_key_header: String,
    /// Policy bundle in every request.
    pub(crate) policy_bundle: String,
    /// Batch size of batch requests.
    pub(crate) batch_size: u32,
    /// Smoke size.
    pub(crate) smoke: Size,
    /// Load size.
    pub(crate) load: Size,
    /// Stress size.
    pub(crate) stress: Size,
    /// Fault-tolerance scenario.
    pub(crate) fault_tolerance: FaultTolerance,
    /// Scalability matrix.
    pub(crate) scalability: Scalability,
}

impl Default for PerfSection {
    fn default() -> Self {
        Self {
            target: "http://127.0.0.1:8000".into(),
            shape: Shape::Seed,
            contract: None,
            fleet: Vec::new(),
            tenant_id: "perf-tenant".into(),
            api_key: "test-key".into(),
            api_key_header: "X-API-Key".into(),
            policy_bundle: "default".into(),
            batch_size: 5,
            smoke: size(5, "2m"),
            load: size(50, "10m"),
            stress: size(200, "10m"),
            fault_tolerance: FaultTolerance {
                users: 20,
                duration: "3m".into(),
                max_server_error_rate: 0.05,
                faults: default_faults(),
            },
            scalability: Scalability {
                batch_sizes: vec![1, 5, 10, 20],
                users: vec![10, 25, 50],
                duration: "60s".into(),
            },
        }
    }
}

/// The seed's fault-tolerance story: an outage on one detector, error bursts
/// on another, hangs on a third.
fn default_faults() -> Vec<FaultStep> {
    let step = |detector: &str, at: &str| FaultStep {
        detector: detector.into(),
        at: at.into(),
        outage: None,
        next: None,
        script: None,
    };
    let burst: Script = serde_json::from_value(serde_json::json!({
        "loop": true,
        "phases": [
            {"duration_ms": 3000, "overrides": {"faults": [{"kind": "http_error", "status": 503, "probability": 1.0}]}},
            {"duration_ms": 7000}
        ]
    }))
    .expect("static script is valid");
    vec![
        FaultStep {
            outage: Some(Outage::unavailable(std::time::Duration::from_secs(60))),
            ..step("success", "10%")
        },
        FaultStep {
            script: Some(burst),
            ..step("variable", "20%")
        },
        FaultStep {
            outage: Some(Outage::hang(std::time::Duration::from_secs(30))),
            ..step("timeout", "30%")
        },
    ]
}

/// A whole perf configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub(crate) struct PerfConfig {
    /// `performance_targets`.
    pub(crate) performance_targets: Targets,
    /// `perf`.
    pub(crate) perf: PerfSection,
}

impl PerfConfig {
    /// Loads `path` (YAML) over the defaults; `None` gives the defaults.
    pub(crate) fn load(path: Option<&Path>) -> Result<Self, PerfError> {
        let mut figment = Figment::from(Serialized::defaults(PerfConfig::default()));
        if let Some(path) = path {
            if !path.is_file() {
                return Err(PerfError::ConfigMissing {
                    path: path.to_owned(),
                });
            }
            figment = figment.merge(Yaml::file_exact(path));
        }
        let invalid = |source| PerfError::Config {
            origin: origin(path),
            source: Box::new(source),
        };
        let targets: Targets = figment
            .extract_inner("performance_targets")
            .map_err(invalid)?;
        let perf: PerfSection = figment.extract_inner("perf").map_err(invalid)?;
        Ok(Self {
            performance_targets: targets,
            perf,
        })
    }

    /// The contract in force: the explicit one, else the shape's preset.
    pub(crate) fn contract(&self) -> Contract {
        self.perf
            .contract
            .clone()
            .unwrap_or_else(|| Contract::preset(self.perf.shape))
    }
}

fn origin(path: Option<&Path>) -> String {
    path.map_or_else(|| "defaults".to_owned(), |p| p.display().to_string())
}

/// Parses a duration like "90s" or "2m"; a percentage like "10%" is a share
/// of `total` (fault steps are placed relative to the run's length).
pub(crate) fn parse_offset(
    text: &str,
    total: std::time::Duration,
) -> Result<std::time::Duration, PerfError> {
    if let Some(percent) = text.strip_suffix('%') {
        let share: f64 = percent
            .trim()
            .parse()
            .map_err(|_| PerfError::NotAPercentage {
                text: text.to_owned(),
            })?;
        return Ok(total.mul_f64((share / 100.0).clamp(0.0, 1.0)));
    }
    humantime::parse_duration(text).map_err(|source| PerfError::BadDuration {
        text: text.to_owned(),
        source,
    })
}

#[cfg(test)]
// figment::Jail's closures return figment's (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn defaults_match_the_seed() {
        let config = PerfConfig::load(None).unwrap();
        assert_eq!(config.performance_targets.p95_response_time_ms, 2000.0);
        assert_eq!(config.perf.scalability.batch_sizes, [1, 5, 10, 20]);
        assert_eq!(config.contract().orchestrate_path, "/orchestrate");
        assert_eq!(config.perf.fault_tolerance.faults.len(), 3);
    }

    #[test]
    fn a_yaml_file_overrides_and_other_sections_are_ignored() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "test-config.yaml",
                "service:\n  port: 8000\ndetectors: {}\nperformance_targets:\n  throughput_rps: 50\n\
                 perf:\n  shape: api_v1\n  batch_size: 9\n",
            )?;
            let config = PerfConfig::load(Some(Path::new("test-config.yaml"))).unwrap();
            assert_eq!(config.performance_targets.throughput_rps, 50.0);
            assert_eq!(config.performance_targets.success_rate, 0.95);
            assert_eq!(config.perf.batch_size, 9);
            assert_eq!(config.contract().orchestrate_path, "/api/v1/orchestrate");
            Ok(())
        });
    }

    #[test]
    fn a_typo_in_the_perf_section_is_named() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.yaml", "perf:\n  batchsize: 3\n")?;
            let err = PerfConfig::load(Some(Path::new("c.yaml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("c.yaml") && err.contains("batchsize"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn the_repository_test_config_spells_out_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-config.yaml");
        let config = PerfConfig::load(Some(&path)).unwrap();
        let defaults = PerfConfig::default();
        assert_eq!(config.performance_targets, defaults.performance_targets);
        let mut perf = config.perf;
        assert_eq!(perf.fleet.len(), 5);
        perf.fleet.clear();
        assert_eq!(perf, defaults.perf);
    }

    #[test]
    fn offsets_are_durations_or_shares_of_the_run() {
        let total = Duration::from_secs(100);
        assert_eq!(parse_offset("10%", total).unwrap(), Duration::from_secs(10));
        assert_eq!(parse_offset("5s", total).unwrap(), Duration::from_secs(5));
        assert!(parse_offset("soon", total).is_err());
    }
}
