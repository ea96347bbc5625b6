//! Starting and stopping an orchestrator: [`OrchestratorBuilder`] validates
//! the configuration and binds *before* [`OrchestratorBuilder::start`]
//! returns, so [`Orchestrator::url`] is valid at once; the health poll runs
//! beside the server; [`Orchestrator::shutdown`] (or drop) stops both.

use std::future::IntoFuture;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::api;
use super::breaker::BreakerState;
use super::config::{ConfigError, DetectorConfig, OrchestratorConfig};
use super::health;
use super::settings::Settings;
use super::state::{AppState, stopped};
use mockdet::FleetError;

/// Why an orchestrator (or a demo) could not start.
#[derive(Debug, thiserror::Error)]
pub enum OrchestratorError {
    /// The configuration is not acceptable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The listener could not be bound.
    #[error("orchestrator: cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The HTTP client for detector calls could not be built.
    #[error("orchestrator: cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The demo's detectors could not start.
    #[error(transparent)]
    Fleet(#[from] FleetError),
}

/// Configures an [`Orchestrator`]; get one from [`Orchestrator::builder`].
#[derive(Debug, Clone)]
pub struct OrchestratorBuilder {
    config: OrchestratorConfig,
    origin: String,
    bind: SocketAddr,
    drain: Duration,
    defects: crate::defects::Defects,
}

impl OrchestratorBuilder {
    fn new() -> Self {
        Self {
            config: OrchestratorConfig::default(),
            origin: "config".to_owned(),
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            drain: Duration::from_secs(5),
            defects: crate::defects::Defects::default(),
        }
    }

    /// Starts from a whole configuration (detectors included).
    pub fn config(mut self, config: OrchestratorConfig) -> Self {
        self.config = config;
        self
    }

    /// Names the configuration's source in errors (a file path, say).
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = origin.into();
        self
    }

    /// Adds (or replaces) a detector at `endpoint` with default settings.
    pub fn detector(self, name: &str, endpoint: impl Into<String>) -> Self {
        self.detector_config(name, DetectorConfig::new(endpoint))
    }

    /// Adds (or replaces) a detector.
    pub fn detector_config(mut self, name: &str, detector: DetectorConfig) -> Self {
        self.config.detectors.insert(name.to_owned(), detector);
        self
    }

    /// The budget of a sync request (default 2 s).
    pub fn sla_budget(mut self, budget: Duration) -> Self {
        self.config.orchestration.sla_budget_ms = millis(budget);
        self
    }

    /// Retries for detectors that set none (default 3).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.config.orchestration.max_retries = retries;
        self
    }

    /// Breaker thresholds: consecutive failures that open it, and how long
    /// it stays open (defaults 5 and 60 s).
    pub fn breaker(mut self, failure_threshold: u32, recovery: Duration) -> Self {
        self.config.circuit_breaker.failure_threshold = failure_threshold;
        self.config.circuit_breaker.recovery_timeout_ms = millis(recovery);
        self
    }

    /// Time between health polls (default 30 s).
    pub fn health_interval(mut self, interval: Duration) -> Self {
        self.config.health.interval_ms = millis(interval);
        self
    }

    /// Requires this key in the API-key header (default `X-API-Key`).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.config.service.api_key = Some(key.into());
        self
    }

    /// Switches on a deliberate defect (for testing tools that judge
    /// orchestrators; see [`Defect`](crate::Defect)).
    #[cfg(feature = "defects")]
    pub fn defect(mut self, defect: crate::Defect) -> Self {
        self.defects = self.defects.with(defect);
        self
    }

    /// Where to listen (default 127.0.0.1:0, any free port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// How long shutdown lets in-flight requests finish (default 5 s).
    pub fn drain_timeout(mut self, drain: Duration) -> Self {
        self.drain = drain;
        self
    }

    /// Validates, binds, and starts serving and polling health.
    pub async fn start(self) -> Result<Orchestrator, OrchestratorError> {
        let mut settings = Settings::from_config(&self.config, &self.origin)?;
        settings.defects = self.defects;
        let listener = bind(self.bind).map_err(|source| OrchestratorError::Bind {
            addr: self.bind,
            source,
        })?;
        let addr = listener
            .local_addr()
            .map_err(|source| OrchestratorError::Bind {
                addr: self.bind,
                source,
            })?;
        let (stop, stopped) = watch::channel(false);
        let state = AppState::new(settings, stopped.clone()).map_err(OrchestratorError::Client)?;
        let state = Arc::new(state);
        let router = api::router(state.clone());
        tracing::info!(%addr, detectors = state.slots.len(), "orchestrator listening");
        let tasks = vec![
            tokio::spawn(serve(listener, router, stopped.clone(), self.drain)),
            tokio::spawn(health::poll_loop(state.clone(), stopped)),
        ];
        Ok(Orchestrator {
            addr,
            stop,
            tasks,
            state,
        })
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

async fn serve(
    listener: TcpListener,
    router: Router,
    stop: watch::Receiver<bool>,
    drain: Duration,
) {
    // Replies are small and latency is the product: never wait for Nagle.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let server = axum::serve(listener, router)
        .with_graceful_shutdown(stopped(stop.clone()))
        .into_future();
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => {
            if let Err(error) = result {
                tracing::error!(%error, "orchestrator server stopped");
            }
        }
        () = stopped(stop) => {
            if tokio::time::timeout(drain, server).await.is_err() {
                tracing::warn!(drain_ms = millis(drain), "drain deadline reached; cutting connections");
            }
        }
    }
}

/// A running reference orchestrator. Dropping it stops it.
#[derive(Debug)]
pub struct Orchestrator {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    state: Arc<AppState>,
}

impl Orchestrator {
    /// Starts configuring an orchestrator.
    pub fn builder() -> OrchestratorBuilder {
        OrchestratorBuilder::new()
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configured detectors' names, in routing order.
    pub fn detector_names(&self) -> Vec<String> {
        self.state
            .slots
            .iter()
            .map(|s| s.target.name.clone())
            .collect()
    }

    /// A detector's circuit breaker state now, or `None` for an unknown name.
    pub fn breaker_state(&self, detector: &str) -> Option<BreakerState> {
        self.state
            .slots
            .iter()
            .find(|s| s.target.name == detector)
            .map(|s| s.breaker.state())
    }

    /// The metrics in the Prometheus text format (what `/metrics` serves).
    pub fn render_metrics(&self) -> String {
        self.state.refresh_breaker_gauges();
        self.state.metrics.render()
    }

    /// Stops accepting, lets in-flight requests finish up to the drain
    /// timeout, stops the health poll and async jobs, and waits.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            if let Err(error) = task.await {
                tracing::warn!(%error, "an orchestrator task ended abnormally");
            }
        }
    }
}

impl Drop for Orchestrator {
    fn drop(&mut self) {
        // The server, the health poll and the jobs see this and stop.
        let _ = self.stop.send(true);
    }
}

/// Binds the orchestrator's listener with `SO_REUSEADDR`, so a restarted
/// orchestrator can take back a port whose old connections linger.
fn bind(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match addr {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}
