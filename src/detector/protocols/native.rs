//! mockdet's own detection protocol as [`Wire`]s: `POST /detect` and
//! `POST /analyze` (one `{content, content_type?, metadata?}` → one
//! DetectorResult) and `POST /detect/batch` (an array or `{"items": [...]}`
//! → `{results: [...]}`, each item succeeding or failing on its own).

use axum::body::Bytes;
use axum::http::StatusCode;

use axum::http::request::Parts;

use super::super::Snapshot;
use super::super::error::ApiError;
use super::super::pipeline::{Wire, Work};
use super::super::request::{DetectRequest, ItemError, batch_items, decode_json};
use super::super::response::{self, AnswerContext, Identity};
use super::Endpoint;
use crate::sampling::Plan;

/// `/detect` or `/analyze`: one content, one result.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Single(pub(crate) Endpoint);

impl Wire for Single {
    type Parsed = DetectRequest;

    fn endpoint(&self) -> Endpoint {
        self.0
    }

    fn parse(
        &self,
        snapshot: &Snapshot,
        _: &Parts,
        body: &[u8],
    ) -> Result<DetectRequest, ApiError> {
        DetectRequest::from_body(body, &snapshot.identity.detector_id)
    }

    fn work<'a>(&self, req: &'a DetectRequest) -> Work<'a> {
        Work {
            items: None,
            content_bytes: req.content.len(),
            correlation_id: req.body_correlation_id(),
        }
    }

    fn render(
        &self,
        id: &Identity,
        req: &DetectRequest,
        _plan: &Plan,
        ctx: &AnswerContext<'_>,
    ) -> Bytes {
        response::success_bytes(id, req, ctx)
    }
}

/// One batch item: a request, or why it could not be read.
type ParsedItem = Result<DetectRequest, ItemError>;

/// `/detect/batch`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Batch;

impl Wire for Batch {
    type Parsed = Vec<ParsedItem>;

    fn endpoint(&self) -> Endpoint {
        Endpoint::Batch
    }

    fn admit(&self, snapshot: &Snapshot, _: &Parts) -> Result<(), ApiError> {
        if snapshot.behaviour.batch.enabled {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "batch_disabled",
            format!(
                "detector `{}` does not batch; use /detect",
                snapshot.identity.name
            ),
            &snapshot.identity.detector_id,
        ))
    }

    fn parse(
        &self,
        snapshot: &Snapshot,
        _: &Parts,
        body: &[u8],
    ) -> Result<Vec<ParsedItem>, ApiError> {
        let id = &snapshot.identity.detector_id;
        let items = batch_items(decode_json(body, id)?, id)?;
        let max = snapshot.behaviour.batch.max_items;
        if items.len() > max {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_items",
                format!(
                    "{} items in one batch; at most {max} are accepted",
                    items.len()
                ),
                id,
            ));
        }
        Ok(items.into_iter().map(DetectRequest::from_value).collect())
    }

    fn work<'a>(&self, items: &'a Vec<ParsedItem>) -> Work<'a> {
        Work {
            items: Some(items.len()),
            content_bytes: items.iter().flatten().map(|r| r.content.len()).sum(),
            // A batch's items carry their own ids; only the header counts.
            correlation_id: None,
        }
    }

    fn render(
        &self,
        id: &Identity,
        items: &Vec<ParsedItem>,
        plan: &Plan,
        ctx: &AnswerContext<'_>,
    ) -> Bytes {
        let results = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let request_id = format!("{}-{i}", ctx.request_id);
                let failed = plan.failed_items.get(i).copied().unwrap_or(false);
                match item {
                    Err(error) => response::batch_item_error(id, &request_id, error),
                    Ok(_) if failed => {
                        response::batch_item_error(id, &request_id, &injected_failure(item))
                    }
                    Ok(req) => response::batch_item_success(id, req, ctx, &request_id),
                }
            })
            .collect();
        response::to_bytes(&response::batch_body(id, results))
    }
}

fn injected_failure(item: &ParsedItem) -> ItemError {
    ItemError {
        code: "injected_item_failure",
        message: "mockdet injected a failure for this item".into(),
        content_type: item.as_ref().ok().map(|r| r.content_type.clone()),
    }
}
