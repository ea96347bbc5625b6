//! mockdet as a test fixture: start a seeded `failing` detector on an
//! ephemeral port, call it the way an orchestrator would, and count what
//! came back. Run with `cargo run -p mockdet --example fixture`.

use std::collections::BTreeMap;
use std::time::Duration;

use mockdet::Fleet;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Every listener is bound when `start` returns; the seed makes the run
    // repeatable: the k-th request always gets the same latency and fault.
    let fleet = Fleet::builder().builtin("failing").seed(7).start().await?;
    let url = format!("{}/analyze", fleet.url("failing"));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;

    let mut outcomes: BTreeMap<String, u32> = BTreeMap::new();
    for i in 0..20 {
        let sent = client
            .post(&url)
            .header("X-Correlation-ID", format!("example-{i}"))
            .json(&serde_json::json!({
                "content": "call me at 555-867-5309",
                "metadata": {"content_features": {"content_type": "text"}}
            }))
            .send()
            .await;
        let outcome = match sent {
            Ok(response) => response.status().to_string(),
            Err(error) if error.is_timeout() => "client timeout".to_owned(),
            Err(_) => "connection error".to_owned(),
        };
        *outcomes.entry(outcome).or_default() += 1;
    }
    for (outcome, count) in &outcomes {
        println!("{count:>3} × {outcome}");
    }
    fleet.shutdown().await;
    Ok(())
}
