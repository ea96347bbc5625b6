//! The scenarios, in the order they run, and the properties they judge.
//!
//! One request at a time first — healthy traffic (ids), one fault per
//! request through `/admin/next` (retries, 4xx, Retry-After, a persistent
//! 500, bad 200s), a hanging detector (timeout) — then steady load while
//! the faulted detector's `/health` fails and, last, while it answers 500
//! (breaker), because a breaker that never recovers would spoil any
//! scenario after it.

use std::time::{Duration, Instant, SystemTime};

use mockdet::profile::{FaultKind, Outage};

use super::engine::{Auditor, Case, DETECTION, Load};
use super::error::AuditError;
use super::fleet::{self, Seen};
use super::judge::{self, Backoff, Rate};
use super::report::{Evidence, Property, PropertyId as P, Timeline, Verdict, human};

/// Runs every scenario, pushing each property into `done` as soon as it is
/// judged (so an interrupted audit keeps what it has).
pub(crate) async fn run_all(a: &Auditor, done: &mut Vec<Property>) -> Result<(), AuditError> {
    done.push(baseline_and_ids(a).await?);
    let reps = if a.options.quick { 1 } else { 2 };
    let mut cases: Vec<Case> = Vec::new();

    let mut retried = Vec::new();
    for _ in 0..reps {
        let e503 = fleet::http_error(503, None);
        retried.push(
            a.exchange("retry-503", "next 1 × 503".into(), 1, e503)
                .await?,
        );
        let reset = fleet::fault(FaultKind::Reset);
        retried.push(
            a.exchange("retry-reset", "next 1 × reset".into(), 1, reset)
                .await?,
        );
    }
    done.push(retries_on_5xx(a, &retried));
    cases.extend(retried);

    let mut client_errors = Vec::new();
    for _ in 0..reps {
        for status in [400, 422] {
            let setup = format!("next 1 × {status}");
            let fault = fleet::http_error(status, None);
            client_errors.push(a.exchange("no-retry-4xx", setup, 1, fault).await?);
        }
    }
    done.push(no_retry_on_4xx(&client_errors));
    cases.extend(client_errors);

    let e429 = fleet::http_error(429, Some(1));
    let limited = a
        .exchange(
            "retry-after",
            "next 1 × 429, Retry-After: 1".into(),
            1,
            e429,
        )
        .await?;
    done.push(retry_after(&limited));
    cases.push(limited);

    let e500 = fleet::http_error(500, None);
    let persistent = a
        .exchange("persistent-500", "every attempt 500".into(), 100, e500)
        .await?;
    done.push(backoff(a, &persistent, &cases));
    done.push(partial_coverage(a, &persistent));
    cases.push(persistent);

    let mut bad = Vec::new();
    for kind in [
        FaultKind::MalformedJson,
        FaultKind::SchemaInvalid,
        FaultKind::EmptyBody,
    ] {
        let setup = format!("every attempt {kind}");
        bad.push(
            a.exchange("bad-200", setup, 100, fleet::fault(kind))
                .await?,
        );
    }
    done.push(bad_200s(a, &bad));
    cases.extend(bad);
    done.push(amplification(a, &cases));

    done.push(timeout_budget(a).await?);
    done.push(unhealthy_skipped(a).await?);
    done.extend(breaker(a).await?);
    Ok(())
}

fn slack(d: Duration, least: Duration) -> Duration {
    (d / 4).max(least)
}

fn attempts_list(cases: &[Case]) -> String {
    cases
        .iter()
        .map(|c| format!("{}: {}", c.setup, c.attempts()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn evidence(cases: &[&Case]) -> Vec<Evidence> {
    cases.iter().map(|c| c.evidence()).collect()
}

async fn baseline_and_ids(a: &Auditor) -> Result<Property, AuditError> {
    let mut marks = Vec::new();
    for detector in &a.fleet.detectors {
        marks.push(a.fleet.mark(detector).await?);
    }
    let mut sent = Vec::new();
    for _ in 0..if a.options.quick { 2 } else { 3 } {
        let s = a.sender.send("ids", a.answer_timeout()).await;
        if !s.answer.claims_full_coverage() {
            return Err(AuditError::Baseline {
                target: a.options.target.clone(),
                reason: format!(
                    "answered {} to a request sent with every detector calm (correlation id {}); \
                     faults cannot be judged until healthy traffic gets a full answer",
                    s.answer.describe(),
                    s.id
                ),
            });
        }
        sent.push(s);
    }
    let mut wrong = Vec::new();
    let mut reached = vec![0usize; sent.len()];
    let mut victim_calls = Vec::new();
    for (detector, mark) in a.fleet.detectors.iter().zip(marks) {
        let calls = a.settle(detector, mark).await?;
        for call in &calls {
            match sent
                .iter()
                .position(|s| call.correlation_id.as_deref() == Some(s.id.as_str()))
            {
                Some(i) => reached[i] += 1,
                None => wrong.push((detector.name.clone(), call.correlation_id.clone())),
            }
        }
        if detector.url == a.victim().url {
            victim_calls = calls;
        }
    }
    let total: usize = reached.iter().sum::<usize>() + wrong.len();
    let evidence = sent.iter().map(|s| Evidence {
        setup: "no fault".into(),
        request: Some(s.id.clone()),
        answer: Some(s.answer.clone()),
        calls: victim_calls
            .iter()
            .filter(|c| c.correlation_id.as_deref() == Some(s.id.as_str()))
            .cloned()
            .collect(),
        timeline: None,
    });
    let property = if total == 0 {
        Property::new(
            P::IdsPropagate,
            Verdict::Fail,
            "no fleet detector saw a call: is the orchestrator configured with these detectors?",
        )
    } else if let Some((detector, id)) = wrong.first() {
        Property::new(
            P::IdsPropagate,
            Verdict::Fail,
            format!(
                "{} of {total} detector calls carried no or another X-Correlation-ID \
                 (e.g. {detector} saw {})",
                wrong.len(),
                id.as_deref()
                    .map_or("none".to_owned(), |i| format!("{i:?}"))
            ),
        )
    } else if let Some(i) = reached.iter().position(|&n| n == 0) {
        Property::new(
            P::IdsPropagate,
            Verdict::Fail,
            format!("request {} reached no detector with its id", sent[i].id),
        )
    } else {
        Property::new(
            P::IdsPropagate,
            Verdict::Pass,
            format!(
                "all {total} detector calls for {} requests carried the request's X-Correlation-ID",
                sent.len()
            ),
        )
    };
    Ok(property.evidence(evidence))
}

fn retries_on_5xx(a: &Auditor, cases: &[Case]) -> Property {
    let budget = a.options.retry_budget_for(&a.victim().url);
    let most = budget.value as usize + 1;
    let param = format!("retry budget: {} ({})", budget.value, budget.source);
    if budget.value == 0 {
        return Property::new(
            P::RetriesOn5xx,
            Verdict::NotApplicable,
            "the stated retry budget is 0: no retries expected",
        )
        .parameter(param);
    }
    let uncalled: Vec<&Case> = cases.iter().filter(|c| c.attempts() == 0).collect();
    let once: Vec<&Case> = cases.iter().filter(|c| c.attempts() == 1).collect();
    let over: Vec<&Case> = cases.iter().filter(|c| c.attempts() > most).collect();
    let (verdict, summary, shown) = if let Some(c) = uncalled.first() {
        (
            Verdict::Fail,
            format!("{}: the detector was not called at all", c.setup),
            uncalled,
        )
    } else if let Some(c) = once.first() {
        (
            Verdict::Fail,
            format!("not retried: {} got 1 attempt", c.setup),
            once,
        )
    } else if let Some(c) = over.first() {
        (
            Verdict::Fail,
            format!(
                "retried past its budget: {} attempts for {} (at most {most})",
                c.attempts(),
                c.setup
            ),
            over,
        )
    } else {
        (
            Verdict::Pass,
            format!("every one was retried: {}", attempts_list(cases)),
            cases.iter().collect(),
        )
    };
    Property::new(P::RetriesOn5xx, verdict, summary)
        .parameter(param)
        .evidence(evidence(&shown))
}

fn no_retry_on_4xx(cases: &[Case]) -> Property {
    let called: Vec<&Case> = cases.iter().filter(|c| c.attempts() > 0).collect();
    if called.is_empty() {
        return Property::new(
            P::NoRetryOn4xx,
            Verdict::NotApplicable,
            "the detector was not called, so nothing could be judged",
        );
    }
    let retried: Vec<&Case> = called
        .iter()
        .copied()
        .filter(|c| c.attempts() > 1)
        .collect();
    match retried.first() {
        Some(c) => Property::new(
            P::NoRetryOn4xx,
            Verdict::Fail,
            format!(
                "retried a client error: {} got {} attempts",
                c.setup,
                c.attempts()
            ),
        )
        .evidence(evidence(&retried)),
        None => Property::new(
            P::NoRetryOn4xx,
            Verdict::Pass,
            format!("none was retried: {}", attempts_list(cases)),
        )
        .evidence(evidence(&called)),
    }
}

fn retry_after(case: &Case) -> Property {
    let shown = evidence(&[case]);
    let (verdict, summary) = match case.attempts() {
        0 => (
            Verdict::NotApplicable,
            "the detector was not called, so nothing could be judged".to_owned(),
        ),
        1 => (
            Verdict::Pass,
            "not retried (which honours Retry-After too)".to_owned(),
        ),
        _ => match judge::retry_after_kept(&case.calls, Duration::from_secs(1)) {
            Ok(()) => (
                Verdict::Pass,
                format!(
                    "retried {} after the 429, not before its Retry-After: 1",
                    human(judge::gaps(&case.calls)[0])
                ),
            ),
            Err(gap) => (
                Verdict::Fail,
                format!(
                    "retried {} after a 429 that said Retry-After: 1",
                    human(gap)
                ),
            ),
        },
    };
    Property::new(P::RetryAfterHonoured, verdict, summary).evidence(shown)
}

fn backoff(a: &Auditor, persistent: &Case, others: &[Case]) -> Property {
    let floor = a.options.backoff_floor;
    let param = format!(
        "floor: {}, growth: longest pause ≥ 1.5 × the first",
        human(floor)
    );
    // Every retry anywhere must respect the floor; growth needs the
    // persistent failure's several retries.
    for case in others.iter().filter(|c| c.attempts() >= 2) {
        if let Backoff::BelowFloor { gap, floor } = judge::backoff(&judge::gaps(&case.calls), floor)
        {
            return Property::new(
                P::Backoff,
                Verdict::Fail,
                format!(
                    "{}: a retry came {} after the previous attempt ended (floor {})",
                    case.setup,
                    human(gap),
                    human(floor)
                ),
            )
            .parameter(param)
            .evidence(evidence(&[case]));
        }
    }
    let gaps = judge::gaps(&persistent.calls);
    let (verdict, summary) = match judge::backoff(&gaps, floor) {
        Backoff::NoRetries => (
            Verdict::NotApplicable,
            "a persistent 500 was not retried, so there are no pauses to time".to_owned(),
        ),
        Backoff::BelowFloor { gap, floor } => (
            Verdict::Fail,
            format!(
                "a retry came {} after the previous attempt ended (floor {})",
                human(gap),
                human(floor)
            ),
        ),
        Backoff::NoGrowth { first, longest } => (
            Verdict::Fail,
            format!(
                "pauses did not grow: first {}, longest {}",
                human(first),
                human(longest)
            ),
        ),
        Backoff::Fine { gaps } => (
            Verdict::Pass,
            format!(
                "pauses before retries of a persistent 500: {}",
                gaps.iter()
                    .map(|g| human(*g))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    };
    Property::new(P::Backoff, verdict, summary)
        .parameter(param)
        .evidence(evidence(&[persistent]))
}

fn amplification(a: &Auditor, cases: &[Case]) -> Property {
    let budget = a.options.retry_budget_for(&a.victim().url);
    let most = budget.value as usize + 1;
    let param = format!(
        "retry budget: {} ({}), so at most {most} attempts",
        budget.value, budget.source
    );
    let Some(worst) = cases.iter().max_by_key(|c| c.attempts()) else {
        return Property::new(P::RetryAmplification, Verdict::NotApplicable, "no requests");
    };
    let (verdict, summary) = if worst.attempts() > most {
        (
            Verdict::Fail,
            format!(
                "{} attempts reached the detector for one request ({}); the budget allows {most}",
                worst.attempts(),
                worst.setup
            ),
        )
    } else {
        (
            Verdict::Pass,
            format!(
                "at most {} attempts per request over {} faulted requests (allowed {most})",
                worst.attempts(),
                cases.len()
            ),
        )
    };
    Property::new(P::RetryAmplification, verdict, summary)
        .parameter(param)
        .evidence(evidence(&[worst]))
}

fn partial_coverage(a: &Auditor, persistent: &Case) -> Property {
    let answer = &persistent.sent.answer;
    let shown = evidence(&[persistent]);
    if !a.options.shape.reports_partial_results() {
        return Property::new(
            P::PartialCoverageReported,
            Verdict::NotApplicable,
            format!(
                "the {} API has no partial form: a failed detector fails the call ({})",
                a.options.shape,
                answer.describe()
            ),
        )
        .evidence(shown);
    }
    let (verdict, summary) = if answer.reports_partial() {
        (
            Verdict::Pass,
            format!("one detector failing: answered {}", answer.describe()),
        )
    } else if answer.is_server_error() {
        (
            Verdict::Fail,
            format!(
                "one detector failing: answered {} though the others answered",
                answer.describe()
            ),
        )
    } else if answer.claims_full_coverage() {
        (
            Verdict::Fail,
            format!(
                "one detector failing: answered {}, claiming full coverage",
                answer.describe()
            ),
        )
    } else {
        (
            Verdict::Fail,
            format!(
                "one detector failing: answered {}, not a partial result",
                answer.describe()
            ),
        )
    };
    Property::new(P::PartialCoverageReported, verdict, summary).evidence(shown)
}

fn bad_200s(a: &Auditor, cases: &[Case]) -> Property {
    let partial_form = a.options.shape.reports_partial_results();
    let mut failed = Vec::new();
    for case in cases {
        let answer = &case.sent.answer;
        let problem = if answer.claims_full_coverage() {
            Some(format!(
                "answered {}: counted as success",
                answer.describe()
            ))
        } else if partial_form && answer.is_server_error() {
            Some(format!(
                "answered {}: the orchestrator itself failed",
                answer.describe()
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            failed.push((case, problem));
        }
    }
    match failed.first() {
        Some((case, problem)) => Property::new(
            P::Bad200sAreFailures,
            Verdict::Fail,
            format!("{}: {problem}", case.setup),
        )
        .evidence(failed.iter().map(|(c, _)| c.evidence())),
        None => Property::new(
            P::Bad200sAreFailures,
            Verdict::Pass,
            format!(
                "each counted as failed: {}",
                cases
                    .iter()
                    .map(|c| format!("{} → {}", c.setup, c.sent.answer.describe()))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )
        .evidence(cases.iter().map(Case::evidence)),
    }
}

async fn timeout_budget(a: &Auditor) -> Result<Property, AuditError> {
    let sla = a.options.sla_budget;
    // Long enough to be past the limit by 2 s, however long the budget;
    // 10 s when no budget is known.
    let hang = sla.map_or(Duration::from_secs(10), |k| {
        (k.value + slack(k.value, Duration::from_millis(500)) + Duration::from_secs(2))
            .max(Duration::from_secs(3))
    });
    let victim = a.victim();
    a.fleet.outage(victim, Outage::hang(hang)).await?;
    let sent = a
        .sender
        .send("timeout", hang + Duration::from_secs(10))
        .await;
    a.fleet.clear(victim).await?;
    let answer = &sent.answer;
    let setup = format!("the detector hangs for {}", human(hang));
    let shown = Evidence {
        setup: setup.clone(),
        request: Some(sent.id.clone()),
        answer: Some(answer.clone()),
        calls: Vec::new(),
        timeline: None,
    };
    let partial_form = a.options.shape.reports_partial_results();
    let (limit, param) = match sla {
        Some(k) => {
            let limit = k.value + slack(k.value, Duration::from_millis(500));
            (
                limit,
                format!(
                    "SLA budget: {} ({}), slack {}",
                    human(k.value),
                    k.source,
                    human(limit - k.value)
                ),
            )
        }
        None => (
            hang - Duration::from_secs(1),
            "SLA budget: unknown; the answer must come before the hang ends".to_owned(),
        ),
    };
    let (verdict, summary) = if answer.status.is_none() && answer.elapsed <= limit {
        (
            Verdict::Fail,
            format!(
                "{}: no answer, a failure of the orchestrator itself",
                answer.describe()
            ),
        )
    } else if answer.status.is_none() || answer.elapsed > limit {
        (
            Verdict::Fail,
            format!(
                "answered {}: past the {} limit, waiting on the hanging detector",
                answer.describe(),
                human(limit)
            ),
        )
    } else if partial_form && answer.is_server_error() {
        (
            Verdict::Fail,
            format!(
                "answered {} in time, but a 5xx instead of partial coverage",
                answer.describe()
            ),
        )
    } else if partial_form && answer.claims_full_coverage() {
        (
            Verdict::Fail,
            format!(
                "answered {}, claiming full coverage with a detector hanging",
                answer.describe()
            ),
        )
    } else {
        let measured = if sla.is_none() {
            format!("; measured budget ≈ {}", human(answer.elapsed))
        } else {
            String::new()
        };
        (
            Verdict::Pass,
            format!(
                "answered {} within {}{measured}",
                answer.describe(),
                human(limit)
            ),
        )
    };
    Ok(Property::new(P::TimeoutBudget, verdict, summary)
        .parameter(param)
        .evidence([shown]))
}

/// The evidence of a load scenario: what was done, and the timeline.
fn under_load(
    setup: &str,
    load: &Load,
    calls: &[Seen],
    marks: Vec<(&str, Option<SystemTime>)>,
) -> Evidence {
    Evidence {
        setup: setup.to_owned(),
        request: None,
        answer: None,
        calls: Vec::new(),
        timeline: Some(timeline(load, calls, marks)),
    }
}

/// A timeline of the load and the faulted detector's calls.
fn timeline(load: &Load, calls: &[Seen], marks: Vec<(&str, Option<SystemTime>)>) -> Timeline {
    let start = load.started();
    let end = SystemTime::now();
    let width = Duration::from_millis(500);
    let sent = load.sent();
    let buckets = judge::buckets(&sent, calls, start, end, width);
    let since = |t: SystemTime| t.duration_since(start).unwrap_or_default().as_secs_f64();
    Timeline {
        bucket_s: width.as_secs_f64(),
        requests: buckets.iter().map(|b| b.requests).collect(),
        calls: buckets.iter().map(|b| b.calls).collect(),
        marks: marks
            .into_iter()
            .filter_map(|(label, t)| Some((label.to_owned(), since(t?))))
            .collect(),
    }
}

/// The arrival of the last call before `t`.
fn last_call_before(calls: &[Seen], t: SystemTime) -> Option<SystemTime> {
    calls.iter().map(|c| c.at).filter(|at| *at <= t).max()
}

fn secs_between(from: SystemTime, to: SystemTime) -> Duration {
    to.duration_since(from).unwrap_or_default()
}

/// Load until the detector is called at full rate (the precondition of
/// the load scenarios); `None` when it never is within 5 s.
async fn full_rate(a: &Auditor, load: &Load, mark: u64) -> Result<Option<SystemTime>, AuditError> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let (seen, _) = a
        .wait_for_rate(load, mark, load.started(), deadline, Rate::full)
        .await?;
    Ok(seen)
}

async fn unhealthy_skipped(a: &Auditor) -> Result<Property, AuditError> {
    let victim = a.victim();
    let known = a.options.health_interval;
    let cap = if a.options.quick {
        Duration::from_secs(15)
    } else {
        Duration::from_secs(60)
    };
    let (bound, param) = match known {
        Some(k) => {
            let bound = k.value + slack(k.value, Duration::from_secs(2));
            let line = format!(
                "health poll interval: {} ({}), so within {}",
                human(k.value),
                k.source,
                human(bound)
            );
            (bound, line)
        }
        None => (
            cap,
            format!("health poll interval: unknown, waited up to {}", human(cap)),
        ),
    };
    let mark = a.fleet.mark(victim).await?;
    let load = a.load("health");
    if full_rate(a, &load, mark).await?.is_none() {
        return Ok(Property::new(
            P::UnhealthySkipped,
            Verdict::NotApplicable,
            "the detector was not called at full rate before /health failed, so nothing could be judged",
        )
        .parameter(param));
    }
    let polls_before = a.fleet.health_polls(victim).await?;
    let down_at = SystemTime::now();
    a.fleet
        .outage(victim, Outage::unhealthy(Duration::from_secs(3600)))
        .await?;
    let (stopped, calls) = a
        .wait_for_rate(
            &load,
            mark,
            down_at,
            Instant::now() + bound + DETECTION,
            Rate::stopped,
        )
        .await?;
    // When the calls really stopped: just after the last one before the
    // quiet window was seen.
    let stopped = stopped.map(|seen| {
        last_call_before(&calls, seen)
            .unwrap_or(down_at)
            .max(down_at)
    });
    let polls = a
        .fleet
        .health_polls(victim)
        .await?
        .saturating_sub(polls_before);
    let Some(stopped) = stopped else {
        a.fleet.clear(victim).await?;
        let shown = under_load(
            "/health answers 503, requests served as usual",
            &load,
            &calls,
            vec![("/health 503", Some(down_at))],
        );
        let (verdict, summary) = if polls == 0 {
            (
                Verdict::NotApplicable,
                format!(
                    "the orchestrator did not poll /health in {}: it does not skip by health",
                    human(bound)
                ),
            )
        } else {
            (
                Verdict::Fail,
                format!(
                    "calls continued at full rate for {} while /health answered 503 ({polls} polls)",
                    human(bound)
                ),
            )
        };
        return Ok(Property::new(P::UnhealthySkipped, verdict, summary)
            .parameter(param)
            .evidence([shown]));
    };
    let up_at = SystemTime::now();
    a.fleet.clear(victim).await?;
    let (resumed, calls) = a
        .wait_for_rate(
            &load,
            mark,
            up_at,
            Instant::now() + bound + DETECTION,
            Rate::full,
        )
        .await?;
    // When they really resumed: the first call after /health recovered.
    let resumed = resumed.and_then(|_| calls.iter().map(|c| c.at).find(|t| *t >= up_at));
    let marks = vec![
        ("/health 503", Some(down_at)),
        ("calls stopped", Some(stopped)),
        ("/health 200", Some(up_at)),
        ("full rate again", resumed),
    ];
    let shown = under_load(
        "/health answers 503, requests served as usual",
        &load,
        &calls,
        marks,
    );
    drop(load);
    let (verdict, summary) = match resumed {
        Some(resumed) => (
            Verdict::Pass,
            format!(
                "calls stopped {} after /health failed and came back {} after it recovered",
                human(secs_between(down_at, stopped)),
                human(secs_between(up_at, resumed))
            ),
        ),
        None => (
            Verdict::Fail,
            format!(
                "calls stopped {} after /health failed but did not resume within {} of it recovering",
                human(secs_between(down_at, stopped)),
                human(bound)
            ),
        ),
    };
    Ok(Property::new(P::UnhealthySkipped, verdict, summary)
        .parameter(param)
        .parameter(format!("health polls seen while it failed: {polls}"))
        .evidence([shown]))
}

async fn breaker(a: &Auditor) -> Result<Vec<Property>, AuditError> {
    let victim = a.victim();
    let quick = a.options.quick;
    let rate = a.options.rate;
    let open_bound = match a.options.breaker_threshold {
        // Enough requests for twice the threshold, plus the SLA budget for
        // calls still retrying.
        Some(k) => {
            Duration::from_secs_f64(2.0 * f64::from(k.value) / rate).max(Duration::from_secs(3))
                + a.options
                    .sla_budget
                    .map_or(Duration::from_secs(2), |s| s.value)
        }
        None if quick => Duration::from_secs(10),
        None => Duration::from_secs(20),
    };
    let threshold_param = match a.options.breaker_threshold {
        Some(k) => format!("breaker threshold: {} failed calls ({})", k.value, k.source),
        None => "breaker threshold: unknown".to_owned(),
    };
    let mark = a.fleet.mark(victim).await?;
    let load = a.load("breaker");
    if full_rate(a, &load, mark).await?.is_none() {
        let why = "the detector was not called at full rate before the outage, so nothing could be judged";
        return Ok(vec![
            Property::new(P::BreakerOpens, Verdict::NotApplicable, why),
            Property::new(P::BreakerRecovers, Verdict::NotApplicable, why),
        ]);
    }
    let failing_at = SystemTime::now();
    a.fleet
        .outage(victim, Outage::errors(500, Duration::from_secs(3600)))
        .await?;
    let (opened, calls) = a
        .wait_for_rate(
            &load,
            mark,
            failing_at,
            Instant::now() + open_bound + DETECTION,
            Rate::stopped,
        )
        .await?;
    let failing_calls: Vec<&Seen> = calls.iter().filter(|c| c.at >= failing_at).collect();
    let requests_failing = load.sent().iter().filter(|t| **t >= failing_at).count();
    let Some(opened) = opened else {
        a.fleet.clear(victim).await?;
        let shown = under_load(
            "every call answers 500",
            &load,
            &calls,
            vec![("500s from", Some(failing_at))],
        );
        return Ok(vec![
            Property::new(
                P::BreakerOpens,
                Verdict::Fail,
                format!(
                    "calls kept arriving at full rate: {} calls for {requests_failing} requests in {} of 500s",
                    failing_calls.len(),
                    human(open_bound)
                ),
            )
            .parameter(threshold_param)
            .evidence([shown]),
            Property::new(
                P::BreakerRecovers,
                Verdict::NotApplicable,
                "the breaker never opened",
            ),
        ]);
    };
    // The breaker opened around the end of the last failed call before
    // the rate fell (calls admitted before it opened may still retry).
    let last_failure = failing_calls
        .iter()
        .filter(|c| c.at <= opened)
        .map(|c| c.ended())
        .max()
        .unwrap_or(failing_at);
    let requests_before_open = load
        .sent()
        .iter()
        .filter(|t| **t >= failing_at && **t <= last_failure)
        .count();
    let failed_before_open = failing_calls.iter().filter(|c| c.at <= opened).count();
    let healed_at = SystemTime::now();
    a.fleet.clear(victim).await?;
    let (probe_bound, recovery_param) = match a.options.recovery {
        Some(k) => {
            let bound = k.value + slack(k.value, Duration::from_secs(2));
            let line = format!(
                "breaker recovery: {} ({}), so a probe within {} of opening",
                human(k.value),
                k.source,
                human(bound)
            );
            (bound, line)
        }
        None => {
            let cap = Duration::from_secs(if quick { 20 } else { 90 });
            (
                cap,
                format!("breaker recovery: unknown, waited up to {}", human(cap)),
            )
        }
    };
    let since_open = secs_between(last_failure, SystemTime::now());
    let probe_deadline = Instant::now() + probe_bound.saturating_sub(since_open) + DETECTION;
    let probe = a.wait_for_call(mark, healed_at, probe_deadline).await?;
    let full = match probe {
        Some(probe) => {
            let deadline = Instant::now() + Duration::from_secs(3) + DETECTION;
            a.wait_for_rate(&load, mark, probe, deadline, Rate::full)
                .await?
                .0
        }
        None => None,
    };
    let calls = a.fleet.since(victim, mark).await?;
    let marks = vec![
        ("500s from", Some(failing_at)),
        ("calls stopped", Some(opened)),
        ("healthy again", Some(healed_at)),
        ("first call after", probe),
        ("full rate again", full),
    ];
    let shown = under_load(
        "every call answers 500, then every call succeeds",
        &load,
        &calls,
        marks,
    );
    drop(load);
    let opens = Property::new(
        P::BreakerOpens,
        Verdict::Pass,
        format!(
            "calls stopped {} into the 500s, after {failed_before_open} failed attempts \
             for {requests_before_open} requests",
            human(secs_between(failing_at, last_failure))
        ),
    )
    .parameter(threshold_param)
    .evidence([shown.clone()]);
    let recovers = match (probe, full) {
        (Some(probe), Some(full)) => Property::new(
            P::BreakerRecovers,
            Verdict::Pass,
            format!(
                "first call {} after the last failed one; full rate again within {} of it",
                human(secs_between(last_failure, probe)),
                human(secs_between(probe, full))
            ),
        )
        .parameter(format!(
            "measured: first call {} after the last failed one (calls admitted before \
             the breaker opened may have retried past its opening)",
            human(secs_between(last_failure, probe))
        )),
        (Some(probe), None) => Property::new(
            P::BreakerRecovers,
            Verdict::Fail,
            format!(
                "first call {} after the last failed one, but calls did not return to full rate",
                human(secs_between(last_failure, probe))
            ),
        ),
        (None, _) => Property::new(
            P::BreakerRecovers,
            Verdict::Fail,
            format!(
                "no call reached the detector in {} after the last failed one, though it had \
                 recovered: the breaker never half-opens",
                human(probe_bound)
            ),
        ),
    };
    Ok(vec![
        opens,
        recovers.parameter(recovery_param).evidence([shown]),
    ])
}
