//! Reading the Prometheus text format the fleet exposes: enough to diff two
//! scrapes per detector (requests, injected faults, server-side latency).
//!
//! The parser is our own (`parse`, about 60 lines); the rest of the file is
//! the diffing, which no parser crate does. The crates checked, and why none
//! fits:
//! - `prometheus` (already a dependency): encodes the format, cannot parse it.
//! - `prometheus-parse` 0.2.5: splits label pairs on `,` and `=` without
//!   regard to quotes, so a value holding either is cut or dropped (the fix
//!   has been an open pull request since June 2024); keeps `\"`, `\\` and
//!   `\n` escaped; groups buckets only under a `# TYPE` line; pulls in
//!   chrono, itertools, once_cell and regex.
//! - `prom_text_format_parser` 0.1.0: a real lexer, but its only release
//!   (December 2023), label values kept escaped, and derive_more 0.99,
//!   strum 0.25 and winnow 0.5 pulled in.
//! - `openmetrics-parser` 0.5.1: LGPL-3.0, where mockdet is MIT OR Apache-2.0.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use mockdet_stats::bucket_quantile;

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    /// Metric name (with `_bucket`/`_sum`/`_count` suffixes kept).
    pub(crate) name: String,
    /// Label pairs.
    pub(crate) labels: BTreeMap<String, String>,
    /// Value.
    pub(crate) value: f64,
}

/// Parses the text exposition format (comments and bad lines are skipped).
pub(crate) fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(parse_line)
        .collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let (series, value) = line.rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        other => other.parse().ok()?,
    };
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}')?)?),
        None => (series, BTreeMap::new()),
    };
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// `key="value",...` with the format's escapes (`\\`, `\"`, `\n`);
/// `None` if a value is not closed.
fn parse_labels(mut text: &str) -> Option<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    loop {
        text = text.trim_start_matches([',', ' ']);
        if text.is_empty() {
            return Some(labels);
        }
        let (key, rest) = text.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (_, c) => value.push(c),
            }
        };
        labels.insert(key.trim().to_owned(), value);
        text = &rest[end + 1..];
    }
}

/// What one detector did between two scrapes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ServerSide {
    /// Requests answered (all endpoints and outcomes).
    pub(crate) requests: f64,
    /// Injected faults by kind.
    pub(crate) faults: BTreeMap<String, f64>,
    /// Server-side median latency, ms.
    pub(crate) p50_ms: Option<f64>,
    /// Server-side p95 latency, ms.
    pub(crate) p95_ms: Option<f64>,
    /// Server-side p99 latency, ms.
    pub(crate) p99_ms: Option<f64>,
}

/// A bucket sample's upper bound.
fn le(sample: &Sample) -> Option<f64> {
    match sample.labels.get("le")?.as_str() {
        "+Inf" => Some(f64::INFINITY),
        other => other.parse().ok(),
    }
}

fn sum(samples: &[Sample], name: &str, filter: impl Fn(&Sample) -> bool) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name && filter(s))
        .map(|s| s.value)
        .sum()
}

/// The difference `after - before` for one detector's series.
pub(crate) fn server_side(before: &[Sample], after: &[Sample]) -> ServerSide {
    let delta = |name: &str, filter: &dyn Fn(&Sample) -> bool| {
        sum(after, name, filter) - sum(before, name, filter)
    };
    let requests = delta("mockdet_requests_total", &|_| true);
    let mut faults = BTreeMap::new();
    for sample in after
        .iter()
        .filter(|s| s.name == "mockdet_faults_injected_total")
    {
        if let Some(kind) = sample.labels.get("kind") {
            let n = delta("mockdet_faults_injected_total", &|s| {
                s.labels.get("kind") == Some(kind)
            });
            if n > 0.0 {
                faults.insert(kind.clone(), n);
            }
        }
    }
    let mut bounds: Vec<f64> = after
        .iter()
        .filter(|s| s.name == "mockdet_request_duration_seconds_bucket")
        .filter_map(le)
        .collect();
    bounds.sort_by(f64::total_cmp);
    bounds.dedup();
    let buckets: Vec<(f64, f64)> = bounds
        .iter()
        .map(|bound| {
            let cumulative = delta("mockdet_request_duration_seconds_bucket", &|s| {
                le(s) == Some(*bound)
            });
            (*bound, cumulative)
        })
        .collect();
    // PromQL's histogram_quantile, as mockdet-stats documents it: an
    // estimate within one bucket of the nearest-rank value.
    let ms = |q| bucket_quantile(&buckets, q).map(|s| s * 1000.0);
    ServerSide {
        requests,
        faults,
        p50_ms: ms(0.5),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "# HELP x\n\
        mockdet_requests_total{detector=\"a\",endpoint=\"analyze\",outcome=\"success\"} 10\n\
        mockdet_request_duration_seconds_bucket{detector=\"a\",endpoint=\"analyze\",outcome=\"success\",le=\"0.1\"} 10\n\
        mockdet_request_duration_seconds_bucket{detector=\"a\",endpoint=\"analyze\",outcome=\"success\",le=\"0.5\"} 10\n\
        mockdet_request_duration_seconds_bucket{detector=\"a\",endpoint=\"analyze\",outcome=\"success\",le=\"+Inf\"} 10\n";
    const AFTER: &str = "mockdet_requests_total{detector=\"a\",endpoint=\"analyze\",outcome=\"success\"} 110\n\
        mockdet_requests_total{detector=\"a\",endpoint=\"analyze\",outcome=\"http_error\"} 5\n\
        mockdet_faults_injected_total{detector=\"a\",kind=\"http_error\"} 5\n\
        mockdet_request_duration_seconds_bucket{detector=\"a\",endpoint=\"analyze\",outcome=\"success\",le=\"0.1\"} 10\n\
        mockdet_request_duration_seconds_bucket{detector=\"a\",endpoint=\"analyze\",outcome=\"success\",le=\"0.5\"} 110\n\
        mockdet_request_duration_seconds_bucket{detector=\"a\",endpoint=\"analyze\",outcome=\"success\",le=\"+Inf\"} 110\n";

    #[test]
    fn lines_parse_into_names_labels_and_values() {
        let samples = parse(AFTER);
        assert_eq!(samples.len(), 6);
        assert_eq!(samples[0].labels["outcome"], "success");
        assert_eq!(samples[5].labels["le"], "+Inf");
        assert_eq!(samples[1].value, 5.0);
    }

    #[test]
    fn quoted_label_values_keep_commas_braces_and_escapes() {
        let line = r#"m{detector="a,b=c}",note="say \"hi\"\\\n"} 2"#;
        let samples = parse(line);
        assert_eq!(samples.len(), 1, "{samples:?}");
        assert_eq!(samples[0].labels["detector"], "a,b=c}");
        assert_eq!(samples[0].labels["note"], "say \"hi\"\\\n");
        assert!(parse(r#"m{detector="unclosed} 2"#).is_empty());
    }

    #[test]
    fn the_difference_of_two_scrapes_gives_server_side_figures() {
        let side = server_side(&parse(BEFORE), &parse(AFTER));
        assert_eq!(side.requests, 105.0);
        assert_eq!(side.faults["http_error"], 5.0);
        // All 100 new observations fell in (0.1, 0.5]: the median interpolates to 0.3 s.
        assert!((side.p50_ms.unwrap() - 300.0).abs() < 1e-6, "{side:?}");
    }
}
