//! The operations behind the admin API and [`DetectorHandle`](crate::DetectorHandle):
//! each checks its input, changes the detector, logs what changed and counts
//! it in `mockdet_admin_changes_total`.

use std::sync::atomic::Ordering;

use super::{DetectorState, Snapshot};
use crate::control::ControlError;
use crate::profile::{DetectorProfile, ProfileError};
use crate::profile::{NextFaults, Outage, Script};

impl DetectorState {
    fn changed(&self, action: &str) {
        self.metrics
            .admin_changes
            .with_label_values(&[&self.name, action])
            .inc();
    }

    /// Opens an outage window starting now.
    pub(crate) fn open_outage(&self, outage: Outage) -> Result<(), ControlError> {
        outage.check("")?;
        tracing::info!(
            detector = %self.name,
            mode = outage.mode.as_str(),
            duration_ms = outage.duration_ms,
            probability = outage.probability,
            "outage window opened"
        );
        self.control.open_window(outage);
        self.changed("outage");
        Ok(())
    }

    /// Forces a fault on the next `count` requests.
    pub(crate) fn fail_next(&self, next: NextFaults) -> Result<(), ControlError> {
        let fault = next.ready()?;
        tracing::info!(detector = %self.name, count = next.count, fault = %next.fault.kind, "next requests will fail");
        self.control.fail_next(next.count, fault);
        self.changed("next");
        Ok(())
    }

    /// Starts a phased fault script now.
    pub(crate) fn run_script(&self, script: Script) -> Result<(), ControlError> {
        let phases = script.phases.len();
        let looped = script.looped;
        self.control.run_script(script)?;
        tracing::info!(detector = %self.name, phases, looped, "fault script started");
        self.changed("script");
        Ok(())
    }

    /// Clears windows, scripts and pending `next` faults.
    pub(crate) fn clear_faults(&self) {
        self.control.clear();
        tracing::info!(detector = %self.name, "runtime faults cleared");
        self.changed("clear");
    }

    /// Clears faults and zeroes health counters, the journal and sequence
    /// numbers (Prometheus counters stay monotonic, as scrapers expect).
    pub(crate) fn reset_all(&self) {
        self.control.reset();
        self.journal.clear();
        self.attempts.clear();
        self.seq.store(0, Ordering::Relaxed);
        self.processed.store(0, Ordering::Relaxed);
        self.errors.store(0, Ordering::Relaxed);
        tracing::info!(detector = %self.name, "detector reset");
        self.changed("reset");
    }

    /// Replaces the profile live. The name and port cannot change while
    /// running; on any error the old profile keeps serving.
    pub(crate) fn set_profile(&self, profile: DetectorProfile) -> Result<(), ProfileError> {
        let old = self.current();
        let origin = "new profile".to_owned();
        for (field, same) in [
            ("name", profile.name == old.profile.name),
            ("port", profile.port == old.profile.port),
        ] {
            if !same {
                return Err(ProfileError::Invalid {
                    origin,
                    field: field.into(),
                    reason: "cannot change while the detector runs".into(),
                });
            }
        }
        let snapshot = Snapshot::new(profile)?;
        self.journal.resize(snapshot.behaviour.journal_size);
        let forgotten = self.attempts.resize(snapshot.behaviour.replay.capacity);
        self.keys_forgotten(forgotten);
        tracing::info!(
            detector = %self.name,
            latency = %snapshot.behaviour.latency,
            faults = snapshot.profile.faults.len(),
            "profile changed"
        );
        self.replace(snapshot);
        self.changed("profile");
        Ok(())
    }
}

impl DetectorState {
    /// Brings the fault-window and script-phase gauges up to date (they
    /// change with time, not with requests, so they are set on scrape).
    pub(crate) fn refresh_gauges(&self) {
        let snapshot = self.current();
        for (mode, open) in self.control.open_windows(&snapshot.behaviour) {
            self.metrics
                .windows_active
                .with_label_values(&[&self.name, mode.as_str()])
                .set(open as i64);
        }
        let phase = self
            .control
            .script_status()
            .map_or(-1, |status| status.phase as i64);
        self.metrics
            .script_phase
            .with_label_values(&[&self.name])
            .set(phase);
    }
}
