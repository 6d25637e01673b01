//! The privilege gate: interop tests need root and network namespaces.

use std::io::Write;
use std::process::Command;

/// Returns true when this process may create network namespaces.
///
/// Without root (or without working `ip netns`) the test is skipped with a message — unless
/// `CI=true`, where skipping would hide the interop proof, so it panics instead. Also
/// checks that the daemons the suite drives are installed (`scripts/test` installs them).
pub fn require_root(test: &str) -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let problem = if !is_root() {
        Some("needs root and network namespaces".to_string())
    } else {
        netns_problem()
    };
    if let Some(problem) = problem {
        if ci {
            panic!("{test}: {problem}; under CI=true interop tests must run, not skip");
        }
        // Written to stderr directly, past the test harness's output capture, so a skip is
        // visible in a passing run.
        let _ = writeln!(std::io::stderr(), "skipping {test}: {problem}");
        return false;
    }
    for tool in [
        "bird", "birdc", "gobgpd", "gobgp", "vtysh", "bgpd", "bgpctl", "curl",
    ] {
        assert!(
            on_path(tool),
            "{test}: `{tool}` is not installed; run scripts/test, which installs it"
        );
    }
    assert!(
        std::path::Path::new("/usr/lib/frr/bgpd").is_file(),
        "{test}: FRR's bgpd is not installed; run scripts/test, which installs it"
    );
    true
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn netns_problem() -> Option<String> {
    match Command::new("ip").args(["netns", "list"]).output() {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "`ip netns list` failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Some(format!("cannot run `ip` (iproute2): {e}")),
    }
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .chain(["/usr/sbin".into(), "/sbin".into()])
            .any(|dir| dir.join(tool).is_file())
    })
}
