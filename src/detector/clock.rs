//! Sub-millisecond answer deadlines.
//!
//! tokio's timer wheel ticks once a millisecond and rounds every deadline
//! up to the next tick, and its driver sleeps in `epoll_wait`, whose timeout
//! is whole milliseconds (rounded up again): an answer due at `t` leaves
//! somewhere in `[t, t + 2 ms)`, about 1.4 ms late at the median (see
//! BENCHMARKS.md). [`sleep_until`] sleeps with tokio until [`COARSE_MARGIN`]
//! before the deadline, then hands the last stretch to one process-wide
//! thread that waits on a condition variable with a nanosecond timeout (an
//! hrtimer, timer slack 1 µs) and wakes the task on time.
//!
//! Deadlines are rounded up to a [`GRID`] of 500 µs before they reach the
//! thread, so answers due close together share one wake-up: the thread
//! wakes at most 2,000 times a second however many requests are due, and an
//! answer is at most 500 µs later than asked for (plus scheduling). Each
//! wake-up costs CPU (on the benchmark's VM about 70 µs of server time, most
//! of it waking an idle core), so the grid trades precision for CPU: at
//! 250 µs the server used 0.53 of a core for 5,000 answers/s, at 500 µs
//! 0.38, at 1 ms 0.31 (tokio alone: 0.28) — see BENCHMARKS.md.
//!
//! A tokio sleep to the same deadline races the precise wake-up, and the
//! wait only ends once *tokio's* clock has reached the deadline, so paused
//! time in tests behaves exactly as with `tokio::time::sleep_until`: never
//! early, and auto-advance still completes it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::time::Instant;

/// How long before the deadline the tokio sleep hands over: two ticks,
/// since tokio may wake up to 2 ms after what it was asked for.
const COARSE_MARGIN: Duration = Duration::from_millis(2);

/// Precise wake-ups happen on this grid, so close deadlines share one.
const GRID: Duration = Duration::from_micros(500);

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
        () = Wake::new(deadline) => {}
        () = tokio::time::sleep_until(deadline) => {}
    }
}

/// `at` rounded up to the next multiple of `grid` counted from `epoch`
/// (instants before `epoch` are left alone).
fn round_up(
    at: std::time::Instant,
    epoch: std::time::Instant,
    grid: Duration,
) -> std::time::Instant {
    let Some(offset) = at.checked_duration_since(epoch) else {
        return at;
    };
    let grid_ns = grid.as_nanos().max(1);
    let steps = offset.as_nanos().div_ceil(grid_ns);
    let rounded = Duration::from_nanos(u64::try_from(steps * grid_ns).unwrap_or(u64::MAX));
    epoch.checked_add(rounded).unwrap_or(at)
}

/// Completes once tokio's clock reaches `deadline`, after asking the timer
/// thread for a wake-up then. It asks once: a wake-up that comes early, as
/// it can under paused test time, leaves the racing tokio sleep to end the
/// wait rather than registering again (which would spin).
struct Wake {
    deadline: Instant,
    registered: bool,
}

impl Wake {
    fn new(deadline: Instant) -> Self {
        Self {
            deadline,
            registered: false,
        }
    }
}

impl Future for Wake {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        if !self.registered {
            self.registered = true;
            if let Some(timer) = Timer::get() {
                let at = round_up(self.deadline.into_std(), timer.epoch, GRID);
                timer.wake_at(at, cx.waker().clone());
            }
        }
        Poll::Pending
    }
}

/// A pending wake-up, ordered by time then by arrival.
struct Entry {
    at: std::time::Instant,
    order: u64,
    waker: Waker,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.order).cmp(&(other.at, other.order))
    }
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<Entry>>,
    next_order: u64,
}

/// The process-wide timer thread and its wake-ups. It only ever holds the
/// last [`COARSE_MARGIN`] of each sleep, so the heap stays small.
struct Timer {
    epoch: std::time::Instant,
    queue: Mutex<Queue>,
    changed: Condvar,
}

impl Timer {
    /// The timer, starting its thread on first use; `None` if the thread
    /// cannot be started (the tokio sleep then does all the work).
    fn get() -> Option<&'static Timer> {
        static TIMER: OnceLock<Option<&'static Timer>> = OnceLock::new();
        *TIMER.get_or_init(|| {
            let timer: &'static Timer = Box::leak(Box::new(Timer {
                epoch: std::time::Instant::now(),
                queue: Mutex::default(),
                changed: Condvar::new(),
            }));
            let started = std::thread::Builder::new()
                .name("mockdet-clock".into())
                .spawn(move || timer.run());
            match started {
                Ok(_) => Some(timer),
                Err(error) => {
                    tracing::warn!(%error, "no precise timer; answers use tokio's 1 ms timer");
                    None
                }
            }
        })
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Only pushes and pops happen under the lock; a panic cannot leave
        // the heap half-updated, so a poisoned lock is still usable.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wake_at(&self, at: std::time::Instant, waker: Waker) {
        let mut queue = self.lock();
        let earliest = queue.heap.peek().is_none_or(|Reverse(e)| at < e.at);
        let order = queue.next_order;
        queue.next_order = order.wrapping_add(1);
        queue.heap.push(Reverse(Entry { at, order, waker }));
        drop(queue);
        if earliest {
            self.changed.notify_one();
        }
    }

    fn run(&self) {
        tighten_timer_slack();
        let mut due = Vec::new();
        let mut queue = self.lock();
        loop {
            let now = std::time::Instant::now();
            while queue.heap.peek().is_some_and(|Reverse(e)| e.at <= now) {
                if let Some(Reverse(entry)) = queue.heap.pop() {
                    due.push(entry.waker);
                }
            }
            if !due.is_empty() {
                // Wake outside the lock: waking can take a while.
                drop(queue);
                due.drain(..).for_each(Waker::wake);
                queue = self.lock();
                continue;
            }
            let wait = queue.heap.peek().map(|Reverse(e)| e.at - now);
            queue = match wait {
                None => self.changed.wait(queue).unwrap_or_else(|p| p.into_inner()),
                Some(wait) => match self.changed.wait_timeout(queue, wait) {
                    Ok((queue, _)) => queue,
                    Err(poisoned) => poisoned.into_inner().0,
                },
            };
        }
    }
}

/// Asks the kernel to fire this thread's timeouts within 1 µs instead of
/// the default 50 µs of slack.
fn tighten_timer_slack() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK takes a number of nanoseconds and touches no
    // memory.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1_000);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_round_up_to_the_grid() {
        let epoch = std::time::Instant::now();
        let us = Duration::from_micros;
        assert_eq!(round_up(epoch + us(1), epoch, us(250)), epoch + us(250));
        assert_eq!(round_up(epoch + us(250), epoch, us(250)), epoch + us(250));
        assert_eq!(round_up(epoch + us(251), epoch, us(250)), epoch + us(500));
        assert_eq!(round_up(epoch, epoch, us(250)), epoch);
    }

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

    #[tokio::test(start_paused = true)]
    async fn paused_time_still_auto_advances() {
        let deadline = Instant::now() + Duration::from_secs(3600);
        let real = std::time::Instant::now();
        sleep_until(deadline).await;
        assert!(Instant::now() >= deadline);
        assert!(real.elapsed() < Duration::from_secs(5));
    }
}
