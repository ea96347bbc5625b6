//! Schemas from the code's own types: one schemars generator for what
//! clients send (serde's deserialize side: defaults make fields optional)
//! and one for what mockdet answers (the serialize side: every field it
//! writes is required), merged into the document's `components/schemas`.

use std::collections::BTreeSet;

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value};

/// Where request schemas go, and where answer schemas end up.
const SCHEMAS: &str = "#/components/schemas/";
/// Where answer schemas are referenced from until [`Schemas::finish`]
/// moves them in beside the request schemas.
const ANSWERS: &str = "#/components/answers/";

/// The two generators of one document.
pub(crate) struct Schemas {
    requests: SchemaGenerator,
    answers: SchemaGenerator,
}

impl Schemas {
    pub(crate) fn new() -> Self {
        let settings = |path: &'static str| {
            SchemaSettings::draft2020_12().with(|s| {
                s.definitions_path = path.trim_start_matches('#').into();
                s.meta_schema = None;
            })
        };
        Self {
            requests: settings(SCHEMAS).for_deserialize().into_generator(),
            answers: settings(ANSWERS).for_serialize().into_generator(),
        }
    }

    /// The schema of a request body (or parameter) of type `T`.
    pub(crate) fn request<T: JsonSchema + ?Sized>(&mut self) -> Value {
        self.requests.subschema_for::<T>().to_value()
    }

    /// The schema of an answer of type `T`.
    pub(crate) fn answer<T: JsonSchema + ?Sized>(&mut self) -> Value {
        self.answers.subschema_for::<T>().to_value()
    }

    /// The schema an answer-side schema function writes.
    pub(crate) fn answer_with(&mut self, schema: fn(&mut SchemaGenerator) -> Schema) -> Value {
        schema(&mut self.answers).to_value()
    }

    /// Moves every definition into `components/schemas` of `document`.
    /// An answer schema whose request-side namesake differs (a field with a
    /// default is optional in a request, always written in an answer) is
    /// renamed `<Name>Answer`; references are rewritten to match.
    pub(crate) fn finish(mut self, document: &mut Value) {
        let requests = self.requests.take_definitions(true);
        let mut answers = self.answers.take_definitions(true);
        let renamed = differing(&requests, &answers);
        let target = |name: &str| match renamed.contains(name) {
            true => format!("{name}Answer"),
            false => name.to_owned(),
        };
        let mut all = requests;
        for (name, mut schema) in std::mem::take(&mut answers) {
            rewrite_refs(&mut schema, &target);
            let name = target(&name);
            // Same name, same schema (after the rewrite): one entry serves both.
            all.entry(name).or_insert(schema);
        }
        rewrite_refs(document, &target);
        document["components"]["schemas"] = Value::Object(all);
    }
}

/// The answer definitions that cannot share their request-side namesake's
/// entry: different in themselves, or referring to one that is renamed.
fn differing(requests: &Map<String, Value>, answers: &Map<String, Value>) -> BTreeSet<String> {
    let mut renamed = BTreeSet::new();
    loop {
        let before = renamed.len();
        for (name, schema) in answers {
            let Some(request) = requests.get(name) else {
                continue;
            };
            let mut refs = Vec::new();
            answer_refs(schema, &mut refs);
            let mut shared = schema.clone();
            rewrite_refs(&mut shared, &str::to_owned);
            if &shared != request || refs.iter().any(|r| renamed.contains(r)) {
                renamed.insert(name.clone());
            }
        }
        if renamed.len() == before {
            return renamed;
        }
    }
}

/// The answer schemas `value` refers to, by name.
fn answer_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match value.as_str().and_then(|r| r.strip_prefix(ANSWERS)) {
                    Some(name) if key == "$ref" => out.push(name.to_owned()),
                    _ => answer_refs(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| answer_refs(v, out)),
        _ => {}
    }
}

/// Points every `$ref` to an answer schema at its final name (`target`).
fn rewrite_refs(value: &mut Value, target: &dyn Fn(&str) -> String) {
    match value {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match value {
                    Value::String(reference) if key == "$ref" => {
                        if let Some(name) = reference.strip_prefix(ANSWERS) {
                            *reference = format!("{SCHEMAS}{}", target(name));
                        }
                    }
                    other => rewrite_refs(other, target),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, target)),
        _ => {}
    }
}
