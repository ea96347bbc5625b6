//! Case — replay modes: a zero-latency detector keying its draws by request
//! (key and attempt: the default) against the same detector keying them by
//! arrival (`replay = "sequence"`), in alternating rounds at 64
//! connections (which mode goes first alternates too). With wrk every request carries a different content, so in
//! request mode each one is a new key: hashed, counted, and — past the
//! 100,000 keys a detector remembers — forgetting the oldest. That is the
//! most request mode can cost; a retry of a known key costs less.

use super::throughput::{Side, Traffic, round};
use super::{Bench, TICKET_PLACEHOLDER, detect_body, distinct_detect_body, fixed_profile};
use crate::error::BenchError;
use crate::report::{On, Target};
use crate::stats::median;
use crate::wrk;
use mockdet::Replay;

/// How many different contents the script cycles through: past the
/// default key capacity, so the request-mode side also forgets keys.
const DISTINCT_CONTENTS: usize = 131_072;

/// Rounds per side, as a multiple of the throughput case's: the target is
/// a 5 % margin, finer than one round's noise on a small machine.
const ROUND_FACTOR: usize = 3;

/// Runs the case and adds its figure.
pub(crate) async fn run(bench: &mut Bench) -> Result<(), BenchError> {
    let mode = |replay: Replay| {
        let mut profile = fixed_profile("zero", 0.0)?;
        profile.replay = replay;
        Ok::<_, BenchError>(profile)
    };
    let request = bench.mockdet(&mode(Replay::Request)?).await?;
    let sequence = bench.mockdet(&mode(Replay::Sequence)?).await?;
    let script = match bench.use_wrk {
        true => {
            let lua = wrk::cycling_script(
                &distinct_detect_body(),
                TICKET_PLACEHOLDER,
                DISTINCT_CONTENTS,
            );
            Some(bench.scratch.write("replay.lua", &lua)?)
        }
        false => None,
    };
    let body = detect_body();
    let mut sides: [Side; 2] = Default::default();
    for i in 0..bench.settings.throughput_rounds * ROUND_FACTOR {
        // Which mode goes first alternates, so neither always follows the
        // other's teardown.
        let mut pair: Vec<(&mut Side, &_)> = sides.iter_mut().zip([&sequence, &request]).collect();
        if i % 2 == 1 {
            pair.reverse();
        }
        for (side, server) in pair {
            let traffic = Traffic {
                duration: bench.settings.throughput_duration,
                path: "/detect",
                script: script.as_deref(),
                body: &body,
                headers: &[],
            };
            round(bench, (server, "zero"), traffic, side).await?;
        }
    }
    request.stop().await;
    sequence.stop().await;
    let [mut sequence, mut request] = sides;
    // Each round pair ran back to back: its ratio cancels the slow drift of
    // a shared machine, which moves both modes by more than the 5 % asked.
    let mut ratios = request.ratios_to(&sequence);
    let connections = bench.settings.throughput_connections;
    let contents = if bench.use_wrk {
        "a new key on every request"
    } else {
        "one content"
    };
    let r = &mut bench.report;
    r.figure(
        "replay.request.ratio",
        format!(
            "zero latency, /detect, {contents}, {connections} conns: request-mode req/s over \
             sequence-mode req/s, median of {} back-to-back round pairs",
            ratios.len()
        ),
        "",
        (median(&mut ratios), 1.0),
        Some(Target::AtLeast(On::Mockdet, 0.95)),
    );
    r.note("replay.request.rps", request.median_rate());
    r.note("replay.sequence.rps", sequence.median_rate());
    r.note("replay.request.server_cpu", request.median_cpu());
    r.note("replay.sequence.server_cpu", sequence.median_cpu());
    r.note("replay.request.errors", request.errors as f64);
    r.note("replay.sequence.errors", sequence.errors as f64);
    Ok(())
}
