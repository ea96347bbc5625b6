//! Case 4 — memory under hanging requests: the `timeout` profile with every
//! request hanging, 10,000 connections each waiting on one request; the
//! server's resident memory while they wait, and whether any connection was
//! refused or answered early. The baseline holds the same connections in a
//! `tokio::time::sleep`.

use std::time::Duration;

use bytes::Bytes;

use super::{Bench, detect_body};
use crate::error::BenchError;
use crate::hold::{HoldCounts, hold};
use crate::process::Server;
use crate::report::{On, Target};
use crate::sys;
use mockdet::DetectorProfile;
use mockdet::profile::{FaultKind, FaultSpec, HangEnd, MsRange};

/// How long each request hangs: far longer than the case lasts.
const HANG_MS: u64 = 600_000;

/// How long setting up every connection may take.
const SETTLE_LIMIT: Duration = Duration::from_secs(30);

/// What one side measured.
struct Side {
    rss_mib: f64,
    counts: HoldCounts,
    /// Connected but never accepted by the server (still in its queue).
    unaccepted: u64,
}

impl Side {
    fn errors(&self) -> u64 {
        self.counts.errors() + self.unaccepted
    }
}

/// Runs the case and adds its figures.
pub(crate) async fn run(bench: &mut Bench) -> Result<(), BenchError> {
    let baseline = bench.baseline(HANG_MS, 1).await?;
    let base = measure(bench, baseline, "baseline0").await?;
    let mockdet = bench.mockdet(&hanging_profile()?).await?;
    let mock = measure(bench, mockdet, "timeout").await?;
    let n = bench.settings.hold_connections;
    let case = format!("`timeout` profile, every request hanging, {n} conns");
    let r = &mut bench.report;
    r.figure(
        "hold.rss",
        format!("{case}: RSS"),
        "MiB",
        (mock.rss_mib, base.rss_mib),
        Some(Target::AtMost(On::Mockdet, 150.0)),
    );
    r.figure(
        "hold.errors",
        format!("{case}: refused, unaccepted or answered early"),
        "conns",
        (mock.errors() as f64, base.errors() as f64),
        Some(Target::AtMost(On::Mockdet, 0.0)),
    );
    r.note("hold.mockdet.waiting", mock.counts.waiting as f64);
    r.note("hold.baseline.waiting", base.counts.waiting as f64);
    r.note("hold.mockdet.refused", mock.counts.refused as f64);
    r.note("hold.mockdet.early", mock.counts.early as f64);
    r.note("hold.mockdet.unaccepted", mock.unaccepted as f64);
    Ok(())
}

/// The built-in `timeout` profile with one fault: always hang.
fn hanging_profile() -> Result<DetectorProfile, BenchError> {
    let mut profile = DetectorProfile::builtin("timeout")?;
    profile.port = 0;
    profile.faults = vec![FaultSpec {
        duration_ms: Some(MsRange::Fixed(HANG_MS as f64)),
        then: Some(HangEnd::Close),
        ..FaultSpec::new(FaultKind::Hang, 1.0)
    }];
    Ok(profile)
}

/// A raw HTTP/1.1 `/detect` request.
fn raw_request() -> Bytes {
    let body = detect_body();
    Bytes::from(format!(
        "POST /detect HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    ))
}

/// Holds the connections against one server, reads its memory, stops it.
async fn measure(bench: &Bench, server: Server, listener: &str) -> Result<Side, BenchError> {
    let addr = server.addr(listener)?;
    let held = hold(addr, bench.settings.hold_connections, raw_request());
    held.settle(SETTLE_LIMIT).await;
    tokio::time::sleep(bench.settings.hold_quiet).await;
    let memory = server.memory();
    let unaccepted = sys::accept_queue(addr.port()).unwrap_or(0);
    let counts = held.release().await;
    server.stop().await;
    Ok(Side {
        rss_mib: memory?.rss_mib,
        counts,
        unaccepted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hanging_profile_is_valid_and_always_hangs() {
        let profile = hanging_profile().unwrap();
        profile.validate().unwrap();
        assert_eq!(profile.faults.len(), 1);
        assert_eq!(profile.faults[0].probability, 1.0);
    }

    #[test]
    fn the_raw_request_announces_its_body_length() {
        let raw = raw_request();
        let text = std::str::from_utf8(&raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
    }
}
