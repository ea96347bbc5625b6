//! A client that gives up before the answer does not take the exchange out
//! of the recording: the proxy reads the upstream's answer to its end and
//! records its whole latency, so a client timeout cannot cut the slow tail
//! from the data a profile is fitted to.

use std::time::Duration;

use mockdet::{DetectorProfile, Fleet};
use mockdet_fit::record::Proxy;

const SLOW: &str = r#"
name = "slow"
detector_id = "slow-detector"
port = 0
[latency]
model = "fixed"
ms = 400.0
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_exchange_is_recorded_with_its_whole_latency() {
    let profile = DetectorProfile::from_toml_str(SLOW).unwrap();
    let fleet = Fleet::builder()
        .profile(profile)
        .seed(1)
        .start()
        .await
        .unwrap();
    let proxy = Proxy::start("127.0.0.1:0".parse().unwrap(), &fleet.url("slow"))
        .await
        .unwrap();
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    for i in 0..3 {
        let sent = impatient
            .post(format!("{}/analyze", proxy.url()))
            .header("x-correlation-id", format!("gone-{i}"))
            .body("{\"content\": \"hello\"}")
            .send()
            .await;
        assert!(sent.is_err(), "the client gives up after 100 ms");
    }
    let recording = proxy.stop(Duration::from_secs(5)).await;
    let journal = recording.lock().unwrap().journal();
    assert_eq!(journal.len(), 3, "{journal:?}");
    for entry in &journal {
        assert_eq!(entry.status, Some(200), "{entry:?}");
        assert!(entry.duration_ms >= 400.0, "the whole latency: {entry:?}");
    }
    fleet.shutdown().await;
}
