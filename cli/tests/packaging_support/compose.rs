//! docker-compose.test.yml as the compose tool resolves it, and readers
//! for the parts of a service the tests check (compose v1 and v2 print
//! ports and volumes in different syntaxes; both are read).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::{DOCKER_COMPOSE, find, root, run, yaml};

/// The compose file under test.
pub const COMPOSE_FILE: &str = "docker-compose.test.yml";

/// `docker-compose -f docker-compose.test.yml [-f extra] --profile ... config`,
/// with `env` added to a scrubbed environment, parsed.
pub fn resolve(extra_files: &[&str], env: &[(&str, &str)]) -> Value {
    let tool = find(DOCKER_COMPOSE);
    let mut command = Command::new(&tool);
    command.current_dir(root()).args(["-f", COMPOSE_FILE]);
    for file in extra_files {
        command.args(["-f", file]);
    }
    command.args([
        "--profile",
        "test",
        "--profile",
        "load",
        "--profile",
        "perf",
        "config",
    ]);
    // The caller's variables would change the defaults under test.
    for var in [
        "MOCKDET_ADMIN_TOKEN",
        "MOCKDET_SEED",
        "MOCKDET_PUBLISH_ADDR",
        "ORCHESTRATION_IMAGE",
        "ORCHESTRATION_COMMAND",
        "PERF_USER",
        "PERF_TEST_TYPE",
        "PERF_DURATION_SCALE",
        "K6_TEST_TYPE",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    let (ok, stdout, stderr) = run(&mut command, Duration::from_secs(60));
    assert!(
        ok,
        "`{} -f {COMPOSE_FILE} {} config` failed:\n{stderr}{stdout}",
        tool.display(),
        extra_files
            .iter()
            .map(|f| format!("-f {f}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    yaml(&stdout, "docker-compose config's output")
}

pub fn service<'a>(config: &'a Value, name: &str) -> &'a Value {
    let services = config["services"].as_object().expect("a services map");
    services.get(name).unwrap_or_else(|| {
        panic!(
            "no service `{name}`; there are {:?}",
            services.keys().collect::<Vec<_>>()
        )
    })
}

/// A service's command as words (compose v1 keeps a string command as a
/// string; a list stays a list).
pub fn command_words(service: &Value) -> Vec<String> {
    match &service["command"] {
        Value::String(s) => s.split_whitespace().map(str::to_owned).collect(),
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        other => panic!("unexpected command {other}"),
    }
}

/// Published (host, container) ports, from either compose's short or long
/// syntax.
pub fn published_ports(service: &Value) -> BTreeSet<(String, u16, u16)> {
    let ports = service["ports"].as_array().cloned().unwrap_or_default();
    ports
        .iter()
        .map(|port| match port {
            Value::String(s) => {
                let s = s.trim_end_matches("/tcp");
                let parts: Vec<&str> = s.split(':').collect();
                let [ip, host, container] = parts[..] else {
                    panic!("expected IP:HOST:CONTAINER, got `{s}`")
                };
                (
                    ip.to_owned(),
                    host.parse().expect("a host port"),
                    container.parse().expect("a container port"),
                )
            }
            Value::Object(o) => (
                o.get("host_ip")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                number(&o["published"]),
                number(&o["target"]),
            ),
            other => panic!("unexpected port {other}"),
        })
        .collect()
}

pub fn number(value: &Value) -> u16 {
    match value {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .expect("a port"),
        Value::String(s) => s.parse().expect("a port"),
        other => panic!("not a port: {other}"),
    }
}

/// (source, target, read_only) of each bind mount, short or long syntax.
pub fn bind_mounts(service: &Value) -> Vec<(PathBuf, String, bool)> {
    service["volumes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|volume| match volume {
            Value::String(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                let source = parts[0];
                (source.starts_with('/') || source.starts_with('.')).then(|| {
                    (
                        root().join(source),
                        parts.get(1).copied().unwrap_or_default().to_owned(),
                        parts
                            .get(2)
                            .is_some_and(|m| m.split(',').any(|f| f == "ro")),
                    )
                })
            }
            Value::Object(o) => {
                (o.get("type").and_then(Value::as_str) == Some("bind")).then(|| {
                    (
                        root().join(o["source"].as_str().expect("a bind source")),
                        o["target"].as_str().unwrap_or_default().to_owned(),
                        o.get("read_only").and_then(Value::as_bool).unwrap_or(false),
                    )
                })
            }
            _ => None,
        })
        .collect()
}
