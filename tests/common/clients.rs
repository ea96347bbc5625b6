//! What the tests that run Python tools (the official client SDKs,
//! schemathesis) share: where the venv `scripts/clients-setup.sh` builds
//! is, and how a child process is kept to loopback.

use std::path::PathBuf;
use std::process::Command;

/// The Python of the clients venv: `MOCKDET_CLIENTS_PYTHON`, else
/// `${XDG_CACHE_HOME:-$HOME/.cache}/mockdet/clients/bin/python` (the same
/// rule as `scripts/clients-setup.sh`: `XDG_CACHE_HOME` only when absolute).
pub fn clients_python() -> PathBuf {
    if let Some(python) = std::env::var_os("MOCKDET_CLIENTS_PYTHON") {
        return PathBuf::from(python);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .expect("HOME or an absolute XDG_CACHE_HOME is set");
    cache.join("mockdet/clients/bin/python")
}

/// Sends a Python child's traffic straight to the servers on loopback (no
/// proxy) and keeps the caller's Python settings out of it.
pub fn loopback_only(command: &mut Command) {
    command
        .env("NO_PROXY", "*")
        .env("no_proxy", "*")
        .env("PYTHONUNBUFFERED", "1");
    for name in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "PYTHONPATH",
        "PYTHONHOME",
    ] {
        command.env_remove(name);
    }
}
