//! Entry points for the cargo-fuzz targets in `fuzz/` (hidden; not a stable
//! API). Each hands its input to the parser mockdet really uses — the
//! profile loader, the admin API's merge patch, a detector's router, the
//! `X-Mock-*` reader — and throws the result away. None may panic for any
//! input: a panic is a bug, and the fuzzer reports it with the input.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::detector::protocols::Endpoint;
use crate::detector::{AdminAccess, DetectorState, read_overrides, router};
use crate::metrics::Metrics;
use crate::profile::{DetectorProfile, LatencySpec};
use crate::sampling::Forecast;

/// Loads a profile from TOML text, then validates it and draws from it.
pub fn profile_toml(text: &str) {
    if let Ok(profile) = DetectorProfile::from_toml_str(text) {
        validate_and_draw(&profile);
    }
}

/// Loads a profile from YAML text (the code path of a `.yaml` file), then
/// validates it and draws from it.
pub fn profile_yaml(text: &str) {
    if let Ok(profile) = DetectorProfile::from_yaml_str(text) {
        validate_and_draw(&profile);
    }
}

/// Applies `patch` to `target` as `PATCH /admin/profile` does (both JSON),
/// then reads the result as a profile, validates it and draws from it.
pub fn merge_patch(target: &[u8], patch: &[u8]) {
    let (Ok(mut target), Ok(patch)) = (
        serde_json::from_slice::<Value>(target),
        serde_json::from_slice::<Value>(patch),
    ) else {
        return;
    };
    crate::detector::merge_patch(&mut target, patch);
    if let Ok(profile) = serde_json::from_value::<DetectorProfile>(target) {
        validate_and_draw(&profile);
    }
}

/// `validate`, then a few seeded draws: a profile that validation lets
/// through must also sample without panicking. (`Forecast::new` is
/// `validate` plus the seed key, so the profile is checked once.)
fn validate_and_draw(profile: &DetectorProfile) {
    let Ok(forecast) = Forecast::new(profile, 7) else {
        return;
    };
    for seq in 1..=4 {
        forecast.fate(seq);
    }
    forecast.latency_cdf(100.0);
}

/// Reads the `X-Mock-*` override headers, as allowed and as refused;
/// invalid header names and values are skipped (HTTP would refuse them).
pub fn override_headers(headers: &[(String, String)]) {
    let headers = header_map(headers);
    let _ = read_overrides(&headers, true);
    let _ = read_overrides(&headers, false);
}

/// Sends `body` with `headers` (invalid ones skipped; JSON content type
/// unless one is given) as a `POST` to the detection path `selector` picks,
/// through a detector's router, without a socket.
///
/// # Panics
///
/// When the answer is a 5xx (the detector injects no faults, so a 5xx is a
/// bug) or its body is neither empty nor JSON.
pub fn protocol_request(selector: u8, headers: &[(String, String)], body: &[u8]) {
    let harness = Harness::get();
    let uri = &harness.paths[usize::from(selector) % harness.paths.len()];
    let mut request = Request::post(uri.as_str())
        .body(Body::from(body.to_vec()))
        .expect("a POST to a fixed detection path builds");
    let mut sent = header_map(headers);
    if !sent.contains_key(header::CONTENT_TYPE) {
        let json = HeaderValue::from_static("application/json");
        sent.insert(header::CONTENT_TYPE, json);
    }
    *request.headers_mut() = sent;
    let (status, answer) = harness.runtime.block_on(async {
        let answered = harness.router.clone().oneshot(request).await;
        let response = answered.unwrap_or_else(|never| match never {});
        let status = response.status();
        (status, response.into_body().collect().await)
    });
    let answer = answer.expect("a body rendered in memory reads").to_bytes();
    let text = String::from_utf8_lossy(&answer);
    assert!(
        !status.is_server_error(),
        "POST {uri} answered {status} with no fault injected: {text}"
    );
    assert!(
        answer.is_empty() || serde_json::from_slice::<Value>(&answer).is_ok(),
        "POST {uri} answered {status} with a body that is not JSON: {text}"
    );
}

/// Splits fuzz input written like an HTTP head: `name: value` lines up to
/// the first blank line, then the body. Input without a blank line is all
/// body; a line without a colon is a name with an empty value.
pub fn split_headers(data: &[u8]) -> (Vec<(String, String)>, &[u8]) {
    let Some(end) = data.windows(2).position(|pair| pair == b"\n\n") else {
        return (Vec::new(), data);
    };
    let headers = data[..end]
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let line = String::from_utf8_lossy(line);
            let (name, value) = line.split_once(':').unwrap_or((&line, ""));
            (name.to_owned(), value.trim_start().to_owned())
        })
        .collect();
    (headers, &data[end + 2..])
}

/// The valid pairs of `headers`, repeated names kept.
fn header_map(headers: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let name = HeaderName::try_from(name.as_str());
        let value = HeaderValue::try_from(value.as_str());
        if let (Ok(name), Ok(value)) = (name, value) {
            map.append(name, value);
        }
    }
    map
}

/// One detector's router and a runtime to drive it, built once per process
/// so that each fuzz input costs one request.
struct Harness {
    runtime: tokio::runtime::Runtime,
    router: Router,
    /// Every `POST` detection path (Azure's with the `api-version` it needs).
    paths: Vec<String>,
}

impl Harness {
    fn get() -> &'static Self {
        static HARNESS: OnceLock<Harness> = OnceLock::new();
        HARNESS.get_or_init(Self::build)
    }

    /// The built-in `success` detector, answering at once with no fault,
    /// outage or override (so any 5xx is mockdet's bug), batches on.
    ///
    /// Real time, not paused: pausing needs tokio's `test-util`, which the
    /// core does not enable, and with no latency nothing waits anyway.
    fn build() -> Self {
        let mut profile =
            DetectorProfile::builtin("success").expect("the built-in `success` profile loads");
        profile.latency = LatencySpec::fixed(0.0);
        profile.faults.clear();
        profile.schedule.clear();
        profile.bursts = None;
        profile.allow_overrides = false;
        profile.batch.enabled = true;
        let state = DetectorState::new(profile, 1, Metrics::new(), AdminAccess::Open)
            .expect("the adjusted `success` profile is valid");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a current-thread runtime builds");
        let paths = Endpoint::routed()
            .map(|(endpoint, path)| match endpoint {
                Endpoint::AzureAnalyzeText => format!("{path}?api-version=2024-09-01"),
                _ => path.to_owned(),
            })
            .collect();
        Self {
            runtime,
            router: router(Arc::new(state)),
            paths,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_detection_path_answers_a_realistic_body() {
        let paths = Harness::get().paths.len();
        assert_eq!(paths, 10);
        for selector in 0..u8::try_from(paths).expect("few paths") {
            let headers = pairs(&[("x-correlation-id", "c-1")]);
            protocol_request(selector, &headers, br#"{"content": "a@b.co"}"#);
            protocol_request(selector, &[], b"");
            protocol_request(selector, &[], b"\xff{");
        }
    }

    #[test]
    fn fuzz_input_splits_into_headers_and_body_at_the_first_blank_line() {
        let (headers, body) = split_headers(b"a: 1\nb:2\nc\n\n{\n\n}");
        assert_eq!(headers, pairs(&[("a", "1"), ("b", "2"), ("c", "")]));
        assert_eq!(body, b"{\n\n}");
        assert_eq!(split_headers(b"\n\nbody"), (Vec::new(), &b"body"[..]));
        assert_eq!(split_headers(b"no head"), (Vec::new(), &b"no head"[..]));
    }

    #[test]
    fn entry_points_take_garbage_and_real_input() {
        profile_toml(include_str!("../profiles/failing.toml"));
        profile_toml("name = 1");
        profile_yaml("name: x\ndetector_id: y\nport: 1\nlatency: {model: fixed, ms: 1}\n");
        profile_yaml("[[[[");
        merge_patch(br#"{"a": 1}"#, br#"{"a": null, "name": "x"}"#);
        merge_patch(b"{", b"");
        override_headers(&pairs(&[("x-mock-fault", "hang"), ("bad name", "v")]));
    }
}
