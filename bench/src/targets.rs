//! The daemons under test, each configured for the same semantics: eBGP sessions that the
//! harness opens (the target is passive), accept everything, export everything, next-hop-self
//! toward the monitor, no other policy, no kernel FIB.
//!
//! Configs are written the way tests/e2e drives these daemons (same binaries, same start-up
//! flags), adapted for load: logging at info level rather than debug, per-session timers from
//! `--hold-time`, FRR's MRAI at 0, GoBGP and OpenBGPD without debug output.
//!
//! One routing table per domain: Causeway gets one `[[domain]]` each, BIRD one `ipv4 table`
//! each (its channels point at it). FRR without zebra, GoBGP and OpenBGPD on Linux have no
//! comparable per-circuit table, so a topology with more than one domain is refused for them.
//!
//! IPv6 (`--ipv6`) rides on sessions of its own: every sender and monitor with IPv6 routes
//! gets a second peer at an IPv6 address, configured for IPv6 unicast only (MP-BGP, RFC
//! 4760), next to its IPv4-only session — the same semantics on every target, with the
//! IPv6 next hop being the session's own address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::bail;
use e2e::{Daemon, Netns};

/// Every target, in report order.
pub const ALL: [Kind; 5] = [
    Kind::Causeway,
    Kind::Bird,
    Kind::Frr,
    Kind::Gobgp,
    Kind::Openbgpd,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Causeway,
    Bird,
    Frr,
    Gobgp,
    Openbgpd,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Causeway => "causeway",
            Kind::Bird => "bird",
            Kind::Frr => "frr",
            Kind::Gobgp => "gobgp",
            Kind::Openbgpd => "openbgpd",
        }
    }

    pub fn parse(s: &str) -> anyhow::Result<Kind> {
        ALL.into_iter()
            .find(|k| k.name() == s.trim())
            .ok_or_else(|| {
                anyhow::anyhow!("unknown target {s:?} (causeway, bird, frr, gobgp, openbgpd)")
            })
    }

    /// Whether the target can keep one routing table per domain.
    pub fn multi_domain(self) -> bool {
        matches!(self, Kind::Causeway | Kind::Bird)
    }

    /// The version line the daemon prints about itself.
    pub fn version(self, causeway: &Path) -> String {
        let (prog, args): (String, &[&str]) = match self {
            Kind::Causeway => (causeway.display().to_string(), &["--version"]),
            Kind::Bird => ("bird".into(), &["--version"]),
            Kind::Frr => (FRR_BGPD.into(), &["--version"]),
            Kind::Gobgp => ("gobgpd".into(), &["--version"]),
            Kind::Openbgpd => ("/usr/sbin/bgpd".into(), &["-V"]),
        };
        match Command::new(&prog).args(args).output() {
            Ok(o) => {
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
                text.lines().next().unwrap_or("").trim().to_string()
            }
            Err(e) => format!("unavailable ({prog}: {e})"),
        }
    }
}

const FRR_BGPD: &str = "/usr/lib/frr/bgpd";

// ===== topology =====

/// What every target is configured with.
#[derive(Debug, Clone)]
pub struct Topology {
    pub target_as: u32,
    /// The target's address toward the senders (also its router id).
    pub sender_side: Ipv4Addr,
    /// The target's address toward the monitors.
    pub monitor_side: Ipv4Addr,
    /// The target's IPv6 addresses toward the senders and the monitors (used by IPv6 peers).
    pub sender_side6: Ipv6Addr,
    pub monitor_side6: Ipv6Addr,
    pub hold_time: u16,
    pub domains: Vec<Domain>,
}

#[derive(Debug, Clone)]
pub struct Domain {
    pub name: String,
    pub peers: Vec<Peer>,
}

#[derive(Debug, Clone)]
pub struct Peer {
    pub name: String,
    /// An IPv6 address makes an IPv6-unicast-only session; an IPv4 one, IPv4 unicast only.
    pub address: IpAddr,
    pub asn: u32,
    /// A monitor (next-hop-self applies toward it) rather than a sender.
    pub monitor: bool,
}

impl Peer {
    fn v6(&self) -> bool {
        self.address.is_ipv6()
    }
}

impl Topology {
    fn local(&self, p: &Peer) -> IpAddr {
        match (p.monitor, p.v6()) {
            (true, false) => self.monitor_side.into(),
            (false, false) => self.sender_side.into(),
            (true, true) => self.monitor_side6.into(),
            (false, true) => self.sender_side6.into(),
        }
    }

    fn has_v6(&self) -> bool {
        self.peers().any(Peer::v6)
    }

    fn peers(&self) -> impl Iterator<Item = &Peer> {
        self.domains.iter().flat_map(|d| d.peers.iter())
    }
}

// ===== running target =====

/// A target daemon running in its namespace.
#[derive(Debug)]
pub struct Running {
    pub kind: Kind,
    pub daemon: Daemon,
    ns: String,
}

/// Where the edge's status endpoint listens inside the target namespace.
const EDGE_STATUS: &str = "127.0.0.1:8179";

/// Writes the config, starts the daemon in `ns` and waits until it listens on port 179.
pub fn start(kind: Kind, ns: &Netns, topo: &Topology, causeway: &Path) -> anyhow::Result<Running> {
    if topo.domains.len() > 1 && !kind.multi_domain() {
        bail!(
            "{} has no per-circuit routing table comparable to a Causeway domain here",
            kind.name()
        );
    }
    let dir = ns.dir();
    let log = dir.join(format!("{}.log", kind.name()));
    let daemon = match kind {
        Kind::Causeway => {
            let conf = write(dir, "edge.toml", &causeway_config(topo))?;
            Daemon::spawn(
                ns,
                "causeway",
                &log,
                &causeway.to_string_lossy(),
                &["edge", "--config", &conf],
                &[("RUST_LOG", "info"), ("NO_COLOR", "1")],
            )
        }
        Kind::Bird => {
            let conf = write(dir, "bird.conf", &bird_config(topo))?;
            let sock = dir.join("bird.ctl").display().to_string();
            let pid = dir.join("bird.pid").display().to_string();
            Daemon::spawn(
                ns,
                "bird",
                &log,
                "bird",
                &["-f", "-c", &conf, "-s", &sock, "-P", &pid],
                &[],
            )
        }
        Kind::Frr => {
            let vty = dir.join("frr");
            std::fs::create_dir_all(&vty)?;
            let conf = write(&vty, "bgpd.conf", &frr_config(topo))?;
            let p = |f: &str| vty.join(f).display().to_string();
            Daemon::spawn(
                ns,
                "frr",
                &log,
                FRR_BGPD,
                &[
                    "-f",
                    &conf,
                    "-i",
                    &p("bgpd.pid"),
                    "-z",
                    &p("zserv.api"),
                    "--vty_socket",
                    &vty.display().to_string(),
                    "-Z",
                    "-n",
                    "-S",
                    "-u",
                    "root",
                    "-g",
                    "root",
                ],
                &[],
            )
        }
        Kind::Gobgp => {
            let conf = write(dir, "gobgpd.toml", &gobgp_config(topo))?;
            Daemon::spawn(
                ns,
                "gobgp",
                &log,
                "gobgpd",
                &[
                    "-f",
                    &conf,
                    "-t",
                    "toml",
                    "--api-hosts",
                    "127.0.0.1:50051",
                    "--pprof-disable",
                    "--log-plain",
                    "--log-level",
                    "info",
                ],
                &[],
            )
        }
        Kind::Openbgpd => {
            std::fs::create_dir_all("/run/openbgpd")?;
            let sock = dir.join("bgpd.sock").display().to_string();
            let conf = write(dir, "bgpd.conf", &openbgpd_config(topo, &sock))?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600))?;
            Daemon::spawn(
                ns,
                "openbgpd",
                &log,
                "/usr/sbin/bgpd",
                &["-d", "-f", &conf],
                &[],
            )
        }
    };
    let running = Running {
        kind,
        daemon,
        ns: ns.name().to_string(),
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = running.daemon.exited() {
            bail!(
                "{} exited at start-up ({status}):\n{}",
                kind.name(),
                e2e::process::tail(&running.daemon.log(), 40)
            );
        }
        let listening = Command::new("ip")
            .args(["netns", "exec", &running.ns, "ss", "-Htln", "sport = :179"])
            .output()
            .is_ok_and(|o| !o.stdout.is_empty());
        if listening {
            break;
        }
        if std::time::Instant::now() > deadline {
            bail!("{} does not listen on port 179 after 60 s", kind.name());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(running)
}

impl Running {
    /// Evidence of an expired hold timer or a dropped session on the target's side: its log
    /// and, for Causeway, the status endpoint's `last_error` per peer.
    pub fn session_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for line in self.daemon.log().lines() {
            let l = line.to_ascii_lowercase();
            if l.contains("hold timer expired")
                || l.contains("hold time expired")
                || l.contains("holdtimer expired")
                || l.contains("hold_timer_expired")
            {
                out.push(format!("log: {}", line.trim()));
            }
        }
        if self.kind == Kind::Causeway
            && let Ok(o) = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &self.ns,
                    "curl",
                    "-sS",
                    "-f",
                    "--max-time",
                    "20",
                    &format!("http://{EDGE_STATUS}/status"),
                ])
                .output()
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&o.stdout)
        {
            for d in v["domains"].as_array().into_iter().flatten() {
                for p in d["peers"].as_array().into_iter().flatten() {
                    let state = p["state"].as_str().unwrap_or("");
                    if state != "Established" || !p["last_error"].is_null() {
                        out.push(format!(
                            "status: {}/{} {state} last_error={}",
                            d["name"].as_str().unwrap_or(""),
                            p["name"].as_str().unwrap_or(""),
                            p["last_error"]
                        ));
                    }
                }
            }
        }
        out.truncate(20);
        out
    }
}

fn write(dir: &Path, name: &str, text: &str) -> anyhow::Result<String> {
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, text)?;
    Ok(path.display().to_string())
}

// ===== configs =====

pub fn causeway_config(t: &Topology) -> String {
    let mut c = format!(
        "local_as = {}\nrouter_id = \"{}\"\nlisten_port = 179\nstatus_listen = \"{EDGE_STATUS}\"\n",
        t.target_as, t.sender_side
    );
    for d in &t.domains {
        c.push_str(&format!("\n[[domain]]\nname = \"{}\"\n", d.name));
        for p in &d.peers {
            c.push_str(&format!(
                "\n[[domain.peer]]\nname = \"{}\"\naddress = \"{}\"\nlocal_address = \"{}\"\n\
                 remote_as = {}\npassive = true\nhold_time = {}\nfamilies = [\"{}\"]\n",
                p.name,
                p.address,
                t.local(p),
                p.asn,
                t.hold_time,
                if p.v6() { "ipv6" } else { "ipv4" }
            ));
        }
    }
    c
}

pub fn bird_config(t: &Topology) -> String {
    let mut c = format!(
        "log stderr {{ info, remote, warning, error, auth, fatal, bug }};\nrouter id {};\nprotocol device {{}}\n",
        t.sender_side
    );
    let tables = t.domains.len() > 1;
    for (i, d) in t.domains.iter().enumerate() {
        if tables {
            c.push_str(&format!("ipv4 table t{i};\n"));
            if d.peers.iter().any(Peer::v6) {
                c.push_str(&format!("ipv6 table t{i}_6;\n"));
            }
        }
        for (j, p) in d.peers.iter().enumerate() {
            c.push_str(&format!(
                "protocol bgp p{i}_{j} {{\n  local {} as {};\n  neighbor {} as {};\n  passive on;\n  hold time {};\n",
                t.local(p),
                t.target_as,
                p.address,
                p.asn,
                t.hold_time
            ));
            let (channel, table) = if p.v6() {
                ("ipv6", format!("t{i}_6"))
            } else {
                ("ipv4", format!("t{i}"))
            };
            c.push_str(&format!("  {channel} {{\n"));
            if tables {
                c.push_str(&format!("    table {table};\n"));
            }
            c.push_str("    import all;\n    export all;\n");
            if p.monitor {
                c.push_str("    next hop self;\n");
            }
            c.push_str("  };\n}\n");
        }
    }
    c
}

pub fn frr_config(t: &Topology) -> String {
    let mut c =
        String::from("frr defaults traditional\nhostname bench\nlog stdout informational\n!\n");
    c.push_str(&format!(
        "router bgp {}\n bgp router-id {}\n no bgp ebgp-requires-policy\n no bgp network import-check\n",
        t.target_as, t.sender_side
    ));
    let keepalive = (t.hold_time / 3).max(1);
    for p in t.peers() {
        let a = p.address;
        c.push_str(&format!(
            " neighbor {a} remote-as {}\n neighbor {a} update-source {}\n neighbor {a} passive\n \
             neighbor {a} timers {keepalive} {}\n neighbor {a} disable-connected-check\n \
             neighbor {a} advertisement-interval 0\n",
            p.asn,
            t.local(p),
            t.hold_time
        ));
    }
    let families: &[(&str, bool)] = if t.has_v6() {
        &[("ipv4", false), ("ipv6", true)]
    } else {
        &[("ipv4", false)]
    };
    for (afi, v6) in families {
        c.push_str(&format!(" address-family {afi} unicast\n"));
        for p in t.peers() {
            if p.v6() != *v6 {
                // `bgp default ipv4-unicast` activates every neighbour for IPv4.
                if !v6 {
                    c.push_str(&format!("  no neighbor {} activate\n", p.address));
                }
                continue;
            }
            c.push_str(&format!("  neighbor {} activate\n", p.address));
            if p.monitor {
                c.push_str(&format!("  neighbor {} next-hop-self\n", p.address));
            }
        }
        c.push_str(" exit-address-family\n");
    }
    c.push_str("!\n");
    c
}

pub fn gobgp_config(t: &Topology) -> String {
    let mut c = format!(
        "[global.config]\n  as = {}\n  router-id = \"{}\"\n  port = 179\n",
        t.target_as, t.sender_side
    );
    for p in t.peers() {
        c.push_str(&format!(
            "\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{}\"\n    peer-as = {}\n\
             \x20 [neighbors.timers.config]\n    hold-time = {}\n    keepalive-interval = {}\n\
             \x20 [neighbors.transport.config]\n    local-address = \"{}\"\n    passive-mode = true\n\
             \x20 [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"{}-unicast\"\n",
            p.address,
            p.asn,
            t.hold_time,
            (t.hold_time / 3).max(1),
            t.local(p),
            if p.v6() { "ipv6" } else { "ipv4" }
        ));
    }
    c
}

pub fn openbgpd_config(t: &Topology, socket: &str) -> String {
    let mut c = format!(
        "AS {}\nrouter-id {}\nsocket \"{socket}\"\nfib-update no\nlisten on {}\nlisten on {}\n",
        t.target_as, t.sender_side, t.sender_side, t.monitor_side
    );
    if t.has_v6() {
        c.push_str(&format!(
            "listen on {}\nlisten on {}\n",
            t.sender_side6, t.monitor_side6
        ));
    }
    for p in t.peers() {
        c.push_str(&format!(
            "neighbor {} {{\n  remote-as {}\n  local-address {}\n  passive\n  holdtime {}\n",
            p.address,
            p.asn,
            t.local(p),
            t.hold_time
        ));
        if p.v6() {
            c.push_str("  announce IPv4 none\n  announce IPv6 unicast\n");
        }
        if p.monitor {
            c.push_str("  set nexthop self\n");
        }
        c.push_str("}\n");
    }
    c.push_str("allow from any\nallow to any\n");
    c
}
