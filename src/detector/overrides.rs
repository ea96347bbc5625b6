//! Per-request overrides through `X-Mock-Delay-Ms`, `X-Mock-Fault` and
//! `X-Mock-Status` — honoured only when the profile allows overrides
//! (`allow_overrides`, `--allow-overrides`); otherwise ignored and counted.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName};

use crate::profile::{Fault, FaultKind, FaultMenu, HangEnd, MsRange};
use crate::sampling::{Imposed, header};

// Constants rather than `&str`s: a lookup by `&str` parses the name first.
const DELAY: HeaderName = HeaderName::from_static("x-mock-delay-ms");
const FAULT: HeaderName = HeaderName::from_static("x-mock-fault");
const STATUS: HeaderName = HeaderName::from_static("x-mock-status");

/// Default hold of `X-Mock-Fault: hang` without `X-Mock-Delay-Ms`.
const DEFAULT_HANG_MS: f64 = 30_000.0;
/// Default duration of `X-Mock-Fault: slow_body`.
const DEFAULT_SLOW_BODY_MS: f64 = 1_000.0;

/// What the headers ask for.
#[derive(Debug)]
pub(crate) enum Requested {
    /// No `X-Mock-*` header.
    Nothing,
    /// Headers present but overrides are off.
    Ignored,
    /// Apply this.
    Impose(Imposed),
}

/// Reads the override headers. Bad values are an error message for a 400.
pub(crate) fn read(headers: &HeaderMap, allowed: bool) -> Result<Requested, String> {
    let get =
        |name: HeaderName| header(headers, &name).map(|v| v.to_str().unwrap_or("\u{fffd}").trim());
    let (delay, fault, status) = (get(DELAY), get(FAULT), get(STATUS));
    if delay.is_none() && fault.is_none() && status.is_none() {
        return Ok(Requested::Nothing);
    }
    if !allowed {
        return Ok(Requested::Ignored);
    }
    let delay_ms = delay.map(parse_delay).transpose()?;
    let status = status.map(parse_status).transpose()?;
    let mut imposed = Imposed {
        source: Some("header"),
        ..Imposed::default()
    };
    match fault {
        Some(kind) => imposed.fault = forced_fault(kind, status, delay_ms)?,
        None => imposed.fault = status.filter(|s| *s >= 400).map(http_error),
    }
    // "none", or a 2xx status alone, means: answer normally whatever the profile says.
    if imposed.fault.is_none() {
        imposed.menu = Some(Arc::new(FaultMenu::default()));
    }
    let hang_holds = matches!(imposed.fault, Some(Fault::Hang { .. }));
    if !hang_holds {
        imposed.delay = delay_ms.map(crate::sampling::ms);
    }
    Ok(Requested::Impose(imposed))
}

fn parse_delay(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(ms) if ms.is_finite() && (0.0..=crate::profile::MAX_MS).contains(&ms) => Ok(ms),
        _ => Err(format!(
            "X-Mock-Delay-Ms: `{text}` is not a number of milliseconds in 0..=86400000 (24 h)"
        )),
    }
}

fn parse_status(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(s) if (200..=299).contains(&s) || (400..=599).contains(&s) => Ok(s),
        _ => Err(format!(
            "X-Mock-Status: `{text}` is not a 2xx, 4xx or 5xx status"
        )),
    }
}

fn http_error(status: u16) -> Fault {
    Fault::HttpError {
        status,
        retry_after_s: matches!(status, 429 | 503).then_some(1),
    }
}

fn forced_fault(
    kind: &str,
    status: Option<u16>,
    delay_ms: Option<f64>,
) -> Result<Option<Fault>, String> {
    if kind == "none" {
        return Ok(None);
    }
    let parsed = FaultKind::ALL
        .iter()
        .find(|k| k.as_str() == kind)
        .ok_or_else(|| {
            let names: Vec<&str> = FaultKind::ALL.iter().map(|k| k.as_str()).collect();
            format!(
                "X-Mock-Fault: unknown fault `{kind}` (known: none, {})",
                names.join(", ")
            )
        })?;
    Ok(Some(match parsed {
        FaultKind::HttpError => http_error(status.filter(|s| *s >= 400).unwrap_or(500)),
        FaultKind::Hang => Fault::Hang {
            hold: MsRange::Fixed(delay_ms.unwrap_or(DEFAULT_HANG_MS)),
            end: if status == Some(504) {
                HangEnd::GatewayTimeout
            } else {
                HangEnd::Close
            },
        },
        FaultKind::Reset => Fault::Reset,
        FaultKind::MalformedJson => Fault::MalformedJson,
        FaultKind::SchemaInvalid => Fault::SchemaInvalid,
        FaultKind::EmptyBody => Fault::EmptyBody,
        FaultKind::SlowBody => Fault::SlowBody {
            over: MsRange::Fixed(DEFAULT_SLOW_BODY_MS),
        },
    }))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
            .collect()
    }

    fn imposed(pairs: &[(&'static str, &'static str)]) -> Imposed {
        match read(&headers(pairs), true).unwrap() {
            Requested::Impose(imposed) => imposed,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_headers_and_disallowed_headers_change_nothing() {
        assert!(matches!(read(&headers(&[]), true), Ok(Requested::Nothing)));
        let sent = headers(&[("x-mock-status", "503")]);
        assert!(matches!(read(&sent, false), Ok(Requested::Ignored)));
    }

    #[test]
    fn status_delay_and_fault_are_applied() {
        let i = imposed(&[("x-mock-status", "503"), ("x-mock-delay-ms", "25")]);
        assert!(matches!(
            i.fault,
            Some(Fault::HttpError { status: 503, .. })
        ));
        assert_eq!(i.delay, Some(Duration::from_millis(25)));
        let i = imposed(&[("x-mock-fault", "hang"), ("x-mock-delay-ms", "40")]);
        assert!(
            matches!(i.fault, Some(Fault::Hang { hold: MsRange::Fixed(ms), .. }) if ms == 40.0)
        );
        assert_eq!(i.delay, None);
        let i = imposed(&[("x-mock-status", "200")]);
        assert!(i.fault.is_none() && i.menu.is_some());
    }

    #[test]
    fn bad_values_are_refused_with_the_header_named() {
        for (name, value) in [
            ("x-mock-fault", "explode"),
            ("x-mock-status", "302"),
            ("x-mock-delay-ms", "-1"),
        ] {
            let error = read(&headers(&[(name, value)]), true).unwrap_err();
            assert!(error.to_lowercase().contains(name), "{error}");
        }
    }
}
