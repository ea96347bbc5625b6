//! `/admin/*` in the document: every route of `detector/admin.rs`, its
//! body (the profile and control types themselves) and its answer, and
//! the access rule of the detector serving the document.

use serde_json::{Map, Value, json};

use super::models::{
    Done, Journal, NextSet, OutageOpened, ProfileChanged, ScriptStarted, ScriptState, error_schema,
};
use super::{AdminAccess, Schemas, header, response, with_headers};
use crate::profile::{DetectorProfile, NextFaults, Outage, Protocol, Script};

/// One admin operation: `(method, path, id, summary, body, answer, refusal)`.
type Route = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<Value>,
    Value,
    &'static str,
);

/// The `/admin` path items, open (see [`apply_access`]), and the refusals
/// of the access check as response components.
pub(super) fn paths(s: &mut Schemas, paths: &mut Map<String, Value>) -> Value {
    let body = "the body is not that JSON object (`invalid_body`), not a valid profile \
                (`invalid_profile`) or control (`invalid_control`), or broke off (`unreadable_body`)";
    let query =
        "a query other than `limit=N`, `since_seq=K` and/or `format=json|ndjson` (`invalid_query`)";
    let patch = json!({
        "type": "object",
        "description": "An RFC 7386 merge patch of the profile: objects merge, `null` deletes.",
    });
    let routes: [Route; 10] = [
        (
            "get",
            "/admin/profile",
            "admin_get_profile",
            "The profile in force",
            None,
            s.answer::<DetectorProfile>(),
            "",
        ),
        (
            "put",
            "/admin/profile",
            "admin_put_profile",
            "Replace the profile (validated)",
            Some(s.request::<DetectorProfile>()),
            s.answer::<ProfileChanged>(),
            body,
        ),
        (
            "patch",
            "/admin/profile",
            "admin_patch_profile",
            "Merge-patch the profile (validated)",
            Some(patch),
            s.answer::<ProfileChanged>(),
            body,
        ),
        (
            "post",
            "/admin/outage",
            "admin_outage",
            "Open an outage window now",
            Some(s.request::<Outage>()),
            s.answer::<OutageOpened>(),
            body,
        ),
        (
            "post",
            "/admin/next",
            "admin_next",
            "Force a fault on the next N requests (`fault.probability` may be left out)",
            Some(s.request::<NextFaults>()),
            s.answer::<NextSet>(),
            body,
        ),
        (
            "post",
            "/admin/script",
            "admin_start_script",
            "Start a phased fault script",
            Some(s.request::<Script>()),
            s.answer::<ScriptStarted>(),
            body,
        ),
        (
            "get",
            "/admin/script",
            "admin_script_status",
            "Where the script is",
            None,
            s.answer::<ScriptState>(),
            "",
        ),
        (
            "delete",
            "/admin/faults",
            "admin_clear_faults",
            "Clear windows, scripts and next-N",
            None,
            s.answer::<Done>(),
            "",
        ),
        (
            "post",
            "/admin/reset",
            "admin_reset",
            "Also zero counters, journal and sequence numbers",
            None,
            s.answer::<Done>(),
            "",
        ),
        (
            "get",
            "/admin/requests",
            "admin_requests",
            "The request journal",
            None,
            s.answer::<Journal>(),
            query,
        ),
    ];
    let errors = error_schema(Protocol::Native, s);
    for (method, path, id, summary, body, answer, refusal) in routes {
        let mut responses = Map::new();
        responses.insert("200".into(), response("Done.", answer));
        if !refusal.is_empty() {
            responses.insert(
                "400".into(),
                response(&format!("Refused: {refusal}."), errors.clone()),
            );
        }
        let mut operation = json!({
            "operationId": id,
            "tags": ["admin"],
            "summary": summary,
            "responses": responses,
        });
        if let Some(schema) = body {
            let too_large = "Refused: the body is over 1 MiB (`body_too_large`).";
            let timed_out =
                "Refused: the body did not arrive within the read timeout (`body_timeout`).";
            operation["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": schema}}});
            operation["responses"]["408"] = response(timed_out, errors.clone());
            operation["responses"]["413"] = response(too_large, errors.clone());
        }
        if id == "admin_requests" {
            let count = |name: &str, what: &str| {
                json!({"name": name, "in": "query", "required": false, "description": what,
                       "schema": {"type": "integer", "minimum": 0, "maximum": u64::MAX}})
            };
            let format = json!({"name": "format", "in": "query", "required": false,
                "description": "`json` (the default) or `ndjson`: one `JournalEntry` per line, \
                                what `mockdet replay --journal` reads",
                "schema": {"type": "string", "enum": ["json", "ndjson"]}});
            operation["parameters"] = json!([
                count("limit", "at most this many entries; alone, the newest"),
                count(
                    "since_seq",
                    "entries after this sequence number, oldest first"
                ),
                format,
            ]);
            operation["responses"]["200"]["content"]["application/x-ndjson"] = json!({
                "schema": {"type": "string", "description": "one JournalEntry object per line"}
            });
        }
        let item = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
        item[method] = operation;
    }
    let unauthorized = with_headers(
        response(
            "No or a wrong `Authorization: Bearer <token>` (`unauthorized`).",
            errors.clone(),
        ),
        &[header(
            "WWW-Authenticate",
            true,
            json!({"const": "Bearer"}),
            "the scheme to use",
        )],
    );
    let off = "The admin API is off: bound beyond loopback without a token (`admin_disabled`).";
    json!({"AdminUnauthorized": unauthorized, "AdminDisabled": response(off, errors)})
}

/// Fits the admin operations to `access`: open, they need nothing; with a
/// token, a bearer token (401 without); disabled, they only answer 403.
pub(super) fn apply_access(document: &mut Value, access: &AdminAccess) {
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    let refusal = |name: &str| json!({"$ref": format!("#/components/responses/{name}")});
    let operations = paths
        .iter_mut()
        .filter(|(path, _)| path.starts_with("/admin/"))
        .flat_map(|(_, item)| {
            item.as_object_mut()
                .into_iter()
                .flat_map(|m| m.values_mut())
        });
    for operation in operations {
        match access {
            AdminAccess::Open => {}
            AdminAccess::Token(_) => {
                operation["security"] = json!([{"adminToken": []}]);
                operation["responses"]["401"] = refusal("AdminUnauthorized");
            }
            AdminAccess::Disabled => {
                operation["responses"] = json!({"403": refusal("AdminDisabled")});
            }
        }
    }
    if matches!(access, AdminAccess::Token(_)) {
        document["components"]["securitySchemes"] = json!({
            "adminToken": {"type": "http", "scheme": "bearer", "description": "`--admin-token`"},
        });
    }
}
