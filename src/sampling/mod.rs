//! Sampling: latency models, fault selection and seeded RNG derivation.
//!
//! `plan` turns a validated profile and a request's generator into a
//! `Plan`: how long to wait and which fault, if any, to act out.

mod behaviour;
mod forecast;
mod key;
pub(crate) mod latency;
pub(crate) mod rng;

pub(crate) use behaviour::{Behaviour, ReadyBursts};
pub use forecast::{Fate, Forecast};
pub use key::RequestKey;
pub(crate) use key::header;

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use crate::profile::{BatchLatency, Fault, FaultKind, FaultMenu, HangEnd};
use latency::Latency;

/// What runtime control imposes on one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Imposed {
    /// A fault replacing whatever the profile's menu would pick.
    pub(crate) fault: Option<Fault>,
    /// Act the fault out at once instead of after the sampled latency.
    pub(crate) immediate: bool,
    /// A fault menu replacing the profile's (script phase, burst).
    pub(crate) menu: Option<Arc<FaultMenu>>,
    /// A latency model replacing the profile's (script phase).
    pub(crate) latency: Option<Arc<Latency>>,
    /// Added to the sampled latency (a `slow` outage).
    pub(crate) extra_delay: Duration,
    /// An exact latency (a per-request header).
    pub(crate) delay: Option<Duration>,
    /// Where the imposition came from, for the journal.
    pub(crate) source: Option<&'static str>,
}

/// What one request will do, decided before any work is done.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    /// Time from arrival to the answer (or to the fault being acted out).
    pub(crate) delay: Duration,
    /// The injected fault, if any.
    pub(crate) fault: Option<PlannedFault>,
    /// For batches: which items fail on their own.
    pub(crate) failed_items: Vec<bool>,
}

/// A fault with its durations drawn.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PlannedFault {
    HttpError {
        status: u16,
        retry_after_s: Option<u32>,
    },
    Hang {
        hold: Duration,
        end: HangEnd,
    },
    Reset,
    MalformedJson,
    SchemaInvalid,
    EmptyBody,
    SlowBody {
        over: Duration,
    },
}

impl PlannedFault {
    /// Draws the durations a fault needs.
    pub(crate) fn draw<R: Rng + ?Sized>(fault: &Fault, rng: &mut R) -> Self {
        match fault {
            Fault::HttpError {
                status,
                retry_after_s,
            } => PlannedFault::HttpError {
                status: *status,
                retry_after_s: *retry_after_s,
            },
            Fault::Hang { hold, end } => PlannedFault::Hang {
                hold: ms(hold.sample(rng)),
                end: *end,
            },
            Fault::Reset => PlannedFault::Reset,
            Fault::MalformedJson => PlannedFault::MalformedJson,
            Fault::SchemaInvalid => PlannedFault::SchemaInvalid,
            Fault::EmptyBody => PlannedFault::EmptyBody,
            Fault::SlowBody { over } => PlannedFault::SlowBody {
                over: ms(over.sample(rng)),
            },
        }
    }

    /// Which kind of fault this is.
    pub(crate) fn kind(&self) -> FaultKind {
        match self {
            PlannedFault::HttpError { .. } => FaultKind::HttpError,
            PlannedFault::Hang { .. } => FaultKind::Hang,
            PlannedFault::Reset => FaultKind::Reset,
            PlannedFault::MalformedJson => FaultKind::MalformedJson,
            PlannedFault::SchemaInvalid => FaultKind::SchemaInvalid,
            PlannedFault::EmptyBody => FaultKind::EmptyBody,
            PlannedFault::SlowBody { .. } => FaultKind::SlowBody,
        }
    }

    /// The snake_case kind name, for metrics and the journal.
    pub(crate) fn kind_name(&self) -> &'static str {
        self.kind().as_str()
    }
}

/// Converts milliseconds to a `Duration`, saturating at
/// [`MAX_MS`](crate::profile::MAX_MS): a draw from a model's far tail is cut
/// to 24 h, never wrapped or zeroed. Validation keeps NaN and negative values
/// out; were one to come, it would mean no delay.
pub(crate) fn ms(value: f64) -> Duration {
    let capped = value.min(crate::profile::MAX_MS);
    Duration::try_from_secs_f64(capped / 1000.0).unwrap_or(Duration::ZERO)
}

/// Decides one request. `items` is the batch size, `None` for a single
/// request. Draw order is fixed — fault, latency, fault durations, items —
/// so a seed replays exactly.
///
/// `imposed` is what runtime control overrides: a forced fault, a replaced
/// menu or latency model, added or exact delay. The draws are made in the
/// same order either way, so an imposition never shifts later draws.
pub(crate) fn plan<R: Rng + ?Sized>(
    behaviour: &Behaviour,
    rng: &mut R,
    items: Option<usize>,
    imposed: &Imposed,
) -> Plan {
    let fault_draw: f64 = rng.random();
    let latency = imposed.latency.as_deref().unwrap_or(&behaviour.latency);
    let sampled_ms = match items {
        None => latency.sample_ms(rng),
        Some(n) => batch_delay_ms(behaviour, latency, rng, n),
    };
    let menu = imposed.menu.as_deref().unwrap_or(&behaviour.faults);
    let fault = match &imposed.fault {
        Some(forced) => Some(PlannedFault::draw(forced, rng)),
        None => menu
            .pick(fault_draw)
            .map(|fault| PlannedFault::draw(fault, rng)),
    };
    let delay = match imposed.delay {
        Some(exact) => exact,
        None if imposed.immediate => Duration::ZERO,
        None => ms(sampled_ms) + imposed.extra_delay,
    };
    let p = behaviour.batch.item_failure_probability;
    let failed_items = (0..items.unwrap_or(0))
        .map(|_| rng.random::<f64>() < p)
        .collect();
    Plan {
        delay,
        fault,
        failed_items,
    }
}

fn batch_delay_ms<R: Rng + ?Sized>(
    behaviour: &Behaviour,
    latency: &Latency,
    rng: &mut R,
    items: usize,
) -> f64 {
    match behaviour.batch.latency {
        BatchLatency::PerBatch => {
            latency.sample_ms(rng) + behaviour.batch.per_item_ms * items as f64
        }
        BatchLatency::PerItem => (0..items).map(|_| latency.sample_ms(rng)).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::DetectorProfile;
    use rng::SeedKey;

    fn behaviour(name: &str) -> Behaviour {
        DetectorProfile::builtin(name)
            .unwrap()
            .behaviour("test")
            .unwrap()
    }

    #[test]
    fn plans_replay_for_the_same_seed_and_sequence() {
        let b = behaviour("failing");
        let key = SeedKey::new(11, "mock-failing-detector");
        let first: Vec<Plan> = (1..200)
            .map(|k| plan(&b, &mut key.rng(k), None, &Imposed::default()))
            .collect();
        let again: Vec<Plan> = (1..200)
            .rev()
            .map(|k| plan(&b, &mut key.rng(k), None, &Imposed::default()))
            .collect();
        assert!(first.iter().eq(again.iter().rev()));
    }

    #[test]
    fn failing_profile_fails_about_thirty_percent() {
        let b = behaviour("failing");
        let key = SeedKey::new(5, "mock-failing-detector");
        let n = 20_000u64;
        let failed = (0..n)
            .filter(|k| {
                plan(&b, &mut key.rng(*k), None, &Imposed::default())
                    .fault
                    .is_some()
            })
            .count() as f64;
        let p = 0.30;
        // Five standard deviations of a binomial proportion: never flakes.
        let tolerance = 5.0 * (p * (1.0 - p) / n as f64).sqrt();
        assert!((failed / n as f64 - p).abs() < tolerance, "{failed}");
    }

    /// Request mode keeps the statistics: draws keyed by request keys (one
    /// fresh id per request, as a gateway sends them) have the profile's
    /// fault rates and latency law — the key hash does not bias them.
    #[test]
    fn request_keyed_draws_keep_fault_rates_and_the_latency_law() {
        let b = behaviour("failing");
        let key = SeedKey::new(5, "mock-failing-detector");
        let n = 20_000usize;
        let body = br#"{"content":"the same text","content_type":"text"}"#;
        let plans: Vec<Plan> = (0..n)
            .map(|i| {
                let id = format!("order-{i}");
                let request = RequestKey::new(Some(("x-correlation-id", &id)), Some(body));
                plan(
                    &b,
                    &mut key.rng(request.stream(1)),
                    None,
                    &Imposed::default(),
                )
            })
            .collect();
        let failed = plans.iter().filter(|p| p.fault.is_some()).count() as f64;
        let p = 0.30;
        let tolerance = 5.0 * (p * (1.0 - p) / n as f64).sqrt();
        assert!((failed / n as f64 - p).abs() < tolerance, "{failed}");
        let mut delays: Vec<f64> = plans
            .iter()
            .map(|p| p.delay.as_secs_f64() * 1000.0)
            .collect();
        let d = latency::ks_statistic(&mut delays, |x| b.latency.cdf(x));
        assert!(d <= 0.02, "KS D {d}");

        // Retries of one key: attempts draw independently too.
        let request = RequestKey::new(Some(("x-correlation-id", "one")), Some(body));
        let mut delays: Vec<f64> = (1..=n as u32)
            .map(|attempt| {
                let plan = plan(
                    &b,
                    &mut key.rng(request.stream(attempt)),
                    None,
                    &Imposed::default(),
                );
                plan.delay.as_secs_f64() * 1000.0
            })
            .collect();
        let d = latency::ks_statistic(&mut delays, |x| b.latency.cdf(x));
        assert!(d <= 0.02, "KS D over attempts {d}");
    }

    #[test]
    fn per_batch_latency_adds_the_item_cost() {
        let b = behaviour("batch");
        let key = SeedKey::new(1, "mock-batch-detector");
        for k in 0..500 {
            let plan = plan(&b, &mut key.rng(k), Some(20), &Imposed::default());
            assert_eq!(plan.failed_items.len(), 20);
            // 400–1500 ms per batch plus 5 ms × 20 items.
            let ms = plan.delay.as_secs_f64() * 1000.0;
            assert!((500.0 - 1e-6..=1600.0 + 1e-6).contains(&ms), "{ms}");
        }
    }
}
