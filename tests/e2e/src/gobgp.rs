//! GoBGP 3 (Debian `gobgpd`): a TOML config writer, the daemon, and the `gobgp` CLI.
//!
//! gobgpd's gRPC API listens on the namespace's own loopback (127.0.0.1:50051), so every
//! instance uses the same port without clashing. Routes are announced and withdrawn with
//! `gobgp global rib add|del`; GoBGP rewrites the next hop to its session address on eBGP.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::Value;

use crate::netns::Netns;
use crate::process::Daemon;
use crate::wait::wait_for;
use crate::{CONVERGE, SeenRoute};

const API: &str = "127.0.0.1:50051";

/// One neighbor from GoBGP's side. The family follows the neighbor address.
#[derive(Debug, Clone)]
pub struct GobgpNeighbor {
    pub address: IpAddr,
    pub local: IpAddr,
    pub peer_as: u32,
    /// TCP MD5 key (RFC 2385).
    pub password: Option<String>,
    pub hold_time: u16,
}

impl GobgpNeighbor {
    pub fn new(address: impl Into<IpAddr>, local: impl Into<IpAddr>, peer_as: u32) -> Self {
        GobgpNeighbor {
            address: address.into(),
            local: local.into(),
            peer_as,
            password: None,
            hold_time: 9,
        }
    }

    pub fn password(mut self, key: &str) -> Self {
        self.password = Some(key.to_string());
        self
    }
}

/// What a gobgpd instance is configured with.
#[derive(Debug, Clone)]
pub struct GobgpSpec {
    pub asn: u32,
    pub router_id: Ipv4Addr,
    pub neighbors: Vec<GobgpNeighbor>,
}

impl GobgpSpec {
    pub fn new(asn: u32, router_id: Ipv4Addr) -> Self {
        GobgpSpec {
            asn,
            router_id,
            neighbors: Vec::new(),
        }
    }

    pub fn neighbor(mut self, n: GobgpNeighbor) -> Self {
        self.neighbors.push(n);
        self
    }

    pub fn neighbors(mut self, n: impl IntoIterator<Item = GobgpNeighbor>) -> Self {
        self.neighbors.extend(n);
        self
    }

    /// The gobgpd.toml text.
    pub fn render(&self) -> String {
        let mut c = format!(
            "[global.config]\n  as = {}\n  router-id = \"{}\"\n  port = 179\n",
            self.asn, self.router_id
        );
        for n in &self.neighbors {
            let family = if n.address.is_ipv6() {
                "ipv6-unicast"
            } else {
                "ipv4-unicast"
            };
            c.push_str(&format!(
                "\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{}\"\n    peer-as = {}\n",
                n.address, n.peer_as
            ));
            if let Some(key) = &n.password {
                c.push_str(&format!("    auth-password = \"{key}\"\n"));
            }
            c.push_str(&format!(
                "  [neighbors.timers.config]\n    connect-retry = 1\n    hold-time = {}\n    keepalive-interval = {}\n    idle-hold-time-after-reset = 1\n",
                n.hold_time,
                (n.hold_time / 3).max(1)
            ));
            c.push_str(&format!(
                "  [neighbors.transport.config]\n    local-address = \"{}\"\n",
                n.local
            ));
            c.push_str(&format!(
                "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"{family}\"\n"
            ));
        }
        c
    }
}

/// A running gobgpd.
#[derive(Debug)]
pub struct Gobgp {
    label: String,
    ns: String,
    daemon: Daemon,
}

impl Gobgp {
    /// Writes the config into `ns`'s work directory, starts gobgpd inside `ns` and waits
    /// until its API answers.
    pub fn start(ns: &Netns, label: &str, spec: GobgpSpec) -> Gobgp {
        let conf = ns.dir().join(format!("{label}.toml"));
        let log = ns.dir().join(format!("{label}.log"));
        std::fs::write(&conf, spec.render())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", conf.display()));
        let daemon = Daemon::spawn(
            ns,
            label,
            &log,
            "gobgpd",
            &[
                "-f",
                &conf.to_string_lossy(),
                "-t",
                "toml",
                "--api-hosts",
                API,
                "--pprof-disable",
                "--log-plain",
                "--log-level",
                "debug",
            ],
            &[],
        );
        let g = Gobgp {
            label: label.to_string(),
            ns: ns.name().to_string(),
            daemon,
        };
        wait_for(CONVERGE, &format!("{label} to answer on its API"), || {
            g.daemon.assert_running();
            g.cli(&["global"]).map(|_| ())
        });
        g
    }

    pub fn daemon(&self) -> &Daemon {
        &self.daemon
    }

    /// Runs the `gobgp` CLI inside the namespace against this instance.
    pub fn cli(&self, args: &[&str]) -> Result<String, String> {
        let (host, port) = API.split_once(':').expect("invariant: API is host:port");
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &self.ns, "gobgp", "-u", host, "-p", port])
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("cannot run gobgp: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "gobgp {} ({}): {}{}",
                args.join(" "),
                self.label,
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// The session state of neighbor `address`, lower-case ("established", "active", ...).
    pub fn state(&self, address: IpAddr) -> Result<String, String> {
        let out = self.cli(&["neighbor", "-j"])?;
        let v: Value =
            serde_json::from_str(&out).map_err(|e| format!("gobgp neighbor -j: {e}: {out}"))?;
        let n = v
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["conf"]["neighbor_address"].as_str() == Some(&address.to_string()))
            .ok_or_else(|| format!("{}: no neighbor {address}", self.label))?;
        Ok(session_state_name(&n["state"]["session_state"]))
    }

    /// `Ok` once neighbor `address` is established; otherwise the state seen.
    pub fn established(&self, address: IpAddr) -> Result<(), String> {
        self.daemon.assert_running();
        match self.state(address)?.as_str() {
            "established" => Ok(()),
            other => Err(format!("{} neighbor {address}: {other}", self.label)),
        }
    }

    /// Announces `prefix` from the global RIB to every neighbor of its family.
    pub fn announce(&self, prefix: &str) {
        self.cli(&["global", "rib", "add", "-a", family(prefix), prefix])
            .unwrap_or_else(|e| panic!("{e}"));
    }

    pub fn withdraw(&self, prefix: &str) {
        self.cli(&["global", "rib", "del", "-a", family(prefix), prefix])
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Every path in the global RIB for `family` ("ipv4" or "ipv6"); `from` is the
    /// neighbor address, `None` for routes added locally.
    pub fn routes(&self, family: &str) -> Result<Vec<SeenRoute>, String> {
        let out = self.cli(&["global", "rib", "-a", family, "-j"])?;
        parse_rib(&out)
    }
}

fn family(prefix: &str) -> &'static str {
    if prefix.contains(':') { "ipv6" } else { "ipv4" }
}

/// GoBGP's API enum (apipb.PeerState.SessionState) as a name; newer CLIs print names.
fn session_state_name(v: &Value) -> String {
    match v {
        Value::Number(n) => match n.as_u64() {
            Some(1) => "idle",
            Some(2) => "connect",
            Some(3) => "active",
            Some(4) => "opensent",
            Some(5) => "openconfirm",
            Some(6) => "established",
            _ => "unknown",
        }
        .to_string(),
        Value::String(s) => s.to_lowercase(),
        _ => "unknown".to_string(),
    }
}

fn parse_rib(out: &str) -> Result<Vec<SeenRoute>, String> {
    let trimmed = out.trim();
    if trimmed.is_empty() || trimmed == "null" {
        return Ok(Vec::new());
    }
    let v: Value =
        serde_json::from_str(trimmed).map_err(|e| format!("gobgp rib -j: {e}: {out}"))?;
    let mut routes = Vec::new();
    for (prefix, paths) in v.as_object().into_iter().flatten() {
        for path in paths.as_array().into_iter().flatten() {
            let mut r = SeenRoute {
                prefix: prefix.clone(),
                as_path: String::new(),
                next_hop: String::new(),
                from: path["neighbor-ip"].as_str().map(str::to_string),
            };
            for attr in path["attrs"].as_array().into_iter().flatten() {
                match attr["type"].as_u64() {
                    Some(2) => {
                        let asns: Vec<String> = attr["as_paths"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .flat_map(|seg| seg["asns"].as_array().cloned().unwrap_or_default())
                            .map(|a| a.to_string())
                            .collect();
                        r.as_path = asns.join(" ");
                    }
                    Some(3) | Some(14) => {
                        if let Some(nh) = attr["nexthop"].as_str() {
                            r.next_hop = nh.to_string();
                        }
                    }
                    _ => {}
                }
            }
            routes.push(r);
        }
    }
    Ok(routes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rib_json_yields_paths_with_as_path_next_hop_and_neighbor() {
        let out = r#"{"2001:db8:1::/48":[{"nlri":{"prefix":"2001:db8:1::/48"},"best":true,"attrs":[{"type":1,"value":0},{"type":2,"as_paths":[{"segment_type":2,"num":2,"asns":[12076,65001]}]},{"type":14,"nexthop":"fd00:1::1","afi":2,"safi":1}],"neighbor-ip":"fd00:1::1"}],"10.2.0.0/24":[{"attrs":[{"type":1,"value":2},{"type":3,"nexthop":"0.0.0.0"}]}]}"#;
        let mut r = parse_rib(out).expect("parses");
        r.sort_by(|a, b| a.prefix.cmp(&b.prefix));
        assert_eq!(r[0].prefix, "10.2.0.0/24");
        assert_eq!(r[0].from, None);
        assert_eq!(r[1].as_path, "12076 65001");
        assert_eq!(r[1].next_hop, "fd00:1::1");
        assert_eq!(r[1].from.as_deref(), Some("fd00:1::1"));
    }

    #[test]
    fn numeric_and_named_session_states_read_the_same() {
        assert_eq!(session_state_name(&Value::from(6)), "established");
        assert_eq!(
            session_state_name(&Value::from("ESTABLISHED")),
            "established"
        );
    }
}
