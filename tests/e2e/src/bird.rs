//! BIRD 2 (Debian `bird2`): a config writer, the daemon, and `birdc` output parsing.
//!
//! One `protocol bgp` per session. A session between IPv4 addresses carries the ipv4
//! channel, one between IPv6 addresses the ipv6 channel. Announced prefixes are static
//! blackhole routes (`protocol static s4`/`s6`) exported to every session; changing them
//! rewrites the config and runs `birdc configure`, as an operator would.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::netns::Netns;
use crate::process::Daemon;
use crate::wait::wait_for;
use crate::{CONVERGE, SeenRoute};

/// One BGP session from BIRD's side.
#[derive(Debug, Clone)]
pub struct BirdSession {
    /// The protocol name (letters, digits, underscores).
    pub name: String,
    pub local: IpAddr,
    pub neighbor: IpAddr,
    pub neighbor_as: u32,
    /// TCP MD5 key (RFC 2385).
    pub password: Option<String>,
    /// Seconds; keepalives go every third of it.
    pub hold_time: u16,
    /// Run BFD (300 ms × 3) toward the neighbor and tie the session to it.
    pub bfd: bool,
}

impl BirdSession {
    /// A session with a 9 s hold time and fast retries, so tests converge quickly.
    pub fn new(
        name: &str,
        local: impl Into<IpAddr>,
        neighbor: impl Into<IpAddr>,
        neighbor_as: u32,
    ) -> Self {
        BirdSession {
            name: name.to_string(),
            local: local.into(),
            neighbor: neighbor.into(),
            neighbor_as,
            password: None,
            hold_time: 9,
            bfd: false,
        }
    }

    pub fn password(mut self, key: &str) -> Self {
        self.password = Some(key.to_string());
        self
    }

    pub fn hold_time(mut self, secs: u16) -> Self {
        self.hold_time = secs;
        self
    }

    pub fn bfd(mut self) -> Self {
        self.bfd = true;
        self
    }
}

/// What a BIRD instance is configured with.
#[derive(Debug, Clone)]
pub struct BirdSpec {
    pub asn: u32,
    pub router_id: Ipv4Addr,
    pub sessions: Vec<BirdSession>,
    /// Prefixes announced to every session of the matching family.
    pub announce: Vec<String>,
    /// When set, every BGP message BIRD sends or receives is written to this file in MRT
    /// format (BGP4MP), raw bytes as on the wire: how a test sees attribute flags that
    /// `birdc` does not print.
    pub mrtdump: Option<PathBuf>,
}

impl BirdSpec {
    pub fn new(asn: u32, router_id: Ipv4Addr) -> Self {
        BirdSpec {
            asn,
            router_id,
            sessions: Vec::new(),
            announce: Vec::new(),
            mrtdump: None,
        }
    }

    pub fn session(mut self, s: BirdSession) -> Self {
        self.sessions.push(s);
        self
    }

    pub fn sessions(mut self, s: impl IntoIterator<Item = BirdSession>) -> Self {
        self.sessions.extend(s);
        self
    }

    pub fn announce(mut self, prefixes: &[&str]) -> Self {
        self.announce = prefixes.iter().map(|p| p.to_string()).collect();
        self
    }

    pub fn mrtdump(mut self, file: impl Into<PathBuf>) -> Self {
        self.mrtdump = Some(file.into());
        self
    }

    /// The bird.conf text.
    pub fn render(&self) -> String {
        let mut c = String::new();
        c.push_str("log stderr all;\n");
        c.push_str(&format!("router id {};\n", self.router_id));
        c.push_str("debug protocols { states, events };\n");
        if let Some(file) = &self.mrtdump {
            c.push_str(&format!(
                "mrtdump \"{}\";\nmrtdump protocols {{ messages }};\n",
                file.display()
            ));
        }
        c.push_str("protocol device {}\n");
        if self.sessions.iter().any(|s| s.bfd) {
            c.push_str(
                "protocol bfd {\n  interface \"*\" {\n    min rx interval 300 ms;\n    min tx interval 300 ms;\n    multiplier 3;\n  };\n}\n",
            );
        }
        for (name, v6) in [("s4", false), ("s6", true)] {
            c.push_str(&format!(
                "protocol static {name} {{\n  {};\n",
                if v6 { "ipv6" } else { "ipv4" }
            ));
            for p in self.announce.iter().filter(|p| p.contains(':') == v6) {
                c.push_str(&format!("  route {p} blackhole;\n"));
            }
            c.push_str("}\n");
        }
        for s in &self.sessions {
            let channel = if s.neighbor.is_ipv6() { "ipv6" } else { "ipv4" };
            c.push_str(&format!("protocol bgp {} {{\n", s.name));
            c.push_str(&format!("  local {} as {};\n", s.local, self.asn));
            c.push_str(&format!(
                "  neighbor {} as {};\n",
                s.neighbor, s.neighbor_as
            ));
            c.push_str(&format!("  hold time {};\n", s.hold_time));
            c.push_str(
                "  connect delay time 1;\n  connect retry time 1;\n  error wait time 1, 2;\n",
            );
            if let Some(key) = &s.password {
                c.push_str(&format!("  password \"{key}\";\n"));
            }
            if s.bfd {
                c.push_str("  bfd on;\n");
            }
            c.push_str(&format!("  {channel} {{ import all; export all; }};\n}}\n"));
        }
        c
    }
}

/// BGP state of one `protocol bgp` as `birdc show protocols all NAME` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BirdProtocol {
    /// "Established", "Active", "Connect", "Idle", "OpenSent", ...
    pub bgp_state: String,
    /// When the protocol last changed state (`Since` column); unchanged while a session
    /// stays up.
    pub since: String,
    /// The `Info` column: the state, then the last error (e.g. "Received: Maximum number of
    /// prefixes reached").
    pub info: String,
}

/// A running BIRD.
#[derive(Debug)]
pub struct Bird {
    label: String,
    spec: BirdSpec,
    conf: PathBuf,
    socket: PathBuf,
    daemon: Daemon,
}

impl Bird {
    /// Writes the config into `ns`'s work directory, starts `bird -f` inside `ns` and waits
    /// until its control socket answers.
    pub fn start(ns: &Netns, label: &str, spec: BirdSpec) -> Bird {
        let conf = ns.dir().join(format!("{label}.conf"));
        let socket = ns.dir().join(format!("{label}.ctl"));
        let pid = ns.dir().join(format!("{label}.pid"));
        let log = ns.dir().join(format!("{label}.log"));
        std::fs::write(&conf, spec.render())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", conf.display()));
        let daemon = Daemon::spawn(
            ns,
            label,
            &log,
            "bird",
            &[
                "-f",
                "-c",
                &conf.to_string_lossy(),
                "-s",
                &socket.to_string_lossy(),
                "-P",
                &pid.to_string_lossy(),
            ],
            &[],
        );
        let bird = Bird {
            label: label.to_string(),
            spec,
            conf,
            socket,
            daemon,
        };
        wait_for(
            CONVERGE,
            &format!("{label} to answer on its control socket"),
            || {
                bird.daemon.assert_running();
                bird.birdc(&["show", "status"]).map(|_| ())
            },
        );
        bird
    }

    pub fn daemon(&self) -> &Daemon {
        &self.daemon
    }

    /// Runs `birdc` against this instance (the control socket is a file, so `birdc` need
    /// not enter the namespace).
    pub fn birdc(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("birdc")
            .arg("-s")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run birdc: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() && !text.contains("Unable to connect") {
            Ok(text)
        } else {
            Err(format!(
                "birdc {} ({}): {}{}",
                args.join(" "),
                self.label,
                text.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// Replaces the announced prefixes and reconfigures the running daemon.
    pub fn announce(&mut self, prefixes: &[&str]) {
        let mut spec = self.spec.clone();
        spec.announce = prefixes.iter().map(|p| p.to_string()).collect();
        self.reconfigure(spec);
    }

    /// Rewrites the config to `spec` and runs `birdc configure`, as an operator would.
    pub fn reconfigure(&mut self, spec: BirdSpec) {
        self.spec = spec;
        std::fs::write(&self.conf, self.spec.render())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", self.conf.display()));
        let out = self
            .birdc(&["configure"])
            .unwrap_or_else(|e| panic!("{}: configure failed: {e}", self.label));
        assert!(
            out.contains("Reconfigured") || out.contains("Reconfiguration in progress"),
            "{}: birdc configure did not reconfigure: {out}",
            self.label
        );
    }

    /// The state of protocol `name`.
    pub fn protocol(&self, name: &str) -> Result<BirdProtocol, String> {
        let out = self.birdc(&["show", "protocols", "all", name])?;
        parse_protocol(&out, name)
            .ok_or_else(|| format!("{}: cannot parse protocol {name}: {out}", self.label))
    }

    /// `Ok` once protocol `name` is Established; otherwise the state seen.
    pub fn established(&self, name: &str) -> Result<BirdProtocol, String> {
        self.daemon.assert_running();
        let p = self.protocol(name)?;
        if p.bgp_state == "Established" {
            Ok(p)
        } else {
            Err(format!(
                "{} {name}: {} ({})",
                self.label, p.bgp_state, p.info
            ))
        }
    }

    /// Routes BIRD learned over protocol `name` (the best and the others).
    pub fn routes(&self, name: &str) -> Result<Vec<SeenRoute>, String> {
        let out = self.birdc(&["show", "route", "all", "protocol", name])?;
        Ok(parse_routes(&out))
    }

    /// Freezes the process (SIGSTOP): it keeps its sockets but says nothing.
    pub fn freeze(&self) {
        self.daemon.signal("STOP");
    }

    pub fn thaw(&self) {
        self.daemon.signal("CONT");
    }
}

fn parse_protocol(out: &str, name: &str) -> Option<BirdProtocol> {
    let header = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))?;
    let cols: Vec<&str> = header.split_whitespace().collect();
    // Name Proto Table State Since Info...
    let since = cols.get(4)?.to_string();
    let info = cols.get(5..).map(|c| c.join(" ")).unwrap_or_default();
    let bgp_state = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("BGP state:"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| cols.get(3).map(|s| s.to_string()).unwrap_or_default());
    Some(BirdProtocol {
        bgp_state,
        since,
        info,
    })
}

/// Parses `show route all` output: a route starts on an unindented line with its prefix
/// (or on an indented `unicast [...]` line for another route to the same prefix), followed
/// by indented attribute lines.
fn parse_routes(out: &str) -> Vec<SeenRoute> {
    let mut routes = Vec::new();
    let mut current: Option<SeenRoute> = None;
    let mut last_prefix = String::new();
    for line in out.lines() {
        if line.is_empty() || line.starts_with("BIRD ") || line.starts_with("Table ") {
            continue;
        }
        let indented = line.starts_with(char::is_whitespace);
        let trimmed = line.trim();
        let tokens: Vec<&str> = trimmed.split_whitespace().collect();
        let another_route_same_prefix = indented
            && tokens.len() >= 2
            && tokens[1].starts_with('[')
            && matches!(
                tokens[0],
                "unicast" | "blackhole" | "unreachable" | "prohibited"
            );
        if !indented || another_route_same_prefix {
            routes.extend(current.take());
            if !indented {
                last_prefix = trimmed.split_whitespace().next().unwrap_or("").to_string();
            }
            let from = trimmed
                .split_once('[')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .map(str::to_string);
            current = Some(SeenRoute {
                prefix: last_prefix.clone(),
                as_path: String::new(),
                next_hop: String::new(),
                from,
            });
        } else if let Some(r) = current.as_mut() {
            if let Some(p) = trimmed.strip_prefix("BGP.as_path:") {
                r.as_path = p.split_whitespace().collect::<Vec<_>>().join(" ");
            } else if let Some(nh) = trimmed.strip_prefix("BGP.next_hop:") {
                r.next_hop = nh.split_whitespace().next().unwrap_or("").to_string();
            }
        }
    }
    routes.extend(current);
    routes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_protocol_line_yields_state_since_and_last_error() {
        let out = "BIRD 2.0.12 ready.\nName       Proto      Table      State  Since         Info\n\
                   p4         BGP        ---        start  00:37:00.607  Active        Received: Maximum number of prefixes reached\n\
                   \x20 BGP state:          Active\n";
        let p = parse_protocol(out, "p4").expect("parses");
        assert_eq!(p.bgp_state, "Active");
        assert_eq!(p.since, "00:37:00.607");
        assert!(
            p.info
                .contains("Received: Maximum number of prefixes reached")
        );
    }

    #[test]
    fn route_blocks_yield_prefix_path_and_next_hop() {
        let out = "BIRD 2.0.12 ready.\nTable master6:\n\
                   2001:db8:2::/48      unicast [p6 00:36:48.018] * (100) [AS65002?]\n\
                   \tvia fd00:1::2 on e0\n\tType: BGP univ\n\tBGP.origin: Incomplete\n\
                   \tBGP.as_path: 12076 65002\n\tBGP.next_hop: fd00:1::2 fe80::1\n\
                   \x20                    unicast [q6 00:36:48.018] (100) [AS65003i]\n\
                   \tBGP.as_path: 65003\n\tBGP.next_hop: fd00:2::2\n\
                   10.1.0.0/24          blackhole [s4 00:36:40.652] * (200)\n\tType: static univ\n";
        let r = parse_routes(out);
        assert_eq!(r.len(), 3, "{r:?}");
        assert_eq!(r[0].prefix, "2001:db8:2::/48");
        assert_eq!(r[0].as_path, "12076 65002");
        assert_eq!(r[0].next_hop, "fd00:1::2");
        assert_eq!(r[0].from.as_deref(), Some("p6"));
        assert_eq!(r[1].prefix, "2001:db8:2::/48");
        assert_eq!(r[1].from.as_deref(), Some("q6"));
        assert_eq!(r[2].prefix, "10.1.0.0/24");
        assert_eq!(r[2].as_path, "");
    }
}
