//! Packets, not just routes: `causeway lab` builds a whole ExpressRoute topology on a test's
//! own `causeway serve` (an on-premises BIRD router with BFD and ECMP and a host behind it,
//! the circuit over both lab edges, a virtual network behind its gateway with a host), and
//! the tests send real traffic through it while links are cut, drained and edges restarted.
//!
//! Each test runs its own serve (with the gateway host in-process: `ServeFlags::lab`) and its
//! own lab (its name carries the test and the process id), so tests may run in parallel. The
//! lab is taken down on drop (`causeway lab down`, then whatever is left of its
//! namespaces), also when the test fails; the control plane's drop then removes every
//! namespace its edges recorded (circuit, gateway, fabric).
//!
//! Traffic: `ping`; a TCP stream whose ends run in the host's and the VM's namespaces (this
//! test binary re-executed through `ip netns exec` as [`namespace_helper`], since the test
//! crate does not create sockets in namespaces itself); and `causeway lab probe`, UDP from
//! the on-premises host to the VM and back every millisecond on 8 flows, which reports the
//! longest outage any flow saw. Faults are scheduled at fixed points of a probe's run
//! (`at`); every wait for a state is a poll with a deadline.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use e2e::control::{ServeFlags, ip};
use e2e::lab::{
    CausewayLab, ONPREM_HOST, ONPREM_LAN, ONPREM_PRIMARY, ONPREM_SECONDARY, ProbeResult, VNET_HOST,
    VNET_SPACE, next_hops,
};
use e2e::{CONVERGE, Control, ControlOptions, Daemon, require_root, wait_for};
use serde_json::Value;

/// The edges' addresses on the lab's links (the on-premises router's next hops).
const EDGE_PRIMARY: &str = "172.16.0.2";
const EDGE_SECONDARY: &str = "172.16.0.6";
/// The TCP echo port on the VM.
const ECHO_PORT: u16 = 5001;
/// What the TCP test streams through the circuit, over several connections so the flows
/// spread over both links (the routers hash on ports).
const STREAM_BYTES: usize = 8 << 20;
const STREAM_CONNECTIONS: usize = 8;
/// Probes: flows and the interval between one flow's packets.
const FLOWS: u16 = 8;
const INTERVAL_MS: f64 = 1.0;

/// Gate, plus what these tests need beyond the rest of the suite.
fn gate(test: &str) -> bool {
    if !require_root(test) {
        return false;
    }
    let ping = Command::new("ping").arg("-V").stdin(Stdio::null()).output();
    assert!(
        ping.is_ok_and(|o| o.status.success()),
        "{test}: `ping` (iputils-ping) is not installed; run scripts/test, which installs it"
    );
    true
}

/// A lab name unique to this test and process (at most 12 characters).
fn lab_name(tag: &str) -> String {
    format!("{tag}{}", std::process::id() % 100_000)
}

/// Sleeps until `offset` after `start`: the schedule of a fault during a probe, never a
/// wait for a state.
fn at(start: Instant, offset: Duration) {
    if let Some(left) = (start + offset).checked_duration_since(Instant::now()) {
        thread::sleep(left);
    }
}

/// Polls until both customer sessions report BFD Up; the sessions.
fn wait_bfd_up(lab: &CausewayLab) -> [Value; 2] {
    wait_for(CONVERGE, "BFD Up on both customer sessions", || {
        let sessions = lab.customer_sessions()?;
        if sessions.iter().all(|s| s["bfd"] == "Up") {
            Ok(sessions)
        } else {
            Err(format!("{sessions:?}"))
        }
    })
}

/// `ping -c 3` from namespace `ns` to `to`.
fn ping(ns: &str, to: &str) -> Result<String, String> {
    let out = Command::new("ip")
        .args([
            "netns", "exec", ns, "ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", to,
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ping: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!(
            "ping from {ns} to {to} failed ({}):\n{text}",
            out.status
        ))
    }
}

/// The bytes counters of the circuit (`{circuit}/stats`): (in, out) per link.
fn link_bytes(ctl: &Control, lab: &CausewayLab) -> [(u64, u64); 2] {
    let s = ctl.stats(&lab.circuit);
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    [
        (n("primarybytesIn"), n("primarybytesOut")),
        (n("secondarybytesIn"), n("secondarybytesOut")),
    ]
}

/// Prints a probe's measurement for the record and returns its outage.
fn report(what: &str, r: &ProbeResult) -> f64 {
    eprintln!(
        "MEASURED outage_ms={} {what} (lost {} of {}, per flow {:?})",
        r.outage_ms, r.lost, r.sent, r.flow_outage_ms
    );
    r.outage_ms
}

#[test]
fn traffic_flows_both_ways_over_both_links_with_bfd_up() {
    let test = "traffic_flows_both_ways_over_both_links_with_bfd_up";
    if !gate(test) {
        return;
    }
    let ctl = Control::start_with_flags(test, ControlOptions::default(), ServeFlags::lab());
    let lab = CausewayLab::up(&ctl, &lab_name("dpflow"), None);

    ping(&lab.ns("host"), VNET_HOST).unwrap_or_else(|e| panic!("{e}"));
    ping(&lab.ns("vm"), ONPREM_HOST).unwrap_or_else(|e| panic!("{e}"));

    // BFD runs on both customer sessions.
    let sessions = wait_bfd_up(&lab);
    assert_eq!(sessions[0]["neighbor"], ONPREM_PRIMARY, "{sessions:?}");
    assert_eq!(sessions[1]["neighbor"], ONPREM_SECONDARY, "{sessions:?}");

    // Both sides route over both links: ECMP on premises and in the gateway.
    let (mut onprem, gateway) = lab.next_hops().unwrap_or_else(|e| panic!("{e}"));
    onprem.sort();
    assert_eq!(
        onprem,
        [EDGE_PRIMARY, EDGE_SECONDARY],
        "on-premises next hops"
    );
    assert_eq!(
        gateway.len(),
        2,
        "the gateway's next hops toward {ONPREM_LAN}: {gateway:?}"
    );
    assert_ne!(
        gateway[0], gateway[1],
        "the gateway's next hops: {gateway:?}"
    );

    // A TCP stream through the circuit, echoed back: every byte arrives, in order, intact.
    let before = link_bytes(&ctl, &lab);
    let server = spawn_helper(
        &ctl,
        &lab.ns("vm"),
        "tcp echo (vm)",
        &format!("echo 0.0.0.0:{ECHO_PORT}"),
    );
    wait_for(CONVERGE, "the echo server in the VM to listen", || {
        server.assert_running();
        if server.log().contains("LISTENING") {
            Ok(())
        } else {
            Err(server.log())
        }
    });
    let out = run_helper(
        &lab.ns("host"),
        &format!("send {VNET_HOST}:{ECHO_PORT} {STREAM_BYTES} {STREAM_CONNECTIONS}"),
    );
    let result = out
        .lines()
        .find_map(|l| l.split_once("TCP-RESULT ").map(|(_, r)| r.trim()))
        .unwrap_or_else(|| panic!("the TCP client printed no result:\n{out}"));
    assert_eq!(
        result,
        format!("sent={STREAM_BYTES} echoed={STREAM_BYTES}"),
        "TCP client:\n{out}"
    );

    // The circuit's counters saw it: in (from the customer) and out, on both links.
    let after = wait_for(
        CONVERGE,
        "the circuit's counters to count the stream",
        || {
            let now = link_bytes(&ctl, &lab);
            let delta = |f: fn(&(u64, u64)) -> u64| -> u64 {
                now.iter().map(f).sum::<u64>() - before.iter().map(f).sum::<u64>()
            };
            let (din, dout) = (delta(|b| b.0), delta(|b| b.1));
            let all_links = now.iter().all(|(i, o)| *i > 0 && *o > 0);
            if all_links && din >= STREAM_BYTES as u64 && dout >= STREAM_BYTES as u64 {
                Ok(now)
            } else {
                Err(format!(
                    "before {before:?}, now {now:?} (+{din} in, +{dout} out)"
                ))
            }
        },
    );
    eprintln!("circuit bytes (in, out) primary, secondary: before {before:?}, after {after:?}");
}

/// Cuts the primary link 1.5 s into a 6 s probe, with BFD at `bfd_ms` × 3 on both sides;
/// asserts the longest outage stays under `limit_ms`, then heals the link.
fn cut_under_traffic(test: &str, tag: &str, bfd_ms: u32, limit_ms: f64) {
    let flags = match bfd_ms {
        300 => ServeFlags::lab(),
        ms => ServeFlags::lab().bfd_interval_ms(ms),
    };
    let ctl = Control::start_with_flags(test, ControlOptions::default(), flags);
    let lab = CausewayLab::up(&ctl, &lab_name(tag), (bfd_ms != 300).then_some(bfd_ms));
    // Before the cut BFD must be up, or the hold timer would be what notices.
    wait_bfd_up(&lab);

    let probe = lab.spawn_probe(6.0, FLOWS, INTERVAL_MS);
    let start = Instant::now();
    at(start, Duration::from_millis(1500));
    lab.fail("primary");
    let cut_at = start.elapsed();
    let r = probe.finish();
    let outage = report(&format!("bfd={bfd_ms}x3"), &r);
    assert!(
        cut_at < Duration::from_secs(4),
        "the cut came {cut_at:?} into a 6 s probe: too late to measure recovery"
    );
    assert!(
        outage > 0.0,
        "no flow lost a packet: the cut {cut_at:?} into the probe went unseen ({r:?})"
    );
    assert!(
        outage < limit_ms,
        "cutting the primary link with BFD at {bfd_ms} ms x 3 cost {outage} ms (limit \
         {limit_ms} ms): {r:?}"
    );
    // Both sides route over the secondary link only, until the link is healed.
    let (onprem, _) = lab.wait_next_hops(1, CONVERGE);
    assert_eq!(
        onprem,
        [EDGE_SECONDARY],
        "on-premises next hop after the cut"
    );
    lab.restore("primary");
    lab.wait_whole(CONVERGE);
}

#[test]
fn cutting_a_link_at_300ms_bfd_costs_under_a_second() {
    let test = "cutting_a_link_at_300ms_bfd_costs_under_a_second";
    if !gate(test) {
        return;
    }
    // Detection takes 900 ms; the limit leaves room for a busy machine.
    cut_under_traffic(test, "dpc300-", 300, 1500.0);
}

#[test]
fn cutting_a_link_at_50ms_bfd_costs_under_200ms() {
    let test = "cutting_a_link_at_50ms_bfd_costs_under_200ms";
    if !gate(test) {
        return;
    }
    // Detection takes 150 ms; the limit leaves room for a busy machine.
    cut_under_traffic(test, "dpc50-", 50, 400.0);
}

#[test]
fn a_drained_link_can_be_cut_without_losing_a_packet() {
    let test = "a_drained_link_can_be_cut_without_losing_a_packet";
    if !gate(test) {
        return;
    }
    let ctl = Control::start_with_flags(test, ControlOptions::default(), ServeFlags::lab());
    let lab = CausewayLab::up(&ctl, &lab_name("dpdrain"), None);
    wait_bfd_up(&lab);

    // Drained: both sides move everything to the secondary link.
    lab.drain("primary", 3);
    let (onprem, gateway) = lab.wait_next_hops(1, CONVERGE);
    assert_eq!(
        onprem,
        [EDGE_SECONDARY],
        "on-premises next hop when drained"
    );
    let secondary_fabric = fabric_address(&lab.edge_ns(ctl.secondary_edge()));
    assert_eq!(
        gateway,
        [secondary_fabric],
        "the gateway's next hop when drained (the secondary edge's fabric address)"
    );

    // Now the drained link can go: nobody notices.
    let probe = lab.spawn_probe(4.0, FLOWS, INTERVAL_MS);
    let start = Instant::now();
    at(start, Duration::from_secs(2));
    lab.fail("primary");
    let r = probe.finish();
    report("bfd=300x3 drained", &r);
    assert_eq!(r.lost, 0, "cutting a drained link lost packets: {r:?}");
    // The cut did happen: the primary session is gone.
    wait_for(
        CONVERGE,
        "the primary session to go down after the cut",
        || match lab.customer_sessions() {
            Err(e) if e.contains("primary") => Ok(()),
            Err(e) => Err(e),
            Ok(s) => Err(format!("still Established: {s:?}")),
        },
    );

    lab.restore("primary");
    lab.drain("primary", 0);
    lab.wait_whole(CONVERGE);
}

#[test]
fn restarting_an_edge_under_traffic_leaves_the_other_link_carrying_everything() {
    let test = "restarting_an_edge_under_traffic_leaves_the_other_link_carrying_everything";
    if !gate(test) {
        return;
    }
    // lab-edge-1 runs as its own process; serve runs the other edge and the gateway host.
    let ctl = Control::start_with_flags(
        test,
        ControlOptions::default(),
        ServeFlags::lab().local_edges(&["lab-edge-2", "lab-gateway"]),
    );
    let edge = ctl.primary_edge().to_string();
    let token = ctl.edge_token(&edge);
    let mut remote = ctl.start_edge(&edge, &token);
    let lab = CausewayLab::up(&ctl, &lab_name("dpedge"), None);
    wait_bfd_up(&lab);
    let edge_ns = lab.edge_ns(&edge);

    let probe = lab.spawn_probe(12.0, FLOWS, INTERVAL_MS);
    let start = Instant::now();
    at(start, Duration::from_secs(2));
    remote.signal("KILL");
    let killed_at = start.elapsed();
    wait_for(Duration::from_secs(5), "the killed edge to exit", || {
        remote.exited().ok_or_else(|| "still running".to_string())
    });
    // The dead edge's forwarding state stays in the kernel: its circuit namespace still
    // routes the on-premises LAN.
    let fib = ip(&["-n", &edge_ns, "route", "show", ONPREM_LAN, "proto", "186"])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !fib.trim().is_empty(),
        "{edge_ns} lost its route to {ONPREM_LAN} when the edge process died"
    );
    // Both sides stop using the primary link well before the edge comes back: BIRD as its
    // session closes (or BFD notices), the gateway as its session with the dead edge
    // closes. The gateway is asserted at the end, so the restart is exercised either way.
    let onprem = wait_for(
        Duration::from_millis(2500),
        "the on-premises router to route over the secondary link only",
        || match next_hops(&lab.ns("onprem"), VNET_SPACE)? {
            hops if hops.len() == 1 => Ok(hops),
            hops => Err(format!("{hops:?}")),
        },
    );
    assert_eq!(
        onprem,
        [EDGE_SECONDARY],
        "on-premises next hop with the edge dead"
    );
    let secondary_fabric = fabric_address(&lab.edge_ns(ctl.secondary_edge()));
    let gateway_dead_edge = poll(Duration::from_millis(2500), || {
        match next_hops(&lab.gateway_ns, ONPREM_LAN)? {
            hops if hops == [secondary_fabric.as_str()] => Ok(()),
            hops => Err(format!("{hops:?}")),
        }
    });

    at(start, Duration::from_secs(5));
    remote = ctl.start_edge(&edge, &token);
    let restarted_at = start.elapsed();
    let r = probe.finish();
    let outage = report(
        &format!("bfd=300x3 edge kill -9 at {killed_at:?}, restart at {restarted_at:?}"),
        &r,
    );
    assert!(
        outage < 1500.0,
        "killing and restarting {edge} under traffic cost {outage} ms: {r:?}"
    );

    // The edge rejoined: its session is up and both sides use both links again; then
    // traffic loses nothing.
    lab.wait_whole(CONVERGE);
    remote.assert_running();
    let r = lab.probe(3.0, FLOWS, INTERVAL_MS);
    report("bfd=300x3 after the edge rejoined", &r);
    assert_eq!(
        r.lost, 0,
        "traffic lost packets after {edge} rejoined: {r:?}"
    );

    if let Err(hops) = gateway_dead_edge {
        panic!(
            "2.5 s after {edge} was killed (its BGP session with the gateway closed at once), \
             the gateway still routed {ONPREM_LAN} over it: next hops {hops}, expected only \
             the secondary edge's {secondary_fabric}"
        );
    }
}

/// Polls `probe` every 100 ms until it is `Ok` or `timeout` passes; the last observation
/// on timeout. For a condition the test asserts later, after exercising more.
fn poll(timeout: Duration, mut probe: impl FnMut() -> Result<(), String>) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match probe() {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            return Err(last);
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// The address of the fabric link in an edge's circuit namespace (its next hop as the
/// gateway sees it): the IPv4 address of its `vn*` interface.
fn fabric_address(ns: &str) -> String {
    let out = ip(&["-n", ns, "-j", "-4", "addr", "show"]).unwrap_or_else(|e| panic!("{e}"));
    let links: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
    links
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["ifname"].as_str().is_some_and(|n| n.starts_with("vn")))
        .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
        .find_map(|a| a["local"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no fabric address in {ns}: {out}"))
}

// ===== sockets inside namespaces =====

/// Set (to a command) only in this binary re-executed inside a namespace.
const HELPER_ENV: &str = "CAUSEWAY_E2E_NAMESPACE_HELPER";
const HELPER_TEST: &str = "namespace_helper";

/// Not a test: this binary, re-executed inside a namespace with `CAUSEWAY_E2E_NAMESPACE_HELPER`
/// set, runs one end of a TCP stream there. Without the variable it does nothing.
///
/// - `echo ADDR`: listens on ADDR, prints `LISTENING`, echoes every connection until EOF.
/// - `send ADDR BYTES CONNECTIONS`: streams BYTES (split over CONNECTIONS) to ADDR, reads the
///   echo back and checks every byte; prints `TCP-RESULT sent=N echoed=M`.
#[test]
fn namespace_helper() {
    let Ok(command) = std::env::var(HELPER_ENV) else {
        return;
    };
    let words: Vec<&str> = command.split_whitespace().collect();
    match words.as_slice() {
        ["echo", addr] => echo_server(addr.parse().expect("a socket address")),
        ["send", addr, bytes, conns] => {
            let (sent, echoed) = send_and_check(
                addr.parse().expect("a socket address"),
                bytes.parse().expect("a byte count"),
                conns.parse().expect("a connection count"),
            );
            println!("TCP-RESULT sent={sent} echoed={echoed}");
        }
        _ => panic!("{HELPER_ENV}: unknown command {command:?}"),
    }
}

/// `ip netns exec NS <this test binary> namespace_helper` with `command`.
fn helper_args(ns: &str) -> Vec<String> {
    let exe: PathBuf = std::env::current_exe().expect("the test binary's path");
    [
        "netns",
        "exec",
        ns,
        exe.to_str().expect("a UTF-8 path"),
        HELPER_TEST,
        "--exact",
        "--nocapture",
        "--test-threads",
        "1",
    ]
    .map(String::from)
    .to_vec()
}

/// Starts the helper as a daemon (killed on drop) inside `ns`.
fn spawn_helper(ctl: &Control, ns: &str, label: &str, command: &str) -> Daemon {
    let args = helper_args(ns);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let log = ctl
        .data_dir()
        .join(format!("{}.log", label.replace([' ', '(', ')'], "-")));
    Daemon::spawn_host(label, &log, "ip", &args, &[(HELPER_ENV, command)])
}

/// Runs the helper inside `ns` to its end; its output. Every socket operation in it has a
/// timeout, so it cannot hang.
fn run_helper(ns: &str, command: &str) -> String {
    let out = Command::new("ip")
        .args(helper_args(ns))
        .env(HELPER_ENV, command)
        .stdin(Stdio::null())
        .output()
        .expect("run the namespace helper");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "helper `{command}` in {ns} failed ({}):\n{text}",
        out.status
    );
    text
}

fn echo_server(addr: SocketAddr) {
    let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    println!("LISTENING {addr}");
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        thread::spawn(move || {
            let Ok(mut reader) = stream.try_clone() else {
                return;
            };
            let _ = std::io::copy(&mut reader, &mut stream);
            let _ = stream.shutdown(Shutdown::Write);
        });
    }
}

/// The byte at `offset` of connection `conn`'s stream.
fn pattern(conn: usize, offset: usize) -> u8 {
    ((offset % 251) as u8) ^ (conn as u8).wrapping_mul(37)
}

/// Streams `bytes` to `addr` over `conns` connections and checks the echo; (sent, echoed
/// intact). Panics on any mismatch or socket error.
fn send_and_check(addr: SocketAddr, bytes: usize, conns: usize) -> (usize, usize) {
    const TIMEOUT: Duration = Duration::from_secs(20);
    let per = bytes / conns;
    let workers: Vec<_> = (0..conns)
        .map(|conn| {
            thread::spawn(move || {
                let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
                    .unwrap_or_else(|e| panic!("connection {conn}: connect {addr}: {e}"));
                stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
                stream.set_write_timeout(Some(TIMEOUT)).expect("timeout");
                let mut writer = stream.try_clone().expect("clone the stream");
                let sender = thread::spawn(move || {
                    let mut chunk = vec![0u8; 64 << 10];
                    let mut sent = 0;
                    while sent < per {
                        let n = chunk.len().min(per - sent);
                        for (i, b) in chunk[..n].iter_mut().enumerate() {
                            *b = pattern(conn, sent + i);
                        }
                        writer
                            .write_all(&chunk[..n])
                            .unwrap_or_else(|e| panic!("connection {conn}: write at {sent}: {e}"));
                        sent += n;
                    }
                    writer.shutdown(Shutdown::Write).expect("shutdown");
                    sent
                });
                let mut reader = stream;
                let mut buf = vec![0u8; 64 << 10];
                let mut echoed = 0;
                loop {
                    let n = reader
                        .read(&mut buf)
                        .unwrap_or_else(|e| panic!("connection {conn}: read at {echoed}: {e}"));
                    if n == 0 {
                        break;
                    }
                    for (i, b) in buf[..n].iter().enumerate() {
                        assert_eq!(
                            *b,
                            pattern(conn, echoed + i),
                            "connection {conn}: byte {} differs",
                            echoed + i
                        );
                    }
                    echoed += n;
                }
                let sent = sender.join().expect("the sender");
                (sent, echoed)
            })
        })
        .collect();
    workers
        .into_iter()
        .map(|w| w.join().expect("a connection"))
        .fold((0, 0), |(s, e), (s1, e1)| (s + s1, e + e1))
}
