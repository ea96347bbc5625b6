//! Case — protocols: one zero-latency detector answering each wire
//! protocol at 64 connections with a different content on every request
//! (no two requests alike, so the findings memo never helps: the figure for
//! traffic that never repeats), against the bare axum baseline in the same
//! rounds. Rounds alternate baseline and protocols so a noisy machine's
//! drift hits all of them; each side's median round is reported.
//!
//! Without wrk (`--quick`, or wrk missing) our own client sends one fixed
//! body per protocol instead — a smoke test of the case, not its figure.

use std::path::PathBuf;

use super::throughput::{Side, Traffic, round};
use super::{Bench, CONTENT, TICKET_PLACEHOLDER, fixed_profile};
use crate::error::BenchError;
use crate::report::{On, Target};
use crate::wrk;

/// How many different contents each protocol's script cycles through
/// (several times what the findings memo holds).
const DISTINCT_CONTENTS: usize = 32_768;

/// One protocol's load: where it posts, what, with which headers.
#[derive(Debug, Clone)]
struct Load {
    key: &'static str,
    label: &'static str,
    path: &'static str,
    /// The body, with [`TICKET_PLACEHOLDER`] where each request's number goes.
    template: String,
    headers: &'static [(&'static str, &'static str)],
}

/// The content of one request: the benchmark's 300-byte text, numbered.
fn numbered() -> String {
    format!("Ticket {TICKET_PLACEHOLDER}. {CONTENT}")
}

/// Every protocol's load, in the order they are documented.
fn loads() -> Vec<Load> {
    let content = numbered();
    let json = |value: serde_json::Value| value.to_string();
    vec![
        Load {
            key: "native",
            label: "native /detect",
            path: "/detect",
            template: json(serde_json::json!({"content": content, "content_type": "text"})),
            headers: &[],
        },
        Load {
            key: "fms",
            label: "FMS /api/v1/text/contents",
            path: "/api/v1/text/contents",
            template: json(serde_json::json!({"contents": [content], "detector_params": {}})),
            headers: &[("detector-id", "bench-zero")],
        },
        Load {
            key: "openai",
            label: "OpenAI /v1/moderations",
            path: "/v1/moderations",
            template: json(
                serde_json::json!({"input": content, "model": "omni-moderation-latest"}),
            ),
            headers: &[],
        },
        Load {
            key: "azure",
            label: "Azure /contentsafety/text:analyze",
            path: "/contentsafety/text:analyze?api-version=2024-09-01",
            template: json(serde_json::json!({"text": content})),
            headers: &[],
        },
        Load {
            key: "presidio",
            label: "Presidio /analyze",
            path: "/analyze",
            template: json(serde_json::json!({"text": content, "language": "en"})),
            headers: &[],
        },
        Load {
            key: "litellm",
            label: "LiteLLM /beta/litellm_basic_guardrail_api",
            path: "/beta/litellm_basic_guardrail_api",
            template: json(serde_json::json!({"input_type": "request", "texts": [content]})),
            headers: &[],
        },
    ]
}

/// Runs the case and adds one figure per protocol.
pub(crate) async fn run(bench: &mut Bench) -> Result<(), BenchError> {
    let baseline = bench.baseline(0, 1).await?;
    let mockdet = bench.mockdet(&fixed_profile("zero", 0.0)?).await?;
    let loads = loads();
    let base_load = Load {
        path: "/detect",
        ..loads[0].clone()
    };
    let mut scripts = Vec::new();
    for load in std::iter::once(&base_load).chain(&loads) {
        scripts.push(script(bench, load)?);
    }
    // Our own client sends one body per protocol (numbered 1).
    let bodies: Vec<String> = std::iter::once(&base_load)
        .chain(&loads)
        .map(|load| load.template.replace(TICKET_PLACEHOLDER, "1"))
        .collect();
    let mut sides: Vec<Side> = (0..=loads.len()).map(|_| Side::default()).collect();
    for _ in 0..bench.settings.throughput_rounds {
        let targets = std::iter::once((&baseline, "baseline0", &base_load))
            .chain(loads.iter().map(|load| (&mockdet, "zero", load)));
        let sent = sides.iter_mut().zip(&scripts).zip(&bodies);
        for (((side, script), body), (server, listener, load)) in sent.zip(targets) {
            let traffic = Traffic {
                path: load.path,
                script: script.as_deref(),
                body,
                headers: load.headers,
            };
            round(bench, (server, listener), traffic, side).await?;
        }
    }
    baseline.stop().await;
    mockdet.stop().await;
    report(bench, &loads, sides);
    Ok(())
}

/// With wrk, the script cycling through numbered bodies.
fn script(bench: &Bench, load: &Load) -> Result<Option<PathBuf>, BenchError> {
    if !bench.use_wrk {
        return Ok(None);
    }
    let lua = wrk::cycling_script_with(
        &load.template,
        TICKET_PLACEHOLDER,
        DISTINCT_CONTENTS,
        load.headers,
    );
    let file = format!("protocol-{}.lua", load.key);
    Ok(Some(bench.scratch.write(&file, &lua)?))
}

/// One figure per protocol against the baseline's median round.
fn report(bench: &mut Bench, loads: &[Load], mut sides: Vec<Side>) {
    let connections = bench.settings.throughput_connections;
    let distinct = if bench.use_wrk {
        "distinct contents"
    } else {
        "one content"
    };
    let base = &mut sides[0];
    let base_rate = base.median_rate();
    let r = &mut bench.report;
    r.note("protocols.baseline.rps", base_rate);
    r.note("protocols.baseline.errors", base.errors as f64);
    for (load, side) in loads.iter().zip(sides.iter_mut().skip(1)) {
        r.figure(
            &format!("protocols.{}.rps", load.key),
            format!(
                "zero latency, {}, {distinct}, {connections} conns: throughput",
                load.label
            ),
            "req/s",
            (side.median_rate(), base_rate),
            Some(Target::AtLeast(On::Ratio, 0.70)),
        );
        r.note(
            format!("protocols.{}.server_cpu", load.key),
            side.median_cpu(),
        );
        r.note(format!("protocols.{}.errors", load.key), side.errors as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_load_is_valid_json_once_numbered() {
        let loads = loads();
        assert_eq!(loads.len(), 6);
        for load in &loads {
            let body = load.template.replace(TICKET_PLACEHOLDER, "32768");
            let value: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert!(body.contains("Ticket 32768. "), "{}: {value}", load.key);
            let lua = wrk::cycling_script_with(
                &load.template,
                TICKET_PLACEHOLDER,
                DISTINCT_CONTENTS,
                load.headers,
            );
            for (name, _) in load.headers {
                assert!(lua.contains(name), "{lua}");
            }
        }
    }
}
