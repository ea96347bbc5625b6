//! Async jobs (202, status polling, 404 for unknown or evicted ids) and
//! batches (one result per request, in order, each with its own status).

mod support;

use std::time::Duration;

use mockdet_orchestrator::OrchestratorConfig;
use serde_json::{Value, json};
use support::wait::eventually_async;
use support::{client, down, fleet, get, post, profile, request, wired};

async fn wait_completed(client: &reqwest::Client, url: &str, job_id: &str) -> Value {
    let mut last = Value::Null;
    let done = eventually_async(Duration::from_secs(2), async || {
        let (status, view) = get(client, url, &format!("/orchestrate/status/{job_id}")).await;
        assert_eq!(status, 200, "{view}");
        last = view;
        (last["status"] == "completed").then(|| last.clone())
    })
    .await;
    done.unwrap_or_else(|| panic!("job {job_id} did not complete within 2 s: {last}"))
}

#[tokio::test]
async fn an_async_job_is_accepted_then_completes_with_its_result() {
    let fleet = fleet(vec![profile("slowish", 150.0, ""), down("down")]).await;
    let orchestrator = wired(&fleet).max_retries(0).start().await.unwrap();
    let (client, url) = (client(), orchestrator.url());
    let mut body = request("text");
    body["processing_mode"] = json!("async");
    let (status, accepted) = post(&client, &url, "/orchestrate", &body).await;
    assert_eq!(status, 202, "{accepted}");
    let job_id = accepted["job_id"].as_str().expect("a job id").to_owned();
    let (_, running) = get(&client, &url, &format!("/orchestrate/status/{job_id}")).await;
    assert_eq!(
        running["status"], "running",
        "a 150 ms detector is still working"
    );
    let done = wait_completed(&client, &url, &job_id).await;
    assert_eq!(done["status_code"], 206);
    assert_eq!(done["result"]["processing_mode"], "async");
    assert_eq!(done["result"]["coverage_achieved"], 0.5);
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn unknown_and_evicted_jobs_answer_404() {
    let fleet = fleet(vec![profile("a", 0.0, "")]).await;
    let mut config = OrchestratorConfig::default();
    config.orchestration.job_capacity = 2;
    let orchestrator = wired(&fleet)
        .config(config)
        .detector("a", fleet.url("a"))
        .start()
        .await
        .unwrap();
    let (client, url) = (client(), orchestrator.url());
    let (status, body) = get(&client, &url, "/orchestrate/status/no-such-job").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "job_not_found");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let mut body = request("text");
        body["processing_mode"] = json!("async");
        let (_, accepted) = post(&client, &url, "/orchestrate", &body).await;
        ids.push(accepted["job_id"].as_str().unwrap().to_owned());
    }
    let (oldest, _) = get(&client, &url, &format!("/orchestrate/status/{}", ids[0])).await;
    assert_eq!(oldest, 404, "the oldest job is evicted past capacity");
    wait_completed(&client, &url, &ids[2]).await;
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_batch_answers_one_result_per_request_in_order() {
    let fleet = fleet(vec![profile("ok", 0.0, ""), down("down")]).await;
    let orchestrator = wired(&fleet).max_retries(0).start().await.unwrap();
    let mut only_ok = request("code");
    only_ok["required_detectors"] = json!(["ok"]);
    let mut only_down = request("text");
    only_down["required_detectors"] = json!(["down"]);
    let requests =
        json!([only_ok, {"content": "", "content_type": "text"}, request("text"), only_down]);
    let (status, body) = post(
        &client(),
        &orchestrator.url(),
        "/orchestrate/batch",
        &json!({"requests": requests}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().expect("results");
    let got: Vec<(u64, u64)> = results
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap(),
                r["status_code"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [(0, 200), (1, 422), (2, 206), (3, 502)]);
    assert_eq!(results[1]["error"]["code"], "empty_content");
    assert_eq!(results[0]["detector_results"][0]["detector"], "ok");
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_malformed_batch_is_refused_as_a_whole() {
    let fleet = fleet(vec![profile("a", 0.0, "")]).await;
    let orchestrator = wired(&fleet).start().await.unwrap();
    let (client, url) = (client(), orchestrator.url());
    let too_many: Vec<Value> = (0..101).map(|_| request("text")).collect();
    for (body, code) in [
        (json!({}), "missing_field"),
        (json!({"requests": "x"}), "missing_field"),
        (json!({"requests": []}), "empty_batch"),
        (json!({"requests": too_many}), "batch_too_large"),
    ] {
        let (status, reply) = post(&client, &url, "/orchestrate/batch", &body).await;
        assert_eq!((status, reply["error"]["code"].as_str()), (422, Some(code)));
    }
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}
