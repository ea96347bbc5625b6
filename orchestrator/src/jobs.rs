//! Async jobs: a bounded in-memory store. Past its capacity the oldest job
//! is evicted (its id then answers 404), so memory stays flat however long
//! a load run lasts.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::SystemTime;

use serde_json::{Value, json};

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobStatus {
    /// Accepted, detectors being called.
    Running,
    /// Finished; the result is stored.
    Completed,
}

#[derive(Debug, Clone)]
struct Job {
    status: JobStatus,
    created_at: SystemTime,
    completed_at: Option<SystemTime>,
    /// HTTP status the sync request would have got, and its body.
    result: Option<(u16, Value)>,
}

#[derive(Debug, Default)]
struct Inner {
    jobs: HashMap<String, Job>,
    /// Insertion order, for eviction.
    order: VecDeque<String>,
}

/// The store. The lock is held only for map operations, never across an
/// `.await`, so a std mutex is the right tool.
#[derive(Debug)]
pub(crate) struct JobStore {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl JobStore {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Map operations cannot leave the store half-updated on a panic.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a running job, evicting the oldest past capacity.
    pub(crate) fn insert(&self, id: &str) {
        let mut inner = self.lock();
        while inner.order.len() >= self.capacity {
            if let Some(old) = inner.order.pop_front() {
                inner.jobs.remove(&old);
            }
        }
        let job = Job {
            status: JobStatus::Running,
            created_at: SystemTime::now(),
            completed_at: None,
            result: None,
        };
        inner.jobs.insert(id.to_owned(), job);
        inner.order.push_back(id.to_owned());
    }

    /// Stores a job's result (ignored if the job was evicted meanwhile).
    pub(crate) fn complete(&self, id: &str, status: u16, body: Value) {
        if let Some(job) = self.lock().jobs.get_mut(id) {
            job.status = JobStatus::Completed;
            job.completed_at = Some(SystemTime::now());
            job.result = Some((status, body));
        }
    }

    /// The status document of a job, or `None` for an unknown id.
    pub(crate) fn view(&self, id: &str) -> Option<Value> {
        let job = self.lock().jobs.get(id).cloned()?;
        let stamp = |t: SystemTime| humantime::format_rfc3339_millis(t).to_string();
        let mut view = json!({
            "job_id": id,
            "status": match job.status {
                JobStatus::Running => "running",
                JobStatus::Completed => "completed",
            },
            "created_at": stamp(job.created_at),
        });
        if let (Some((status, body)), Some(at)) = (job.result, job.completed_at) {
            view["completed_at"] = json!(stamp(at));
            view["status_code"] = json!(status);
            view["result"] = body;
        }
        Some(view)
    }

    /// Jobs held now.
    pub(crate) fn len(&self) -> usize {
        self.lock().jobs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_runs_then_completes_with_its_result() {
        let store = JobStore::new(4);
        store.insert("a");
        assert_eq!(store.view("a").expect("known")["status"], "running");
        store.complete("a", 206, json!({"coverage_achieved": 0.8}));
        let view = store.view("a").expect("known");
        assert_eq!(view["status"], "completed");
        assert_eq!(view["status_code"], 206);
        assert_eq!(view["result"]["coverage_achieved"], 0.8);
    }

    #[test]
    fn the_oldest_job_is_evicted_past_capacity() {
        let store = JobStore::new(2);
        for id in ["a", "b", "c"] {
            store.insert(id);
        }
        assert!(store.view("a").is_none());
        assert!(store.view("b").is_some() && store.view("c").is_some());
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn completing_an_evicted_job_is_harmless() {
        let store = JobStore::new(1);
        store.insert("a");
        store.insert("b");
        store.complete("a", 200, json!({}));
        assert!(store.view("a").is_none());
        assert_eq!(store.len(), 1);
    }
}
