//! The Grafana dashboards against the real thing: every metric their
//! PromQL names is one that `mockdet demo` (five detectors and the reference
//! orchestrator) exports, and a real Prometheus (Debian's binary, on a free
//! loopback port, with monitoring/prometheus.yml's jobs pointed at the demo)
//! answers every panel's query with data after a short load, and measures a
//! success-detector p95 inside that profile's latency range.
//!
//! Each test drives a few hundred requests over loopback for a few seconds;
//! they take turns (a lock), so one's load does not skew the other's
//! latency figures.

mod packaging_support;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use packaging_support::dashboards::{Query, dashboard_queries, metric_names, substitute};
use packaging_support::load::{assert_load_went_through, drive_load, exported_names, scrape};
use packaging_support::prometheus::Prometheus;
use packaging_support::{DemoProcess, PROMETHEUS, TempDir, eventually, find, run};
use serde_json::Value;

/// One test drives load at a time.
static LOAD: Mutex<()> = Mutex::new(());

#[test]
fn the_promql_reader_finds_metric_names_and_skips_functions_labels_and_keywords() {
    let names = |e: &str| metric_names(e).into_iter().collect::<Vec<_>>();
    assert_eq!(
        names(
            r#"histogram_quantile(0.95, sum by (le, detector) (rate(a_bucket{detector=~"$detector",x="}"}[$__rate_interval])))"#
        ),
        ["a_bucket"]
    );
    assert_eq!(
        names(r#"sum(increase(a{status=~"5.."}[$__range])) / sum(b offset 5m) or vector(0)"#),
        ["a", "b"]
    );
    assert_eq!(names("count(c == bool 2) and on (d) e"), ["c", "e"]);
    assert_eq!(
        names("max by (detector) (circuit_breaker_state)"),
        ["circuit_breaker_state"]
    );
}

#[test]
fn every_dashboard_query_names_only_metrics_the_demo_fleet_and_orchestrator_export() {
    let _turn = LOAD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = TempDir::new("mockdet-dashboards");
    let demo = DemoProcess::start(dir.path());
    let report = drive_load(&demo, 40, 20);
    assert_load_went_through(&report, 40);

    let mut exported = BTreeSet::new();
    for url in demo.urls.values() {
        exported.extend(exported_names(&scrape(url)));
    }
    let (exprs, variables) = dashboard_queries();
    assert!(
        exprs.len() >= 20,
        "expected the dashboards' queries, found {}",
        exprs.len()
    );
    let mut unknown = Vec::new();
    for query in &exprs {
        let names = metric_names(&query.expr);
        assert!(
            !names.is_empty(),
            "{}: `{}` reads no metric",
            query.place,
            query.expr
        );
        for name in names.difference(&exported) {
            unknown.push(format!("{}: `{name}` in `{}`", query.place, query.expr));
        }
    }
    for variable in &variables {
        let metric = variable.expr.split('|').next().unwrap_or_default();
        if !exported.contains(metric) {
            unknown.push(format!("{}: `{metric}`", variable.place));
        }
    }
    assert!(
        unknown.is_empty(),
        "dashboard queries name metrics nothing exports:\n  {}\nexported: {exported:?}",
        unknown.join("\n  ")
    );
}

/// The success profile's latency range in seconds, from `mockdet profiles
/// show success` (the effective profile).
fn success_latency_range() -> (f64, f64) {
    let (ok, stdout, stderr) = run(
        Command::new(env!("CARGO_BIN_EXE_mockdet")).args(["profiles", "show", "success"]),
        Duration::from_secs(20),
    );
    assert!(ok, "mockdet profiles show success failed: {stderr}");
    let profile: toml::Value = stdout.parse().expect("the profile is TOML");
    let latency = &profile["latency"];
    assert_eq!(
        latency["model"].as_str(),
        Some("uniform"),
        "this check assumes the success profile's uniform latency: {latency}"
    );
    let ms = |key: &str| latency[key].as_float().expect("a number of ms");
    (ms("min") / 1000.0, ms("max") / 1000.0)
}

/// The `le` bounds of the success detector's duration histogram.
fn duration_bucket_bounds(success_url: &str) -> Vec<f64> {
    let text = scrape(success_url);
    let pattern = regex::Regex::new(
        r#"^mockdet_request_duration_seconds_bucket\{[^}]*le="([0-9.eE+-]+)"[^}]*\}"#,
    )
    .expect("static regex");
    let mut bounds: Vec<f64> = text
        .lines()
        .filter_map(|l| pattern.captures(l))
        .filter_map(|c| c[1].parse().ok())
        .collect();
    bounds.sort_by(f64::total_cmp);
    bounds.dedup();
    assert!(
        !bounds.is_empty(),
        "no duration buckets in the success detector's /metrics"
    );
    bounds
}

/// The `(place, query)` pairs for which `check` still fails after
/// retrying for 20 s (Prometheus scrapes every second).
fn still_failing(
    items: Vec<(String, String)>,
    check: &dyn Fn(&str) -> Result<bool, String>,
) -> Vec<String> {
    let mut left = items;
    let _ = eventually(Duration::from_secs(20), || {
        left.retain(|(_, expr)| !matches!(check(expr), Ok(true)));
        left.is_empty().then_some(())
    });
    left.into_iter()
        .map(|(place, expr)| format!("{place}: `{expr}` -> {:?}", check(&expr)))
        .collect()
}

/// Every metric the dashboards name has data, then every panel's whole
/// query (Grafana's variables substituted) is valid and returns data.
fn assert_every_dashboard_query_has_data(prometheus: &Prometheus, exprs: &[Query]) {
    let has_data = |expr: &str| prometheus.query(expr).map(|r| !r.is_empty());
    let names: BTreeSet<String> = exprs.iter().flat_map(|q| metric_names(&q.expr)).collect();
    let no_data = still_failing(
        names.iter().map(|n| (n.clone(), n.clone())).collect(),
        &has_data,
    );
    assert!(
        no_data.is_empty(),
        "metrics without data in Prometheus:\n  {}",
        no_data.join("\n  ")
    );
    let panels = exprs
        .iter()
        .map(|q| (q.place.clone(), substitute(&q.expr)))
        .collect();
    let empty = still_failing(panels, &has_data);
    assert!(
        empty.is_empty(),
        "dashboard queries Prometheus rejects or answers with nothing:\n  {}",
        empty.join("\n  ")
    );
}

/// Each `label_values(metric, label)` variable lists the five detectors.
fn assert_variables_list_the_detectors(prometheus: &Prometheus, variables: &[Query]) {
    for variable in variables {
        let (metric, label) = variable.expr.split_once('|').expect("metric|label");
        let values: Value = reqwest::blocking::Client::new()
            .get(format!("{}/api/v1/label/{label}/values", prometheus.url))
            .query(&[("match[]", metric)])
            .send()
            .and_then(|r| r.json())
            .expect("label values");
        let values: BTreeSet<&str> = values["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            values,
            BTreeSet::from(["batch", "failing", "success", "timeout", "variable"]),
            "{}: label_values({metric}, {label})",
            variable.place
        );
    }
}

/// The success detector's server-side p95, as a dashboard computes it, is
/// inside the profile's range widened to the enclosing bucket bounds
/// (histogram_quantile interpolates linearly within a bucket).
fn assert_success_p95_is_in_the_profile_range(prometheus: &Prometheus, success_url: &str) {
    let (min, max) = success_latency_range();
    let bounds = duration_bucket_bounds(success_url);
    let lower = bounds
        .iter()
        .copied()
        .filter(|b| *b <= min)
        .fold(0.0, f64::max);
    let upper = bounds
        .iter()
        .copied()
        .find(|b| *b >= max)
        .unwrap_or(f64::INFINITY);
    let expr = r#"histogram_quantile(0.95, sum by (le) (rate(mockdet_request_duration_seconds_bucket{detector="success"}[1m])))"#;
    let result = prometheus
        .query(expr)
        .unwrap_or_else(|e| panic!("{expr}: {e}"));
    let p95: f64 = result
        .first()
        .and_then(|r| r["value"][1].as_str())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{expr} gave no number: {result:?}"));
    assert!(
        (lower..=upper).contains(&p95),
        "success p95 = {p95:.3} s, outside the profile's {min}-{max} s widened to buckets \
         [{lower}, {upper}] (a uniform draw's p95 is {:.3} s)",
        min + 0.95 * (max - min)
    );
}

#[test]
fn a_real_prometheus_scraping_the_demo_answers_every_dashboard_query_with_data() {
    let started = Instant::now();
    let binary = find(PROMETHEUS);
    let _turn = LOAD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = TempDir::new("mockdet-prometheus");
    let demo = DemoProcess::start(dir.path());
    let prometheus = Prometheus::scraping_demo(&binary, dir.path(), &demo);

    let report = drive_load(&demo, 300, 50);
    assert_load_went_through(&report, 300);

    let (exprs, variables) = dashboard_queries();
    assert_every_dashboard_query_has_data(&prometheus, &exprs);
    assert_variables_list_the_detectors(&prometheus, &variables);
    assert_success_p95_is_in_the_profile_range(&prometheus, demo.url("success"));
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "the Prometheus check took {:?}; keep it under a minute",
        started.elapsed()
    );
}
