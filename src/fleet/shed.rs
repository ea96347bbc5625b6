//! Shedding connections when the process is out of file descriptors.
//!
//! When `accept` fails with `EMFILE`/`ENFILE`, the waiting connection stays
//! in the kernel's backlog and its client hangs until a descriptor frees up
//! — or, retried in a loop, the accept loop spins. [`Spare`] keeps one
//! descriptor in reserve: on such a failure it closes the reserve, accepts
//! the waiting connection and closes it at once (the client sees the
//! connection end and can fail over or retry), then takes the reserve back.
//! Connections already open keep being served throughout.

use std::fs::File;
use std::io;

use tokio::net::TcpListener;

/// One descriptor held back for shedding.
#[derive(Debug)]
pub(crate) struct Spare(Option<File>);

impl Spare {
    /// Reserves a descriptor (`/dev/null`, or nothing if even that fails).
    pub(crate) fn reserve() -> Self {
        Self(File::open("/dev/null").ok())
    }

    /// Whether `error` means the process (or system) is out of descriptors.
    pub(crate) fn out_of_descriptors(error: &io::Error) -> bool {
        matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
    }

    /// Frees the reserve, accepts the connection waiting on `listener` and
    /// closes it at once, then takes the reserve back. Returns whether one
    /// was shed.
    pub(crate) async fn shed(&mut self, listener: &TcpListener) -> bool {
        drop(self.0.take());
        // The failed accept means a connection is waiting; don't block if
        // another task took it meanwhile.
        let accepted = tokio::time::timeout(std::time::Duration::from_millis(5), listener.accept());
        let shed = matches!(accepted.await, Ok(Ok(_)));
        *self = Self::reserve();
        shed
    }
}
