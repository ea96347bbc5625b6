//! The benchmark's cases, one file each, sharing a [`Bench`] context that
//! knows the settings (full or quick), the CPUs, the scratch directory and
//! how to start a baseline or a mockdet server.

pub(crate) mod hold;
pub(crate) mod ks;
pub(crate) mod memory;
pub(crate) mod protocols;
pub(crate) mod record;
pub(crate) mod replay;
pub(crate) mod spawn;
pub(crate) mod throughput;
pub(crate) mod timer;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::error::BenchError;
use super::process::{Launch, Scratch, Server};
use super::report::Report;
use mockdet::{DetectorProfile, Replay};

/// A realistic ~300-byte text for `/detect`: prose with one email address,
/// so the PII rules find something and the others scan it all.
pub(crate) const CONTENT: &str = "Hello team, please review the quarterly report before \
Friday. Contact me at alice@example.com if anything looks off. The deployment to staging \
went fine and the dashboard shows normal traffic. Thanks for the quick turnaround on the \
bug fixes last week; the customer noticed and wrote to say so. Best regards, Alice";

/// The JSON body every `/detect` request of the benchmark sends.
pub(crate) fn detect_body() -> String {
    serde_json::json!({ "content": CONTENT, "content_type": "text" }).to_string()
}

/// Marks where [`distinct_detect_body`] numbers its contents.
pub(crate) const TICKET_PLACEHOLDER: &str = "TICKET_NUMBER";

/// [`detect_body`] with the content prefixed by a ticket number to fill in
/// at [`TICKET_PLACEHOLDER`], so that every number gives a different
/// content (with no more digits than phone or card rules would need).
pub(crate) fn distinct_detect_body() -> String {
    let content = format!("Ticket {TICKET_PLACEHOLDER}. {CONTENT}");
    serde_json::json!({ "content": content, "content_type": "text" }).to_string()
}

/// A profile with a fixed latency and no faults.
pub(crate) fn fixed_profile(name: &str, ms: f64) -> Result<DetectorProfile, BenchError> {
    let profile = DetectorProfile::from_toml_str(&format!(
        "name = \"{name}\"\ndetector_id = \"bench-{name}\"\nport = 0\n\
         capabilities = [\"pii_detection\", \"toxicity_detection\", \"security_scan\"]\n\
         [latency]\nmodel = \"fixed\"\nms = {ms:?}\n"
    ))?;
    Ok(profile)
}

/// How big and long each case is.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) quick: bool,
    pub(crate) throughput_connections: usize,
    pub(crate) throughput_duration: Duration,
    pub(crate) throughput_rounds: usize,
    pub(crate) timer_connections: usize,
    pub(crate) timer_warmup: Duration,
    pub(crate) timer_measure: Duration,
    /// Connections of the wrk-driven memory case.
    pub(crate) memory_connections: usize,
    /// How long wrk drives each side in the memory case.
    pub(crate) memory_duration: Duration,
    pub(crate) ks_min_n: usize,
    pub(crate) ks_rate: f64,
    /// Quick runs cut latencies above this (ms) and compare with the
    /// conditional CDF, so no run waits for a multi-second tail.
    pub(crate) ks_cap_ms: Option<f64>,
    pub(crate) hold_connections: usize,
    /// Time the server gets to read every held request before its memory
    /// is read.
    pub(crate) hold_quiet: Duration,
    pub(crate) spawn_repeats: usize,
    /// Back-to-back round pairs (direct, then through the proxy, or the
    /// other way round) of the record case.
    pub(crate) record_pairs: usize,
    /// How long each round of the record case sends.
    pub(crate) record_round: Duration,
    /// Round pairs (baseline, protocol) per protocol in the protocols case.
    pub(crate) protocol_pairs: usize,
    /// How long each round of the protocols case drives its server.
    pub(crate) protocol_round: Duration,
    /// How long each side of the record case is driven, unmeasured, first.
    pub(crate) record_warmup: Duration,
    /// Pause between cases, so one case's teardown (thousands of sockets
    /// closing, a large process exiting) does not land in the next.
    pub(crate) cooldown: Duration,
}

impl Settings {
    /// The real benchmark: the sizes of issue 3, a few minutes in all.
    pub(crate) fn full() -> Self {
        Self {
            quick: false,
            throughput_connections: 64,
            throughput_duration: Duration::from_secs(4),
            throughput_rounds: 3,
            timer_connections: 1000,
            timer_warmup: Duration::from_millis(1000),
            timer_measure: Duration::from_secs(10),
            memory_connections: 1000,
            memory_duration: Duration::from_secs(20),
            ks_min_n: 10_000,
            ks_rate: 1000.0,
            ks_cap_ms: None,
            hold_connections: 10_000,
            hold_quiet: Duration::from_millis(500),
            spawn_repeats: 11,
            record_pairs: 7,
            record_round: Duration::from_millis(2500),
            protocol_pairs: 5,
            protocol_round: Duration::from_secs(2),
            record_warmup: Duration::from_millis(500),
            cooldown: Duration::from_secs(2),
        }
    }

    /// Every figure, tiny counts: a smoke test, not a measurement.
    pub(crate) fn quick() -> Self {
        Self {
            quick: true,
            throughput_connections: 16,
            throughput_duration: Duration::from_millis(200),
            throughput_rounds: 1,
            timer_connections: 100,
            timer_warmup: Duration::from_millis(200),
            timer_measure: Duration::from_millis(200),
            memory_connections: 50,
            memory_duration: Duration::from_secs(1),
            ks_min_n: 10,
            ks_rate: 1000.0,
            ks_cap_ms: Some(600.0),
            hold_connections: 200,
            hold_quiet: Duration::from_millis(100),
            spawn_repeats: 1,
            record_pairs: 1,
            record_round: Duration::from_millis(200),
            protocol_pairs: 1,
            protocol_round: Duration::from_millis(200),
            record_warmup: Duration::from_millis(50),
            cooldown: Duration::ZERO,
        }
    }
}

/// The shared context of one run.
#[derive(Debug)]
pub(crate) struct Bench {
    pub(crate) settings: Settings,
    pub(crate) scratch: Scratch,
    pub(crate) server_cpu: Option<usize>,
    pub(crate) client_cpu: Option<usize>,
    pub(crate) seed: u64,
    pub(crate) use_wrk: bool,
    pub(crate) report: Report,
}

impl Bench {
    fn launch(&self, args: Vec<String>, env: Vec<(String, String)>, log: &str) -> Launch {
        Launch {
            args,
            env,
            cpu: self.server_cpu,
            log: self.scratch.path().join(log),
        }
    }

    /// Starts the bare axum baseline, answering after `sleep_ms`.
    pub(crate) async fn baseline(
        &self,
        sleep_ms: u64,
        listeners: usize,
    ) -> Result<Server, BenchError> {
        let args = vec![
            "bench-baseline-server".to_owned(),
            format!("--sleep-ms={sleep_ms}"),
            format!("--listeners={listeners}"),
        ];
        Server::start(&self.launch(args, Vec::new(), "baseline.log")).await
    }

    /// Starts `mockdet` with one profile (written to a file) on port 0.
    pub(crate) async fn mockdet(&self, profile: &DetectorProfile) -> Result<Server, BenchError> {
        let file = self
            .scratch
            .write(&format!("{}.toml", profile.name), &profile.to_toml())?;
        let args = vec![
            "--profile-file".to_owned(),
            file.display().to_string(),
            "--port=0".to_owned(),
            format!("--seed={}", self.seed),
        ];
        let log = format!("mockdet-{}.log", profile.name);
        Server::start(&self.launch(args, Vec::new(), &log)).await
    }

    /// Starts `mockdet` with all five built-ins, each moved to port 0.
    pub(crate) async fn mockdet_builtins(&self, replay: Replay) -> Result<Server, BenchError> {
        let env = mockdet::profile::BUILTIN_NAMES
            .iter()
            .map(|name| {
                (
                    format!("MOCKDET_{}_PORT", name.to_uppercase()),
                    "0".to_owned(),
                )
            })
            .collect();
        let args = vec![
            format!("--seed={}", self.seed),
            format!("--replay={replay}"),
        ];
        let log = format!("mockdet-builtins-{replay}.log");
        Server::start(&self.launch(args, env, &log)).await
    }

    /// Starts `mockdet record` (its recording proxy, listener `record`) on
    /// an ephemeral port in front of `upstream`, pinned with the servers.
    /// It is killed, not stopped, so it never writes its recording.
    pub(crate) async fn record_proxy(&self, upstream: SocketAddr) -> Result<Server, BenchError> {
        let args = record_args(upstream, &self.scratch.path().join("record"));
        Server::start(&self.launch(args, Vec::new(), "record.log")).await
    }
}

/// The command line of `mockdet record` proxying to `upstream` from an
/// ephemeral port on 127.0.0.1, writing (if ever stopped gracefully) to
/// `out`.
fn record_args(upstream: SocketAddr, out: &Path) -> Vec<String> {
    vec![
        "record".to_owned(),
        format!("--upstream=http://{upstream}"),
        "--listen=127.0.0.1:0".to_owned(),
        format!("--out={}", out.display()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detect_body_is_realistic_and_about_300_bytes_of_content() {
        assert!((280..=320).contains(&CONTENT.len()), "{}", CONTENT.len());
        let body: serde_json::Value = serde_json::from_str(&detect_body()).unwrap();
        assert_eq!(body["content"], CONTENT);
    }

    #[test]
    fn the_proxy_command_line_is_one_mockdet_record_accepts() {
        #[derive(clap::Parser)]
        struct Record {
            #[command(flatten)]
            args: mockdet_fit::cli::RecordArgs,
        }
        let upstream: SocketAddr = "127.0.0.1:41000".parse().unwrap();
        let argv = record_args(upstream, Path::new("/tmp/x/record"));
        assert_eq!(argv[0], "record");
        let parsed = <Record as clap::Parser>::try_parse_from(&argv)
            .unwrap()
            .args;
        assert_eq!(parsed.upstream, "http://127.0.0.1:41000");
        assert_eq!(parsed.listen, "127.0.0.1:0".parse().unwrap());
        assert_eq!(parsed.out, Path::new("/tmp/x/record"));
        assert_eq!(parsed.duration, None);
    }

    #[test]
    fn fixed_profiles_validate() {
        let profile = fixed_profile("fixed200", 200.0).unwrap();
        assert_eq!(profile.port, 0);
        profile.validate().unwrap();
    }
}
