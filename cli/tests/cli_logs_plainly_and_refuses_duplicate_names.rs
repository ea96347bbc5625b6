//! What `mockdet` writes for a log file, and how it treats two profile files
//! that claim one name.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_mockdet");

/// A fresh directory under the target dir for this test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn profile_file(dir: &Path, file: &str, name: &str, id: &str) -> PathBuf {
    let path = dir.join(file);
    let text = format!(
        "name = \"{name}\"\ndetector_id = \"{id}\"\nport = 0\n[latency]\nmodel = \"fixed\"\nms = 1.0\n"
    );
    std::fs::write(&path, text).expect("writes the profile");
    path
}

#[test]
fn two_profile_files_with_one_name_are_refused_naming_both() {
    let dir = scratch("duplicate-names");
    let a = profile_file(&dir, "a.toml", "dup", "first");
    let b = profile_file(&dir, "b.toml", "dup", "second");
    let run = |extra: &[&str]| {
        Command::new(BIN)
            .arg("--profile-file")
            .arg(&a)
            .arg("--profile-file")
            .arg(&b)
            .args(extra)
            .output()
            .expect("mockdet runs")
    };
    // Serving (the name selects a detector) and listing both refuse.
    for output in [
        run(&["--profile", "dup", "--port", "0"]),
        run(&["profiles", "list"]),
    ] {
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("a.toml") && stderr.contains("b.toml") && stderr.contains("`dup`"),
            "{stderr}"
        );
    }
}

#[test]
fn logs_written_to_a_file_carry_no_colour_codes() {
    // A fleet that cannot bind logs (the random seed at info) and exits.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let port = taken.local_addr().expect("addr").port().to_string();
    let output = Command::new(BIN)
        .args(["--profile", "success", "--port", &port])
        .env("RUST_LOG", "debug")
        .output()
        .expect("mockdet runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.is_empty(), "expected some log output");
    assert!(
        !stderr.contains('\u{1b}'),
        "ANSI escapes in a log file: {stderr:?}"
    );
}
