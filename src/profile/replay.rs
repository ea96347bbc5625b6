//! `replay` and `[replay_options]`: how a detector keys its draws.

use serde::{Deserialize, Serialize};

/// How a detector keys each request's draws (latency, fault, batch items).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Replay {
    /// By (seed, detector, request key, attempt): the same logical request
    /// gets the same fate at any concurrency, in any order, on any replica.
    #[default]
    Request,
    /// By (seed, detector, arrival number): the k-th request gets the k-th
    /// draw, which reproduces only for a strictly sequential client.
    Sequence,
}

impl Replay {
    /// The name used in profiles and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Replay::Request => "request",
            Replay::Sequence => "sequence",
        }
    }
}

impl std::fmt::Display for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Replay {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "request" => Ok(Replay::Request),
            "sequence" => Ok(Replay::Sequence),
            other => Err(format!(
                "`{other}` is not a replay mode (request or sequence)"
            )),
        }
    }
}

/// The most keys `replay_options.capacity` may ask a detector to remember.
pub const MAX_REPLAY_CAPACITY: usize = 10_000_000;

/// How request mode finds a request's key and attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct ReplayOptions {
    /// Headers that name a logical request, first present wins. A
    /// `traceparent` counts by its trace id only. Default
    /// `["x-correlation-id", "x-request-id", "traceparent"]`.
    pub key_headers: Vec<String>,
    /// Whether the body is part of the key even when a header names the
    /// request (default false: the id alone names it, so a body carrying a
    /// fresh per-run id or timestamp does not change the key). Turn it on
    /// when one id covers different calls — a streaming orchestrator's
    /// chunks under one trace id — so they are different requests while a
    /// retry, same id and same body, is the same. Without any of the headers
    /// the body alone is the key either way.
    pub key_body: bool,
    /// How many keys each detector remembers for counting attempts
    /// (default 100,000, 8 bytes each; at most 10,000,000). Past it, about
    /// the key first seen longest ago is forgotten and starts again at
    /// attempt 1; a live change starts counting afresh.
    pub capacity: usize,
    /// A header through which a client states the attempt number itself
    /// (1 for the first send), so a retry that lands on another replica
    /// still gets its attempt's fate. Default `x-attempt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_header: Option<String>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        Self {
            key_headers: ["x-correlation-id", "x-request-id", "traceparent"]
                .map(str::to_owned)
                .to_vec(),
            key_body: false,
            capacity: 100_000,
            attempt_header: Some("x-attempt".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_and_unknown_ones_are_named() {
        for mode in [Replay::Request, Replay::Sequence] {
            assert_eq!(mode.as_str().parse::<Replay>(), Ok(mode));
            let json = serde_json::to_string(&mode).unwrap();
            assert_eq!(serde_json::from_str::<Replay>(&json).unwrap(), mode);
        }
        let err = "order".parse::<Replay>().unwrap_err();
        assert!(
            err.contains("`order`") && err.contains("request or sequence"),
            "{err}"
        );
    }
}
