//! Driving a server with `wrk` (Debian's `wrk` package): one thread, N
//! keep-alive connections, POSTing a fixed body from a generated Lua
//! script. Used for the throughput case because a C client spends far less
//! CPU per request than ours, so the server core — not the client — is what
//! runs out first.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use super::error::BenchError;
use super::process::pin_child;

/// Whether `wrk` can be run.
pub(crate) async fn available() -> bool {
    let probe = Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status();
    // wrk prints its usage and exits 1 for --version; what matters is that
    // it ran at all.
    matches!(
        tokio::time::timeout(Duration::from_secs(5), probe).await,
        Ok(Ok(_))
    )
}

/// `text` as a Lua string literal: a JSON string literal is one for the
/// ASCII bodies used here (the escapes \" \\ \n \t coincide).
fn lua_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// The Lua script that makes every wrk request a JSON POST of `body`.
pub(crate) fn script(body: &str) -> String {
    let quoted = lua_string(body);
    format!(
        "wrk.method = \"POST\"\n\
         wrk.headers[\"Content-Type\"] = \"application/json\"\n\
         wrk.body = {quoted}\n"
    )
}

/// The Lua script that POSTs `count` different bodies in turn: `template`
/// with `placeholder` replaced by 1, 2, … `count`, formatted once in
/// `init` so that each request costs wrk a table lookup.
pub(crate) fn cycling_script(template: &str, placeholder: &str, count: usize) -> String {
    cycling_script_with(template, placeholder, count, &[])
}

/// [`cycling_script`] with more request headers.
pub(crate) fn cycling_script_with(
    template: &str,
    placeholder: &str,
    count: usize,
    headers: &[(&str, &str)],
) -> String {
    let (template, placeholder) = (lua_string(template), lua_string(placeholder));
    let headers: String = headers
        .iter()
        .map(|(name, value)| {
            format!(
                "wrk.headers[{}] = {}\n",
                lua_string(name),
                lua_string(value)
            )
        })
        .collect();
    format!(
        "wrk.method = \"POST\"\n\
         wrk.headers[\"Content-Type\"] = \"application/json\"\n\
         {headers}\
         local template = {template}\n\
         local placeholder = {placeholder}\n\
         local count = {count}\n\
         local requests = {{}}\n\
         local sent = 0\n\
         function init(args)\n\
         \x20 for n = 1, count do\n\
         \x20   local at = string.find(template, placeholder, 1, true)\n\
         \x20   local body = string.sub(template, 1, at - 1) .. n .. string.sub(template, at + #placeholder)\n\
         \x20   requests[n] = wrk.format(nil, nil, nil, body)\n\
         \x20 end\n\
         end\n\
         function request()\n\
         \x20 sent = sent % count + 1\n\
         \x20 return requests[sent]\n\
         end\n"
    )
}

/// One wrk run's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WrkRun {
    pub(crate) requests_per_s: f64,
    /// Socket errors plus non-2xx/3xx answers.
    pub(crate) errors: u64,
}

/// Runs wrk against `http://addr/path` (pinned to `cpu` if given).
pub(crate) async fn run(
    addr: SocketAddr,
    path: &str,
    script: &Path,
    connections: usize,
    duration: Duration,
    cpu: Option<usize>,
) -> Result<WrkRun, BenchError> {
    let seconds = duration.as_secs_f64().ceil().max(1.0) as u64;
    let mut command = Command::new("wrk");
    command
        .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s")])
        .arg("-s")
        .arg(script)
        .arg(format!("http://{addr}{path}"))
        .stdin(Stdio::null())
        .kill_on_drop(true);
    pin_child(&mut command, cpu);
    let limit = Duration::from_secs(seconds + 10);
    let output = tokio::time::timeout(limit, command.output())
        .await
        .map_err(|_| BenchError::WrkOvertime { limit })?
        .map_err(BenchError::WrkStart)?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(BenchError::WrkFailed {
            status: output.status,
            output: text.into_owned(),
        });
    }
    parse(&text).ok_or_else(|| BenchError::WrkOutput {
        output: text.into_owned(),
    })
}

/// Reads `Requests/sec:` and the error lines of wrk's summary.
pub(crate) fn parse(text: &str) -> Option<WrkRun> {
    let requests_per_s = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))?
        .trim()
        .parse()
        .ok()?;
    let mut errors = 0;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            errors += rest
                .split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum::<u64>();
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            errors += rest.trim().parse::<u64>().unwrap_or(0);
        }
    }
    Some(WrkRun {
        requests_per_s,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "Running 5s test @ http://127.0.0.1:39393/detect
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.15ms    2.54ms  17.58ms   73.08%
    Req/Sec    15.58k     1.47k   18.97k    76.00%
  77976 requests in 5.03s, 60.57MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 4
Requests/sec:  15486.91
Transfer/sec:     12.03MB
";

    #[test]
    fn the_summary_gives_rate_and_errors() {
        let run = parse(OUTPUT).unwrap();
        assert_eq!(run.requests_per_s, 15486.91);
        assert_eq!(run.errors, 9);
        assert!(parse("nothing here").is_none());
    }

    #[test]
    fn the_script_quotes_the_body() {
        let s = script(r#"{"content": "a \"b\""}"#);
        assert!(
            s.contains(r#"wrk.body = "{\"content\": \"a \\\"b\\\"\"}""#),
            "{s}"
        );
    }
}
