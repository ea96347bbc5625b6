//! The Dockerfile, checked without a Docker engine: hadolint, the shape the
//! issue asks for (multi-stage, cached dependencies, non-root slim runtime,
//! health check, OCI labels), the build context checked against the
//! workspace's members and what they embed, and the health check and script
//! export run for real with the binary the image would carry.

mod packaging_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use packaging_support::dockerfile::{
    all, copy_sources, covered, stage_named, stages, workspace_members,
};
use packaging_support::{HADOLINT, MockdetProcess, TempDir, find, read, root, run};

#[test]
fn the_dockerfile_passes_hadolint_without_a_single_finding() {
    let hadolint = find(HADOLINT);
    let (ok, stdout, stderr) = run(
        Command::new(&hadolint)
            .args(["--no-color", "Dockerfile"])
            .current_dir(root()),
        Duration::from_secs(60),
    );
    assert!(
        ok && stdout.trim().is_empty(),
        "hadolint ({}) found problems in the Dockerfile:\n{stdout}{stderr}",
        hadolint.display()
    );
}

#[test]
fn the_default_image_is_a_slim_non_root_runtime_with_the_entrypoint_ports_and_labels_asked_for() {
    let stages = stages();
    assert!(stages.len() >= 2, "the Dockerfile must be multi-stage");
    let runtime = stages.last().expect("a last stage");
    let from = &runtime[0].args;
    assert!(
        from.contains("-slim") && !from.starts_with("rust"),
        "the default (last) stage must be a slim runtime, not a toolchain: FROM {from}"
    );
    let user = all(runtime, "USER");
    let user = user.last().expect("the runtime stage sets USER");
    let uid = user.split(':').next().unwrap_or_default();
    assert!(
        uid.parse::<u32>().is_ok_and(|uid| uid != 0),
        "the runtime must run as a numeric non-root user, got USER {user}"
    );
    assert_eq!(
        all(runtime, "ENTRYPOINT"),
        vec![r#"["mockdet"]"#.to_owned()]
    );
    assert!(
        all(runtime, "ENV")
            .iter()
            .any(|e| e.split_whitespace().any(|kv| kv == "MOCKDET_BIND=0.0.0.0")),
        "the runtime must set MOCKDET_BIND=0.0.0.0"
    );
    assert_eq!(all(runtime, "EXPOSE"), vec!["8000-8005".to_owned()]);
    let healthcheck = all(runtime, "HEALTHCHECK").join(" ");
    assert!(
        healthcheck.contains("mockdet healthcheck"),
        "HEALTHCHECK must use `mockdet healthcheck`: {healthcheck}"
    );
    let labels = all(runtime, "LABEL").join(" ");
    for key in [
        "title",
        "description",
        "version",
        "revision",
        "licenses",
        "created",
    ] {
        assert!(
            labels.contains(&format!("org.opencontainers.image.{key}=")),
            "missing OCI label org.opencontainers.image.{key} in: {labels}"
        );
    }
    let everything = runtime
        .iter()
        .map(|i| i.args.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for tool in ["curl", "wget", "apt-get install"] {
        assert!(
            !everything.contains(tool),
            "the runtime stage must not need `{tool}`"
        );
    }
}

#[test]
fn the_builder_compiles_the_dependencies_before_it_copies_the_sources() {
    let builder = stage_named("builder");
    let first_build = builder
        .iter()
        .position(|i| i.keyword == "RUN" && i.args.contains("cargo build"))
        .expect("the builder runs cargo build");
    let copied_before = copy_sources(&builder[..first_build]);
    let manifests_only = copied_before
        .iter()
        .all(|source| source == "Cargo.lock" || source.rsplit('/').next() == Some("Cargo.toml"));
    assert!(
        manifests_only,
        "only manifests and the lock file may be copied before the dependency build \
         (so that layer survives source edits), got {copied_before:?}"
    );
    let mut wanted = vec!["Cargo.lock".to_owned()];
    wanted.extend(workspace_members().iter().map(|m| m.path("Cargo.toml")));
    for manifest in &wanted {
        assert!(
            copied_before.contains(manifest),
            "the dependency layer needs `{manifest}` (cargo loads every workspace member), \
             but the builder copies only {copied_before:?} before its first build"
        );
    }

    let builds: Vec<&str> = builder
        .iter()
        .filter(|i| i.keyword == "RUN" && i.args.contains("cargo build"))
        .map(|i| i.args.as_str())
        .collect();
    assert_eq!(
        builds.len(),
        2,
        "a dependency build, then the real one: {builds:#?}"
    );
    for build in &builds {
        assert!(
            build.contains("cargo build --release --locked -p mockdet-cli --bin mockdet"),
            "both builds must be `cargo build --release --locked -p mockdet-cli --bin mockdet` \
             (the same command, so the second reuses the first's artifacts): {build}"
        );
    }
    // Each member needs a target for cargo to load the workspace: the stub
    // stands in for it in the first build, and is touched (so it is older
    // than nothing) before the second.
    for member in workspace_members() {
        for (which, build) in ["dependency", "real"].iter().zip(&builds) {
            assert!(
                build.contains(&member.stub),
                "the {which} build's RUN must stub or touch `{}` (the target of workspace \
                 member `{}`): {build}",
                member.stub,
                if member.dir.is_empty() {
                    "."
                } else {
                    &member.dir
                }
            );
        }
    }
}

/// The repository paths the build needs: the manifests and lock file,
/// every member's src/, and every file an `include_str!`/`include_bytes!`
/// in a member's sources reaches for.
fn needed_paths() -> BTreeSet<String> {
    let mut needed: BTreeSet<String> = ["Cargo.toml".to_owned(), "Cargo.lock".to_owned()].into();
    let pattern =
        regex::Regex::new(r#"include_(?:str|bytes)!\(\s*"([^"]+)"\s*\)"#).expect("static regex");
    let root = normalize(&root());
    for member in workspace_members() {
        needed.insert(member.path("Cargo.toml"));
        needed.insert(member.path("src"));
        let mut files = Vec::new();
        collect_rust_files(&root.join(member.path("src")), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for capture in pattern.captures_iter(&text) {
                let target = normalize(
                    &file
                        .parent()
                        .expect("a file has a parent")
                        .join(&capture[1]),
                );
                let relative = target.strip_prefix(&root).unwrap_or_else(|_| {
                    panic!(
                        "{} embeds {} outside the repository",
                        file.display(),
                        &capture[1]
                    )
                });
                needed.insert(relative.to_string_lossy().into_owned());
            }
        }
    }
    needed
}

fn collect_rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Resolves `..` without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Whether `.dockerignore` lets the top-level entry `name` into the build
/// context: the last matching pattern wins, `!` re-includes. Only the
/// patterns this repository uses are understood (`*`, a name, a name/).
fn dockerignore_admits(name: &str) -> bool {
    let mut admitted = true;
    for line in read(".dockerignore").lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (negated, pattern) = match line.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let pattern = pattern.trim_start_matches('/').trim_end_matches('/');
        assert!(
            pattern == "*" || !pattern.contains(['*', '?', '[']),
            "this test understands `*` and plain names in .dockerignore, not `{line}`"
        );
        if pattern == "*" || pattern == name {
            admitted = negated;
        }
    }
    admitted
}

#[test]
fn every_member_and_every_path_they_embed_is_copied_into_the_builder_and_admitted_by_dockerignore()
{
    let builder = stage_named("builder");
    let copied = copy_sources(&builder);
    for needed in needed_paths() {
        assert!(
            covered(&copied, &needed),
            "the build needs `{needed}`, but the builder stage does not COPY it \
             (copies: {copied:?})"
        );
        let top = needed.split('/').next().expect("a non-empty path");
        assert!(
            dockerignore_admits(top),
            "`{needed}` is needed by the build but .dockerignore keeps `{top}` out of the context"
        );
    }
    for heavy in ["target", ".git", "perf-results"] {
        assert!(
            !dockerignore_admits(heavy),
            ".dockerignore must keep `{heavy}` out of the build context"
        );
    }
}

/// The HEALTHCHECK's exec-form command, as JSON.
fn healthcheck_command() -> Vec<String> {
    let stages = stages();
    let runtime = stages.last().expect("a last stage");
    let healthcheck = all(runtime, "HEALTHCHECK").join(" ");
    let json = &healthcheck[healthcheck
        .find("CMD")
        .map(|i| i + 3)
        .expect("HEALTHCHECK ... CMD")..];
    serde_json::from_str(json.trim())
        .unwrap_or_else(|e| panic!("HEALTHCHECK CMD is not exec (JSON) form ({e}): {json}"))
}

/// A PATH on which `mockdet` is the binary under test, as in the image.
fn path_with_mockdet() -> String {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_mockdet"))
        .parent()
        .expect("the binary has a directory")
        .to_owned();
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(&path)))
        .expect("PATH entries are joinable")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn the_image_healthcheck_passes_against_a_live_detector_and_fails_against_a_closed_port() {
    let dir = TempDir::new("mockdet-healthcheck");
    let detector = MockdetProcess::spawn(&["--profile", "success", "--port", "0"], dir.path());
    let url = detector.url("success");

    let command = healthcheck_command();
    let check = |target: &str| {
        run(
            Command::new(&command[0])
                .args(&command[1..])
                .env("PATH", path_with_mockdet())
                .env("MOCKDET_HEALTHCHECK_URL", target),
            Duration::from_secs(20),
        )
    };
    let (ok, stdout, stderr) = check(&format!("{url}/health"));
    assert!(
        ok,
        "the HEALTHCHECK {command:?} failed on a live detector:\n{stdout}{stderr}"
    );

    let closed = format!("http://127.0.0.1:{}/health", packaging_support::free_port());
    let (ok, _, _) = check(&closed);
    assert!(
        !ok,
        "the HEALTHCHECK {command:?} passed against a closed port ({closed})"
    );
}

#[test]
fn the_image_carries_the_load_scripts_exported_in_the_seed_layout() {
    let builder = stage_named("builder");
    let export = all(&builder, "RUN")
        .into_iter()
        .find(|r| r.contains("perf export-scripts"))
        .expect("the builder runs `mockdet perf export-scripts`");
    let dir = export
        .split("perf export-scripts")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("export-scripts DIR")
        .to_owned();
    let in_image = dir
        .strip_prefix("/out")
        .expect("exported under /out, which is copied to /");
    for stage in [stage_named("runtime"), stage_named("perf")] {
        assert!(
            all(&stage, "COPY")
                .iter()
                .any(|c| c == "--from=builder /out/ /"),
            "stage {} must COPY --from=builder /out/ / (binary and scripts)",
            stage[0].args
        );
    }

    let scratch = TempDir::new("mockdet-export");
    let (ok, stdout, stderr) = run(
        Command::new(env!("CARGO_BIN_EXE_mockdet"))
            .args(["perf", "export-scripts"])
            .arg(scratch.path()),
        Duration::from_secs(30),
    );
    assert!(ok, "mockdet perf export-scripts failed:\n{stdout}{stderr}");
    for file in [
        "k6/orchestration_load.js",
        "perf/locustfile_orchestration.py",
    ] {
        assert!(
            scratch.path().join(file).is_file(),
            "export-scripts wrote no {file} (in the image: {in_image}/{file})"
        );
    }
    let readme = read("README.md");
    assert!(
        readme.contains(&format!("{in_image}/k6/orchestration_load.js")),
        "README.md's Docker section should say where the image keeps the scripts ({in_image})"
    );
}
