//! Case — protocols: one zero-latency detector answering each wire
//! protocol at 64 connections with a different content on every request
//! (no two requests alike, so the findings memo never helps: the figure for
//! traffic that never repeats), against the bare axum baseline. Each
//! protocol round is paired with a baseline round run back to back, and
//! each figure is the median of its pairs' ratios.
//!
//! Without wrk (`--quick`, or wrk missing) our own client sends one fixed
//! body per protocol instead — a smoke test of the case, not its figure.

use std::path::PathBuf;

use super::throughput::{Side, Traffic, round};
use super::{Bench, CONTENT, TICKET_PLACEHOLDER, fixed_profile};
use crate::error::BenchError;
use crate::report::{On, Target};
use crate::stats::median;
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
///
/// Each protocol's round runs back to back with a baseline round of its
/// own (which goes first alternates), and its figure is the median of
/// those pairs' ratios: a pair cancels the slow drift of a shared machine,
/// which moves the baseline by ±10 % within one run — more than the gaps
/// being measured.
pub(crate) async fn run(bench: &mut Bench) -> Result<(), BenchError> {
    let baseline = bench.baseline(0, 1).await?;
    let mockdet = bench.mockdet(&fixed_profile("zero", 0.0)?).await?;
    let loads = loads();
    let base_load = Load {
        path: "/detect",
        ..loads[0].clone()
    };
    let base_script = script(bench, &base_load)?;
    let mut scripts = Vec::new();
    for load in &loads {
        scripts.push(script(bench, load)?);
    }
    // Our own client sends one body per load (numbered 1).
    let one_body = |load: &Load| load.template.replace(TICKET_PLACEHOLDER, "1");
    let base_body = one_body(&base_load);
    let bodies: Vec<String> = loads.iter().map(one_body).collect();
    let base = Traffic {
        duration: bench.settings.protocol_round,
        path: base_load.path,
        script: base_script.as_deref(),
        body: &base_body,
        headers: base_load.headers,
    };
    let mut pairs: Vec<[Side; 2]> = loads.iter().map(|_| Default::default()).collect();
    for i in 0..bench.settings.protocol_pairs {
        for (p, ((load, script), body)) in loads.iter().zip(&scripts).zip(&bodies).enumerate() {
            let protocol = Traffic {
                duration: bench.settings.protocol_round,
                path: load.path,
                script: script.as_deref(),
                body,
                headers: load.headers,
            };
            let [base_side, protocol_side] = &mut pairs[p];
            let mut pair = [
                (&baseline, "baseline0", base, base_side),
                (&mockdet, "zero", protocol, protocol_side),
            ];
            if (i + p) % 2 == 1 {
                pair.reverse();
            }
            for (server, listener, traffic, side) in pair {
                round(bench, (server, listener), traffic, side).await?;
            }
        }
    }
    baseline.stop().await;
    mockdet.stop().await;
    report(bench, &loads, pairs);
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

/// One figure per protocol: the median of its round pairs' ratios.
fn report(bench: &mut Bench, loads: &[Load], pairs: Vec<[Side; 2]>) {
    let connections = bench.settings.throughput_connections;
    let distinct = if bench.use_wrk {
        "distinct contents"
    } else {
        "one content"
    };
    let r = &mut bench.report;
    let mut base_rates = Vec::new();
    let mut base_errors = 0;
    for (load, [base, mut side]) in loads.iter().zip(pairs) {
        let mut ratios = side.ratios_to(&base);
        r.figure(
            &format!("protocols.{}.ratio", load.key),
            format!(
                "zero latency, {}, {distinct}, {connections} conns: req/s over the baseline's, \
                 median of {} back-to-back round pairs",
                load.label,
                ratios.len()
            ),
            "",
            (median(&mut ratios), 1.0),
            Some(Target::AtLeast(On::Mockdet, 0.70)),
        );
        r.note(format!("protocols.{}.rps", load.key), side.median_rate());
        r.note(
            format!("protocols.{}.server_cpu", load.key),
            side.median_cpu(),
        );
        r.note(format!("protocols.{}.errors", load.key), side.errors as f64);
        base_rates.extend_from_slice(base.rates());
        base_errors += base.errors;
    }
    r.note("protocols.baseline.rps", median(&mut base_rates));
    r.note("protocols.baseline.errors", base_errors as f64);
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
