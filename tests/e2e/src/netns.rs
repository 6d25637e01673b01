//! Network namespaces that clean up after themselves, and veth links between them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Root of every namespace's work directory (configs, sockets, logs).
pub const WORK_ROOT: &str = "/tmp/causeway-e2e";

/// A network namespace owned by one test.
///
/// The name is unique per test, process and instance (`<test initials>-<role>-<pid>-<n>`),
/// so tests may run in parallel. Interfaces are created directly inside namespaces, so
/// their names (at most 15 bytes) only need to be unique within one namespace.
///
/// Dropping it kills every process still running in the namespace, deletes the namespace
/// and removes its work directory — except while the test is panicking, when the directory
/// is kept and its path printed.
#[derive(Debug)]
pub struct Netns {
    name: String,
    dir: PathBuf,
}

impl Netns {
    /// Creates a namespace for `test` playing `role` (e.g. "edge", "bird-a"), with `lo` up.
    pub fn new(test: &str, role: &str) -> Netns {
        let initials: String = test
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter_map(|w| w.chars().next())
            .take(8)
            .collect();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{initials}-{role}-{}-{n}", std::process::id());
        // A namespace left by an earlier run that had our pid: remove it first.
        if Path::new("/run/netns").join(&name).exists() {
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
        }
        run("ip", &["netns", "add", &name]);
        let ns = Netns {
            dir: Path::new(WORK_ROOT).join(&name),
            name,
        };
        let _ = std::fs::remove_dir_all(&ns.dir);
        std::fs::create_dir_all(&ns.dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", ns.dir.display()));
        run("ip", &["-n", &ns.name, "link", "set", "lo", "up"]);
        ns
    }

    /// Takes over a namespace someone else created (e.g. the customer end of a circuit's
    /// cross-connect, made by an edge): the test runs its processes there, and on drop the
    /// namespace is cleaned up exactly like one made by [`Netns::new`]. Its work directory
    /// is `WORK_ROOT/<name>`.
    pub fn adopt(name: &str) -> Netns {
        assert!(
            Path::new("/run/netns").join(name).exists(),
            "namespace {name} does not exist"
        );
        let ns = Netns {
            dir: Path::new(WORK_ROOT).join(name),
            name: name.to_string(),
        };
        let _ = std::fs::remove_dir_all(&ns.dir);
        std::fs::create_dir_all(&ns.dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", ns.dir.display()));
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace's work directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A command that runs `program` inside this namespace. `ip netns exec` execs the
    /// program, so the child's pid is the program's pid.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Runs `program args` inside the namespace; its stdout on success, else a description
    /// of the failure (for use as a wait observation).
    pub fn output(&self, program: &str, args: &[&str]) -> Result<String, String> {
        let out = self
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "`{program} {}` in {} failed ({}): {}{}",
                args.join(" "),
                self.name,
                out.status,
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

/// The processes running in namespace `name` (none when it does not exist).
pub fn pids_in(name: &str) -> Vec<String> {
    Command::new("ip")
        .args(["netns", "pids", name])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Kills every process in namespace `name` and deletes it (nothing when it is gone).
pub fn remove_namespace(name: &str) {
    for _ in 0..50 {
        let pids = pids_in(name);
        if pids.is_empty() {
            break;
        }
        for pid in &pids {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    if Path::new("/run/netns").join(name).exists() {
        let _ = Command::new("ip").args(["netns", "del", name]).status();
    }
}

/// Names of every namespace in `/run/netns`.
pub fn namespaces() -> Vec<String> {
    std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Processes started in the namespace by this test (daemons normally stop in their
        // own Drop first; this catches children they left behind).
        remove_namespace(&self.name);
        if std::thread::panicking() {
            eprintln!(
                "note: work directory of namespace {} kept at {}",
                self.name,
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Connects two namespaces with a veth pair and assigns addresses (`"10.0.1.1/30"`,
/// `"fd00:1::1/126"`). IPv6 addresses are added with `nodad` so they are usable at once.
pub fn veth(a: &Netns, if_a: &str, addrs_a: &[&str], b: &Netns, if_b: &str, addrs_b: &[&str]) {
    assert!(
        if_a.len() <= 15 && if_b.len() <= 15,
        "interface names must be at most 15 bytes: {if_a}, {if_b}"
    );
    run(
        "ip",
        &[
            "-n",
            a.name(),
            "link",
            "add",
            if_a,
            "type",
            "veth",
            "peer",
            "name",
            if_b,
            "netns",
            b.name(),
        ],
    );
    for (ns, ifname, addrs) in [(a, if_a, addrs_a), (b, if_b, addrs_b)] {
        for addr in addrs {
            let mut args = vec!["-n", ns.name(), "addr", "add", addr, "dev", ifname];
            if addr.contains(':') {
                args.push("nodad");
            }
            run("ip", &args);
        }
        run("ip", &["-n", ns.name(), "link", "set", ifname, "up"]);
    }
}

/// Runs a setup command and panics with its stderr if it fails.
pub(crate) fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "`{program} {}` failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
}
