//! `/admin/*`: runtime control over HTTP — profile, outages, next-N faults,
//! scripts, clearing, reset and the request journal.
//!
//! Access: on a loopback bind the API is open unless a token is set; on any
//! other bind it needs `Authorization: Bearer <token>` and is disabled (403)
//! when no token is set. Tokens are compared in constant time.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::DetectorState;
use super::error::ApiError;
use super::pipeline;
use crate::control::ControlError;
use crate::control::journal::JournalEntry;
use crate::profile::{DetectorProfile, ProfileError};
use crate::profile::{NextFaults, Outage, Script};

/// Largest admin request body.
const ADMIN_BODY_LIMIT: usize = 1024 * 1024;

/// Who may use the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AdminAccess {
    /// Anyone (loopback bind, no token).
    Open,
    /// Requests with `Authorization: Bearer <token>`.
    Token(String),
    /// Nobody: bound beyond loopback with no token set.
    Disabled,
}

impl AdminAccess {
    /// The access rule for a detector bound to `ip`.
    pub(crate) fn for_bind(ip: IpAddr, token: Option<String>) -> Self {
        match token {
            Some(token) if !token.is_empty() => AdminAccess::Token(token),
            _ if ip.is_loopback() => AdminAccess::Open,
            _ => AdminAccess::Disabled,
        }
    }
}

/// The `/admin` routes, behind the access check.
pub(crate) fn router(state: Arc<DetectorState>) -> Router<Arc<DetectorState>> {
    Router::new()
        .route(
            "/profile",
            get(get_profile).put(put_profile).patch(patch_profile),
        )
        .route("/outage", post(outage))
        .route("/next", post(next))
        .route("/script", post(start_script).get(script_status))
        .route("/faults", delete(clear_faults))
        .route("/reset", post(reset))
        .route("/requests", get(requests))
        .route_layer(axum::middleware::from_fn_with_state(state, authorize))
}

async fn authorize(
    State(state): State<Arc<DetectorState>>,
    request: Request,
    next: Next,
) -> Response {
    let id = state.current().identity.detector_id.clone();
    match &state.admin {
        AdminAccess::Open => next.run(request).await,
        AdminAccess::Disabled => ApiError::new(
            StatusCode::FORBIDDEN,
            "admin_disabled",
            "the admin API is off on a non-loopback bind without a token; \
             start mockdet with --admin-token (or MOCKDET_ADMIN_TOKEN) to enable it",
            &id,
        )
        .into_response(),
        AdminAccess::Token(token) => {
            let offered = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(bearer_token)
                .unwrap_or("");
            if bool::from(offered.as_bytes().ct_eq(token.as_bytes())) {
                next.run(request).await
            } else {
                let mut response = ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "the admin API needs Authorization: Bearer <token>",
                    &id,
                )
                .into_response();
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    "Bearer".parse().expect("static value"),
                );
                response
            }
        }
    }
}

/// The token of an `Authorization: Bearer <token>` value; the scheme is
/// case-insensitive (RFC 7235), so `bearer` and `BEARER` count too.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start_matches(' '))
}

fn bad(state: &DetectorState, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        code,
        message,
        &state.current().identity.detector_id,
    )
}

/// Reads and decodes a JSON body of type `T`: 413 `body_too_large` past
/// the admin limit, 400 for a body that cannot be read or decoded.
async fn body<T: DeserializeOwned>(state: &DetectorState, request: Request) -> Result<T, ApiError> {
    let (parts, body) = request.into_parts();
    let id = state.current().identity.detector_id.clone();
    let read_by = (state.read_timeout(), tokio::time::Instant::now());
    let bytes = pipeline::read_body(&parts, body, ADMIN_BODY_LIMIT, read_by, &id).await?;
    super::request::object_from_slice(&bytes).map_err(|e| bad(state, "invalid_body", e.to_string()))
}

fn control_error(state: &DetectorState, e: ControlError) -> ApiError {
    bad(state, "invalid_control", e.to_string())
}

fn profile_error(state: &DetectorState, e: ProfileError) -> ApiError {
    bad(state, "invalid_profile", e.to_string())
}

fn ok(extra: Value) -> Response {
    let mut body = json!({"ok": true});
    if let (Some(map), Value::Object(more)) = (body.as_object_mut(), extra) {
        map.extend(more);
    }
    axum::Json(body).into_response()
}

async fn get_profile(State(state): State<Arc<DetectorState>>) -> Response {
    axum::Json(&state.current().profile).into_response()
}

async fn put_profile(
    State(state): State<Arc<DetectorState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let profile: DetectorProfile = body(&state, request).await?;
    state
        .set_profile(profile)
        .map_err(|e| profile_error(&state, e))?;
    Ok(ok(json!({"profile": state.current().profile})))
}

async fn patch_profile(
    State(state): State<Arc<DetectorState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let patch: Value = body(&state, request).await?;
    let mut merged = serde_json::to_value(&state.current().profile)
        .map_err(|e| bad(&state, "invalid_profile", e.to_string()))?;
    merge_patch(&mut merged, patch);
    let profile: DetectorProfile = serde_json::from_value(merged)
        .map_err(|e| bad(&state, "invalid_profile", e.to_string()))?;
    state
        .set_profile(profile)
        .map_err(|e| profile_error(&state, e))?;
    Ok(ok(json!({"profile": state.current().profile})))
}

/// RFC 7386 JSON merge patch: objects merge, `null` deletes, the rest replaces.
///
/// Written here rather than taken from `json-patch` (its `merge` does the
/// same): RFC 7386 is these fifteen lines, and the crate would add itself and
/// `jsonptr` to what every fixture user compiles, for RFC 6902 support the
/// admin API does not offer.
pub(crate) fn merge_patch(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(fields) => {
            if !target.is_object() {
                *target = Value::Object(serde_json::Map::new());
            }
            let Some(map) = target.as_object_mut() else {
                return;
            };
            for (key, value) in fields {
                if value.is_null() {
                    map.remove(&key);
                } else {
                    merge_patch(map.entry(key).or_insert(Value::Null), value);
                }
            }
        }
        other => *target = other,
    }
}

async fn outage(
    State(state): State<Arc<DetectorState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let outage: Outage = body(&state, request).await?;
    state
        .open_outage(outage.clone())
        .map_err(|e| control_error(&state, e))?;
    Ok(ok(json!({"outage": outage})))
}

async fn next(
    State(state): State<Arc<DetectorState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let mut raw: Value = body(&state, request).await?;
    // The probability of a forced fault is meaningless; let it be left out.
    if let Some(fault) = raw.get_mut("fault").and_then(Value::as_object_mut) {
        fault.entry("probability").or_insert(json!(1.0));
    }
    let next: NextFaults =
        serde_json::from_value(raw).map_err(|e| bad(&state, "invalid_body", e.to_string()))?;
    state
        .fail_next(next.clone())
        .map_err(|e| control_error(&state, e))?;
    Ok(ok(json!({"next": next})))
}

async fn start_script(
    State(state): State<Arc<DetectorState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let script: Script = body(&state, request).await?;
    state
        .run_script(script)
        .map_err(|e| control_error(&state, e))?;
    Ok(ok(json!({"script": state.control.script_status()})))
}

async fn script_status(State(state): State<Arc<DetectorState>>) -> Response {
    let status = state.control.script_status();
    axum::Json(json!({"running": status.is_some(), "status": status})).into_response()
}

async fn clear_faults(State(state): State<Arc<DetectorState>>) -> Response {
    state.clear_faults();
    ok(json!({}))
}

async fn reset(State(state): State<Arc<DetectorState>>) -> Response {
    state.reset_all();
    ok(json!({}))
}

async fn requests(State(state): State<Arc<DetectorState>>, request: Request) -> Response {
    let mut limit = None;
    let mut since_seq = None;
    let mut ndjson = false;
    for pair in request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let parsed = value.parse::<u64>();
        match (key, parsed) {
            ("limit", Ok(n)) => limit = Some(usize::try_from(n).unwrap_or(usize::MAX)),
            ("since_seq", Ok(n)) => since_seq = Some(n),
            ("format", _) if value == "json" || value == "ndjson" => ndjson = value == "ndjson",
            _ => {
                return bad(
                    &state,
                    "invalid_query",
                    format!("`{pair}`: expected limit=N, since_seq=K and/or format=json|ndjson"),
                )
                .into_response();
            }
        }
    }
    // `limit` alone asks for the newest N ("what were the last calls");
    // with `since_seq` it pages forward from there.
    let entries = match (since_seq, limit) {
        (None, Some(n)) => state.journal.tail(n),
        (since, limit) => state
            .journal
            .read(since.unwrap_or(0), limit.unwrap_or(usize::MAX)),
    };
    if ndjson {
        let body = JournalEntry::to_ndjson(&entries);
        return ([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response();
    }
    axum::Json(json!({"count": entries.len(), "requests": entries})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer t0k"), Some("t0k"));
        assert_eq!(bearer_token("bearer t0k"), Some("t0k"));
        assert_eq!(bearer_token("BEARER  t0k"), Some("t0k"));
        assert_eq!(bearer_token("Basic t0k"), None);
        assert_eq!(bearer_token("Bearer"), None);
    }

    #[test]
    fn access_follows_the_bind_address_and_token() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let any: IpAddr = "0.0.0.0".parse().unwrap();
        assert_eq!(AdminAccess::for_bind(loopback, None), AdminAccess::Open);
        assert_eq!(AdminAccess::for_bind(any, None), AdminAccess::Disabled);
        assert_eq!(
            AdminAccess::for_bind(any, Some("t".into())),
            AdminAccess::Token("t".into())
        );
        assert_eq!(
            AdminAccess::for_bind(loopback, Some("t".into())),
            AdminAccess::Token("t".into())
        );
    }

    #[test]
    fn merge_patch_merges_objects_and_deletes_nulls() {
        let mut target = json!({"a": {"b": 1, "c": 2}, "d": [1]});
        merge_patch(&mut target, json!({"a": {"b": 5, "c": null}, "d": [2, 3]}));
        assert_eq!(target, json!({"a": {"b": 5}, "d": [2, 3]}));
    }
}
