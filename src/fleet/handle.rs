//! [`DetectorHandle`]: runtime control of one running detector from Rust —
//! the same operations as its `/admin` API, without HTTP.

use std::sync::Arc;

use crate::control::journal::JournalEntry;
use crate::control::{ControlError, ScriptStatus};
use crate::detector::DetectorState;
use crate::profile::{DetectorProfile, FaultSpec, ProfileError};
use crate::profile::{NextFaults, Outage, Script};

/// Controls one detector of a running [`Fleet`](crate::Fleet); get one from
/// [`Fleet::detector`](crate::Fleet::detector).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use mockdet::{Fleet, Outage};
///
/// let fleet = Fleet::builder().builtin("success").seed(1).start().await?;
/// let success = fleet.detector("success");
/// success.outage(Outage::unavailable(Duration::from_secs(90)))?; // down for 90 s, from now
/// assert!(success.journal().is_empty());
/// success.clear_faults();
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct DetectorHandle {
    pub(crate) state: Arc<DetectorState>,
    pub(crate) url: String,
}

impl DetectorHandle {
    /// The detector's base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The detector's name.
    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// Opens an outage window starting now.
    pub fn outage(&self, outage: Outage) -> Result<(), ControlError> {
        self.state.open_outage(outage)
    }

    /// The next `count` requests get `fault` (its probability is ignored);
    /// then behaviour returns to the profile.
    pub fn fail_next(&self, count: u32, fault: FaultSpec) -> Result<(), ControlError> {
        self.state.fail_next(NextFaults { count, fault })
    }

    /// Starts a phased fault script now, replacing a running one.
    pub fn run_script(&self, script: Script) -> Result<(), ControlError> {
        self.state.run_script(script)
    }

    /// Where the running script is, if any.
    pub fn script_status(&self) -> Option<ScriptStatus> {
        self.state.control.script_status()
    }

    /// Clears outage windows, scripts and pending `fail_next` faults.
    pub fn clear_faults(&self) {
        self.state.clear_faults();
    }

    /// Clears faults and zeroes the health counters, journal and sequence numbers.
    pub fn reset(&self) {
        self.state.reset_all();
    }

    /// Every journaled request, oldest first.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.state.journal.read(0, usize::MAX)
    }

    /// The newest `n` journaled requests, in sequence order — "what were the
    /// last calls" (`GET /admin/requests?limit=N`).
    pub fn journal_tail(&self, n: usize) -> Vec<JournalEntry> {
        self.state.journal.tail(n)
    }

    /// Journaled requests after sequence number `since_seq`, oldest first —
    /// for reading forward from where the last read stopped
    /// (`GET /admin/requests?since_seq=K`).
    pub fn journal_since(&self, since_seq: u64) -> Vec<JournalEntry> {
        self.state.journal.read(since_seq, usize::MAX)
    }

    /// The profile serving now.
    pub fn profile(&self) -> DetectorProfile {
        self.state.current().profile.clone()
    }

    /// Replaces the profile live; on error the old one keeps serving.
    pub fn set_profile(&self, profile: DetectorProfile) -> Result<(), ProfileError> {
        self.state.set_profile(profile)
    }
}
