//! The operating-system knobs the benchmark needs and std does not offer:
//! CPU pinning (`sched_setaffinity`), the open-file limit (`setrlimit`), a
//! parent-death signal for children, and a description of the machine.
//!
//! Linux only; elsewhere pinning and limits are reported as unavailable and
//! the benchmark runs unpinned.

use std::io;
use std::time::Duration;

/// The CPUs this process may run on, in ascending order.
#[cfg(target_os = "linux")]
pub(crate) fn allowed_cpus() -> io::Result<Vec<usize>> {
    // SAFETY: `set` is a plain bitmask owned by this frame and its size is
    // passed along; the kernel only writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect())
    }
}

/// Restricts the calling thread (and every thread or child it creates from
/// now on) to `cpu`. Async-signal-safe: usable between fork and exec.
#[cfg(target_os = "linux")]
pub(crate) fn pin_to(cpu: usize) -> io::Result<()> {
    // SAFETY: as in `allowed_cpus`; `sched_setaffinity` is a bare syscall.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Asks the kernel to SIGKILL the calling process when its parent dies, so
/// a benchmark killed outright leaves no server behind. Async-signal-safe.
#[cfg(target_os = "linux")]
pub(crate) fn die_with_parent() -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number and touches no memory.
    let rc = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets the calling thread's timer slack to 1 µs (the default, 50 µs, is
/// how late the kernel may wake a sleeping thread to batch wake-ups).
#[cfg(target_os = "linux")]
pub(crate) fn fine_timer_slack() -> io::Result<()> {
    // SAFETY: PR_SET_TIMERSLACK takes a number of nanoseconds and touches
    // no memory.
    let rc = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn fine_timer_slack() -> io::Result<()> {
    Err(io::Error::other("timer slack is set on Linux only"))
}

/// The soft open-file limit (the `mockdet` binary raises it to the hard
/// limit at start, and the servers the benchmark spawns inherit it).
#[cfg(target_os = "linux")]
pub(crate) fn nofile_limit() -> io::Result<u64> {
    // SAFETY: `limit` is a plain struct owned by this frame.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(limit.rlim_cur)
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn nofile_limit() -> io::Result<u64> {
    Err(io::Error::other("RLIMIT_NOFILE is read on Linux only"))
}

/// Resident memory of a process, from `/proc/PID/status`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Memory {
    /// `VmRSS`: resident now, in MiB.
    pub(crate) rss_mib: f64,
    /// `VmHWM`: the peak resident size so far, in MiB.
    pub(crate) peak_mib: f64,
}

/// Reads [`Memory`] of process `pid`.
pub(crate) fn memory(pid: u32) -> io::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_memory(&status)
        .ok_or_else(|| io::Error::other(format!("no VmRSS/VmHWM in /proc/{pid}/status")))
}

/// Extracts `VmRSS` and `VmHWM` (kB) from a `/proc/PID/status` text.
pub(crate) fn parse_memory(status: &str) -> Option<Memory> {
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: f64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib / 1024.0)
    };
    Some(Memory {
        rss_mib: field("VmRSS:")?,
        peak_mib: field("VmHWM:")?,
    })
}

/// CPU time (user + system) process `pid` has used so far, all threads.
pub(crate) fn cpu_time(pid: u32) -> io::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let ticks = parse_cpu_ticks(&stat)
        .ok_or_else(|| io::Error::other(format!("cannot parse /proc/{pid}/stat")))?;
    Ok(Duration::from_secs_f64(
        ticks as f64 / clock_ticks_per_second(),
    ))
}

/// `utime + stime` (clock ticks) from a `/proc/PID/stat` line. The command
/// name may contain spaces and parentheses, so fields count from the last `)`.
pub(crate) fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After `)`: state is field 3 of the man page, so utime (14) and stime
    // (15) are at indexes 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(target_os = "linux")]
fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

#[cfg(not(target_os = "linux"))]
fn clock_ticks_per_second() -> f64 {
    100.0
}

/// Measures how busy some processes are over an interval: CPU time used
/// divided by wall time (1.0 = one CPU fully busy).
#[derive(Debug, Clone)]
pub(crate) struct CpuMeter {
    start: std::time::Instant,
    used: Vec<(u32, Duration)>,
}

impl CpuMeter {
    /// Starts measuring `pids`.
    pub(crate) fn start(pids: &[u32]) -> Self {
        let used = pids
            .iter()
            .map(|&pid| (pid, cpu_time(pid).unwrap_or_default()))
            .collect();
        Self {
            start: std::time::Instant::now(),
            used,
        }
    }

    /// Utilisation of each pid since [`CpuMeter::start`] (NaN if unreadable).
    pub(crate) fn utilisation(&self) -> Vec<f64> {
        let wall = self.start.elapsed().as_secs_f64();
        self.used
            .iter()
            .map(|&(pid, before)| match cpu_time(pid) {
                Ok(now) => now.saturating_sub(before).as_secs_f64() / wall,
                Err(_) => f64::NAN,
            })
            .collect()
    }
}

/// The 1-minute load average: how busy the machine was around a run.
pub(crate) fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Connections waiting in the accept queue of the listening socket on
/// `port` (both `/proc/net/tcp` and `tcp6`): ones the kernel completed but
/// the server has not accepted. `None` if no such listener is found.
pub(crate) fn accept_queue(port: u16) -> Option<u64> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .find_map(|table| parse_accept_queue(&table, port))
}

/// The `rx_queue` of the LISTEN (`0A`) row for `port` in a `/proc/net/tcp`
/// table; for a listener that is its accept-queue length.
pub(crate) fn parse_accept_queue(table: &str, port: u16) -> Option<u64> {
    let wanted = format!(":{port:04X}");
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (local, state, queues) = (fields.get(1)?, fields.get(3)?, fields.get(4)?);
        if !local.ends_with(&wanted) || *state != "0A" {
            return None;
        }
        let (_, rx) = queues.split_once(':')?;
        u64::from_str_radix(rx, 16).ok()
    })
}

/// One line describing the machine: CPU model, core count, kernel.
pub(crate) fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    // Counted from /proc/cpuinfo: available_parallelism would only see the
    // CPU this (pinned) process may use.
    let cpus = std::fs::read_to_string("/proc/cpuinfo")
        .map(|info| info.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| std::env::consts::OS.to_owned());
    format!("{model}, {cpus} CPUs, kernel {kernel}")
}

/// `net.core.somaxconn`: the cap on every listen backlog.
pub(crate) fn somaxconn() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_read_from_proc_status_text() {
        let text = "Name:\tmockdet\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\nThreads:\t2\n";
        let memory = parse_memory(text).unwrap();
        assert_eq!(memory.rss_mib, 10.0);
        assert_eq!(memory.peak_mib, 20.0);
        assert!(parse_memory("Name:\tx\n").is_none());
    }

    #[test]
    fn cpu_ticks_count_from_the_last_parenthesis() {
        let stat = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1";
        assert_eq!(parse_cpu_ticks(stat), Some(300));
        assert_eq!(parse_cpu_ticks("garbage"), None);
        assert!(cpu_time(std::process::id()).is_ok());
    }

    #[test]
    fn the_accept_queue_is_read_from_the_listening_row() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr\n\
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000006 00:00000000\n\
   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000\n";
        assert_eq!(parse_accept_queue(table, 8080), Some(6));
        assert_eq!(parse_accept_queue(table, 8081), None);
    }

    #[test]
    fn this_process_has_a_resident_size() {
        let memory = memory(std::process::id()).unwrap();
        assert!(memory.rss_mib > 0.0 && memory.peak_mib >= memory.rss_mib);
    }
}
