//! Runtime fault control through each detector's `/admin` API.

mod common;

use std::time::{Duration, Instant};

use common::wait::eventually_async;
use common::{client, detect, fleet_of, get_json, profile};
use mockdet::{DetectorProfile, Fleet};
use serde_json::{Value, json};

async fn post(client: &reqwest::Client, url: String, body: Value) -> reqwest::Response {
    client.post(url).json(&body).send().await.unwrap()
}

async fn health_status(client: &reqwest::Client, base: &str) -> u16 {
    let response = client.get(format!("{base}/health")).send().await.unwrap();
    response.status().as_u16()
}

#[tokio::test]
async fn an_outage_window_starts_and_ends_on_time_and_health_flips() {
    let fleet = fleet_of(profile("o", 0.0, "")).await;
    let base = fleet.url("o");
    let client = client();
    assert_eq!(health_status(&client, &base).await, 200);
    let opened = Instant::now();
    let answer = post(
        &client,
        format!("{base}/admin/outage"),
        json!({"mode": "unavailable", "duration_ms": 400}),
    )
    .await;
    assert_eq!(answer.status(), 200);
    assert_eq!(health_status(&client, &base).await, 503);
    let during = detect(&client, &base).await.unwrap();
    assert_eq!(during.status(), 503);
    assert!(during.headers().contains_key("retry-after"));
    let metrics = fleet.render_metrics();
    assert!(
        metrics.contains("mockdet_fault_windows_active{detector=\"o\",mode=\"unavailable\"} 1")
    );
    // Poll until health recovers; the window must close at 400 ms ± 50 ms.
    let closed_after = eventually_async(Duration::from_secs(2), async || {
        (health_status(&client, &base).await != 503).then(|| opened.elapsed())
    })
    .await
    .expect("health still 503 two seconds after a 400 ms outage opened");
    assert!(
        closed_after >= Duration::from_millis(350) && closed_after <= Duration::from_millis(450),
        "{closed_after:?}"
    );
    assert_eq!(detect(&client, &base).await.unwrap().status(), 200);
    fleet.shutdown().await;
}

#[tokio::test]
async fn an_unhealthy_window_fails_health_only_and_counts_polls() {
    let fleet = fleet_of(profile("u", 0.0, "")).await;
    let base = fleet.url("u");
    let client = client();
    let answer = post(
        &client,
        format!("{base}/admin/outage"),
        json!({"mode": "unhealthy", "duration_ms": 60000}),
    )
    .await;
    assert_eq!(answer.status(), 200);
    assert_eq!(health_status(&client, &base).await, 503);
    // Requests are served as usual, and the journal names no outage.
    assert_eq!(detect(&client, &base).await.unwrap().status(), 200);
    let journal = fleet.detector("u").journal();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].imposed_by, None);
    // An errors window opened later does not make health green again.
    let answer = post(
        &client,
        format!("{base}/admin/outage"),
        json!({"mode": "errors", "status": 500, "duration_ms": 60000}),
    )
    .await;
    assert_eq!(answer.status(), 200);
    assert_eq!(health_status(&client, &base).await, 503);
    assert_eq!(detect(&client, &base).await.unwrap().status(), 500);
    let metrics = fleet.render_metrics();
    assert!(
        metrics.contains("mockdet_health_checks_total{detector=\"u\",status=\"unhealthy\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("mockdet_fault_windows_active{detector=\"u\",mode=\"unhealthy\"} 1"));
    fleet.shutdown().await;
}

#[tokio::test]
async fn next_affects_exactly_n_requests() {
    let fleet = fleet_of(profile("n", 0.0, "")).await;
    let base = fleet.url("n");
    let client = client();
    let body = json!({"count": 5, "fault": {"kind": "http_error", "status": 503}});
    assert_eq!(
        post(&client, format!("{base}/admin/next"), body)
            .await
            .status(),
        200
    );
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(detect(&client, &base).await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [503, 503, 503, 503, 503, 200, 200, 200]);
    fleet.shutdown().await;
}

#[tokio::test]
async fn script_phases_are_observed_in_order() {
    let fleet = fleet_of(profile("s", 0.0, "")).await;
    let base = fleet.url("s");
    let client = client();
    let script = json!({"phases": [
        {"duration_ms": 250, "overrides": {"faults": [{"kind": "http_error", "status": 503, "probability": 1.0}]}},
        {"duration_ms": 250, "overrides": {"faults": [{"kind": "http_error", "status": 500, "probability": 1.0}]}},
        {"duration_ms": 250}
    ]});
    let started = post(&client, format!("{base}/admin/script"), script).await;
    assert_eq!(started.status(), 200);
    let mut seen: Vec<u16> = Vec::new();
    let mut phases: Vec<i64> = Vec::new();
    // Sample until GET /admin/script says the script has ended.
    let ended = eventually_async(Duration::from_secs(5), async || {
        let status = detect(&client, &base).await.unwrap().status().as_u16();
        if seen.last() != Some(&status) {
            seen.push(status);
        }
        let view: Value = get_json(&client, &format!("{base}/admin/script")).await;
        let phase = view["status"]["phase"].as_i64().unwrap_or(-1);
        if phases.last() != Some(&phase) {
            phases.push(phase);
        }
        (phase == -1).then_some(())
    })
    .await;
    assert!(
        ended.is_some(),
        "a 750 ms script still running after 5 s; phases seen: {phases:?}"
    );
    assert_eq!(seen, [503, 500, 200], "statuses in order of appearance");
    assert_eq!(
        phases,
        [0, 1, 2, -1],
        "phases as GET /admin/script reported them"
    );
    fleet.shutdown().await;
}

#[tokio::test]
async fn the_journal_records_correlation_ids_and_evicts_oldest_first() {
    let text = "name = \"j\"\ndetector_id = \"j\"\nport = 0\n[latency]\nmodel = \"fixed\"\nms = 0.0\n\
                [limits]\njournal_size = 5\n";
    let fleet = fleet_of(DetectorProfile::from_toml_str(text).unwrap()).await;
    let base = fleet.url("j");
    let client = client();
    for i in 1..=8 {
        client
            .post(format!("{base}/analyze"))
            .header("X-Correlation-ID", format!("c{i}"))
            .json(&json!({"content": "abc"}))
            .send()
            .await
            .unwrap();
    }
    let journal: Value = get_json(&client, &format!("{base}/admin/requests")).await;
    let entries = journal["requests"].as_array().unwrap();
    let ids: Vec<&str> = entries
        .iter()
        .map(|e| e["correlation_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["c4", "c5", "c6", "c7", "c8"]);
    assert_eq!(entries[0]["seq"], 4);
    assert_eq!(entries[0]["path"], "/analyze");
    assert_eq!(entries[0]["content_bytes"], 3);
    assert_eq!(entries[0]["status"], 200);
    let some: Value = get_json(
        &client,
        &format!("{base}/admin/requests?since_seq=5&limit=2"),
    )
    .await;
    let seqs: Vec<u64> = some["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [6, 7]);
    fleet.shutdown().await;
}

#[tokio::test]
async fn an_invalid_patch_leaves_the_old_profile_serving_and_a_valid_one_applies_live() {
    let fleet = fleet_of(profile("p", 0.0, "")).await;
    let base = fleet.url("p");
    let client = client();
    let bad = client
        .patch(format!("{base}/admin/profile"))
        .json(&json!({"latency": {"model": "uniform", "min": 50.0, "max": 10.0, "ms": null}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let error: Value = bad.json().await.unwrap();
    assert_eq!(error["error"]["code"], "invalid_profile");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("latency"),
        "{error}"
    );
    let profile: Value = get_json(&client, &format!("{base}/admin/profile")).await;
    assert_eq!(profile["latency"]["model"], "fixed");
    assert_eq!(detect(&client, &base).await.unwrap().status(), 200);

    let good = client
        .patch(format!("{base}/admin/profile"))
        .json(&json!({"faults": [{"kind": "http_error", "status": 502, "probability": 1.0}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), 200);
    assert_eq!(detect(&client, &base).await.unwrap().status(), 502);
    let put = client
        .put(format!("{base}/admin/profile"))
        .json(&json!({"name": "renamed", "detector_id": "x", "port": 0, "latency": {"model": "fixed", "ms": 0.0}}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 400, "the name cannot change live");
    assert!(
        fleet
            .render_metrics()
            .contains("mockdet_admin_changes_total{action=\"profile\",detector=\"p\"} 1")
    );
    fleet.shutdown().await;
}

#[tokio::test]
async fn clearing_faults_and_reset_restore_the_profile() {
    let fleet = fleet_of(profile("c", 0.0, "")).await;
    let base = fleet.url("c");
    let client = client();
    post(
        &client,
        format!("{base}/admin/outage"),
        json!({"mode": "errors", "duration_ms": 60000, "status": 500}),
    )
    .await;
    assert_eq!(detect(&client, &base).await.unwrap().status(), 500);
    let cleared = client
        .delete(format!("{base}/admin/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 200);
    assert_eq!(detect(&client, &base).await.unwrap().status(), 200);
    assert_eq!(
        post(&client, format!("{base}/admin/reset"), json!({}))
            .await
            .status(),
        200
    );
    let after = detect(&client, &base).await.unwrap();
    assert_eq!(
        after.headers()["x-mock-seq"],
        "1",
        "sequence numbers restart"
    );
    fleet.shutdown().await;
}

#[tokio::test]
async fn bad_admin_input_gets_json_errors_naming_the_field() {
    let fleet = fleet_of(profile("b", 0.0, "")).await;
    let base = fleet.url("b");
    let client = client();
    let cases = [
        (
            "outage",
            json!({"mode": "explode", "duration_ms": 1}),
            "invalid_body",
        ),
        (
            "outage",
            json!({"mode": "errors", "duration_ms": 1, "probability": 2.0}),
            "invalid_control",
        ),
        (
            "next",
            json!({"count": 1, "fault": {"kind": "http_error"}}),
            "invalid_control",
        ),
        ("script", json!({"phases": []}), "invalid_control"),
    ];
    for (path, body, code) in cases {
        let response = post(&client, format!("{base}/admin/{path}"), body.clone()).await;
        assert_eq!(response.status(), 400, "{path} {body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], code, "{path} {body}: {error}");
    }
    let query = client
        .get(format!("{base}/admin/requests?limit=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(query.status(), 400);
    fleet.shutdown().await;
}

/// Status of `/admin/profile` on `base` with an optional bearer token.
async fn admin_status(base: &str, token: Option<&str>) -> u16 {
    let mut request = client().get(format!("{base}/admin/profile"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn admin_access_follows_the_bind_address_and_token() {
    // Loopback, no token: open.
    let open = fleet_of(profile("a", 0.0, "")).await;
    assert_eq!(admin_status(&open.url("a"), None).await, 200);

    // Every interface, no token: disabled. (Requests still go to loopback.)
    let all: std::net::IpAddr = "0.0.0.0".parse().unwrap();
    let exposed = Fleet::builder()
        .profile(profile("a", 0.0, ""))
        .bind(all)
        .start()
        .await
        .unwrap();
    let port = exposed.addr("a").port();
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(admin_status(&base, None).await, 403);
    assert_eq!(detect(&client(), &base).await.unwrap().status(), 200);

    // Every interface with a token: 401 without or wrong, 200 right.
    let guarded = Fleet::builder()
        .profile(profile("a", 0.0, ""))
        .bind(all)
        .admin_token("s3cret")
        .start()
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", guarded.addr("a").port());
    assert_eq!(admin_status(&base, None).await, 401);
    assert_eq!(admin_status(&base, Some("wrong")).await, 401);
    assert_eq!(admin_status(&base, Some("s3cret")).await, 200);

    // Loopback with a token set: the token is required there too.
    let loop_token = Fleet::builder()
        .profile(profile("a", 0.0, ""))
        .admin_token("t")
        .start()
        .await
        .unwrap();
    assert_eq!(admin_status(&loop_token.url("a"), None).await, 401);
    assert_eq!(admin_status(&loop_token.url("a"), Some("t")).await, 200);
}

#[tokio::test]
async fn override_headers_apply_only_when_allowed() {
    let allowed = Fleet::builder()
        .profile(profile("x", 0.0, ""))
        .allow_overrides(true)
        .start()
        .await
        .unwrap();
    let base = allowed.url("x");
    let client = client();
    let send = |headers: Vec<(&'static str, &'static str)>| {
        let mut request = client
            .post(format!("{base}/detect"))
            .json(&json!({"content": "x"}));
        for (k, v) in headers {
            request = request.header(k, v);
        }
        request.send()
    };
    assert_eq!(
        send(vec![("X-Mock-Status", "503")]).await.unwrap().status(),
        503
    );
    let started = Instant::now();
    assert_eq!(
        send(vec![("X-Mock-Delay-Ms", "150")])
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert!(send(vec![("X-Mock-Fault", "reset")]).await.is_err());
    let bad = send(vec![("X-Mock-Fault", "explode")]).await.unwrap();
    assert_eq!(bad.status(), 400);
    let error: Value = bad.json().await.unwrap();
    assert_eq!(error["error"]["code"], "invalid_override");

    let strict = fleet_of(profile("y", 0.0, "")).await;
    let ignored = client
        .post(format!("{}/detect", strict.url("y")))
        .header("X-Mock-Status", "503")
        .json(&json!({"content": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ignored.status(), 200);
    assert!(
        strict
            .render_metrics()
            .contains("mockdet_overrides_ignored_total{detector=\"y\"} 1")
    );
}

#[tokio::test]
async fn a_scheduled_window_in_the_profile_opens_and_closes_by_itself() {
    let text = "name = \"sch\"\ndetector_id = \"sch\"\nport = 0\n\
                schedule = [{ at = \"300ms\", for = \"300ms\", mode = \"errors\", status = 502 }]\n\
                [latency]\nmodel = \"fixed\"\nms = 0.0\n";
    let fleet = fleet_of(DetectorProfile::from_toml_str(text).unwrap()).await;
    let base = fleet.url("sch");
    let client = client();
    let mut seen = Vec::new();
    // Sample until the window has opened and closed, and for 300 ms past
    // its end (900 ms in all), to see that it stays closed.
    let began = Instant::now();
    let settled = eventually_async(Duration::from_secs(5), async || {
        let status = detect(&client, &base).await.unwrap().status().as_u16();
        if seen.last() != Some(&status) {
            seen.push(status);
        }
        (seen.len() >= 3 && began.elapsed() >= Duration::from_millis(900)).then_some(())
    })
    .await;
    assert!(
        settled.is_some(),
        "a window at 300 ms for 300 ms not over after 5 s: {seen:?}"
    );
    assert_eq!(seen, [200, 502, 200]);
    fleet.shutdown().await;
}
