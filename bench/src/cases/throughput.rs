//! Case 1 — throughput: a zero-latency detector answering `/detect` with a
//! realistic 300-byte content at 64 connections (the same content on every
//! request, as a load test sends its payloads), against the baseline's
//! fixed answer. Rounds alternate baseline and mockdet so slow drift of a
//! noisy machine hits both; each side's median round is reported, with the
//! server's CPU use (near 1.0 means the server, not the client, was the
//! limit).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;

use super::{Bench, TICKET_PLACEHOLDER, detect_body, distinct_detect_body, fixed_profile};
use crate::client::{ClosedLoop, Shot, closed_loop};
use crate::error::BenchError;
use crate::process::Server;
use crate::report::{On, Target};
use crate::stats::median;
use crate::sys::CpuMeter;
use crate::wrk;
use mockdet::DetectorProfile;
use mockdet::profile::{FaultKind, FaultSpec};

/// What one side saw over all its rounds.
#[derive(Debug, Default)]
pub(super) struct Side {
    rates: Vec<f64>,
    server_cpu: Vec<f64>,
    pub(super) errors: u64,
}

impl Side {
    pub(super) fn median_rate(&mut self) -> f64 {
        median(&mut self.rates)
    }

    pub(super) fn median_cpu(&mut self) -> f64 {
        median(&mut self.server_cpu)
    }

    /// Each round's rate, in round order.
    pub(super) fn rates(&self) -> &[f64] {
        &self.rates
    }

    /// Round by round, this side's rate over `other`'s: the ratios of
    /// rounds run back to back, which cancel a shared machine's drift.
    pub(super) fn ratios_to(&self, other: &Side) -> Vec<f64> {
        let pairs = self.rates.iter().zip(&other.rates);
        pairs.map(|(mine, theirs)| mine / theirs).collect()
    }
}

/// What one round sends: wrk's script when wrk is used, else our own
/// client's one body (with its headers) to `path`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Traffic<'a> {
    /// How long the round drives its server.
    pub(super) duration: Duration,
    pub(super) path: &'static str,
    pub(super) script: Option<&'a Path>,
    pub(super) body: &'a str,
    pub(super) headers: &'static [(&'static str, &'static str)],
}

/// How many different contents the distinct-contents variant cycles
/// through: several times what a detector's findings memo holds, so that
/// nearly every request misses it.
const DISTINCT_CONTENTS: usize = 32_768;

/// Runs the case and adds its figure. More mockdet variants run in the same
/// rounds as context: the same profile without finding rules, one whose
/// every answer is an empty 200 — so the report shows what the findings and
/// building the answer cost next to the rest of the path — and, with wrk,
/// the same profile sent a different content on every request (its findings
/// memo missing), the figure for traffic that never repeats a content.
pub(crate) async fn run(bench: &mut Bench) -> Result<(), BenchError> {
    let baseline = bench.baseline(0, 1).await?;
    let mockdet = bench.mockdet(&fixed_profile("zero", 0.0)?).await?;
    let no_rules = bench
        .mockdet(&without_rules(fixed_profile("zero", 0.0)?))
        .await?;
    let empty = bench
        .mockdet(&empty_answers(fixed_profile("zero", 0.0)?))
        .await?;
    let script = bench
        .scratch
        .write("post.lua", &wrk::script(&detect_body()))?;
    let distinct = start_distinct(bench).await?;
    let mut sides: [Side; 5] = Default::default();
    let mut servers = vec![
        (&baseline, "baseline0", script.as_path()),
        (&mockdet, "zero", &script),
        (&no_rules, "zero", &script),
        (&empty, "zero", &script),
    ];
    if let Some((server, lua)) = &distinct {
        servers.push((server, "zero", lua));
    }
    let body = detect_body();
    for _ in 0..bench.settings.throughput_rounds {
        for (side, (server, listener, script)) in sides.iter_mut().zip(&servers) {
            let traffic = Traffic {
                duration: bench.settings.throughput_duration,
                path: "/detect",
                script: bench.use_wrk.then_some(*script),
                body: &body,
                headers: &[],
            };
            round(bench, (server, listener), traffic, side).await?;
        }
    }
    drop(servers);
    for server in [baseline, mockdet, no_rules, empty] {
        server.stop().await;
    }
    if let Some((server, _)) = distinct {
        server.stop().await;
    }
    report(bench, sides);
    Ok(())
}

/// With wrk, a server for the distinct-contents variant and the script that
/// numbers each request's content; `None` with our own client.
async fn start_distinct(bench: &Bench) -> Result<Option<(Server, PathBuf)>, BenchError> {
    if !bench.use_wrk {
        return Ok(None);
    }
    let server = bench.mockdet(&fixed_profile("zero", 0.0)?).await?;
    let lua = wrk::cycling_script(
        &distinct_detect_body(),
        TICKET_PLACEHOLDER,
        DISTINCT_CONTENTS,
    );
    Ok(Some((server, bench.scratch.write("distinct.lua", &lua)?)))
}

/// Adds the figure and notes from the sides in round order: baseline,
/// mockdet, no rules, empty answers, distinct contents (empty without wrk).
fn report(bench: &mut Bench, sides: [Side; 5]) {
    let [mut base, mut mock, mut no_rules, mut empty, mut distinct] = sides;
    let connections = bench.settings.throughput_connections;
    let base_rate = base.median_rate();
    let r = &mut bench.report;
    r.figure(
        "throughput.rps",
        format!("zero latency, /detect 300-byte content, {connections} conns: throughput"),
        "req/s",
        (mock.median_rate(), base_rate),
        Some(Target::AtLeast(On::Ratio, 0.70)),
    );
    r.note("throughput.mockdet.server_cpu", mock.median_cpu());
    r.note("throughput.baseline.server_cpu", base.median_cpu());
    r.note("throughput.mockdet.errors", mock.errors as f64);
    r.note("throughput.baseline.errors", base.errors as f64);
    let mut variants = vec![("no_rules", &mut no_rules), ("empty_answer", &mut empty)];
    if !distinct.rates.is_empty() {
        variants.push(("distinct_contents", &mut distinct));
    }
    for (key, side) in variants {
        let rate = side.median_rate();
        r.note(format!("throughput.{key}.rps"), rate);
        r.note(format!("throughput.{key}.ratio"), rate / base_rate);
        r.note(format!("throughput.{key}.server_cpu"), side.median_cpu());
        r.note(format!("throughput.{key}.errors"), side.errors as f64);
    }
}

/// `profile` without capabilities: no finding rule runs.
fn without_rules(mut profile: DetectorProfile) -> DetectorProfile {
    profile.capabilities.clear();
    profile
}

/// `profile` answering every request with an empty 200 (the `empty_body`
/// fault): the whole request path except building the answer.
fn empty_answers(mut profile: DetectorProfile) -> DetectorProfile {
    profile.faults = vec![FaultSpec::new(FaultKind::EmptyBody, 1.0)];
    profile
}

/// One round against one server, with wrk or our own client.
pub(super) async fn round(
    bench: &Bench,
    (server, listener): (&Server, &str),
    traffic: Traffic<'_>,
    side: &mut Side,
) -> Result<(), BenchError> {
    let s = &bench.settings;
    let addr = server.addr(listener)?;
    let meter = CpuMeter::start(&[server.pid()]);
    let (rate, errors) = match traffic.script {
        Some(script) => {
            let connections = s.throughput_connections;
            let duration = traffic.duration;
            let cpu = bench.client_cpu;
            let run = wrk::run(addr, traffic.path, script, connections, duration, cpu);
            let run = run.await?;
            (run.requests_per_s, run.errors)
        }
        None => native_round(bench, addr, traffic).await?,
    };
    side.server_cpu.extend(meter.utilisation());
    side.rates.push(rate);
    side.errors += errors;
    Ok(())
}

/// One round with our own closed-loop client (when wrk is not used).
async fn native_round(
    bench: &Bench,
    addr: SocketAddr,
    traffic: Traffic<'_>,
) -> Result<(f64, u64), BenchError> {
    let s = &bench.settings;
    let plan = ClosedLoop {
        connections: s.throughput_connections,
        warmup: traffic.duration / 5,
        measure: traffic.duration,
        stagger: Duration::ZERO,
        request_timeout: Duration::from_secs(5),
    };
    let shot = Shot {
        addr,
        path: traffic.path,
        body: Bytes::from(traffic.body.to_owned()),
        headers: traffic.headers,
        fresh_ids: false,
    };
    let run = closed_loop(&plan, &shot).await?;
    Ok((run.rate(), run.errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_distinct_contents_script_numbers_each_body() {
        let lua = wrk::cycling_script(
            &distinct_detect_body(),
            TICKET_PLACEHOLDER,
            DISTINCT_CONTENTS,
        );
        assert!(lua.contains("local count = 32768\n"), "{lua}");
        assert!(lua.contains("Ticket TICKET_NUMBER. Hello team"), "{lua}");
        assert!(lua.contains("function request()"), "{lua}");
        // The numbered content is still valid JSON with a fresh content.
        let body = distinct_detect_body().replace(TICKET_PLACEHOLDER, "32768");
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(
            value["content"]
                .as_str()
                .unwrap()
                .starts_with("Ticket 32768. ")
        );
    }

    #[test]
    fn the_context_variants_validate_and_differ_only_as_named() {
        let base = fixed_profile("zero", 0.0).unwrap();
        let no_rules = without_rules(base.clone());
        no_rules.validate().unwrap();
        assert!(no_rules.capabilities.is_empty());
        assert_eq!(no_rules.faults.len(), base.faults.len());
        let empty = empty_answers(base.clone());
        empty.validate().unwrap();
        assert_eq!(empty.capabilities, base.capabilities);
        assert_eq!(empty.faults.len(), 1);
        assert_eq!(empty.faults[0].kind, FaultKind::EmptyBody);
    }
}
