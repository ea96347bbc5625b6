//! `/detect/batch` policy: whether batches are accepted, how many items, how
//! often a single item fails, and how a batch's latency scales with its size.

use serde::{Deserialize, Serialize};

use super::FieldError;

/// How the latency of a batch grows with its item count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum BatchLatency {
    /// One latency draw for the whole batch plus `per_item_ms` per item:
    /// a detector that really batches.
    #[default]
    PerBatch,
    /// The sum of one latency draw per item: what a detector that handles
    /// items one after another costs.
    PerItem,
}

/// The `[batch]` table of a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct BatchSpec {
    /// Whether `/detect/batch` is served; when false it answers 400.
    pub enabled: bool,
    /// Most items in one batch; more get 413.
    pub max_items: usize,
    /// Chance that one item of a batch fails on its own (0..=1).
    pub item_failure_probability: f64,
    /// How latency scales with the item count.
    pub latency: BatchLatency,
    /// Extra milliseconds per item with `latency = "per_batch"`.
    pub per_item_ms: f64,
}

impl Default for BatchSpec {
    fn default() -> Self {
        Self {
            enabled: false,
            max_items: 100,
            item_failure_probability: 0.0,
            latency: BatchLatency::PerBatch,
            per_item_ms: 0.0,
        }
    }
}

/// The validated batch policy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BatchPolicy {
    pub(crate) enabled: bool,
    pub(crate) max_items: usize,
    pub(crate) item_failure_probability: f64,
    pub(crate) latency: BatchLatency,
    pub(crate) per_item_ms: f64,
}

impl BatchSpec {
    pub(crate) fn policy(&self) -> Result<BatchPolicy, FieldError> {
        if self.max_items == 0 {
            return Err(FieldError::new("batch.max_items", "must be at least 1"));
        }
        let p = self.item_failure_probability;
        if !(0.0..=1.0).contains(&p) {
            return Err(FieldError::new(
                "batch.item_failure_probability",
                format!("{p} is not a probability (0..=1)"),
            ));
        }
        if !(self.per_item_ms.is_finite() && self.per_item_ms >= 0.0) {
            return Err(FieldError::new(
                "batch.per_item_ms",
                "must be finite and >= 0",
            ));
        }
        if self.latency == BatchLatency::PerItem && self.per_item_ms > 0.0 {
            return Err(FieldError::new(
                "batch.per_item_ms",
                "applies only to latency = \"per_batch\"",
            ));
        }
        Ok(BatchPolicy {
            enabled: self.enabled,
            max_items: self.max_items,
            item_failure_probability: p,
            latency: self.latency,
            per_item_ms: self.per_item_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_disabled() {
        let policy = BatchSpec::default().policy().unwrap();
        assert!(!policy.enabled);
        assert_eq!(policy.max_items, 100);
    }

    #[test]
    fn bad_values_name_their_field() {
        let spec = BatchSpec {
            item_failure_probability: 1.5,
            ..BatchSpec::default()
        };
        assert_eq!(
            spec.policy().unwrap_err().field,
            "batch.item_failure_probability"
        );
        let spec = BatchSpec {
            max_items: 0,
            ..BatchSpec::default()
        };
        assert_eq!(spec.policy().unwrap_err().field, "batch.max_items");
    }
}
