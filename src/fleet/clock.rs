//! Sub-millisecond answer deadlines.
//!
//! tokio's timer wheel ticks once a millisecond and rounds every deadline
//! up to the next tick, and its driver sleeps in `epoll_wait`, whose timeout
//! is whole milliseconds (rounded up again): an answer due at `t` leaves
//! somewhere in `[t, t + 2 ms)`, about 1.4 ms late at the median (see
//! BENCHMARKS.md). [`sleep_until`] sleeps with tokio until [`COARSE_MARGIN`]
//! before the deadline, then waits for the rest on a Linux `timerfd` armed
//! with nanosecond resolution and registered with tokio's own reactor: the
//! worker's `epoll_wait` returns the moment it fires, with no extra thread
//! and no cross-thread wake-up.
//!
//! A tokio sleep to the same deadline races the timerfd, and the timerfd
//! only ends the wait once *tokio's* clock has reached the deadline, so paused
//! time in tests behaves exactly as with `tokio::time::sleep_until`: never
//! early, and auto-advance still completes it. Off Linux, or if a timerfd
//! cannot be made (out of descriptors), the tokio sleep alone does the work.

use std::time::Duration;

use tokio::time::Instant;

/// How long before the deadline the coarse tokio sleep hands over: two
/// ticks, since tokio may wake up to 2 ms after what it was asked for.
const COARSE_MARGIN: Duration = Duration::from_millis(2);

/// Sleeps until `deadline`, waking within a fraction of a millisecond of it.
pub(crate) async fn sleep_until(deadline: Instant) {
    let now = Instant::now();
    if now >= deadline {
        return;
    }
    if let Some(coarse) = deadline.checked_sub(COARSE_MARGIN) {
        if coarse > now {
            tokio::time::sleep_until(coarse).await;
        }
    }
    tokio::select! {
        biased;
        () = precise(deadline) => {}
        () = tokio::time::sleep_until(deadline) => {}
    }
}

/// Waits on a timerfd, then — only if tokio's clock agrees the deadline has
/// passed — completes; otherwise (paused time, or no timerfd) never does,
/// leaving the racing tokio sleep to end the wait.
async fn precise(deadline: Instant) {
    if timerfd::wait_until(deadline.into_std()).await.is_ok() && Instant::now() >= deadline {
        return;
    }
    std::future::pending::<()>().await;
}

#[cfg(target_os = "linux")]
mod timerfd {
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;

    /// Waits until the monotonic clock reaches `at`.
    pub(super) async fn wait_until(at: std::time::Instant) -> io::Result<()> {
        let timer = AsyncFd::with_interest(arm(at)?, Interest::READABLE)?;
        // Readable means expired; the expiry count is not needed, and the
        // descriptor is closed (and deregistered) when `timer` drops.
        let _ready = timer.readable().await?;
        Ok(())
    }

    /// A non-blocking one-shot timerfd that expires at `at`.
    fn arm(at: std::time::Instant) -> io::Result<OwnedFd> {
        let flags = libc::TFD_NONBLOCK | libc::TFD_CLOEXEC;
        // SAFETY: plain syscall; the result is checked before use.
        let raw = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, flags) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor we just created and own alone.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // std's Instant is CLOCK_MONOTONIC too, so a relative time is exact
        // up to the few nanoseconds between here and the syscall. All-zero
        // would disarm the timer: at least 1 ns.
        let left = at.saturating_duration_since(std::time::Instant::now());
        let value = libc::timespec {
            tv_sec: left.as_secs().try_into().unwrap_or(libc::time_t::MAX),
            // Below 1e9: fits every `c_long`.
            tv_nsec: left.subsec_nanos().max(1) as libc::c_long,
        };
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let spec = libc::itimerspec {
            it_interval: zero,
            it_value: value,
        };
        // SAFETY: `spec` lives across the call; the old value is not wanted.
        let rc = unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(fd)
    }
}

#[cfg(not(target_os = "linux"))]
mod timerfd {
    /// No timerfd here: the racing tokio sleep does all the work.
    pub(super) async fn wait_until(_at: std::time::Instant) -> std::io::Result<()> {
        Err(std::io::Error::other("timerfd is Linux-only"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_deadline_in_the_past_returns_at_once() {
        let start = std::time::Instant::now();
        sleep_until(Instant::now() - Duration::from_millis(5)).await;
        assert!(start.elapsed() < Duration::from_millis(50));
    }

    #[tokio::test]
    async fn it_never_wakes_early() {
        let mut late = Vec::new();
        for _ in 0..20 {
            let deadline = Instant::now() + Duration::from_millis(7);
            sleep_until(deadline).await;
            let now = Instant::now();
            assert!(now >= deadline, "woke {:?} early", deadline - now);
            late.push(now - deadline);
        }
        late.sort();
        // Only sanity: a loaded machine may be late, never absurdly so.
        assert!(late[10] < Duration::from_millis(50), "{late:?}");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_timerfd_fires_on_time() {
        let at = std::time::Instant::now() + Duration::from_millis(3);
        timerfd::wait_until(at).await.unwrap();
        assert!(std::time::Instant::now() >= at);
    }

    #[tokio::test(start_paused = true)]
    async fn paused_time_still_auto_advances() {
        let deadline = Instant::now() + Duration::from_secs(3600);
        let real = std::time::Instant::now();
        sleep_until(deadline).await;
        assert!(Instant::now() >= deadline);
        assert!(real.elapsed() < Duration::from_secs(5));
    }
}
