//! mockdet from outside its workspace, as a fixture: a seeded `failing`
//! detector on an ephemeral port, called over a raw HTTP/1.1 connection (no
//! HTTP client needed), answers each request as `Forecast` says that
//! request — its correlation id and body — will be answered, whatever order
//! the concurrent requests arrive in.

use std::time::Duration;

use mockdet::profile::FaultKind;
use mockdet::{DetectorProfile, Fleet, Forecast, RequestKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SEED: u64 = 42;

/// What came back for one request on its own connection.
#[derive(Debug)]
enum Answer {
    /// A complete HTTP response (the server closes after it).
    Response {
        status: u16,
        /// `x-mock-attempt`: which send of its request key this was.
        attempt: Option<u32>,
        body: String,
    },
    /// The connection ended (reset, or closed) before a status line.
    NoResponse,
}

/// Sends `request` on a fresh connection to `addr` and reads until the
/// server closes it (`connection: close` asks it to).
async fn exchange(addr: std::net::SocketAddr, request: String) -> Answer {
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("connect to the detector");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the request");
    let mut raw = Vec::new();
    // A reset fault aborts the connection: what was read so far is all
    // there is.
    let _ = stream.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Answer::NoResponse;
    };
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP status line: {head:?}"));
    let attempt = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("x-mock-attempt"))
        .and_then(|(_, value)| value.trim().parse().ok());
    Answer::Response {
        status,
        attempt,
        body: body.to_owned(),
    }
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nhost: mockdet\r\nconnection: close\r\n\r\n")
}

fn post_json(path: &str, correlation_id: &str, json: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nhost: mockdet\r\nconnection: close\r\n\
         x-correlation-id: {correlation_id}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{json}",
        json.len()
    )
}

const BODY: &str = r#"{"content": "call me at 555-867-5309"}"#;

#[tokio::test]
async fn a_seeded_failing_detector_answers_each_request_as_its_forecast_says() {
    let fleet = Fleet::builder()
        .builtin("failing")
        .seed(SEED)
        .start()
        .await
        .expect("the failing detector starts on a free port");
    let addr = fleet.addr("failing");

    let Answer::Response { status, body, .. } = exchange(addr, get("/health")).await else {
        panic!("/health gave no response");
    };
    assert_eq!(status, 200, "/health: {body}");
    assert!(
        body.contains(r#""detector_id":"mock-failing-detector""#),
        "/health names its detector: {body}"
    );

    // Concurrently: each request's fate depends on the request alone (its
    // correlation id and body: its key), not on the order of arrival.
    let requests = 12;
    let ids: Vec<String> = (0..requests).map(|i| format!("call-{i}")).collect();
    let calls: Vec<_> = ids
        .iter()
        .map(|id| tokio::spawn(exchange(addr, post_json("/analyze", id, BODY))))
        .collect();
    let mut answers = Vec::new();
    for call in calls {
        let answer = tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .expect("the failing profile answers within its 1 s latency bound")
            .expect("the request task does not panic");
        answers.push(answer);
    }

    let profile = DetectorProfile::builtin("failing").expect("a built-in profile");
    let forecast = Forecast::new(&profile, SEED).expect("the built-in profile is valid");
    let mut seen_healthy = 0;
    for (id, answer) in ids.iter().zip(&answers) {
        // The correlation id names the request (the body is not part of the
        // key when an id header is present; see `replay_options.key_body`).
        let key = RequestKey::new(Some(("x-correlation-id", id)), None);
        let fate = forecast.fate_of(key, 1);
        let Answer::Response {
            status,
            attempt,
            body,
        } = answer
        else {
            assert_eq!(fate.fault, Some(FaultKind::Reset), "{id} was cut off");
            continue;
        };
        assert_eq!(*attempt, Some(1), "{id}: the first send of its key");
        match fate.fault {
            None => {
                seen_healthy += 1;
                assert_eq!(*status, 200, "request {id} was forecast to succeed: {body}");
                assert!(
                    body.contains(r#""detector_id":"mock-failing-detector""#),
                    "request {id}'s result names its detector: {body}"
                );
            }
            Some(FaultKind::HttpError) => assert!(
                *status >= 400,
                "request {id} was forecast an HTTP error, got {status}: {body}"
            ),
            Some(FaultKind::Reset) => panic!("request {id} was forecast a reset, got {status}"),
            Some(kind) => assert_eq!(
                *status, 200,
                "request {id} was forecast {kind:?}, which answers 200"
            ),
        }
    }
    assert!(
        seen_healthy > 0,
        "at 70 % success, some of {requests} requests succeed: {answers:?}"
    );
    fleet.shutdown().await;
}
