//! The fleet: a set of detectors bound, served and stopped together. This is
//! the fixture surface orchestration-service tests use:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), mockdet::FleetError> {
//! let fleet = mockdet::Fleet::builder()
//!     .builtin("failing")
//!     .seed(7)
//!     .start()
//!     .await?; // every listener is bound before this returns
//! let url = fleet.url("failing"); // e.g. http://127.0.0.1:41234
//! assert!(url.starts_with("http://127.0.0.1:"));
//! fleet.shutdown().await; // drains; dropping the fleet also stops it
//! # Ok(())
//! # }
//! ```

mod handle;
mod server;
mod shed;

pub use handle::DetectorHandle;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::control::book::ReplayBook;
use crate::control::journal::JournalEntry;
use crate::detector::{self, AdminAccess, DetectorState};
use crate::metrics::Metrics;
use crate::profile::{DetectorProfile, ProfileError, Replay};
use crate::sampling::rng::entropy_seed;

/// Default time in-flight requests get to finish on shutdown.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) use crate::detector::DEFAULT_READ_TIMEOUT;

/// Why a fleet could not start.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// A profile did not load or validate.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// A listener could not be bound.
    #[error("detector `{detector}`: cannot listen on {addr}: {source}")]
    Bind {
        /// The detector's name.
        detector: String,
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Two profiles share a name.
    #[error(
        "two detectors are named `{name}` ({first} and {second}); names must be unique in a fleet"
    )]
    DuplicateName {
        /// The shared name.
        name: String,
        /// Where the first profile came from.
        first: String,
        /// Where the second came from.
        second: String,
    },
    /// The builder was given no profile.
    #[error("a fleet needs at least one detector profile")]
    Empty,
    /// A journal to replay does not fit the fleet.
    #[error("journal to replay: {0}")]
    Journal(String),
}

/// Configures a [`Fleet`]; get one from [`Fleet::builder`].
#[derive(Debug, Clone)]
pub struct FleetBuilder {
    profiles: Vec<DetectorProfile>,
    seed: Option<u64>,
    bind: IpAddr,
    profile_ports: bool,
    ports: HashMap<String, u16>,
    drain: Duration,
    read_timeout: Duration,
    admin_token: Option<String>,
    allow_overrides: bool,
    replay: Option<Replay>,
    journal: Vec<JournalEntry>,
}

impl FleetBuilder {
    fn new() -> Self {
        Self {
            profiles: Vec::new(),
            seed: None,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            profile_ports: false,
            ports: HashMap::new(),
            drain: DEFAULT_DRAIN_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            admin_token: None,
            allow_overrides: false,
            replay: None,
            journal: Vec::new(),
        }
    }

    /// Adds a built-in profile by name.
    ///
    /// # Panics
    /// On an unknown name, with a message listing the built-ins: in a test
    /// that is a typo to fix, not an error to handle. Use
    /// [`DetectorProfile::builtin`] with [`FleetBuilder::profile`] to handle it.
    pub fn builtin(self, name: &str) -> Self {
        let profile = DetectorProfile::builtin(name).unwrap_or_else(|e| panic!("{e}"));
        self.profile(profile)
    }

    /// Adds all five built-in profiles.
    ///
    /// # Panics
    /// If a `MOCKDET_<NAME>_*` environment override makes a built-in invalid.
    pub fn builtins(self) -> Self {
        crate::profile::BUILTIN_NAMES
            .iter()
            .fold(self, |builder, name| builder.builtin(name))
    }

    /// Adds a profile.
    pub fn profile(mut self, profile: DetectorProfile) -> Self {
        self.profiles.push(profile);
        self
    }

    /// Seeds every detector's draws; without it a random seed is chosen and
    /// logged (and available from [`Fleet::seed`]) so a run can be replayed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The address to listen on (default 127.0.0.1).
    pub fn bind(mut self, addr: IpAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Listen on each profile's `port` instead of an ephemeral port (the
    /// default for a fixture is port 0, so parallel tests never collide).
    pub fn profile_ports(mut self, yes: bool) -> Self {
        self.profile_ports = yes;
        self
    }

    /// Sets one detector's port (0 = any free port); wins over profile ports.
    pub fn port(mut self, name: &str, port: u16) -> Self {
        self.ports.insert(name.to_owned(), port);
        self
    }

    /// How long shutdown waits for in-flight requests before cutting them.
    pub fn drain_timeout(mut self, drain: Duration) -> Self {
        self.drain = drain;
        self
    }

    /// How long a client may take to send a request's headers — and how
    /// long an idle keep-alive connection stays open waiting for the next
    /// request — and, separately, its body (default 120 s). A client that
    /// stalls past it is disconnected (headers) or answered 408
    /// `body_timeout` (body), so stalled clients cannot pile up.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Requires `Authorization: Bearer <token>` on `/admin/*`. Without a
    /// token the admin API is open on loopback and disabled elsewhere.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(token.into());
        self
    }

    /// Honour `X-Mock-*` override headers on every detector, whatever their
    /// profiles say.
    pub fn allow_overrides(mut self, yes: bool) -> Self {
        self.allow_overrides = yes;
        self
    }

    /// Keys every detector's draws by `replay`, whatever their profiles say:
    /// [`Replay::Request`] (the profiles' default) gives the same logical
    /// request the same fate at any concurrency; [`Replay::Sequence`] keys
    /// draws by arrival order.
    pub fn replay(mut self, replay: Replay) -> Self {
        self.replay = Some(replay);
        self
    }

    /// Serves the outcomes recorded in `entries` (a journal saved from an
    /// earlier run, say with [`JournalEntry::parse_ndjson`]) again: each
    /// request whose key and attempt (or, for a journal recorded in
    /// sequence mode, arrival number) is in it gets exactly its recorded
    /// latency and fault; other requests draw from the profile, and both
    /// are counted in `mockdet_replay_events_total`. Entries name their
    /// detector; entries without a name go to a fleet's only detector.
    pub fn replay_journal(mut self, entries: impl IntoIterator<Item = JournalEntry>) -> Self {
        self.journal.extend(entries);
        self
    }

    /// Binds every listener, then starts serving. When this returns, every
    /// URL is valid.
    pub async fn start(self) -> Result<Fleet, FleetError> {
        if self.profiles.is_empty() {
            return Err(FleetError::Empty);
        }
        let seed = self.seed.unwrap_or_else(|| {
            let seed = entropy_seed();
            tracing::info!(seed, "no seed given; replay this run with --seed {seed}");
            seed
        });
        let metrics = Metrics::new();
        let mut books = self.books()?;
        let mut bound = Vec::with_capacity(self.profiles.len());
        for (i, profile) in self.profiles.iter().enumerate() {
            if let Some(first) = self.profiles[..i].iter().find(|p| p.name == profile.name) {
                return Err(FleetError::DuplicateName {
                    name: profile.name.clone(),
                    first: first.origin(),
                    second: profile.origin(),
                });
            }
            let addr = SocketAddr::new(self.bind, self.port_of(profile));
            let listener = server::bind(addr).map_err(|source| FleetError::Bind {
                detector: profile.name.clone(),
                addr,
                source,
            })?;
            let addr = listener.local_addr().map_err(|source| FleetError::Bind {
                detector: profile.name.clone(),
                addr,
                source,
            })?;
            let mut profile = profile.clone();
            profile.allow_overrides |= self.allow_overrides;
            if let Some(replay) = self.replay {
                profile.replay = replay;
            }
            let access = AdminAccess::for_bind(self.bind, self.admin_token.clone());
            let mut state = DetectorState::new(profile.clone(), seed, metrics.clone(), access)?
                .with_read_timeout(self.read_timeout);
            if let Some(book) = books.remove(&profile.name) {
                state = state.with_book(book);
            }
            let detector = Detector {
                name: profile.name.clone(),
                addr,
                state: Arc::new(state),
            };
            bound.push((detector, listener));
        }
        Ok(Fleet::serve(bound, seed, self.drain))
    }

    /// The journal to replay, split by detector and checked.
    fn books(&self) -> Result<HashMap<String, ReplayBook>, FleetError> {
        let only = match self.profiles.as_slice() {
            [only] => Some(only.name.as_str()),
            _ => None,
        };
        let mut by_detector: HashMap<&str, Vec<&JournalEntry>> = HashMap::new();
        for entry in &self.journal {
            let name = match (entry.detector.as_str(), only) {
                ("", Some(only)) => only,
                ("", None) => {
                    return Err(FleetError::Journal(format!(
                        "entry seq {} names no detector, and the fleet has {}",
                        entry.seq,
                        self.profiles.len()
                    )));
                }
                (name, _) if self.profiles.iter().any(|p| p.name == name) => name,
                (name, _) => {
                    let names: Vec<&str> = self.profiles.iter().map(|p| p.name.as_str()).collect();
                    return Err(FleetError::Journal(format!(
                        "entry seq {} is for detector `{name}`, which is not in the fleet ({})",
                        entry.seq,
                        names.join(", ")
                    )));
                }
            };
            by_detector.entry(name).or_default().push(entry);
        }
        by_detector
            .into_iter()
            .map(|(name, entries)| {
                let book = ReplayBook::new(entries)
                    .map_err(|e| FleetError::Journal(format!("detector `{name}`: {e}")))?;
                Ok((name.to_owned(), book))
            })
            .collect()
    }

    fn port_of(&self, profile: &DetectorProfile) -> u16 {
        match self.ports.get(&profile.name) {
            Some(port) => *port,
            None if self.profile_ports => profile.port,
            None => 0,
        }
    }
}

/// One running detector of a fleet.
#[derive(Debug)]
struct Detector {
    name: String,
    addr: SocketAddr,
    state: Arc<DetectorState>,
}

/// A running set of mock detectors. Dropping it stops them.
#[derive(Debug)]
pub struct Fleet {
    detectors: Vec<Detector>,
    seed: u64,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Fleet {
    /// Starts configuring a fleet.
    pub fn builder() -> FleetBuilder {
        FleetBuilder::new()
    }

    fn serve(bound: Vec<(Detector, tokio::net::TcpListener)>, seed: u64, drain: Duration) -> Self {
        let (shutdown, _) = watch::channel(false);
        let mut detectors = Vec::with_capacity(bound.len());
        let mut tasks = Vec::with_capacity(bound.len());
        for (detector, listener) in bound {
            let service = detector::DetectorService::new(detector.state.clone());
            tracing::info!(detector = %detector.name, addr = %detector.addr, "listening");
            let stop = shutdown.subscribe();
            tasks.push(tokio::spawn(server::serve(listener, service, stop, drain)));
            detectors.push(detector);
        }
        Self {
            detectors,
            seed,
            shutdown,
            tasks,
        }
    }

    fn find(&self, name: &str) -> &Detector {
        self.detectors
            .iter()
            .find(|d| d.name == name)
            .unwrap_or_else(|| {
                let names: Vec<&str> = self.names().collect();
                panic!(
                    "no detector `{name}` in this fleet (it has: {})",
                    names.join(", ")
                )
            })
    }

    /// The base URL of a detector, e.g. `http://127.0.0.1:41234`.
    ///
    /// # Panics
    /// On an unknown name, listing the names the fleet has.
    pub fn url(&self, name: &str) -> String {
        url_of(self.find(name).addr)
    }

    /// Runtime control of one detector: outages, next-N faults, scripts,
    /// profile changes and its request journal.
    ///
    /// # Panics
    /// On an unknown name, listing the names the fleet has.
    pub fn detector(&self, name: &str) -> DetectorHandle {
        let detector = self.find(name);
        DetectorHandle {
            state: detector.state.clone(),
            url: url_of(detector.addr),
        }
    }

    /// The bound address of a detector.
    ///
    /// # Panics
    /// On an unknown name, listing the names the fleet has.
    pub fn addr(&self, name: &str) -> SocketAddr {
        self.find(name).addr
    }

    /// The detectors' names, in the order they were added.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.detectors.iter().map(|d| d.name.as_str())
    }

    /// `(name, url)` of every detector, in order.
    pub fn urls(&self) -> Vec<(String, String)> {
        self.detectors
            .iter()
            .map(|d| (d.name.clone(), url_of(d.addr)))
            .collect()
    }

    /// The seed every detector draws from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Every detector's journal, detector by detector in the order they
    /// were added, each in sequence order: what to save when a test fails
    /// ([`JournalEntry::to_ndjson`]) and replay later with
    /// [`FleetBuilder::replay_journal`].
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.detectors
            .iter()
            .flat_map(|d| d.state.journal.read(0, usize::MAX))
            .collect()
    }

    /// The fleet's metrics in the Prometheus text format (all detectors).
    pub fn render_metrics(&self) -> String {
        for detector in &self.detectors {
            detector.state.refresh_gauges();
        }
        self.detectors
            .first()
            .map(|d| d.state.metrics.render(None))
            .unwrap_or_default()
    }

    /// Stops accepting, waits for in-flight requests up to the drain
    /// timeout, cuts the rest, and returns when every listener is closed.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks.drain(..) {
            if let Err(error) = task.await {
                tracing::warn!(%error, "a detector task ended abnormally");
            }
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // The serve loops see this and drain on their own.
        let _ = self.shutdown.send(true);
    }
}

fn url_of(addr: SocketAddr) -> String {
    format!("http://{addr}")
}
