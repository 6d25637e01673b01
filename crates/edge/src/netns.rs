//! Network namespaces: sockets of a routing domain are created inside its namespace.
//!
//! A socket belongs to the namespace of the thread that created it and stays there, so the
//! edge creates each socket on a short-lived thread that first joins the namespace
//! (`setns(2)` on `/run/netns/NAME`, what `ip netns exec` does). That thread is the only one
//! that ever changes namespace; the runtime's threads never do.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

/// Where `ip netns` keeps named namespaces.
pub fn path(name: &str) -> PathBuf {
    PathBuf::from("/run/netns").join(name)
}

/// Runs `f` with the calling thread in namespace `ns` (or here, for `None`).
pub fn run_in<T: Send + 'static>(
    ns: Option<&str>,
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let Some(ns) = ns else {
        return f();
    };
    let file = File::open(path(ns))
        .map_err(|e| io::Error::new(e.kind(), format!("network namespace {ns}: {e}")))?;
    std::thread::scope(|s| {
        s.spawn(move || {
            enter(&file)?;
            f()
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")))
    })
}

fn enter(file: &File) -> io::Result<()> {
    // SAFETY: setns only reads the descriptor, which `file` keeps open for the call; it
    // changes the namespace of this thread alone (a scoped thread that ends right after).
    #[allow(unsafe_code)]
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether this process may create namespaces and links (CAP_NET_ADMIN, bit 12 of CapEff).
pub fn have_net_admin() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << 12) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_namespace_the_closure_runs_here() {
        let here = std::thread::current().id();
        let ran = run_in(None, move || Ok(std::thread::current().id() == here)).expect("runs");
        assert!(ran);
    }

    #[test]
    fn a_missing_namespace_is_a_clear_error() {
        let err = run_in(Some("causeway-no-such-namespace"), || Ok(())).expect_err("no namespace");
        assert!(
            err.to_string().contains("causeway-no-such-namespace"),
            "{err}"
        );
    }
}
