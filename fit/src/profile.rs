//! Writing the fit as a ready-to-run profile: the chosen latency model, a
//! fault menu from the statuses seen, and comments saying where it all
//! came from (files, n, the distance, the ranking).

use std::collections::BTreeMap;
use std::fmt::Write;

use mockdet::DetectorProfile;
use mockdet::profile::{FaultKind, FaultSpec};

use crate::fit::Fit;
use crate::input::Data;

/// What the profile is called and where it listens.
#[derive(Debug, Clone)]
pub struct Naming {
    /// `name` (and `<name>-detector` as its id).
    pub name: String,
    /// `port`.
    pub port: u16,
    /// `recorded_answers`, for a profile `mockdet record` writes.
    pub recorded_answers: Option<String>,
}

/// The fault menu the inputs' statuses imply: each error status (400–599)
/// as an `http_error` with its share of all requests, and requests that
/// got no answer as `reset`. Shares are rounded to 1e-4 (never to 0 for a
/// status that was seen).
pub fn fault_menu(inputs: &[Data]) -> (Vec<FaultSpec>, u64) {
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    let mut transport = 0;
    for data in inputs {
        for (status, count) in &data.statuses {
            *statuses.entry(*status).or_default() += count;
        }
        transport += data.transport_errors;
    }
    let total = statuses.values().sum::<u64>() + transport;
    if total == 0 {
        return (Vec::new(), 0);
    }
    let share = |count: u64| {
        let p = count as f64 / total as f64;
        ((p * 10_000.0).round() / 10_000.0).max(0.0001)
    };
    let mut menu: Vec<FaultSpec> = statuses
        .iter()
        .filter(|(status, _)| (400..=599).contains(*status))
        .map(|(&status, &count)| {
            let mut fault = FaultSpec::new(FaultKind::HttpError, share(count));
            fault.status = Some(status);
            fault
        })
        .collect();
    if transport > 0 {
        menu.push(FaultSpec::new(FaultKind::Reset, share(transport)));
    }
    // Rounding up tiny shares may push the sum past 1: scale back.
    let sum: f64 = menu.iter().map(|f| f.probability).sum();
    if sum > 1.0 {
        for fault in &mut menu {
            fault.probability /= sum;
        }
    }
    (menu, total)
}

/// The profile's TOML, with its provenance as comments. It parses and
/// validates as a mockdet profile (checked by the caller).
pub fn render(fit: &Fit, inputs: &[Data], naming: &Naming) -> Result<String, String> {
    let mut profile =
        DetectorProfile::builtin("success").map_err(|e| format!("no template profile: {e}"))?;
    profile.name = naming.name.clone();
    profile.detector_id = format!("{}-detector", naming.name);
    profile.detector_type = "fitted".to_owned();
    profile.port = naming.port;
    profile.latency = fit.best().spec.clone();
    profile.recorded_answers = naming.recorded_answers.clone();
    let (faults, total) = fault_menu(inputs);
    profile.faults = faults;
    let mut out = String::new();
    let _ = writeln!(out, "# Fitted by `mockdet fit` from:");
    for data in inputs {
        let _ = writeln!(out, "#   {} ({})", data.source, data.format);
    }
    let best = fit.best();
    let n = fit
        .n
        .map_or("an unknown number of".to_owned(), |n| n.to_string());
    let _ = writeln!(
        out,
        "# Latency: {} — {} = {:.4}, over {n} requests.",
        best.describe(),
        fit.statistic.describe(),
        best.d
    );
    let _ = writeln!(out, "# Every model, closest first (distance):");
    for line in fit.ranking_lines() {
        let _ = writeln!(out, "#   {line}");
    }
    if profile.faults.is_empty() {
        let _ = writeln!(
            out,
            "# Faults: none seen (or the inputs record no statuses)."
        );
    } else {
        let _ = writeln!(
            out,
            "# Faults: the error statuses and unanswered requests seen, with their share of {total} requests."
        );
    }
    out.push('\n');
    out.push_str(&profile.to_toml());
    // Checked as mockdet will read it (recorded answers are loaded when a
    // detector starts, from beside the file).
    let mut check = DetectorProfile::from_toml_str(&out)
        .map_err(|e| format!("the fitted profile does not load: {e}"))?;
    check.recorded_answers = None;
    check
        .validate()
        .map_err(|e| format!("the fitted profile does not validate: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::{DEFAULT_MAX_D, fit};
    use crate::input::Latencies;

    fn data(statuses: &[(u16, u64)], transport: u64) -> Data {
        Data {
            source: "x.ndjson".into(),
            format: "mockdet journal",
            latencies: Latencies::Samples((1..=200).map(f64::from).collect()),
            statuses: statuses.iter().copied().collect(),
            transport_errors: transport,
        }
    }

    #[test]
    fn statuses_become_a_fault_menu_with_their_shares() {
        let (menu, total) = fault_menu(&[data(&[(200, 940), (503, 50), (429, 9)], 1)]);
        assert_eq!(total, 1000);
        let shares: Vec<(FaultKind, Option<u16>, f64)> = menu
            .iter()
            .map(|f| (f.kind, f.status, f.probability))
            .collect();
        assert_eq!(
            shares,
            vec![
                (FaultKind::HttpError, Some(429), 0.009),
                (FaultKind::HttpError, Some(503), 0.05),
                (FaultKind::Reset, None, 0.001),
            ]
        );
        assert_eq!(fault_menu(&[data(&[], 0)]).0.len(), 0);
    }

    #[test]
    fn the_profile_says_where_it_came_from_and_loads() {
        let inputs = [data(&[(200, 190), (503, 10)], 0)];
        let fitted = fit(&inputs[0].latencies, DEFAULT_MAX_D).unwrap();
        let naming = Naming {
            name: "mine".into(),
            port: 8101,
            recorded_answers: None,
        };
        let text = render(&fitted, &inputs, &naming).unwrap();
        assert!(
            text.starts_with("# Fitted by `mockdet fit` from:\n#   x.ndjson (mockdet journal)")
        );
        assert!(text.contains("<- written"));
        let profile = DetectorProfile::from_toml_str(&text).unwrap();
        assert_eq!(profile.name, "mine");
        assert_eq!(profile.port, 8101);
        assert_eq!(profile.faults.len(), 1);
        assert_eq!(profile.faults[0].probability, 0.05);
        assert_eq!(profile.latency, fitted.best().spec);
    }
}
