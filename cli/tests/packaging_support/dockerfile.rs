//! The Dockerfile read as stages of instructions, as Docker reads it:
//! continuation lines joined, comment lines dropped.

use super::read;

/// One Dockerfile instruction, continuation lines joined, comments dropped.
#[derive(Debug, Clone)]
pub struct Instruction {
    pub keyword: String,
    pub args: String,
}

/// The Dockerfile's stages, in order, each a list of instructions (the
/// first being its FROM); ARGs before the first FROM are left out.
pub fn stages() -> Vec<Vec<Instruction>> {
    let text = read("Dockerfile");
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(body) = trimmed.strip_suffix('\\') {
            current.push_str(body);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            logical.push(std::mem::take(&mut current));
        }
    }
    let mut stages: Vec<Vec<Instruction>> = Vec::new();
    for line in logical.iter().filter(|l| !l.is_empty()) {
        let (keyword, args) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let instruction = Instruction {
            keyword: keyword.to_ascii_uppercase(),
            args: args.trim().to_owned(),
        };
        if instruction.keyword == "FROM" {
            stages.push(vec![instruction]);
        } else if let Some(stage) = stages.last_mut() {
            stage.push(instruction);
        }
    }
    stages
}

pub fn stage_named(name: &str) -> Vec<Instruction> {
    stages()
        .into_iter()
        .find(|s| {
            s[0].args
                .to_ascii_lowercase()
                .ends_with(&format!(" as {name}"))
        })
        .unwrap_or_else(|| panic!("the Dockerfile has no stage `AS {name}`"))
}

pub fn all(stage: &[Instruction], keyword: &str) -> Vec<String> {
    stage
        .iter()
        .filter(|i| i.keyword == keyword)
        .map(|i| i.args.clone())
        .collect()
}

/// The source paths of a stage's build-context COPYs (not `--from=`), in
/// order, without trailing slashes: `COPY perf/Cargo.toml ./perf/` gives
/// `perf/Cargo.toml`.
pub fn copy_sources(stage: &[Instruction]) -> Vec<String> {
    all(stage, "COPY")
        .iter()
        .filter(|args| !args.starts_with("--from"))
        .flat_map(|args| {
            let words: Vec<&str> = args.split_whitespace().collect();
            words[..words.len().saturating_sub(1)]
                .iter()
                .map(|w| w.trim_end_matches('/').to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether one of `sources` (as [`copy_sources`] gives them) brings the
/// repository path `needed` into the image: the path itself or a directory
/// above it.
pub fn covered(sources: &[String], needed: &str) -> bool {
    sources.iter().any(|source| {
        needed == source
            || needed
                .strip_prefix(source.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// One package of the workspace, as the Dockerfile has to build it.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its directory relative to the repository root, `""` for the root
    /// package.
    pub dir: String,
    /// The target file a stub must stand in for while the dependency layer
    /// builds: `src/lib.rs` of a library, `src/main.rs` of a binary-only
    /// package (prefixed by `dir`).
    pub stub: String,
}

impl Member {
    /// `dir/name`, or `name` for the root package.
    pub fn path(&self, name: &str) -> String {
        if self.dir.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.dir)
        }
    }
}

/// The workspace members listed in the root Cargo.toml, in order.
pub fn workspace_members() -> Vec<Member> {
    let manifest: toml::Table = read("Cargo.toml")
        .parse()
        .unwrap_or_else(|e| panic!("Cargo.toml is not valid TOML: {e}"));
    let members = manifest
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(toml::Value::as_array)
        .expect("Cargo.toml has [workspace] members");
    members
        .iter()
        .map(|m| {
            let dir = m.as_str().expect("members are strings");
            let dir = dir.trim_start_matches("./").trim_end_matches('/');
            let dir = if dir == "." { "" } else { dir }.to_owned();
            let mut member = Member {
                dir,
                stub: String::new(),
            };
            let lib = member.path("src/lib.rs");
            let is_lib = super::root().join(&lib).is_file();
            member.stub = if is_lib {
                lib
            } else {
                member.path("src/main.rs")
            };
            member
        })
        .collect()
}
