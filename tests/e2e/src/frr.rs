//! FRR (Debian `frr`): `bgpd` run on its own — no zebra, no watchfrr — with a config file,
//! read and changed through `vtysh` on the instance's own vty socket directory.
//!
//! Without zebra bgpd knows no interfaces, so each neighbor gets
//! `disable-connected-check`, and `no bgp network import-check` lets `network` statements
//! announce prefixes that are in no kernel table. `no bgp ebgp-requires-policy` keeps FRR 8
//! from filtering everything on eBGP sessions without a policy (RFC 8212).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::netns::Netns;
use crate::process::Daemon;
use crate::wait::wait_for;
use crate::{CONVERGE, SeenRoute};

const BGPD: &str = "/usr/lib/frr/bgpd";

/// One neighbor from FRR's side. The family follows the neighbor address.
#[derive(Debug, Clone)]
pub struct FrrNeighbor {
    pub address: IpAddr,
    pub peer_as: u32,
    pub password: Option<String>,
}

impl FrrNeighbor {
    pub fn new(address: impl Into<IpAddr>, peer_as: u32) -> Self {
        FrrNeighbor {
            address: address.into(),
            peer_as,
            password: None,
        }
    }

    pub fn password(mut self, key: &str) -> Self {
        self.password = Some(key.to_string());
        self
    }
}

/// What an FRR bgpd is configured with.
#[derive(Debug, Clone)]
pub struct FrrSpec {
    pub asn: u32,
    pub router_id: Ipv4Addr,
    pub neighbors: Vec<FrrNeighbor>,
    pub announce: Vec<String>,
}

impl FrrSpec {
    pub fn new(asn: u32, router_id: Ipv4Addr) -> Self {
        FrrSpec {
            asn,
            router_id,
            neighbors: Vec::new(),
            announce: Vec::new(),
        }
    }

    pub fn neighbors(mut self, n: impl IntoIterator<Item = FrrNeighbor>) -> Self {
        self.neighbors.extend(n);
        self
    }

    pub fn announce(mut self, prefixes: &[&str]) -> Self {
        self.announce = prefixes.iter().map(|p| p.to_string()).collect();
        self
    }

    /// The bgpd.conf text.
    pub fn render(&self) -> String {
        let mut c =
            String::from("frr defaults traditional\nhostname frr\nlog stdout debugging\n!\n");
        c.push_str(&format!(
            "router bgp {}\n bgp router-id {}\n no bgp ebgp-requires-policy\n no bgp network import-check\n",
            self.asn, self.router_id
        ));
        for n in &self.neighbors {
            let a = n.address;
            c.push_str(&format!(
                " neighbor {a} remote-as {}\n neighbor {a} timers 3 9\n neighbor {a} timers connect 1\n neighbor {a} disable-connected-check\n",
                n.peer_as
            ));
            if let Some(key) = &n.password {
                c.push_str(&format!(" neighbor {a} password {key}\n"));
            }
        }
        for (afi, v6) in [("ipv4", false), ("ipv6", true)] {
            c.push_str(&format!(" address-family {afi} unicast\n"));
            for p in self.announce.iter().filter(|p| p.contains(':') == v6) {
                c.push_str(&format!("  network {p}\n"));
            }
            for n in &self.neighbors {
                let verb = if n.address.is_ipv6() == v6 { "" } else { "no " };
                c.push_str(&format!("  {verb}neighbor {} activate\n", n.address));
            }
            c.push_str(" exit-address-family\n");
        }
        c.push_str("!\n");
        c
    }
}

/// A running FRR bgpd.
#[derive(Debug)]
pub struct Frr {
    label: String,
    asn: u32,
    vty_dir: PathBuf,
    daemon: Daemon,
}

impl Frr {
    /// Writes the config into `ns`'s work directory, starts bgpd inside `ns` and waits until
    /// vtysh reaches it.
    pub fn start(ns: &Netns, label: &str, spec: FrrSpec) -> Frr {
        let vty_dir = ns.dir().join(label);
        std::fs::create_dir_all(&vty_dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", vty_dir.display()));
        let conf = vty_dir.join("bgpd.conf");
        let log = ns.dir().join(format!("{label}.log"));
        std::fs::write(&conf, spec.render())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", conf.display()));
        let daemon = Daemon::spawn(
            ns,
            label,
            &log,
            BGPD,
            &[
                "-f",
                &conf.to_string_lossy(),
                "-i",
                &vty_dir.join("bgpd.pid").to_string_lossy(),
                "-z",
                &vty_dir.join("zserv.api").to_string_lossy(),
                "--vty_socket",
                &vty_dir.to_string_lossy(),
                "-Z",
                "-n",
                "-S",
                "-u",
                "root",
                "-g",
                "root",
            ],
            &[],
        );
        let frr = Frr {
            label: label.to_string(),
            asn: spec.asn,
            vty_dir,
            daemon,
        };
        wait_for(CONVERGE, &format!("{label} to answer vtysh"), || {
            frr.daemon.assert_running();
            frr.vtysh(&["show bgp summary json"]).map(|_| ())
        });
        frr
    }

    pub fn daemon(&self) -> &Daemon {
        &self.daemon
    }

    /// Runs vtysh commands (one `-c` each) against this bgpd.
    pub fn vtysh(&self, commands: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new("vtysh");
        cmd.arg("--vty_socket")
            .arg(&self.vty_dir)
            .args(["-d", "bgpd"]);
        for c in commands {
            cmd.args(["-c", c]);
        }
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run vtysh: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "vtysh {commands:?} ({}): {}{}",
                self.label,
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// `Ok` once neighbor `address` is Established; otherwise the state and last reset.
    pub fn established(&self, address: IpAddr) -> Result<(), String> {
        self.daemon.assert_running();
        let out = self.vtysh(&["show bgp neighbors json"])?;
        let v: Value = serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))?;
        let n = &v[address.to_string()];
        match n["bgpState"].as_str() {
            Some("Established") => Ok(()),
            other => Err(format!(
                "{} neighbor {address}: {other:?} (last reset: {})",
                self.label, n["lastResetDueTo"]
            )),
        }
    }

    /// Adds (`announce = true`) or removes a `network` statement at run time.
    pub fn network(&self, prefix: &str, announce: bool) {
        let afi = if prefix.contains(':') { "ipv6" } else { "ipv4" };
        let statement = format!("{}network {prefix}", if announce { "" } else { "no " });
        self.vtysh(&[
            "configure terminal",
            &format!("router bgp {}", self.asn),
            &format!("address-family {afi} unicast"),
            &statement,
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Every path in FRR's BGP table for `family` ("ipv4" or "ipv6").
    pub fn routes(&self, family: &str) -> Result<Vec<SeenRoute>, String> {
        let out = self.vtysh(&[&format!("show bgp {family} unicast json")])?;
        parse_table(&out)
    }
}

fn parse_table(out: &str) -> Result<Vec<SeenRoute>, String> {
    let v: Value = serde_json::from_str(out).map_err(|e| format!("show bgp json: {e}: {out}"))?;
    let mut routes = Vec::new();
    for (prefix, paths) in v["routes"].as_object().into_iter().flatten() {
        for p in paths.as_array().into_iter().flatten() {
            let hops = p["nexthops"].as_array().cloned().unwrap_or_default();
            let global = hops
                .iter()
                .find(|h| h["scope"].as_str() != Some("link-local"))
                .or(hops.first());
            routes.push(SeenRoute {
                prefix: prefix.clone(),
                as_path: p["path"].as_str().unwrap_or("").to_string(),
                next_hop: global
                    .and_then(|h| h["ip"].as_str())
                    .unwrap_or("")
                    .to_string(),
                from: p["peerId"]
                    .as_str()
                    .filter(|id| *id != "(unspec)")
                    .map(str::to_string),
            });
        }
    }
    Ok(routes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frr_json_table_yields_paths_and_global_next_hops() {
        let out = r#"{"routes": {"2001:db8:2::/48": [{"path":"12076 65002","peerId":"fd00:1::2","nexthops":[{"ip":"fe80::1","scope":"link-local"},{"ip":"fd00:1::2","scope":"global"}]}],
            "10.5.0.0/24": [{"path":"","peerId":"(unspec)","nexthops":[{"ip":"0.0.0.0"}]}]}}"#;
        let mut r = parse_table(out).expect("parses");
        r.sort_by(|a, b| a.prefix.cmp(&b.prefix));
        assert_eq!(r[0].from, None);
        assert_eq!(r[1].as_path, "12076 65002");
        assert_eq!(r[1].next_hop, "fd00:1::2");
    }
}
