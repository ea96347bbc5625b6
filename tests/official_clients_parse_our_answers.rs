//! The official client SDKs — OpenAI's `openai`, Microsoft's
//! `azure-ai-contentsafety` and LiteLLM's generic guardrail — run against
//! mockdet's wires on loopback: they must parse every answer, and see
//! injected faults the way their own retry and error handling expects.
//!
//! The clients are Python scripts in `tests/clients/`, one phase per run;
//! this test injects each phase's faults through the fleet, runs the phase
//! and reads the detector's journal to see what reached the wire. The SDKs
//! are pinned in `tests/clients/requirements.txt` and installed into
//! `${XDG_CACHE_HOME:-$HOME/.cache}/mockdet/clients` by
//! `scripts/clients-setup.sh`, which `scripts/test.sh` runs first;
//! `MOCKDET_CLIENTS_PYTHON` names another Python that has them. Without
//! them these tests fail, saying so: they are never skipped.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::clients::{clients_python, loopback_only};
use common::fleet_of;
use mockdet::profile::{FaultKind, FaultSpec};
use mockdet::{DetectorHandle, DetectorProfile, Fleet};
use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// How long one phase may take: LiteLLM alone takes seconds to import, and
/// the retry phases wait out a one-second `Retry-After`.
const PHASE_TIMEOUT: Duration = Duration::from_secs(120);

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// The version `requirements.txt` pins `package` to.
fn pinned(package: &str) -> String {
    let path = clients_dir().join("requirements.txt");
    let text = std::fs::read_to_string(&path).expect("tests/clients/requirements.txt is readable");
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{package}==")))
        .unwrap_or_else(|| panic!("{} pins no {package}", path.display()))
        .trim()
        .to_owned()
}

/// A detector that finds everything its rules can (PII, secrets,
/// injection, toxicity, threats), answering at once. Not named `clients`:
/// `MOCKDET_CLIENTS_PYTHON` would then be read as its profile's `python`.
async fn fleet() -> Fleet {
    let profile = DetectorProfile::from_toml_str(
        "name = \"sdk\"\ndetector_id = \"sdk\"\nport = 0\n\
         capabilities = [\"deep_analysis\"]\n\
         [latency]\nmodel = \"fixed\"\nms = 0.0\n",
    )
    .expect("the profile is valid");
    fleet_of(profile).await
}

fn http_error(status: u16) -> FaultSpec {
    FaultSpec {
        status: Some(status),
        ..FaultSpec::new(FaultKind::HttpError, 1.0)
    }
}

/// Runs `script` for one `phase` against `url` and returns its JSON summary
/// line; panics, with the script's output, if it fails or overruns.
async fn run_phase(script: &str, url: &str, phase: &str) -> Value {
    let python = clients_python();
    assert!(
        python.is_file(),
        "no Python with the official client SDKs at {}: run scripts/test.sh, which installs \
         tests/clients/requirements.txt into ~/.cache/mockdet/clients (scripts/clients-setup.sh \
         does just that step), or set MOCKDET_CLIENTS_PYTHON to a Python that has them",
        python.display()
    );
    let mut command = Command::new(&python);
    command
        .arg(clients_dir().join(script))
        .args([url, phase])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Loopback only, straight to the detector, whatever the SDKs' own
    // settings in the environment say.
    loopback_only(command.as_std_mut());
    for name in ["OPENAI_BASE_URL", "GENERIC_GUARDRAIL_API_BASE"] {
        command.env_remove(name);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("{} does not start: {e}", python.display()));
    let read_all = |pipe: Option<Box<dyn tokio::io::AsyncRead + Send + Unpin>>| {
        tokio::spawn(async move {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes).await;
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = read_all(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = read_all(child.stderr.take().map(|p| Box::new(p) as _));
    let status = match tokio::time::timeout(PHASE_TIMEOUT, child.wait()).await {
        Ok(status) => Some(status.expect("the script is waited for")),
        Err(_) => {
            let _ = child.kill().await;
            None
        }
    };
    // The pipes close when the script is gone; bounded all the same.
    let drain = |reader: tokio::task::JoinHandle<String>| async move {
        match tokio::time::timeout(Duration::from_secs(10), reader).await {
            Ok(text) => text.expect("the pipe reader does not panic"),
            Err(_) => "(still open 10 s after the script ended)".to_owned(),
        }
    };
    let (stdout, stderr) = (drain(stdout).await, drain(stderr).await);
    let run = format!("{script} {phase}");
    let Some(status) = status else {
        panic!(
            "{run} did not finish in {PHASE_TIMEOUT:?} and was killed\n\
             --- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
        );
    };
    assert!(
        status.success(),
        "{run} failed ({status})\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    );
    let line = stdout.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
    let summary: Value = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!("{run}: the last line is no JSON summary ({e})\n--- stdout ---\n{stdout}")
    });
    assert_eq!(summary["phase"], phase, "{run}: {summary}");
    println!("{run}: {summary}");
    summary
}

/// What the journal says about the requests after `mark`: `(protocol,
/// status, fault)` each.
fn journal_since(handle: &DetectorHandle, mark: u64) -> Vec<(String, Option<u16>, Option<String>)> {
    handle
        .journal_since(mark)
        .into_iter()
        .map(|e| (e.protocol, e.status, e.fault))
        .collect()
}

/// The last sequence number journaled, to read forward from.
fn mark(handle: &DetectorHandle) -> u64 {
    handle.journal_tail(1).first().map_or(0, |e| e.seq)
}

fn entries(
    protocol: &str,
    shape: &[(u16, Option<&str>)],
) -> Vec<(String, Option<u16>, Option<String>)> {
    shape
        .iter()
        .map(|(status, fault)| (protocol.to_owned(), Some(*status), fault.map(str::to_owned)))
        .collect()
}

/// Runs `phase` after injecting `faults` (a `fail_next` count and status, if
/// any) and checks the journal shows exactly `expected`.
async fn phase(
    handle: &DetectorHandle,
    script: &str,
    phase: &str,
    faults: Option<(u32, u16)>,
    expected: Vec<(String, Option<u16>, Option<String>)>,
) -> Value {
    let from = mark(handle);
    if let Some((count, status)) = faults {
        handle
            .fail_next(count, http_error(status))
            .expect("next-N faults are accepted");
    }
    let summary = run_phase(script, handle.url(), phase).await;
    assert_eq!(
        journal_since(handle, from),
        expected,
        "{script} {phase}: what reached the detector ({summary})"
    );
    summary
}

#[tokio::test]
async fn the_openai_sdk_parses_moderations_strictly_and_handles_rate_limits_and_server_errors() {
    let fleet = fleet().await;
    let handle = fleet.detector("sdk");
    let script = "openai_moderations.py";
    let ok = (200, None);
    let injected = |status| (status, Some("http_error"));

    // Four calls, leniently then strictly parsed.
    let parsed = phase(&handle, script, "parse", None, entries("openai", &[ok; 8])).await;
    assert_eq!(parsed["version"], pinned("openai").as_str(), "{parsed}");

    // The SDK's own retry: the 429, then the answer.
    let retried = phase(
        &handle,
        script,
        "retried",
        Some((1, 429)),
        entries("openai", &[injected(429), ok]),
    )
    .await;
    assert_eq!(retried["retries_taken"], 1, "{retried}");

    phase(
        &handle,
        script,
        "rate-limited",
        Some((1, 429)),
        entries("openai", &[injected(429)]),
    )
    .await;
    phase(
        &handle,
        script,
        "server-error",
        Some((1, 500)),
        entries("openai", &[injected(500)]),
    )
    .await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn the_azure_sdk_parses_text_analysis_and_retries_a_busy_service_once() {
    let fleet = fleet().await;
    let handle = fleet.detector("sdk");
    let script = "azure_content_safety.py";

    // Four analyses, then 10,001 characters refused.
    let analysed = phase(
        &handle,
        script,
        "analyze",
        None,
        entries(
            "azure",
            &[
                (200, None),
                (200, None),
                (200, None),
                (200, None),
                (400, None),
            ],
        ),
    )
    .await;
    assert_eq!(
        analysed["version"],
        pinned("azure-ai-contentsafety").as_str(),
        "{analysed}"
    );

    phase(
        &handle,
        script,
        "busy",
        Some((1, 503)),
        entries("azure", &[(503, Some("http_error"))]),
    )
    .await;
    // The SDK retries a POST on 503: two attempts, the second answered.
    phase(
        &handle,
        script,
        "retried",
        Some((1, 503)),
        entries("azure", &[(503, Some("http_error")), (200, None)]),
    )
    .await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn litellms_generic_guardrail_passes_masks_and_blocks_on_our_verdicts() {
    let fleet = fleet().await;
    let handle = fleet.detector("sdk");
    let script = "litellm_guardrail.py";

    let verdicts = phase(
        &handle,
        script,
        "guardrail",
        None,
        entries("litellm", &[(200, None); 3]),
    )
    .await;
    assert_eq!(
        verdicts["version"],
        pinned("litellm").as_str(),
        "{verdicts}"
    );

    // LiteLLM never retries an HTTP status: one attempt, and it fails closed.
    phase(
        &handle,
        script,
        "unavailable",
        Some((1, 503)),
        entries("litellm", &[(503, Some("http_error"))]),
    )
    .await;
    fleet.shutdown().await;
}
