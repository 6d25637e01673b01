//! Daemons started inside namespaces, with their logs kept for diagnosis.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;

use crate::netns::Netns;

/// How many trailing log lines a failing test prints per daemon.
const LOG_TAIL: usize = 200;

/// A daemon running inside a namespace, stdout and stderr appended to its log file.
///
/// Dropping it kills the process (resuming it first if it was stopped). While the test is
/// panicking, the tail of its log is printed, so a failing test shows every side's story.
#[derive(Debug)]
pub struct Daemon {
    label: String,
    child: Mutex<Child>,
    log: PathBuf,
}

impl Daemon {
    /// Starts `program args` in `ns`, logging to `log`.
    pub fn spawn(
        ns: &Netns,
        label: &str,
        log: &Path,
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Daemon {
        Daemon::spawn_command(ns.command(program), label, log, program, args, env)
    }

    /// Starts `program args` in the host's namespace (e.g. the control plane, or an edge
    /// that makes its own namespaces), logging to `log`.
    pub fn spawn_host(
        label: &str,
        log: &Path,
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Daemon {
        Daemon::spawn_command(Command::new(program), label, log, program, args, env)
    }

    fn spawn_command(
        mut cmd: Command,
        label: &str,
        log: &Path,
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Daemon {
        let out =
            File::create(log).unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let err = out
            .try_clone()
            .expect("invariant: a fresh file handle can be cloned");
        cmd.args(args).stdin(Stdio::null()).stdout(out).stderr(err);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {label} ({program}): {e}"));
        Daemon {
            label: label.to_string(),
            child: Mutex::new(child),
            log: log.to_path_buf(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.lock().id()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends a signal by name ("STOP", "CONT", "HUP", "KILL").
    pub fn signal(&self, sig: &str) {
        let pid = self.pid().to_string();
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &pid])
            .status()
            .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
        assert!(
            status.success(),
            "kill -{sig} {pid} ({}) failed",
            self.label
        );
    }

    /// The exit status if the process has ended.
    pub fn exited(&self) -> Option<ExitStatus> {
        self.lock().try_wait().ok().flatten()
    }

    /// Panics with the log if the daemon is no longer running: a dead daemon is a failure
    /// to report now, not a condition to wait out.
    pub fn assert_running(&self) {
        if let Some(status) = self.exited() {
            panic!(
                "{} exited unexpectedly ({status}); log {}:\n{}",
                self.label,
                self.log.display(),
                tail(&self.log(), LOG_TAIL)
            );
        }
    }

    /// Kills the process and waits for it.
    pub fn kill(&self) {
        let mut child = self.lock();
        if child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Child> {
        // A poisoned lock only means another thread panicked holding it; the Child is fine.
        self.child.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "----- {} log ({}), last {LOG_TAIL} lines -----\n{}\n----- end of {} log -----",
                self.label,
                self.log.display(),
                tail(&self.log(), LOG_TAIL),
                self.label
            );
        }
        self.kill();
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
