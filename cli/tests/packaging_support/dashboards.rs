//! The dashboards' PromQL: every query of monitoring/grafana/dashboards,
//! Grafana's variables substituted, and the metric names a query reads.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use super::root;

/// One query of a dashboard: where it is and its text.
#[derive(Debug, Clone)]
pub struct Query {
    pub place: String,
    pub expr: String,
}

/// Every PromQL expression of the three dashboards: panel targets and
/// annotations. Template variables (`label_values(metric, label)`) come
/// back as `label_values` queries with the metric as `expr`.
pub fn dashboard_queries() -> (Vec<Query>, Vec<Query>) {
    let dir = root().join("monitoring/grafana/dashboards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "three dashboards in {}", dir.display());
    let mut exprs = Vec::new();
    let mut variables = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a dashboard reads");
        let dashboard: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", file.display()));
        let title = dashboard["title"].as_str().unwrap_or("?").to_owned();
        for panel in dashboard["panels"].as_array().into_iter().flatten() {
            let panel_title = panel["title"].as_str().unwrap_or("?");
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    exprs.push(Query {
                        place: format!("{title} / {panel_title} ({})", target["refId"]),
                        expr: expr.to_owned(),
                    });
                }
            }
        }
        for annotation in dashboard["annotations"]["list"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(expr) = annotation["expr"].as_str() {
                exprs.push(Query {
                    place: format!("{title} / annotation {}", annotation["name"]),
                    expr: expr.to_owned(),
                });
            }
        }
        for variable in dashboard["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let query = variable["query"]["query"]
                .as_str()
                .or_else(|| variable["query"].as_str())
                .unwrap_or("");
            let metric = query
                .strip_prefix("label_values(")
                .and_then(|rest| rest.split(',').next())
                .unwrap_or_else(|| {
                    panic!("{title}: variable query `{query}` is not label_values(metric, label)")
                });
            let label = query
                .split(',')
                .nth(1)
                .map(|l| l.trim().trim_end_matches(')').trim().to_owned())
                .expect("label_values(metric, label)");
            variables.push(Query {
                place: format!(
                    "{title} / variable ${}",
                    variable["name"].as_str().unwrap_or("?")
                ),
                expr: format!("{}|{label}", metric.trim()),
            });
        }
    }
    (exprs, variables)
}

/// Grafana's variables, replaced by what Prometheus can evaluate here.
pub fn substitute(expr: &str) -> String {
    let pattern = regex::Regex::new(r"\$\{?(\w+)\}?").expect("static regex");
    pattern
        .replace_all(expr, |c: &regex::Captures<'_>| match &c[1] {
            "__rate_interval" => "1m".to_owned(),
            "__interval" => "15s".to_owned(),
            "__range" => "5m".to_owned(),
            "detector" => ".*".to_owned(),
            other => panic!("the test does not know the Grafana variable ${other} in `{expr}`"),
        })
        .into_owned()
}

/// Words in PromQL that are not metric names when not followed by `(`.
pub const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "inf",
    "nan",
];

/// The metric names a PromQL expression reads: identifiers that are not
/// functions or aggregations (followed by `(`), not keywords, not label
/// names (inside `{}` or a `by (...)` clause), not in strings or ranges.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    // Strings first (they may hold braces), then matchers and ranges.
    let mut bare = String::new();
    let mut chars = expr.chars().peekable();
    let mut closing: Option<char> = None;
    while let Some(c) = chars.next() {
        match (closing, c) {
            (Some('"' | '\'' | '`'), '\\') => {
                chars.next();
            }
            (Some(end), c) if c == end => closing = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => closing = Some(c),
            (None, '{') => closing = Some('}'),
            (None, '[') => closing = Some(']'),
            (None, c) => bare.push(c),
        }
    }
    let grouping =
        regex::Regex::new(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
            .expect("static regex");
    let bare = grouping.replace_all(&bare, " ");
    let chars: Vec<char> = bare.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let word_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
        if c.is_ascii_digit() || c == '.' || c == '$' {
            // A number, a duration or a leftover variable: not a name.
            i += 1;
            while i < chars.len() && (word_char(chars[i]) || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && word_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            if next != Some(&'(') && !KEYWORDS.contains(&word.to_ascii_lowercase().as_str()) {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}
