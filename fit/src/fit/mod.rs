//! Fitting: every latency model mockdet has — fixed, uniform, normal,
//! lognormal, exponential, pareto (each tuned, each also with a slow
//! tail), the named percentiles, and a quantile table — with clamps where
//! the data is cut off, ranked by their distance from the data
//! ([`Statistic`]).
//!
//! Each closed-form model starts from estimates read off the data's
//! quantiles and is tuned by Nelder–Mead to minimise the distance itself
//! (not a likelihood: the distance is what the report shows and what a
//! test of the mock's tail would feel).
//!
//! **The choice.** The closed-form model with the smallest distance is
//! written when that distance is at most `max_d` (default 0.02); otherwise
//! the closer of it and the quantile table (up to 103 points, which follows
//! the data wherever it is known, so nearly always the table).

mod simplex;
mod target;

use mockdet::Latency;
use mockdet::profile::{LatencyKind, LatencySpec, SlowTailSpec};

pub use target::Statistic;
pub(crate) use target::Target;

use crate::input::Latencies;

/// The default largest distance at which a closed-form model is preferred
/// to the quantile table.
pub const DEFAULT_MAX_D: f64 = 0.02;

/// Nelder–Mead iterations per model.
const ITERATIONS: usize = 250;

/// One fitted model.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// e.g. `lognormal + slow tail, clamped`.
    pub name: String,
    /// The model as a profile writes it.
    pub spec: LatencySpec,
    /// Its distance from the data ([`Fit::statistic`]).
    pub d: f64,
    /// Whether it is a closed-form model (not a table of the data).
    pub closed_form: bool,
    latency: Latency,
}

impl Candidate {
    /// The model's CDF at `ms`.
    pub fn cdf(&self, ms: f64) -> f64 {
        self.latency.cdf(ms)
    }

    /// A human description of the model.
    pub fn describe(&self) -> String {
        self.latency.describe()
    }

    /// The model's quantile at `q` (by bisection on its CDF).
    pub fn quantile(&self, q: f64) -> f64 {
        let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
        while self.cdf(hi) < q && hi < mockdet::profile::MAX_MS {
            hi *= 2.0;
        }
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if self.cdf(mid) < q {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    }
}

/// Every model fitted to one data set, best first.
#[derive(Debug, Clone)]
pub struct Fit {
    /// What the distances measure.
    pub statistic: Statistic,
    /// Every candidate, smallest distance first.
    pub ranking: Vec<Candidate>,
    /// Index into `ranking` of the one to write.
    pub chosen: usize,
    /// How many requests the data describes, when known.
    pub n: Option<u64>,
    /// The data's quantile at any probability (for the report).
    target: Target,
}

impl Fit {
    /// The model to write.
    pub fn best(&self) -> &Candidate {
        &self.ranking[self.chosen]
    }

    /// One line per model, closest first: name, distance, and `<- written`
    /// beside the chosen one.
    pub fn ranking_lines(&self) -> Vec<String> {
        self.ranking
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mark = if i == self.chosen { "  <- written" } else { "" };
                format!("{:<34} {:.4}{mark}", c.name, c.d)
            })
            .collect()
    }

    /// The data's quantile at `q` (linear between known points).
    pub fn data_quantile(&self, q: f64) -> f64 {
        self.target.quantile(q)
    }

    /// The data as `(ms, cumulative share)` points, for plots: every
    /// check point (thinned to at most 1,000 for samples).
    pub fn data_points(&self) -> Vec<(f64, f64)> {
        self.target.tuning.iter().map(|c| (c.x, c.at)).collect()
    }
}

/// Fits every model to `latencies`; `None` when there is no observation.
pub fn fit(latencies: &Latencies, max_d: f64) -> Option<Fit> {
    let target = Target::new(latencies)?;
    let mut ranking: Vec<Candidate> = candidates(&target)
        .into_iter()
        .filter_map(|(name, spec, closed_form)| {
            let latency = spec.validate().ok()?;
            let d = target.exact(&latency);
            Some(Candidate {
                name,
                spec,
                d,
                closed_form,
                latency,
            })
        })
        .collect();
    ranking.sort_by(|a, b| a.d.total_cmp(&b.d));
    let closed = ranking.iter().position(|c| c.closed_form);
    let table = ranking.iter().position(|c| !c.closed_form);
    let chosen = match (closed, table) {
        (Some(c), _) if ranking[c].d <= max_d => c,
        (Some(c), Some(t)) => {
            if ranking[t].d < ranking[c].d {
                t
            } else {
                c
            }
        }
        (Some(c), None) => c,
        (None, Some(t)) => t,
        (None, None) => return None,
    };
    Some(Fit {
        statistic: target.statistic,
        n: target.n,
        ranking,
        chosen,
        target,
    })
}

/// `(name, spec, closed form?)` for every model, tuned.
fn candidates(target: &Target) -> Vec<(String, LatencySpec, bool)> {
    let mut out = Vec::new();
    let (lo, hi) = target.range();
    let median = target.quantile(0.5).max(1e-3);
    out.push(("fixed".to_owned(), LatencySpec::fixed(median), true));
    out.push((
        "uniform".to_owned(),
        LatencySpec::uniform(lo, hi.max(lo)),
        true,
    ));
    // Clamps where the data is cut off: a point mass at either end (at
    // least 0.5 % of the data, and at least 5 requests, at that value).
    let enough = |mass: f64| mass >= 0.005 && target.n.is_some_and(|n| mass * n as f64 >= 4.5);
    let clamp_max = enough(target.mass_at_max()).then_some(hi);
    let clamp_min = enough(target.mass_at_min()).then_some(lo);
    for family in [
        Family::Lognormal,
        Family::Normal,
        Family::Exponential,
        Family::Pareto,
    ] {
        let base = tune(target, family.start(target), family);
        out.push((family.name().to_owned(), family.spec(&base), true));
        let with_tail = tune_with_tail(target, &base, family);
        out.push((
            format!("{} + slow tail", family.name()),
            with_tail.clone(),
            true,
        ));
        if clamp_max.is_some() || clamp_min.is_some() {
            let mut clamped = with_tail;
            clamped.min_ms = clamp_min;
            clamped.max_ms = clamp_max;
            out.push((
                format!("{} + slow tail, clamped", family.name()),
                clamped,
                true,
            ));
        }
    }
    out.push(("percentiles".to_owned(), named_percentiles(target), true));
    out.push(("quantile table".to_owned(), quantile_table(target), false));
    out
}

/// A closed-form family and its tunable parameters (positive ones on a log
/// scale, so the simplex never leaves their domain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Lognormal,
    Normal,
    Exponential,
    Pareto,
}

impl Family {
    fn name(self) -> &'static str {
        match self {
            Family::Lognormal => "lognormal",
            Family::Normal => "normal",
            Family::Exponential => "exponential",
            Family::Pareto => "pareto",
        }
    }

    /// Starting parameters from the data's quantiles.
    fn start(self, t: &Target) -> Vec<f64> {
        let q = |p: f64| t.quantile(p).max(1e-3);
        match self {
            // mu, ln sigma: median and the 90th percentile.
            Family::Lognormal => {
                let sigma = ((q(0.9).ln() - q(0.5).ln()) / 1.281_551_565_5).max(1e-3);
                vec![q(0.5).ln(), sigma.ln()]
            }
            // mean, ln sd: median and the 16th–84th percentile spread.
            Family::Normal => {
                let sd = ((q(0.841_3) - q(0.158_7)) / 2.0).max(1e-3);
                vec![q(0.5), sd.ln()]
            }
            // ln mean: the median is mean · ln 2.
            Family::Exponential => vec![(q(0.5) / std::f64::consts::LN_2).ln()],
            // ln scale, ln shape: the minimum (1st percentile) and the median.
            Family::Pareto => {
                let scale = q(0.01).min(q(0.5) * 0.99);
                let shape = (std::f64::consts::LN_2 / (q(0.5) / scale).ln()).max(1e-3);
                vec![scale.ln(), shape.ln()]
            }
        }
    }

    /// The spec of parameters `p` (see [`Family::start`]).
    fn spec(self, p: &[f64]) -> LatencySpec {
        let mut spec = LatencySpec::bare(match self {
            Family::Lognormal => LatencyKind::Lognormal,
            Family::Normal => LatencyKind::Normal,
            Family::Exponential => LatencyKind::Exponential,
            Family::Pareto => LatencyKind::Pareto,
        });
        match self {
            Family::Lognormal => {
                // Written as median and p99, the way people read them.
                spec.median = Some(round(p[0].exp()));
                spec.p99 = Some(round((p[0] + 2.326_347_874 * p[1].exp()).exp()));
            }
            Family::Normal => {
                spec.mean = Some(round(p[0]));
                spec.sd = Some(round(p[1].exp()));
            }
            Family::Exponential => spec.mean = Some(round(p[0].exp())),
            Family::Pareto => {
                spec.scale = Some(round(p[0].exp()));
                spec.shape = Some(round(p[1].exp()));
            }
        }
        spec
    }
}

/// Four significant digits: a profile people read.
fn round(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = 3 - x.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

/// The distance of `spec` on the tuning points; invalid specs are infinitely far.
fn cost(target: &Target, spec: &LatencySpec) -> f64 {
    spec.validate()
        .map_or(f64::INFINITY, |l| target.distance(&l, &target.tuning))
}

fn tune(target: &Target, start: Vec<f64>, family: Family) -> Vec<f64> {
    let f = |p: &[f64]| cost(target, &family.spec(p));
    let step: Vec<f64> = start.iter().map(|v| 0.1 * v.abs().max(0.5)).collect();
    simplex::minimise(&f, &start, &step, ITERATIONS).0
}

/// The family's tuned base plus a slow tail (probability, multiplier
/// range), all tuned together.
///
/// While tuning, the mixture's CDF is computed here with a fixed 16-point
/// Gauss–Legendre rule over the multiplier, on every 2nd tuning point:
/// mockdet's own CDF integrates to 1e-9, which is far more than choosing
/// parameters needs. The candidate's reported distance uses the exact CDF.
fn tune_with_tail(target: &Target, base: &[f64], family: Family) -> LatencySpec {
    let k = base.len();
    let tail_of = |p: &[f64]| {
        let probability = 1.0 / (1.0 + (-p[k]).exp());
        let lo = 1.0 + p[k + 1].exp();
        let hi = lo + p[k + 2].exp();
        (round(probability), round(lo), round(hi))
    };
    let spec_of = |p: &[f64]| {
        let mut spec = family.spec(&p[..k]);
        let (probability, lo, hi) = tail_of(p);
        spec.slow_tail = Some(SlowTailSpec {
            probability,
            multiplier: [lo, hi],
        });
        spec
    };
    let checks = target.coarse(if target.tuning.len() > 200 { 2 } else { 1 });
    let f = |p: &[f64]| {
        let Ok(base) = family.spec(&p[..k]).validate() else {
            return f64::INFINITY;
        };
        let (probability, lo, hi) = tail_of(p);
        let mixed = |x: f64| {
            let slow = gauss_legendre(&|m| base.cdf(x / m), lo, hi) / (hi - lo).max(1e-12);
            (1.0 - probability) * base.cdf(x) + probability * slow
        };
        target.distance_by(&mixed, &checks)
    };
    // Two starts: 5 % of requests 2–4× slower, and 0.5 % 1.5–2× slower
    // (close to no tail, so the result is never much worse than the base).
    let starts = [(0.05f64, 1.0f64, 2.0f64), (0.005, 0.5, 0.5)];
    let best = starts
        .iter()
        .map(|&(p, lo_minus_1, width)| {
            let mut start = base.to_vec();
            start.extend([(p / (1.0 - p)).ln(), lo_minus_1.ln(), width.ln()]);
            let step: Vec<f64> = start.iter().map(|v| 0.1 * v.abs().max(0.5)).collect();
            simplex::minimise(&f, &start, &step, ITERATIONS)
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(point, _)| point)
        .unwrap_or_default();
    spec_of(&best)
}

/// ∫ f over [a, b] by the 16-point Gauss–Legendre rule.
fn gauss_legendre(f: &dyn Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    const NODES: [(f64, f64); 8] = [
        (0.095_012_509_837_637_44, 0.189_450_610_455_068_5),
        (0.281_603_550_779_258_9, 0.182_603_415_044_923_6),
        (0.458_016_777_657_227_4, 0.169_156_519_395_002_5),
        (0.617_876_244_402_643_7, 0.149_595_988_816_576_7),
        (0.755_404_408_355_003, 0.124_628_971_255_533_9),
        (0.865_631_202_387_831_8, 0.095_158_511_682_492_78),
        (0.944_575_023_073_232_6, 0.062_253_523_938_647_89),
        (0.989_400_934_991_649_9, 0.027_152_459_411_754_1),
    ];
    let (mid, half) = (0.5 * (a + b), 0.5 * (b - a));
    half * NODES
        .iter()
        .map(|&(x, w)| w * (f(mid - half * x) + f(mid + half * x)))
        .sum::<f64>()
}

/// The named percentiles read off the data.
fn named_percentiles(target: &Target) -> LatencySpec {
    let mut spec = LatencySpec::bare(LatencyKind::Percentiles);
    let (lo, hi) = target.range();
    spec.p0 = Some(round(lo));
    spec.p50 = Some(round(target.quantile(0.5)));
    spec.p90 = Some(round(target.quantile(0.9)));
    spec.p99 = Some(round(target.quantile(0.99)));
    spec.p999 = Some(round(target.quantile(0.999)));
    spec.p100 = Some(round(hi));
    monotone(&mut [
        &mut spec.p0,
        &mut spec.p50,
        &mut spec.p90,
        &mut spec.p99,
        &mut spec.p999,
        &mut spec.p100,
    ]);
    spec
}

/// Makes rounded knots non-decreasing again.
fn monotone(values: &mut [&mut Option<f64>]) {
    let mut floor = 0.0_f64;
    for value in values.iter_mut() {
        if let Some(v) = value.as_mut() {
            *v = v.max(floor);
            floor = *v;
        }
    }
}

/// The data's quantile function as a table: every percentile, plus
/// 99.5 % and 99.9 %, and the extremes.
fn quantile_table(target: &Target) -> LatencySpec {
    let mut qs: Vec<f64> = (0..=99).map(|k| f64::from(k) / 100.0).collect();
    qs.extend([0.995, 0.999, 1.0]);
    let (lo, hi) = target.range();
    let mut floor = 0.0_f64;
    let points = qs
        .into_iter()
        .map(|q| {
            let v = match q {
                0.0 => lo,
                1.0 => hi,
                q => target.quantile(q),
            };
            // Rounded to 0.01 ms, kept non-decreasing.
            let v = ((v * 100.0).round() / 100.0).max(floor);
            floor = v;
            [q, v]
        })
        .collect();
    let mut spec = LatencySpec::bare(LatencyKind::Percentiles);
    spec.points = Some(points);
    spec
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn draws(spec: &LatencySpec, n: usize, seed: u64) -> Vec<f64> {
        let latency = spec.validate().unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| latency.sample_ms(&mut rng)).collect()
    }

    fn lognormal(median: f64, p99: f64) -> LatencySpec {
        let mut spec = LatencySpec::bare(LatencyKind::Lognormal);
        spec.median = Some(median);
        spec.p99 = Some(p99);
        spec
    }

    /// The KS critical value at α = 0.001 for n samples: a fit of the
    /// right family lands under it.
    fn critical(n: usize) -> f64 {
        1.949 / (n as f64).sqrt()
    }

    #[test]
    fn lognormal_data_is_fitted_by_a_lognormal() {
        let truth = lognormal(300.0, 1800.0);
        let n = 5000;
        let fit = fit(&Latencies::Samples(draws(&truth, n, 1)), DEFAULT_MAX_D).unwrap();
        let best = fit.best();
        assert!(best.closed_form, "{}", best.name);
        assert!(best.name.starts_with("lognormal"), "{}", best.name);
        assert!(best.d < critical(n), "{} D = {}", best.name, best.d);
        let lognormal = fit.ranking.iter().find(|c| c.name == "lognormal").unwrap();
        assert!(
            (lognormal.spec.median.unwrap() - 300.0).abs() < 15.0,
            "{:?}",
            lognormal.spec
        );
        assert!(
            (lognormal.spec.p99.unwrap() - 1800.0).abs() < 200.0,
            "{:?}",
            lognormal.spec
        );
        // The ranking is sorted and every model is there.
        assert!(fit.ranking.windows(2).all(|w| w[0].d <= w[1].d));
        for name in [
            "fixed",
            "uniform",
            "normal",
            "exponential",
            "pareto",
            "percentiles",
            "quantile table",
        ] {
            assert!(fit.ranking.iter().any(|c| c.name == name), "{name} missing");
        }
    }

    #[test]
    fn a_slow_tail_is_found_when_there_is_one() {
        let mut truth = lognormal(100.0, 300.0);
        truth.slow_tail = Some(SlowTailSpec {
            probability: 0.1,
            multiplier: [5.0, 8.0],
        });
        let n = 5000;
        let fit = fit(&Latencies::Samples(draws(&truth, n, 2)), DEFAULT_MAX_D).unwrap();
        let plain = fit.ranking.iter().find(|c| c.name == "lognormal").unwrap();
        let tailed = fit
            .ranking
            .iter()
            .find(|c| c.name == "lognormal + slow tail")
            .unwrap();
        assert!(tailed.d < critical(n), "D = {}", tailed.d);
        assert!(plain.d > 2.0 * tailed.d, "{} vs {}", plain.d, tailed.d);
    }

    #[test]
    fn cut_off_data_gets_a_clamp_and_odd_data_the_table() {
        // Lognormal cut at 500 ms (a client timeout): 10 % sit at 500.
        let raw = draws(&lognormal(250.0, 1200.0), 4000, 3);
        let cut: Vec<f64> = raw.iter().map(|x| x.min(500.0)).collect();
        let fit = fit(&Latencies::Samples(cut), DEFAULT_MAX_D).unwrap();
        assert!(fit.ranking.iter().any(|c| c.spec.max_ms == Some(500.0)));
        assert!(
            fit.best().d < critical(4000),
            "{} {}",
            fit.best().name,
            fit.best().d
        );
        // Two far-apart modes: no closed form fits; the table does.
        let mut bimodal = draws(&lognormal(20.0, 30.0), 3000, 4);
        bimodal.extend(draws(&lognormal(900.0, 1100.0), 3000, 5));
        let fit = super::fit(&Latencies::Samples(bimodal), DEFAULT_MAX_D).unwrap();
        assert_eq!(fit.best().name, "quantile table");
        assert!(fit.best().d <= 0.011, "{}", fit.best().d);
    }

    #[test]
    fn histograms_and_quantiles_fit_too() {
        let truth = lognormal(300.0, 1800.0).validate().unwrap();
        let bounds = [
            50.0, 100.0, 200.0, 300.0, 400.0, 500.0, 750.0, 1000.0, 2000.0, 5000.0,
        ];
        let buckets: Vec<(f64, u64)> = bounds
            .iter()
            .map(|&b| (b, (truth.cdf(b) * 100_000.0).round() as u64))
            .chain([(f64::INFINITY, 100_000)])
            .collect();
        let fit = fit(&Latencies::Histogram(buckets), DEFAULT_MAX_D).unwrap();
        assert_eq!(fit.statistic, Statistic::BucketBounds);
        assert!(fit.best().d < 0.005, "{} {}", fit.best().name, fit.best().d);
        let points = [0.0, 0.5, 0.9, 0.95, 0.99, 1.0]
            .map(|q| {
                (
                    q,
                    if q == 0.0 {
                        20.0
                    } else if q == 1.0 {
                        9000.0
                    } else {
                        fit.best().quantile(q)
                    },
                )
            })
            .to_vec();
        let fit = super::fit(
            &Latencies::Quantiles {
                points,
                count: Some(10),
            },
            DEFAULT_MAX_D,
        )
        .unwrap();
        assert_eq!(fit.statistic, Statistic::QuantilePoints);
        assert!(fit.best().d < 0.02, "{} {}", fit.best().name, fit.best().d);
    }

    #[test]
    fn gauss_legendre_integrates_polynomials_exactly() {
        let cubic = |x: f64| 4.0 * x * x * x - x + 2.0;
        assert!((gauss_legendre(&cubic, 0.0, 2.0) - 18.0).abs() < 1e-9);
        assert!((gauss_legendre(&|x| x.exp(), 0.0, 1.0) - (1f64.exp() - 1.0)).abs() < 1e-12);
    }

    #[test]
    fn rounding_keeps_four_significant_digits() {
        assert_eq!(round(1234.5678), 1235.0);
        assert_eq!(round(0.012_345_6), 0.01235);
        assert_eq!(round(0.0), 0.0);
    }
}
