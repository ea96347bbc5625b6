//! The core's layers only point down: a module never reaches into a layer
//! above its own.
//!
//! ```text
//! 5  fuzzing     hidden entry points for the fuzz targets in fuzz/
//! 4  fleet       bind, serve, drain; builder, handle
//! 3  detector    engine, handlers, renderers, findings
//! 2  control     outages, next-N, scripts, bursts, journal
//! 1  sampling    latency models, fault selection, seeded draws
//! 0  profile     profile-file types, loading, validation
//! 0  metrics     one registry per fleet; imports nothing from the crate
//! ```
//!
//! Every `.rs` file under `src/` is read as tokens (comments and literals
//! blanked, so a path in a doc comment or a string does not count), and
//! every path anchored at the crate root is placed in a layer: `crate::X`,
//! `$crate::X`, each member of a `use crate::{...}` group however many lines
//! it spans, and `super::` chains that climb out of their top-level module
//! (`super::super::X` from `src/control/burst.rs`). A name re-exported by
//! `lib.rs` (`crate::Fleet`) counts as the module it comes from. `lib.rs`
//! itself is the root and may use everything.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Top-level modules of the core, bottom (0) to top.
const LAYERS: &[(&str, u8)] = &[
    ("metrics", 0),
    ("profile", 0),
    ("sampling", 1),
    ("control", 2),
    ("detector", 3),
    ("fleet", 4),
    ("fuzzing", 5),
];

/// Modules that may import nothing from the crate but themselves.
const SELF_CONTAINED: &[&str] = &["metrics"];

/// Where a root-anchored path lands: a top-level module, or the crate root
/// itself (an item `lib.rs` defines, or `crate::{self}`), which is above
/// every module.
const ROOT: &str = "the crate root";

#[test]
fn every_module_of_the_core_uses_only_its_own_layer_and_the_ones_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let reexports = reexports(&read(&src.join("lib.rs")));
    let mut files = Vec::new();
    collect_rust_files(&src, &mut files);
    assert!(
        files.len() > 10,
        "found only {} files under {}",
        files.len(),
        src.display()
    );

    let mut violations = Vec::new();
    let mut references = 0;
    for file in &files {
        let module = module_path(&src, file);
        if module.is_empty() {
            continue; // lib.rs: the root may use every layer
        }
        let label = format!(
            "src/{}",
            file.strip_prefix(&src)
                .expect("collected under src/")
                .to_string_lossy()
        );
        let (found, seen) = check(&label, &read(file), &module, &reexports);
        violations.extend(found);
        references += seen;
    }
    // Guards against a checker that silently reads nothing.
    assert!(
        references > 50,
        "only {references} crate-rooted paths found in {} files: is the scanner broken?",
        files.len()
    );
    assert!(
        violations.is_empty(),
        "{} reference(s) point up the layers \
         (metrics, profile = 0 < sampling < control < detector < fleet):\n{}",
        violations.len(),
        violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

// ---------------------------------------------------------------------------
// The checker checked, on made-up sources.

fn check_snippet(file_module: &[&str], text: &str) -> Vec<Violation> {
    let module: Vec<String> = file_module.iter().map(|s| (*s).to_owned()).collect();
    let reexports = reexports("pub use fleet::{Fleet, FleetBuilder};\npub use profile::Outage;\n");
    check("snippet.rs", text, &module, &reexports).0
}

fn lines(violations: &[Violation]) -> Vec<(usize, &str)> {
    violations
        .iter()
        .map(|v| (v.line, v.target.as_str()))
        .collect()
}

#[test]
fn the_checker_finds_upward_members_of_a_multi_line_use_group() {
    let text = "use std::fmt;\nuse crate::{\n    profile::FaultKind,\n    detector::{Engine, \
                render},\n    control::Journal,\n};\n";
    let found = check_snippet(&["sampling", "plan"], text);
    assert_eq!(lines(&found), vec![(4, "detector"), (5, "control")]);
}

#[test]
fn the_checker_follows_super_chains_out_of_a_top_level_module_and_only_then() {
    let text = "use super::super::fleet::Fleet;\nuse super::Window;\nmod tests {\n    use \
                super::super::Burst;\n    use super::super::super::detector::x;\n}\n";
    let found = check_snippet(&["control", "burst"], text);
    assert_eq!(lines(&found), vec![(1, "fleet"), (5, "detector")]);
    // From a mod.rs, one `super` is already the root.
    let found = check_snippet(&["sampling"], "fn f() { super::detector::go(); }\n");
    assert_eq!(lines(&found), vec![(1, "detector")]);
}

#[test]
fn the_checker_places_root_reexports_and_ignores_comments_strings_and_visibility() {
    let text = "// crate::fleet::Fleet in a comment\n/* crate::detector /* nested */ x */\n\
                const S: &str = \"crate::fleet\";\nconst R: &str = r#\"crate::fleet \"\"#;\n\
                const C: char = '{';\npub(crate) fn f<'a>(x: &'a str) {}\n\
                pub(in crate::sampling) fn g() {}\nfn h() -> crate::Fleet { todo!() }\n\
                use crate::Outage;\n";
    let found = check_snippet(&["sampling", "rng"], text);
    assert_eq!(lines(&found), vec![(8, "fleet")]);
}

#[test]
fn the_checker_keeps_metrics_self_contained_and_the_same_layer_open() {
    let found = check_snippet(&["metrics"], "use crate::profile::DetectorProfile;\n");
    assert_eq!(lines(&found), vec![(1, "profile")]);
    let found = check_snippet(&["profile", "load"], "use crate::metrics::Registry;\n");
    assert!(found.is_empty(), "{found:?}");
    let found = check_snippet(&["sampling"], "use crate::{self, profile};\n");
    assert_eq!(lines(&found), vec![(1, ROOT)]);
}

// ---------------------------------------------------------------------------
// The checker.

/// A root-anchored path that climbs to a higher layer.
#[derive(Debug)]
struct Violation {
    file: String,
    line: usize,
    /// As written, from its anchor to the top-level name (`crate::fleet`,
    /// `super::super::{.. detector`).
    written: String,
    /// The top-level module (or [`ROOT`]) it reaches.
    target: String,
    /// The module the file belongs to.
    from: String,
    reason: &'static str,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: `{}` reaches {} from {} ({})",
            self.file, self.line, self.written, self.target, self.from, self.reason
        )
    }
}

fn layer(module: &str) -> Option<u8> {
    LAYERS
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, layer)| *layer)
}

/// The violations in one file of top-level module `module[0]`, and how
/// many crate-rooted paths it has in all.
fn check(
    file: &str,
    text: &str,
    module: &[String],
    reexports: &BTreeMap<String, String>,
) -> (Vec<Violation>, usize) {
    let from = module[0].as_str();
    let from_layer = layer(from).unwrap_or_else(|| {
        panic!(
            "{file} is in top-level module `{from}`, which has no layer; \
             add it to LAYERS in {}",
            file!()
        )
    });
    let code = code_only(text);
    let tokens = tokens(&code);
    let mut found = Vec::new();
    let references = root_references(&tokens, module);
    let seen = references.len();
    for reference in references {
        let target = if layer(&reference.name).is_some() {
            reference.name.clone()
        } else {
            reexports
                .get(&reference.name)
                .cloned()
                .unwrap_or_else(|| ROOT.to_owned())
        };
        let reason = if target == from {
            continue;
        } else if SELF_CONTAINED.contains(&from) {
            "it may import nothing from the crate"
        } else if layer(&target).is_none_or(|to| to > from_layer) {
            "a higher layer"
        } else {
            continue;
        };
        found.push(Violation {
            file: file.to_owned(),
            line: code[..reference.offset].matches('\n').count() + 1,
            written: reference.written,
            target,
            from: from.to_owned(),
            reason,
        });
    }
    (found, seen)
}

/// A path whose first segment after its anchor (`crate::`, or enough
/// `super::`s) is a name at the crate root.
#[derive(Debug)]
struct RootReference {
    /// Byte offset of that first segment.
    offset: usize,
    /// The name at the root: a module, a re-export, `self` or `*`.
    name: String,
    written: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Punct(char),
}

/// The paths anchored at the crate root, with `module` the file's module
/// path (`["control", "burst"]` for `src/control/burst.rs`).
fn root_references(tokens: &[(usize, Token)], module: &[String]) -> Vec<RootReference> {
    let ident =
        |i: usize, name: &str| matches!(tokens.get(i), Some((_, Token::Ident(s))) if s == name);
    let sep = |i: usize| matches!(tokens.get(i), Some((_, Token::PathSep)));
    let mut found = Vec::new();
    // Inline `mod name { ... }` blocks: (name, brace depth inside them).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut opens_module: Option<String> = None;
    for i in 0..tokens.len() {
        match &tokens[i].1 {
            Token::Punct('{') => {
                depth += 1;
                if let Some(name) = opens_module.take() {
                    inline.push((name, depth));
                }
            }
            Token::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Token::Ident(s) if s == "mod" => {
                if let (Some((_, Token::Ident(name))), Some((_, Token::Punct('{')))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                {
                    opens_module = Some(name.clone());
                }
            }
            _ => {}
        }
        let starts_path = i == 0 || !sep(i - 1);
        if !starts_path || !sep(i + 1) {
            continue;
        }
        let (anchor, rest) = if ident(i, "crate") {
            ("crate::".to_owned(), i + 2)
        } else if ident(i, "super") {
            let mut supers = 0;
            let mut k = i;
            while ident(k, "super") && sep(k + 1) {
                supers += 1;
                k += 2;
            }
            let depth_here = module.len() + inline.len();
            if supers < depth_here {
                continue; // still inside the top-level module
            }
            ("super::".repeat(supers), k)
        } else {
            continue;
        };
        found.extend(root_names(tokens, rest).into_iter().map(|(offset, name)| {
            let written = if tokens.get(rest).map(|(o, _)| *o) == Some(offset) {
                format!("{anchor}{name}")
            } else {
                format!("{anchor}{{.., {name}, ..}}")
            };
            RootReference {
                offset,
                name,
                written,
            }
        }));
    }
    found
}

/// The root-level names a path continues with at token `at`: one name, or
/// the first segment of each member of a `{...}` group.
fn root_names(tokens: &[(usize, Token)], at: usize) -> Vec<(usize, String)> {
    let name = |(offset, token): &(usize, Token)| match token {
        Token::Ident(s) => Some((*offset, s.clone())),
        Token::Punct('*') => Some((*offset, "*".to_owned())),
        _ => None,
    };
    match tokens.get(at) {
        Some((_, Token::Punct('{'))) => {
            let mut names = Vec::new();
            let mut depth = 0;
            let mut member_start = true;
            for token in &tokens[at..] {
                match token.1 {
                    Token::Punct('{') => depth += 1,
                    Token::Punct('}') if depth == 1 => break,
                    Token::Punct('}') => depth -= 1,
                    Token::Punct(',') if depth == 1 => {
                        member_start = true;
                        continue;
                    }
                    _ => {}
                }
                if member_start && depth == 1 && token.1 != Token::Punct('{') {
                    names.extend(name(token));
                    member_start = false;
                }
            }
            names
        }
        Some(token) => name(token).into_iter().collect(),
        None => Vec::new(),
    }
}

/// Names `lib.rs` brings into the root with `use`, mapped to the top-level
/// module they come from (`Fleet` -> `fleet`).
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let tokens = tokens(&code_only(lib));
    let mut map = BTreeMap::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].1 != Token::Ident("use".to_owned()) {
            i += 1;
            continue;
        }
        let end = (i..tokens.len())
            .find(|&k| tokens[k].1 == Token::Punct(';'))
            .unwrap_or(tokens.len());
        let statement = &tokens[i + 1..end];
        let module = statement.iter().find_map(|(_, t)| match t {
            Token::Ident(s) if !["crate", "self"].contains(&s.as_str()) => Some(s.clone()),
            _ => None,
        });
        if let Some(module) = module {
            // A leaf (or its `as` alias) is the name followed by `,`, `}`
            // or the end of the statement.
            for (k, (_, token)) in statement.iter().enumerate() {
                let closes = matches!(
                    statement.get(k + 1).map(|(_, t)| t),
                    None | Some(Token::Punct(',' | '}'))
                );
                if let (Token::Ident(name), true) = (token, closes) {
                    if name != "self" {
                        map.insert(name.clone(), module.clone());
                    }
                }
            }
        }
        i = end + 1;
    }
    map
}

/// Identifiers, `::` and single punctuation, with their byte offsets.
fn tokens(code: &str) -> Vec<(usize, Token)> {
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
        } else if is_ident(b) {
            let start = i;
            while i < bytes.len() && is_ident(bytes[i]) {
                i += 1;
            }
            out.push((start, Token::Ident(code[start..i].to_owned())));
        } else if code[i..].starts_with("::") {
            out.push((i, Token::PathSep));
            i += 2;
        } else {
            out.push((i, Token::Punct(char::from(b))));
            i += 1;
        }
    }
    out
}

/// `text` with comments, string and character literals replaced by spaces
/// (newlines kept, so offsets and line numbers still match).
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = chars.clone();
    let blank = |out: &mut Vec<char>, from: usize, to: usize| {
        for c in &mut out[from..to.min(chars.len())] {
            if *c != '\n' {
                *c = ' ';
            }
        }
    };
    let ident_char = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < chars.len() {
        let at = |k: usize| chars.get(k).copied().unwrap_or('\0');
        let end = if at(i) == '/' && at(i + 1) == '/' {
            (i..chars.len())
                .find(|&k| chars[k] == '\n')
                .unwrap_or(chars.len())
        } else if at(i) == '/' && at(i + 1) == '*' {
            let (mut k, mut nesting) = (i + 2, 1);
            while k < chars.len() && nesting > 0 {
                if at(k) == '/' && at(k + 1) == '*' {
                    nesting += 1;
                    k += 2;
                } else if at(k) == '*' && at(k + 1) == '/' {
                    nesting -= 1;
                    k += 2;
                } else {
                    k += 1;
                }
            }
            k
        } else if at(i) == 'r'
            && (i == 0 || !ident_char(at(i - 1)) || matches!(at(i - 1), 'b' | 'c'))
            && matches!(at(i + 1), '#' | '"')
        {
            // r"..." or r#"..."#: no escapes, ends at `"` and as many `#`.
            let hashes = (i + 1..chars.len())
                .take_while(|&k| chars[k] == '#')
                .count();
            if at(i + 1 + hashes) != '"' {
                i += 1;
                continue; // r#ident
            }
            let closing: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let body = i + 2 + hashes;
            (body..chars.len())
                .find(|&k| chars[k..].starts_with(&closing))
                .map_or(chars.len(), |k| k + closing.len())
        } else if at(i) == '"' {
            let mut k = i + 1;
            while k < chars.len() && chars[k] != '"' {
                k += if chars[k] == '\\' { 2 } else { 1 };
            }
            k + 1
        } else if at(i) == '\'' && at(i + 1) == '\\' {
            // '\n', '\'', '\u{..}': the escaped character, then up to `'`.
            (i + 3..chars.len())
                .find(|&k| chars[k] == '\'')
                .map_or(chars.len(), |k| k + 1)
        } else if at(i) == '\'' && at(i + 2) == '\'' {
            i + 3 // 'x' (a lifetime 'a has no closing quote there)
        } else {
            i += 1;
            continue;
        };
        blank(&mut out, i, end);
        i = end;
    }
    // Blanking keeps every char, but a multi-byte char became one space:
    // map back to byte offsets by rebuilding with the original widths.
    out.iter()
        .zip(&chars)
        .map(|(new, old)| {
            if new == old {
                old.to_string()
            } else {
                " ".repeat(old.len_utf8())
            }
        })
        .collect()
}

/// The module path of a file under `src` (`["control", "burst"]`), empty for
/// `lib.rs`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("collected under src/");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.strip_suffix(".rs").unwrap_or(&last);
    if !(parts.is_empty() && stem == "lib") && stem != "mod" {
        parts.push(stem.to_owned());
    }
    parts
}

fn collect_rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect_rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}
