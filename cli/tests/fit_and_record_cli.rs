//! `mockdet fit` and `mockdet record` through the binary: bad input exits 2
//! naming the file, line or series; a fit writes a profile that loads and a
//! report that renders in headless Chromium; a recording in front of a
//! detector writes a profile whose detector replays the recorded bodies.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

#[path = "../../tests/common/mod.rs"]
mod common;

use common::wait::exit_within;
use mockdet::DetectorProfile;

const BIN: &str = env!("CARGO_BIN_EXE_mockdet");

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mockdet-fitcli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fit_error(dir: &Path, file: &str, text: &str) -> String {
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    let output = Command::new(BIN)
        .arg("fit")
        .arg(&path)
        .arg("--out")
        .arg(dir.join("never.toml"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{file}");
    assert!(
        !dir.join("never.toml").exists(),
        "nothing written on bad input"
    );
    let message = String::from_utf8(output.stderr).unwrap();
    assert!(
        message.contains(&path.display().to_string()),
        "names the file: {message}"
    );
    message
}

#[test]
fn bad_input_exits_2_naming_the_file_line_or_series() {
    let dir = scratch("bad");
    assert!(fit_error(&dir, "empty.csv", "").contains("empty"));
    assert!(
        fit_error(&dir, "notes.txt", "hello there\nnot numbers\n")
            .contains("not a recognised latency file")
    );
    let negative = fit_error(&dir, "neg.txt", "12.5\n-3\n");
    assert!(
        negative.contains("line 2") && negative.contains("negative"),
        "{negative}"
    );
    let word = fit_error(&dir, "word.csv", "ms\n10\nfast\n");
    assert!(word.contains("line 3") && word.contains("fast"), "{word}");
    let buckets = "h_bucket{le=\"0.1\"} 9\nh_bucket{le=\"0.3\"} 5\nh_bucket{le=\"+Inf\"} 12\n";
    let histogram = fit_error(&dir, "metrics.txt", buckets);
    assert!(
        histogram.contains("le=\"0.3\"") && histogram.contains("cumulative"),
        "{histogram}"
    );
    std::fs::remove_dir_all(dir).ok();
}

/// Renders `html` in headless Chromium; returns its DOM.
fn chromium_dom(html: &Path, screenshot: &Path) -> String {
    let url = format!("file://{}", html.display());
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("Chromium is installed (scripts/test.sh installs it)");
    let headless = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
    ];
    let shot = Command::new(chromium)
        .args(headless)
        .arg("--window-size=1000,1400")
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(&url)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(shot.status.success(), "chromium screenshot");
    let dom = Command::new(chromium)
        .args(headless)
        .arg("--dump-dom")
        .arg(&url)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(dom.status.success(), "chromium --dump-dom");
    String::from_utf8(dom.stdout).unwrap()
}

#[test]
fn a_fit_writes_a_loading_profile_and_a_report_chromium_renders() {
    let dir = scratch("fit");
    // Exponential-looking latencies in ms with a status column: 2 % 503.
    let mut csv = String::from("latency_ms,status\n");
    for i in 0..2000u32 {
        let u = (f64::from(i) + 0.5) / 2000.0;
        let status = if i % 50 == 7 { 503 } else { 200 };
        csv.push_str(&format!("{:.3},{status}\n", -80.0 * (1.0 - u).ln()));
    }
    let input = dir.join("latencies.csv");
    std::fs::write(&input, csv).unwrap();
    let out = dir.join("mine.toml");
    let output = Command::new(BIN)
        .args(["fit", "--name", "mine"])
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("<- written") && stdout.contains("2.00 % 503"),
        "{stdout}"
    );
    let profile = DetectorProfile::from_path(&out).unwrap();
    profile.validate().unwrap();
    assert_eq!(profile.name, "mine");
    assert_eq!(profile.latency.model.name(), "exponential", "{stdout}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("# Fitted by `mockdet fit` from:"));
    let dom = chromium_dom(&dir.join("mine.html"), &dir.join("fit.png"));
    assert!(
        dom.contains("<polyline") && dom.contains("Latency fit — mine"),
        "{dom}"
    );
    assert!(dom.contains("<td>p99.9</td>"));
    let png = std::fs::metadata(dir.join("fit.png")).unwrap().len();
    assert!(png > 10_000, "a real picture, {png} bytes");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn record_proxies_a_detector_and_its_profile_replays_the_answers() {
    let dir = scratch("record");
    let upstream = common::spawn_ready(Command::new(BIN).args([
        "--profile",
        "success",
        "--port",
        "0",
        "--seed",
        "9",
    ]));
    let target = upstream.url("success");
    let out = dir.join("rec");
    let mut recorder = common::spawn_ready(
        Command::new(BIN)
            .args([
                "record",
                "--upstream",
                &target,
                "--listen",
                "127.0.0.1:0",
                "--duration",
                "5s",
            ])
            .arg("--out")
            .arg(&out),
    );
    let proxy = recorder.url("record");
    let client = reqwest::blocking::Client::new();
    let send = |url: &str, i: u32| {
        let response = client
            .post(format!("{url}/analyze"))
            .header("x-correlation-id", format!("cli-{i}"))
            .body(format!(
                "{{\"content\": \"call 555-0100 about order {i}\"}}"
            ))
            .send()
            .unwrap();
        (response.status().as_u16(), response.bytes().unwrap())
    };
    // Sequential, well inside the recording's 5 s.
    let through: Vec<_> = (0..8).map(|i| send(&proxy, i)).collect();
    let status =
        exit_within(&mut recorder.child, Duration::from_secs(20)).expect("stops after --duration");
    assert_eq!(status.code(), Some(0));
    for file in [
        "journal.ndjson",
        "answers.ndjson",
        "profile.toml",
        "fit.html",
    ] {
        assert!(out.join(file).exists(), "{file}");
    }
    let replica = common::spawn_ready(
        Command::new(BIN)
            .arg("--profile-file")
            .arg(out.join("profile.toml"))
            .args(["--port", "0"]),
    );
    let again = send(&replica.url("recorded"), 3);
    assert_eq!(through[3].0, 200);
    assert_eq!(again, through[3], "the recorded body, byte for byte");
    let refused = Command::new(BIN)
        .args(["record", "--upstream", "ftp://127.0.0.1:1", "--out"])
        .arg(dir.join("never"))
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("expected http://host:port"));
    std::fs::remove_dir_all(dir).ok();
}

/// KS D of the profile `mockdet fit` writes for `input` against `samples`.
fn fitted_distance(dir: &Path, input: &Path, samples: &Path) -> (String, f64) {
    let out = dir.join(format!(
        "{}.toml",
        input.file_name().unwrap().to_string_lossy()
    ));
    let output = Command::new(BIN)
        .arg("fit")
        .arg(input)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let profile = DetectorProfile::from_path(&out).unwrap();
    let latency = profile.latency.validate().unwrap();
    let data = mockdet_fit::input::read_path(samples).unwrap();
    let mockdet_fit::input::Latencies::Samples(mut samples) = data.latencies else {
        panic!("{} holds samples", samples.display());
    };
    let d = mockdet::ks_statistic(&mut samples, |x| latency.cdf(x));
    (latency.describe(), d)
}

#[test]
fn the_load_suites_client_samples_fit_within_0_02() {
    let dir = scratch("suite");
    let demo = common::spawn_ready(Command::new(BIN).args(["demo", "--ephemeral", "--seed", "4"]));
    let mut perf = Command::new(BIN);
    perf.args([
        "perf",
        "--test-type",
        "load",
        "--duration-scale",
        "0.04",
        "--samples",
    ])
    .args(["--target", &demo.url("orchestrator")])
    .arg("--out")
    .arg(&dir)
    .env_remove("ORCHESTRATION_API_KEY");
    for name in ["success", "variable", "failing", "timeout", "batch"] {
        perf.args(["--fleet", &demo.url(name)]);
    }
    let run = perf.output().unwrap();
    assert!(
        run.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let k6 = dir.join("load-k6.samples.json");
    let (model, d) = fitted_distance(&dir, &k6, &k6);
    println!("k6 --out json: {model}, D against its samples = {d:.4}");
    assert!(d <= 0.02, "k6: {model}: D = {d}");
    let locust = dir.join("load-locust.samples.csv");
    let (model, d) = fitted_distance(&dir, &locust, &locust);
    println!("Locust samples: {model}, D against them = {d:.4}");
    assert!(d <= 0.02, "Locust: {model}: D = {d}");
    // Locust's own CSV: its percentiles are met (it rounds response times
    // and, with --csv-full-history, reports the last 10 s only, so it says
    // too little to match the samples as closely).
    let history = dir.join("load-locust.locust_stats_history.csv");
    let output = Command::new(BIN)
        .arg("fit")
        .arg(&history)
        .arg("--out")
        .arg(dir.join("history.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let (_, against_samples) = fitted_distance(&dir, &history, &locust);
    println!("Locust history CSV: {stdout}\nD against the samples = {against_samples:.4}");
    assert!(
        stdout.contains("KS D at the given quantile points = 0.0"),
        "{stdout}"
    );
    std::fs::remove_dir_all(dir).ok();
}
