//! Runtime fault control of one detector: outage windows (asked for now or
//! scheduled in the profile), "the next N requests", phased scripts and
//! Gilbert–Elliott bursts — and the request journal.
//!
//! Every request asks `Control::impose` what, if anything, overrides its
//! profile. Precedence, strongest first: a pending `next` fault, an active
//! outage window (the latest opened wins), the current script phase, the
//! burst model's bad state, then the profile itself. Decisions that need
//! chance draw from a generator keyed apart from the request's own draws, so
//! imposing a fault never shifts what the profile would have drawn.

pub(crate) mod attempts;
pub(crate) mod book;
mod burst;
pub(crate) mod journal;
mod ready;

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rand::Rng;
use serde::Serialize;
use tokio::time::Instant;

use crate::profile::{Fault, FieldError, HangEnd, MsRange, Outage, OutageMode, Script};
use crate::sampling::rng::SeedKey;
use crate::sampling::{Behaviour, Imposed};
use burst::BurstChain;
use ready::ReadyPhase;

/// Salts that key control's generators apart from the requests' own.
const WINDOW_SALT: u64 = 0x6f75_7461_6765_2121;
const BURST_SALT: u64 = 0x6275_7273_7473_2121;

/// An outage window, open from `from` until `until`.
#[derive(Debug, Clone)]
struct Window {
    outage: Outage,
    from: Instant,
    until: Instant,
}

/// A script being run.
#[derive(Debug, Clone)]
struct RunningScript {
    spec: Script,
    phases: Vec<ReadyPhase>,
    started: Instant,
}

/// Where a running script is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ScriptStatus {
    /// Index of the current phase.
    pub phase: usize,
    /// Number of phases.
    pub phases: usize,
    /// Milliseconds left in the current phase.
    pub remaining_ms: u64,
    /// Whether the script loops.
    pub looped: bool,
    /// How many full passes have completed.
    pub passes: u64,
}

#[derive(Debug, Default)]
struct Inner {
    windows: Vec<Window>,
    next: Option<(u32, Fault)>,
    script: Option<RunningScript>,
    bursts: BurstChain,
}

/// Runtime fault state of one detector.
#[derive(Debug)]
pub(crate) struct Control {
    started: Instant,
    window_key: SeedKey,
    burst_key: SeedKey,
    // std Mutex: held only for short, synchronous bookkeeping, never across
    // an await, so it is cheaper than an async lock and cannot deadlock one.
    inner: Mutex<Inner>,
}

impl Control {
    pub(crate) fn new(seed: u64, detector_id: &str) -> Self {
        Self {
            started: Instant::now(),
            window_key: SeedKey::new(seed ^ WINDOW_SALT, detector_id),
            burst_key: SeedKey::new(seed ^ BURST_SALT, detector_id),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing in the critical sections panics; if one did, the state is
        // still a plain value worth keeping.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Decides what overrides request number `seq`, drawing from generator
    /// stream `stream`, arriving at `now`. Whether a partial outage hits it
    /// is drawn from its stream (so in request mode the same requests are
    /// hit); bursts follow arrival order.
    pub(crate) fn impose(
        &self,
        behaviour: &Behaviour,
        (seq, stream): (u64, u64),
        now: Instant,
    ) -> Imposed {
        let mut inner = self.lock();
        if let Some((remaining, fault)) = inner.next.as_mut() {
            let fault = fault.clone();
            *remaining -= 1;
            if *remaining == 0 {
                inner.next = None;
            }
            return Imposed {
                fault: Some(fault),
                source: Some("next"),
                ..Imposed::default()
            };
        }
        // An `unhealthy` window touches `/health` only.
        let for_requests = |w: &Window| w.outage.mode != OutageMode::Unhealthy;
        if let Some(window) = self.active_window(&inner, behaviour, now, for_requests) {
            let applies = window.outage.probability >= 1.0
                || self.window_key.rng(stream).random::<f64>() < window.outage.probability;
            if applies {
                return window_imposition(&window, now);
            }
        }
        if let Some(phase) = current_phase(inner.script.as_ref(), now) {
            return Imposed {
                menu: phase.menu.clone(),
                latency: phase.latency.clone(),
                source: Some("script"),
                ..Imposed::default()
            };
        }
        if let Some(bursts) = &behaviour.bursts {
            if inner.bursts.is_bad(seq, bursts, &self.burst_key) {
                return Imposed {
                    menu: Some(bursts.menu.clone()),
                    source: Some("burst"),
                    ..Imposed::default()
                };
            }
        }
        Imposed::default()
    }

    /// The window in force at `now` among those `relevant`: the latest
    /// opened, runtime or scheduled.
    fn active_window(
        &self,
        inner: &Inner,
        behaviour: &Behaviour,
        now: Instant,
        relevant: impl Fn(&Window) -> bool,
    ) -> Option<Window> {
        let scheduled = behaviour.schedule.iter().map(|(at, outage)| Window {
            outage: outage.clone(),
            from: self.started + *at,
            until: self.started + *at + Duration::from_millis(outage.duration_ms),
        });
        inner
            .windows
            .iter()
            .cloned()
            .chain(scheduled)
            .filter(|w| w.from <= now && now < w.until && relevant(w))
            .max_by_key(|w| w.from)
    }

    /// Whether `/health` should say unhealthy now.
    pub(crate) fn unavailable(&self, behaviour: &Behaviour) -> bool {
        let inner = self.lock();
        let now = Instant::now();
        let unhealthy = |w: &Window| w.outage.mode == OutageMode::Unhealthy;
        let for_requests = |w: &Window| !unhealthy(w);
        self.active_window(&inner, behaviour, now, unhealthy)
            .is_some()
            || self
                .active_window(&inner, behaviour, now, for_requests)
                .is_some_and(|w| w.outage.mode == OutageMode::Unavailable)
    }

    /// Opens an outage window now. The caller has checked it.
    pub(crate) fn open_window(&self, outage: Outage) {
        let from = Instant::now();
        let until = from + Duration::from_millis(outage.duration_ms);
        let mut inner = self.lock();
        inner.windows.retain(|w| w.until > from);
        inner.windows.push(Window {
            outage,
            from,
            until,
        });
    }

    /// Forces `fault` on the next `count` requests (replacing a pending one).
    pub(crate) fn fail_next(&self, count: u32, fault: Fault) {
        self.lock().next = (count > 0).then_some((count, fault));
    }

    /// Starts a script now (replacing a running one).
    pub(crate) fn run_script(&self, spec: Script) -> Result<(), FieldError> {
        let phases = spec.ready()?;
        self.lock().script = Some(RunningScript {
            spec,
            phases,
            started: Instant::now(),
        });
        Ok(())
    }

    /// Where the script is, if one is running.
    pub(crate) fn script_status(&self) -> Option<ScriptStatus> {
        let inner = self.lock();
        let script = inner.script.as_ref()?;
        let (phase, remaining, passes) = locate(script, Instant::now())?;
        Some(ScriptStatus {
            phase,
            phases: script.phases.len(),
            remaining_ms: remaining.as_millis() as u64,
            looped: script.spec.looped,
            passes,
        })
    }

    /// Clears windows, scripts and pending `next` faults (not the schedule).
    pub(crate) fn clear(&self) {
        let mut inner = self.lock();
        inner.windows.clear();
        inner.next = None;
        inner.script = None;
    }

    /// Clears everything, including the burst chain (sequence numbers restart).
    pub(crate) fn reset(&self) {
        *self.lock() = Inner::default();
    }

    /// Open windows per mode, runtime and scheduled, at `now`.
    pub(crate) fn open_windows(&self, behaviour: &Behaviour) -> Vec<(OutageMode, usize)> {
        let now = Instant::now();
        let inner = self.lock();
        let scheduled = behaviour.schedule.iter().filter(|(at, outage)| {
            let from = self.started + *at;
            from <= now && now < from + Duration::from_millis(outage.duration_ms)
        });
        OutageMode::ALL
            .iter()
            .map(|mode| {
                let runtime = inner
                    .windows
                    .iter()
                    .filter(|w| w.outage.mode == *mode && w.from <= now && now < w.until)
                    .count();
                let planned = scheduled.clone().filter(|(_, o)| o.mode == *mode).count();
                (*mode, runtime + planned)
            })
            .collect()
    }
}

/// What an open window does to a request arriving at `now`.
fn window_imposition(window: &Window, now: Instant) -> Imposed {
    let outage = &window.outage;
    let left = window.until.saturating_duration_since(now);
    let (fault, immediate) = match outage.mode {
        OutageMode::Unavailable => (
            Some(Fault::HttpError {
                status: outage.status_or_default(),
                retry_after_s: Some(left.as_secs_f64().ceil().max(1.0) as u32),
            }),
            true,
        ),
        OutageMode::Hang => (
            Some(Fault::Hang {
                hold: MsRange::Fixed(left.as_secs_f64() * 1000.0),
                end: HangEnd::Close,
            }),
            true,
        ),
        OutageMode::Reset => (Some(Fault::Reset), true),
        OutageMode::Errors => (
            Some(Fault::HttpError {
                status: outage.status_or_default(),
                retry_after_s: None,
            }),
            false,
        ),
        OutageMode::Slow | OutageMode::Unhealthy => (None, false),
    };
    let extra_ms = match outage.mode {
        OutageMode::Slow => outage.extra_ms.unwrap_or(2000.0),
        _ => 0.0,
    };
    Imposed {
        fault,
        immediate,
        extra_delay: crate::sampling::ms(extra_ms),
        source: Some(match outage.mode {
            OutageMode::Unavailable => "outage:unavailable",
            OutageMode::Hang => "outage:hang",
            OutageMode::Reset => "outage:reset",
            OutageMode::Errors => "outage:errors",
            OutageMode::Slow => "outage:slow",
            OutageMode::Unhealthy => "outage:unhealthy",
        }),
        ..Imposed::default()
    }
}

/// (phase index, time left in it, completed passes) at `now`, or `None`
/// once a one-shot script has finished.
fn locate(script: &RunningScript, now: Instant) -> Option<(usize, Duration, u64)> {
    let total: Duration = script.phases.iter().map(|p| p.duration).sum();
    let mut elapsed = now.saturating_duration_since(script.started);
    let passes = (elapsed.as_nanos() / total.as_nanos().max(1)) as u64;
    if passes > 0 && !script.spec.looped {
        return None;
    }
    elapsed = Duration::from_nanos((elapsed.as_nanos() % total.as_nanos().max(1)) as u64);
    for (i, phase) in script.phases.iter().enumerate() {
        if elapsed < phase.duration {
            return Some((i, phase.duration - elapsed, passes));
        }
        elapsed -= phase.duration;
    }
    None
}

fn current_phase(script: Option<&RunningScript>, now: Instant) -> Option<&ReadyPhase> {
    let script = script?;
    let (index, _, _) = locate(script, now)?;
    script.phases.get(index)
}

/// A runtime control request that was refused (the fault state is unchanged).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("field `{field}`: {reason}")]
pub struct ControlError {
    /// Dotted path of the offending field, e.g. `fault.status`.
    pub field: String,
    /// Why it was refused.
    pub reason: String,
}

impl From<FieldError> for ControlError {
    fn from(e: FieldError) -> Self {
        Self {
            field: e.field,
            reason: e.reason,
        }
    }
}
