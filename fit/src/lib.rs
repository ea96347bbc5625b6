//! Profiles from reality: `mockdet fit` turns measured latencies into a
//! calibrated mockdet profile, and `mockdet record` measures a real
//! detector through a transparent proxy.
//!
//! # Layout
//!
//! - [`input`]: every input format into one [`input::Data`].
//! - [`fit`](mod@fit): every latency model fitted and ranked.
//! - [`profile`]: the chosen model and a fault menu as a profile file.
//! - [`report`]: the HTML picture of the fit.
//! - [`cli`]: `mockdet fit`.

pub mod cli;
pub mod fit;
pub mod input;
pub mod profile;
pub mod record;
pub mod report;
