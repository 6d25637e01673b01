//! OpenBGPD (Debian `openbgpd`): `bgpd -d` with a config file, read and changed through
//! `bgpctl -j` on the instance's own control socket.
//!
//! bgpd's privilege-separated children chroot into /run/openbgpd (the `_openbgpd` user's
//! home), which is created if missing; `fib-update no` keeps it out of the kernel; filters
//! default to deny, so the config allows everything in both directions.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::netns::Netns;
use crate::process::Daemon;
use crate::wait::wait_for;
use crate::{CONVERGE, SeenRoute};

/// One neighbor from OpenBGPD's side. The family follows the neighbor address.
#[derive(Debug, Clone)]
pub struct OpenbgpdNeighbor {
    pub address: IpAddr,
    pub local: IpAddr,
    pub peer_as: u32,
    pub password: Option<String>,
}

impl OpenbgpdNeighbor {
    pub fn new(address: impl Into<IpAddr>, local: impl Into<IpAddr>, peer_as: u32) -> Self {
        OpenbgpdNeighbor {
            address: address.into(),
            local: local.into(),
            peer_as,
            password: None,
        }
    }

    pub fn password(mut self, key: &str) -> Self {
        self.password = Some(key.to_string());
        self
    }
}

/// What an OpenBGPD instance is configured with.
#[derive(Debug, Clone)]
pub struct OpenbgpdSpec {
    pub asn: u32,
    pub router_id: Ipv4Addr,
    pub neighbors: Vec<OpenbgpdNeighbor>,
    pub announce: Vec<String>,
}

impl OpenbgpdSpec {
    pub fn new(asn: u32, router_id: Ipv4Addr) -> Self {
        OpenbgpdSpec {
            asn,
            router_id,
            neighbors: Vec::new(),
            announce: Vec::new(),
        }
    }

    pub fn neighbors(mut self, n: impl IntoIterator<Item = OpenbgpdNeighbor>) -> Self {
        self.neighbors.extend(n);
        self
    }

    pub fn announce(mut self, prefixes: &[&str]) -> Self {
        self.announce = prefixes.iter().map(|p| p.to_string()).collect();
        self
    }

    /// The bgpd.conf text; `socket` is the control socket path.
    pub fn render(&self, socket: &str) -> String {
        let mut c = format!(
            "AS {}\nrouter-id {}\nsocket \"{socket}\"\nfib-update no\n",
            self.asn, self.router_id
        );
        for n in &self.neighbors {
            c.push_str(&format!("listen on {}\n", n.local));
        }
        for p in &self.announce {
            c.push_str(&format!("network {p}\n"));
        }
        for n in &self.neighbors {
            c.push_str(&format!(
                "neighbor {} {{\n  remote-as {}\n  local-address {}\n  holdtime 9\n",
                n.address, n.peer_as, n.local
            ));
            if let Some(key) = &n.password {
                c.push_str(&format!("  tcp md5sig password {key}\n"));
            }
            c.push_str("}\n");
        }
        c.push_str("allow from any\nallow to any\n");
        c
    }
}

/// A running OpenBGPD.
#[derive(Debug)]
pub struct Openbgpd {
    label: String,
    socket: PathBuf,
    daemon: Daemon,
}

impl Openbgpd {
    /// Writes the config into `ns`'s work directory, starts `bgpd -d` inside `ns` and waits
    /// until bgpctl reaches it.
    pub fn start(ns: &Netns, label: &str, spec: OpenbgpdSpec) -> Openbgpd {
        std::fs::create_dir_all("/run/openbgpd")
            .unwrap_or_else(|e| panic!("cannot create bgpd's chroot /run/openbgpd: {e}"));
        let conf = ns.dir().join(format!("{label}.conf"));
        let socket = ns.dir().join(format!("{label}.sock"));
        let log = ns.dir().join(format!("{label}.log"));
        std::fs::write(&conf, spec.render(&socket.to_string_lossy()))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", conf.display()));
        // bgpd refuses a config file others can read (it may hold MD5 keys).
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600))
            .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", conf.display()));
        let daemon = Daemon::spawn(
            ns,
            label,
            &log,
            "/usr/sbin/bgpd",
            &["-d", "-v", "-f", &conf.to_string_lossy()],
            &[],
        );
        let bgpd = Openbgpd {
            label: label.to_string(),
            socket,
            daemon,
        };
        wait_for(CONVERGE, &format!("{label} to answer bgpctl"), || {
            bgpd.daemon.assert_running();
            bgpd.bgpctl(&["show", "summary"]).map(|_| ())
        });
        bgpd
    }

    pub fn daemon(&self) -> &Daemon {
        &self.daemon
    }

    /// Runs `bgpctl -j` against this instance (the socket is a file: no namespace needed).
    pub fn bgpctl(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("bgpctl")
            .arg("-s")
            .arg(&self.socket)
            .arg("-j")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run bgpctl: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "bgpctl {} ({}): {}{}",
                args.join(" "),
                self.label,
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// `Ok` once neighbor `address` is Established; otherwise the state seen.
    pub fn established(&self, address: IpAddr) -> Result<(), String> {
        self.daemon.assert_running();
        let out = self.bgpctl(&["show", "neighbor"])?;
        let v: Value = serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))?;
        let n = v["neighbors"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["remote_addr"].as_str() == Some(&address.to_string()))
            .ok_or_else(|| format!("{}: no neighbor {address}", self.label))?;
        match n["state"].as_str() {
            Some("Established") => Ok(()),
            other => Err(format!("{} neighbor {address}: {other:?}", self.label)),
        }
    }

    /// Adds or removes an announced prefix at run time (`bgpctl network add|delete`).
    pub fn network(&self, prefix: &str, announce: bool) {
        let verb = if announce { "add" } else { "delete" };
        self.bgpctl(&["network", verb, prefix])
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Every path in the Loc-RIB (both families).
    pub fn routes(&self) -> Result<Vec<SeenRoute>, String> {
        let out = self.bgpctl(&["show", "rib"])?;
        parse_rib(&out)
    }
}

fn parse_rib(out: &str) -> Result<Vec<SeenRoute>, String> {
    let v: Value = serde_json::from_str(out).map_err(|e| format!("bgpctl show rib: {e}: {out}"))?;
    Ok(v["rib"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| SeenRoute {
            prefix: r["prefix"].as_str().unwrap_or("").to_string(),
            as_path: r["aspath"].as_str().unwrap_or("").to_string(),
            next_hop: r["exit_nexthop"].as_str().unwrap_or("").to_string(),
            from: r["neighbor"]["remote_addr"]
                .as_str()
                .filter(|a| *a != "???")
                .map(str::to_string),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bgpctl_rib_json_yields_paths_with_exit_next_hops() {
        let out = r#"{"rib":[{"prefix":"10.2.0.0/24","aspath":"12076 65002","exit_nexthop":"10.0.1.2","true_nexthop":"10.0.1.1","neighbor":{"remote_addr":"10.0.1.2"}},
            {"prefix":"10.6.0.0/24","aspath":"","exit_nexthop":"0.0.0.0","neighbor":{"description":"LOCAL","remote_addr":"???"}}]}"#;
        let r = parse_rib(out).expect("parses");
        assert_eq!(r[0].as_path, "12076 65002");
        assert_eq!(r[0].next_hop, "10.0.1.2");
        assert_eq!(r[0].from.as_deref(), Some("10.0.1.2"));
        assert_eq!(r[1].from, None);
    }
}
