//! k6's two outputs.
//!
//! - `k6 run --out json=FILE`: NDJSON, one `Metric` declaration or `Point`
//!   per line. Only `Point`s of `http_req_duration` are read: `data.value`
//!   is the latency, `data.tags.status` the status; status `0` is k6's "no
//!   answer" (refused, reset, timed out): a transport error, its value not a
//!   latency.
//! - `k6 run --summary-export=FILE` (or `handleSummary`'s `data`, whose
//!   metrics keep their figures under `values`): `min`, `med`, `max` and
//!   every `p(N)` of `http_req_duration` are quantile points (`avg` is not
//!   one). k6 folds failed requests into that trend (a refused connection
//!   counts 0 ms), so its `http_req_duration{expected_response:true}`
//!   submetric is used when present, and the count is then
//!   `http_reqs.count` less `http_req_failed`'s failures. Those failures
//!   are the transport errors: the summary cannot tell an error status from
//!   no answer, so every failure counts as one, and no statuses are known.

use serde_json::{Map, Value};

use super::check::{self, Point, Tally};
use super::{Data, InputError};

/// The `--out json` format's name in [`Data::format`].
pub(crate) const OUTPUT: &str = "k6 JSON output";

/// The `--summary-export` format's name in [`Data::format`].
pub(crate) const SUMMARY: &str = "k6 summary export";

/// The trend read, most useful first.
const TRENDS: [&str; 2] = [
    "http_req_duration{expected_response:true}",
    "http_req_duration",
];

/// Whether a file's first line (a JSON object) is k6 `--out json` output.
pub(crate) fn sniff_output(first: &Map<String, Value>) -> bool {
    first.get("metric").is_some_and(Value::is_string)
        && matches!(
            first.get("type").and_then(Value::as_str),
            Some("Point" | "Metric")
        )
}

/// Whether a whole JSON document is a k6 summary.
pub(crate) fn sniff_summary(doc: &Value) -> bool {
    doc.get("metrics").is_some_and(Value::is_object)
}

/// Reads `--out json` output.
pub(crate) fn read_output(text: &str, file: &str) -> Result<Data, InputError> {
    let mut tally = Tally::default();
    for (line, text) in check::lines(text) {
        let entry = check::json_object(file, line, text)?;
        let is_point = entry.get("type").and_then(Value::as_str) == Some("Point");
        if !is_point || entry.get("metric").and_then(Value::as_str) != Some("http_req_duration") {
            continue;
        }
        let data = entry
            .get("data")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                InputError::new(
                    file,
                    Some(line),
                    "an `http_req_duration` point without `data`",
                )
            })?;
        let status = match data.get("tags").and_then(|tags| tags.get("status")) {
            Some(value) => Some(check::json_status(
                file,
                Some(line),
                "data.tags.status",
                value,
            )?),
            None => None,
        };
        let ms = check::json_ms(file, Some(line), "data.value", data.get("value"))?;
        tally.record(ms, status);
    }
    if tally.samples.is_empty() && tally.transport_errors == 0 {
        return Err(InputError::new(
            file,
            None,
            "no `http_req_duration` points: did the test make HTTP requests?",
        ));
    }
    tally.finish(file, OUTPUT)
}

/// Reads a `--summary-export` document.
pub(crate) fn read_summary(doc: &Value, file: &str) -> Result<Data, InputError> {
    let metrics = &doc["metrics"];
    let (name, trend) = TRENDS
        .iter()
        .find_map(|name| figures(&metrics[*name]).map(|trend| (*name, trend)))
        .ok_or_else(|| {
            InputError::new(
                file,
                None,
                "no `metrics.http_req_duration`: did the test make HTTP requests?",
            )
        })?;
    let what = format!("`metrics.{name}`");
    let mut points = Vec::new();
    for (key, value) in trend {
        let Some(q) = quantile(file, &what, key)? else {
            continue;
        };
        let ms = value.as_f64().ok_or_else(|| {
            InputError::new(
                file,
                None,
                format!("{what}: `{key}` is `{value}`, not a number"),
            )
        })?;
        points.push(Point {
            q,
            ms,
            label: key.clone(),
        });
    }
    let requests = count(file, metrics, "http_reqs", "count")?;
    let failed = count(file, metrics, "http_req_failed", "passes")?;
    let count = match (name == TRENDS[0], requests, failed) {
        (false, requests, _) => requests,
        (true, Some(requests), Some(failed)) => Some(requests.saturating_sub(failed)),
        (true, _, _) => None,
    };
    Ok(Data {
        source: file.to_owned(),
        format: SUMMARY,
        latencies: check::quantiles(file, None, &what, points, count)?,
        statuses: Default::default(),
        transport_errors: failed.unwrap_or(0),
    })
}

/// A metric's figures: the object itself (`--summary-export`) or its
/// `values` (`handleSummary`).
fn figures(metric: &Value) -> Option<&Map<String, Value>> {
    let object = metric.as_object()?;
    match object.get("values") {
        Some(Value::Object(values)) => Some(values),
        _ => Some(object),
    }
}

/// The quantile a summary key stands for: `min` 0, `med` 0.5, `max` 1,
/// `p(N)` N/100; `None` for the rest (`avg`, `count`, …).
fn quantile(file: &str, what: &str, key: &str) -> Result<Option<f64>, InputError> {
    let percent = match key {
        "min" => return Ok(Some(0.0)),
        "med" => return Ok(Some(0.5)),
        "max" => return Ok(Some(1.0)),
        _ => match key
            .strip_prefix("p(")
            .and_then(|rest| rest.strip_suffix(')'))
        {
            Some(percent) => percent,
            None => return Ok(None),
        },
    };
    match check::scaled(percent, -2) {
        Some(q) if (0.0..=1.0).contains(&q) => Ok(Some(q)),
        _ => Err(InputError::new(
            file,
            None,
            format!("{what}: `{key}` is not a percentile: expected p(N) with N in 0-100"),
        )),
    }
}

/// A whole-number figure of a metric, when the metric is there.
fn count(file: &str, metrics: &Value, metric: &str, key: &str) -> Result<Option<u64>, InputError> {
    let Some(value) = figures(&metrics[metric]).and_then(|figures| figures.get(key)) else {
        return Ok(None);
    };
    match value.as_f64() {
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n.is_finite() => Ok(Some(n as u64)),
        _ => Err(InputError::new(
            file,
            None,
            format!("`metrics.{metric}.{key}` is `{value}`: expected a whole number of requests"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Latencies;
    use serde_json::json;

    const OUTPUT_FILE: &str = include_str!("../../tests/data/k6.ndjson");
    const SUMMARY_FILE: &str = include_str!("../../tests/data/k6-summary.json");

    fn summary(doc: Value) -> Result<Data, InputError> {
        read_summary(&doc, "summary.json")
    }

    #[test]
    fn real_output_keeps_answered_durations_and_counts_status_zero() {
        let first = serde_json::from_str(OUTPUT_FILE.lines().next().unwrap()).unwrap();
        assert!(sniff_output(&first));
        let data = read_output(OUTPUT_FILE, "k6.ndjson").unwrap();
        assert_eq!(data.format, OUTPUT);
        assert_eq!(
            data.statuses.into_iter().collect::<Vec<_>>(),
            vec![(200, 7)]
        );
        assert_eq!(data.transport_errors, 2);
        assert_eq!(
            data.latencies,
            Latencies::Samples(vec![
                223.248322, 255.375942, 366.900961, 464.952277, 341.772998, 495.882007, 461.896529
            ])
        );
    }

    #[test]
    fn points_without_a_status_tag_are_samples() {
        let line = r#"{"metric":"http_req_duration","type":"Point","data":{"time":"2026-11-30T08:48:03Z","value":12.5,"tags":{}}}"#;
        let data = read_output(line, "k6.ndjson").unwrap();
        assert_eq!(data.latencies, Latencies::Samples(vec![12.5]));
        assert!(data.statuses.is_empty());
    }

    #[test]
    fn bad_output_lines_are_errors_naming_the_line() {
        let head = OUTPUT_FILE.lines().take(3).collect::<Vec<_>>().join("\n");
        let point = |data: &str| {
            format!(
                "{head}\n{{\"metric\":\"http_req_duration\",\"type\":\"Point\",\"data\":{data}}}"
            )
        };
        let err = |text: String| read_output(&text, "k6.ndjson").unwrap_err().to_string();
        assert_eq!(
            err(point(r#"{"value":-1,"tags":{"status":"200"}}"#)),
            "k6.ndjson, line 4: `data.value` -1 is negative: latencies are >= 0 ms"
        );
        assert_eq!(
            err(point(r#"{"tags":{"status":"200"}}"#)),
            "k6.ndjson, line 4: no `data.value` field"
        );
        assert!(
            err(point(r#"{"value":1,"tags":{"status":"abc"}}"#))
                .starts_with("k6.ndjson, line 4: `data.tags.status` is `abc`")
        );
        assert_eq!(
            err(point("7")),
            "k6.ndjson, line 4: an `http_req_duration` point without `data`"
        );
        assert!(err(format!("{head}\n{{")).starts_with("k6.ndjson, line 4: not JSON"));
    }

    #[test]
    fn output_without_durations_is_an_error() {
        let metrics_only: String = OUTPUT_FILE
            .lines()
            .filter(|line| !line.contains("\"metric\":\"http_req_duration\""))
            .map(|line| format!("{line}\n"))
            .collect();
        let e = read_output(&metrics_only, "k6.ndjson").unwrap_err();
        assert_eq!(
            e.to_string(),
            "k6.ndjson: no `http_req_duration` points: did the test make HTTP requests?"
        );
        let refused: String = OUTPUT_FILE
            .lines()
            .filter(|line| !line.contains("\"status\":\"200\""))
            .map(|line| format!("{line}\n"))
            .collect();
        let e = read_output(&refused, "k6.ndjson").unwrap_err();
        assert!(
            e.to_string().contains("all 2 requests got no answer"),
            "{e}"
        );
    }

    #[test]
    fn a_real_summary_uses_the_expected_response_submetric() {
        let doc: Value = serde_json::from_str(SUMMARY_FILE).unwrap();
        assert!(sniff_summary(&doc));
        let data = read_summary(&doc, "summary.json").unwrap();
        assert_eq!(data.format, SUMMARY);
        assert_eq!(
            data.latencies,
            Latencies::Quantiles {
                points: vec![
                    (0.0, 215.217905),
                    (0.5, 320.98203),
                    (0.9, 462.8132534),
                    (0.95, 494.5261652),
                    (1.0, 497.532864)
                ],
                // 40 requests, 2 refused.
                count: Some(38),
            }
        );
        assert_eq!(data.transport_errors, 2);
        assert!(data.statuses.is_empty());
    }

    #[test]
    fn without_the_submetric_the_whole_trend_and_count_are_used() {
        let mut doc: Value = serde_json::from_str(SUMMARY_FILE).unwrap();
        let metrics = doc["metrics"].as_object_mut().unwrap();
        metrics.remove(TRENDS[0]);
        metrics.remove("http_req_failed");
        let data = read_summary(&doc, "summary.json").unwrap();
        let Latencies::Quantiles { points, count } = data.latencies else {
            panic!()
        };
        assert_eq!(points[0], (0.0, 0.0));
        assert_eq!(points.len(), 5);
        assert_eq!(count, Some(40));
        assert_eq!(data.transport_errors, 0);
    }

    #[test]
    fn handle_summary_values_and_any_percentile_are_read() {
        let data = summary(json!({"metrics": {
            "http_req_duration": {"type": "trend", "values": {
                "avg": 30.0, "min": 10.0, "med": 25.0, "p(99.9)": 90.0, "max": 100.0}},
            "http_reqs": {"type": "counter", "values": {"count": 1000, "rate": 99.5}}
        }}))
        .unwrap();
        assert_eq!(
            data.latencies,
            Latencies::Quantiles {
                points: vec![(0.0, 10.0), (0.5, 25.0), (0.999, 90.0), (1.0, 100.0)],
                count: Some(1000)
            }
        );
    }

    #[test]
    fn bad_summaries_are_errors_naming_the_field() {
        let err = |doc| summary(doc).unwrap_err().to_string();
        assert_eq!(
            err(json!({"metrics": {"vus": {"value": 1}}})),
            "summary.json: no `metrics.http_req_duration`: did the test make HTTP requests?"
        );
        assert_eq!(
            err(json!({"metrics": {"http_req_duration": {"min": 1, "p(90)": 9, "p(95)": 5}}})),
            "summary.json: `metrics.http_req_duration`: quantile points out of order: \
             `p(95)` = 5 ms is below `p(90)` = 9 ms"
        );
        assert!(
            err(json!({"metrics": {"http_req_duration": {"p(150)": 9}}}))
                .contains("`p(150)` is not a percentile")
        );
        assert!(
            err(json!({"metrics": {"http_req_duration": {"med": "fast"}}}))
                .contains("`med` is `\"fast\"`, not a number")
        );
        assert!(
            err(json!({"metrics": {"http_req_duration": {"min": -2}}}))
                .contains("`min` -2 is negative")
        );
        assert!(
            err(json!({"metrics": {"http_req_duration": {"med": 1},
            "http_reqs": {"count": 2.5}}}))
            .contains("`metrics.http_reqs.count` is `2.5`")
        );
        assert_eq!(
            err(
                json!({"metrics": {"http_req_duration": {"med": 0, "max": 0},
                "http_reqs": {"count": 0}}})
            ),
            "summary.json: `metrics.http_req_duration`: zero requests: nothing to fit"
        );
        assert!(
            err(json!({"metrics": {"http_req_duration": {"avg": 3}}}))
                .contains("no quantile points")
        );
    }
}
