//! The report's inline SVG charts: lines over time with fault windows
//! shaded, and horizontal bars.

use std::fmt::Write;

use super::esc;
use crate::report::FaultWindow;

const COLORS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

const W: f64 = 460.0;
const H: f64 = 220.0;
const PAD: f64 = 40.0;

/// An SVG line chart; fault windows are shaded and labelled.
pub(super) fn line_chart(
    title: &str,
    series: &[(&str, Vec<(f64, f64)>)],
    windows: &[FaultWindow],
) -> String {
    let points = series.iter().flat_map(|(_, s)| s.iter());
    let t_max = points.clone().map(|p| p.0).fold(1.0_f64, f64::max);
    let y_max = points.map(|p| p.1).fold(1.0_f64, f64::max) * 1.1;
    let x = |t: f64| PAD + (t / t_max) * (W - 2.0 * PAD);
    let y = |v: f64| H - PAD - (v / y_max) * (H - 2.0 * PAD);
    let mut svg = format!(
        "<svg width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\"><title>{}</title>",
        esc(title)
    );
    shade_windows(&mut svg, windows, t_max, &x);
    axes(&mut svg, title, t_max, y_max);
    for (i, (name, points)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let path: Vec<String> = points
            .iter()
            .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/><text x=\"{:.0}\" y=\"{:.0}\" font-size=\"10\" fill=\"{color}\">{}</text>",
            path.join(" "),
            W - PAD - 60.0 + 0.0 * i as f64,
            PAD + 12.0 * (i as f64 + 1.0),
            esc(name)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Shades and labels each applied fault window, clipped to `t_max`; `x`
/// maps seconds to the chart's x.
fn shade_windows(svg: &mut String, windows: &[FaultWindow], t_max: f64, x: &impl Fn(f64) -> f64) {
    for w in windows.iter().filter(|w| w.applied) {
        let (x0, x1) = (x(w.start_s.min(t_max)), x(w.end_s.min(t_max)));
        let _ = write!(
            svg,
            "<rect x=\"{x0:.1}\" y=\"{PAD}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#f5b041\" fill-opacity=\"0.25\"><title>{} {}</title></rect><text x=\"{x0:.1}\" y=\"{:.1}\" font-size=\"9\" fill=\"#a0522d\">{}</text>",
            (x1 - x0).max(1.0),
            H - 2.0 * PAD,
            esc(&w.detector),
            esc(&w.action),
            PAD - 3.0,
            esc(&w.detector)
        );
    }
}

/// The axes, the title, and the extremes of both scales.
fn axes(svg: &mut String, title: &str, t_max: f64, y_max: f64) {
    let _ = write!(
        svg,
        "<line x1=\"{PAD}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#888\"/><line x1=\"{PAD}\" y1=\"{PAD}\" x2=\"{PAD}\" y2=\"{0}\" stroke=\"#888\"/>",
        H - PAD,
        W - PAD
    );
    let _ = write!(
        svg,
        "<text x=\"{PAD}\" y=\"14\" font-size=\"12\" font-weight=\"bold\">{}</text><text x=\"4\" y=\"{PAD}\" font-size=\"10\">{y_max:.0}</text><text x=\"{:.0}\" y=\"{:.0}\" font-size=\"10\">{t_max:.0} s</text>",
        esc(title),
        W - PAD - 20.0,
        H - PAD + 14.0
    );
}

pub(super) fn bar_chart(title: &str, bars: &[(String, f64)]) -> String {
    let max = bars.iter().map(|b| b.1).fold(1.0_f64, f64::max);
    let row = 22.0;
    let height = PAD + row * bars.len() as f64;
    let mut svg = format!(
        "<svg width=\"{W}\" height=\"{height}\" role=\"img\"><text x=\"8\" y=\"16\" font-size=\"12\" font-weight=\"bold\">{}</text>",
        esc(title)
    );
    for (i, (name, value)) in bars.iter().enumerate() {
        let top = PAD - 10.0 + row * i as f64;
        let width = (value / max) * (W - 180.0);
        let _ = write!(
            svg,
            "<text x=\"8\" y=\"{:.0}\" font-size=\"11\">{}</text><rect x=\"100\" y=\"{top:.0}\" width=\"{width:.1}\" height=\"14\" fill=\"#1f77b4\"/><text x=\"{:.0}\" y=\"{:.0}\" font-size=\"10\">{value:.0}</text>",
            top + 11.0,
            esc(name),
            104.0 + width,
            top + 11.0
        );
    }
    svg.push_str("</svg>");
    svg
}
