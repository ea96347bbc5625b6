//! Reading Locust's CSV output: `<prefix>_stats.csv` for figures per
//! endpoint and `<prefix>_stats_history.csv` for the time series.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use mockdet_stats::counted_quantile;

use super::figures::{Figures, HistoryPoint};

/// Rows of a CSV file as header → value maps.
fn rows(path: &Path) -> Option<Vec<HashMap<String, String>>> {
    let mut reader = csv::Reader::from_path(path).ok()?;
    let headers = reader.headers().ok()?.clone();
    Some(
        reader
            .records()
            .filter_map(Result::ok)
            .map(|record| {
                headers
                    .iter()
                    .zip(record.iter())
                    .map(|(h, v)| (h.to_owned(), v.to_owned()))
                    .collect()
            })
            .collect(),
    )
}

fn number(row: &HashMap<String, String>, key: &str) -> f64 {
    row.get(key)
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

fn figures(row: &HashMap<String, String>) -> Figures {
    Figures {
        requests: number(row, "Request Count") as u64,
        failures: number(row, "Failure Count") as u64,
        rps: number(row, "Requests/s"),
        p50_ms: number(row, "50%"),
        p95_ms: number(row, "95%"),
        p99_ms: number(row, "99%"),
        max_ms: number(row, "Max Response Time"),
    }
}

/// Overall figures (the `Aggregated` row) and figures per request name.
pub(crate) fn read_stats(prefix: &Path) -> Option<(Figures, BTreeMap<String, Figures>)> {
    let path = prefix.with_file_name(format!("{}_stats.csv", file_name(prefix)));
    let rows = rows(&path)?;
    let overall = rows
        .iter()
        .find(|r| r.get("Name").map(String::as_str) == Some("Aggregated"))
        .map(figures)?;
    let per = rows
        .iter()
        .filter(|r| r.get("Name").is_some_and(|n| n != "Aggregated"))
        .map(|r| (r["Name"].clone(), figures(r)))
        .collect();
    Some((overall, per))
}

/// One entry of Locust's `--json-file` output.
#[derive(Debug, serde::Deserialize)]
struct JsonEntry {
    name: String,
    num_requests: u64,
    num_failures: u64,
    max_response_time: f64,
    start_time: f64,
    last_request_timestamp: Option<f64>,
    response_times: BTreeMap<String, u64>,
}

/// Figures from `--json-file` output: exact counts (the CSV is rewritten once
/// a second and can miss the last one). Percentiles come from Locust's
/// response-time histogram (rounded milliseconds), read exactly by the
/// nearest-rank rule of `mockdet-stats`. (The CSV's percentile columns, the
/// fallback, are Locust's own.)
pub(crate) fn read_json_stats(path: &Path) -> Option<(Figures, BTreeMap<String, Figures>)> {
    let entries: Vec<JsonEntry> =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let start = entries
        .iter()
        .map(|e| e.start_time)
        .fold(f64::INFINITY, f64::min);
    let end = entries
        .iter()
        .filter_map(|e| e.last_request_timestamp)
        .fold(f64::NEG_INFINITY, f64::max);
    let span = if end > start { end - start } else { 1.0 };
    let mut all = BTreeMap::new();
    let per = entries
        .iter()
        .map(|e| {
            for (ms, n) in &e.response_times {
                *all.entry(ms.clone()).or_insert(0) += n;
            }
            (
                e.name.clone(),
                json_figures(
                    e.num_requests,
                    e.num_failures,
                    e.max_response_time,
                    &e.response_times,
                    span,
                ),
            )
        })
        .collect();
    let overall = json_figures(
        entries.iter().map(|e| e.num_requests).sum(),
        entries.iter().map(|e| e.num_failures).sum(),
        entries
            .iter()
            .map(|e| e.max_response_time)
            .fold(0.0, f64::max),
        &all,
        span,
    );
    Some((overall, per))
}

fn json_figures(
    requests: u64,
    failures: u64,
    max_ms: f64,
    times: &BTreeMap<String, u64>,
    span: f64,
) -> Figures {
    let mut sorted: Vec<(f64, u64)> = times
        .iter()
        .filter_map(|(ms, n)| ms.parse::<f64>().ok().map(|ms| (ms, *n)))
        .collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    // The one rule of mockdet-stats (nearest rank), read exactly from
    // Locust's counts of its rounded response times.
    let quantile = |q: f64| counted_quantile(&sorted, q).unwrap_or(0.0);
    Figures {
        requests,
        failures,
        rps: requests as f64 / span,
        p50_ms: quantile(0.5),
        p95_ms: quantile(0.95),
        p99_ms: quantile(0.99),
        max_ms,
    }
}

/// Status codes per request name, from the locustfile's
/// `<prefix>_status_codes.json` (the only place Locust shows a 206).
pub(crate) fn read_status_codes(prefix: &Path) -> BTreeMap<String, BTreeMap<String, u64>> {
    let path = prefix.with_file_name(format!("{}_status_codes.json", file_name(prefix)));
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|v| serde_json::from_value(v.get("status_codes")?.clone()).ok())
        .unwrap_or_default()
}

/// The aggregated time series, seconds from the first point.
pub(crate) fn read_history(prefix: &Path) -> Vec<HistoryPoint> {
    let path = prefix.with_file_name(format!("{}_stats_history.csv", file_name(prefix)));
    let Some(rows) = rows(&path) else {
        return Vec::new();
    };
    let aggregated: Vec<_> = rows
        .iter()
        .filter(|r| r.get("Name").map(String::as_str) == Some("Aggregated"))
        .collect();
    let start = aggregated.first().map_or(0.0, |r| number(r, "Timestamp"));
    aggregated
        .iter()
        .map(|r| HistoryPoint {
            t: number(r, "Timestamp") - start,
            rps: number(r, "Requests/s"),
            failures_per_s: number(r, "Failures/s"),
            p50_ms: number(r, "50%"),
            p95_ms: number(r, "95%"),
            p99_ms: number(r, "99%"),
            users: number(r, "User Count") as u64,
        })
        .collect()
}

fn file_name(prefix: &Path) -> String {
    prefix
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_percentiles_take_the_nearest_rank_of_the_counts() {
        // 100 answers in 20 ms, 5 in 300 ms: rank ⌈0.95 · 105⌉ = 100 is
        // still 20 ms, rank ⌈0.99 · 105⌉ = 104 is 300 ms.
        let times = BTreeMap::from([("300".to_owned(), 5), ("20".to_owned(), 100)]);
        let f = json_figures(105, 5, 310.0, &times, 10.0);
        assert_eq!((f.p50_ms, f.p95_ms, f.p99_ms), (20.0, 20.0, 300.0));
        assert_eq!((f.rps, f.max_ms), (10.5, 310.0));
        assert_eq!(json_figures(0, 0, 0.0, &BTreeMap::new(), 1.0).p95_ms, 0.0);
    }

    #[test]
    fn stats_and_history_csv_files_parse() {
        let dir = std::env::temp_dir().join(format!("mockdet-locust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let header = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";
        std::fs::write(
            dir.join("run_stats.csv"),
            format!("{header}\nPOST,orchestrate,90,3,400,410,200,1900,900,9.0,0.3,400,450,500,520,700,900,1100,1300,1800,1900,1900\n,Aggregated,100,4,390,400,150,1900,800,10.0,0.4,390,440,490,510,690,880,1000,1250,1800,1900,1900\n"),
        )
        .unwrap();
        std::fs::write(
            dir.join("run_stats_history.csv"),
            "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count\n\
             1700000000,5,,Aggregated,0.000000,0.000000,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,0,0\n\
             1700000002,5,,Aggregated,9.5,0.5,380,N/A,N/A,N/A,N/A,870,N/A,1200,N/A,N/A,N/A,19,1\n",
        )
        .unwrap();
        let (overall, per) = read_stats(&dir.join("run")).unwrap();
        assert_eq!(overall.requests, 100);
        assert_eq!(overall.p95_ms, 880.0);
        assert_eq!(per["orchestrate"].failures, 3);
        let history = read_history(&dir.join("run"));
        assert_eq!(history.len(), 2);
        assert_eq!(history[1].t, 2.0);
        assert_eq!(history[1].p95_ms, 870.0);
        assert_eq!(history[0].p95_ms, 0.0, "N/A reads as 0");
    }
}

/// How Locust is asked to run.
#[derive(Debug, Clone)]
pub(crate) struct LocustRun<'a> {
    pub(crate) binary: &'a Path,
    pub(crate) locustfile: &'a Path,
    pub(crate) user_class: &'a str,
    pub(crate) users: u32,
    pub(crate) duration: std::time::Duration,
    pub(crate) host: &'a str,
    pub(crate) env: &'a [(String, String)],
    pub(crate) log_stem: &'a Path,
    /// Worker processes for distributed mode (0: one local process).
    pub(crate) workers: u32,
    /// Run only the tasks with this Locust tag (e.g. `batch`).
    pub(crate) tag: Option<&'a str>,
}

impl LocustRun<'_> {
    fn common_args(&self) -> Vec<String> {
        vec![
            "-f".to_owned(),
            self.locustfile.display().to_string(),
            "--host".to_owned(),
            self.host.to_owned(),
        ]
    }

    fn headless_args(&self, prefix: &Path) -> Vec<String> {
        let seconds = format!("{}s", self.duration.as_secs().max(1));
        let mut args = self.common_args();
        args.extend(
            [
                "--headless",
                "-u",
                &self.users.to_string(),
                "-r",
                &self.users.to_string(),
                "-t",
                &seconds,
                "--csv",
                &prefix.display().to_string(),
                "--csv-full-history",
                "--only-summary",
                "--stop-timeout",
                "5",
                "--exit-code-on-error",
                "0",
                "--json-file",
                &prefix.display().to_string(),
            ]
            .map(str::to_owned),
        );
        args
    }
}

/// Runs Locust headless (optionally distributed: a master and N workers on
/// loopback) and reads its CSV stats. No stats file at all is a crash.
pub(crate) async fn run(spec: LocustRun<'_>) -> super::figures::ToolResult {
    let prefix = spec.log_stem.with_extension("locust");
    let mut args = spec.headless_args(&prefix);
    if let Some(tag) = spec.tag {
        args.extend(["--tags".to_owned(), tag.to_owned()]);
    }
    let mut workers = Vec::new();
    if spec.workers > 0 {
        let port = free_port().unwrap_or(5557);
        args.extend(
            [
                "--master",
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                &port.to_string(),
                "--expect-workers",
                &spec.workers.to_string(),
            ]
            .map(str::to_owned),
        );
        for i in 0..spec.workers {
            let mut worker_args = spec.common_args();
            worker_args.extend(
                [
                    "--worker",
                    "--master-host",
                    "127.0.0.1",
                    "--master-port",
                    &port.to_string(),
                ]
                .map(str::to_owned),
            );
            worker_args.push(spec.user_class.to_owned());
            let stem = spec.log_stem.with_extension(format!("worker{i}"));
            workers.push(super::process::start(
                spec.binary,
                &worker_args,
                spec.env,
                &stem,
            ));
        }
    }
    args.push(spec.user_class.to_owned());
    let master = super::process::start(spec.binary, &args, spec.env, spec.log_stem);
    let command = master.command.clone();
    let exit = master
        .wait(spec.duration + std::time::Duration::from_secs(60))
        .await;
    for worker in workers {
        worker.kill().await;
    }
    let mut result = super::figures::ToolResult {
        command,
        exit_code: exit.code,
        load_model: format!(
            "closed (Locust users{})",
            if spec.workers > 0 {
                format!(", distributed: 1 master + {} workers", spec.workers)
            } else {
                String::new()
            }
        ),
        users: spec.users,
        ..Default::default()
    };
    let json = prefix.with_file_name(format!("{}.json", file_name(&prefix)));
    match read_json_stats(&json).or_else(|| read_stats(&prefix)) {
        Some((figures, per_endpoint)) if exit.code.is_some() => {
            result.status_codes = read_status_codes(&prefix);
            result.figures = Some(figures);
            result.per_endpoint = per_endpoint;
            result.history = read_history(&prefix);
            result.status = "success".into();
        }
        _ => {
            result.status = "error".into();
            result.stderr_tail = Some(exit.explain());
        }
    }
    result
}

fn free_port() -> Option<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .ok()
}
