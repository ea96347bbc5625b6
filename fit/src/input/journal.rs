//! mockdet's request journal: `GET /admin/requests?format=ndjson`, or what
//! `mockdet record` writes; also the JSON form `GET /admin/requests`
//! answers by default (`{"count": N, "requests": [entry, …]}`), whose
//! errors name the entry (`requests[3]`) instead of a line. Read as plain JSON (not `mockdet`'s
//! `JournalEntry`), so older, newer and hand-made journals read alike: only
//! `duration_ms` and `status` matter.
//!
//! An entry with a `status` is an answer: its `duration_ms` is a sample and
//! the status is counted. An entry whose `status` is `null` or missing
//! (its `fault` says why: `reset`, a `hang` that closed, …) got no answer:
//! a transport error, and its `duration_ms` (the time until the cut) is
//! not a latency.

use serde_json::{Map, Value};

use super::check::{self, Status, Tally};
use super::{Data, InputError};

/// The format's name in [`Data::format`].
pub(crate) const FORMAT: &str = "mockdet journal";

/// Whether a file's first line (a JSON object) is a journal entry:
/// `duration_ms` with `status`, `fault` or `seq`.
pub(crate) fn sniff(first: &Map<String, Value>) -> bool {
    first.contains_key("duration_ms")
        && ["status", "fault", "seq"]
            .iter()
            .any(|key| first.contains_key(*key))
}

/// Whether a whole JSON document is the admin API's JSON journal.
pub(crate) fn sniff_doc(doc: &Value) -> bool {
    doc["requests"].as_array().is_some_and(|entries| {
        entries
            .first()
            .is_none_or(|e| e.get("duration_ms").is_some())
    })
}

/// Reads an NDJSON journal.
pub(crate) fn read(text: &str, file: &str) -> Result<Data, InputError> {
    let mut tally = Tally::default();
    for (line, text) in check::lines(text) {
        let entry = check::json_object(file, line, text)?;
        record(&mut tally, file, Some(line), "", &entry)?;
    }
    tally.finish(file, FORMAT)
}

/// Reads the admin API's JSON journal.
pub(crate) fn read_doc(doc: &Value, file: &str) -> Result<Data, InputError> {
    let mut tally = Tally::default();
    for (i, entry) in doc["requests"].as_array().into_iter().flatten().enumerate() {
        let at = format!("`requests[{i}]`: ");
        let entry = entry.as_object().ok_or_else(|| {
            InputError::new(
                file,
                None,
                format!("{at}expected a JSON object, found `{entry}`"),
            )
        })?;
        record(&mut tally, file, None, &at, entry)?;
    }
    tally.finish(file, FORMAT)
}

/// Records one entry (`at` prefixes its messages).
fn record(
    tally: &mut Tally,
    file: &str,
    line: Option<usize>,
    at: &str,
    entry: &Map<String, Value>,
) -> Result<(), InputError> {
    let prefix = |e: InputError| InputError::new(file, line, format!("{at}{}", e.reason));
    let ms = check::json_ms(file, line, "duration_ms", entry.get("duration_ms")).map_err(prefix)?;
    let status = match entry.get("status") {
        None => Status::NoAnswer,
        Some(value) => check::json_status(file, line, "status", value).map_err(prefix)?,
    };
    tally.record(ms, Some(status));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Latencies;

    const REAL: &str = include_str!("../../tests/data/journal.ndjson");

    fn read_ok(text: &str) -> Data {
        read(text, "j.ndjson").unwrap()
    }

    fn read_err(text: &str) -> String {
        read(text, "j.ndjson").unwrap_err().to_string()
    }

    #[test]
    fn a_real_journal_gives_answers_statuses_and_cut_connections() {
        let first = serde_json::from_str(REAL.lines().next().unwrap()).unwrap();
        assert!(sniff(&first));
        let data = read_ok(REAL);
        assert_eq!(data.format, FORMAT);
        // Ten 200s and one 503 answered; a reset and a closed hang did not.
        assert_eq!(data.statuses.get(&200), Some(&10));
        assert_eq!(data.statuses.get(&503), Some(&1));
        assert_eq!(data.transport_errors, 2);
        let Latencies::Samples(samples) = &data.latencies else {
            panic!("{:?}", data.latencies)
        };
        assert_eq!(samples.len(), 11);
        assert_eq!(samples[0], 442.56854);
        assert!(
            samples.iter().all(|ms| (200.0..500.0).contains(ms)),
            "{samples:?}"
        );
    }

    #[test]
    fn a_missing_status_is_no_answer_and_blank_lines_are_skipped() {
        let data = read_ok(
            "{\"seq\":1,\"duration_ms\":12.5,\"status\":200}\n\n\
             {\"seq\":2,\"duration_ms\":30,\"fault\":\"reset\"}\n",
        );
        assert_eq!(data.latencies, Latencies::Samples(vec![12.5]));
        assert_eq!(data.transport_errors, 1);
    }

    #[test]
    fn lines_that_are_not_entries_are_errors_naming_the_line() {
        let ok = "{\"seq\":1,\"duration_ms\":12.5,\"status\":200}\n";
        assert!(read_err(&format!("{ok}{{\"seq\":2,")).starts_with("j.ndjson, line 2: not JSON"));
        assert_eq!(
            read_err(&format!("{ok}[1, 2]\n")),
            "j.ndjson, line 2: expected a JSON object, found `[1,2]`"
        );
        assert_eq!(
            read_err(&format!("{ok}{{\"seq\":2,\"status\":200}}\n")),
            "j.ndjson, line 2: no `duration_ms` field"
        );
    }

    #[test]
    fn bad_durations_and_statuses_are_errors() {
        assert_eq!(
            read_err("{\"seq\":1,\"duration_ms\":-3,\"status\":200}"),
            "j.ndjson, line 1: `duration_ms` -3 is negative: latencies are >= 0 ms"
        );
        assert_eq!(
            read_err("{\"seq\":1,\"duration_ms\":\"fast\",\"status\":200}"),
            "j.ndjson, line 1: `duration_ms` is `\"fast\"`, not a number of milliseconds"
        );
        assert!(
            read_err("{\"seq\":1,\"duration_ms\":3,\"status\":1200}")
                .contains("`status` is `1200`")
        );
    }

    #[test]
    fn the_admin_apis_json_form_reads_like_the_ndjson() {
        let entries: Vec<Value> = REAL
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let doc = serde_json::json!({"count": entries.len(), "requests": entries});
        assert!(sniff_doc(&doc));
        let mut data = read_doc(&doc, "j.json").unwrap();
        data.source = "j.ndjson".to_owned();
        assert_eq!(data, read_ok(REAL));
    }

    #[test]
    fn bad_entries_of_the_json_form_are_named() {
        let doc = serde_json::json!({"count": 2, "requests": [
            {"seq": 1, "duration_ms": 12.0, "status": 200},
            {"seq": 2, "duration_ms": -1.0, "status": 200}]});
        assert_eq!(
            read_doc(&doc, "j.json").unwrap_err().to_string(),
            "j.json: `requests[1]`: `duration_ms` -1 is negative: latencies are >= 0 ms"
        );
        let doc = serde_json::json!({"count": 1, "requests": [7]});
        assert_eq!(
            read_doc(&doc, "j.json").unwrap_err().to_string(),
            "j.json: `requests[0]`: expected a JSON object, found `7`"
        );
        let doc = serde_json::json!({"count": 0, "requests": []});
        assert!(sniff_doc(&doc));
        assert!(
            read_doc(&doc, "j.json")
                .unwrap_err()
                .reason
                .contains("zero observations")
        );
    }

    #[test]
    fn a_journal_without_an_answer_is_an_error() {
        assert_eq!(
            read_err("{\"seq\":1,\"duration_ms\":3,\"status\":null,\"fault\":\"reset\"}"),
            "j.ndjson: no latencies: all 1 requests got no answer (nothing to fit)"
        );
        assert!(read_err("\n\n").contains("zero observations"));
    }
}
