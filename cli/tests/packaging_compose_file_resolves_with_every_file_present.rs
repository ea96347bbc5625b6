//! docker-compose.test.yml, checked without a Docker engine: the compose
//! tool itself resolves it (`docker-compose config`), every file it mounts
//! or builds from exists, the orchestration service can be swapped, and the
//! reference orchestrator's compose config loads and names the services.

mod packaging_support;

use std::collections::{BTreeMap, BTreeSet};

use packaging_support::compose::{bind_mounts, command_words, published_ports, resolve, service};
use packaging_support::{MockdetProcess, TempDir, root, yaml_file};
use serde_json::Value;

const DETECTORS: [(&str, u16); 5] = [
    ("success", 8001),
    ("variable", 8002),
    ("failing", 8003),
    ("timeout", 8004),
    ("batch", 8005),
];

#[test]
fn the_five_detector_services_run_one_profile_each_on_its_port_with_a_health_check() {
    let config = resolve(&[], &[]);
    for (name, port) in DETECTORS {
        let detector = service(&config, &format!("mock-detector-{name}"));
        assert_eq!(command_words(detector), ["--profile", name]);
        assert_eq!(
            published_ports(detector),
            BTreeSet::from([("127.0.0.1".to_owned(), port, port)]),
            "mock-detector-{name} publishes its profile port on loopback by default"
        );
        let test = detector["healthcheck"]["test"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let test: Vec<&str> = test.iter().filter_map(Value::as_str).collect();
        assert_eq!(
            test,
            [
                "CMD",
                "mockdet",
                "healthcheck",
                &format!("http://127.0.0.1:{port}/health")
            ],
            "mock-detector-{name}'s health check"
        );
        assert_eq!(
            detector["environment"]["MOCKDET_ADMIN_TOKEN"].as_str(),
            Some("mockdet-admin"),
            "the detectors bind 0.0.0.0, so the admin API needs a token (default shown)"
        );
    }
}

#[test]
fn the_orchestrator_monitoring_and_load_tools_are_on_the_seed_ports_and_profiles() {
    let config = resolve(&[], &[]);
    let expected_ports = [
        ("orchestration", 8000),
        ("prometheus", 9090),
        ("grafana", 3000),
        ("locust", 8089),
    ];
    for (name, port) in expected_ports {
        let ports = published_ports(service(&config, name));
        assert!(
            ports
                .iter()
                .any(|(_, host, container)| *host == port && *container == port),
            "{name} should publish {port}, publishes {ports:?}"
        );
    }
    let grafana = service(&config, "grafana");
    assert_eq!(grafana["environment"]["GF_SECURITY_ADMIN_USER"], "admin");
    assert_eq!(
        grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"],
        "admin"
    );
    for (name, profiles) in [
        ("k6", vec!["test", "load"]),
        ("locust", vec!["test", "load"]),
        ("perf", vec!["perf"]),
    ] {
        let got: Vec<&str> = service(&config, name)["profiles"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no profiles: it would start with `up -d`"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(got, profiles, "{name}'s compose profiles");
    }
    let perf = command_words(service(&config, "perf"));
    assert_eq!(perf[0], "perf", "the perf service runs `mockdet perf`");
    assert!(
        perf.windows(2)
            .any(|w| w == ["--target", "http://orchestration:8000"]),
        "the perf service targets the orchestration service: {perf:?}"
    );
    assert!(
        perf.windows(2).any(|w| w == ["--out", "/results"]),
        "the perf service writes to /results: {perf:?}"
    );
}

#[test]
fn every_file_the_compose_stack_builds_from_or_mounts_exists() {
    let config = resolve(&[], &[]);
    let services = config["services"].as_object().expect("a services map");
    let mut mounted = 0;
    for (name, service) in services {
        if let Some(build) = service.get("build") {
            let context = root().join(build["context"].as_str().expect("a build context"));
            assert!(
                context.is_dir(),
                "{name}: build context {} is missing",
                context.display()
            );
            let dockerfile = context.join(build["dockerfile"].as_str().unwrap_or("Dockerfile"));
            assert!(
                dockerfile.is_file(),
                "{name}: {} is missing",
                dockerfile.display()
            );
            if let Some(target) = build.get("target").and_then(Value::as_str) {
                let text = std::fs::read_to_string(&dockerfile).expect("the Dockerfile reads");
                assert!(
                    text.lines()
                        .any(|l| l.trim_end().ends_with(&format!(" AS {target}"))),
                    "{name}: build target `{target}` is not a stage of {}",
                    dockerfile.display()
                );
            }
        }
        for (source, target, read_only) in bind_mounts(service) {
            if read_only {
                assert!(
                    source.exists(),
                    "{name} mounts {} (at {target}), which does not exist",
                    source.display()
                );
                mounted += 1;
            } else {
                // A writable bind mount is an output directory, created by
                // Docker on first use; it must be one we expect.
                assert_eq!(
                    (name.as_str(), target.as_str()),
                    ("perf", "/results"),
                    "unexpected writable mount of {}",
                    source.display()
                );
            }
        }
    }
    assert!(
        mounted >= 6,
        "expected the config, monitoring and script mounts, saw {mounted}"
    );
}

#[test]
fn the_orchestration_service_is_swapped_by_environment_or_by_an_override_file() {
    let default = resolve(&[], &[]);
    let orchestration = service(&default, "orchestration");
    assert_eq!(orchestration["image"], "mockdet:local");
    assert!(
        orchestration.get("build").is_none(),
        "no build on orchestration: a build would overwrite ORCHESTRATION_IMAGE's tag"
    );
    let words = command_words(orchestration);
    assert_eq!(
        words[0], "orchestrator",
        "the reference orchestrator by default: {words:?}"
    );

    let swapped = resolve(
        &[],
        &[
            (
                "ORCHESTRATION_IMAGE",
                "registry.example.com/team/orchestrator:1.2",
            ),
            ("ORCHESTRATION_COMMAND", "serve --port 8000"),
        ],
    );
    let orchestration = service(&swapped, "orchestration");
    assert_eq!(
        orchestration["image"],
        "registry.example.com/team/orchestrator:1.2"
    );
    assert_eq!(command_words(orchestration), ["serve", "--port", "8000"]);

    let overridden = resolve(&["docker/orchestration.override.example.yml"], &[]);
    let orchestration = service(&overridden, "orchestration");
    assert_ne!(
        orchestration["image"], "mockdet:local",
        "the override file swaps the image"
    );
    assert_ne!(command_words(orchestration)[0], "orchestrator");
    assert!(
        orchestration["healthcheck"]["test"].is_array(),
        "the override gives its own health check (the image has no `mockdet healthcheck`)"
    );
}

#[test]
fn the_compose_orchestrator_config_names_the_detector_services_and_loads() {
    let config = resolve(&[], &[]);
    let orchestration = service(&config, "orchestration");
    let words = command_words(orchestration);
    let in_container = words
        .windows(2)
        .find(|w| w[0] == "--config")
        .map(|w| w[1].clone())
        .expect("the orchestrator runs with --config");
    let (local, _, _) = bind_mounts(orchestration)
        .into_iter()
        .find(|(_, target, _)| *target == in_container)
        .unwrap_or_else(|| panic!("nothing is mounted at {in_container}"));
    let relative = local
        .strip_prefix(root())
        .expect("a file of the repository")
        .to_owned();
    let file = yaml_file(relative.to_str().expect("a UTF-8 path"));

    let endpoints: BTreeMap<String, String> = file["detectors"]
        .as_object()
        .expect("a detectors map")
        .iter()
        .map(|(name, d)| {
            (
                name.clone(),
                d["endpoint"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        endpoints.len(),
        DETECTORS.len(),
        "five detectors: {endpoints:?}"
    );
    for (name, port) in DETECTORS {
        let endpoint = &endpoints[name];
        let host = format!("mock-detector-{name}");
        assert_eq!(
            endpoint,
            &format!("http://{host}:{port}/analyze"),
            "{name} must be called at its compose service name and port"
        );
        let depends = &orchestration["depends_on"][&host];
        assert!(!depends.is_null(), "orchestration must depend on {host}");
    }

    // The file really loads: the orchestrator starts with it (on loopback
    // and a free port here; the compose names need not resolve to start).
    let dir = TempDir::new("mockdet-compose-orchestrator");
    let local = local.to_str().expect("a UTF-8 path");
    let orchestrator = MockdetProcess::spawn(
        &[
            "orchestrator",
            "--config",
            local,
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
        ],
        dir.path(),
    );
    orchestrator.url("orchestrator");
}
