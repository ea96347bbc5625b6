//! What every reader checks the same way: one latency, an HTTP status, a
//! JSON line, a CSV error, a sample set, quantile points.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Data, InputError, Latencies};

/// The non-blank lines of `text`, trimmed, with their 1-based numbers.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty())
}

/// `line` as a JSON object, or an error naming the line.
pub(crate) fn json_object(
    file: &str,
    line: usize,
    text: &str,
) -> Result<Map<String, Value>, InputError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(InputError::new(
            file,
            Some(line),
            format!(
                "expected a JSON object, found `{}`",
                clip(&other.to_string())
            ),
        )),
        Err(e) => Err(InputError::new(file, Some(line), format!("not JSON: {e}"))),
    }
}

/// A latency written as text (`raw`), in `column` when there is one.
pub(crate) fn parse_ms(
    file: &str,
    line: Option<usize>,
    raw: &str,
    column: Option<&str>,
) -> Result<f64, InputError> {
    let label = match column {
        Some(column) => format!("`{raw}` (`{column}`)"),
        None => format!("`{raw}`"),
    };
    let value = raw.trim().parse::<f64>().map_err(|_| {
        InputError::new(
            file,
            line,
            format!("{label} is not a number of milliseconds"),
        )
    })?;
    finite_ms(file, line, &label, value)
}

/// A latency found in JSON as `field` (absent or not a number is an error).
pub(crate) fn json_ms(
    file: &str,
    line: Option<usize>,
    field: &str,
    value: Option<&Value>,
) -> Result<f64, InputError> {
    let value = value.ok_or_else(|| InputError::new(file, line, format!("no `{field}` field")))?;
    let ms = value.as_f64().ok_or_else(|| {
        InputError::new(
            file,
            line,
            format!(
                "`{field}` is `{}`, not a number of milliseconds",
                clip(&value.to_string())
            ),
        )
    })?;
    finite_ms(file, line, &format!("`{field}` {ms}"), ms)
}

/// `value` (described by `label`) if it is a finite, non-negative latency.
pub(crate) fn finite_ms(
    file: &str,
    line: Option<usize>,
    label: &str,
    value: f64,
) -> Result<f64, InputError> {
    if !value.is_finite() {
        Err(InputError::new(
            file,
            line,
            format!("{label} is not a finite number"),
        ))
    } else if value < 0.0 {
        Err(InputError::new(
            file,
            line,
            format!("{label} is negative: latencies are >= 0 ms"),
        ))
    } else {
        Ok(value)
    }
}

/// What a status cell or field says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// An HTTP answer with this status.
    Http(u16),
    /// No answer (status `0`, or none where one was expected).
    NoAnswer,
}

/// A status written as text: `0` (no answer) or 100–599.
pub(crate) fn parse_status(
    file: &str,
    line: Option<usize>,
    field: &str,
    raw: &str,
) -> Result<Status, InputError> {
    match raw.trim().parse::<u16>() {
        Ok(0) => Ok(Status::NoAnswer),
        Ok(code @ 100..=599) => Ok(Status::Http(code)),
        _ => Err(InputError::new(
            file,
            line,
            format!("`{field}` is `{raw}`: expected an HTTP status (100-599) or 0 for no answer"),
        )),
    }
}

/// A status found in JSON: a number or a numeric string; `null` is no
/// answer.
pub(crate) fn json_status(
    file: &str,
    line: Option<usize>,
    field: &str,
    value: &Value,
) -> Result<Status, InputError> {
    match value {
        Value::Null => Ok(Status::NoAnswer),
        Value::String(text) => parse_status(file, line, field, text),
        other => parse_status(file, line, field, &other.to_string()),
    }
}

/// A `csv` error as an [`InputError`] (its line, and the reason without
/// the crate's own position prefix).
pub(crate) fn csv_error(file: &str, error: &csv::Error) -> InputError {
    let line = error.position().map(|p| p.line() as usize);
    let reason = match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("{len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_owned(),
        _ => format!("not valid CSV: {error}"),
    };
    InputError::new(file, line, reason)
}

/// Counts answers per status and requests without one.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Latencies of answered requests (or of every request when the file
    /// has no statuses).
    pub(crate) samples: Vec<f64>,
    /// Answers per status.
    pub(crate) statuses: BTreeMap<u16, u64>,
    /// Requests that got no answer.
    pub(crate) transport_errors: u64,
}

impl Tally {
    /// Records one request: its latency counts only if it was answered
    /// (a request without a status counts as answered, status unknown).
    pub(crate) fn record(&mut self, ms: f64, status: Option<Status>) {
        match status {
            Some(Status::NoAnswer) => self.transport_errors += 1,
            Some(Status::Http(code)) => {
                *self.statuses.entry(code).or_default() += 1;
                self.samples.push(ms);
            }
            None => self.samples.push(ms),
        }
    }

    /// The samples as [`Data`]; no latency at all is an error.
    pub(crate) fn finish(self, file: &str, format: &'static str) -> Result<Data, InputError> {
        if self.samples.is_empty() {
            let reason = if self.transport_errors > 0 {
                format!(
                    "no latencies: all {} requests got no answer (nothing to fit)",
                    self.transport_errors
                )
            } else {
                format!("no latencies: the {format} has zero observations")
            };
            return Err(InputError::new(file, None, reason));
        }
        Ok(Data {
            source: file.to_owned(),
            format,
            latencies: Latencies::Samples(self.samples),
            statuses: self.statuses,
            transport_errors: self.transport_errors,
        })
    }
}

/// One quantile point as read: `q`, milliseconds, and the field or column
/// it came from (for messages).
pub(crate) struct Point {
    pub(crate) q: f64,
    pub(crate) ms: f64,
    pub(crate) label: String,
}

/// Checks and orders quantile points read from `what` (a row or a JSON
/// object): latencies finite and >= 0, one value per quantile, higher
/// quantiles no faster, at least one point, and not zero requests.
pub(crate) fn quantiles(
    file: &str,
    line: Option<usize>,
    what: &str,
    mut points: Vec<Point>,
    count: Option<u64>,
) -> Result<Latencies, InputError> {
    let fail = |reason: String| InputError::new(file, line, format!("{what}: {reason}"));
    if count == Some(0) {
        return Err(fail("zero requests: nothing to fit".to_owned()));
    }
    for point in &points {
        finite_ms(
            file,
            line,
            &format!("{what}: `{}` {}", point.label, point.ms),
            point.ms,
        )?;
    }
    points.sort_by(|a, b| a.q.total_cmp(&b.q));
    points.dedup_by(|later, earlier| later.q == earlier.q && later.ms == earlier.ms);
    for pair in points.windows(2) {
        let (lower, higher) = (&pair[0], &pair[1]);
        if lower.q == higher.q {
            return Err(fail(format!(
                "`{}` = {} ms and `{}` = {} ms are the same quantile with different values",
                lower.label, lower.ms, higher.label, higher.ms
            )));
        }
        if higher.ms < lower.ms {
            return Err(fail(format!(
                "quantile points out of order: `{}` = {} ms is below `{}` = {} ms",
                higher.label, higher.ms, lower.label, lower.ms
            )));
        }
    }
    if points.is_empty() {
        return Err(fail("no quantile points (zero observations)".to_owned()));
    }
    Ok(Latencies::Quantiles {
        points: points.into_iter().map(|p| (p.q, p.ms)).collect(),
        count,
    })
}

/// The decimal number `text` times 10^`exponent`, rounded once (so
/// `99.9` with -2 is exactly the `f64` nearest 0.999, which `99.9 / 100.0`
/// is not).
pub(crate) fn scaled(text: &str, exponent: i32) -> Option<f64> {
    let text = text.trim();
    format!("{text}e{exponent}")
        .parse::<f64>()
        .ok()
        .or_else(|| Some(text.parse::<f64>().ok()? * 10f64.powi(exponent)))
}

/// `text` cut to 60 characters, for quoting in messages.
pub(crate) fn clip(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_latency_must_be_a_finite_non_negative_number() {
        assert_eq!(parse_ms("f", Some(2), " 12.5 ", None).unwrap(), 12.5);
        let e = parse_ms("f", Some(7), "-3", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f, line 7: `-3` is negative: latencies are >= 0 ms"
        );
        let e = parse_ms("f", Some(3), "NaN", Some("ms")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f, line 3: `NaN` (`ms`) is not a finite number"
        );
        let e = parse_ms("f", Some(4), "inf", None).unwrap_err();
        assert!(e.to_string().contains("not a finite number"), "{e}");
        let e = parse_ms("f", Some(5), "12ms", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f, line 5: `12ms` is not a number of milliseconds"
        );
    }

    #[test]
    fn a_json_latency_must_be_present_and_a_number() {
        let v = serde_json::json!("slow");
        let e = json_ms("f", Some(1), "duration_ms", Some(&v)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f, line 1: `duration_ms` is `\"slow\"`, not a number of milliseconds"
        );
        let e = json_ms("f", Some(2), "duration_ms", None).unwrap_err();
        assert_eq!(e.to_string(), "f, line 2: no `duration_ms` field");
        let v = serde_json::json!(-1.5);
        let e = json_ms("f", None, "value", Some(&v)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f: `value` -1.5 is negative: latencies are >= 0 ms"
        );
    }

    #[test]
    fn statuses_are_http_codes_or_zero() {
        assert_eq!(
            parse_status("f", None, "s", "503").unwrap(),
            Status::Http(503)
        );
        assert_eq!(parse_status("f", None, "s", "0").unwrap(), Status::NoAnswer);
        assert_eq!(
            json_status("f", None, "s", &serde_json::json!(null)).unwrap(),
            Status::NoAnswer
        );
        assert_eq!(
            json_status("f", None, "s", &serde_json::json!(200)).unwrap(),
            Status::Http(200)
        );
        let e = parse_status("f", Some(9), "status", "42").unwrap_err();
        assert!(
            e.to_string().starts_with("f, line 9: `status` is `42`"),
            "{e}"
        );
    }

    #[test]
    fn quantile_points_are_sorted_deduplicated_and_must_rise() {
        let p = |q, ms, label: &str| Point {
            q,
            ms,
            label: label.to_owned(),
        };
        let got = quantiles(
            "f",
            None,
            "x",
            vec![p(1.0, 9.0, "max"), p(0.5, 5.0, "med"), p(0.5, 5.0, "p(50)")],
            Some(3),
        )
        .unwrap();
        assert_eq!(
            got,
            Latencies::Quantiles {
                points: vec![(0.5, 5.0), (1.0, 9.0)],
                count: Some(3)
            }
        );
        let e = quantiles(
            "f",
            None,
            "x",
            vec![p(0.9, 450.0, "p(90)"), p(0.95, 400.0, "p(95)")],
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "f: x: quantile points out of order: `p(95)` = 400 ms is below `p(90)` = 450 ms"
        );
        let e = quantiles(
            "f",
            None,
            "x",
            vec![p(0.5, 5.0, "med"), p(0.5, 6.0, "p(50)")],
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("same quantile"), "{e}");
        let e = quantiles("f", Some(4), "x", vec![], None).unwrap_err();
        assert!(e.to_string().contains("zero observations"), "{e}");
        let e = quantiles("f", Some(4), "x", vec![p(0.5, 5.0, "50%")], Some(0)).unwrap_err();
        assert_eq!(e.to_string(), "f, line 4: x: zero requests: nothing to fit");
    }

    #[test]
    fn a_tally_without_latencies_is_an_error() {
        let mut tally = Tally::default();
        tally.record(0.0, Some(Status::NoAnswer));
        let e = tally.finish("f", "plain list").unwrap_err();
        assert!(
            e.to_string().contains("all 1 requests got no answer"),
            "{e}"
        );
        let e = Tally::default().finish("f", "plain list").unwrap_err();
        assert!(e.to_string().contains("zero observations"), "{e}");
    }

    #[test]
    fn decimals_are_scaled_with_one_rounding() {
        assert_eq!(scaled("99.9", -2), Some(0.999));
        assert_eq!(scaled(" 0.3", 3), Some(300.0));
        assert_eq!(scaled("1e-05", 3), Some(0.01));
        assert_eq!(scaled("N/A", -2), None);
    }

    #[test]
    fn long_text_is_clipped_for_messages() {
        assert_eq!(clip("short"), "short");
        assert_eq!(clip(&"é".repeat(70)).chars().count(), 61);
    }
}
