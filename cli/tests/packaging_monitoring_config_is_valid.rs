//! monitoring/: promtool accepts the Prometheus config, it scrapes exactly
//! the compose stack's detectors and orchestrator, and Grafana's
//! provisioning points at that Prometheus and at the three dashboards.

mod packaging_support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use packaging_support::{PROMTOOL, find, read, root, run, yaml_file};
use serde_json::Value;

/// The compose file's services and the container port each publishes,
/// read from the file itself (ports are `${ADDR:-...}:HOST:CONTAINER`).
fn compose_container_ports() -> BTreeMap<String, BTreeSet<u16>> {
    let compose = yaml_file("docker-compose.test.yml");
    compose["services"]
        .as_object()
        .expect("a services map")
        .iter()
        .map(|(name, service)| {
            let ports = service["ports"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(Value::as_str)
                .map(|p| {
                    let container = p.rsplit(':').next().unwrap_or(p).trim_end_matches("/tcp");
                    container
                        .parse()
                        .unwrap_or_else(|_| panic!("{name}: cannot read the port of `{p}`"))
                })
                .collect();
            (name.clone(), ports)
        })
        .collect()
}

/// The compose mounts of a service: (source, target).
fn compose_mounts(service: &str) -> Vec<(String, String)> {
    let compose = yaml_file("docker-compose.test.yml");
    compose["services"][service]["volumes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .map(|v| {
            let parts: Vec<&str> = v.split(':').collect();
            (
                parts[0].to_owned(),
                parts.get(1).copied().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn promtool_accepts_the_prometheus_config() {
    let promtool = find(PROMTOOL);
    let (ok, stdout, stderr) = run(
        Command::new(&promtool)
            .args(["check", "config", "monitoring/prometheus.yml"])
            .current_dir(root()),
        Duration::from_secs(60),
    );
    assert!(
        ok && stdout.contains("SUCCESS"),
        "promtool check config monitoring/prometheus.yml failed:\n{stdout}{stderr}"
    );
}

#[test]
fn prometheus_scrapes_the_five_detector_services_and_the_orchestration_service() {
    let config = yaml_file("monitoring/prometheus.yml");
    let mut scraped = BTreeSet::new();
    for job in config["scrape_configs"].as_array().expect("scrape_configs") {
        let name = job["job_name"].as_str().expect("a job_name");
        let path = job["metrics_path"].as_str().unwrap_or("/metrics");
        assert_eq!(path, "/metrics", "job {name}: mockdet serves /metrics");
        for group in job["static_configs"].as_array().expect("static_configs") {
            for target in group["targets"].as_array().expect("targets") {
                scraped.insert(target.as_str().expect("a host:port target").to_owned());
            }
        }
    }
    let ports = compose_container_ports();
    let expected: BTreeSet<String> = ["success", "variable", "failing", "timeout", "batch"]
        .iter()
        .map(|d| format!("mock-detector-{d}"))
        .chain(["orchestration".to_owned()])
        .map(|service| {
            let port = ports
                .get(&service)
                .and_then(|p| p.iter().next())
                .unwrap_or_else(|| panic!("compose has no service {service} with a port"));
            format!("{service}:{port}")
        })
        .collect();
    assert_eq!(
        scraped, expected,
        "monitoring/prometheus.yml must scrape each detector and the orchestrator by \
         compose service name and container port"
    );
}

/// Every `"datasource": {"type": "prometheus", "uid": ...}` uid in a value.
fn datasource_uids(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(ds) = map.get("datasource").and_then(Value::as_object) {
                if ds.get("type").and_then(Value::as_str) == Some("prometheus") {
                    out.insert(
                        ds.get("uid")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                    );
                }
            }
            map.values().for_each(|v| datasource_uids(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| datasource_uids(v, out)),
        _ => {}
    }
}

#[test]
fn grafana_is_provisioned_with_the_prometheus_datasource_and_the_three_seed_dashboards() {
    let datasources = yaml_file("monitoring/grafana/provisioning/datasources/prometheus.yml");
    let datasource = &datasources["datasources"][0];
    assert_eq!(datasource["type"], "prometheus");
    assert_eq!(datasource["isDefault"], true);
    let uid = datasource["uid"].as_str().expect("a datasource uid");
    let ports = compose_container_ports();
    let prometheus_port = ports["prometheus"]
        .iter()
        .next()
        .expect("prometheus's port");
    assert_eq!(
        datasource["url"].as_str(),
        Some(format!("http://prometheus:{prometheus_port}").as_str()),
        "Grafana reaches Prometheus by compose service name"
    );

    let providers = yaml_file("monitoring/grafana/provisioning/dashboards/mockdet.yml");
    let path = providers["providers"][0]["options"]["path"]
        .as_str()
        .expect("a dashboards path");
    let grafana_mounts = compose_mounts("grafana");
    assert!(
        grafana_mounts
            .iter()
            .any(|(source, target)| source == "./monitoring/grafana/dashboards" && target == path),
        "the provider reads {path}, where compose must mount ./monitoring/grafana/dashboards \
         (mounts: {grafana_mounts:?})"
    );
    assert!(
        grafana_mounts.iter().any(
            |(source, target)| source == "./monitoring/grafana/provisioning"
                && target == "/etc/grafana/provisioning"
        ),
        "compose must mount the provisioning folder at /etc/grafana/provisioning"
    );

    let dir = root().join("monitoring/grafana/dashboards");
    let mut titles = BTreeSet::new();
    let mut dashboard_uids = BTreeSet::new();
    for entry in std::fs::read_dir(&dir)
        .expect("the dashboards folder")
        .flatten()
    {
        let file = entry.path();
        let relative = format!(
            "monitoring/grafana/dashboards/{}",
            entry.file_name().to_string_lossy()
        );
        let dashboard: Value = serde_json::from_str(&read(&relative))
            .unwrap_or_else(|e| panic!("{relative} is not JSON: {e}"));
        titles.insert(dashboard["title"].as_str().expect("a title").to_owned());
        assert!(
            dashboard_uids.insert(dashboard["uid"].as_str().expect("a uid").to_owned()),
            "{} repeats a dashboard uid",
            file.display()
        );
        let mut uids = BTreeSet::new();
        datasource_uids(&dashboard, &mut uids);
        assert_eq!(
            uids,
            BTreeSet::from([uid.to_owned()]),
            "{relative} must use the provisioned datasource (uid {uid}) everywhere"
        );
        for panel in dashboard["panels"].as_array().expect("panels") {
            let title = panel["title"].as_str().unwrap_or("?");
            let exprs: Vec<&str> = panel["targets"]
                .as_array()
                .map(|t| t.iter().filter_map(|t| t["expr"].as_str()).collect())
                .unwrap_or_default();
            assert!(
                !exprs.is_empty() && exprs.iter().all(|e| !e.trim().is_empty()),
                "{relative}: panel `{title}` has no PromQL"
            );
            assert!(
                panel["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{relative}: panel `{title}` should say what it shows"
            );
        }
    }
    assert_eq!(
        titles,
        BTreeSet::from(
            [
                "Orchestration Performance",
                "Detector Health",
                "Load Test Results"
            ]
            .map(str::to_owned)
        ),
        "the three dashboards named as in the seed"
    );
    let readme = read("README.md");
    for title in &titles {
        assert!(
            readme.contains(title.as_str()),
            "README.md's Monitoring section should describe `{title}`"
        );
    }
}
