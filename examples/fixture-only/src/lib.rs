//! Nothing to see: this crate exists for its test
//! (`tests/a_seeded_failing_detector_answers_as_forecast.rs`), which uses
//! mockdet the way an orchestration service's test suite would, from
//! outside mockdet's workspace, with only std, tokio and mockdet.
