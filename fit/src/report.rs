//! The picture of a fit: one self-contained HTML file with the data's and
//! the chosen model's CDF on a log axis (SVG), the quantile table data vs
//! model (p50 … p99.9), and every model's distance.

use std::fmt::Write;

use crate::fit::Fit;
use crate::input::Data;

/// The quantiles the table compares.
pub const QUANTILES: [(f64, &str); 6] = [
    (0.5, "p50"),
    (0.9, "p90"),
    (0.95, "p95"),
    (0.99, "p99"),
    (0.995, "p99.5"),
    (0.999, "p99.9"),
];

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}\
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.chosen{font-weight:bold;background:#eef4ff}\
svg{background:#fff;border:1px solid #ddd}.note{color:#555}";

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders the report; `title` names the profile.
pub fn render(fit: &Fit, inputs: &[Data], title: &str) -> String {
    let best = fit.best();
    let mut html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>mockdet fit — {t}</title>\
         <style>{STYLE}</style></head><body><h1>Latency fit — {t}</h1>",
        t = esc(title)
    );
    let sources: Vec<String> = inputs
        .iter()
        .map(|d| format!("<code>{}</code> ({})", esc(&d.source), esc(d.format)))
        .collect();
    let _ = write!(
        html,
        "<p>From {} · {} requests</p><p>Written: <b>{}</b> — {} <b>{:.4}</b></p>",
        sources.join(", "),
        fit.n
            .map_or("an unknown number of".to_owned(), |n| n.to_string()),
        esc(&best.describe()),
        esc(fit.statistic.describe()),
        best.d
    );
    html.push_str("<h2>Cumulative distribution</h2>");
    html.push_str(&cdf_chart(fit));
    html.push_str("<h2>Quantiles</h2><table><tr><th>quantile</th><th>data (ms)</th><th>model (ms)</th><th>model / data</th></tr>");
    for (q, name) in QUANTILES {
        let data = fit.data_quantile(q);
        let model = best.quantile(q);
        let _ = write!(
            html,
            "<tr><td>{name}</td><td>{data:.1}</td><td>{model:.1}</td><td>{:.3}</td></tr>",
            if data > 0.0 { model / data } else { f64::NAN }
        );
    }
    html.push_str(
        "</table><p class=\"note\">Data quantiles are read off the input (linear between known \
         points for histograms and quantile inputs).</p>",
    );
    html.push_str(
        "<h2>Every model</h2><table><tr><th>model</th><th>as fitted</th><th>distance</th></tr>",
    );
    for candidate in &fit.ranking {
        let chosen = std::ptr::eq(candidate, best);
        let _ = write!(
            html,
            "<tr{}><td>{}{}</td><td>{}</td><td>{:.4}</td></tr>",
            if chosen { " class=\"chosen\"" } else { "" },
            esc(&candidate.name),
            if chosen { " (written)" } else { "" },
            esc(&candidate.describe()),
            candidate.d
        );
    }
    let _ = writeln!(
        html,
        "</table><p class=\"note\">Distance: {}. The closest closed-form model is written when \
         its distance is small enough; otherwise the quantile table.</p></body></html>",
        esc(fit.statistic.describe())
    );
    html
}

/// Data (grey dots) and model (blue line) CDFs, ms on a log axis.
fn cdf_chart(fit: &Fit) -> String {
    let (w, h, pad) = (760.0, 360.0, 48.0);
    let points = fit.data_points();
    let best = fit.best();
    let lo = points
        .iter()
        .map(|p| p.0)
        .find(|x| *x > 0.0)
        .unwrap_or(1.0)
        .max(0.01);
    let hi = points
        .last()
        .map_or(lo * 10.0, |p| p.0)
        .max(best.quantile(0.999))
        .max(lo * 10.0);
    let (llo, lhi) = (lo.log10().floor(), hi.log10().ceil());
    let x = |ms: f64| pad + (ms.max(lo).log10() - llo) / (lhi - llo) * (w - 2.0 * pad);
    let y = |p: f64| h - pad - p.clamp(0.0, 1.0) * (h - 2.0 * pad);
    let mut svg = format!(
        "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" \
         aria-label=\"cumulative distribution of latency, data and model\">"
    );
    // Axes, decades, and quarter lines.
    let mut decade = llo;
    while decade <= lhi {
        let ms = 10f64.powf(decade);
        let _ = write!(
            svg,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{pad}\" y2=\"{1:.1}\" stroke=\"#eee\"/>\
             <text x=\"{0:.1}\" y=\"{2:.1}\" font-size=\"11\" text-anchor=\"middle\">{3} ms</text>",
            x(ms),
            h - pad,
            h - pad + 16.0,
            if ms >= 1.0 {
                format!("{ms:.0}")
            } else {
                format!("{ms}")
            }
        );
        decade += 1.0;
    }
    for p in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let _ = write!(
            svg,
            "<line x1=\"{pad}\" x2=\"{:.1}\" y1=\"{1:.1}\" y2=\"{1:.1}\" stroke=\"#eee\"/>\
             <text x=\"{2:.1}\" y=\"{3:.1}\" font-size=\"11\" text-anchor=\"end\">{p}</text>",
            w - pad,
            y(p),
            pad - 6.0,
            y(p) + 4.0
        );
    }
    for (ms, p) in &points {
        let _ = write!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"1.6\" fill=\"#888\"/>",
            x(*ms),
            y(*p)
        );
    }
    let steps = 240;
    let path: Vec<String> = (0..=steps)
        .map(|i| {
            let ms = 10f64.powf(llo + (lhi - llo) * f64::from(i) / f64::from(steps));
            format!("{:.1},{:.1}", x(ms), y(best.cdf(ms)))
        })
        .collect();
    let _ = write!(
        svg,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#3367d6\" stroke-width=\"2\"/>\
         <text x=\"{pad}\" y=\"20\" font-size=\"12\"><tspan fill=\"#888\">● data</tspan> \
         <tspan fill=\"#3367d6\">— {} (D = {:.4})</tspan></text></svg>",
        path.join(" "),
        esc(&best.name),
        best.d
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::{DEFAULT_MAX_D, fit};
    use crate::input::Latencies;

    #[test]
    fn the_report_shows_the_curves_the_quantiles_and_every_model() {
        let samples: Vec<f64> = (1..=500).map(|i| f64::from(i) * 2.0).collect();
        let data = Data {
            source: "a<b>.csv".into(),
            format: "plain list",
            latencies: Latencies::Samples(samples),
            statuses: Default::default(),
            transport_errors: 0,
        };
        let fitted = fit(&data.latencies, DEFAULT_MAX_D).unwrap();
        let html = render(&fitted, &[data], "mine");
        assert!(html.contains("<code>a&lt;b&gt;.csv</code>"));
        assert_eq!(html.matches("<svg").count(), 1);
        assert!(html.contains("<polyline") && html.contains("<circle"));
        for (_, name) in QUANTILES {
            assert!(html.contains(&format!("<td>{name}</td>")), "{name}");
        }
        assert!(html.contains("(written)"));
        assert_eq!(
            html.matches("<tr").count(),
            1 + QUANTILES.len() + 1 + fitted.ranking.len()
        );
    }
}
