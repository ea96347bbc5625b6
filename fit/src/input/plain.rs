//! Plain lists of latencies in milliseconds, three ways:
//!
//! - one number per line;
//! - CSV with a header naming a latency column ([`FIELDS`], the first of
//!   them present in that order wins, names compared case-insensitively)
//!   and optionally `status`;
//! - NDJSON objects with one of [`FIELDS`] and optionally `status`.
//!
//! A status of `0`, an empty `status` cell or a `null` `status` field is a
//! request that got no answer: a transport error, and its latency (if any)
//! is not a sample. Without a status column or field every row is an
//! answered request whose status is unknown (none counted).

use serde_json::{Map, Value};

use super::check::{self, Status, Tally};
use super::{Data, InputError};

/// The names a latency column or field may have.
pub(crate) const FIELDS: [&str; 5] = [
    "ms",
    "latency_ms",
    "duration_ms",
    "elapsed_ms",
    "response_time",
];

/// The three shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One number per line.
    Numbers,
    /// CSV with a header.
    Csv,
    /// NDJSON objects.
    Ndjson,
}

/// Which shape a file's first line starts, if any: a number, a JSON object
/// with a latency field, or a CSV header with a latency column.
pub(crate) fn sniff(first: &str, first_json: Option<&Map<String, Value>>) -> Option<Kind> {
    if first.parse::<f64>().is_ok() {
        Some(Kind::Numbers)
    } else if let Some(object) = first_json {
        FIELDS
            .iter()
            .any(|f| object.contains_key(*f))
            .then_some(Kind::Ndjson)
    } else {
        let header: Vec<String> = first.split(',').map(column_name).collect();
        FIELDS
            .iter()
            .any(|f| header.iter().any(|h| h == f))
            .then_some(Kind::Csv)
    }
}

/// Reads a plain list of the given shape.
pub(crate) fn read(kind: Kind, text: &str, file: &str) -> Result<Data, InputError> {
    match kind {
        Kind::Numbers => numbers(text, file),
        Kind::Csv => csv(text, file),
        Kind::Ndjson => ndjson(text, file),
    }
}

/// A header cell as compared with [`FIELDS`].
fn column_name(cell: &str) -> String {
    cell.trim().trim_matches('"').trim().to_ascii_lowercase()
}

/// One number per line.
fn numbers(text: &str, file: &str) -> Result<Data, InputError> {
    let mut tally = Tally::default();
    for (line, text) in check::lines(text) {
        tally.record(check::parse_ms(file, Some(line), text, None)?, None);
    }
    tally.finish(file, "plain list")
}

/// CSV with a header.
fn csv(text: &str, file: &str) -> Result<Data, InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| check::csv_error(file, &e))?
        .iter()
        .map(column_name)
        .collect();
    let position = |name: &str| header.iter().position(|h| h == name);
    let (latency, field) = FIELDS
        .iter()
        .find_map(|f| Some((position(f)?, *f)))
        .ok_or_else(|| InputError::new(file, Some(1), "no latency column in the header"))?;
    let status = position("status");
    let mut tally = Tally::default();
    for record in reader.records() {
        let record = record.map_err(|e| check::csv_error(file, &e))?;
        let line = record.position().map(|p| p.line() as usize);
        let status = match status.map(|i| &record[i]) {
            None => None,
            Some("") => Some(Status::NoAnswer),
            Some(raw) => Some(check::parse_status(file, line, "status", raw)?),
        };
        let ms = match status {
            Some(Status::NoAnswer) => 0.0,
            _ => check::parse_ms(file, line, &record[latency], Some(field))?,
        };
        tally.record(ms, status);
    }
    tally.finish(file, "plain CSV")
}

/// NDJSON objects.
fn ndjson(text: &str, file: &str) -> Result<Data, InputError> {
    let mut tally = Tally::default();
    for (line, text) in check::lines(text) {
        let object = check::json_object(file, line, text)?;
        let status = match object.get("status") {
            None => None,
            Some(value) => Some(check::json_status(file, Some(line), "status", value)?),
        };
        let ms = match (status, FIELDS.iter().find(|f| object.contains_key(**f))) {
            (Some(Status::NoAnswer), _) => 0.0,
            (_, Some(field)) => check::json_ms(file, Some(line), field, object.get(*field))?,
            (_, None) => {
                let expected = FIELDS.map(|f| format!("`{f}`")).join(", ");
                return Err(InputError::new(
                    file,
                    Some(line),
                    format!("none of {expected}"),
                ));
            }
        };
        tally.record(ms, status);
    }
    tally.finish(file, "plain NDJSON")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Latencies;

    fn sniffed(text: &str) -> Option<Kind> {
        let first = text.lines().next().unwrap();
        let object = serde_json::from_str::<Value>(first).ok();
        sniff(first, object.as_ref().and_then(Value::as_object))
    }

    fn read_ok(text: &str) -> Data {
        read(sniffed(text).unwrap(), text, "l.txt").unwrap()
    }

    fn read_err(text: &str) -> String {
        read(sniffed(text).unwrap(), text, "l.txt")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_three_shapes_are_told_apart() {
        assert_eq!(sniffed("212.4\n"), Some(Kind::Numbers));
        assert_eq!(sniffed("timestamp,Latency_ms,status\n"), Some(Kind::Csv));
        assert_eq!(sniffed("\"elapsed_ms\"\n"), Some(Kind::Csv));
        assert_eq!(sniffed("{\"ms\": 3}\n"), Some(Kind::Ndjson));
        assert_eq!(sniffed("{\"latency\": 3}\n"), None);
        assert_eq!(sniffed("time,latency\n"), None);
        assert_eq!(sniffed("hello\n"), None);
    }

    #[test]
    fn one_number_per_line() {
        let data = read_ok("212.4\n\n 305 \n0\n1.5e2\r\n");
        assert_eq!(data.format, "plain list");
        assert_eq!(
            data.latencies,
            Latencies::Samples(vec![212.4, 305.0, 0.0, 150.0])
        );
        assert!(data.statuses.is_empty());
        assert_eq!(data.transport_errors, 0);
    }

    #[test]
    fn bad_numbers_are_errors_naming_the_line() {
        let ok = "212.4\n305\n318\n402\n250\n277\n";
        assert_eq!(
            read_err(&format!("{ok}-3\n")),
            "l.txt, line 7: `-3` is negative: latencies are >= 0 ms"
        );
        assert_eq!(
            read_err(&format!("{ok}n/a\n")),
            "l.txt, line 7: `n/a` is not a number of milliseconds"
        );
        assert_eq!(
            read_err(&format!("{ok}inf\n")),
            "l.txt, line 7: `inf` is not a finite number"
        );
    }

    #[test]
    fn csv_with_a_latency_and_a_status_column() {
        let text = "timestamp,Latency_ms,status\n\
            2026-11-30T08:48:03Z,223.2,200\n\
            2026-11-30T08:48:03Z,255.4,503\n\
            2026-11-30T08:48:04Z,,\n\
            2026-11-30T08:48:04Z,1.2,0\n\
            2026-11-30T08:48:05Z,366.9,200\n";
        let data = read_ok(text);
        assert_eq!(data.format, "plain CSV");
        assert_eq!(
            data.latencies,
            Latencies::Samples(vec![223.2, 255.4, 366.9])
        );
        assert_eq!(
            data.statuses.into_iter().collect::<Vec<_>>(),
            vec![(200, 2), (503, 1)]
        );
        assert_eq!(data.transport_errors, 2);
    }

    #[test]
    fn csv_without_status_prefers_the_first_listed_field() {
        let data = read_ok("elapsed_ms,ms\n10,1\n20,2\n");
        assert_eq!(data.latencies, Latencies::Samples(vec![1.0, 2.0]));
    }

    #[test]
    fn bad_csv_rows_are_errors_naming_the_line_and_column() {
        let head = "id,response_time,status\n1,212,200\n";
        assert_eq!(
            read_err(&format!("{head}2,-3,200\n")),
            "l.txt, line 3: `-3` (`response_time`) is negative: latencies are >= 0 ms"
        );
        assert_eq!(
            read_err(&format!("{head}2,fast,200\n")),
            "l.txt, line 3: `fast` (`response_time`) is not a number of milliseconds"
        );
        assert!(
            read_err(&format!("{head}2,212,OK\n")).starts_with("l.txt, line 3: `status` is `OK`")
        );
        assert_eq!(
            read_err(&format!("{head}2,212\n")),
            "l.txt, line 3: 2 fields where the header has 3"
        );
        assert_eq!(
            read_err("ms,status\n1,0\n2,\n"),
            "l.txt: no latencies: all 2 requests got no answer (nothing to fit)"
        );
        assert!(read_err("ms\n").contains("the plain CSV has zero observations"));
    }

    #[test]
    fn ndjson_objects_with_a_latency_field() {
        let text = "{\"latency_ms\": 212.5, \"status\": 200}\n\
            {\"latency_ms\": 305, \"status\": \"429\"}\n\
            {\"status\": null}\n\
            {\"latency_ms\": 99}\n";
        let data = read_ok(text);
        assert_eq!(data.format, "plain NDJSON");
        assert_eq!(data.latencies, Latencies::Samples(vec![212.5, 305.0, 99.0]));
        assert_eq!(
            data.statuses.into_iter().collect::<Vec<_>>(),
            vec![(200, 1), (429, 1)]
        );
        assert_eq!(data.transport_errors, 1);
    }

    #[test]
    fn bad_ndjson_lines_are_errors_naming_the_line() {
        let ok = "{\"ms\": 12}\n";
        assert_eq!(
            read_err(&format!("{ok}{{\"ms\": -3}}\n")),
            "l.txt, line 2: `ms` -3 is negative: latencies are >= 0 ms"
        );
        assert_eq!(
            read_err(&format!("{ok}{{\"latency\": 3}}\n")),
            "l.txt, line 2: none of `ms`, `latency_ms`, `duration_ms`, `elapsed_ms`, `response_time`"
        );
        assert!(
            read_err(&format!("{ok}12\n")).starts_with("l.txt, line 2: expected a JSON object")
        );
        assert!(
            read_err(&format!("{ok}{{\"ms\": 3, \"status\": true}}\n"))
                .contains("`status` is `true`")
        );
    }
}
