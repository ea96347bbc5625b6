//! Prometheus histograms, as scraped or as queried.
//!
//! - The text exposition (`curl …/metrics`): every `NAME_bucket{…,le="…"}
//!   COUNT [TIMESTAMP]` line; other series, `# HELP`/`# TYPE` comments and
//!   OpenMetrics exemplars are ignored.
//! - The HTTP API's JSON (`/api/v1/query` or `/api/v1/query_range` on the
//!   `_bucket` series): a `vector`'s values, or for a `matrix` each series'
//!   last value less its first (the increase over the range).
//!
//! Series with the same `le` (other labels differing: detectors,
//! endpoints, outcomes) are summed. One histogram per file: several
//! `_bucket` names is an error naming them. `le="+Inf"` is
//! `f64::INFINITY`; bounds are seconds, converted to milliseconds, when the
//! name ends in `_seconds_bucket`, else taken as milliseconds. Counts are
//! rounded to whole requests. No statuses or transport errors are known.

use std::collections::BTreeSet;

use serde_json::Value;

use super::check;
use super::{Data, InputError, Latencies};

/// The text format's name in [`Data::format`].
pub(crate) const TEXT: &str = "Prometheus text exposition";

/// The query JSON format's name in [`Data::format`].
pub(crate) const JSON: &str = "Prometheus query JSON";

/// Whether `text` looks like a text exposition: a `# HELP`/`# TYPE`
/// comment or a `_bucket{` line.
pub(crate) fn sniff_text(text: &str) -> bool {
    check::lines(text).any(|(_, line)| {
        line.starts_with("# HELP ")
            || line.starts_with("# TYPE ")
            || line
                .split_once('{')
                .is_some_and(|(name, _)| is_bucket(name))
    })
}

/// Whether a whole JSON document is a Prometheus API answer.
pub(crate) fn sniff_json(doc: &Value) -> bool {
    doc.get("data")
        .is_some_and(|data| data.get("resultType").is_some())
        || doc.get("errorType").is_some()
}

/// Reads a text exposition.
pub(crate) fn read_text(text: &str, file: &str) -> Result<Data, InputError> {
    let mut histogram = Histogram::default();
    for (line, text) in check::lines(text) {
        if text.starts_with('#') {
            continue;
        }
        let name_end = text
            .find(|c: char| c == '{' || c.is_whitespace())
            .unwrap_or(text.len());
        let name = &text[..name_end];
        if !is_bucket(name) {
            continue;
        }
        let fail = |reason: String| InputError::new(file, Some(line), reason);
        let (le, rest) = match text[name_end..].strip_prefix('{') {
            Some(labels) => {
                labels_le(labels).map_err(|reason| fail(format!("`{name}`: {reason}")))?
            }
            None => (None, &text[name_end..]),
        };
        let le = le.ok_or_else(|| fail(format!("`{name}` has no `le` label")))?;
        let value = rest.split_whitespace().next().unwrap_or("");
        let count = value.parse::<f64>().map_err(|_| {
            fail(format!(
                "series le=\"{le}\": count `{value}` is not a number"
            ))
        })?;
        histogram.add(name, &le, count).map_err(fail)?;
    }
    histogram.finish(file, TEXT)
}

/// Reads a query's JSON answer.
pub(crate) fn read_json(doc: &Value, file: &str) -> Result<Data, InputError> {
    let fail = |reason: String| InputError::new(file, None, reason);
    if doc["status"] == "error" || doc.get("errorType").is_some() {
        let text = |key: &str| doc[key].as_str().unwrap_or("unknown").to_owned();
        let (kind, error) = (text("errorType"), text("error"));
        return Err(fail(format!(
            "Prometheus answered an error: {kind}: {error}"
        )));
    }
    let data = &doc["data"];
    let matrix = match data["resultType"].as_str() {
        Some("matrix") => true,
        Some("vector") => false,
        other => {
            return Err(fail(format!(
                "resultType {}: expected `matrix` (a range) or `vector` of `_bucket` series",
                other.unwrap_or("missing")
            )));
        }
    };
    let results = data["result"]
        .as_array()
        .ok_or_else(|| fail("no `data.result` list".into()))?;
    let mut histogram = Histogram::default();
    for (i, series) in results.iter().enumerate() {
        let Some(name) = series["metric"]["__name__"].as_str() else {
            return Err(fail(format!(
                "`data.result[{i}]` has no `__name__`, so its unit is unknown: query the \
                 `_bucket` series themselves (they are summed per `le` here), not an \
                 aggregation or function of them"
            )));
        };
        if !is_bucket(name) {
            histogram.others.insert(name.to_owned());
            continue;
        }
        let Some(le) = series["metric"]["le"].as_str() else {
            return Err(fail(format!(
                "`data.result[{i}]` (`{name}`) has no `le` label"
            )));
        };
        let count = series_count(series, matrix, le).map_err(fail)?;
        histogram.add(name, le, count).map_err(fail)?;
    }
    histogram.finish(file, JSON)
}

/// One series' count: a vector's value, or a matrix's increase from its
/// first value to its last.
fn series_count(series: &Value, matrix: bool, le: &str) -> Result<f64, String> {
    if !matrix {
        return sample(&series["value"], le);
    }
    let values = series["values"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let (Some(first), Some(last)) = (values.first(), values.last()) else {
        return Err(format!("series le=\"{le}\": no `values`"));
    };
    let (first, last) = (sample(first, le)?, sample(last, le)?);
    if last < first {
        return Err(format!(
            "series le=\"{le}\": fell from {first} to {last} over the range \
             (a restart reset it): query a range without restarts"
        ));
    }
    Ok(last - first)
}

/// Whether a series name is a histogram bucket's.
fn is_bucket(name: &str) -> bool {
    name.len() > "_bucket".len()
        && name.ends_with("_bucket")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// The `le` label of a label set (the text after its `{`), and what
/// follows the `}`.
fn labels_le(mut rest: &str) -> Result<(Option<String>, &str), String> {
    let mut le = None;
    loop {
        rest = rest.trim_start().trim_start_matches(',').trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((le, after));
        }
        let (name, after) = rest.split_once('=').ok_or("unterminated label set")?;
        let after = after
            .trim_start()
            .strip_prefix('"')
            .ok_or("a label value without quotes")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().ok_or("an unterminated label value")? {
                (i, '"') => break i,
                (_, '\\') => match chars.next().ok_or("an unterminated label value")?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        };
        if name.trim() == "le" {
            le = Some(value);
        }
        rest = &after[end + 1..];
    }
}

/// One `[timestamp, "value"]` pair's value.
fn sample(pair: &Value, le: &str) -> Result<f64, String> {
    let text = pair.get(1).and_then(Value::as_str);
    text.and_then(|t| t.parse::<f64>().ok())
        .ok_or_else(|| format!("series le=\"{le}\": `{pair}` is not a [time, \"count\"] pair"))
}

/// Buckets summed per bound, as they are read.
#[derive(Default)]
struct Histogram {
    /// Every `_bucket` name seen.
    names: BTreeSet<String>,
    /// Other series seen (the query JSON's, for messages).
    others: BTreeSet<String>,
    /// `(bound as written, bound in ms, summed count)`, in first-seen order.
    buckets: Vec<(String, f64, f64)>,
}

impl Histogram {
    /// Adds one series' count for bound `le`.
    fn add(&mut self, name: &str, le: &str, count: f64) -> Result<(), String> {
        let exponent = if name.ends_with("_seconds_bucket") {
            3
        } else {
            0
        };
        let bound = match le.trim() {
            "+Inf" | "Inf" | "+inf" | "inf" => f64::INFINITY,
            text => check::scaled(text, exponent)
                .filter(|b| b.is_finite() && *b >= 0.0)
                .ok_or_else(|| {
                    format!("series le=\"{le}\": the bound is not a number >= 0 or +Inf")
                })?,
        };
        if !count.is_finite() || count < 0.0 {
            return Err(format!(
                "series le=\"{le}\": count {count} is not a number >= 0"
            ));
        }
        self.names.insert(name.to_owned());
        match self.buckets.iter_mut().find(|b| b.1 == bound) {
            Some(bucket) => bucket.2 += count,
            None => self.buckets.push((le.to_owned(), bound, count)),
        }
        Ok(())
    }

    /// The histogram, checked: one name, cumulative, not empty.
    fn finish(mut self, file: &str, format: &'static str) -> Result<Data, InputError> {
        let fail = |reason: String| InputError::new(file, None, reason);
        let names: Vec<String> = self.names.iter().map(|n| format!("`{n}`")).collect();
        let Some(name) = self.names.first() else {
            let found: Vec<String> = self.others.iter().map(|n| format!("`{n}`")).collect();
            let found = if found.is_empty() {
                String::new()
            } else {
                format!(" (found {})", found.join(", "))
            };
            return Err(fail(format!(
                "no histogram `_bucket` series{found}: expected `NAME_bucket{{le=\"…\"}} COUNT`"
            )));
        };
        if names.len() > 1 {
            return Err(fail(format!(
                "several histograms: {}: keep one's `_bucket` series in the file",
                names.join(", ")
            )));
        }
        self.buckets.sort_by(|a, b| a.1.total_cmp(&b.1));
        let mut out: Vec<(f64, u64)> = Vec::with_capacity(self.buckets.len());
        let mut previous = 0;
        for (le, bound, count) in &self.buckets {
            let count = count.round() as u64;
            if count < previous {
                return Err(fail(format!(
                    "series le=\"{le}\": count {count} is below the previous bucket's \
                     {previous}: buckets must be cumulative"
                )));
            }
            out.push((*bound, count));
            previous = count;
        }
        if previous == 0 {
            return Err(fail(format!(
                "`{name}`: zero observations (every bucket is 0)"
            )));
        }
        Ok(Data {
            source: file.to_owned(),
            format,
            latencies: Latencies::Histogram(out),
            statuses: Default::default(),
            transport_errors: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const METRICS: &str = include_str!("../../tests/data/metrics.txt");
    const RANGE: &str = include_str!("../../tests/data/prometheus-range.json");

    /// The real scrape with one histogram's lines only.
    fn one_histogram() -> String {
        METRICS
            .lines()
            .filter(|line| !line.starts_with("mockdet_injected_delay_seconds_bucket"))
            .map(|line| format!("{line}\n"))
            .collect()
    }

    fn text_err(text: &str) -> String {
        read_text(text, "metrics.txt").unwrap_err().to_string()
    }

    fn json_err(doc: Value) -> String {
        read_json(&doc, "q.json").unwrap_err().to_string()
    }

    #[test]
    fn a_real_scrape_with_two_histograms_asks_for_one() {
        assert!(sniff_text(METRICS));
        assert_eq!(
            text_err(METRICS),
            "metrics.txt: several histograms: `mockdet_injected_delay_seconds_bucket`, \
             `mockdet_request_duration_seconds_bucket`: keep one's `_bucket` series in the file"
        );
    }

    #[test]
    fn a_real_seconds_histogram_is_read_in_milliseconds() {
        let data = read_text(&one_histogram(), "metrics.txt").unwrap();
        assert_eq!(data.format, TEXT);
        let Latencies::Histogram(buckets) = data.latencies else {
            panic!()
        };
        assert_eq!(buckets.len(), 19);
        assert_eq!(buckets[0], (5.0, 0));
        assert_eq!(buckets[6], (300.0, 50));
        assert_eq!(buckets[7], (400.0, 94));
        assert_eq!(buckets[8], (500.0, 143));
        assert_eq!(buckets[18], (f64::INFINITY, 143));
    }

    #[test]
    fn label_sets_are_summed_per_bound_and_timestamps_and_exemplars_ignored() {
        let text = "# TYPE rpc_duration_ms histogram\n\
            rpc_duration_ms_bucket{path=\"/a\",le=\"100\"} 3 1796028561000\n\
            rpc_duration_ms_bucket{path=\"/b, \\\"quoted\\\"\",le=\"100\"} 4\n\
            rpc_duration_ms_bucket{le=\"+Inf\",path=\"/a\"} 5 # {trace_id=\"abc\"} 120 1796028561\n\
            rpc_duration_ms_bucket{path=\"/b\",le=\"+Inf\"} 6\n\
            rpc_duration_ms_count 11\n";
        let data = read_text(text, "m.txt").unwrap();
        assert_eq!(
            data.latencies,
            Latencies::Histogram(vec![(100.0, 7), (f64::INFINITY, 11)])
        );
    }

    #[test]
    fn bad_text_series_are_errors() {
        let histogram = one_histogram();
        let decreasing = histogram.replacen("le=\"0.4\"} 94", "le=\"0.4\"} 5", 1);
        assert_eq!(
            text_err(&decreasing),
            "metrics.txt: series le=\"0.4\": count 5 is below the previous bucket's 50: \
             buckets must be cumulative"
        );
        assert_eq!(
            text_err("x_bucket{le=\"0.1\"} many\n"),
            "metrics.txt, line 1: series le=\"0.1\": count `many` is not a number"
        );
        assert_eq!(
            text_err("x_bucket{job=\"a\"} 1\n"),
            "metrics.txt, line 1: `x_bucket` has no `le` label"
        );
        assert_eq!(
            text_err("x_bucket{le=\"fast\"} 1\n"),
            "metrics.txt, line 1: series le=\"fast\": the bound is not a number >= 0 or +Inf"
        );
        assert_eq!(
            text_err("x_bucket{le=\"1\"} -2\n"),
            "metrics.txt, line 1: series le=\"1\": count -2 is not a number >= 0"
        );
        assert!(text_err("x_bucket{le=\"1} 2\n").contains("unterminated label value"));
        let zero = "x_seconds_bucket{le=\"0.1\"} 0\nx_seconds_bucket{le=\"+Inf\"} 0\n";
        assert_eq!(
            text_err(zero),
            "metrics.txt: `x_seconds_bucket`: zero observations (every bucket is 0)"
        );
        assert!(
            text_err("# TYPE up gauge\nup 1\n")
                .starts_with("metrics.txt: no histogram `_bucket` series")
        );
    }

    #[test]
    fn a_range_query_gives_the_increase_over_the_range() {
        let doc: Value = serde_json::from_str(RANGE).unwrap();
        assert!(sniff_json(&doc));
        let data = read_json(&doc, "range.json").unwrap();
        assert_eq!(data.format, JSON);
        let Latencies::Histogram(buckets) = data.latencies else {
            panic!()
        };
        assert_eq!(buckets[..3], [(200.0, 0), (300.0, 36), (400.0, 68)]);
        assert_eq!(buckets.last(), Some(&(f64::INFINITY, 104)));
    }

    #[test]
    fn an_instant_query_gives_the_counts() {
        let series = |le: &str, v: &str| json!({"metric": {"__name__": "http_ms_bucket", "le": le}, "value": [1796028561.5, v]});
        let doc = json!({"status": "success", "data": {"resultType": "vector", "result": [
            series("+Inf", "9"), series("50", "4"), series("50", "1"),
            {"metric": {"__name__": "http_ms_count"}, "value": [1796028561.5, "9"]}
        ]}});
        let data = read_json(&doc, "q.json").unwrap();
        assert_eq!(
            data.latencies,
            Latencies::Histogram(vec![(50.0, 5), (f64::INFINITY, 9)])
        );
    }

    #[test]
    fn bad_query_answers_are_errors() {
        let doc = |kind: &str, result: Value| json!({"status": "success", "data": {"resultType": kind, "result": result}});
        assert_eq!(
            json_err(json!({"status": "error", "errorType": "bad_data", "error": "parse error"})),
            "q.json: Prometheus answered an error: bad_data: parse error"
        );
        assert!(json_err(doc("scalar", json!([1, "2"]))).contains("resultType scalar"));
        assert!(
            json_err(doc(
                "vector",
                json!([{"metric": {"le": "1"}, "value": [1, "2"]}])
            ))
            .contains("has no `__name__`, so its unit is unknown")
        );
        assert!(
            json_err(doc(
                "vector",
                json!([{"metric": {"__name__": "x_bucket"}, "value": [1, "2"]}])
            ))
            .contains("`data.result[0]` (`x_bucket`) has no `le` label")
        );
        assert_eq!(
            json_err(doc(
                "matrix",
                json!([{"metric": {"__name__": "x_bucket", "le": "1"},
                "values": [[1, "9"], [2, "3"]]}])
            )),
            "q.json: series le=\"1\": fell from 9 to 3 over the range (a restart reset it): \
             query a range without restarts"
        );
        assert!(
            json_err(doc(
                "matrix",
                json!([{"metric": {"__name__": "x_bucket", "le": "1"}, "values": [[1, 2]]}])
            ))
            .contains("is not a [time, \"count\"] pair")
        );
        assert_eq!(
            json_err(doc(
                "vector",
                json!([{"metric": {"__name__": "x_count"}, "value": [1, "2"]}])
            )),
            "q.json: no histogram `_bucket` series (found `x_count`): expected `NAME_bucket{le=\"…\"} COUNT`"
        );
        assert!(
            json_err(doc(
                "matrix",
                json!([{"metric": {"__name__": "x_bucket", "le": "1"},
            "values": [[1, "4"], [2, "4"]]}])
            ))
            .contains("zero observations")
        );
        assert!(
            json_err(doc(
                "vector",
                json!([
            {"metric": {"__name__": "a_bucket", "le": "1"}, "value": [1, "2"]},
            {"metric": {"__name__": "b_bucket", "le": "1"}, "value": [1, "2"]}])
            ))
            .contains("several histograms: `a_bucket`, `b_bucket`")
        );
    }
}
