//! The orchestrator's API, as far as the audit needs it: where a detection
//! request goes, its body, and what an answer says about coverage.
//!
//! Three shapes: the seed suite's `/orchestrate` (CONTRACT §5), its
//! `/api/v1/orchestrate`, and the FMS guardrails orchestrator's
//! `/api/v2/text/detection/content`. The first two report partial results
//! (206 / `coverage_achieved`); the FMS API has no partial form: a detector
//! failure fails the whole call with an error status.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Which API the orchestrator under audit speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// `POST /orchestrate` (the seed suite's contract).
    #[default]
    Seed,
    /// `POST /api/v1/orchestrate` with `detector_types`.
    ApiV1,
    /// `POST /api/v2/text/detection/content` (fms-guardrails-orchestrator).
    FmsV2,
}

impl Shape {
    /// Every shape, for messages.
    pub const ALL: [Shape; 3] = [Shape::Seed, Shape::ApiV1, Shape::FmsV2];

    /// The name used on the command line and in configs.
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Seed => "seed",
            Shape::ApiV1 => "api_v1",
            Shape::FmsV2 => "fms_v2",
        }
    }

    /// The detection path.
    pub fn path(self) -> &'static str {
        match self {
            Shape::Seed => "/orchestrate",
            Shape::ApiV1 => "/api/v1/orchestrate",
            Shape::FmsV2 => "/api/v2/text/detection/content",
        }
    }

    /// Whether answers can say "some detectors failed" (206, coverage).
    pub fn reports_partial_results(self) -> bool {
        !matches!(self, Shape::FmsV2)
    }

    /// The body of one detection request for `content`, naming `detectors`
    /// where the shape names them (the seed shape selects by content type).
    pub(crate) fn body(self, content: &str, detectors: &[String], tenant: &str) -> Value {
        match self {
            Shape::Seed => json!({
                "content": content,
                "content_type": "text",
                "tenant_id": tenant,
                "processing_mode": "sync",
                "priority": "normal",
            }),
            Shape::ApiV1 => json!({"content": content, "detector_types": detectors}),
            Shape::FmsV2 => {
                let named: Map<String, Value> = detectors
                    .iter()
                    .map(|d| (d.clone(), Value::Object(Map::new())))
                    .collect();
                json!({"content": content, "detectors": named})
            }
        }
    }

    /// Reads an answer: `status` and its body, `elapsed` after sending.
    pub(crate) fn read(self, status: u16, body: &[u8], elapsed: Duration) -> Answer {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let data = match (self, parsed.as_ref()) {
            (Shape::ApiV1, Some(v)) => v.get("data"),
            (_, v) => v,
        };
        let coverage = data
            .and_then(|d| d.get("coverage_achieved"))
            .and_then(Value::as_f64);
        let coverage = match self {
            // The FMS API claims every detector answered when it says 200.
            Shape::FmsV2 if (200..300).contains(&status) => Some(1.0),
            Shape::FmsV2 => None,
            _ => coverage,
        };
        // An error answer says why: keep its start for the report.
        let error = (!(200..300).contains(&status)).then(|| excerpt(body));
        Answer {
            status: Some(status),
            elapsed,
            coverage,
            json: parsed.is_some(),
            error,
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Shape {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.replace('-', "_");
        Shape::ALL
            .into_iter()
            .find(|s| s.as_str() == wanted)
            .ok_or_else(|| format!("unknown shape {text:?}: expected seed, api_v1 or fms_v2"))
    }
}

/// What the orchestrator answered to one request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// The HTTP status; `None` when no answer came (see `error`).
    pub status: Option<u16>,
    /// Time from sending to the whole answer.
    #[serde(rename = "elapsed_ms", serialize_with = "crate::report::as_ms")]
    pub elapsed: Duration,
    /// The coverage the answer claims (1.0 = every detector answered), when
    /// it says.
    pub coverage: Option<f64>,
    /// Whether the body was JSON.
    pub json: bool,
    /// The transport error when there was no answer; the start of the
    /// body (at most 300 bytes) of an error answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Answer {
    /// No answer: a transport error or the audit's own timeout.
    pub(crate) fn failed(error: String, elapsed: Duration) -> Self {
        Self {
            status: None,
            elapsed,
            coverage: None,
            json: false,
            error: Some(error),
        }
    }

    /// A 5xx, or no answer at all.
    pub(crate) fn is_server_error(&self) -> bool {
        self.status.is_none_or(|s| s >= 500)
    }

    /// 2xx claiming every detector answered (or not saying otherwise).
    pub(crate) fn claims_full_coverage(&self) -> bool {
        self.status
            .is_some_and(|s| (200..300).contains(&s) && s != 206)
            && self.coverage.is_none_or(|c| c >= 1.0)
    }

    /// A 2xx (206 included) that says some detector did not answer.
    pub(crate) fn reports_partial(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
            && (self.status == Some(206) || self.coverage.is_some_and(|c| c < 1.0))
    }

    /// One line: `206 coverage 0.80 in 2003 ms`, with the body's start
    /// for an error answer.
    pub(crate) fn describe(&self) -> String {
        let mut line = match (self.status, &self.error) {
            (Some(status), _) => status.to_string(),
            (None, Some(error)) => format!("no answer ({error})"),
            (None, None) => "no answer".to_owned(),
        };
        if let Some(coverage) = self.coverage {
            line.push_str(&format!(" coverage {coverage:.2}"));
        }
        line.push_str(&format!(" in {} ms", self.elapsed.as_millis()));
        if let (Some(_), Some(body)) = (self.status, &self.error) {
            line.push_str(&format!(": {body}"));
        }
        line
    }
}

/// The first 300 bytes of a body as text (cut at a character boundary).
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut end = text.len().min(300);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_parse_with_dashes_or_underscores() {
        assert_eq!("api-v1".parse::<Shape>(), Ok(Shape::ApiV1));
        assert_eq!("fms_v2".parse::<Shape>(), Ok(Shape::FmsV2));
        assert!("graphql".parse::<Shape>().unwrap_err().contains("seed"));
    }

    #[test]
    fn bodies_name_detectors_where_the_shape_does() {
        let ids = vec!["a".to_owned(), "b".to_owned()];
        let fms = Shape::FmsV2.body("hi", &ids, "t");
        assert_eq!(
            fms,
            json!({"content": "hi", "detectors": {"a": {}, "b": {}}})
        );
        let v1 = Shape::ApiV1.body("hi", &ids, "t");
        assert_eq!(v1["detector_types"], json!(["a", "b"]));
        let seed = Shape::Seed.body("hi", &ids, "t");
        assert_eq!(seed["content_type"], "text");
        assert!(seed.get("required_detectors").is_none());
    }

    #[test]
    fn answers_say_whether_coverage_was_partial() {
        let ms = Duration::from_millis(5);
        let partial = Shape::Seed.read(206, br#"{"coverage_achieved": 0.8}"#, ms);
        assert!(partial.reports_partial() && !partial.claims_full_coverage());
        let full = Shape::ApiV1.read(200, br#"{"data": {"coverage_achieved": 1.0}}"#, ms);
        assert!(full.claims_full_coverage() && !full.reports_partial());
        let fms_ok = Shape::FmsV2.read(200, br#"{"detections": []}"#, ms);
        assert!(fms_ok.claims_full_coverage());
        let fms_err = Shape::FmsV2.read(503, br#"{"code": 503, "message": "x"}"#, ms);
        assert!(fms_err.is_server_error() && !fms_err.claims_full_coverage());
        assert_eq!(
            fms_err.describe(),
            r#"503 in 5 ms: {"code": 503, "message": "x"}"#
        );
        let long = Shape::Seed.read(500, "é".repeat(400).as_bytes(), ms);
        assert_eq!(long.error.unwrap().len(), 300);
        let lost = Answer::failed("reset".into(), ms);
        assert!(lost.is_server_error());
        assert_eq!(lost.describe(), "no answer (reset) in 5 ms");
    }
}
