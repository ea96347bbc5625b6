//! Reading measured latencies: every supported input format turns into
//! one [`Data`] — raw samples, a cumulative histogram, or quantile points —
//! plus the statuses seen, so the fitter never cares where numbers came
//! from.
//!
//! Formats, told apart by content (not only by extension), in
//! [`read_path`]'s order of checks:
//!
//! - a mockdet journal (`GET /admin/requests?format=ndjson`, or what
//!   `mockdet record` writes): NDJSON objects with `duration_ms` (and
//!   `status`, `fault`), or the admin API's JSON form
//!   (`{"count": N, "requests": [...]}`);
//! - k6's JSON output (`k6 run --out json=FILE`): NDJSON `Point` lines of
//!   the `http_req_duration` metric, `tags.status` per point;
//! - k6's `--summary-export` JSON: `metrics.http_req_duration` with
//!   `min`, `med`, `p(90)`, `p(95)`, `max` (quantile points) and
//!   `metrics.http_reqs.count` / `metrics.http_req_failed` when present
//!   (its `http_req_duration{expected_response:true}` first, when there);
//! - Locust's `*_stats.csv` (the `Aggregated` row: `Min Response Time`,
//!   the `50%` … `100%` columns, `Request Count`, `Failure Count`)
//!   and `*_stats_history.csv` (its last `Aggregated` row);
//! - Prometheus: the text exposition of a histogram's `_bucket` series
//!   (`le` labels, cumulative counts; several series with the same `le` are
//!   summed), or a range/instant query's JSON (`data.result[].metric.le`;
//!   for a range query the increase from the first to the last value);
//!   seconds are converted to milliseconds when the metric name ends in
//!   `_seconds_bucket`;
//! - a plain list: one number per line (ms), or CSV with a header naming a
//!   latency column (`ms`, `latency_ms`, `duration_ms`, `elapsed_ms`,
//!   `response_time`) and optionally a `status` column, or NDJSON objects
//!   with one of those fields.
//!
//! Every error names the file, the line (or series) and the reason.
//!
//! # What is a sample, a status, a transport error
//!
//! Where a file tells answers from requests that got none (a journal entry
//! without `status`, k6's status `0`, a `0` or empty `status` in a plain
//! list), only answers give latencies — with any status, errors included —
//! and the rest count as [`Data::transport_errors`]. Where it cannot (k6's
//! summary, Locust's CSVs), every failed request counts as a transport
//! error, no statuses are given, and each reader's notes say what the
//! count and quantile points cover. Prometheus histograms have neither.
//!
//! # Layout
//!
//! One submodule per family — `journal`, `k6`, `locust`, `prometheus`,
//! `plain` — each with its detail; `check` holds the checks they share.

mod check;
mod journal;
mod k6;
mod locust;
mod plain;
mod prometheus;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

/// What a file says about latency.
#[derive(Debug, Clone, PartialEq)]
pub enum Latencies {
    /// Individual latencies in milliseconds (finite, >= 0).
    Samples(Vec<f64>),
    /// A cumulative histogram: `(upper bound ms, count <= bound)`, bounds
    /// strictly increasing, counts non-decreasing; the last bound may be
    /// `f64::INFINITY` (`+Inf`).
    Histogram(Vec<(f64, u64)>),
    /// Quantile points `(q in [0, 1], ms)`, q strictly increasing, ms
    /// non-decreasing (q = 0 is the minimum, q = 1 the maximum), and how
    /// many requests they summarise (when the file says).
    Quantiles {
        /// The points.
        points: Vec<(f64, f64)>,
        /// The request count behind them, when known.
        count: Option<u64>,
    },
}

/// One input file, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    /// The file (for messages and the profile's comments).
    pub source: String,
    /// Which format it was read as, e.g. `k6 JSON output`.
    pub format: &'static str,
    /// The latencies.
    pub latencies: Latencies,
    /// Answers per HTTP status (every status, 2xx included), when the file
    /// records them.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that got no HTTP answer (reset, timeout, refused), when the
    /// file records them.
    pub transport_errors: u64,
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {reason}", .line.map(|l| format!(", line {l}")).unwrap_or_default())]
pub struct InputError {
    /// The file.
    pub file: String,
    /// The 1-based line, where one is to blame.
    pub line: Option<usize>,
    /// What is wrong (naming the series or field where it helps).
    pub reason: String,
}

impl InputError {
    pub(crate) fn new(file: &str, line: Option<usize>, reason: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line,
            reason: reason.into(),
        }
    }
}

/// What [`read_str`] accepts, for the message when a file is none of it.
const EXPECTED: &str = "expected a mockdet journal (NDJSON with `duration_ms` and `status`), \
    k6 `--out json` output or `--summary-export` JSON, Locust's `_stats.csv` or \
    `_stats_history.csv`, a Prometheus histogram (`_bucket` lines or a query's JSON), \
    or a plain list of milliseconds (one number per line, or CSV/NDJSON with a `ms`, \
    `latency_ms`, `duration_ms`, `elapsed_ms` or `response_time` column)";

/// Reads the latency file at `path`, whatever its format (see
/// [`read_str`]); the path, as displayed, is [`Data::source`]. A file that
/// cannot be read, is not UTF-8 or is empty is an error naming it.
pub fn read_path(path: &Path) -> Result<Data, InputError> {
    let source = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| InputError::new(&source, None, format!("cannot read it: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        InputError::new(
            &source,
            None,
            format!("not UTF-8 text (byte {at}): {EXPECTED}"),
        )
    })?;
    read_str(&text, &source)
}

/// Reads latencies from `text`, telling the format by its content in the
/// order of the module's list: a journal, k6 output, a k6 summary, Locust
/// CSV, Prometheus (text or JSON), a plain list. `source` names the text in
/// [`Data::source`] and in errors. Empty text, or text that is none of the
/// formats, is an error.
pub fn read_str(text: &str, source: &str) -> Result<Data, InputError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(first) = text.lines().map(str::trim).find(|line| !line.is_empty()) else {
        return Err(InputError::new(
            source,
            None,
            format!("the file is empty: {EXPECTED}"),
        ));
    };
    let first_json: Option<Map<String, Value>> = match serde_json::from_str(first) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    };
    // A whole JSON document (a summary, a query answer); NDJSON is not one.
    let doc: Option<Value> = if first.starts_with('{') {
        serde_json::from_str(text).ok()
    } else {
        None
    };
    if first_json.as_ref().is_some_and(journal::sniff) {
        return journal::read(text, source);
    }
    if let Some(doc) = doc.as_ref().filter(|doc| journal::sniff_doc(doc)) {
        return journal::read_doc(doc, source);
    }
    if first_json.as_ref().is_some_and(k6::sniff_output) {
        return k6::read_output(text, source);
    }
    if let Some(doc) = doc.as_ref().filter(|doc| k6::sniff_summary(doc)) {
        return k6::read_summary(doc, source);
    }
    if let Some(kind) = locust::sniff(first) {
        return locust::read(kind, text, source);
    }
    if let Some(doc) = doc.as_ref().filter(|doc| prometheus::sniff_json(doc)) {
        return prometheus::read_json(doc, source);
    }
    if prometheus::sniff_text(text) {
        return prometheus::read_text(text, source);
    }
    if let Some(kind) = plain::sniff(first, first_json.as_ref()) {
        return plain::read(kind, text, source);
    }
    Err(InputError::new(
        source,
        None,
        format!(
            "not a recognised latency file: {EXPECTED}; its first line is `{}`",
            check::clip(first)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! data {
        ($file:literal) => {
            include_str!(concat!("../../tests/data/", $file))
        };
    }

    fn format_of(text: &str) -> &'static str {
        read_str(text, "f").unwrap().format
    }

    #[test]
    fn every_real_file_is_told_apart_by_content() {
        assert_eq!(format_of(data!("journal.ndjson")), "mockdet journal");
        let entry = data!("journal.ndjson").lines().next().unwrap();
        let json_form = format!("{{\n  \"count\": 1,\n  \"requests\": [{entry}]\n}}\n");
        assert_eq!(format_of(&json_form), "mockdet journal");
        assert_eq!(format_of(data!("k6.ndjson")), "k6 JSON output");
        assert_eq!(format_of(data!("k6-summary.json")), "k6 summary export");
        assert_eq!(format_of(data!("locust_stats.csv")), "Locust stats CSV");
        assert_eq!(
            format_of(data!("locust_stats_history.csv")),
            "Locust stats history CSV"
        );
        assert_eq!(
            format_of(data!("prometheus-range.json")),
            "Prometheus query JSON"
        );
        let one: String = data!("metrics.txt")
            .lines()
            .filter(|line| !line.contains("injected_delay"))
            .map(|line| format!("{line}\n"))
            .collect();
        assert_eq!(format_of(&one), "Prometheus text exposition");
        assert!(
            read_str(data!("metrics.txt"), "f")
                .unwrap_err()
                .reason
                .contains("several")
        );
    }

    #[test]
    fn plain_lists_come_last() {
        assert_eq!(format_of("\u{feff}212.5\n300\n"), "plain list");
        assert_eq!(format_of("latency_ms\n212.5\n"), "plain CSV");
        assert_eq!(format_of("{\"elapsed_ms\": 212.5}\n"), "plain NDJSON");
        // `duration_ms` alone is a plain list; with `status` a journal.
        assert_eq!(format_of("{\"duration_ms\": 212.5}\n"), "plain NDJSON");
        assert_eq!(
            format_of("{\"duration_ms\": 212.5, \"status\": 200}\n"),
            "mockdet journal"
        );
    }

    #[test]
    fn empty_and_unknown_files_are_errors() {
        let e = read_str(" \n\n", "empty.txt").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("empty.txt: the file is empty: expected"),
            "{e}"
        );
        let e = read_str("when,how long\nnoon,3\n", "odd.csv").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("odd.csv: not a recognised latency file: expected")
        );
        assert!(
            e.to_string().ends_with("its first line is `when,how long`"),
            "{e}"
        );
        let e = read_str("{\"metrics\": 3}", "odd.json").unwrap_err();
        assert!(e.reason.starts_with("not a recognised latency file"), "{e}");
    }

    #[test]
    fn files_are_read_by_path() {
        let dir = std::env::temp_dir().join(format!("mockdet-fit-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("latencies.txt");
        std::fs::write(&path, "212.5\n300\n").unwrap();
        let data = read_path(&path).unwrap();
        assert_eq!(data.source, path.display().to_string());
        assert_eq!(data.latencies, Latencies::Samples(vec![212.5, 300.0]));

        std::fs::write(&path, "").unwrap();
        let e = read_path(&path).unwrap_err();
        assert_eq!(e.file, path.display().to_string());
        assert!(e.reason.starts_with("the file is empty"), "{e}");

        std::fs::write(&path, b"\xff\xfe1\n").unwrap();
        assert!(
            read_path(&path)
                .unwrap_err()
                .reason
                .starts_with("not UTF-8 text (byte 0)")
        );

        let missing = dir.join("missing.txt");
        let e = read_path(&missing).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("{}: cannot read it:", missing.display()))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Keeps, of a Prometheus text exposition, only the `_bucket` series of
/// `metric` (named with or without `_bucket`), so one histogram of a scrape
/// that holds several can be read. `None` when the text has no such series.
pub fn only_histogram(text: &str, metric: &str) -> Option<String> {
    let base = metric.strip_suffix("_bucket").unwrap_or(metric);
    let bucket = format!("{base}_bucket");
    let kept: Vec<&str> = text
        .lines()
        .filter(|line| {
            line.strip_prefix(bucket.as_str())
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join("\n") + "\n")
}

#[cfg(test)]
mod selection_tests {
    use super::*;

    #[test]
    fn one_histogram_is_picked_out_of_a_scrape() {
        let scrape = include_str!("../../tests/data/metrics.txt");
        assert!(read_str(scrape, "metrics.txt").is_err(), "two histograms");
        let one = only_histogram(scrape, "mockdet_request_duration_seconds").unwrap();
        let data = read_str(&one, "metrics.txt").unwrap();
        assert!(matches!(data.latencies, Latencies::Histogram(_)));
        assert!(only_histogram(scrape, "mockdet_request_duration_seconds_bucket").is_some());
        assert!(only_histogram(scrape, "nothing_here").is_none());
    }
}
