//! The HTML report: one self-contained file (inline CSS and SVG, nothing
//! fetched at view time) with the verdicts, latency and throughput over
//! time with fault windows shaded, error rate, and per-detector figures.

use std::fmt::Write;

use super::figures::{Figures, HistoryPoint, ToolResult};
use super::report::{FaultWindow, Report, TestResult};
use svg::{bar_chart, line_chart};

mod svg;

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:24px;color:#222}\
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.pass{color:#176f2c;font-weight:bold}\
.fail{color:#b3261e;font-weight:bold}.charts{display:flex;flex-wrap:wrap;gap:12px}\
svg{background:#fff;border:1px solid #ddd}.note{color:#555}";

/// Escapes text for HTML.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders the whole report.
pub(crate) fn render(report: &Report) -> String {
    let mut html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>mockdet perf report {}</title>\
         <style>{STYLE}</style></head><body><h1>Detector orchestration performance — {}</h1>",
        esc(&report.timestamp),
        esc(&report.timestamp)
    );
    let s = &report.summary;
    let _ = write!(
        html,
        "<p>Target <code>{}</code> · {} of {} test types passed · {:.1} s · duration scale {}{}</p>",
        esc(&report.target),
        s.passed,
        s.total_tests,
        s.duration_seconds,
        report.duration_scale,
        if report.interrupted {
            " · <b>interrupted</b>"
        } else {
            ""
        }
    );
    html.push_str(&verdict_table(report));
    for (name, result) in &report.results {
        html.push_str(&test_section(name, result));
    }
    html.push_str("</body></html>\n");
    html
}

fn verdict_table(report: &Report) -> String {
    let mut out = String::from(
        "<h2>Verdicts</h2><table><tr><th>test</th><th>target</th><th>expected</th>\
         <th>measured</th><th>source</th><th>verdict</th></tr>",
    );
    for (name, result) in &report.results {
        if result.verdicts.is_empty() {
            let _ = write!(
                out,
                "<tr><td>{}</td><td colspan=4>no figures</td><td class=fail>{}</td></tr>",
                esc(name),
                esc(&result.status)
            );
        }
        for v in &result.verdicts {
            let (class, word) = if v.passed {
                ("pass", "pass")
            } else {
                ("fail", "fail")
            };
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{}</td><td class={class}>{word}</td></tr>",
                esc(name),
                esc(&v.target),
                v.expected,
                v.measured,
                esc(&v.source)
            );
        }
    }
    out.push_str("</table>");
    out
}

fn test_section(name: &str, r: &TestResult) -> String {
    let mut out = format!(
        "<h2>{} — <span class={}>{}</span></h2><p class=note>{}. Intended rate ≈ {:.1} req/s.</p>",
        esc(name),
        if r.status == "success" {
            "pass"
        } else {
            "fail"
        },
        esc(&r.status),
        esc(&r.load_model),
        r.intended_rps
    );
    out.push_str(&figures_table(r));
    if let Some(locust) = &r.locust_result {
        out.push_str(&charts(&locust.history, &r.fault_windows));
    }
    out.push_str(&server_table(r));
    out.push_str(&fault_window_table(&r.fault_windows));
    out.push_str(&cells_table(r));
    for note in &r.notes {
        let _ = write!(out, "<p class=note>{}</p>", esc(note));
    }
    out
}

/// The fault steps of a test and when they ran; nothing without any.
fn fault_window_table(windows: &[FaultWindow]) -> String {
    if windows.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<table><tr><th>detector</th><th>fault</th><th>from s</th><th>to s</th><th>applied</th></tr>",
    );
    for w in windows {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{}</td></tr>",
            esc(&w.detector),
            esc(&w.action),
            w.start_s,
            w.end_s,
            w.applied
        );
    }
    out.push_str("</table>");
    out
}

/// The batch-size × users grid of a test; nothing without cells.
fn cells_table(r: &TestResult) -> String {
    if r.cells.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<table><tr><th>batch size</th><th>users</th><th>requests</th><th>rps</th><th>p95 ms</th><th>batch requests</th><th>detector calls</th></tr>",
    );
    for c in &r.cells {
        let f = c.figures.clone().unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.0}</td><td>{}</td><td>{}</td></tr>",
            c.batch_size, c.users, f.requests, f.rps, f.p95_ms, c.batch_requests, c.detector_calls
        );
    }
    out.push_str("</table>");
    out
}

fn figures_row(label: &str, f: &Figures) -> String {
    format!(
        "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{:.2}%</td><td>{:.0}</td><td>{:.0}</td><td>{:.0}</td><td>{:.0}</td></tr>",
        esc(label),
        f.requests,
        f.rps,
        f.failures,
        (1.0 - f.success_rate()) * 100.0,
        f.p50_ms,
        f.p95_ms,
        f.p99_ms,
        f.max_ms
    )
}

fn figures_table(r: &TestResult) -> String {
    let mut out = String::from(
        "<table><tr><th>tool / endpoint</th><th>requests</th><th>rps</th><th>failures</th>\
         <th>error rate</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th></tr>",
    );
    let tools: [(&str, &Option<ToolResult>); 2] =
        [("k6", &r.k6_result), ("locust", &r.locust_result)];
    for (name, tool) in tools {
        let Some(tool) = tool else { continue };
        match &tool.figures {
            Some(f) => out.push_str(&figures_row(&format!("{name} ({} users)", tool.users), f)),
            None => {
                let _ = write!(
                    out,
                    "<tr><td>{name}</td><td colspan=8 class=fail>{}: {}</td></tr>",
                    esc(&tool.status),
                    esc(tool.stderr_tail.as_deref().unwrap_or(""))
                );
            }
        }
        for (endpoint, f) in &tool.per_endpoint {
            out.push_str(&figures_row(&format!("  {name} · {endpoint}"), f));
        }
    }
    out.push_str("</table>");
    out
}

fn server_table(r: &TestResult) -> String {
    if r.server_side.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<h3>Fleet, server-side</h3><table><tr><th>detector</th><th>requests</th><th>p50 ms</th>\
         <th>p95 ms</th><th>p99 ms</th><th>injected faults</th></tr>",
    );
    let ms = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.0}"));
    for (name, s) in &r.server_side {
        let faults: Vec<String> = s
            .faults
            .iter()
            .map(|(k, n)| format!("{k}: {n:.0}"))
            .collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{:.0}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            s.requests,
            ms(s.p50_ms),
            ms(s.p95_ms),
            ms(s.p99_ms),
            esc(&faults.join(", "))
        );
    }
    out.push_str("</table>");
    let bars: Vec<(String, f64)> = r
        .server_side
        .iter()
        .map(|(n, s)| (n.clone(), s.p95_ms.unwrap_or(0.0)))
        .collect();
    out.push_str(&bar_chart("server-side p95 by detector (ms)", &bars));
    out
}

fn charts(history: &[HistoryPoint], windows: &[FaultWindow]) -> String {
    if history.len() < 2 {
        return "<p class=note>No time series (the run was shorter than two samples).</p>".into();
    }
    let series =
        |f: fn(&HistoryPoint) -> f64| history.iter().map(|p| (p.t, f(p))).collect::<Vec<_>>();
    format!(
        "<div class=charts>{}{}{}</div>",
        line_chart(
            "latency percentiles over time (ms)",
            &[
                ("p50", series(|p| p.p50_ms)),
                ("p95", series(|p| p.p95_ms)),
                ("p99", series(|p| p.p99_ms))
            ],
            windows
        ),
        line_chart(
            "throughput over time (req/s)",
            &[("rps", series(|p| p.rps))],
            windows
        ),
        line_chart(
            "errors over time (failures/s)",
            &[("failures/s", series(|p| p.failures_per_s))],
            windows
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_is_self_contained_and_shades_fault_windows() {
        let mut report = Report::default();
        let history: Vec<HistoryPoint> = (0..10)
            .map(|i| HistoryPoint {
                t: f64::from(i),
                rps: 10.0,
                p95_ms: 300.0,
                ..HistoryPoint::default()
            })
            .collect();
        report.results.insert(
            "fault-tolerance".into(),
            TestResult {
                status: "success".into(),
                locust_result: Some(ToolResult {
                    history,
                    figures: Some(Figures::default()),
                    ..ToolResult::default()
                }),
                fault_windows: vec![FaultWindow {
                    detector: "failing<1>".into(),
                    action: "outage:hang".into(),
                    start_s: 2.0,
                    end_s: 5.0,
                    applied: true,
                }],
                ..TestResult::default()
            },
        );
        let html = render(&report);
        assert!(html.contains("<svg") && html.contains("fill=\"#f5b041\""));
        assert!(html.contains("failing&lt;1&gt;"), "escaped");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "nothing fetched at view time"
        );
    }
}
