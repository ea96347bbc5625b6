//! The machinery scenarios share: sending one request to the orchestrator,
//! one request under an injected fault with the calls it caused
//! ([`Auditor::exchange`]), and steady open-loop load with a watch on the
//! faulted detector's call rate ([`Load`], [`Auditor::wait_for_rate`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use mockdet::profile::FaultSpec;
use reqwest::header::CONTENT_TYPE;

use super::contract::{Answer, Shape};
use super::error::AuditError;
use super::fleet::{Detector, FleetDriver, Seen, describe};
use super::judge::Rate;
use super::options::AuditOptions;
use super::report::Evidence;

/// Calls are journaled when answered: rates are read this far behind now.
const LAG: Duration = Duration::from_millis(300);
/// The window a call rate is measured over.
const WINDOW: Duration = Duration::from_secs(1);
/// How long after a change in call rate [`Auditor::wait_for_rate`] may
/// take to see it: the window, the lag, a poll and some room for a busy
/// machine. Added to every bound the scenarios judge by.
pub(crate) const DETECTION: Duration = Duration::from_millis(2000);

/// Sends detection requests to the orchestrator, each with a fresh
/// correlation id. Cheap to clone (for load tasks).
#[derive(Debug, Clone)]
pub(crate) struct Sender {
    client: reqwest::Client,
    url: String,
    shape: Shape,
    detectors: Arc<Vec<String>>,
    tenant: String,
    api_key: Option<(String, String)>,
    run: String,
    counter: Arc<AtomicU64>,
}

/// One request sent and its answer.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub(crate) id: String,
    pub(crate) answer: Answer,
}

impl Sender {
    fn new(options: &AuditOptions, detectors: Vec<String>) -> Result<Self, AuditError> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .map_err(AuditError::HttpClient)?;
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        Ok(Self {
            client,
            url: format!("{}{}", options.target, options.shape.path()),
            shape: options.shape,
            detectors: Arc::new(detectors),
            tenant: options.tenant.clone(),
            api_key: options.api_key.clone(),
            run: format!("{:08x}", (nanos as u64 ^ (nanos >> 64) as u64) as u32),
            counter: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Sends one request labelled `scenario`; gives up after `timeout`.
    pub(crate) async fn send(&self, scenario: &str, timeout: Duration) -> Sent {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let id = format!("audit-{}-{scenario}-{n}", self.run);
        let content =
            format!("mockdet audit request {id}: please reach jane.doe@example.com or 555-0100");
        let body = self.shape.body(&content, &self.detectors, &self.tenant);
        let mut request = self
            .client
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .header("x-correlation-id", &id)
            .header("x-request-id", &id)
            .header("x-tenant-id", &self.tenant)
            .body(body.to_string())
            .timeout(timeout);
        if let Some((header, key)) = &self.api_key {
            request = request.header(header.as_str(), key.as_str());
        }
        let started = Instant::now();
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(bytes) => self.shape.read(status, &bytes, started.elapsed()),
                    Err(e) => Answer::failed(describe(&e), started.elapsed()),
                }
            }
            Err(e) if e.is_timeout() => Answer::failed(
                format!("no answer within the audit's {} s", timeout.as_secs()),
                started.elapsed(),
            ),
            Err(e) => Answer::failed(describe(&e), started.elapsed()),
        };
        Sent { id, answer }
    }
}

/// The audit in progress: the orchestrator, the fleet, the options.
#[derive(Debug)]
pub(crate) struct Auditor {
    pub(crate) options: AuditOptions,
    pub(crate) fleet: FleetDriver,
    pub(crate) sender: Sender,
}

/// A request sent under a fault, with the faulted detector's calls.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    pub(crate) setup: String,
    pub(crate) sent: Sent,
    pub(crate) calls: Vec<Seen>,
}

impl Case {
    pub(crate) fn attempts(&self) -> usize {
        self.calls.len()
    }

    pub(crate) fn evidence(&self) -> Evidence {
        Evidence {
            setup: self.setup.clone(),
            request: Some(self.sent.id.clone()),
            answer: Some(self.sent.answer.clone()),
            calls: self.calls.clone(),
            timeline: None,
        }
    }
}

impl Auditor {
    pub(crate) fn new(options: AuditOptions, fleet: FleetDriver) -> Result<Self, AuditError> {
        let ids = fleet
            .detectors
            .iter()
            .enumerate()
            .map(|(i, d)| options.name_for(i, &d.url, &d.detector_id))
            .collect();
        let sender = Sender::new(&options, ids)?;
        Ok(Self {
            options,
            fleet,
            sender,
        })
    }

    pub(crate) fn victim(&self) -> &Detector {
        self.fleet.victim()
    }

    /// How long to wait for one answer: well past any budget.
    pub(crate) fn answer_timeout(&self) -> Duration {
        self.options
            .sla_budget
            .map_or(Duration::from_secs(30), |k| {
                k.value * 3 + Duration::from_secs(5)
            })
    }

    /// Sends one request with nothing injected (between scenarios, so a
    /// breaker's count of consecutive failures starts afresh).
    pub(crate) async fn calm_request(&self) -> Sent {
        self.sender.send("calm", self.answer_timeout()).await
    }

    /// Forces `fault` on the faulted detector's next `count` requests, sends
    /// one request, waits for the detector's journal to settle and clears
    /// what is left of the fault.
    pub(crate) async fn exchange(
        &self,
        scenario: &str,
        setup: String,
        count: u32,
        fault: FaultSpec,
    ) -> Result<Case, AuditError> {
        let victim = self.victim();
        let mark = self.fleet.mark(victim).await?;
        self.fleet.next(victim, count, fault).await?;
        let sent = self.sender.send(scenario, self.answer_timeout()).await;
        let calls = self.settle(victim, mark).await?;
        self.fleet.clear(victim).await?;
        self.calm_request().await;
        Ok(Case { setup, sent, calls })
    }

    /// The detector's calls after `mark`, once no new one has appeared for
    /// 400 ms (at most 5 s). Requests are sent one at a time here, so every
    /// call after the mark belongs to the request just sent.
    pub(crate) async fn settle(
        &self,
        detector: &Detector,
        mark: u64,
    ) -> Result<Vec<Seen>, AuditError> {
        let give_up = Instant::now() + Duration::from_secs(5);
        let mut calls = self.fleet.since(detector, mark).await?;
        let mut quiet_since = Instant::now();
        while Instant::now() < give_up && quiet_since.elapsed() < Duration::from_millis(400) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = self.fleet.since(detector, mark).await?;
            if now.len() != calls.len() {
                calls = now;
                quiet_since = Instant::now();
            }
        }
        Ok(calls)
    }

    /// Starts open-loop load at the configured rate.
    pub(crate) fn load(&self, scenario: &'static str) -> Load {
        Load::start(
            self.sender.clone(),
            scenario,
            self.options.rate,
            self.answer_timeout(),
        )
    }

    /// Waits until the faulted detector's call rate over the last second
    /// satisfies `wanted`, or `deadline`. Returns the end of the window it
    /// was seen in, and the calls after `mark` so far. Seeing a change
    /// takes up to [`DETECTION`] after it happens.
    pub(crate) async fn wait_for_rate(
        &self,
        load: &Load,
        mark: u64,
        from: SystemTime,
        deadline: Instant,
        wanted: impl Fn(Rate) -> bool,
    ) -> Result<(Option<SystemTime>, Vec<Seen>), AuditError> {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let calls = self.fleet.since(self.victim(), mark).await?;
            let to = SystemTime::now() - LAG;
            let window_from = (to - WINDOW).max(from);
            if to > window_from {
                let rate = Rate::in_window(&load.sent(), &calls, window_from, to);
                if wanted(rate) {
                    return Ok((Some(to), calls));
                }
            }
            if Instant::now() >= deadline {
                return Ok((None, calls));
            }
        }
    }

    /// Waits for the faulted detector's first call arriving at or after
    /// `after`, until `deadline`.
    pub(crate) async fn wait_for_call(
        &self,
        mark: u64,
        after: SystemTime,
        deadline: Instant,
    ) -> Result<Option<SystemTime>, AuditError> {
        loop {
            let calls = self.fleet.since(self.victim(), mark).await?;
            if let Some(call) = calls.iter().find(|c| c.at >= after) {
                return Ok(Some(call.at));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Open-loop load: one request every 1/rate seconds, each in its own task,
/// until dropped (which aborts everything in flight).
#[derive(Debug)]
pub(crate) struct Load {
    sent: Arc<Mutex<Vec<SystemTime>>>,
    started: SystemTime,
    task: tokio::task::JoinHandle<()>,
}

impl Load {
    fn start(sender: Sender, scenario: &'static str, rate: f64, timeout: Duration) -> Self {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&sent);
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut flying = tokio::task::JoinSet::new();
            loop {
                ticks.tick().await;
                while flying.try_join_next().is_some() {}
                log.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(SystemTime::now());
                let sender = sender.clone();
                flying.spawn(async move { sender.send(scenario, timeout).await });
            }
        });
        Self {
            sent,
            started: SystemTime::now(),
            task,
        }
    }

    /// When each request so far was sent.
    pub(crate) fn sent(&self) -> Vec<SystemTime> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// When the load started.
    pub(crate) fn started(&self) -> SystemTime {
        self.started
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.task.abort();
    }
}
