//! Recorded answers (`recorded_answers` in a profile, written by `mockdet
//! record`): the real detector's 200 bodies (answered as JSON with 200), filed by request path and
//! request key. A request found there whose fate is a success gets that
//! body, byte for byte; the rest are synthesized as usual. Both are
//! counted in `mockdet_recorded_answers_total{event="replayed"|"synthesized"}`.
//!
//! The file is NDJSON, one answer per line:
//! `{"path": "/api/v1/text/contents", "key": "<16 hex digits>", "status": 200, "body": "…"}`.

use std::collections::HashMap;
use std::path::Path;

use axum::body::Bytes;
use serde::Deserialize;

use crate::profile::ProfileError;
use crate::sampling::RequestKey;

/// The most answers a file may hold.
pub(crate) const MAX_ANSWERS: usize = 1_000_000;

/// One line of the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    path: String,
    key: String,
    status: u16,
    body: String,
}

/// The answers, by path and key.
#[derive(Debug, Default)]
pub(crate) struct RecordedAnswers {
    /// By path, then key: a lookup per request allocates nothing.
    by_request: HashMap<String, HashMap<RequestKey, Bytes>>,
}

impl RecordedAnswers {
    /// Loads `path`; errors name the file, the line and the field.
    pub(crate) fn load(path: &Path) -> Result<Self, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    fn parse(text: &str, origin: &str) -> Result<Self, ProfileError> {
        let invalid = |line: usize, reason: String| ProfileError::Invalid {
            origin: origin.to_owned(),
            field: format!("recorded_answers, line {line}"),
            reason,
        };
        let mut by_request: HashMap<String, HashMap<RequestKey, Bytes>> = HashMap::new();
        let mut count = 0;
        for (index, raw) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let number = index + 1;
            if count >= MAX_ANSWERS {
                return Err(invalid(number, format!("more than {MAX_ANSWERS} answers")));
            }
            let line: Line =
                serde_json::from_str(raw).map_err(|e| invalid(number, e.to_string()))?;
            let key: RequestKey = line.key.parse().map_err(|e: String| invalid(number, e))?;
            if line.status != 200 {
                return Err(invalid(
                    number,
                    format!(
                        "status {} is not 200: only 200 answers are replayed (as JSON, with 200)",
                        line.status
                    ),
                ));
            }
            let paths = by_request.entry(line.path).or_default();
            if paths.insert(key, Bytes::from(line.body)).is_none() {
                count += 1;
            }
        }
        Ok(Self { by_request })
    }

    /// The recorded body for `path` and `key`, if any.
    pub(crate) fn get(&self, path: &str, key: RequestKey) -> Option<Bytes> {
        self.by_request.get(path)?.get(&key).cloned()
    }

    /// How many answers there are.
    pub(crate) fn len(&self) -> usize {
        self.by_request.values().map(HashMap::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_filed_by_path_and_key() {
        let key = RequestKey::new(Some(("x-correlation-id", "a")), None);
        let text = format!(
            "{{\"path\":\"/analyze\",\"key\":\"{key}\",\"status\":200,\"body\":\"{{\\\"ok\\\":1}}\"}}\n\n"
        );
        let answers = RecordedAnswers::parse(&text, "answers.ndjson").unwrap();
        assert_eq!(answers.len(), 1);
        assert_eq!(
            answers.get("/analyze", key).unwrap(),
            Bytes::from("{\"ok\":1}")
        );
        assert!(answers.get("/detect", key).is_none());
    }

    #[test]
    fn bad_lines_are_named() {
        let cases = [
            ("{\"path\":\"/a\"}", "line 1", "missing field"),
            (
                "{\"path\":\"/a\",\"key\":\"zz\",\"status\":200,\"body\":\"\"}",
                "line 1",
                "not a request key",
            ),
            (
                "\n{\"path\":\"/a\",\"key\":\"00000000000000ff\",\"status\":503,\"body\":\"\"}",
                "line 2",
                "not 200",
            ),
        ];
        for (text, line, reason) in cases {
            let error = RecordedAnswers::parse(text, "a.ndjson")
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(&format!("recorded_answers, {line}")),
                "{error}"
            );
            assert!(error.contains(reason), "{error}");
        }
    }
}
