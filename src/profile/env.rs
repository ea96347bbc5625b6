//! The environment's layer over a profile: `MOCKDET_<NAME>_<KEY>=<value>`
//! sets `<key>` (lower-cased; `__` separates nested keys, so
//! `MOCKDET_FAILING_LATENCY__MAX=800` sets `latency.max`). A value is read
//! as a TOML value where it is one (`800`, `true`, `0.25`, `"text"`,
//! `[1, 2]`, `{ a = 1 }`) and as a plain string otherwise.

use serde_json::{Map, Value};

/// Lays every variable of `vars` that starts with `prefix` over `profile`.
/// Fails, naming the variable, where a key would have to nest inside a
/// value that is not a table.
pub(crate) fn overlay_env(
    profile: &mut Value,
    prefix: &str,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<(), String> {
    let mut matching: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(name, _)| name.starts_with(prefix) && name.len() > prefix.len())
        .collect();
    // A fixed order, so the same environment always gives the same profile.
    matching.sort();
    for (name, raw) in matching {
        let path: Vec<String> = name[prefix.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        set(profile, &path, scalar(&raw)).map_err(|at| {
            format!(
                "{name}: `{at}` is not a table, so it has no `{}`",
                path.join(".")
            )
        })?;
    }
    Ok(())
}

/// Sets `path` in `target`, creating tables on the way; on a non-table in
/// the way, the key that holds it.
fn set(target: &mut Value, path: &[String], value: Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Ok(());
    };
    let mut at = target;
    let mut walked = Vec::new();
    for key in parents {
        walked.push(key.as_str());
        let table = table_of(at).ok_or_else(|| walked.join("."))?;
        at = table
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    let table = table_of(at).ok_or_else(|| walked.join("."))?;
    table.insert(last.clone(), value);
    Ok(())
}

fn table_of(value: &mut Value) -> Option<&mut Map<String, Value>> {
    if value.is_null() {
        *value = Value::Object(Map::new());
    }
    value.as_object_mut()
}

/// `raw` as a TOML value if it is one, else as a string.
fn scalar(raw: &str) -> Value {
    let wrapped = format!("v = {raw}");
    match toml::from_str::<Map<String, Value>>(&wrapped) {
        Ok(mut table) => table.remove("v").unwrap_or(Value::Null),
        Err(_) => Value::String(raw.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn nested_keys_split_on_double_underscores_and_values_are_typed() {
        let mut profile = json!({"name": "failing", "port": 8003, "latency": {"max": 1.0}});
        let env = vars(&[
            ("MOCKDET_FAILING_PORT", "0"),
            ("MOCKDET_FAILING_LATENCY__MAX", "800.5"),
            ("MOCKDET_FAILING_ALLOW_OVERRIDES", "true"),
            ("MOCKDET_FAILING_DETECTOR_ID", "my-id"),
            ("MOCKDET_FAILING_CAPABILITIES", "[\"pii_detection\"]"),
            ("MOCKDET_SUCCESS_PORT", "1"),
            ("MOCKDET_FAILING_", "ignored: no key"),
        ]);
        overlay_env(&mut profile, "MOCKDET_FAILING_", env).expect("overlays");
        assert_eq!(
            profile,
            json!({
                "name": "failing", "port": 0, "latency": {"max": 800.5},
                "allow_overrides": true, "detector_id": "my-id",
                "capabilities": ["pii_detection"],
            })
        );
    }

    #[test]
    fn a_key_under_a_non_table_is_named() {
        let mut profile = json!({"port": 1});
        let env = vars(&[("MOCKDET_X_PORT__DEEP", "2")]);
        let err = overlay_env(&mut profile, "MOCKDET_X_", env).unwrap_err();
        assert!(
            err.contains("MOCKDET_X_PORT__DEEP") && err.contains("`port`"),
            "{err}"
        );
    }

    #[test]
    fn tables_are_made_where_missing() {
        let mut profile = json!({});
        let env = vars(&[("MOCKDET_X_BATCH__MAX_ITEMS", "5")]);
        overlay_env(&mut profile, "MOCKDET_X_", env).expect("overlays");
        assert_eq!(profile, json!({"batch": {"max_items": 5}}));
    }
}
