//! Loading profiles: serde defaults < the built-in or file (TOML or YAML) <
//! `MOCKDET_<NAME>_*` environment variables (nested keys split on `__`, see
//! [`env`](super::env)).
//!
//! For example `MOCKDET_FAILING_LATENCY__MAX=800` sets `latency.max` of the
//! `failing` profile, and `MOCKDET_SUCCESS_PORT=9001` moves `success`.
//!
//! The text is parsed into a JSON value, the environment is laid over it, and
//! the result is deserialized with unknown fields refused; errors name the
//! origin and the path of the offending key. (Hand-layered rather than
//! through figment, which would cost every fixture user its proc-macro
//! dependencies and a second `syn` for three providers.)

use std::path::Path;

use serde_json::Value;

use super::env::overlay_env;
use super::{DetectorProfile, Origin, ProfileError};

/// The two file formats a profile may come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Toml,
    Yaml,
}

/// Names of the built-in profiles, in fleet order.
pub const BUILTIN_NAMES: [&str; 5] = ["success", "variable", "failing", "timeout", "batch"];

/// The built-in profile files, embedded at build time.
const BUILTIN_FILES: [(&str, &str); 5] = [
    ("success", include_str!("../../profiles/success.toml")),
    ("variable", include_str!("../../profiles/variable.toml")),
    ("failing", include_str!("../../profiles/failing.toml")),
    ("timeout", include_str!("../../profiles/timeout.toml")),
    ("batch", include_str!("../../profiles/batch.toml")),
];

impl DetectorProfile {
    /// Loads a built-in profile (with its environment overrides applied).
    ///
    /// ```
    /// let failing = mockdet::DetectorProfile::builtin("failing").unwrap();
    /// assert_eq!(failing.detector_id, "mock-failing-detector");
    /// assert!(mockdet::DetectorProfile::builtin("nope").is_err());
    /// ```
    pub fn builtin(name: &str) -> Result<Self, ProfileError> {
        let (_, text) = BUILTIN_FILES
            .iter()
            .find(|(builtin, _)| *builtin == name)
            .ok_or_else(|| ProfileError::UnknownBuiltin {
                name: name.to_owned(),
            })?;
        load(text, Format::Toml, &format!("builtin:{name}"))
    }

    /// All five built-in profiles, in fleet order.
    pub fn builtins() -> Result<Vec<Self>, ProfileError> {
        BUILTIN_NAMES
            .iter()
            .map(|name| Self::builtin(name))
            .collect()
    }

    /// Loads a profile file, TOML or YAML by extension. Unknown fields and
    /// wrong types are rejected here; values (ranges, probabilities) are
    /// checked once, by [`validate`](Self::validate) or when a fleet starts,
    /// and those errors name this file and the field.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, ProfileError> {
        let path = path.as_ref();
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let format = match extension.to_ascii_lowercase().as_str() {
            "toml" => Format::Toml,
            "yaml" | "yml" => Format::Yaml,
            _ => {
                return Err(ProfileError::UnsupportedFormat {
                    path: path.to_owned(),
                });
            }
        };
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut profile = load(&text, format, &path.display().to_string())?;
        // Recorded answers sit beside the profile `mockdet record` wrote.
        if let Some(answers) = &profile.recorded_answers {
            let relative = Path::new(answers);
            if relative.is_relative() {
                let dir = path.parent().unwrap_or(Path::new(""));
                profile.recorded_answers = Some(dir.join(relative).display().to_string());
            }
        }
        Ok(profile)
    }

    /// Parses profile text directly (TOML), as a profile file would be.
    pub fn from_toml_str(text: &str) -> Result<Self, ProfileError> {
        load(text, Format::Toml, "inline profile")
    }

    /// Parses profile text directly (YAML), as a `.yaml` file would be.
    pub(crate) fn from_yaml_str(text: &str) -> Result<Self, ProfileError> {
        load(text, Format::Yaml, "inline profile")
    }
}

/// How deeply `[` and `{` may nest in a YAML profile (real ones need 3).
const MAX_YAML_NESTING: usize = 64;

/// Parses `text`, lays the profile's environment over it and deserializes.
fn load(text: &str, format: Format, origin: &str) -> Result<DetectorProfile, ProfileError> {
    let parse = |message: String| ProfileError::Parse {
        origin: origin.to_owned(),
        message,
    };
    let mut value: Value = match format {
        Format::Toml => toml::from_str(text).map_err(|e| parse(e.to_string()))?,
        Format::Yaml => {
            // The YAML parser refuses deep nesting too, but only after work
            // quadratic in the depth (38 s for 100,000 levels).
            if let Some(deep) = yaml_too_deep(text) {
                return Err(parse(deep));
            }
            serde_yaml::from_str(text).map_err(|e| parse(e.to_string()))?
        }
    };
    let name = match value.get("name") {
        Some(Value::String(name)) => name.clone(),
        Some(_) => return Err(parse("`name` must be a string".into())),
        None => return Err(parse("missing field `name`".into())),
    };
    overlay_env(&mut value, &env_prefix(&name), std::env::vars()).map_err(parse)?;
    let mut profile: DetectorProfile = serde_path_to_error::deserialize(value).map_err(|e| {
        let at = e.path().to_string();
        match at.as_str() {
            "." => parse(e.into_inner().to_string()),
            _ => parse(format!("{at}: {}", e.into_inner())),
        }
    })?;
    // Values are checked once, when a detector is built from the profile
    // (or by `validate`); errors then name this origin.
    profile.origin = Origin(Some(origin.to_owned()));
    Ok(profile)
}

/// Most `[` and `{` a YAML profile may hold, wherever they are (real
/// profiles hold a few dozen).
const MAX_YAML_BRACKETS: usize = 512;

/// Why `text` is refused before the YAML parser sees it, if it is.
fn yaml_too_deep(text: &str) -> Option<String> {
    if let Some(line) = yaml_nesting_past(text, MAX_YAML_NESTING) {
        return Some(format!(
            "line {line}: `[`/`{{` nested more than {MAX_YAML_NESTING} deep"
        ));
    }
    // The scan above reads quotes and comments by rule of thumb, which a
    // crafted file fools: in `[a'b, [[[...` the apostrophe opens no string,
    // yet the scan skips the rest of the line (23 s for 100,000 levels).
    // The parser's work is at most its tokens times the depth, and the depth
    // at most the number of brackets: this bound holds whatever the quoting.
    let brackets = text.bytes().filter(|b| matches!(b, b'[' | b'{')).count();
    (brackets > MAX_YAML_BRACKETS)
        .then(|| format!("more than {MAX_YAML_BRACKETS} `[`/`{{`: write long lists in block style"))
}

/// The line where flow collections first nest deeper than `limit`, if they
/// do; brackets inside quotes and comments do not count.
fn yaml_nesting_past(text: &str, limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (number, line) in text.lines().enumerate() {
        let mut quote = None;
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '#') => break,
                (None, '[' | '{') => {
                    depth += 1;
                    if depth > limit {
                        return Some(number + 1);
                    }
                }
                (None, ']' | '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    None
}

/// The environment prefix of a profile: `MOCKDET_<NAME>_`, upper-cased, with
/// anything but letters and digits turned into `_`.
pub(crate) fn env_prefix(name: &str) -> String {
    let upper: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("MOCKDET_{upper}_")
}

#[cfg(test)]
// figment::Jail's closures return figment's (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn env_prefix_is_upper_snake() {
        assert_eq!(env_prefix("failing"), "MOCKDET_FAILING_");
        assert_eq!(env_prefix("my-det.v2"), "MOCKDET_MY_DET_V2_");
    }

    #[test]
    fn environment_overrides_a_builtin() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MOCKDET_SUCCESS_PORT", "9101");
            jail.set_env("MOCKDET_SUCCESS_LATENCY__MAX", "650");
            let profile = DetectorProfile::builtin("success").expect("loads");
            assert_eq!(profile.port, 9101);
            assert_eq!(profile.latency.max, Some(650.0));
            Ok(())
        });
    }

    #[test]
    fn an_unknown_field_is_named_with_its_origin() {
        let err = DetectorProfile::from_toml_str(
            "name = \"x\"\ndetector_id = \"x\"\nport = 1\nlatnecy = 3\n[latency]\nmodel = \"fixed\"\nms = 1.0\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("inline profile") && err.contains("latnecy"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_value_is_named_with_its_file_when_checked() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "bad.toml",
                "name = \"bad\"\ndetector_id = \"b\"\nport = 1\n[latency]\nmodel = \"uniform\"\nmin = 5.0\nmax = 1.0\n",
            )?;
            let profile = DetectorProfile::from_path("bad.toml").expect("parses");
            let err = profile.validate().unwrap_err().to_string();
            assert!(err.contains("bad.toml") && err.contains("latency"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn deep_yaml_nesting_is_refused_at_once() {
        let deep = format!("x: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(yaml_nesting_past(&deep, 64), Some(1));
        let fine = "a: [1, {b: [2]}]\nc: \"[[[[[[\"\n# [[[[[[[[\n";
        assert_eq!(yaml_nesting_past(fine, 3), None);
    }

    #[test]
    fn deep_nesting_that_fools_the_quote_scan_is_refused_too() {
        // A quote or `#` inside a word starts no string or comment in YAML,
        // but the scan takes it for one and skips the rest of the line.
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        for fooled in ["x: [a'b, ", "x: [a\"b, ", "x: [a#b, "] {
            let text = format!("{fooled}{deep}]\n");
            assert!(yaml_too_deep(&text).is_some(), "{fooled}");
        }
        let flow = "f: [{a: [1, 2]}, {b: {c: 3}}]\n".repeat(100);
        assert_eq!(yaml_too_deep(&flow), None);
    }

    #[test]
    fn a_missing_file_names_the_path() {
        let err = DetectorProfile::from_path("/nonexistent/p.toml").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/p.toml"), "{err}");
    }

    #[test]
    fn a_yaml_file_loads() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "mine.yaml",
                "name: mine\ndetector_id: my-detector\nport: 9000\nlatency:\n  model: uniform\n  min: 10\n  max: 20\nfaults:\n  - kind: http_error\n    status: 503\n    probability: 0.25\n",
            )?;
            let profile = DetectorProfile::from_path("mine.yaml").expect("loads");
            assert_eq!(profile.detector_id, "my-detector");
            assert_eq!(profile.faults.len(), 1);
            Ok(())
        });
    }
}
