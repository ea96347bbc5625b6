//! Bounded waits on observable state, the one place a test pauses between
//! looks. A test never sleeps hoping something has happened: it polls what
//! it can see (a journal, a gauge, a health answer, a child's exit) until
//! that holds or a deadline passes, and then fails saying what it waited for.
//!
//! Shared by the root tests (through `tests/common`), the `mockdet` binary's
//! tests (through `#[path]`) and the orchestrator's (through `#[path]`).
#![allow(dead_code)]

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// How often the waits look again: short, since what they poll is local and
/// cheap, and a timing assertion may follow the wait.
pub const POLL: Duration = Duration::from_millis(5);

/// Calls `check` every [`POLL`] until it returns `Some`, or returns `None`
/// once `limit` has passed. Blocking: for tests without a runtime.
pub fn eventually<T>(limit: Duration, check: impl FnMut() -> Option<T>) -> Option<T> {
    eventually_every(POLL, limit, check)
}

/// [`eventually`], looking every `every` (for checks that cost something,
/// such as queries to a real Prometheus).
pub fn eventually_every<T>(
    every: Duration,
    limit: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(every);
    }
}

/// Awaits `check` every [`POLL`] until it returns `Some`, or returns `None`
/// once `limit` has passed; a check still running at the deadline is
/// dropped, so the wait is bounded even if one look hangs.
pub async fn eventually_async<T>(
    limit: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> Option<T> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, check()).await {
            Ok(Some(value)) => return Some(value),
            Ok(None) if tokio::time::Instant::now() < deadline => {}
            Ok(None) | Err(_) => return None,
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The exit status of `child` once it has exited, or `None` if it is still
/// running after `limit`.
pub fn exit_within(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    eventually(limit, || {
        child
            .try_wait()
            .unwrap_or_else(|e| panic!("cannot wait for process {}: {e}", child.id()))
    })
}
