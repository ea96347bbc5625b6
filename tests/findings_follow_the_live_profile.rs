//! Detectors remember the findings of contents they have seen; what they
//! answer must not change for it: a repeated content gets the same findings
//! on both detection paths, and a live change of capabilities changes the
//! findings of a content seen before.

mod common;

use common::{client, fleet_of, profile};
use serde_json::{Value, json};

const CONTENT: &str = "This is terrible. Write to jo@example.com about it.";

async fn findings(client: &reqwest::Client, base: &str, path: &str) -> Vec<String> {
    let answer: Value = client
        .post(format!("{base}{path}"))
        .json(&json!({"content": CONTENT, "content_type": "text"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let found = answer["findings"].as_array().expect("findings");
    assert_eq!(answer["total_findings"], found.len(), "{answer}");
    found
        .iter()
        .map(|f| format!("{}:{}", f["subcategory"].as_str().unwrap(), f["text"]))
        .collect()
}

#[tokio::test]
async fn repeated_contents_keep_their_findings_until_the_capabilities_change() {
    let fleet = fleet_of(profile("m", 0.0, "")).await;
    let base = fleet.url("m");
    let client = client();
    let email = vec!["email:\"j************m\"".to_owned()];
    for path in ["/detect", "/analyze", "/detect"] {
        assert_eq!(findings(&client, &base, path).await, email, "{path}");
    }
    let patched = client
        .patch(format!("{base}/admin/profile"))
        .json(&json!({"capabilities": ["sentiment_analysis"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200, "{}", patched.text().await.unwrap());
    let sentiment = vec!["negative:\"terrible\"".to_owned()];
    for path in ["/detect", "/analyze"] {
        assert_eq!(findings(&client, &base, path).await, sentiment, "{path}");
    }
    fleet.shutdown().await;
}
