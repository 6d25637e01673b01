#![cfg(feature = "tokio-driver")]
//! Interop: the BFD driver against BIRD 2's and FRR's bfdd in network namespaces.
//!
//! Each test builds two namespaces joined by a veth /30 (the peer takes 10.0.1.1, we take
//! 10.0.1.2), starts the peer's BFD daemon in one and a [`Driver`] whose sockets are created
//! in the other, then watches both sides' view of the session. Waits poll with a deadline;
//! nothing sleeps in place of synchronisation.
//!
//! FRR's bfdd runs on its own (no zebra, no watchfrr) as user `frr`: FRR daemons refuse to
//! start when the run-as user is not in the `frrvty` group, which `root` is not on Debian.

use std::fs::File;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bfd::driver::{Driver, PeerConfig, Status, bind_single_hop};
use bfd::{Diag, State, Timers};
use e2e::{CONVERGE, Daemon, Link, Netns, link, require_root, wait_for};
use tokio::sync::watch;

const MS: Duration = Duration::from_millis(1);
/// Detection at 300 ms × 3 is 900 ms; the assertion is generous for a busy machine.
const DOWN_WITHIN: Duration = Duration::from_secs(3);
const FRR_BFDD: &str = "/usr/lib/frr/bfdd";

fn fast() -> Timers {
    Timers {
        desired_min_tx: 50 * MS,
        required_min_rx: 50 * MS,
        detect_mult: 3,
    }
}

// ===== the peers =====

#[derive(Debug, Clone, Copy)]
enum Kind {
    Bird,
    Frr,
}

/// A peer's BFD daemon and how to ask it about the session.
struct PeerDaemon {
    kind: Kind,
    daemon: Daemon,
    /// BIRD's control socket, or the directory holding bfdd's vty socket.
    control: PathBuf,
    /// Our address, as the peer names the session.
    neighbor: IpAddr,
}

impl PeerDaemon {
    fn start(kind: Kind, ns: &Netns, link: &Link, timers: Timers) -> PeerDaemon {
        let (tx, rx) = (
            timers.desired_min_tx.as_millis(),
            timers.required_min_rx.as_millis(),
        );
        let mult = timers.detect_mult;
        let (us, them) = (link.peer_v4, link.edge_v4);
        match kind {
            Kind::Bird => {
                let conf = ns.dir().join("bird.conf");
                let control = ns.dir().join("bird.ctl");
                write(
                    &conf,
                    &format!(
                        "log stderr all;\nrouter id {us};\ndebug protocols all;\n\
                         protocol device {{}}\n\
                         protocol bfd {{\n  \
                           interface \"*\" {{ min rx interval {rx} ms; min tx interval {tx} ms; multiplier {mult}; }};\n  \
                           neighbor {them} local {us};\n}}\n"
                    ),
                );
                let args = [
                    "-f",
                    "-c",
                    &conf.to_string_lossy(),
                    "-s",
                    &control.to_string_lossy(),
                    "-P",
                    &ns.dir().join("bird.pid").to_string_lossy(),
                ]
                .map(String::from);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let log = ns.dir().join("bird.log");
                let daemon = Daemon::spawn(ns, "bird", &log, "bird", &args, &[]);
                PeerDaemon {
                    kind,
                    daemon,
                    control,
                    neighbor: them.into(),
                }
            }
            Kind::Frr => {
                assert!(
                    Path::new(FRR_BFDD).is_file(),
                    "FRR's bfdd is not installed; run scripts/test, which installs frr"
                );
                // bfdd runs as `frr`, so its directory must be frr's.
                let control = ns.dir().join("frr");
                std::fs::create_dir_all(&control).expect("create frr dir");
                let conf = control.join("bfdd.conf");
                write(
                    &conf,
                    &format!(
                        "frr defaults traditional\nhostname peer\nlog stdout debugging\n!\n\
                         bfd\n peer {them} local-address {us}\n  \
                         receive-interval {rx}\n  transmit-interval {tx}\n  detect-multiplier {mult}\n \
                         !\n!\n"
                    ),
                );
                let chown = Command::new("chown")
                    .args(["-R", "frr:frr"])
                    .arg(&control)
                    .status()
                    .expect("run chown");
                assert!(chown.success(), "chown frr {}", control.display());
                let path = |f: &str| control.join(f).to_string_lossy().into_owned();
                let args = [
                    "-f".to_string(),
                    path("bfdd.conf"),
                    "-i".into(),
                    path("bfdd.pid"),
                    "-z".into(),
                    path("zserv.api"),
                    "--bfdctl".into(),
                    path("bfdd.sock"),
                    "--vty_socket".into(),
                    control.to_string_lossy().into_owned(),
                    "-u".into(),
                    "frr".into(),
                    "-g".into(),
                    "frr".into(),
                ];
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let log = ns.dir().join("bfdd.log");
                let daemon = Daemon::spawn(ns, "bfdd", &log, FRR_BFDD, &args, &[]);
                PeerDaemon {
                    kind,
                    daemon,
                    control,
                    neighbor: them.into(),
                }
            }
        }
    }

    /// The session state as the peer reports it, lower-case ("up", "down", "init").
    fn state(&self) -> Result<String, String> {
        self.daemon.assert_running();
        match self.kind {
            Kind::Bird => {
                let text = run(Command::new("birdc")
                    .arg("-s")
                    .arg(&self.control)
                    .args(["show", "bfd", "sessions"]))?;
                // "10.0.1.2   c1   Up   12:00:00.000   0.300   0.900"
                let neighbor = self.neighbor.to_string();
                text.lines()
                    .map(|l| l.split_whitespace().collect::<Vec<_>>())
                    .find(|w| w.first() == Some(&neighbor.as_str()))
                    .and_then(|w| w.get(2).map(|s| s.to_ascii_lowercase()))
                    .ok_or_else(|| format!("no session for {neighbor} in:\n{text}"))
            }
            Kind::Frr => {
                let text = run(Command::new("vtysh")
                    .arg("--vty_socket")
                    .arg(&self.control)
                    .args(["-d", "bfdd", "-c", "show bfd peers json"]))?;
                let peers: serde_json::Value =
                    serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
                peers
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|p| p["peer"] == self.neighbor.to_string().as_str())
                    .and_then(|p| p["status"].as_str().map(str::to_string))
                    .ok_or_else(|| format!("no peer {} in {text}", self.neighbor))
            }
        }
    }
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!(
            "{cmd:?} failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

// ===== our side =====

/// Two namespaces, a link, the peer's daemon and our driver with one session.
struct Lab {
    peer: PeerDaemon,
    status: watch::Receiver<Status>,
    _driver: Driver,
    // Dropped after the driver and the daemon: the namespaces go last.
    _runtime: tokio::runtime::Runtime,
    _edge_ns: Netns,
    _peer_ns: Netns,
}

impl Lab {
    fn new(test: &str, kind: Kind, ours: Timers, theirs: Timers) -> Lab {
        let edge_ns = Netns::new(test, "edge");
        let peer_ns = Netns::new(test, "peer");
        let link = link(&edge_ns, &peer_ns, 1);
        let peer = PeerDaemon::start(kind, &peer_ns, &link, theirs);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let ns = edge_ns.name().to_string();
        let driver = {
            let _in_runtime = runtime.enter();
            Driver::spawn(move |addr: SocketAddr| in_netns(&ns, move || bind_single_hop(addr)))
        };
        let config = PeerConfig::new(link.edge_v4.into(), link.peer_v4.into(), ours);
        let status = runtime
            .block_on(driver.add_peer(config))
            .expect("add the BFD peer");
        Lab {
            peer,
            status,
            _driver: driver,
            _runtime: runtime,
            _edge_ns: edge_ns,
            _peer_ns: peer_ns,
        }
    }

    fn ours(&self) -> Status {
        *self.status.borrow()
    }

    /// Waits until both sides report Up and our detection time is `detection`.
    fn wait_up(&self, detection: Duration) {
        wait_for(CONVERGE, "both sides Up", || {
            let theirs = self.peer.state()?;
            let ours = self.ours();
            if ours.state == State::Up && theirs == "up" && ours.detection_time == Some(detection) {
                Ok(())
            } else {
                Err(format!("ours {ours:?}, theirs {theirs}"))
            }
        });
    }
}

/// Runs `f` on a thread that has joined network namespace `ns` (what `ip netns exec` does);
/// a socket created there stays in that namespace.
fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
    let file = File::open(Path::new("/run/netns").join(ns))?;
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: setns only reads the descriptor, which `file` keeps open for the call;
            // it moves this scoped thread alone, which ends right after `f`.
            #[allow(unsafe_code)]
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
            f()
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")))
    })
}

// ===== tests =====

fn comes_up(test: &str, kind: Kind) {
    if !require_root(test) {
        return;
    }
    let lab = Lab::new(test, kind, Timers::AZURE, Timers::AZURE);
    lab.wait_up(900 * MS);
    assert_eq!(lab.ours().tx_interval, 300 * MS);
}

fn a_stopped_peer_is_detected(test: &str, kind: Kind) {
    if !require_root(test) {
        return;
    }
    let lab = Lab::new(test, kind, Timers::AZURE, Timers::AZURE);
    lab.wait_up(900 * MS);
    lab.peer.daemon.signal("STOP");
    let stopped = Instant::now();
    wait_for(
        DOWN_WITHIN,
        "our session Down after the peer stopped",
        || {
            let ours = lab.ours();
            (ours.state == State::Down)
                .then_some(())
                .ok_or_else(|| format!("{ours:?}"))
        },
    );
    let took = stopped.elapsed();
    assert_eq!(lab.ours().diag, Diag::ControlDetectionTimeExpired);
    // Detection runs from the peer's last packet, which may precede the stop by up to one
    // transmit interval.
    eprintln!("{test}: Down observed {took:?} after SIGSTOP (detection time 900 ms)");
    // And it recovers once the peer runs again.
    lab.peer.daemon.signal("CONT");
    lab.wait_up(900 * MS);
}

fn fifty_ms_comes_up(test: &str, kind: Kind) {
    if !require_root(test) {
        return;
    }
    let lab = Lab::new(test, kind, fast(), fast());
    lab.wait_up(150 * MS);
    assert_eq!(lab.ours().tx_interval, 50 * MS);
}

#[test]
fn a_session_with_bird_comes_up_at_300_ms_times_3() {
    comes_up("a_session_with_bird_comes_up", Kind::Bird);
}

#[test]
fn a_stopped_bird_is_detected_down_within_the_detection_time() {
    a_stopped_peer_is_detected("a_stopped_bird_is_detected", Kind::Bird);
}

#[test]
fn fifty_ms_times_3_with_bird_negotiates_and_comes_up() {
    fifty_ms_comes_up("fifty_ms_with_bird", Kind::Bird);
}

#[test]
fn a_session_with_frr_bfdd_comes_up_at_300_ms_times_3() {
    comes_up("a_session_with_frr_comes_up", Kind::Frr);
}

#[test]
fn a_stopped_frr_bfdd_is_detected_down_within_the_detection_time() {
    a_stopped_peer_is_detected("a_stopped_frr_is_detected", Kind::Frr);
}

#[test]
fn fifty_ms_times_3_with_frr_bfdd_negotiates_and_comes_up() {
    fifty_ms_comes_up("fifty_ms_with_frr", Kind::Frr);
}
