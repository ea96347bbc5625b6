//! A real Prometheus (Debian's binary) on a free loopback port, scraping
//! `mockdet demo` with monitoring/prometheus.yml's jobs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use super::{ChildGuard, DemoProcess, eventually, free_port, tail, yaml_file};

/// monitoring/prometheus.yml with each `service:port` target replaced by
/// the demo's loopback address for that service, and 1 s intervals.
pub fn local_scrape_config(demo: &DemoProcess) -> (Value, usize) {
    let mut config = yaml_file("monitoring/prometheus.yml");
    config["global"]["scrape_interval"] = json!("1s");
    config["global"]["scrape_timeout"] = json!("1s");
    config["global"]["evaluation_interval"] = json!("1s");
    let mut targets = 0;
    for job in config["scrape_configs"]
        .as_array_mut()
        .expect("scrape_configs")
    {
        let job = job.as_object_mut().expect("a job");
        for key in ["scrape_interval", "scrape_timeout"] {
            if job.contains_key(key) {
                job.insert(key.to_owned(), json!("1s"));
            }
        }
        for group in job["static_configs"]
            .as_array_mut()
            .expect("static_configs")
        {
            for target in group["targets"].as_array_mut().expect("targets") {
                let service = target
                    .as_str()
                    .expect("host:port")
                    .split(':')
                    .next()
                    .unwrap_or("");
                let name = match service.strip_prefix("mock-detector-") {
                    Some(detector) => detector,
                    None if service == "orchestration" => "orchestrator",
                    None => panic!(
                        "monitoring/prometheus.yml scrapes `{service}`, neither a \
                         mock-detector-* service nor orchestration"
                    ),
                };
                let url = demo.url(name);
                *target = json!(url.trim_start_matches("http://"));
                targets += 1;
            }
        }
    }
    (config, targets)
}

/// A Prometheus server on a free loopback port, killed when dropped.
pub struct Prometheus {
    pub url: String,
    pub log: PathBuf,
    guard: ChildGuard,
}

impl Prometheus {
    /// Prometheus scraping `demo` with monitoring/prometheus.yml's jobs
    /// (written to `dir`), once every target is up.
    pub fn scraping_demo(binary: &Path, dir: &Path, demo: &DemoProcess) -> Self {
        let (config, targets) = local_scrape_config(demo);
        assert_eq!(
            targets, 6,
            "five detectors and the orchestrator are scraped"
        );
        let path = dir.join("prometheus.yml");
        // JSON is YAML: Prometheus reads it as its config.
        let text = serde_json::to_string_pretty(&config).expect("a config serializes");
        std::fs::write(&path, text).expect("the config is written");
        let server = Self::start(binary, dir, &path);
        let up = eventually(Duration::from_secs(30), || {
            let targets = server.targets();
            (targets.len() == 6 && targets.iter().all(|(_, health)| health == "up")).then_some(())
        });
        assert!(
            up.is_some(),
            "Prometheus did not see all six targets up: {:?}\nlog:\n{}",
            server.targets(),
            tail(&server.log, 20)
        );
        server
    }

    /// Starts `prometheus` with `config` and waits until it is ready;
    /// retries on another port if the chosen one was taken meanwhile.
    pub fn start(binary: &Path, dir: &Path, config: &Path) -> Self {
        for attempt in 0..3 {
            let port = free_port();
            let log = dir.join(format!("prometheus-{attempt}.log"));
            let output = std::fs::File::create(&log).expect("a log file");
            let child = Command::new(binary)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.join(format!("data-{attempt}")).display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdin(Stdio::null())
                .stdout(output.try_clone().expect("a log handle"))
                .stderr(output)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let mut server = Prometheus {
                url: format!("http://127.0.0.1:{port}"),
                log,
                guard: ChildGuard {
                    child,
                    name: "prometheus",
                },
            };
            let ready = eventually(Duration::from_secs(30), || {
                if let Ok(Some(_)) = server.guard.child.try_wait() {
                    return Some(false);
                }
                let response = reqwest::blocking::get(format!("{}/-/ready", server.url)).ok()?;
                response.status().is_success().then_some(true)
            });
            match ready {
                Some(true) => return server,
                Some(false)
                    if std::fs::read_to_string(&server.log)
                        .unwrap_or_default()
                        .contains("address already in use") =>
                {
                    continue;
                }
                _ => {
                    server.guard.assert_running(&server.log);
                    panic!(
                        "prometheus was not ready within 30 s; log:\n{}",
                        tail(&server.log, 30)
                    );
                }
            }
        }
        panic!("prometheus could not bind a free loopback port in 3 attempts");
    }

    /// An instant query: the result vector, or the error Prometheus gave.
    pub fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        let response = reqwest::blocking::Client::new()
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", expr)])
            .send()
            .map_err(|e| format!("transport: {e}"))?;
        let body: Value = response.json().map_err(|e| format!("not JSON: {e}"))?;
        if body["status"] != "success" {
            return Err(format!("{}: {}", body["errorType"], body["error"]));
        }
        Ok(body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// The scrape targets and their health.
    pub fn targets(&self) -> Vec<(String, String)> {
        let body: Value = reqwest::blocking::get(format!("{}/api/v1/targets", self.url))
            .and_then(|r| r.json())
            .unwrap_or_default();
        body["data"]["activeTargets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                (
                    t["scrapeUrl"].as_str().unwrap_or("").to_owned(),
                    t["health"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    }
}
