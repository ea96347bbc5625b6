//! The wire protocols a detector speaks, as data: which endpoint belongs to
//! which [`Protocol`], its path and metric label ([`Endpoint`]), and which
//! [`Wire`](super::pipeline::Wire) — a request parser and a renderer —
//! serves it ([`dispatch`]). Every protocol runs on the one pipeline, so
//! latency, faults, outages, next-N, scripts, bursts, overrides, the seed,
//! the journal and the metrics apply to each the same way.
//!
//! - `native`: `/detect`, `/analyze` with `content`, `/detect/batch`;
//! - `fms`: the FMS Detector API (`/api/v1/text/{contents,generation,chat,context/doc}`);
//! - `openai`: `POST /v1/moderations`;
//! - `azure`: `POST /contentsafety/text:analyze`;
//! - `presidio`: `POST /analyze` with `text` (see `analyze` for how the two
//!   `/analyze` bodies are told apart), `GET /supportedentities`, `/recognizers`;
//! - `litellm`: `POST /beta/litellm_basic_guardrail_api`.
//!
//! What each protocol reports for a finding is one table (`mapping`); how
//! each writes an error is `errors`; `spans` turns byte offsets into the
//! character offsets the FMS and Presidio clients index by.

mod analyze;
mod azure;
#[cfg(feature = "openapi")]
pub(crate) mod contract;
pub(crate) mod errors;
mod fms;
mod litellm;
pub(crate) mod mapping;
pub(crate) mod native;
pub(crate) mod openai;
pub(crate) mod presidio;
mod spans;

use std::sync::Arc;

use axum::BoxError;
use axum::body::{Bytes, HttpBody};
use axum::http::Method;
use axum::response::Response;

use super::DetectorState;
use super::conn::Arrival;
use super::pipeline;
use crate::profile::Protocol;

/// A detection endpoint: a metric label, a path and the protocol it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Detect,
    /// `/analyze` before its body says which protocol it is.
    Analyze,
    Batch,
    FmsContents,
    FmsGeneration,
    FmsChat,
    FmsContextDoc,
    OpenaiModerations,
    AzureAnalyzeText,
    /// `/analyze` with a Presidio body.
    PresidioAnalyze,
    LitellmGuardrail,
    /// Anything else (refused requests outside the detection endpoints).
    Other,
}

/// `(endpoint, metric label, path, protocol)`: the one table of endpoints.
const TABLE: [(Endpoint, &str, &str, Protocol); 12] = [
    (Endpoint::Detect, "detect", "/detect", Protocol::Native),
    (Endpoint::Analyze, "analyze", "/analyze", Protocol::Native),
    (Endpoint::Batch, "batch", "/detect/batch", Protocol::Native),
    (
        Endpoint::FmsContents,
        "fms_contents",
        "/api/v1/text/contents",
        Protocol::Fms,
    ),
    (
        Endpoint::FmsGeneration,
        "fms_generation",
        "/api/v1/text/generation",
        Protocol::Fms,
    ),
    (
        Endpoint::FmsChat,
        "fms_chat",
        "/api/v1/text/chat",
        Protocol::Fms,
    ),
    (
        Endpoint::FmsContextDoc,
        "fms_context_doc",
        "/api/v1/text/context/doc",
        Protocol::Fms,
    ),
    (
        Endpoint::OpenaiModerations,
        "openai_moderations",
        "/v1/moderations",
        Protocol::Openai,
    ),
    (
        Endpoint::AzureAnalyzeText,
        "azure_text_analyze",
        "/contentsafety/text:analyze",
        Protocol::Azure,
    ),
    (
        Endpoint::PresidioAnalyze,
        "presidio_analyze",
        "/analyze",
        Protocol::Presidio,
    ),
    (
        Endpoint::LitellmGuardrail,
        "litellm_guardrail",
        "/beta/litellm_basic_guardrail_api",
        Protocol::Litellm,
    ),
    (Endpoint::Other, "other", "", Protocol::Native),
];

impl Endpoint {
    /// Every endpoint, in table order.
    pub(crate) const ALL: [Endpoint; TABLE.len()] = {
        let mut all = [Endpoint::Other; TABLE.len()];
        let mut i = 0;
        while i < TABLE.len() {
            all[i] = TABLE[i].0;
            i += 1;
        }
        all
    };

    fn row(self) -> &'static (Endpoint, &'static str, &'static str, Protocol) {
        // The table lists every variant once, in declaration order.
        &TABLE[self as usize]
    }

    /// The metric label (`endpoint`).
    pub(crate) fn as_str(self) -> &'static str {
        self.row().1
    }

    /// The request path (empty for `Other`).
    pub(crate) fn path(self) -> &'static str {
        self.row().2
    }

    /// The protocol it belongs to (`/analyze` counts as native until its
    /// body says otherwise).
    pub(crate) fn protocol(self) -> Protocol {
        self.row().3
    }

    /// The detection endpoint `POST path` reaches, if any.
    pub(crate) fn for_post(method: &Method, path: &str) -> Option<Endpoint> {
        if method != Method::POST {
            return None;
        }
        TABLE
            .iter()
            .find(|(endpoint, _, p, _)| {
                *p == path && !matches!(endpoint, Endpoint::PresidioAnalyze | Endpoint::Other)
            })
            .map(|row| row.0)
    }

    /// The endpoints a `POST` is routed to, with their paths.
    pub(crate) fn routed() -> impl Iterator<Item = (Endpoint, &'static str)> {
        TABLE
            .iter()
            .filter(|(e, ..)| !matches!(e, Endpoint::PresidioAnalyze | Endpoint::Other))
            .map(|(e, _, path, _)| (*e, *path))
    }
}

/// The protocol a path most likely belongs to, for refusing a request
/// outside the detection endpoints in its client's own error shape.
pub(crate) fn protocol_of_path(path: &str) -> Protocol {
    if path.starts_with("/api/v1/") {
        Protocol::Fms
    } else if path.starts_with("/v1/") {
        Protocol::Openai
    } else if path.starts_with("/contentsafety/") {
        Protocol::Azure
    } else if path.starts_with("/beta/") {
        Protocol::Litellm
    } else {
        Protocol::Native
    }
}

/// Runs one detection request on `endpoint` through the pipeline with the
/// endpoint's wire.
pub(crate) async fn dispatch<B>(
    state: &Arc<DetectorState>,
    endpoint: Endpoint,
    request: axum::http::Request<B>,
    arrival: Option<&Arrival>,
) -> Response
where
    B: HttpBody<Data = Bytes> + Send,
    B::Error: Into<BoxError>,
{
    use pipeline::run;
    match endpoint {
        Endpoint::Detect => run(state, &native::Single(endpoint), request, arrival).await,
        Endpoint::Analyze | Endpoint::PresidioAnalyze => {
            run(state, &analyze::Analyze, request, arrival).await
        }
        Endpoint::Batch => run(state, &native::Batch, request, arrival).await,
        Endpoint::FmsContents => run(state, &fms::Contents, request, arrival).await,
        Endpoint::FmsGeneration | Endpoint::FmsChat | Endpoint::FmsContextDoc => {
            run(state, &fms::Whole(endpoint), request, arrival).await
        }
        Endpoint::OpenaiModerations => run(state, &openai::Moderations, request, arrival).await,
        Endpoint::AzureAnalyzeText => run(state, &azure::AnalyzeText, request, arrival).await,
        Endpoint::LitellmGuardrail => run(state, &litellm::Guardrail, request, arrival).await,
        Endpoint::Other => super::handlers::not_found_for(state, request.method(), request.uri()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_every_endpoint_in_declaration_order() {
        for (i, (endpoint, ..)) in TABLE.iter().enumerate() {
            assert_eq!(*endpoint as usize, i, "{endpoint:?}");
        }
        let labels: std::collections::HashSet<_> = TABLE.iter().map(|row| row.1).collect();
        assert_eq!(labels.len(), TABLE.len(), "labels are unique");
    }

    #[test]
    fn only_posts_to_detection_paths_are_detection_requests() {
        assert_eq!(
            Endpoint::for_post(&Method::POST, "/detect"),
            Some(Endpoint::Detect)
        );
        assert_eq!(
            Endpoint::for_post(&Method::POST, "/analyze"),
            Some(Endpoint::Analyze)
        );
        assert_eq!(
            Endpoint::for_post(&Method::POST, "/contentsafety/text:analyze"),
            Some(Endpoint::AzureAnalyzeText)
        );
        for (method, path) in [
            (Method::GET, "/detect"),
            (Method::PUT, "/analyze"),
            (Method::POST, "/detect/"),
            (Method::POST, "/health"),
            (Method::POST, "/"),
            (Method::POST, ""),
            (Method::GET, "/v1/moderations"),
        ] {
            assert_eq!(Endpoint::for_post(&method, path), None, "{method} {path}");
        }
        assert_eq!(Endpoint::routed().count(), TABLE.len() - 2);
    }

    #[test]
    fn unknown_paths_are_refused_in_the_shape_of_their_likely_protocol() {
        assert_eq!(protocol_of_path("/api/v1/text/nope"), Protocol::Fms);
        assert_eq!(protocol_of_path("/v1/chat/completions"), Protocol::Openai);
        assert_eq!(
            protocol_of_path("/contentsafety/image:analyze"),
            Protocol::Azure
        );
        assert_eq!(protocol_of_path("/beta/x"), Protocol::Litellm);
        assert_eq!(protocol_of_path("/nope"), Protocol::Native);
    }
}
