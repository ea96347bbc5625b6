//! The demo: the five built-in detectors *and* a reference orchestrator
//! wired to them, in one process. `mockdet demo` runs it on the well-known
//! ports; tests (the load suite's among them) start it on ephemeral ports:
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), mockdet_orchestrator::OrchestratorError> {
//! let demo = mockdet_orchestrator::Demo::builder().seed(7).start().await?;
//! let orchestrate = format!("{}/orchestrate", demo.url());
//! # let _ = orchestrate;
//! demo.shutdown().await;
//! # Ok(())
//! # }
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::config::{ContentType, DetectorConfig, OrchestratorConfig};
use super::server::{Orchestrator, OrchestratorError};
use mockdet::DetectorProfile;
use mockdet::Fleet;

/// The demo's SLA budget: under the suite's 2 s p95 target, so a healthy
/// run meets it with room for the load tools' own overhead (a sync request
/// answers by the budget, so p95 sits just above it).
pub const DEMO_SLA_BUDGET_MS: u64 = 1800;

/// The orchestrator configuration the demo starts from.
pub fn demo_config() -> OrchestratorConfig {
    let mut config = OrchestratorConfig::default();
    config.orchestration.sla_budget_ms = DEMO_SLA_BUDGET_MS;
    config
}

/// Where the demo listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoPorts {
    /// Any free ports (the library default: parallel tests never collide).
    Ephemeral,
    /// Detectors on their profile ports (8001–8005), the orchestrator on
    /// this port (8000 for `mockdet demo`).
    Profile(u16),
    /// The orchestrator on this port, detectors on the next five, in order.
    Base(u16),
}

/// Configures a [`Demo`]; get one from [`Demo::builder`].
#[derive(Debug, Clone)]
pub struct DemoBuilder {
    seed: Option<u64>,
    ports: DemoPorts,
    profiles: Option<Vec<DetectorProfile>>,
    config: OrchestratorConfig,
}

impl DemoBuilder {
    /// Seeds the detectors (default: random, see [`Demo::seed`]).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Where to listen (default [`DemoPorts::Ephemeral`]).
    pub fn ports(mut self, ports: DemoPorts) -> Self {
        self.ports = ports;
        self
    }

    /// Detectors to run instead of the five built-ins.
    pub fn profiles(mut self, profiles: Vec<DetectorProfile>) -> Self {
        self.profiles = Some(profiles);
        self
    }

    /// The orchestrator's configuration; its `detectors` are replaced by
    /// the demo's (other sections, such as the SLA budget, are kept).
    pub fn config(mut self, config: OrchestratorConfig) -> Self {
        self.config = config;
        self
    }

    /// Starts the detectors, then the orchestrator wired to them.
    pub async fn start(self) -> Result<Demo, OrchestratorError> {
        let profiles = match self.profiles {
            Some(profiles) => profiles,
            None => DetectorProfile::builtins().map_err(mockdet::FleetError::from)?,
        };
        let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut fleet = Fleet::builder();
        if let Some(seed) = self.seed {
            fleet = fleet.seed(seed);
        }
        let orchestrator_port = match self.ports {
            DemoPorts::Ephemeral => 0,
            DemoPorts::Profile(port) => {
                fleet = fleet.profile_ports(true);
                port
            }
            DemoPorts::Base(base) => {
                for (offset, profile) in (1u16..).zip(&profiles) {
                    fleet = fleet.port(&profile.name, base.saturating_add(offset));
                }
                base
            }
        };
        let fleet = profiles
            .iter()
            .fold(fleet, |b, p| b.profile(p.clone()))
            .start()
            .await?;
        let mut config = self.config;
        config.detectors = profiles
            .iter()
            .map(|p| (p.name.clone(), detector_config(p, &fleet)))
            .collect();
        let orchestrator = Orchestrator::builder()
            .config(config)
            .origin("demo")
            .bind(SocketAddr::new(localhost, orchestrator_port))
            .start()
            .await?;
        Ok(Demo {
            fleet,
            orchestrator,
        })
    }
}

/// What the orchestrator knows of a demo detector: its URL, id, content
/// types and capabilities, all from the profile.
fn detector_config(profile: &DetectorProfile, fleet: &Fleet) -> DetectorConfig {
    let mut config = DetectorConfig::new(fleet.url(&profile.name));
    config.detector_id = Some(profile.detector_id.clone());
    config.capabilities = profile.capabilities.clone();
    let types: Vec<ContentType> = profile
        .content_types
        .iter()
        .filter_map(|t| ContentType::parse(t))
        .collect();
    if !types.is_empty() {
        config.supported_content_types = types;
    }
    config
}

/// A running fleet and the orchestrator in front of it.
#[derive(Debug)]
pub struct Demo {
    fleet: Fleet,
    orchestrator: Orchestrator,
}

impl Demo {
    /// Starts configuring a demo.
    pub fn builder() -> DemoBuilder {
        DemoBuilder {
            seed: None,
            ports: DemoPorts::Ephemeral,
            profiles: None,
            config: demo_config(),
        }
    }

    /// The orchestrator's base URL.
    pub fn url(&self) -> String {
        self.orchestrator.url()
    }

    /// The detectors.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// The orchestrator.
    pub fn orchestrator(&self) -> &Orchestrator {
        &self.orchestrator
    }

    /// `(name, url)` of the orchestrator (named `orchestrator`), then of
    /// every detector.
    pub fn urls(&self) -> Vec<(String, String)> {
        let mut urls = vec![("orchestrator".to_owned(), self.url())];
        urls.extend(self.fleet.urls());
        urls
    }

    /// The detectors' seed.
    pub fn seed(&self) -> u64 {
        self.fleet.seed()
    }

    /// Stops the orchestrator, then the detectors.
    pub async fn shutdown(self) {
        self.orchestrator.shutdown().await;
        self.fleet.shutdown().await;
    }
}
