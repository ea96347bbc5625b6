//! `mockdet` (run detectors), `mockdet profiles` and `mockdet healthcheck`.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::cli::{FleetArgs, ProfilesAction, ReplayArgs};
use crate::error::{CliError, runtime};
use mockdet::DetectorProfile;
use mockdet::profile::BUILTIN_NAMES;
use mockdet::{Fleet, JournalEntry};

/// The `--profile-file`s, parsed; two that claim one name are refused
/// (naming both files) rather than one silently winning.
fn profile_files(args: &FleetArgs) -> Result<Vec<DetectorProfile>, CliError> {
    let files = args
        .profile_files
        .iter()
        .map(DetectorProfile::from_path)
        .collect::<Result<Vec<_>, _>>()?;
    for (i, profile) in files.iter().enumerate() {
        if let Some(first) = files[..i].iter().find(|p| p.name == profile.name) {
            return Err(CliError::DuplicateProfile {
                name: profile.name.clone(),
                first: first.origin(),
                second: profile.origin(),
            });
        }
    }
    Ok(files)
}

/// Resolves which profiles the arguments select, in order. Their values are
/// checked once, when the fleet starts.
fn selected_profiles(args: &FleetArgs) -> Result<Vec<DetectorProfile>, CliError> {
    let files = profile_files(args)?;
    if args.profiles.is_empty() {
        if !files.is_empty() {
            return Ok(files);
        }
        return Ok(DetectorProfile::builtins()?);
    }
    args.profiles
        .iter()
        .map(|name| match files.iter().find(|p| &p.name == name) {
            Some(profile) => Ok(profile.clone()),
            None => DetectorProfile::builtin(name).map_err(|source| CliError::UnknownProfile {
                source,
                loaded: files.iter().map(|p| p.name.clone()).collect(),
            }),
        })
        .collect()
}

/// `mockdet replay`: the fleet, serving the journals' outcomes again.
/// Without `--profile`, the detectors the journals name are run.
pub(crate) fn replay(args: &ReplayArgs) -> Result<(), CliError> {
    let mut journal = Vec::new();
    for path in &args.journal {
        journal.extend(read_journal(path)?);
    }
    let mut fleet = args.fleet.clone();
    if fleet.profiles.is_empty() {
        for entry in &journal {
            if !entry.detector.is_empty() && !fleet.profiles.contains(&entry.detector) {
                fleet.profiles.push(entry.detector.clone());
            }
        }
    }
    let recorded = journal.len();
    tracing::info!(
        recorded,
        files = args.journal.len(),
        "replaying journal entries"
    );
    run_fleet(&fleet, journal)
}

/// One `--journal` file: NDJSON, or the JSON object of `GET /admin/requests`.
fn read_journal(path: &std::path::Path) -> Result<Vec<JournalEntry>, CliError> {
    let failed = |reason: String| CliError::Journal {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
    if let Ok(Value::Object(mut listing)) = serde_json::from_str::<Value>(&text) {
        if let Some(requests) = listing.remove("requests") {
            return serde_json::from_value(requests)
                .map_err(|e| failed(format!("`requests`: {e}")));
        }
    }
    let entries = JournalEntry::parse_ndjson(&text).map_err(failed)?;
    if entries.is_empty() {
        return Err(failed("holds no journal entries".to_owned()));
    }
    Ok(entries)
}

/// Runs the fleet until SIGINT/SIGTERM, serving `journal`'s outcomes again
/// (when not empty).
pub(crate) fn run_fleet(args: &FleetArgs, journal: Vec<JournalEntry>) -> Result<(), CliError> {
    let profiles = selected_profiles(args)?;
    if args.port.is_some() && profiles.len() != 1 {
        return Err(CliError::PortNeedsOneDetector {
            selected: profiles.len(),
        });
    }
    runtime()?.block_on(async {
        let mut builder = Fleet::builder()
            .bind(args.bind)
            .profile_ports(true)
            .drain_timeout(args.drain_timeout)
            .read_timeout(args.read_timeout)
            .allow_overrides(args.allow_overrides)
            .replay_journal(journal);
        if let Some(replay) = args.replay {
            builder = builder.replay(replay);
        }
        if let Some(token) = &args.admin_token {
            builder = builder.admin_token(token.clone());
        }
        if let Some(seed) = args.seed {
            builder = builder.seed(seed);
        }
        if let (Some(port), Some(profile)) = (args.port, profiles.first()) {
            builder = builder.port(&profile.name, port);
        }
        let fleet = profiles
            .into_iter()
            .fold(builder, |b, p| b.profile(p))
            .start()
            .await?;
        let stop = crate::cli::StopSignal::listen();
        print_ready(&fleet);
        stop.received().await;
        tracing::info!(drain = ?args.drain_timeout, "stopping: draining in-flight requests");
        fleet.shutdown().await;
        Ok::<_, CliError>(())
    })
}

/// The one JSON line on stdout that says every listener is bound.
fn print_ready(fleet: &Fleet) {
    let urls: Map<String, Value> = fleet
        .urls()
        .into_iter()
        .map(|(name, url)| (name, Value::String(url)))
        .collect();
    crate::cli::print_json_line(&json!({"ready": urls, "seed": fleet.seed()}));
}

/// `mockdet profiles list|show`.
pub(crate) fn profiles(args: &FleetArgs, action: &ProfilesAction) -> Result<(), CliError> {
    // Nothing starts here, so check the files' values now: a bad one is
    // named (file and field) rather than listed.
    let mut all = profile_files(args)?;
    for profile in &all {
        profile.validate()?;
    }
    for name in BUILTIN_NAMES {
        if !all.iter().any(|p| p.name == name) {
            all.push(DetectorProfile::builtin(name)?);
        }
    }
    match action {
        ProfilesAction::List => {
            for profile in &all {
                println!("{}", summary_line(profile));
            }
        }
        ProfilesAction::Show { name } => {
            let profile =
                all.iter()
                    .find(|p| &p.name == name)
                    .ok_or_else(|| CliError::NoSuchProfile {
                        name: name.clone(),
                        known: all.iter().map(|p| p.name.clone()).collect(),
                    })?;
            print!("{}", profile.to_toml());
        }
    }
    Ok(())
}

fn summary_line(profile: &DetectorProfile) -> String {
    let fault_rate: f64 = profile.faults.iter().map(|f| f.probability).sum();
    format!(
        "{:<10} {:<26} port {:<5} success {:>5.1}%  latency {:?}",
        profile.name,
        profile.detector_id,
        profile.port,
        (1.0 - fault_rate) * 100.0,
        profile.latency.model,
    )
}

/// `mockdet healthcheck URL`: 0 when it answers 2xx in time, else 1.
pub(crate) fn healthcheck(url: &str, timeout: Duration) -> ExitCode {
    let url = health_url(url);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("mockdet healthcheck: cannot start tokio: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(CliError::HttpClient)?;
        let response = client
            .get(&url)
            .send()
            .await
            .map_err(CliError::Unreachable)?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(CliError::Unhealthy { status })
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("mockdet healthcheck: {url}: {reason}");
            ExitCode::FAILURE
        }
    }
}

/// Adds `/health` to a URL that has no path.
fn health_url(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    let after_scheme = trimmed.split_once("://").map_or(trimmed, |(_, rest)| rest);
    if after_scheme.contains('/') {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/health")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_url_adds_the_path_only_when_missing() {
        assert_eq!(health_url("http://h:1"), "http://h:1/health");
        assert_eq!(health_url("http://h:1/"), "http://h:1/health");
        assert_eq!(health_url("http://h:1/ready"), "http://h:1/ready");
    }
}
