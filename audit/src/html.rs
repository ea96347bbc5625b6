//! The HTML report card: one self-contained file (inline CSS and SVG) in
//! the load suite's style — the verdict table, the parameters, and per
//! property its evidence: attempts with their times and statuses, or a
//! timeline of requests and calls for the load scenarios.

use std::fmt::Write;
use std::time::SystemTime;

use super::report::{Evidence, Property, Report, Timeline, Verdict};

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}\
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}\
h3{font-size:15px;margin:20px 0 4px}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}\
th{background:#f4f4f4}.pass{color:#176f2c;font-weight:bold}\
.fail{color:#b3261e;font-weight:bold}.na{color:#777;font-weight:bold}\
svg{background:#fff;border:1px solid #ddd}.note{color:#555}code{font-size:13px}";

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::NotApplicable => "na",
    }
}

/// Renders the whole report card.
pub(crate) fn render(report: &Report) -> String {
    let started = humantime::format_rfc3339_seconds(report.started);
    let mut html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>mockdet audit {started}</title>\
         <style>{STYLE}</style></head><body><h1>Orchestrator resilience report card</h1>"
    );
    let _ = write!(
        html,
        "<p>Target <code>{}</code> ({}) · faults on <code>{}</code> · {} passed, {} failed, {} not applicable · \
         {:.1} s{}{} · {started}</p>",
        esc(&report.target),
        report.shape,
        esc(&report.faulted_detector),
        report.passed,
        report.failed,
        report.not_applicable,
        report.duration_s,
        if report.quick { " · quick" } else { "" },
        if report.interrupted {
            " · <b>interrupted</b>"
        } else {
            ""
        },
    );
    html.push_str("<table><tr><th>property</th><th>verdict</th><th>what was seen</th></tr>");
    for p in &report.properties {
        let _ = write!(
            html,
            "<tr><td><a href=\"#{id}\">{}</a></td><td class=\"{}\">{}</td><td>{}</td></tr>",
            esc(p.title),
            class(p.verdict),
            p.verdict.label(),
            esc(&p.summary),
            id = p.id.as_str(),
        );
    }
    html.push_str(
        "</table><h2>Judged by</h2><table><tr><th>parameter</th><th>value</th><th>from</th></tr>",
    );
    for row in &report.parameters {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&row.name),
            esc(&row.value),
            esc(&row.source)
        );
    }
    html.push_str("</table><p class=\"note\">Fleet: ");
    html.push_str(&esc(&report.fleet.join(", ")));
    html.push_str("</p><h2>Evidence</h2>");
    for p in &report.properties {
        html.push_str(&property(p));
    }
    html.push_str("</body></html>\n");
    html
}

fn property(p: &Property) -> String {
    let mut out = format!(
        "<h3 id=\"{}\">{} — <span class=\"{}\">{}</span></h3><p>{}</p>",
        p.id.as_str(),
        esc(p.title),
        class(p.verdict),
        p.verdict.label(),
        esc(&p.summary)
    );
    if !p.parameters.is_empty() {
        let _ = write!(
            out,
            "<p class=\"note\">{}</p>",
            esc(&p.parameters.join(" · "))
        );
    }
    for evidence in &p.evidence {
        out.push_str(&evidence_html(evidence));
    }
    out
}

fn evidence_html(e: &Evidence) -> String {
    let mut out = format!("<p><b>{}</b>", esc(&e.setup));
    if let Some(id) = &e.request {
        let _ = write!(out, " · request <code>{}</code>", esc(id));
    }
    if let Some(answer) = &e.answer {
        let _ = write!(out, " · answered {}", esc(&answer.describe()));
    }
    out.push_str("</p>");
    if let Some(first) = e.calls.first() {
        out.push_str(
            "<table><tr><th>attempt</th><th>arrived (+ms)</th><th>took (ms)</th><th>status</th><th>fault</th><th>correlation id</th></tr>",
        );
        let offset = |t: SystemTime| t.duration_since(first.at).unwrap_or_default().as_millis();
        for (i, call) in e.calls.iter().enumerate() {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                i + 1,
                offset(call.at),
                call.took.as_secs_f64() * 1000.0,
                call.status.map_or("—".to_owned(), |s| s.to_string()),
                esc(call.fault.as_deref().unwrap_or("")),
                esc(call.correlation_id.as_deref().unwrap_or("none")),
            );
        }
        out.push_str("</table>");
    }
    if let Some(timeline) = &e.timeline {
        out.push_str(&chart(timeline));
    }
    out
}

/// Requests (grey) and the faulted detector's calls (blue) per bucket, with
/// the marked moments as labelled vertical lines.
fn chart(t: &Timeline) -> String {
    let (w, h, pad) = (760.0, 220.0, 36.0);
    let n = t.requests.len().max(1);
    let top = t
        .requests
        .iter()
        .chain(&t.calls)
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let bar = (w - 2.0 * pad) / n as f64;
    let y = |v: usize| h - pad - (v as f64 / top) * (h - 2.0 * pad);
    let mut svg = format!(
        "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" \
         aria-label=\"requests and detector calls over time\">"
    );
    for (i, (&req, &calls)) in t.requests.iter().zip(&t.calls).enumerate() {
        let x = pad + i as f64 * bar;
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#ccc\"/>\
             <rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#3367d6\"/>",
            y(req),
            bar * 0.45,
            h - pad - y(req),
            x + bar * 0.45,
            y(calls),
            bar * 0.45,
            h - pad - y(calls),
        );
    }
    let seconds = n as f64 * t.bucket_s;
    for (i, (label, at)) in t.marks.iter().enumerate() {
        let x = pad + (at / seconds.max(f64::EPSILON)) * (w - 2.0 * pad);
        let ly = 14.0 + 13.0 * (i % 4) as f64;
        // Labels in the right third read leftwards, so they stay inside.
        let (tx, anchor) = if x > w * 0.66 {
            (x - 3.0, "end")
        } else {
            (x + 3.0, "start")
        };
        let _ = write!(
            svg,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{pad}\" y2=\"{:.1}\" stroke=\"#b3261e\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{tx:.1}\" y=\"{ly}\" font-size=\"11\" fill=\"#b3261e\" text-anchor=\"{anchor}\">{} ({at:.1} s)</text>",
            h - pad,
            esc(label)
        );
    }
    let _ = write!(
        svg,
        "<line x1=\"{pad}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#888\"/>\
         <text x=\"{pad}\" y=\"{:.1}\" font-size=\"11\">0 s</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{seconds:.1} s</text>\
         <text x=\"4\" y=\"{:.1}\" font-size=\"11\">{top}</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\"><tspan fill=\"#888\">■ requests</tspan> \
         <tspan fill=\"#3367d6\">■ calls to the faulted detector</tspan> per {:.1} s</text></svg>",
        w - pad,
        h - pad,
        h - pad,
        h - pad + 14.0,
        w - pad,
        h - pad + 14.0,
        pad,
        w / 2.0 - 120.0,
        h - 6.0,
        t.bucket_s,
    );
    svg
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::contract::{Answer, Shape};
    use crate::fleet::Seen;
    use crate::report::{ParameterRow, PropertyId};

    fn report() -> Report {
        let call = Seen {
            at: SystemTime::UNIX_EPOCH,
            took: Duration::from_millis(5),
            status: Some(503),
            fault: Some("http_error".into()),
            correlation_id: Some("id-<1>".into()),
            key: None,
        };
        let evidence = Evidence {
            setup: "next 1 × 503".into(),
            request: Some("id-<1>".into()),
            answer: Some(Answer::failed("reset".into(), Duration::from_millis(3))),
            calls: vec![call],
            timeline: Some(Timeline {
                bucket_s: 0.5,
                requests: vec![5, 5, 5, 5],
                calls: vec![5, 0, 0, 5],
                marks: vec![("stopped".into(), 0.5), ("back".into(), 1.9)],
            }),
        };
        let mut property = Property::new(PropertyId::BreakerOpens, Verdict::Fail, "a < b");
        property.evidence.push(evidence);
        Report {
            target: "http://t".into(),
            shape: Shape::Seed,
            fleet: vec!["a (http://d)".into()],
            faulted_detector: "a (http://d)".into(),
            started: SystemTime::UNIX_EPOCH,
            duration_s: 1.0,
            quick: true,
            interrupted: false,
            parameters: vec![ParameterRow {
                name: "retry budget".into(),
                value: "3".into(),
                source: "default".into(),
            }],
            properties: vec![property],
            passed: 0,
            failed: 1,
            not_applicable: 0,
        }
    }

    #[test]
    fn the_card_escapes_text_and_keeps_late_labels_inside_the_chart() {
        let html = render(&report());
        assert!(html.contains("a &lt; b") && !html.contains("a < b"));
        assert!(html.contains("<code>id-&lt;1&gt;</code>"));
        assert!(html.contains("class=\"fail\">FAIL"));
        assert!(html.contains("href=\"#breaker_opens\"") && html.contains("id=\"breaker_opens\""));
        assert!(html.contains("text-anchor=\"start\">stopped (0.5 s)"));
        assert!(html.contains("text-anchor=\"end\">back (1.9 s)"));
        assert_eq!(html.matches("<svg").count(), 1);
    }
}
