//! The server under test: `causeway serve --http` as a child process on a data directory,
//! and with `--replicas N` on a shared store, N-1 `causeway control` replicas beside it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::api::Api;

/// How long a (re)start may take before the benchmark gives up.
const START_DEADLINE: Duration = Duration::from_secs(120);
/// How long the server may take to exit after SIGTERM.
const STOP_DEADLINE: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct Server {
    binary: PathBuf,
    data_dir: PathBuf,
    port: u16,
    child: Option<Child>,
    /// The admin token (read from `admin.token` on the first start).
    token: String,
    store: Option<String>,
    /// How many replicas in all (the first is `child`).
    replicas: usize,
    /// The other replicas: process and port.
    others: Vec<(Child, u16)>,
    /// Round-robin over the replicas for new clients.
    next: std::sync::atomic::AtomicUsize,
}

/// Resident and peak resident (VmHWM) memory, in MiB.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Memory {
    pub rss_mib: f64,
    pub peak_rss_mib: f64,
}

impl Server {
    /// Starts the server and waits until it answers; returns it and how long that took.
    pub fn start(
        binary: &Path,
        data_dir: &Path,
        port: u16,
        store: Option<String>,
        replicas: usize,
    ) -> Result<(Server, Duration)> {
        if !binary.exists() {
            bail!(
                "no causeway binary at {} (build it with `cargo build --release -p causeway`, or pass --causeway PATH)",
                binary.display()
            );
        }
        let mut server = Server {
            binary: binary.to_owned(),
            data_dir: data_dir.to_owned(),
            port,
            child: None,
            token: String::new(),
            store,
            replicas,
            others: Vec::new(),
            next: std::sync::atomic::AtomicUsize::new(0),
        };
        let took = server.restart()?;
        server.start_others()?;
        Ok((server, took))
    }

    /// Starts the other replicas (`causeway control` on the same store, data directories of
    /// their own) and waits until each answers with the first one's admin token.
    fn start_others(&mut self) -> Result<()> {
        let Some(store) = self.store.clone() else {
            return Ok(());
        };
        for i in 1..self.replicas {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let dir = self.data_dir.join(format!("replica-{i}"));
            std::fs::create_dir_all(&dir)?;
            let log = File::create(dir.join("control.log"))?;
            let child = Command::new(&self.binary)
                .args(["control", "--http", "--listen"])
                .arg(format!("127.0.0.1:{port}"))
                .arg("--data-dir")
                .arg(&dir)
                .args(["--store", &store])
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("cannot start {}", self.binary.display()))?;
            self.others.push((child, port));
            let started = Instant::now();
            let probe = format!(
                "/subscriptions/{}/providers/Microsoft.Network/expressRouteCircuits",
                crate::layout::sub_id(1)
            );
            loop {
                let base = format!("http://127.0.0.1:{port}");
                if let Ok((200, _)) = Api::new(&base, &self.token).send("GET", &probe, None) {
                    break;
                }
                if started.elapsed() > START_DEADLINE {
                    bail!("replica {i} did not answer within {START_DEADLINE:?}");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A new client (own connection) with the admin token, on the next replica in turn.
    pub fn api(&self) -> Api {
        let n =
            self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % (self.others.len() + 1);
        match n {
            0 => Api::new(&self.base(), &self.token),
            i => Api::new(
                &format!("http://127.0.0.1:{}", self.others[i - 1].1),
                &self.token,
            ),
        }
    }

    fn log_path(&self) -> PathBuf {
        self.data_dir.join("server.log")
    }

    /// Starts the process (again, on the same data dir) and polls until a list answers 200:
    /// the time from spawn to that first answered GET.
    pub fn restart(&mut self) -> Result<Duration> {
        if self.child.is_some() {
            bail!("the server is already running");
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .context("cannot open the server log")?;
        let started = Instant::now();
        let child = Command::new(&self.binary)
            .args(["serve", "--http", "--listen"])
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--local-edges", "none"])
            .args(self.store.iter().flat_map(|s| ["--store", s.as_str()]))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        self.child = Some(child);
        let probe = format!(
            "/subscriptions/{}/providers/Microsoft.Network/expressRouteCircuits",
            crate::layout::sub_id(1)
        );
        let mut last = String::from("nothing yet");
        while started.elapsed() < START_DEADLINE {
            self.check_alive()?;
            let token =
                std::fs::read_to_string(self.data_dir.join("admin.token")).unwrap_or_default();
            let token = token.trim();
            if !token.is_empty() {
                match Api::new(&self.base(), token).send("GET", &probe, None) {
                    Ok((200, _)) => {
                        self.token = token.to_owned();
                        return Ok(started.elapsed());
                    }
                    Ok((status, body)) => last = format!("status {status}: {body}"),
                    Err(e) => last = format!("{e:#}"),
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        bail!(
            "the server did not answer within {START_DEADLINE:?} (last: {last}); log:\n{}",
            self.log_tail()
        )
    }

    /// An error (with the log's end) if the server has exited.
    fn check_alive(&mut self) -> Result<()> {
        match self.exited() {
            Some(status) => Err(anyhow!(
                "the server exited ({status}); its log ends with:\n{}",
                self.log_tail()
            )),
            None => Ok(()),
        }
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Adds the server's death (and log) to an error that happened while it was needed.
    pub fn explain<T>(&mut self, result: Result<T>) -> Result<T> {
        result.map_err(|e| match self.check_alive() {
            Err(dead) => e.context(dead.to_string()),
            Ok(()) => e,
        })
    }

    /// The last lines of the server's log.
    fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = File::open(self.log_path()) {
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = f.seek(SeekFrom::Start(len.saturating_sub(4000)));
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = Pid::from_raw(i32::try_from(child.id())?);
        kill(pid, Signal::SIGTERM).context("cannot send SIGTERM to the server")?;
        let asked = Instant::now();
        while asked.elapsed() < STOP_DEADLINE {
            if let Some(status) = child.try_wait()? {
                if !status.success() {
                    bail!(
                        "the server exited with {status} after SIGTERM; log:\n{}",
                        self.log_tail()
                    );
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        bail!("the server did not exit within {STOP_DEADLINE:?} of SIGTERM")
    }

    /// SIGKILL (a crash) and reap it.
    pub fn crash(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().context("cannot kill the server")?;
            child.wait()?;
        }
        Ok(())
    }

    /// Current and peak RSS from /proc/PID/status.
    pub fn memory(&self) -> Result<Memory> {
        let child = self
            .child
            .as_ref()
            .ok_or_else(|| anyhow!("the server is not running"))?;
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            .context("cannot read the server's /proc status")?;
        let field = |name: &str| -> Result<f64> {
            let line = status
                .lines()
                .find(|l| l.starts_with(name))
                .ok_or_else(|| anyhow!("no {name} in /proc status"))?;
            let kib: f64 = line[name.len()..]
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()?;
            Ok(kib / 1024.0)
        };
        Ok(Memory {
            rss_mib: field("VmRSS:")?,
            peak_rss_mib: field("VmHWM:")?,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for (mut c, _) in self.others.drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
