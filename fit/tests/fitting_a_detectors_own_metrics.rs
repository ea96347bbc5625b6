//! `mockdet fit` on a detector's own `/metrics` histogram after a run: the
//! fitted p50, p90 and p99 each land in the histogram bucket that holds
//! the configured one, or a neighbouring bound — within one bucket's width
//! of it, which is all a histogram can tell.

use std::time::Duration;

use mockdet::{DetectorProfile, Fleet};
use mockdet_fit::fit::{DEFAULT_MAX_D, fit};
use mockdet_fit::input;
use tokio::task::JoinSet;

/// p50 350 ms (bucket 300–400), p90 620 ms (500–750), p99 1,250 ms
/// (1,000–1,500): each in the middle of a bucket of the duration histogram.
const CONFIGURED: &str = r#"
name = "measured"
detector_id = "measured-detector"
port = 0
[latency]
model = "percentiles"
p0 = 100.0
p50 = 350.0
p90 = 620.0
p99 = 1250.0
p999 = 1400.0
p100 = 1450.0
"#;

/// The configured quantiles with the width of the bucket holding each.
const EXPECTED: [(f64, f64, f64); 3] = [
    (0.5, 350.0, 100.0),
    (0.9, 620.0, 250.0),
    (0.99, 1250.0, 500.0),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fitted_quantiles_are_within_a_bucket_of_the_configured_ones() {
    let profile = DetectorProfile::from_toml_str(CONFIGURED).unwrap();
    let fleet = Fleet::builder()
        .profile(profile)
        .seed(5)
        .start()
        .await
        .unwrap();
    let url = fleet.url("measured");
    let client = reqwest::Client::new();
    let mut ticks = tokio::time::interval(Duration::from_millis(2));
    let mut tasks = JoinSet::new();
    for i in 0..3000 {
        ticks.tick().await;
        let (client, url) = (client.clone(), url.clone());
        tasks.spawn(async move {
            client
                .post(format!("{url}/analyze"))
                .header("x-correlation-id", format!("m-{i}"))
                .body(format!("{{\"content\": \"text {i}\"}}"))
                .send()
                .await
                .map(|r| r.status().as_u16())
        });
    }
    while let Some(done) = tasks.join_next().await {
        assert_eq!(done.unwrap().unwrap(), 200);
    }
    let scrape = fleet.render_metrics();
    let only = input::only_histogram(&scrape, "mockdet_request_duration_seconds").unwrap();
    let data = input::read_str(&only, "metrics.txt").unwrap();
    let fitted = fit(&data.latencies, DEFAULT_MAX_D).unwrap();
    let best = fitted.best();
    for (q, configured, width) in EXPECTED {
        let got = best.quantile(q);
        println!(
            "p{}: configured {configured} ms, fitted {got:.1} ms ({})",
            q * 100.0,
            best.name
        );
        assert!(
            (got - configured).abs() <= width,
            "p{}: fitted {got:.1} ms, configured {configured} ms, bucket width {width} ms ({})",
            q * 100.0,
            best.describe()
        );
    }
    fleet.shutdown().await;
}
