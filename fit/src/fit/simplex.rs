//! Nelder–Mead minimisation: derivative-free, so it copes with the
//! Kolmogorov–Smirnov distance, which is not smooth in the parameters.

/// Minimises `f` from `start`, with initial steps `step` per coordinate,
/// for at most `iterations` iterations; returns the best point and value.
pub(crate) fn minimise(
    f: &dyn Fn(&[f64]) -> f64,
    start: &[f64],
    step: &[f64],
    iterations: usize,
) -> (Vec<f64>, f64) {
    let n = start.len();
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n + 1);
    simplex.push((start.to_vec(), f(start)));
    for i in 0..n {
        let mut point = start.to_vec();
        point[i] += step[i];
        let value = f(&point);
        simplex.push((point, value));
    }
    let order = |s: &mut Vec<(Vec<f64>, f64)>| s.sort_by(|a, b| a.1.total_cmp(&b.1));
    for _ in 0..iterations {
        order(&mut simplex);
        let (best, worst) = (simplex[0].1, simplex[n].1);
        if (worst - best).abs() <= 1e-7 * (1.0 + best.abs()) {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|i| simplex[..n].iter().map(|(p, _)| p[i]).sum::<f64>() / n as f64)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            (0..n)
                .map(|i| centroid[i] + t * (simplex[n].0[i] - centroid[i]))
                .collect()
        };
        let reflected = along(-1.0);
        let fr = f(&reflected);
        if fr < simplex[0].1 {
            let expanded = along(-2.0);
            let fe = f(&expanded);
            simplex[n] = if fe < fr {
                (expanded, fe)
            } else {
                (reflected, fr)
            };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (reflected, fr);
        } else {
            let contracted = if fr < simplex[n].1 {
                along(-0.5)
            } else {
                along(0.5)
            };
            let fc = f(&contracted);
            if fc < simplex[n].1.min(fr) {
                simplex[n] = (contracted, fc);
            } else {
                // Shrink towards the best point.
                let best = simplex[0].0.clone();
                for entry in simplex.iter_mut().skip(1) {
                    let point: Vec<f64> = (0..n)
                        .map(|i| best[i] + 0.5 * (entry.0[i] - best[i]))
                        .collect();
                    let value = f(&point);
                    *entry = (point, value);
                }
            }
        }
    }
    order(&mut simplex);
    simplex.swap_remove(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_finds_the_bottom_of_a_bowl_and_of_a_kinked_valley() {
        let bowl = |x: &[f64]| (x[0] - 3.0).powi(2) + (x[1] + 1.0).powi(2);
        let (x, v) = minimise(&bowl, &[0.0, 0.0], &[1.0, 1.0], 500);
        assert!((x[0] - 3.0).abs() < 1e-3 && (x[1] + 1.0).abs() < 1e-3 && v < 1e-6);
        let kinked = |x: &[f64]| (x[0] - 2.0).abs().max((x[1] - 5.0).abs());
        let (x, _) = minimise(&kinked, &[0.0, 0.0], &[1.0, 1.0], 500);
        assert!((x[0] - 2.0).abs() < 1e-2 && (x[1] - 5.0).abs() < 1e-2);
    }
}
