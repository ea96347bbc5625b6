//! Process limits the `mockdet` binary sets at start.

/// Raises the soft open-file limit to the hard limit, so a fleet under load
/// (1,000 connections, 10,000 hanging clients) is not stopped by a default
/// soft limit of 1,024 (children, such as `mockdet bench`'s servers,
/// inherit it). Returns the soft limit now in force.
#[cfg(target_os = "linux")]
pub(crate) fn raise_nofile_limit() -> std::io::Result<u64> {
    // SAFETY: `limit` is a plain struct owned by this frame.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        limit.rlim_cur = limit.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(limit.rlim_cur)
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn raise_nofile_limit() -> std::io::Result<u64> {
    Err(std::io::Error::other(
        "raising RLIMIT_NOFILE is only done on Linux",
    ))
}
