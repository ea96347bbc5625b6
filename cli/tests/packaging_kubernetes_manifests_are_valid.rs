//! deploy/kubernetes, checked without a cluster or a Docker engine:
//!
//! - kubernetes-validate (pinned in `tests/clients/requirements.txt`,
//!   installed by `scripts/clients-setup.sh` into the clients venv; its
//!   wheel ships the API's JSON schemas) validates every core object with
//!   `--strict` (an unknown field fails) against each of
//!   [`KUBERNETES_VERSIONS`]: the files as written, the ConfigMaps the
//!   kustomizations generate, and the Pod the k6-operator builds from the
//!   TestRun's runner;
//! - the custom resources (the Prometheus Operator's ServiceMonitor, the
//!   k6-operator's TestRun) may use only the fields their projects document
//!   (the field sets below name their sources);
//! - the manifests cannot drift from what they deploy: every `--flag` is in
//!   the `mockdet` binary's help, every `MOCKDET_*` variable is documented,
//!   detector ports and probes are the built-in profiles', every URL names a
//!   Service on one of its ports, images and users are the Dockerfile's and
//!   the compose file's, every kustomization lists every YAML file of its
//!   directory, every reference resolves, the copied scripts and dashboards
//!   are the originals byte for byte, and the resource table of README.md's
//!   "On Kubernetes" is the manifests'.
//!
//! Without kubernetes-validate the test fails, saying how to install it: it
//! is never skipped.

#[allow(dead_code)]
#[path = "../../tests/common/clients.rs"]
mod clients;
mod packaging_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use mockdet::DetectorProfile;
use mockdet::profile::BUILTIN_NAMES;
use packaging_support::dockerfile::{all, stage_named, stages};
use packaging_support::{TempDir, read, root, run, yaml_file};
use serde::Deserialize;
use serde_json::{Map, Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_mockdet");
/// The manifests, relative to the repository root.
const DEPLOY: &str = "deploy/kubernetes";
const NAMESPACE: &str = "mockdet";
/// The Kubernetes versions validated against: the newest whose schemas the
/// pinned kubernetes-validate ships (1.37.0 knows up to 1.37), and the
/// oldest of the three minor releases upstream supports beside it.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.35", "1.37"];
/// The images the Dockerfile builds and docker-compose.test.yml names.
const MOCKDET_IMAGE: &str = "mockdet:local";
const PERF_IMAGE: &str = "mockdet-perf:local";
/// grafana/k6's user: its Dockerfile runs `adduser -D -u 12345 -g 12345 k6`
/// and `USER 12345`.
const K6_USER: i64 = 12345;
/// The labels every object carries (app.kubernetes.io/*, the recommended
/// set), with the values fixed for all.
const LABELS: [&str; 5] = [
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
];

// ---------------------------------------------------------------------------
// The manifests as kustomize reads them.

/// One object of a manifest file.
#[derive(Debug, Clone)]
struct Doc {
    /// The file, relative to the repository root.
    file: String,
    value: Value,
}

impl Doc {
    fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or("")
    }

    fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or("")
    }

    fn what(&self) -> String {
        format!("{} ({} {})", self.file, self.kind(), self.name())
    }

    /// A kind of the Kubernetes API itself (kubernetes-validate has its
    /// schema), not a custom resource.
    fn is_core(&self) -> bool {
        match self.value["apiVersion"]
            .as_str()
            .unwrap_or("")
            .rsplit_once('/')
        {
            None => true,
            Some((group, _)) => !group.contains('.') || group.ends_with(".k8s.io"),
        }
    }
}

/// A ConfigMap a kustomization's `configMapGenerator` makes.
#[derive(Debug, Clone)]
struct Generated {
    name: String,
    /// kustomize appends a hash of the content to the name unless
    /// `disableNameSuffixHash`; it rewrites references to it only inside
    /// its own kustomization.
    hashed: bool,
    data: BTreeMap<String, String>,
    /// (key, file relative to the repository root) of its file sources.
    files: Vec<(String, String)>,
    labels: Map<String, Value>,
    annotations: Map<String, Value>,
}

impl Generated {
    /// The ConfigMap as kustomize emits it (without the hash suffix).
    fn object(&self) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": self.name,
                "namespace": NAMESPACE,
                "labels": self.labels,
                "annotations": self.annotations,
            },
            "data": self.data,
        })
    }
}

/// One directory with a kustomization.yaml.
#[derive(Debug)]
struct Kustomization {
    /// Relative to the repository root.
    dir: String,
    value: Value,
    /// The objects of its `resources`, in order.
    docs: Vec<Doc>,
    generated: Vec<Generated>,
}

/// Every document of a YAML text (`---`-separated), as JSON values.
fn yaml_docs(text: &str, what: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|document| {
            Value::deserialize(document).unwrap_or_else(|e| panic!("{what} is not valid YAML: {e}"))
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// Every file under `dir` (relative to the repository root), recursively,
/// as paths relative to the repository root, sorted.
fn files_under(dir: &str) -> Vec<String> {
    fn walk(path: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(path)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", path.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&root().join(dir), &mut paths);
    let mut files: Vec<String> = paths
        .iter()
        .map(|p| {
            p.strip_prefix(root())
                .expect("under the root")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    files
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A path a kustomization names, relative to its directory: inside it (no
/// `..`, not absolute), as kustomize's load restrictor requires.
fn inside(dir: &str, relative: &str, what: &str) -> String {
    assert!(
        !relative.starts_with('/') && !relative.split('/').any(|part| part == ".."),
        "{what}: `{relative}` is outside {dir}; kustomize reads only files under its root, \
         so copy the file under {dir}"
    );
    format!("{dir}/{relative}")
}

fn load_kustomization(dir: &str) -> Kustomization {
    let file = format!("{dir}/kustomization.yaml");
    let mut documents = yaml_docs(&read(&file), &file);
    assert_eq!(documents.len(), 1, "{file} holds one document");
    let value = documents.remove(0);
    assert_eq!(
        value["apiVersion"], "kustomize.config.k8s.io/v1beta1",
        "{file}"
    );
    assert_eq!(value["kind"], "Kustomization", "{file}");
    let known = [
        "apiVersion",
        "kind",
        "namespace",
        "resources",
        "configMapGenerator",
    ];
    for key in value.as_object().expect("a map").keys() {
        assert!(
            known.contains(&key.as_str()),
            "{file}: the test does not know the kustomization field `{key}`; teach it what \
             that field does to the objects it checks"
        );
    }
    assert_eq!(
        value["namespace"], NAMESPACE,
        "{file}: every kustomization puts its objects in namespace {NAMESPACE}"
    );

    let mut docs = Vec::new();
    for resource in strings(&value["resources"]) {
        let path = inside(dir, &resource, &file);
        assert!(
            root().join(&path).is_file(),
            "{file} lists `{resource}`, which is not a file ({path})"
        );
        for value in yaml_docs(&read(&path), &path) {
            docs.push(Doc {
                file: path.clone(),
                value,
            });
        }
    }

    let mut generated = Vec::new();
    for generator in value["configMapGenerator"].as_array().into_iter().flatten() {
        let name = generator["name"]
            .as_str()
            .expect("a generator name")
            .to_owned();
        for key in generator.as_object().expect("a generator").keys() {
            assert!(
                ["name", "files", "literals", "options"].contains(&key.as_str()),
                "{file}: generator {name}: the test does not know `{key}`"
            );
        }
        let options = &generator["options"];
        for key in options.as_object().into_iter().flatten().map(|(k, _)| k) {
            assert!(
                ["disableNameSuffixHash", "labels", "annotations"].contains(&key.as_str()),
                "{file}: generator {name}: the test does not know option `{key}`"
            );
        }
        let mut data = BTreeMap::new();
        let mut files = Vec::new();
        for entry in strings(&generator["files"]) {
            let (key, source) = match entry.split_once('=') {
                Some((key, source)) => (key.to_owned(), source.to_owned()),
                None => (
                    entry.rsplit('/').next().unwrap_or(&entry).to_owned(),
                    entry.clone(),
                ),
            };
            let path = inside(dir, &source, &format!("{file}: generator {name}"));
            assert!(
                root().join(&path).is_file(),
                "{file}: generator {name} reads `{source}`, which is not a file ({path})"
            );
            data.insert(key.clone(), read(&path));
            files.push((key, path));
        }
        for literal in strings(&generator["literals"]) {
            let (key, value) = literal.split_once('=').unwrap_or_else(|| {
                panic!("{file}: generator {name}: literal `{literal}` is not k=v")
            });
            data.insert(key.to_owned(), value.to_owned());
        }
        generated.push(Generated {
            name,
            hashed: options["disableNameSuffixHash"] != true,
            data,
            files,
            labels: options["labels"].as_object().cloned().unwrap_or_default(),
            annotations: options["annotations"]
                .as_object()
                .cloned()
                .unwrap_or_default(),
        });
    }
    Kustomization {
        dir: dir.to_owned(),
        value,
        docs,
        generated,
    }
}

/// Every kustomization under deploy/kubernetes, the stack (its root) first.
fn kustomizations() -> &'static [Kustomization] {
    static ALL: OnceLock<Vec<Kustomization>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut dirs: Vec<String> = files_under(DEPLOY)
            .iter()
            .filter_map(|f| f.strip_suffix("/kustomization.yaml").map(str::to_owned))
            .collect();
        dirs.sort_by_key(|d| (d != DEPLOY, d.clone()));
        assert_eq!(
            dirs.first().map(String::as_str),
            Some(DEPLOY),
            "{DEPLOY} has a kustomization.yaml: `kubectl apply -k {DEPLOY}`"
        );
        dirs.iter().map(|d| load_kustomization(d)).collect()
    })
}

fn stack() -> &'static Kustomization {
    &kustomizations()[0]
}

fn kustomization(dir: &str) -> &'static Kustomization {
    kustomizations()
        .iter()
        .find(|k| k.dir == dir)
        .unwrap_or_else(|| panic!("no kustomization in {dir}"))
}

fn docs() -> impl Iterator<Item = (&'static Kustomization, &'static Doc)> {
    kustomizations()
        .iter()
        .flat_map(|k| k.docs.iter().map(move |d| (k, d)))
}

fn find(kind: &str, name: &str) -> &'static Doc {
    docs()
        .map(|(_, d)| d)
        .find(|d| d.kind() == kind && d.name() == name)
        .unwrap_or_else(|| panic!("no {kind} named {name} in {DEPLOY}"))
}

fn services() -> Vec<&'static Doc> {
    docs()
        .map(|(_, d)| d)
        .filter(|d| d.kind() == "Service")
        .collect()
}

/// The keys of the ConfigMap or Secret `name`, as a pod of kustomization
/// `from` sees it: its own objects and generators, else the stack's (whose
/// generated names it may use only when they carry no hash suffix).
fn referenced_keys(from: &Kustomization, kind: &str, name: &str, what: &str) -> BTreeSet<String> {
    for (k, own) in [(from, true), (stack(), false)] {
        if let Some(doc) = k.docs.iter().find(|d| d.kind() == kind && d.name() == name) {
            let mut keys: BTreeSet<String> = BTreeSet::new();
            for field in ["data", "stringData", "binaryData"] {
                keys.extend(
                    doc.value[field]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, _)| k.clone()),
                );
            }
            return keys;
        }
        if kind == "ConfigMap" {
            if let Some(generated) = k.generated.iter().find(|g| g.name == name) {
                assert!(
                    own || !generated.hashed,
                    "{what}: ConfigMap {name} is generated by {} with a hash suffix, which \
                     kustomize appends to references inside that kustomization only",
                    k.dir
                );
                return generated.data.keys().cloned().collect();
            }
        }
    }
    panic!(
        "{what}: no {kind} named {name} in {} or the stack",
        from.dir
    )
}

// ---------------------------------------------------------------------------
// Pods: the templates of Deployments and Jobs, and the k6 runner's.

#[derive(Debug, Clone)]
struct PodTemplate {
    /// Where it is, for messages.
    place: String,
    /// The kustomization that applies it.
    dir: String,
    /// The owning object's kind and name.
    kind: String,
    workload: String,
    /// The template's metadata and the PodSpec.
    metadata: Value,
    spec: Value,
    /// Whether the owner's schema has `enableServiceLinks` (the TestRun's
    /// runner has not).
    links_settable: bool,
}

/// The Pod the k6-operator makes from a TestRun's `runner` (or `starter`,
/// `initializer`): the fields its Pod type maps onto a core Pod and
/// container (k6-operator, api/v1alpha1/testrun_types.go, `Pod`).
fn operator_pod(testrun: &Doc, role: &str) -> Option<Value> {
    let pod = testrun.value["spec"].get(role)?;
    let mut container = Map::new();
    container.insert("name".into(), json!("k6"));
    for (from, to) in [
        ("image", "image"),
        ("imagePullPolicy", "imagePullPolicy"),
        ("env", "env"),
        ("envFrom", "envFrom"),
        ("resources", "resources"),
        ("containerSecurityContext", "securityContext"),
        ("volumeMounts", "volumeMounts"),
        ("livenessProbe", "livenessProbe"),
        ("readinessProbe", "readinessProbe"),
    ] {
        if let Some(v) = pod.get(from) {
            container.insert(to.into(), v.clone());
        }
    }
    let mut spec = Map::new();
    spec.insert("containers".into(), json!([container]));
    for field in [
        "securityContext",
        "volumes",
        "affinity",
        "nodeSelector",
        "tolerations",
        "topologySpreadConstraints",
        "imagePullSecrets",
        "serviceAccountName",
        "priorityClassName",
        "schedulerName",
    ] {
        if let Some(v) = pod.get(field) {
            spec.insert(field.into(), v.clone());
        }
    }
    if let Some(automount) = pod.get("automountServiceAccountToken") {
        let flag = match automount.as_str() {
            Some("true") => true,
            Some("false") => false,
            _ => panic!(
                "{}: {role}.automountServiceAccountToken is a string, \"true\" or \"false\", in \
                 the TestRun's schema; got {automount}",
                testrun.what()
            ),
        };
        spec.insert("automountServiceAccountToken".into(), json!(flag));
    }
    Some(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": format!("{}-{role}", testrun.name()),
            "namespace": NAMESPACE,
            "labels": pod["metadata"]["labels"].clone(),
            "annotations": pod["metadata"]["annotations"].as_object().cloned().unwrap_or_default(),
        },
        "spec": spec,
    }))
}

fn pod_templates() -> Vec<PodTemplate> {
    let mut pods = Vec::new();
    for (k, doc) in docs() {
        match doc.kind() {
            "Deployment" | "Job" => pods.push(PodTemplate {
                place: doc.what(),
                dir: k.dir.clone(),
                kind: doc.kind().to_owned(),
                workload: doc.name().to_owned(),
                metadata: doc.value["spec"]["template"]["metadata"].clone(),
                spec: doc.value["spec"]["template"]["spec"].clone(),
                links_settable: true,
            }),
            "TestRun" => {
                for role in ["runner", "starter", "initializer"] {
                    if let Some(pod) = operator_pod(doc, role) {
                        pods.push(PodTemplate {
                            place: format!("{} spec.{role}", doc.what()),
                            dir: k.dir.clone(),
                            kind: doc.kind().to_owned(),
                            workload: doc.name().to_owned(),
                            metadata: pod["metadata"].clone(),
                            spec: pod["spec"].clone(),
                            links_settable: false,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    pods
}

/// Its containers, init containers first: (is_init, container).
fn containers(spec: &Value) -> Vec<(bool, &Value)> {
    spec["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| (true, c))
        .chain(
            spec["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| (false, c)),
        )
        .collect()
}

fn the_container(pod: &PodTemplate) -> &Value {
    let main: Vec<&Value> = containers(&pod.spec)
        .into_iter()
        .filter(|(init, _)| !init)
        .map(|(_, c)| c)
        .collect();
    assert_eq!(main.len(), 1, "{}: one container", pod.place);
    main[0]
}

fn pod(workload: &str) -> PodTemplate {
    pod_templates()
        .into_iter()
        .find(|p| p.workload == workload)
        .unwrap_or_else(|| panic!("no workload {workload} in {DEPLOY}"))
}

fn env<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
    container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == name)
}

fn container_ports(container: &Value) -> BTreeSet<i64> {
    container["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["containerPort"].as_i64())
        .collect()
}

// ---------------------------------------------------------------------------
// The binary's own documentation of itself.

#[derive(Debug, Clone)]
struct Help {
    text: String,
    flags: BTreeSet<String>,
    env: BTreeSet<String>,
    commands: BTreeSet<String>,
}

/// `mockdet [SUB] --help`, parsed (and run once per subcommand).
fn help(sub: Option<&str>) -> Help {
    static CACHE: OnceLock<std::sync::Mutex<BTreeMap<Option<String>, Help>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = sub.map(str::to_owned);
    if let Some(found) = cache.lock().expect("the cache").get(&key) {
        return found.clone();
    }
    let mut command = Command::new(BIN);
    command.args(sub).arg("--help");
    let (ok, text, stderr) = run(&mut command, Duration::from_secs(30));
    assert!(ok, "mockdet {} --help failed: {stderr}", sub.unwrap_or(""));
    let flag =
        regex::Regex::new(r"(?m)^\s*(?:-[A-Za-z0-9], )?(--[a-z0-9][a-z0-9-]*)").expect("regex");
    let variable = regex::Regex::new(r"\[env: ([A-Z0-9_]+)").expect("regex");
    let command_line = regex::Regex::new(r"^  ([a-z][a-z0-9-]*)\s").expect("regex");
    let commands = text
        .split_once("Commands:\n")
        .map(|(_, rest)| {
            rest.lines()
                .take_while(|l| !l.trim().is_empty())
                .filter_map(|l| command_line.captures(l).map(|c| c[1].to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let parsed = Help {
        flags: flag.captures_iter(&text).map(|c| c[1].to_owned()).collect(),
        env: variable
            .captures_iter(&text)
            .map(|c| c[1].to_owned())
            .collect(),
        commands,
        text,
    };
    cache.lock().expect("the cache").insert(key, parsed.clone());
    parsed
}

/// The words after `mockdet` of each mockdet command line a container runs:
/// its arguments when it keeps the image's entrypoint (`mockdet`, in both of
/// mockdet's images), a `mockdet` command, or `mockdet` lines of a
/// `sh -c` script.
fn mockdet_invocations(container: &Value) -> Vec<Vec<String>> {
    let image = container["image"].as_str().unwrap_or("");
    let command = strings(&container["command"]);
    let args = strings(&container["args"]);
    match command.first().map(String::as_str) {
        None if image == MOCKDET_IMAGE || image == PERF_IMAGE => vec![args],
        None => Vec::new(),
        Some(program) if program == "mockdet" || program.ends_with("/mockdet") => {
            vec![command[1..].iter().chain(&args).cloned().collect()]
        }
        Some("/bin/sh" | "sh") if command.get(1).map(String::as_str) == Some("-c") => {
            let script = command.get(2).or(args.first()).cloned().unwrap_or_default();
            script_invocations(&script)
        }
        Some(_) => Vec::new(),
    }
}

/// The `mockdet …` commands of a shell script, each up to the end of its
/// simple command.
fn script_invocations(script: &str) -> Vec<Vec<String>> {
    let words: Vec<&str> = script.split_whitespace().collect();
    let mut found = Vec::new();
    for (i, word) in words.iter().enumerate() {
        if *word != "mockdet" {
            continue;
        }
        let mut invocation = Vec::new();
        for word in &words[i + 1..] {
            let last = word.ends_with(';');
            let word = word.trim_end_matches(';');
            if ["do", "done", "then", "fi", "&&", "||", "|"].contains(&word) {
                break;
            }
            invocation.push(word.trim_matches('"').to_owned());
            if last {
                break;
            }
        }
        found.push(invocation);
    }
    found
}

/// The subcommand an invocation runs (None: the fleet itself).
fn subcommand(words: &[String]) -> Option<String> {
    let top = help(None);
    words.first().filter(|w| top.commands.contains(*w)).cloned()
}

/// The value after `flag` in an invocation.
fn flag_value<'a>(words: &'a [String], flag: &str) -> Option<&'a str> {
    words
        .iter()
        .position(|w| w == flag)
        .and_then(|i| words.get(i + 1))
        .map(String::as_str)
}

fn flag_values<'a>(words: &'a [String], flag: &str) -> Vec<&'a str> {
    words
        .windows(2)
        .filter(|pair| pair[0] == flag)
        .map(|pair| pair[1].as_str())
        .collect()
}

/// The variables perf/README.md's environment table documents (what the k6
/// and Locust scripts read).
fn script_variables() -> BTreeSet<String> {
    let readme = read("perf/README.md");
    let section = readme
        .split_once("## Environment")
        .map(|(_, rest)| rest.split("\n## ").next().unwrap_or(""))
        .expect("perf/README.md has an Environment section");
    let name = regex::Regex::new(r"`([A-Z][A-Z0-9_]*)`").expect("regex");
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .flat_map(|l| {
            let first = l.split('|').nth(1).unwrap_or("");
            name.captures_iter(first)
                .map(|c| c[1].to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// URLs: every one names a Service of the stack, on one of its ports.

/// (host, port, path) of every `http://` URL in `text`.
fn urls(text: &str) -> Vec<(String, i64, String)> {
    let url =
        regex::Regex::new(r#"https?://([A-Za-z0-9.-]+)(?::(\d+))?(/[^\s"';]*)?"#).expect("regex");
    url.captures_iter(text)
        .map(|c| {
            (
                c[1].to_owned(),
                c.get(2).map_or(80, |p| p.as_str().parse().expect("a port")),
                c.get(3).map_or("", |p| p.as_str()).to_owned(),
            )
        })
        .collect()
}

/// The Service `host` names, checked to serve `port`; and the workload
/// (Deployment) it selects.
fn resolve_service(host: &str, port: i64, what: &str) -> (&'static Doc, PodTemplate) {
    assert!(
        !host.contains('.'),
        "{what}: `{host}`: address the stack's Services by their short name (the namespace is \
         kustomize's to change)"
    );
    let service = services()
        .into_iter()
        .find(|s| s.name() == host)
        .unwrap_or_else(|| panic!("{what}: `{host}` is not a Service of {DEPLOY}"));
    let port_entry = service.value["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["port"] == port)
        .unwrap_or_else(|| panic!("{what}: Service {host} has no port {port}"));
    let selected = selected_pods(service);
    assert_eq!(
        selected.len(),
        1,
        "{what}: Service {host} selects one workload, not {:?}",
        selected.iter().map(|p| &p.workload).collect::<Vec<_>>()
    );
    let pod = selected.into_iter().next().expect("one");
    let target = port_entry["targetPort"].as_i64().unwrap_or(port);
    assert!(
        containers(&pod.spec)
            .iter()
            .any(|(_, c)| container_ports(c).contains(&target)),
        "{what}: Service {host} sends port {port} to {target}, which no container of {} declares",
        pod.workload
    );
    (service, pod)
}

/// The pod templates whose labels a Service's selector matches.
fn selected_pods(service: &Doc) -> Vec<PodTemplate> {
    let selector = service.value["spec"]["selector"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert!(!selector.is_empty(), "{}: a selector", service.what());
    pod_templates()
        .into_iter()
        .filter(|p| p.dir == DEPLOY)
        .filter(|p| selector.iter().all(|(k, v)| p.metadata["labels"][k] == *v))
        .collect()
}

// ---------------------------------------------------------------------------
// Custom resources: the fields their projects document.

/// Where a set of allowed keys applies: a path of keys from the object's
/// root, `[]` for each item of a list.
type Schema = Vec<(String, &'static [&'static str])>;

/// A map whose keys are free (labels, annotations, selectors).
const FREE: &[&str] = &["*"];
/// A subtree of Kubernetes core types: kubernetes-validate checks it, in
/// the Pod the operator builds (`operator_pod`).
const CORE: &[&str] = &["<core types>"];
const METADATA: &[&str] = &["name", "namespace", "labels", "annotations"];

fn schema(entries: &[(&str, &'static [&'static str])]) -> Schema {
    entries.iter().map(|(p, a)| ((*p).to_owned(), *a)).collect()
}

/// The ServiceMonitor's fields: the Prometheus Operator's CRD
/// (prometheus-operator/prometheus-operator,
/// example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml,
/// operator 0.84.1) and its Go types (pkg/apis/monitoring/v1/
/// servicemonitor_types.go: ServiceMonitorSpec; types.go: Endpoint).
/// Nested objects the manifests do not use (tlsConfig, oauth2, …) are
/// allowed as fields but not described: using one needs its fields here.
fn service_monitor_schema() -> Schema {
    const RELABEL: &[&str] = &[
        "action",
        "modulus",
        "regex",
        "replacement",
        "separator",
        "sourceLabels",
        "targetLabel",
    ];
    schema(&[
        ("", &["apiVersion", "kind", "metadata", "spec"]),
        ("metadata", METADATA),
        ("metadata.labels", FREE),
        ("metadata.annotations", FREE),
        (
            "spec",
            &[
                "attachMetadata",
                "bodySizeLimit",
                "convertClassicHistogramsToNHCB",
                "endpoints",
                "fallbackScrapeProtocol",
                "jobLabel",
                "keepDroppedTargets",
                "labelLimit",
                "labelNameLengthLimit",
                "labelValueLengthLimit",
                "namespaceSelector",
                "nativeHistogramBucketLimit",
                "nativeHistogramMinBucketFactor",
                "podTargetLabels",
                "sampleLimit",
                "scrapeClass",
                "scrapeClassicHistograms",
                "scrapeProtocols",
                "selector",
                "selectorMechanism",
                "targetLabels",
                "targetLimit",
            ],
        ),
        ("spec.attachMetadata", &["node"]),
        ("spec.namespaceSelector", &["any", "matchNames"]),
        ("spec.selector", &["matchLabels", "matchExpressions"]),
        ("spec.selector.matchLabels", FREE),
        (
            "spec.selector.matchExpressions[]",
            &["key", "operator", "values"],
        ),
        (
            "spec.endpoints[]",
            &[
                "authorization",
                "basicAuth",
                "bearerTokenFile",
                "bearerTokenSecret",
                "enableHttp2",
                "filterRunning",
                "followRedirects",
                "honorLabels",
                "honorTimestamps",
                "interval",
                "metricRelabelings",
                "noProxy",
                "oauth2",
                "params",
                "path",
                "port",
                "proxyConnectHeader",
                "proxyFromEnvironment",
                "proxyUrl",
                "relabelings",
                "scheme",
                "scrapeTimeout",
                "targetPort",
                "tlsConfig",
                "trackTimestampsStaleness",
            ],
        ),
        ("spec.endpoints[].params", FREE),
        ("spec.endpoints[].relabelings[]", RELABEL),
        ("spec.endpoints[].metricRelabelings[]", RELABEL),
    ])
}

/// The TestRun's fields: the k6-operator's CRD (grafana/k6-operator,
/// config/crd/bases/k6.io_testruns.yaml) and its Go types
/// (api/v1alpha1/testrun_types.go: TestRunSpec, K6Script, K6Configmap,
/// K6VolumeClaim, CloudSpec, Pod, PodMetadata, InitContainer). Fields of
/// core types are checked by kubernetes-validate in the Pod built from them.
fn test_run_schema() -> Schema {
    const POD: &[&str] = &[
        "affinity",
        "automountServiceAccountToken",
        "containerSecurityContext",
        "disabled",
        "env",
        "envFrom",
        "image",
        "imagePullPolicy",
        "imagePullSecrets",
        "initContainers",
        "livenessProbe",
        "metadata",
        "nodeSelector",
        "priorityClassName",
        "readinessProbe",
        "resources",
        "schedulerName",
        "securityContext",
        "serviceAccountName",
        "tolerations",
        "topologySpreadConstraints",
        "volumeMounts",
        "volumes",
    ];
    let mut entries = schema(&[
        ("", &["apiVersion", "kind", "metadata", "spec"]),
        ("metadata", METADATA),
        ("metadata.labels", FREE),
        ("metadata.annotations", FREE),
        (
            "spec",
            &[
                "arguments",
                "cleanup",
                "cloud",
                "initializer",
                "parallelism",
                "paused",
                "ports",
                "quiet",
                "runner",
                "script",
                "scuttle",
                "separate",
                "starter",
                "testRunId",
                "token",
            ],
        ),
        ("spec.script", &["configMap", "localFile", "volumeClaim"]),
        ("spec.script.configMap", &["name", "file"]),
        ("spec.script.volumeClaim", &["name", "file", "readOnly"]),
        ("spec.cloud", &["token", "testRunId", "stream"]),
        ("spec.ports[]", CORE),
    ]);
    for role in ["runner", "starter", "initializer"] {
        entries.push((format!("spec.{role}"), POD));
        entries.push((format!("spec.{role}.metadata"), &["annotations", "labels"]));
        entries.push((format!("spec.{role}.metadata.annotations"), FREE));
        entries.push((format!("spec.{role}.metadata.labels"), FREE));
        entries.push((format!("spec.{role}.nodeSelector"), FREE));
        for core in [
            "affinity",
            "env[]",
            "envFrom[]",
            "imagePullSecrets[]",
            "tolerations[]",
            "topologySpreadConstraints[]",
            "resources",
            "securityContext",
            "containerSecurityContext",
            "readinessProbe",
            "livenessProbe",
            "volumes[]",
            "volumeMounts[]",
            "initContainers[].env[]",
            "initContainers[].envFrom[]",
            "initContainers[].volumeMounts[]",
            "initContainers[].resources",
        ] {
            entries.push((format!("spec.{role}.{core}"), CORE));
        }
        entries.push((
            format!("spec.{role}.initContainers[]"),
            &[
                "name",
                "image",
                "env",
                "envFrom",
                "command",
                "args",
                "workingDir",
                "volumeMounts",
                "resources",
                "restartPolicy",
            ],
        ));
    }
    entries
}

/// Every object key not in the schema at its path; objects at paths the
/// schema does not describe are errors too.
fn undocumented_fields(value: &Value, path: &str, schema: &Schema, errors: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let Some(allowed) = schema.iter().find(|(p, _)| p == path).map(|(_, a)| *a) else {
                errors.push(format!(
                    "`{path}` is an object the test does not describe: add the fields its \
                     project documents"
                ));
                return;
            };
            if allowed == FREE || allowed == CORE {
                return;
            }
            for (key, child) in map {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if allowed.contains(&key.as_str()) {
                    undocumented_fields(child, &child_path, schema, errors);
                } else {
                    errors.push(format!("`{child_path}` is not a documented field"));
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                undocumented_fields(item, &format!("{path}[]"), schema, errors);
            }
        }
        _ => {}
    }
}

fn seconds(duration: &str) -> f64 {
    let unit = regex::Regex::new(r"(\d+)(ms|s|m|h|d|w|y)").expect("regex");
    unit.captures_iter(duration)
        .map(|c| {
            let n: f64 = c[1].parse().expect("a number");
            n * match &c[2] {
                "ms" => 0.001,
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                "d" => 86400.0,
                "w" => 604800.0,
                _ => 31_536_000.0,
            }
        })
        .sum()
}

/// CPU in cores ("250m", "1").
fn cpu(quantity: &Value, what: &str) -> f64 {
    let text = quantity
        .as_str()
        .map(str::to_owned)
        .unwrap_or(quantity.to_string());
    let (number, scale) = match text.strip_suffix('m') {
        Some(milli) => (milli, 0.001),
        None => (text.as_str(), 1.0),
    };
    number
        .parse::<f64>()
        .unwrap_or_else(|_| panic!("{what}: `{text}` is not a CPU quantity"))
        * scale
}

/// Memory in bytes ("32Mi", "1Gi").
fn memory(quantity: &Value, what: &str) -> f64 {
    let text = quantity
        .as_str()
        .map(str::to_owned)
        .unwrap_or(quantity.to_string());
    for (suffix, scale) in [
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
    ] {
        if let Some(number) = text.strip_suffix(suffix) {
            return number
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("{what}: `{text}` is not a memory quantity"))
                * scale;
        }
    }
    text.parse()
        .unwrap_or_else(|_| panic!("{what}: `{text}` is not a memory quantity"))
}

/// (uid, gid) of a Dockerfile stage's last `USER`.
fn image_user(stage: &str) -> (i64, i64) {
    let user = all(&stage_named(stage), "USER")
        .pop()
        .unwrap_or_else(|| panic!("the Dockerfile's {stage} stage sets no USER"));
    let (uid, gid) = user.split_once(':').unwrap_or((&user, &user));
    (
        uid.parse()
            .expect("a numeric USER (runAsNonRoot needs one)"),
        gid.parse().expect("a numeric group"),
    )
}

/// kubernetes-validate of the clients venv (beside its Python;
/// `MOCKDET_CLIENTS_PYTHON` names another venv's).
fn kubernetes_validate() -> PathBuf {
    let found = clients::clients_python().with_file_name("kubernetes-validate");
    assert!(
        found.is_file(),
        "no kubernetes-validate at {}: run scripts/test.sh, which installs \
         tests/clients/requirements.txt into ~/.cache/mockdet/clients \
         (scripts/clients-setup.sh does just that step), or set MOCKDET_CLIENTS_PYTHON to a \
         Python of a venv that has it",
        found.display()
    );
    found
}

/// The kubernetes-validate version tests/clients/requirements.txt pins.
fn pinned_validator() -> String {
    read("tests/clients/requirements.txt")
        .lines()
        .find_map(|l| l.trim().strip_prefix("kubernetes-validate=="))
        .map(str::to_owned)
        .expect("tests/clients/requirements.txt pins kubernetes-validate")
}

// ---------------------------------------------------------------------------
// The tests.

#[test]
fn every_kustomization_lists_every_yaml_file_of_its_directory_and_nothing_else_is_there() {
    let mut accounted: BTreeSet<String> = BTreeSet::new();
    for k in kustomizations() {
        accounted.insert(format!("{}/kustomization.yaml", k.dir));
        let listed: BTreeSet<String> = strings(&k.value["resources"])
            .iter()
            .map(|r| format!("{}/{r}", k.dir))
            .collect();
        let present: BTreeSet<String> = std::fs::read_dir(root().join(&k.dir))
            .expect("the directory lists")
            .flatten()
            .filter(|e| e.path().is_file())
            .map(|e| format!("{}/{}", k.dir, e.file_name().to_string_lossy()))
            .filter(|f| {
                (f.ends_with(".yaml") || f.ends_with(".yml")) && !f.ends_with("/kustomization.yaml")
            })
            .collect();
        let sources: BTreeSet<String> = k
            .generated
            .iter()
            .flat_map(|g| g.files.iter().map(|(_, f)| f.clone()))
            .collect();
        let unlisted: Vec<&String> = present
            .iter()
            .filter(|f| !listed.contains(*f) && !sources.contains(*f))
            .collect();
        assert!(
            unlisted.is_empty(),
            "{}/kustomization.yaml does not list {unlisted:?}: `kubectl apply -k` would skip them",
            k.dir
        );
        accounted.extend(listed);
        accounted.extend(sources);
        for doc in &k.docs {
            assert!(
                doc.value["apiVersion"].is_string()
                    && !doc.kind().is_empty()
                    && !doc.name().is_empty(),
                "{}: every object has apiVersion, kind and metadata.name",
                doc.what()
            );
            if doc.kind() != "Namespace" {
                assert_eq!(
                    doc.value["metadata"]["namespace"],
                    NAMESPACE,
                    "{}: namespace {NAMESPACE} in the file too (`kubectl apply -f` works alike)",
                    doc.what()
                );
            }
        }
    }
    let stray: Vec<String> = files_under(DEPLOY)
        .into_iter()
        .filter(|f| !accounted.contains(f))
        .collect();
    assert!(
        stray.is_empty(),
        "files under {DEPLOY} that no kustomization uses: {stray:?}"
    );

    let mut names = BTreeSet::new();
    for (_, doc) in docs() {
        assert!(
            names.insert((doc.kind().to_owned(), doc.name().to_owned())),
            "{}: the same kind and name twice",
            doc.what()
        );
    }
    let namespaces: Vec<&Doc> = docs()
        .map(|(_, d)| d)
        .filter(|d| d.kind() == "Namespace")
        .collect();
    assert_eq!(namespaces.len(), 1, "the stack creates its namespace");
    assert_eq!(namespaces[0].name(), NAMESPACE);
    assert!(
        stack().docs.iter().any(|d| d.kind() == "Namespace"),
        "the namespace belongs to the stack ({DEPLOY}), which the runs need first"
    );
}

#[test]
fn the_copies_are_their_sources_byte_for_byte() {
    let copies = [
        ("perf/locustfile_orchestration.py", "locust-scripts", DEPLOY),
        (
            "perf/k6/orchestration_load.js",
            "k6-orchestration-load",
            "deploy/kubernetes/k6",
        ),
    ];
    for (source, generator, dir) in copies {
        let generated = kustomization(dir)
            .generated
            .iter()
            .find(|g| g.name == generator)
            .unwrap_or_else(|| panic!("{dir} generates no ConfigMap {generator}"));
        assert_eq!(generated.files.len(), 1, "{generator}: one file");
        let (key, copy) = &generated.files[0];
        assert_eq!(
            key,
            source.rsplit('/').next().expect("a file name"),
            "{generator}: the key is the script's own file name"
        );
        assert!(
            std::fs::read(root().join(copy)).expect("the copy reads")
                == std::fs::read(root().join(source)).expect("the source reads"),
            "{copy} differs from {source}: copy it again (`cp {source} {copy}`)"
        );
    }

    let dashboards = stack()
        .generated
        .iter()
        .find(|g| g.name == "mockdet-grafana-dashboards")
        .expect("the stack generates the dashboards ConfigMap");
    let originals: BTreeSet<String> = files_under("monitoring/grafana/dashboards")
        .into_iter()
        .filter(|f| f.ends_with(".json"))
        .collect();
    assert_eq!(originals.len(), 3, "three dashboards");
    let keys: BTreeSet<String> = dashboards.files.iter().map(|(k, _)| k.clone()).collect();
    let wanted: BTreeSet<String> = originals
        .iter()
        .map(|f| f.rsplit('/').next().expect("a name").to_owned())
        .collect();
    assert_eq!(
        keys, wanted,
        "the ConfigMap carries every dashboard, under its file name"
    );
    for (key, copy) in &dashboards.files {
        let source = format!("monitoring/grafana/dashboards/{key}");
        assert!(
            std::fs::read(root().join(copy)).expect("the copy reads")
                == std::fs::read(root().join(&source)).expect("the source reads"),
            "{copy} differs from {source}: copy it again (`cp {source} {copy}`)"
        );
    }

    // The orchestrator's configuration: docker/orchestrator-config.yaml's
    // content (its comments may differ), every detector a Service.
    let config = stack()
        .generated
        .iter()
        .find(|g| g.name == "orchestrator-config")
        .expect("the stack generates the orchestrator's configuration");
    let (_, copy) = config
        .files
        .iter()
        .find(|(k, _)| k == "orchestrator.yaml")
        .expect("its key is orchestrator.yaml");
    let ours = yaml_docs(&read(copy), copy).remove(0);
    let compose = yaml_docs(
        &read("docker/orchestrator-config.yaml"),
        "docker/orchestrator-config.yaml",
    )
    .remove(0);
    assert_eq!(
        ours, compose,
        "{copy} holds docker/orchestrator-config.yaml's settings (the Services have the compose \
         services' names)"
    );
    let detectors = ours["detectors"].as_object().expect("detectors");
    assert_eq!(
        detectors.keys().cloned().collect::<BTreeSet<String>>(),
        BUILTIN_NAMES
            .iter()
            .map(|n| (*n).to_owned())
            .collect::<BTreeSet<String>>(),
        "the orchestrator calls the five detectors"
    );
    for (name, detector) in detectors {
        let endpoint = detector["endpoint"].as_str().expect("an endpoint");
        let [(host, port, _)] = &urls(endpoint)[..] else {
            panic!("{copy}: detector {name}: `{endpoint}` is not one URL")
        };
        let (_, pod) = resolve_service(host, *port, &format!("{copy}: detector {name}"));
        let container = the_container(&pod);
        let runs = mockdet_invocations(container);
        assert_eq!(
            flag_value(&runs[0], "--profile"),
            Some(name.as_str()),
            "{copy}: detector {name}'s endpoint reaches {}, which runs another profile",
            pod.workload
        );
        let profile = DetectorProfile::builtin(name).expect("a built-in");
        assert_eq!(
            detector["detector_id"],
            profile.detector_id.as_str(),
            "{copy}: {name}"
        );
    }
}

#[test]
fn kubernetes_validate_accepts_every_core_object_strictly() {
    let tool = kubernetes_validate();
    let pin = pinned_validator();
    let (ok, version, stderr) = run(
        Command::new(&tool).arg("--version"),
        Duration::from_secs(60),
    );
    assert!(ok, "kubernetes-validate --version failed: {stderr}");
    assert_eq!(
        version.trim(),
        pin,
        "the clients venv has kubernetes-validate {}, requirements.txt pins {pin}: run \
         scripts/clients-setup.sh",
        version.trim()
    );

    // The files as written (PyYAML reads them as kubectl would: YAML 1.1);
    // a file mixes no custom resources in.
    let mut inputs: Vec<(PathBuf, usize)> = Vec::new();
    let mut files: BTreeMap<&str, Vec<&Doc>> = BTreeMap::new();
    for (_, doc) in docs() {
        files.entry(doc.file.as_str()).or_default().push(doc);
    }
    for (file, objects) in &files {
        let core = objects.iter().filter(|d| d.is_core()).count();
        assert!(
            core == 0 || core == objects.len(),
            "{file} mixes core objects and custom resources; keep them in separate files"
        );
        if core > 0 {
            inputs.push((root().join(file), core));
        }
    }
    // What kustomize and the k6-operator make from them, as JSON (which is
    // YAML).
    let scratch = TempDir::new("mockdet-k8s-validate");
    let key = regex::Regex::new(r"^[-._a-zA-Z0-9]+$").expect("regex");
    let mut made = Vec::new();
    for k in kustomizations() {
        for generated in &k.generated {
            let data_bytes: usize = generated.data.values().map(String::len).sum();
            assert!(
                data_bytes < 256 * 1024,
                "ConfigMap {} holds {data_bytes} bytes: `kubectl apply` keeps a copy in an \
                 annotation, limited to 256 KiB",
                generated.name
            );
            for name in generated.data.keys() {
                assert!(
                    key.is_match(name),
                    "ConfigMap {}: key `{name}`",
                    generated.name
                );
            }
            made.push((format!("configmap-{}", generated.name), generated.object()));
        }
    }
    for (_, doc) in docs().filter(|(_, d)| d.kind() == "TestRun") {
        for role in ["runner", "starter", "initializer"] {
            if let Some(pod) = operator_pod(doc, role) {
                made.push((format!("pod-{}-{role}", doc.name()), pod));
            }
        }
    }
    assert!(
        made.iter().any(|(name, _)| name.starts_with("pod-")),
        "the TestRun's runner is validated as a Pod"
    );
    for (name, object) in &made {
        let path = scratch.path().join(format!("{name}.yaml"));
        std::fs::write(
            &path,
            serde_json::to_string_pretty(object).expect("serializes"),
        )
        .expect("written");
        inputs.push((path, 1));
    }

    let expected: usize = inputs.iter().map(|(_, n)| n).sum();
    for version in KUBERNETES_VERSIONS {
        let mut command = Command::new(&tool);
        command
            .args(["--strict", "--kubernetes-version", version])
            .args(inputs.iter().map(|(p, _)| p));
        clients::loopback_only(&mut command);
        let (ok, stdout, stderr) = run(&mut command, Duration::from_secs(120));
        let passed = stdout
            .lines()
            .filter(|l| l.contains(" passed for resource "))
            .count();
        let complaints: Vec<&str> = stdout
            .lines()
            .chain(stderr.lines())
            .filter(|l| l.starts_with("WARN") || l.starts_with("ERROR"))
            .collect();
        assert!(
            ok && complaints.is_empty() && passed == expected,
            "kubernetes-validate --strict against Kubernetes {version}: {passed} of {expected} \
             objects passed{}\n{stdout}{stderr}",
            if complaints.is_empty() {
                String::new()
            } else {
                format!("; it said:\n{}", complaints.join("\n"))
            }
        );
    }
}

#[test]
fn the_custom_resources_use_only_documented_fields() {
    let custom: Vec<&Doc> = docs().map(|(_, d)| d).filter(|d| !d.is_core()).collect();
    let kinds: BTreeSet<(String, String)> = custom
        .iter()
        .map(|d| {
            (
                d.value["apiVersion"].as_str().unwrap_or("").to_owned(),
                d.kind().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            ("k6.io/v1alpha1".to_owned(), "TestRun".to_owned()),
            (
                "monitoring.coreos.com/v1".to_owned(),
                "ServiceMonitor".to_owned()
            ),
        ]),
        "the custom resources are a ServiceMonitor and a TestRun (the test knows no others)"
    );
    for doc in custom {
        let schema = match doc.kind() {
            "ServiceMonitor" => service_monitor_schema(),
            _ => test_run_schema(),
        };
        let mut errors = Vec::new();
        undocumented_fields(&doc.value, "", &schema, &mut errors);
        assert!(errors.is_empty(), "{}:\n{}", doc.what(), errors.join("\n"));
    }

    // The values the CRDs constrain.
    let monitor = find("ServiceMonitor", "mockdet");
    let interval_pattern = regex::Regex::new(
        r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
    )
    .expect("regex");
    let endpoints = monitor.value["spec"]["endpoints"]
        .as_array()
        .expect("endpoints");
    assert!(!endpoints.is_empty(), "the ServiceMonitor has an endpoint");
    assert!(
        monitor.value["spec"]["selector"].is_object(),
        "spec.selector is required"
    );
    for endpoint in endpoints {
        assert!(
            endpoint["port"].is_string(),
            "endpoints[].port names a Service port"
        );
        for field in ["interval", "scrapeTimeout"] {
            if let Some(value) = endpoint[field].as_str() {
                assert!(
                    interval_pattern.is_match(value),
                    "endpoints[].{field} `{value}`"
                );
            }
        }
        if let (Some(interval), Some(timeout)) = (
            endpoint["interval"].as_str(),
            endpoint["scrapeTimeout"].as_str(),
        ) {
            assert!(
                seconds(timeout) <= seconds(interval),
                "the operator rejects a scrapeTimeout ({timeout}) above the interval ({interval})"
            );
        }
        if let Some(scheme) = endpoint["scheme"].as_str() {
            assert!(["http", "https"].contains(&scheme), "endpoints[].scheme");
        }
    }

    let testrun = find("TestRun", "orchestration-load");
    let spec = &testrun.value["spec"];
    assert_eq!(spec["parallelism"], 4, "four k6 runners");
    for field in ["quiet", "paused"] {
        if let Some(value) = spec.get(field) {
            assert!(
                value == "true" || value == "false",
                "spec.{field} is a string, \"true\" or \"false\""
            );
        }
    }
    let script = &spec["script"]["configMap"];
    let name = script["name"]
        .as_str()
        .expect("script.configMap.name is required");
    let file = script["file"].as_str().unwrap_or("test.js");
    let k6 = kustomization("deploy/kubernetes/k6");
    let generated = k6
        .generated
        .iter()
        .find(|g| g.name == name)
        .unwrap_or_else(|| {
            panic!(
                "{}: no ConfigMap {name} generated beside it",
                testrun.what()
            )
        });
    assert!(
        !generated.hashed,
        "ConfigMap {name}: the TestRun names it in a field kustomize does not rewrite, so it \
         must not get a hash suffix (disableNameSuffixHash)"
    );
    assert!(
        generated.data.contains_key(file),
        "ConfigMap {name} has no key {file}"
    );
    for mount in spec["runner"]["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
    {
        assert_ne!(
            mount["mountPath"], "/test",
            "the operator mounts the script at /test; mount nothing there"
        );
    }
}

#[test]
fn containers_run_flags_and_variables_the_binary_documents() {
    // Both mockdet images keep `mockdet` as their entrypoint, which a
    // container without `command` runs.
    for stage in ["runtime", "perf"] {
        assert_eq!(
            all(&stage_named(stage), "ENTRYPOINT"),
            [r#"["mockdet"]"#],
            "the Dockerfile's {stage} stage runs mockdet"
        );
    }
    let scripts = script_variables();
    assert!(
        scripts.contains("PERF_BASE_URL"),
        "perf/README.md's table is read"
    );
    let mut invocations = 0;
    for pod in pod_templates() {
        for (_, container) in containers(&pod.spec) {
            let what = format!("{} container {}", pod.place, container["name"]);
            let runs = mockdet_invocations(container);
            let mut documented = BTreeSet::new();
            for words in &runs {
                invocations += 1;
                let sub = subcommand(words);
                let h = help(sub.as_deref());
                for word in words.iter().filter(|w| w.starts_with("--")) {
                    let flag = word.split('=').next().unwrap_or(word);
                    assert!(
                        h.flags.contains(flag),
                        "{what}: `mockdet{}` has no flag {flag} (its --help: {:?})",
                        sub.as_deref().map(|s| format!(" {s}")).unwrap_or_default(),
                        h.flags
                    );
                }
                if let Some(format) = flag_value(words, "--log-format") {
                    assert!(
                        h.text.contains(&format!("- {format}:")),
                        "{what}: --log-format {format}"
                    );
                }
                documented.extend(h.env.iter().cloned());
            }
            for variable in container["env"].as_array().into_iter().flatten() {
                let name = variable["name"].as_str().expect("an env name");
                if pod.kind == "TestRun" {
                    assert!(
                        scripts.contains(name),
                        "{what}: {name} is not a variable perf/README.md documents for the scripts"
                    );
                } else if name.starts_with("MOCKDET_") {
                    assert!(
                        if runs.is_empty() {
                            scripts.contains(name)
                        } else {
                            documented.contains(name)
                        },
                        "{what}: {name} is not documented by {} (documented: {documented:?})",
                        if runs.is_empty() {
                            "perf/README.md"
                        } else {
                            "the mockdet command it runs"
                        }
                    );
                }
            }
        }
    }
    assert!(
        invocations >= 8,
        "the five detectors, the orchestrator, perf and its wait run mockdet ({invocations} found)"
    );
}

#[test]
fn detectors_run_the_builtin_profiles_on_their_ports_with_one_seed_and_request_replay() {
    let detectors: BTreeSet<String> = pod_templates()
        .into_iter()
        .filter(|p| p.metadata["labels"]["app.kubernetes.io/component"] == "detector")
        .map(|p| p.workload)
        .collect();
    let wanted: BTreeSet<String> = BUILTIN_NAMES
        .iter()
        .map(|n| format!("mock-detector-{n}"))
        .collect();
    assert_eq!(detectors, wanted, "one Deployment per built-in profile");

    let mut seeds = BTreeSet::new();
    for name in BUILTIN_NAMES {
        let profile = DetectorProfile::builtin(name).expect("a built-in");
        let port = i64::from(profile.port);
        let workload = format!("mock-detector-{name}");
        let pod = pod(&workload);
        let deployment = find("Deployment", &workload);
        assert!(
            deployment.value["spec"]["replicas"].as_i64().unwrap_or(1) >= 1,
            "{workload}: replicas"
        );
        let container = the_container(&pod);
        let runs = mockdet_invocations(container);
        assert_eq!(runs.len(), 1, "{workload} runs mockdet");
        let words = &runs[0];
        assert_eq!(subcommand(words), None, "{workload}: the fleet command");
        assert_eq!(
            flag_values(words, "--profile"),
            [name],
            "{workload}: one profile, its own"
        );
        assert_eq!(
            flag_value(words, "--bind"),
            Some("0.0.0.0"),
            "{workload}: a pod listens beyond loopback"
        );
        assert_eq!(container["image"], MOCKDET_IMAGE, "{workload}");
        assert_eq!(
            container_ports(container),
            BTreeSet::from([port]),
            "{workload}: the profile's port"
        );
        for (probe, path) in [
            ("startupProbe", "/health"),
            ("readinessProbe", "/capabilities"),
            ("livenessProbe", "/capabilities"),
        ] {
            assert_eq!(
                container[probe]["httpGet"]["path"], path,
                "{workload}: {probe} (only startup reads /health: it answers 503 while an \
                 injected outage is open, which Kubernetes must not act on)"
            );
            assert_eq!(
                container[probe]["httpGet"]["port"], port,
                "{workload}: {probe} port"
            );
        }
        let annotations = &pod.metadata["annotations"];
        assert_eq!(annotations["prometheus.io/scrape"], "true", "{workload}");
        assert_eq!(
            annotations["prometheus.io/port"],
            port.to_string(),
            "{workload}"
        );
        assert_eq!(annotations["prometheus.io/path"], "/metrics", "{workload}");
        let (service, selected) = resolve_service(&workload, port, &format!("Service {workload}"));
        assert_eq!(selected.workload, workload);
        let service_ports = service.value["spec"]["ports"].as_array().expect("ports");
        assert_eq!(service_ports.len(), 1, "Service {workload}: one port");
        assert_eq!(
            service_ports[0]["name"], "http",
            "Service {workload}: the ServiceMonitor's port name"
        );

        // Same seed, same profile, request-mode replay: a key's fate does
        // not depend on the replica.
        let seed =
            env(container, "MOCKDET_SEED").unwrap_or_else(|| panic!("{workload}: MOCKDET_SEED"));
        let reference = &seed["valueFrom"]["configMapKeyRef"];
        let (map, key) = (
            reference["name"].as_str().expect("a ConfigMap"),
            reference["key"].as_str().expect("a key"),
        );
        let generated = stack()
            .generated
            .iter()
            .find(|g| g.name == map)
            .unwrap_or_else(|| panic!("{workload}: MOCKDET_SEED from ConfigMap {map}, which the stack does not generate"));
        let value = generated
            .data
            .get(key)
            .unwrap_or_else(|| panic!("ConfigMap {map} has no {key}"));
        value
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("ConfigMap {map}: {key} = `{value}` is not a seed"));
        seeds.insert((map.to_owned(), key.to_owned()));
        assert_eq!(
            env(container, "MOCKDET_REPLAY").map(|e| &e["value"]),
            Some(&json!("request")),
            "{workload}: MOCKDET_REPLAY=request, stated"
        );
        let token = env(container, "MOCKDET_ADMIN_TOKEN")
            .unwrap_or_else(|| panic!("{workload}: off loopback /admin needs MOCKDET_ADMIN_TOKEN"));
        let secret = &token["valueFrom"]["secretKeyRef"];
        let keys = referenced_keys(
            stack(),
            "Secret",
            secret["name"].as_str().expect("a Secret"),
            &workload,
        );
        assert!(
            keys.contains(secret["key"].as_str().expect("a key")),
            "{workload}: the token's key"
        );
    }
    assert_eq!(
        seeds.len(),
        1,
        "every detector reads the one seed: {seeds:?}"
    );
    let top = help(None);
    for (flag, variable) in [("--seed", "MOCKDET_SEED"), ("--replay", "MOCKDET_REPLAY")] {
        assert!(
            top.flags.contains(flag) && top.env.contains(variable),
            "mockdet --help: {flag} ({variable})"
        );
    }
    assert!(
        top.text.contains("`request`"),
        "mockdet --help documents request replay"
    );
}

#[test]
fn the_orchestrator_locust_k6_and_perf_point_at_the_stacks_services() {
    // Every URL anywhere in a container or a runner names a Service.
    for pod in pod_templates() {
        for (_, container) in containers(&pod.spec) {
            let text = serde_json::to_string(&json!([
                container["command"],
                container["args"],
                container["env"]
            ]))
            .expect("serializes");
            for (host, port, _) in urls(&text) {
                resolve_service(&host, port, &pod.place);
            }
        }
    }

    // The orchestrator: its configuration file mounted where --config
    // reads it, on the port its Service and the file name.
    let orchestrator = pod("orchestrator");
    let container = the_container(&orchestrator);
    let words = &mockdet_invocations(container)[0];
    assert_eq!(subcommand(words).as_deref(), Some("orchestrator"));
    assert_eq!(flag_value(words, "--bind"), Some("0.0.0.0"));
    let config = flag_value(words, "--config").expect("--config");
    let port: i64 = flag_value(words, "--port")
        .expect("--port")
        .parse()
        .expect("a port");
    assert_file_from_config_map(&orchestrator, container, config);
    let settings = yaml_docs(
        &read(&format!("{DEPLOY}/files/orchestrator.yaml")),
        "orchestrator.yaml",
    )
    .remove(0);
    assert_eq!(
        settings["service"]["port"], port,
        "the file's port is the one it listens on"
    );
    assert_eq!(container_ports(container), BTreeSet::from([port]));
    resolve_service("orchestrator", port, "the orchestrator's Service");
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(
            container[probe]["httpGet"]["path"], "/health",
            "orchestrator {probe}"
        );
        assert_eq!(
            container[probe]["httpGet"]["port"], port,
            "orchestrator {probe}"
        );
    }
    let annotations = &orchestrator.metadata["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/port"], port.to_string());
    assert_eq!(annotations["prometheus.io/path"], "/metrics");
    let target = format!("http://orchestrator:{port}");

    // The perf Job: the orchestrator, all five detectors, the report on the
    // stack's volume.
    let perf = pod("mockdet-perf");
    let container = the_container(&perf);
    let words = &mockdet_invocations(container)[0];
    assert_eq!(subcommand(words).as_deref(), Some("perf"));
    assert_eq!(flag_value(words, "--target"), Some(target.as_str()));
    let fleet: BTreeSet<String> = flag_values(words, "--fleet")
        .into_iter()
        .map(|url| {
            let [(host, port, _)] = &urls(url)[..] else {
                panic!("--fleet {url}")
            };
            let (_, pod) = resolve_service(host, *port, "perf --fleet");
            pod.workload
        })
        .collect();
    assert_eq!(
        fleet,
        BUILTIN_NAMES
            .iter()
            .map(|n| format!("mock-detector-{n}"))
            .collect::<BTreeSet<String>>(),
        "perf scrapes and drives the five detectors"
    );
    let out = flag_value(words, "--out").expect("--out");
    let mount = container["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["mountPath"] == out)
        .unwrap_or_else(|| panic!("perf --out {out}: nothing is mounted there"));
    let volume = volume(&perf, mount["name"].as_str().expect("a name"));
    let claim = volume["persistentVolumeClaim"]["claimName"]
        .as_str()
        .expect("--out is on a PersistentVolumeClaim");
    assert!(
        stack()
            .docs
            .iter()
            .any(|d| d.kind() == "PersistentVolumeClaim" && d.name() == claim),
        "the claim {claim} belongs to the stack, so the reports outlive the Job"
    );
    assert_ne!(mount["readOnly"], true, "perf writes its report");
    let job = find("Job", "mockdet-perf");
    assert_eq!(
        job.value["spec"]["backoffLimit"], 0,
        "a missed target is not retried"
    );
    assert_eq!(perf.spec["restartPolicy"], "Never");
    assert!(
        env(container, "MOCKDET_ADMIN_TOKEN").is_some(),
        "fault-tolerance drives /admin"
    );
    let init = containers(&perf.spec)
        .into_iter()
        .find(|(init, _)| *init)
        .map(|(_, c)| c)
        .expect("the Job waits for the stack");
    let waited: BTreeSet<(String, i64, String)> = urls(&strings(&init["args"]).join(" "))
        .into_iter()
        .collect();
    let mut wanted: BTreeSet<(String, i64, String)> = BUILTIN_NAMES
        .iter()
        .map(|n| {
            let port = i64::from(DetectorProfile::builtin(n).expect("a built-in").port);
            (format!("mock-detector-{n}"), port, "/health".to_owned())
        })
        .collect();
    wanted.insert(("orchestrator".to_owned(), port, "/health".to_owned()));
    assert_eq!(
        waited, wanted,
        "the Job waits for every /health it will load"
    );

    // Locust: the locustfile from its ConfigMap; workers find the master
    // through its Service.
    let master = pod("locust-master");
    let worker = pod("locust-worker");
    let master_container = the_container(&master);
    let worker_container = the_container(&worker);
    for (pod, container) in [(&master, master_container), (&worker, worker_container)] {
        assert_eq!(strings(&container["command"]), ["locust"], "{}", pod.place);
        assert_eq!(
            container["image"], PERF_IMAGE,
            "{}: the perf image has Locust",
            pod.place
        );
        let args = strings(&container["args"]);
        assert_file_from_config_map(pod, container, flag_value(&args, "-f").expect("-f"));
    }
    let master_args = strings(&master_container["args"]);
    assert!(master_args.contains(&"--master".to_owned()));
    assert_eq!(flag_value(&master_args, "--host"), Some(target.as_str()));
    let worker_args = strings(&worker_container["args"]);
    assert!(worker_args.contains(&"--worker".to_owned()));
    let host = flag_value(&worker_args, "--master-host").expect("--master-host");
    let master_port: i64 = flag_value(&worker_args, "--master-port")
        .expect("--master-port")
        .parse()
        .expect("a port");
    let (_, selected) = resolve_service(host, master_port, "locust --master-host");
    assert_eq!(selected.workload, "locust-master");
    assert_eq!(
        flag_value(&master_args, "--master-bind-port"),
        Some(master_port.to_string().as_str()),
        "the master listens where the workers connect"
    );
    let web: i64 = flag_value(&master_args, "--web-port")
        .expect("--web-port")
        .parse()
        .expect("a port");
    resolve_service("locust-master", web, "the Locust UI");

    // k6: the orchestrator, a test type the script knows.
    let testrun = find("TestRun", "orchestration-load");
    let runner = &testrun.value["spec"]["runner"];
    let env_of = |name: &str| {
        runner["env"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == name)
            .and_then(|e| e["value"].as_str())
    };
    assert_eq!(env_of("PERF_BASE_URL"), Some(target.as_str()));
    assert!(
        ["smoke", "load", "stress"].contains(&env_of("K6_TEST_TYPE").unwrap_or("smoke")),
        "K6_TEST_TYPE"
    );
}

/// The file at `path` comes from a ConfigMap mounted above it, which has the
/// file's name as a key.
fn assert_file_from_config_map(pod: &PodTemplate, container: &Value, path: &str) {
    let mount = container["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| {
            m["mountPath"].as_str().is_some_and(|dir| {
                path.strip_prefix(dir)
                    .is_some_and(|rest| rest.starts_with('/'))
            })
        })
        .unwrap_or_else(|| panic!("{}: nothing is mounted above {path}", pod.place));
    let dir = mount["mountPath"].as_str().expect("a path");
    let key = &path[dir.len() + 1..];
    let volume = volume(pod, mount["name"].as_str().expect("a name"));
    let map = volume["configMap"]["name"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: {dir} is not a ConfigMap volume", pod.place));
    let keys = referenced_keys(kustomization(&pod.dir), "ConfigMap", map, &pod.place);
    assert!(
        keys.contains(key),
        "{}: {path} is key `{key}` of ConfigMap {map}, which has {keys:?}",
        pod.place
    );
}

fn volume(pod: &PodTemplate, name: &str) -> Value {
    pod.spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{}: no volume {name}", pod.place))
}

#[test]
fn every_pod_runs_locked_down_with_the_measured_resources() {
    let mockdet_user = image_user("runtime");
    assert_eq!(
        image_user("perf"),
        mockdet_user,
        "both mockdet images run as one user"
    );
    let table = resource_table();
    let mut tabled = BTreeSet::new();
    for pod in pod_templates() {
        let place = &pod.place;
        let spec = &pod.spec;
        let security = &spec["securityContext"];
        assert_eq!(security["runAsNonRoot"], true, "{place}: runAsNonRoot");
        assert_eq!(
            security["seccompProfile"]["type"], "RuntimeDefault",
            "{place}: seccomp"
        );
        assert_eq!(
            spec["automountServiceAccountToken"], false,
            "{place}: no API token"
        );
        if pod.links_settable {
            assert_eq!(
                spec["enableServiceLinks"], false,
                "{place}: Service links would add MOCKDET_*/LOCUST_*-looking variables"
            );
        }
        let images: BTreeSet<&str> = containers(spec)
            .iter()
            .filter_map(|(_, c)| c["image"].as_str())
            .collect();
        let (uid, gid) = if images
            .iter()
            .all(|i| *i == MOCKDET_IMAGE || *i == PERF_IMAGE)
        {
            (mockdet_user.0, Some(mockdet_user.1))
        } else {
            assert_eq!(
                images,
                BTreeSet::from(["grafana/k6:1.1.0"]),
                "{place}: images"
            );
            (K6_USER, None)
        };
        assert_eq!(security["runAsUser"], uid, "{place}: the image's user");
        if let Some(gid) = gid {
            assert_eq!(security["runAsGroup"], gid, "{place}: the image's group");
        }

        let mounts_of = |c: &Value| -> Vec<(String, String)> {
            c["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| {
                    (
                        m["name"].as_str().unwrap_or("").to_owned(),
                        m["mountPath"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        };
        for (init, container) in containers(spec) {
            let name = container["name"].as_str().expect("a name");
            let what = format!("{place} container {name}");
            let sc = &container["securityContext"];
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{what}");
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{what}");
            assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{what}");
            assert!(
                sc["capabilities"]["add"].is_null() && sc["privileged"] != true,
                "{what}"
            );
            let image = container["image"].as_str().unwrap_or("");
            if image.ends_with(":local") {
                assert_eq!(
                    container["imagePullPolicy"], "IfNotPresent",
                    "{what}: a :local image is loaded into the nodes, not pulled"
                );
            }
            // Writable places are volumes: the root filesystem is read-only.
            for variable in ["HOME", "K6_SUMMARY_PATH"] {
                if let Some(path) = env(container, variable).and_then(|e| e["value"].as_str()) {
                    assert!(
                        mounts_of(container).iter().any(|(volume_name, dir)| {
                            (path == dir || path.starts_with(&format!("{dir}/")))
                                && volume(&pod, volume_name)["emptyDir"].is_object()
                        }),
                        "{what}: {variable}={path} is not on a writable volume"
                    );
                }
            }
            let resources = &container["resources"];
            for field in ["cpu", "memory"] {
                let request = &resources["requests"][field];
                let limit = &resources["limits"][field];
                assert!(
                    !request.is_null() && !limit.is_null(),
                    "{what}: {field} request and limit"
                );
                let (r, l) = if field == "cpu" {
                    (cpu(request, &what), cpu(limit, &what))
                } else {
                    (memory(request, &what), memory(limit, &what))
                };
                assert!(
                    r > 0.0 && r <= l,
                    "{what}: {field} request {request} <= limit {limit}"
                );
            }
            // The docs' table states each figure and where it came from.
            let row = table
                .iter()
                .find(|row| {
                    (row.workload == pod.workload
                        || row
                            .workload
                            .strip_suffix('*')
                            .is_some_and(|prefix| pod.workload.starts_with(prefix)))
                        && row.container.as_deref().is_none_or(|c| c == name)
                        && (row.container.is_some() || !init)
                })
                .unwrap_or_else(|| {
                    panic!("{what}: no row in README.md's resource table (On Kubernetes)")
                });
            tabled.insert(row.line.clone());
            let stated = [
                ("requests", "cpu", &row.requests.0),
                ("requests", "memory", &row.requests.1),
                ("limits", "cpu", &row.limits.0),
                ("limits", "memory", &row.limits.1),
            ];
            for (kind, field, text) in stated {
                let actual = &resources[kind][field];
                let same = if field == "cpu" {
                    (cpu(&json!(text), &row.line) - cpu(actual, &what)).abs() < 1e-9
                } else {
                    (memory(&json!(text), &row.line) - memory(actual, &what)).abs() < 0.5
                };
                assert!(
                    same,
                    "{what}: {kind}.{field} is {actual}, README.md (On Kubernetes) says {text}"
                );
            }
        }
        // Every claim and ConfigMap/Secret a pod names exists.
        let k = kustomization(&pod.dir);
        for volume in spec["volumes"].as_array().into_iter().flatten() {
            if let Some(map) = volume["configMap"]["name"].as_str() {
                referenced_keys(k, "ConfigMap", map, place);
            }
            if let Some(claim) = volume["persistentVolumeClaim"]["claimName"].as_str() {
                assert!(
                    docs().any(|(_, d)| d.kind() == "PersistentVolumeClaim" && d.name() == claim),
                    "{place}: no claim {claim}"
                );
            }
        }
        for (_, container) in containers(spec) {
            for mount in container["volumeMounts"].as_array().into_iter().flatten() {
                volume(&pod, mount["name"].as_str().expect("a name"));
            }
            for variable in container["env"].as_array().into_iter().flatten() {
                for (kind, reference) in [
                    ("ConfigMap", &variable["valueFrom"]["configMapKeyRef"]),
                    ("Secret", &variable["valueFrom"]["secretKeyRef"]),
                ] {
                    if let Some(name) = reference["name"].as_str() {
                        let keys = referenced_keys(k, kind, name, place);
                        let key = reference["key"].as_str().expect("a key");
                        assert!(
                            keys.contains(key),
                            "{place}: {kind} {name} has no key {key}"
                        );
                    }
                }
            }
        }
    }
    let rows: BTreeSet<String> = table.iter().map(|r| r.line.clone()).collect();
    let unused: Vec<&String> = rows.difference(&tabled).collect();
    assert!(
        unused.is_empty(),
        "README.md's resource table has rows for no container: {unused:?}"
    );

    // No Service's link variables (NAME_SERVICE_HOST, NAME_PORT, …) look
    // like settings a program here reads, in the pods that cannot turn
    // them off (the k6 runner) nor in the others.
    for service in services() {
        let prefix = format!("{}_", service.name().to_uppercase().replace('-', "_"));
        for read_by in ["MOCKDET_", "K6_", "PERF_", "ORCHESTRATION_"] {
            assert!(
                !prefix.starts_with(read_by),
                "Service {}: its link variables ({prefix}*) look like the {read_by}* settings \
                 mockdet or the k6 script read",
                service.name()
            );
        }
    }

    let namespace = find("Namespace", NAMESPACE);
    assert_eq!(
        namespace.value["metadata"]["labels"]["pod-security.kubernetes.io/warn"], "restricted",
        "the namespace warns about pods below the restricted standard, which these meet"
    );
}

/// A row of the resource table in README.md's "On Kubernetes".
#[derive(Debug)]
struct ResourceRow {
    line: String,
    /// A workload name; a trailing `*` matches a prefix.
    workload: String,
    /// The container, when the row names one.
    container: Option<String>,
    requests: (String, String),
    limits: (String, String),
}

fn resource_table() -> Vec<ResourceRow> {
    let doc = read("README.md");
    let quantities = regex::Regex::new(r"^\s*(\S+) CPU, (\S+)\s*$").expect("regex");
    let code = regex::Regex::new(r"`([^`]+)`").expect("regex");
    let rows: Vec<ResourceRow> = doc
        .lines()
        .skip_while(|l| !l.starts_with("| workload | requests | limits |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').collect();
            let names: Vec<String> = code
                .captures_iter(cells[1])
                .map(|c| c[1].to_owned())
                .collect();
            let parse = |cell: &str| {
                let c = quantities
                    .captures(cell)
                    .unwrap_or_else(|| panic!("README.md: `{cell}` is not `CPU, memory`"));
                (c[1].to_owned(), c[2].to_owned())
            };
            ResourceRow {
                line: line.to_owned(),
                workload: names.first().cloned().unwrap_or_default(),
                container: names.get(1).cloned(),
                requests: parse(cells[2]),
                limits: parse(cells[3]),
            }
        })
        .collect();
    assert!(
        rows.len() >= 5,
        "README.md's \"On Kubernetes\" has its resource table"
    );
    rows
}

#[test]
fn labels_and_selectors_are_consistent() {
    let check = |labels: &Value, what: &str| {
        for key in LABELS {
            assert!(
                labels[key].as_str().is_some_and(|v| !v.is_empty()),
                "{what}: label {key}"
            );
        }
        assert_eq!(labels["app.kubernetes.io/part-of"], "mockdet", "{what}");
        assert_eq!(
            labels["app.kubernetes.io/managed-by"], "kustomize",
            "{what}"
        );
    };
    for (_, doc) in docs() {
        check(&doc.value["metadata"]["labels"], &doc.what());
    }
    for k in kustomizations() {
        for generated in &k.generated {
            check(
                &Value::Object(generated.labels.clone()),
                &format!("{}: ConfigMap {}", k.dir, generated.name),
            );
        }
    }
    for pod in pod_templates() {
        check(&pod.metadata["labels"], &pod.place);
        if pod.kind == "TestRun" {
            continue;
        }
        let owner = find(&pod.kind, &pod.workload);
        assert_eq!(
            owner.value["metadata"]["labels"], pod.metadata["labels"],
            "{}: the pods carry their owner's labels",
            pod.place
        );
        if pod.kind == "Deployment" {
            let selector = owner.value["spec"]["selector"]["matchLabels"]
                .as_object()
                .expect("a selector");
            for (key, value) in selector {
                assert_eq!(
                    &pod.metadata["labels"][key], value,
                    "{}: selector {key}",
                    pod.place
                );
            }
        }
    }
    for service in services() {
        let selected = selected_pods(service);
        assert_eq!(
            selected.len(),
            1,
            "{}: selects one workload",
            service.what()
        );
        assert_eq!(
            service.value["metadata"]["labels"],
            selected[0].metadata["labels"],
            "{}: labelled as the pods it serves",
            service.what()
        );
    }
}

#[test]
fn monitoring_scrapes_the_detectors_and_the_orchestrator_and_ships_the_dashboards() {
    let monitor = find("ServiceMonitor", "mockdet");
    let selector = &monitor.value["spec"]["selector"];
    let selected: BTreeSet<String> = services()
        .into_iter()
        .filter(|s| {
            let labels = &s.value["metadata"]["labels"];
            let by_label = selector["matchLabels"]
                .as_object()
                .into_iter()
                .flatten()
                .all(|(k, v)| labels[k] == *v);
            let by_expression = selector["matchExpressions"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|e| {
                    let values = strings(&e["values"]);
                    let value = labels[e["key"].as_str().unwrap_or("")].as_str();
                    match e["operator"].as_str() {
                        Some("In") => value.is_some_and(|v| values.iter().any(|x| x == v)),
                        Some("NotIn") => !value.is_some_and(|v| values.iter().any(|x| x == v)),
                        Some("Exists") => value.is_some(),
                        Some("DoesNotExist") => value.is_none(),
                        other => panic!("selector operator {other:?}"),
                    }
                });
            by_label && by_expression
        })
        .map(|s| s.name().to_owned())
        .collect();
    let mut wanted: BTreeSet<String> = BUILTIN_NAMES
        .iter()
        .map(|n| format!("mock-detector-{n}"))
        .collect();
    wanted.insert("orchestrator".to_owned());
    assert_eq!(
        selected, wanted,
        "the ServiceMonitor scrapes the detectors and the orchestrator"
    );
    for endpoint in monitor.value["spec"]["endpoints"]
        .as_array()
        .expect("endpoints")
    {
        assert_eq!(endpoint["path"], "/metrics");
        for name in &selected {
            let service = find("Service", name);
            assert!(
                service.value["spec"]["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["name"] == endpoint["port"]),
                "Service {name} has no port named {}",
                endpoint["port"]
            );
        }
    }
    // Pods that ask to be scraped name one of their ports.
    for pod in pod_templates() {
        let annotations = &pod.metadata["annotations"];
        if annotations["prometheus.io/scrape"] == "true" {
            let port: i64 = annotations["prometheus.io/port"]
                .as_str()
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("{}: prometheus.io/port", pod.place));
            assert!(
                containers(&pod.spec)
                    .iter()
                    .any(|(_, c)| container_ports(c).contains(&port)),
                "{}: prometheus.io/port {port} is no container port",
                pod.place
            );
        }
    }

    let dashboards = stack()
        .generated
        .iter()
        .find(|g| g.name == "mockdet-grafana-dashboards")
        .expect("the dashboards ConfigMap");
    assert_eq!(
        dashboards.labels["grafana_dashboard"], "1",
        "the Grafana sidecar's label"
    );
    assert!(
        !dashboards.hashed,
        "a hash suffix would leave the old ConfigMap behind on every change, and the sidecar \
         would load both"
    );
    for text in dashboards.data.values() {
        let dashboard: Value = serde_json::from_str(text).expect("a dashboard is JSON");
        assert!(dashboard["uid"].is_string(), "a dashboard uid");
    }
    let provisioned = yaml_file("monitoring/grafana/provisioning/datasources/prometheus.yml");
    assert_eq!(
        provisioned["datasources"][0]["uid"], "prometheus",
        "the dashboards query the data source uid `prometheus` (kube-prometheus-stack's default \
         too, which README.md's \"On Kubernetes\" relies on)"
    );
}

#[test]
fn images_and_tools_are_the_dockerfiles_and_the_compose_files() {
    let compose = yaml_file("docker-compose.test.yml");
    let runtime = &compose["x-mockdet"];
    assert_eq!(
        runtime["image"], MOCKDET_IMAGE,
        "compose builds mockdet:local"
    );
    assert!(
        runtime["build"]["target"].is_null(),
        "mockdet:local is the Dockerfile's default (last) stage"
    );
    let last = stages().pop().expect("stages");
    assert!(
        last[0].args.to_ascii_lowercase().ends_with(" as runtime"),
        "the Dockerfile's last stage is runtime"
    );
    assert_eq!(compose["services"]["perf"]["image"], PERF_IMAGE);
    assert_eq!(compose["services"]["perf"]["build"]["target"], "perf");

    let tool_version = |image: &Value| {
        image
            .as_str()
            .and_then(|i| i.rsplit_once(':'))
            .map(|(_, v)| v.to_owned())
            .expect("a tagged image")
    };
    let perf_stage = all(&stage_named("perf"), "RUN").join(" ");
    let k6 = tool_version(&compose["services"]["k6"]["image"]);
    let locust = tool_version(&compose["services"]["locust"]["image"]);
    assert!(
        perf_stage.contains(&format!("k6=={k6}")),
        "the perf image's k6 is compose's ({k6})"
    );
    assert!(
        perf_stage.contains(&format!("locust=={locust}")),
        "the perf image's Locust is compose's ({locust}): the Locust pods run it"
    );
    let testrun = find("TestRun", "orchestration-load");
    assert_eq!(
        testrun.value["spec"]["runner"]["image"], compose["services"]["k6"]["image"],
        "the k6 runners run compose's k6"
    );

    let mut images = BTreeSet::new();
    for pod in pod_templates() {
        for (_, container) in containers(&pod.spec) {
            images.insert(container["image"].as_str().expect("an image").to_owned());
        }
    }
    assert_eq!(
        images,
        BTreeSet::from([
            MOCKDET_IMAGE.to_owned(),
            PERF_IMAGE.to_owned(),
            format!("grafana/k6:{k6}"),
        ]),
        "the images the Dockerfile builds, and compose's k6"
    );
}

#[test]
fn the_docs_say_how_to_run_it_and_what_validated_it() {
    let doc = read("README.md");
    for needle in [
        "## On Kubernetes",
        "kubectl apply -k deploy/kubernetes",
        "kubectl apply -k deploy/kubernetes/k6",
        "kubectl apply -k deploy/kubernetes/perf",
        "kubectl -n mockdet scale deploy/locust-worker --replicas",
        "kubectl -n mockdet cp",
        "docker build -t mockdet:local .",
        "docker build --target perf -t mockdet-perf:local .",
        "MOCKDET_REPLAY=request",
        "No cluster was available",
    ] {
        assert!(
            doc.contains(needle),
            "README.md (On Kubernetes) should mention `{needle}`"
        );
    }
    let pin = pinned_validator();
    assert!(
        doc.contains(&format!("kubernetes-validate** {pin}")),
        "README.md names the kubernetes-validate version ({pin})"
    );
    let versions = format!("Kubernetes {}", KUBERNETES_VERSIONS.join(" and "));
    assert!(
        doc.contains(&versions),
        "README.md names the versions: `{versions}`"
    );
    let seed = stack()
        .generated
        .iter()
        .find(|g| g.name == "mockdet-seed")
        .expect("the seed");
    assert!(
        doc.contains(&format!("seed={}", seed.data["seed"])),
        "README.md states the seed"
    );
}
