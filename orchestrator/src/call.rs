//! One detector call, as CONTRACT §1 and §3 describe a real orchestrator's:
//! `POST` the shared body with `X-Correlation-ID`; each attempt bounded by
//! the detector's `timeout_ms` and by the request's deadline; 5xx,
//! transport errors and attempt timeouts retried up to `max_retries` with
//! backoff 0.1·2^n s capped at 1 s (never past the deadline); 4xx and bad
//! 200 bodies not retried.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::CONTENT_TYPE;
use serde::Serialize;
use tokio::time::Instant;

use super::breaker::{Permit, Verdict};
use super::defects::Defects;
use super::metrics::Metrics;
use super::result::{self, DetectorResult};
use super::settings::Target;

/// How a detector's part of a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CallStatus {
    /// A valid result.
    Success,
    /// An error answer, a bad body, or retries exhausted.
    Failed,
    /// No answer by the deadline.
    Timeout,
    /// Not called: its circuit breaker is open.
    CircuitOpen,
    /// Not called: its last health check failed.
    Unhealthy,
}

impl CallStatus {
    /// The snake_case name, for metrics.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failed => "failed",
            Self::Timeout => "timeout",
            Self::CircuitOpen => "circuit_open",
            Self::Unhealthy => "unhealthy",
        }
    }
}

/// One entry of `detector_results`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct CallReport {
    pub(crate) detector: String,
    pub(crate) status: CallStatus,
    pub(crate) attempts: u32,
    pub(crate) latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) result: Option<DetectorResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

impl CallReport {
    /// A detector that was not called.
    pub(crate) fn skipped(detector: &str, status: CallStatus, why: &str) -> Self {
        Self {
            detector: detector.to_owned(),
            status,
            attempts: 0,
            latency_ms: 0.0,
            http_status: None,
            result: None,
            error: Some(why.to_owned()),
        }
    }
}

/// What one request sends to every detector.
#[derive(Debug)]
pub(crate) struct CallContext<'a> {
    pub(crate) client: &'a reqwest::Client,
    pub(crate) metrics: &'a Metrics,
    pub(crate) body: Bytes,
    pub(crate) correlation_id: &'a str,
    pub(crate) deadline: Instant,
    /// Deliberate defects (all off unless a test sets them).
    pub(crate) defects: Defects,
}

/// How one attempt ended.
#[derive(Debug)]
enum Attempt {
    Answered(DetectorResult),
    /// Answered, but not a usable result: not retried.
    Rejected {
        status: u16,
        reason: String,
    },
    Server {
        status: u16,
    },
    Transport(String),
    TimedOut(Duration),
    Deadline,
}

impl Attempt {
    fn retryable(&self, defects: Defects) -> bool {
        match self {
            Self::Server { .. } | Self::Transport(_) | Self::TimedOut(_) => true,
            // The defect spares 429, whose Retry-After is judged on its own.
            Self::Rejected { status, .. } => {
                defects.retries_on_4xx && (400..500).contains(status) && *status != 429
            }
            Self::Answered(_) | Self::Deadline => false,
        }
    }

    fn verdict(&self) -> Verdict {
        match self {
            Self::Answered(_) | Self::Rejected { .. } => Verdict::Success,
            Self::Server { .. } | Self::Transport(_) | Self::TimedOut(_) => Verdict::Failure,
            Self::Deadline => Verdict::Abandoned,
        }
    }
}

/// Backoff before retry `n` (0-based): 0.1·2^n s, capped at 1 s.
pub(crate) fn backoff(n: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1u64 << n.min(10))).min(Duration::from_secs(1))
}

/// Calls `target` until it answers, fails for good, or the deadline comes.
pub(crate) async fn call(ctx: &CallContext<'_>, target: &Target, permit: Permit<'_>) -> CallReport {
    let started = Instant::now();
    let mut attempts = 0;
    // One retry layer; the `TwoRetryLayers` defect wraps it in another.
    let layers = if ctx.defects.two_retry_layers {
        target.max_retries + 1
    } else {
        1
    };
    let mut last = retrying(ctx, target, &mut attempts).await;
    for layer in 1..layers {
        let pause = backoff(layer - 1);
        if !last.retryable(ctx.defects) || Instant::now() + pause >= ctx.deadline {
            break;
        }
        tokio::time::sleep(pause).await;
        last = retrying(ctx, target, &mut attempts).await;
    }
    permit.finish(last.verdict());
    report(target, last, attempts, started.elapsed())
}

/// Attempts until an answer, a failure not worth retrying, `max_retries`
/// retries, or the deadline; counts attempts into `attempts`.
async fn retrying(ctx: &CallContext<'_>, target: &Target, attempts: &mut u32) -> Attempt {
    let mut tries = 0;
    loop {
        let attempt = attempt_once(ctx, target).await;
        tries += 1;
        *attempts += 1;
        if attempt.retryable(ctx.defects) && tries <= target.max_retries {
            let pause = backoff(tries - 1);
            if Instant::now() + pause < ctx.deadline {
                tracing::debug!(detector = %target.name, ?attempt, tries, "retrying");
                tokio::time::sleep(pause).await;
                continue;
            }
        }
        break attempt;
    }
}

async fn attempt_once(ctx: &CallContext<'_>, target: &Target) -> Attempt {
    let started = Instant::now();
    let by_timeout = if ctx.defects.no_timeout {
        ctx.deadline
    } else {
        started + target.timeout
    };
    let limit = by_timeout.min(ctx.deadline);
    let exchange = async {
        let mut request = ctx
            .client
            .post(target.analyze_url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header("X-Correlation-ID", ctx.correlation_id)
            .body(ctx.body.clone());
        if !target.headers.is_empty() {
            request = request.headers(target.headers.clone());
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, body))
    };
    let attempt = match tokio::time::timeout_at(limit, exchange).await {
        Err(_) if limit == ctx.deadline => Attempt::Deadline,
        Err(_) => Attempt::TimedOut(target.timeout),
        Ok(Err(error)) => Attempt::Transport(describe(&error)),
        Ok(Ok((status, body))) => classify(status, &body, ctx.defects),
    };
    ctx.metrics
        .detector_latency
        .with_label_values(&[target.name.as_str()])
        .observe(started.elapsed().as_secs_f64() * 1000.0);
    attempt
}

fn classify(status: u16, body: &[u8], defects: Defects) -> Attempt {
    match status {
        500..=599 => Attempt::Server { status },
        200..=299 => match result::parse(body) {
            Ok(result) => Attempt::Answered(result),
            Err(_) if defects.malformed_counts_as_success => {
                Attempt::Answered(DetectorResult::empty())
            }
            Err(invalid) => Attempt::Rejected {
                status,
                reason: invalid.to_string(),
            },
        },
        _ => Attempt::Rejected {
            status,
            reason: format!("answered HTTP {status}"),
        },
    }
}

/// A transport error with its cause chain (reqwest's top line says little).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn report(target: &Target, last: Attempt, attempts: u32, elapsed: Duration) -> CallReport {
    let mut report = CallReport {
        detector: target.name.clone(),
        status: CallStatus::Failed,
        attempts,
        latency_ms: elapsed.as_secs_f64() * 1000.0,
        http_status: None,
        result: None,
        error: None,
    };
    match last {
        Attempt::Answered(result) => {
            report.status = CallStatus::Success;
            report.http_status = Some(200);
            report.result = Some(result);
        }
        Attempt::Rejected { status, reason } => {
            report.http_status = Some(status);
            report.error = Some(reason);
        }
        Attempt::Server { status } => {
            report.http_status = Some(status);
            report.error = Some(format!("answered HTTP {status}"));
        }
        Attempt::Transport(reason) => report.error = Some(reason),
        Attempt::TimedOut(limit) => {
            report.error = Some(format!("no answer within {} ms", limit.as_millis()));
        }
        Attempt::Deadline => {
            report.status = CallStatus::Timeout;
            report.error = Some("no answer within the request's SLA budget".to_owned());
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_100_ms_and_caps_at_one_second() {
        let ms: Vec<u128> = (0..6).map(|n| backoff(n).as_millis()).collect();
        assert_eq!(ms, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn only_5xx_and_transport_failures_are_retried_and_counted() {
        let cases = [
            (
                classify(503, b"", Defects::default()),
                true,
                Verdict::Failure,
            ),
            (
                classify(500, b"{}", Defects::default()),
                true,
                Verdict::Failure,
            ),
            (
                classify(429, b"", Defects::default()),
                false,
                Verdict::Success,
            ),
            (
                classify(404, b"", Defects::default()),
                false,
                Verdict::Success,
            ),
            (
                classify(200, b"{not json", Defects::default()),
                false,
                Verdict::Success,
            ),
        ];
        for (attempt, retryable, verdict) in cases {
            assert_eq!(
                attempt.retryable(Defects::default()),
                retryable,
                "{attempt:?}"
            );
            assert_eq!(attempt.verdict(), verdict, "{attempt:?}");
        }
        let timeout = Attempt::TimedOut(Duration::from_secs(1));
        assert!(timeout.retryable(Defects::default()));
        assert_eq!(Attempt::Deadline.verdict(), Verdict::Abandoned);
        assert!(!Attempt::Deadline.retryable(Defects::default()));
    }

    #[test]
    fn the_defect_switches_change_only_what_they_name() {
        let retry_4xx = Defects::default().with(crate::Defect::RetriesOn4xx);
        assert!(classify(422, b"", retry_4xx).retryable(retry_4xx));
        assert!(!classify(429, b"", retry_4xx).retryable(retry_4xx));
        assert!(!classify(200, b"{not json", retry_4xx).retryable(retry_4xx));
        let lenient = Defects::default().with(crate::Defect::MalformedCountsAsSuccess);
        assert!(matches!(
            classify(200, b"{not json", lenient),
            Attempt::Answered(_)
        ));
        assert!(matches!(
            classify(503, b"", lenient),
            Attempt::Server { status: 503 }
        ));
    }
}
