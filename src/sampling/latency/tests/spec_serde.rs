//! The `[latency]` table round-trips through TOML and rejects unknown
//! fields and models.

use serde::{Deserialize, Serialize};

use super::with_tail;
use crate::profile::LatencySpec;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Profile {
    latency: LatencySpec,
}

#[test]
fn serde_round_trip_via_toml() {
    let text = r#"
        [latency]
        model = "uniform"
        min = 200.0
        max = 500
        min_ms = 150.0
        max_ms = 30000.0
        slow_tail = { probability = 0.1, multiplier = [2.0, 4.0] }
    "#;
    let parsed: Profile = toml::from_str(text).expect("parses");
    let mut expected = with_tail(LatencySpec::uniform(200.0, 500.0), 0.1, [2.0, 4.0]);
    expected.min_ms = Some(150.0);
    expected.max_ms = Some(30000.0);
    assert_eq!(parsed.latency, expected);
    let printed = toml::to_string(&parsed).expect("serialises");
    assert!(
        !printed.contains("sd") && !printed.contains("median"),
        "{printed}"
    );
    let again: Profile = toml::from_str(&printed).expect("re-parses");
    assert_eq!(again, parsed);
    assert!(again.latency.validate().is_ok());
}

#[test]
fn serde_rejects_unknown_fields_and_models() {
    let parse = |t: &str| {
        toml::from_str::<Profile>(t)
            .expect_err("must be rejected")
            .to_string()
    };
    let top = parse("[latency]\nmodel = \"fixed\"\nms = 1.0\njitter = 2.0\n");
    assert!(
        top.contains("unknown field") && top.contains("jitter"),
        "{top}"
    );
    let nested = parse(
        "[latency]\nmodel = \"fixed\"\nms = 1.0\n\
         slow_tail = { probability = 0.1, multiplier = [2.0, 4.0], every = 3 }\n",
    );
    assert!(
        nested.contains("unknown field") && nested.contains("every"),
        "{nested}"
    );
    let model = parse("[latency]\nmodel = \"gamma\"\n");
    assert!(model.contains("gamma"), "{model}");
}
