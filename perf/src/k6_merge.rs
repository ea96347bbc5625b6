//! Several k6 instances, one test: each runs its own `--execution-segment`
//! of the load (k6's own split of VUs and iterations), writes every metric
//! point (`--out json`), and the figures are merged exactly from those raw
//! points — request counts summed, percentiles taken over the union of
//! samples (nearest rank, `mockdet-stats`) — never by averaging the
//! instances' percentiles.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::Value;

use super::figures::Figures;
use super::k6::ENDPOINTS;

/// `--execution-segment` and `--execution-segment-sequence` of instance
/// `i` of `n`: `i/n:(i+1)/n` and `0,1/n,2/n,…,1`.
pub(crate) fn segment_args(i: u32, n: u32) -> [String; 2] {
    let point = |k: u32| match k {
        0 => "0".to_owned(),
        k if k == n => "1".to_owned(),
        k => format!("{k}/{n}"),
    };
    let sequence: Vec<String> = (0..=n).map(point).collect();
    [
        format!("--execution-segment={}:{}", point(i), point(i + 1)),
        format!("--execution-segment-sequence={}", sequence.join(",")),
    ]
}

/// The raw points of one run that the figures need.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Points {
    /// `http_req_duration` values, ms.
    pub(crate) durations: Vec<f64>,
    /// `http_req_failed` points that were true.
    pub(crate) failed: u64,
    /// Per endpoint: `requests_<e>` and `failures_<e>` counts and the
    /// `latency_<e>` values.
    pub(crate) endpoints: BTreeMap<String, (u64, u64, Vec<f64>)>,
}

impl Points {
    /// Reads k6's `--out json` file; lines that are not points are skipped.
    pub(crate) fn read(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::File::open(path)?;
        let mut points = Self::default();
        for line in BufReader::new(file).lines() {
            let line = line?;
            if !line.contains("\"Point\"") {
                continue;
            }
            let Ok(point) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            let (Some(metric), Some(value)) = (
                point.get("metric").and_then(Value::as_str),
                point.pointer("/data/value").and_then(Value::as_f64),
            ) else {
                continue;
            };
            points.add(metric, value);
        }
        Ok(points)
    }

    fn add(&mut self, metric: &str, value: f64) {
        match metric {
            "http_req_duration" => self.durations.push(value),
            "http_req_failed" if value != 0.0 => self.failed += 1,
            _ => {
                for endpoint in ENDPOINTS {
                    let entry = || (0, 0, Vec::new());
                    if metric.strip_prefix("requests_") == Some(endpoint) {
                        self.endpoints
                            .entry(endpoint.to_owned())
                            .or_insert_with(entry)
                            .0 += value as u64;
                    } else if metric.strip_prefix("failures_") == Some(endpoint) {
                        self.endpoints
                            .entry(endpoint.to_owned())
                            .or_insert_with(entry)
                            .1 += value as u64;
                    } else if metric.strip_prefix("latency_") == Some(endpoint) {
                        let e = self
                            .endpoints
                            .entry(endpoint.to_owned())
                            .or_insert_with(entry);
                        e.2.push(value);
                    }
                }
            }
        }
    }

    /// All of `others`' points added to these.
    pub(crate) fn merge(mut self, others: impl IntoIterator<Item = Points>) -> Self {
        for other in others {
            self.durations.extend(other.durations);
            self.failed += other.failed;
            for (endpoint, (requests, failures, latencies)) in other.endpoints {
                let e = self.endpoints.entry(endpoint).or_default();
                e.0 += requests;
                e.1 += failures;
                e.2.extend(latencies);
            }
        }
        self
    }

    /// Overall and per-endpoint figures over `duration_s` seconds.
    pub(crate) fn figures(&self, duration_s: f64) -> (Figures, BTreeMap<String, Figures>) {
        let overall = figures(
            &self.durations,
            self.durations.len() as u64,
            self.failed,
            duration_s,
        );
        let per_endpoint = self
            .endpoints
            .iter()
            .filter(|(_, (requests, _, _))| *requests > 0)
            .map(|(endpoint, (requests, failures, latencies))| {
                (
                    endpoint.clone(),
                    figures(latencies, *requests, *failures, duration_s),
                )
            })
            .collect();
        (overall, per_endpoint)
    }
}

fn figures(samples: &[f64], requests: u64, failures: u64, duration_s: f64) -> Figures {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| mockdet_stats::sorted_quantile(&sorted, p).unwrap_or(0.0);
    Figures {
        requests,
        failures,
        rps: requests as f64 / duration_s.max(1e-9),
        p50_ms: q(0.5),
        p95_ms: q(0.95),
        p99_ms: q(0.99),
        max_ms: sorted.last().copied().unwrap_or(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cover_the_run_without_overlap() {
        assert_eq!(
            segment_args(0, 3),
            [
                "--execution-segment=0:1/3".to_owned(),
                "--execution-segment-sequence=0,1/3,2/3,1".to_owned()
            ]
        );
        assert_eq!(segment_args(2, 3)[0], "--execution-segment=2/3:1");
        assert_eq!(segment_args(0, 1)[0], "--execution-segment=0:1");
    }

    #[test]
    fn merged_figures_come_from_the_union_of_samples() {
        let dir = std::env::temp_dir().join(format!("mockdet-k6merge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let line = |metric: &str, value: f64| {
            format!(
                "{{\"metric\":\"{metric}\",\"type\":\"Point\",\"data\":{{\"time\":\"t\",\"value\":{value},\"tags\":{{}}}}}}\n"
            )
        };
        let mut a =
            String::from("{\"type\":\"Metric\",\"data\":{},\"metric\":\"http_req_duration\"}\n");
        for v in [10.0, 20.0, 30.0] {
            a += &line("http_req_duration", v);
            a += &line("http_req_failed", 0.0);
            a += &line("requests_orchestrate", 1.0);
            a += &line("latency_orchestrate", v);
        }
        let mut b = String::new();
        for v in [1000.0, 40.0] {
            b += &line("http_req_duration", v);
            b += &line("http_req_failed", 1.0);
            b += &line("requests_health", 1.0);
            b += &line("failures_health", 1.0);
        }
        std::fs::write(dir.join("a.json"), a).unwrap();
        std::fs::write(dir.join("b.json"), b).unwrap();
        let merged = Points::read(&dir.join("a.json"))
            .unwrap()
            .merge([Points::read(&dir.join("b.json")).unwrap()]);
        let (overall, per) = merged.figures(10.0);
        assert_eq!((overall.requests, overall.failures), (5, 2));
        assert_eq!(
            overall.p50_ms, 30.0,
            "nearest rank over 10, 20, 30, 40, 1000"
        );
        assert_eq!(overall.p95_ms, 1000.0);
        assert_eq!(overall.rps, 0.5);
        assert_eq!(per["orchestrate"].requests, 3);
        assert_eq!(per["orchestrate"].p50_ms, 20.0);
        assert_eq!((per["health"].requests, per["health"].failures), (2, 2));
        std::fs::remove_dir_all(dir).ok();
    }
}
