//! What a benchmark run produces: a list of [`Figure`]s, each a mockdet
//! value beside the baseline's from the same run, their ratio, and the
//! target it is judged by; rendered as a text table and as JSON.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::stats::ratio;

/// Which number a target applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum On {
    /// mockdet / baseline.
    Ratio,
    /// mockdet's own value.
    Mockdet,
}

/// A pass/fail threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Target {
    /// At least this much.
    AtLeast(On, f64),
    /// At most this much.
    AtMost(On, f64),
}

impl Target {
    /// Whether `(mockdet, ratio)` meets the target; `None` if the figure
    /// it applies to is not a number.
    pub(crate) fn met(self, mockdet: f64, ratio: f64) -> Option<bool> {
        let pick = |on| if on == On::Ratio { ratio } else { mockdet };
        let (value, ok) = match self {
            Target::AtLeast(on, t) => (pick(on), pick(on) >= t),
            Target::AtMost(on, t) => (pick(on), pick(on) <= t),
        };
        value.is_finite().then_some(ok)
    }

    fn describe(self, unit: &str) -> String {
        let (op, on, t) = match self {
            Target::AtLeast(on, t) => ("≥", on, t),
            Target::AtMost(on, t) => ("≤", on, t),
        };
        match on {
            On::Ratio => format!("ratio {op} {t}"),
            On::Mockdet => format!("{op} {t} {unit}").trim_end().to_owned(),
        }
    }
}

/// One reported number.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figure {
    /// Stable id, e.g. `timer.overshoot_p50_ms`.
    pub(crate) id: String,
    /// Human description of the case and measure.
    pub(crate) label: String,
    /// Unit of `mockdet` and `baseline`.
    pub(crate) unit: &'static str,
    /// mockdet's value.
    pub(crate) mockdet: f64,
    /// The baseline's value from the same run.
    pub(crate) baseline: f64,
    /// What the figure is judged by, if anything.
    pub(crate) target: Option<Target>,
}

impl Figure {
    /// mockdet / baseline (NaN when undefined, e.g. a zero baseline).
    pub(crate) fn ratio(&self) -> f64 {
        ratio(self.mockdet, self.baseline)
    }

    /// Whether the target is met (`None` without a target or a value).
    pub(crate) fn met(&self) -> Option<bool> {
        self.target.and_then(|t| t.met(self.mockdet, self.ratio()))
    }

    fn to_json(&self) -> Value {
        let num = |x: f64| if x.is_finite() { json!(x) } else { Value::Null };
        json!({
            "id": self.id,
            "label": self.label,
            "unit": self.unit,
            "mockdet": num(self.mockdet),
            "baseline": num(self.baseline),
            "ratio": num(self.ratio()),
            "target": self.target.map(|t| t.describe(self.unit)),
            "met": self.met(),
        })
    }
}

/// The outcome of one run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Report {
    /// Header facts: machine, mode, client, pinning.
    pub(crate) about: Vec<(String, String)>,
    pub(crate) figures: Vec<Figure>,
    /// Supporting numbers that are not judged (counts, client lag, …).
    pub(crate) context: Vec<(String, f64)>,
}

impl Report {
    /// Adds a header fact.
    pub(crate) fn about(&mut self, key: &str, value: impl Into<String>) {
        self.about.push((key.to_owned(), value.into()));
    }

    /// Adds a figure: `values` is `(mockdet, baseline)`.
    pub(crate) fn figure(
        &mut self,
        id: &str,
        label: impl Into<String>,
        unit: &'static str,
        values: (f64, f64),
        target: Option<Target>,
    ) {
        self.figures.push(Figure {
            id: id.to_owned(),
            label: label.into(),
            unit,
            mockdet: values.0,
            baseline: values.1,
            target,
        });
    }

    /// Adds a supporting number.
    pub(crate) fn note(&mut self, key: impl Into<String>, value: f64) {
        self.context.push((key.into(), value));
    }

    /// The report as JSON.
    pub(crate) fn to_json(&self) -> Value {
        let about: serde_json::Map<String, Value> = self
            .about
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let context: serde_json::Map<String, Value> = self
            .context
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if v.is_finite() { json!(v) } else { Value::Null },
                )
            })
            .collect();
        let figures: Vec<Value> = self.figures.iter().map(Figure::to_json).collect();
        json!({ "about": about, "figures": figures, "context": context })
    }

    /// The report as a Markdown table (readable as plain text too).
    pub(crate) fn table(&self) -> String {
        let mut out = String::new();
        for (key, value) in &self.about {
            let _ = writeln!(out, "{key}: {value}");
        }
        out.push('\n');
        out.push_str("| figure | unit | mockdet | baseline | mockdet/baseline | target | met |\n");
        out.push_str("|---|---|--:|--:|--:|---|---|\n");
        for f in &self.figures {
            let met = match f.met() {
                Some(true) => "yes",
                Some(false) => "**NO**",
                None => "",
            };
            let target = f.target.map(|t| t.describe(f.unit)).unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {target} | {met} |",
                f.label,
                f.unit,
                num(f.mockdet),
                num(f.baseline),
                num(f.ratio()),
            );
        }
        out
    }
}

/// Four significant digits, no exponent for the magnitudes reported here.
pub(crate) fn num(x: f64) -> String {
    if !x.is_finite() {
        return "–".to_owned();
    }
    let magnitude = x.abs();
    let decimals = match magnitude {
        m if m == 0.0 || m >= 1000.0 => 0,
        m if m >= 100.0 => 1,
        m if m >= 10.0 => 2,
        m if m >= 1.0 => 3,
        _ => 4,
    };
    format!("{x:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(mockdet: f64, baseline: f64, target: Option<Target>) -> Figure {
        Figure {
            id: "x".into(),
            label: "x".into(),
            unit: "ms",
            mockdet,
            baseline,
            target,
        }
    }

    #[test]
    fn targets_apply_to_the_ratio_or_the_value() {
        let at_least = Some(Target::AtLeast(On::Ratio, 0.7));
        assert_eq!(figure(80.0, 100.0, at_least).met(), Some(true));
        assert_eq!(figure(60.0, 100.0, at_least).met(), Some(false));
        let at_most = Some(Target::AtMost(On::Mockdet, 1.0));
        assert_eq!(figure(0.9, 0.1, at_most).met(), Some(true));
        assert_eq!(figure(f64::NAN, 0.1, at_most).met(), None);
        assert_eq!(figure(1.0, 2.0, None).met(), None);
    }

    #[test]
    fn json_has_every_figure_with_nulls_for_missing_numbers() {
        let mut report = Report::default();
        report.about("mode", "quick");
        report.figures.push(figure(1.0, 0.0, None));
        report.note("n", 3.0);
        let v = report.to_json();
        assert_eq!(v["figures"][0]["mockdet"], 1.0);
        assert!(v["figures"][0]["ratio"].is_null());
        assert_eq!(v["context"]["n"], 3.0);
        assert_eq!(v["about"]["mode"], "quick");
    }

    #[test]
    fn the_table_marks_misses() {
        let mut report = Report::default();
        report
            .figures
            .push(figure(2.0, 1.0, Some(Target::AtMost(On::Ratio, 1.3))));
        let table = report.table();
        assert!(
            table.contains("| 2.000 | 1.000 | 2.000 | ratio ≤ 1.3 | **NO** |"),
            "{table}"
        );
    }

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(num(12345.6), "12346");
        assert_eq!(num(0.01234), "0.0123");
        assert_eq!(num(1.5), "1.500");
        assert_eq!(num(f64::NAN), "–");
    }
}
