//! One measured run of one target: namespaces, daemon, sessions, phases, figures.
//!
//! Topology: `snd` ⇄ `tgt` ⇄ `mon`, two veth links, 10.100.0.0/16 on the sender side and
//! 10.200.0.0/16 on the monitor side (the target is .1 on both; sessions use .2 upward), and
//! with `--ipv6` fd00:100::/64 and fd00:200::/64 as well (no duplicate address detection),
//! for the IPv6-only sessions.
//! Order: start the target, open every monitor session, then every sender session, let the
//! daemon settle (1 s) and read its idle RSS, then per phase hand every sender its stream at
//! once. t0 is the first UPDATE byte written by any sender; the phase ends when every monitor
//! holds exactly its expected table and every sender has written its last byte; t1 is the
//! later of the two. CPU seconds run from just before t0 until the target has gone idle
//! (under 5 % of a core over 500 ms) after the last phase.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bgp::wire::Family;
use e2e::{Netns, veth};
use serde::Serialize;

use crate::monitor::{self, Table};
use crate::plan::{
    Plan, TARGET_MONITOR_SIDE, TARGET_MONITOR_SIDE6, TARGET_SENDER_SIDE, TARGET_SENDER_SIDE6,
};
use crate::procstat;
use crate::session::{Connector, Established, SessionSpec};
use crate::targets::{self, Kind};

/// Set when the harness got SIGINT or SIGTERM: the run in progress stops and cleans up.
pub static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Namespaces that an earlier, killed harness left behind (`cb-snd|tgt|mon-PID-N` with PID
/// gone): their processes are killed and they are deleted.
pub fn remove_stale_namespaces() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let parts: Vec<&str> = name.split('-').collect();
        let ["cb", "snd" | "tgt" | "mon", pid, _] = parts.as_slice() else {
            continue;
        };
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        for p in procstat::netns_pids(name) {
            let _ = Command::new("kill")
                .args(["-KILL", &p.to_string()])
                .status();
        }
        let _ = Command::new("ip").args(["netns", "del", name]).status();
        let _ = std::fs::remove_dir_all(std::path::Path::new(e2e::netns::WORK_ROOT).join(name));
        eprintln!("removed namespace {name} left by an earlier run");
    }
}

/// Settings for every run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub causeway: PathBuf,
    pub timeout: Duration,
}

/// Figures of one run of one target.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub target: String,
    pub converged: bool,
    /// The headline figure: phase 1's time, or phase 2's (the churn) in scenario 4.
    pub convergence_secs: Option<f64>,
    /// Every phase's time.
    pub phase_secs: Vec<f64>,
    /// When the monitors were complete, relative to t0, per phase (without waiting for the
    /// senders' last byte).
    pub monitor_complete_secs: Vec<f64>,
    /// When the senders' last byte was written, relative to t0, per phase.
    pub senders_done_secs: Vec<f64>,
    pub cpu_secs: f64,
    pub idle_rss_bytes: u64,
    pub peak_rss_bytes: u64,
    pub bytes_per_path: Option<f64>,
    pub processes: usize,
    pub paths: usize,
    pub expected_prefixes: usize,
    /// Of which IPv6 (`--ipv6`).
    pub expected_ipv6: usize,
    /// IPv4 / IPv6 prefixes held by the monitors at the end (reach minus withdraw).
    pub received_ipv4: usize,
    pub received_ipv6: usize,
    pub missing: usize,
    pub unexpected: usize,
    pub malformed_updates: u64,
    pub sessions: usize,
    /// Hold-timer expiries, NOTIFICATIONs, closed sessions: anything that says a session
    /// dropped or a keepalive came too late.
    pub session_problems: Vec<String>,
    /// Longest silence from the target on any session, against the negotiated hold time.
    pub max_silence_secs: f64,
    pub hold_time_secs: u64,
    pub error: Option<String>,
}

impl RunResult {
    fn failed(kind: Kind, plan: &Plan, error: String) -> RunResult {
        RunResult {
            target: kind.name().to_string(),
            converged: false,
            convergence_secs: None,
            phase_secs: Vec::new(),
            monitor_complete_secs: Vec::new(),
            senders_done_secs: Vec::new(),
            cpu_secs: 0.0,
            idle_rss_bytes: 0,
            peak_rss_bytes: 0,
            bytes_per_path: None,
            processes: 0,
            paths: plan.paths,
            expected_prefixes: plan.expected_prefixes,
            expected_ipv6: plan.expected_ipv6,
            received_ipv4: 0,
            received_ipv6: 0,
            missing: plan.expected_prefixes,
            unexpected: 0,
            malformed_updates: 0,
            sessions: plan.sessions(),
            session_problems: Vec::new(),
            max_silence_secs: 0.0,
            hold_time_secs: u64::from(plan.topology.hold_time),
            error: Some(error),
        }
    }
}

/// Runs `plan` against `kind`; every failure is reported in the result, never thrown.
pub fn run(kind: Kind, plan: &Plan, opts: &RunOptions) -> RunResult {
    match run_inner(kind, plan, opts) {
        Ok(r) => r,
        Err(e) => RunResult::failed(kind, plan, format!("{e:#}")),
    }
}

fn run_inner(kind: Kind, plan: &Plan, opts: &RunOptions) -> anyhow::Result<RunResult> {
    // Declared first, dropped last: namespaces outlive the daemon and the sessions in them.
    let snd = Netns::new("causeway bench", "snd");
    let tgt = Netns::new("causeway bench", "tgt");
    let mon = Netns::new("causeway bench", "mon");
    link(
        &tgt,
        "ts",
        (TARGET_SENDER_SIDE, TARGET_SENDER_SIDE6),
        &snd,
        "st",
        plan.senders.iter().map(|s| s.address),
    )?;
    link(
        &tgt,
        "tm",
        (TARGET_MONITOR_SIDE, TARGET_MONITOR_SIDE6),
        &mon,
        "mt",
        plan.monitors.iter().map(|m| m.address),
    )?;

    let target = targets::start(kind, &tgt, &plan.topology, &opts.causeway)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let snd_conn = Arc::new(Connector::new(snd.name())?);
    let mon_conn = Arc::new(Connector::new(mon.name())?);
    let hold = plan.topology.hold_time;
    let deadline = Instant::now() + Duration::from_secs(60 + plan.sessions() as u64 / 10);

    // Monitors first, so the target has somewhere to export before any route arrives.
    let tables: Vec<monitor::Shared> = plan
        .monitors
        .iter()
        .map(|m| Arc::new(Mutex::new(Table::new((*m.expected[0]).clone()))))
        .collect();
    let monitor_sessions = rt.block_on(async {
        let mut handles = Vec::new();
        for (m, table) in plan.monitors.iter().zip(&tables) {
            let conn = mon_conn.clone();
            let table = table.clone();
            let spec = SessionSpec {
                local_as: crate::plan::MONITOR_AS,
                router_id: m.router_id,
                hold_time: hold,
                families: vec![family_of(m.address)],
            };
            let local = SocketAddr::from((m.address, 0));
            let remote = target_addr(m.address, TARGET_MONITOR_SIDE, TARGET_MONITOR_SIDE6);
            handles.push(tokio::spawn(async move {
                crate::session::establish(&conn, local, remote, &spec, deadline, move |body| {
                    table.lock().unwrap_or_else(|p| p.into_inner()).apply(body)
                })
                .await
            }));
        }
        collect(handles).await
    })?;
    let sender_sessions = rt.block_on(async {
        let mut handles = Vec::new();
        for s in &plan.senders {
            let conn = snd_conn.clone();
            let spec = SessionSpec {
                local_as: s.asn,
                router_id: s.router_id,
                hold_time: hold,
                families: vec![family_of(s.address)],
            };
            let local = SocketAddr::from((s.address, 0));
            let remote = target_addr(s.address, TARGET_SENDER_SIDE, TARGET_SENDER_SIDE6);
            handles.push(tokio::spawn(async move {
                crate::session::establish(&conn, local, remote, &spec, deadline, |_| {}).await
            }));
        }
        collect(handles).await
    })?;

    std::thread::sleep(Duration::from_secs(1));
    let pids = procstat::netns_pids(tgt.name());
    let idle = procstat::sample(&pids);
    let before = idle;

    let mut phase_secs = Vec::new();
    let mut monitor_complete_secs = Vec::new();
    let mut senders_done_secs = Vec::new();
    let mut converged = true;
    let senders: Vec<Arc<Established>> = sender_sessions.into_iter().map(Arc::new).collect();
    for phase in 0..plan.phases() {
        if phase > 0 {
            for (m, t) in plan.monitors.iter().zip(&tables) {
                lock(t).set_expected((*m.expected[phase]).clone());
            }
        }
        let sends: Vec<_> = senders
            .iter()
            .zip(&plan.senders)
            .map(|(s, p)| {
                let s = s.clone();
                let stream = p.phases[phase].clone();
                rt.spawn(async move { s.send(stream).await })
            })
            .collect();
        let phase_deadline = Instant::now() + opts.timeout;
        let mut next_progress = Instant::now() + Duration::from_secs(10);
        let done = loop {
            std::thread::sleep(Duration::from_millis(20));
            if interrupted() {
                bail!("interrupted");
            }
            if Instant::now() >= next_progress {
                next_progress += Duration::from_secs(10);
                let missing: usize = tables.iter().map(|t| lock(t).missing()).sum();
                let unexpected: usize = tables.iter().map(|t| lock(t).unexpected()).sum();
                let writing = sends.iter().filter(|h| !h.is_finished()).count();
                eprintln!(
                    "  phase {}: {missing} prefixes still missing at the monitors, {unexpected} unexpected, {writing} senders still writing",
                    phase + 1
                );
            }
            let complete = tables.iter().all(|t| lock(t).is_complete());
            let sent = sends.iter().all(|h| h.is_finished());
            if complete && sent {
                break true;
            }
            if let Some(problem) = dead_session(&monitor_sessions, &senders) {
                bail!("phase {}: {problem}", phase + 1);
            }
            if let Some(status) = target.daemon.exited() {
                bail!(
                    "{} exited during phase {} ({status}):\n{}",
                    kind.name(),
                    phase + 1,
                    e2e::process::tail(&target.daemon.log(), 30)
                );
            }
            if Instant::now() > phase_deadline {
                break false;
            }
        };
        if !done {
            converged = false;
            break;
        }
        let mut first = None::<Instant>;
        let mut last = None::<Instant>;
        for h in sends {
            let sent = rt.block_on(h).context("sender task")?.context("sender")?;
            first = Some(first.map_or(sent.first, |f| f.min(sent.first)));
            last = Some(last.map_or(sent.last, |l| l.max(sent.last)));
        }
        let t0 = first.context("no sender")?;
        let sent_at = last.context("no sender")?;
        let complete_at = tables
            .iter()
            .filter_map(|t| lock(t).complete_at)
            .max()
            .unwrap_or(t0);
        let t1 = complete_at.max(sent_at);
        phase_secs.push((t1 - t0).as_secs_f64());
        monitor_complete_secs.push(complete_at.saturating_duration_since(t0).as_secs_f64());
        senders_done_secs.push((sent_at - t0).as_secs_f64());
    }

    // CPU until the daemon has gone idle, then the final state of every monitor.
    let after = wait_idle(&pids);
    std::thread::sleep(Duration::from_millis(500));
    let mut received_ipv4 = 0;
    let mut received_ipv6 = 0;
    let mut missing = 0;
    let mut unexpected = 0;
    let mut malformed = 0;
    for t in &tables {
        let t = lock(t);
        received_ipv4 += t.held_v4;
        received_ipv6 += t.held_v6;
        missing += t.missing();
        unexpected += t.unexpected();
        malformed += t.malformed;
    }
    let mut problems = target.session_problems();
    let mut max_silence = Duration::ZERO;
    let mut hold_negotiated = Duration::ZERO;
    for (i, s) in monitor_sessions
        .iter()
        .map(|s| s as &Established)
        .chain(senders.iter().map(|s| &**s))
        .enumerate()
    {
        let l = s.liveness.lock().unwrap_or_else(|p| p.into_inner()).clone();
        max_silence = max_silence.max(l.max_silence);
        hold_negotiated = hold_negotiated.max(s.hold_time);
        if let Some(n) = l.notification {
            problems.push(format!("session {i}: NOTIFICATION from the target: {n}"));
        }
        if let Some(c) = l.closed {
            problems.push(format!("session {i}: {c}"));
        }
        if !s.hold_time.is_zero() && l.max_silence > s.hold_time {
            problems.push(format!(
                "session {i}: the target was silent for {:.1} s, over its hold time of {} s",
                l.max_silence.as_secs_f64(),
                s.hold_time.as_secs()
            ));
        }
    }
    problems.truncate(30);
    let peak = procstat::sample(&pids);
    let grown = peak.hwm.saturating_sub(idle.rss);
    let convergence_secs = if converged {
        phase_secs.last().copied()
    } else {
        None
    };
    drop(senders);
    drop(monitor_sessions);
    drop(rt);
    drop(target);
    Ok(RunResult {
        target: kind.name().to_string(),
        converged: converged && missing == 0 && unexpected == 0,
        convergence_secs,
        phase_secs,
        monitor_complete_secs,
        senders_done_secs,
        cpu_secs: after.cpu_secs - before.cpu_secs,
        idle_rss_bytes: idle.rss,
        peak_rss_bytes: peak.hwm,
        bytes_per_path: (plan.paths > 0).then(|| grown as f64 / plan.paths as f64),
        processes: peak.processes,
        paths: plan.paths,
        expected_prefixes: plan.expected_prefixes,
        expected_ipv6: plan.expected_ipv6,
        received_ipv4,
        received_ipv6,
        missing,
        unexpected,
        malformed_updates: malformed,
        sessions: plan.sessions(),
        session_problems: problems,
        max_silence_secs: max_silence.as_secs_f64(),
        hold_time_secs: hold_negotiated.as_secs(),
        error: (!converged).then(|| format!("not converged within {:?}", opts.timeout)),
    })
}

/// The one family a session at `address` carries.
fn family_of(address: IpAddr) -> Family {
    if address.is_ipv6() {
        Family::Ipv6Unicast
    } else {
        Family::Ipv4Unicast
    }
}

/// The target's port 179 on the side and family of a session from `local`.
fn target_addr(local: IpAddr, v4: Ipv4Addr, v6: Ipv6Addr) -> SocketAddr {
    if local.is_ipv6() {
        SocketAddr::from((v6, 179))
    } else {
        SocketAddr::from((v4, 179))
    }
}

async fn collect(
    handles: Vec<tokio::task::JoinHandle<anyhow::Result<Established>>>,
) -> anyhow::Result<Vec<Established>> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.context("session task")??);
    }
    Ok(out)
}

fn dead_session(monitors: &[Established], senders: &[Arc<Established>]) -> Option<String> {
    for (role, s) in monitors
        .iter()
        .map(|s| ("monitor", s))
        .chain(senders.iter().map(|s| ("sender", &**s)))
    {
        let l = s.liveness.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = &l.notification {
            return Some(format!("a {role} session got a NOTIFICATION: {n}"));
        }
        if let Some(c) = &l.closed {
            return Some(format!("a {role} session ended: {c}"));
        }
    }
    None
}

/// Samples CPU every 500 ms until the processes used under 5 % of a core in the interval (or
/// 120 s passed); returns the last sample.
fn wait_idle(pids: &[u32]) -> procstat::Sample {
    let mut last = procstat::sample(pids);
    let end = Instant::now() + Duration::from_secs(120);
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = procstat::sample(pids);
        if now.cpu_secs - last.cpu_secs < 0.025 || Instant::now() > end || interrupted() {
            return now;
        }
        last = now;
    }
}

/// A veth between the target and a peer namespace: `target_addr.0/16` on the target's side
/// (and `target_addr.1/64` when a peer address is IPv6), every address of `peer_addrs` on the
/// peer's (added in one `ip -batch`; IPv6 ones without duplicate address detection).
fn link(
    target: &Netns,
    if_target: &str,
    target_addr: (Ipv4Addr, Ipv6Addr),
    peer: &Netns,
    if_peer: &str,
    peer_addrs: impl Iterator<Item = IpAddr>,
) -> anyhow::Result<()> {
    let addrs: Vec<IpAddr> = peer_addrs.collect();
    let mut mine = vec![format!("{}/16", target_addr.0)];
    if addrs.iter().any(IpAddr::is_ipv6) {
        mine.push(format!("{}/64", target_addr.1));
    }
    let mine: Vec<&str> = mine.iter().map(String::as_str).collect();
    veth(target, if_target, &mine, peer, if_peer, &[]);
    let batch: String = addrs
        .iter()
        .map(|a| match a {
            IpAddr::V4(a) => format!("addr add {a}/16 dev {if_peer}\n"),
            IpAddr::V6(a) => format!("addr add {a}/64 dev {if_peer} nodad\n"),
        })
        .collect();
    let file = peer.dir().join(format!("{if_peer}.batch"));
    std::fs::write(&file, batch)?;
    let out = Command::new("ip")
        .args(["-n", peer.name(), "-batch"])
        .arg(&file)
        .output()?;
    if !out.status.success() {
        bail!(
            "adding addresses in {}: {}",
            peer.name(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Permanent neighbour entries on the target's side: the kernel's neighbour table is
    // shared by all namespaces and holds 1,024 dynamic entries by default (gc_thresh3), which
    // thousands of sessions would exhaust; permanent entries do not count against it.
    let mac = peer
        .output("ip", &["-j", "link", "show", if_peer])
        .map_err(anyhow::Error::msg)?;
    let mac: serde_json::Value = serde_json::from_str(&mac)?;
    let mac = mac[0]["address"]
        .as_str()
        .context("no MAC address on the peer's veth")?
        .to_string();
    let batch: String = addrs
        .iter()
        .map(|a| format!("neigh replace {a} lladdr {mac} dev {if_target} nud permanent\n"))
        .collect();
    let file = target.dir().join(format!("{if_target}.neigh"));
    std::fs::write(&file, batch)?;
    let out = Command::new("ip")
        .args(["-n", target.name(), "-batch"])
        .arg(&file)
        .output()?;
    if !out.status.success() {
        bail!(
            "adding neighbours in {}: {}",
            target.name(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
