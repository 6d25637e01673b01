//! ExaBGP 4.2 (Debian `exabgp`): one neighbor, routes written into the config as static
//! routes with whatever attributes a test wants (including raw, unknown ones), and a
//! command file for run-time changes.
//!
//! ExaBGP reads commands from the stdout of its API processes; the driver's API process is
//! `tail -F` on a file in the namespace's work directory, so [`Exabgp::command`] appends a
//! line ("withdraw route ...") and ExaBGP acts on it. ExaBGP is configured through
//! environment variables: it runs as root without dropping privileges, listens only on its
//! own address, and has no CLI pipes.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use crate::netns::Netns;
use crate::process::Daemon;

/// What an ExaBGP instance is configured with: one neighbor and its static routes.
#[derive(Debug, Clone)]
pub struct ExabgpSpec {
    pub asn: u32,
    pub router_id: Ipv4Addr,
    pub local: IpAddr,
    pub neighbor: IpAddr,
    pub neighbor_as: u32,
    /// Static routes in ExaBGP's syntax after `route`, e.g.
    /// `10.31.0.0/24 next-hop self med 50 community [65010:77]`.
    pub routes: Vec<String>,
}

impl ExabgpSpec {
    pub fn new(
        asn: u32,
        router_id: Ipv4Addr,
        local: impl Into<IpAddr>,
        neighbor: impl Into<IpAddr>,
        neighbor_as: u32,
    ) -> Self {
        ExabgpSpec {
            asn,
            router_id,
            local: local.into(),
            neighbor: neighbor.into(),
            neighbor_as,
            routes: Vec::new(),
        }
    }

    pub fn route(mut self, route: &str) -> Self {
        self.routes.push(route.to_string());
        self
    }

    /// The exabgp.conf text; `commands` is the file the API process follows.
    pub fn render(&self, commands: &str) -> String {
        let family = if self.neighbor.is_ipv6() {
            "ipv6"
        } else {
            "ipv4"
        };
        let mut c = format!(
            "process commands {{\n  run /usr/bin/tail -n +1 -F {commands};\n  encoder text;\n}}\n"
        );
        c.push_str(&format!(
            "neighbor {} {{\n  router-id {};\n  local-address {};\n  local-as {};\n  \
             peer-as {};\n  hold-time 9;\n  family {{ {family} unicast; }}\n  \
             api {{ processes [ commands ]; }}\n  static {{\n",
            self.neighbor, self.router_id, self.local, self.asn, self.neighbor_as
        ));
        for r in &self.routes {
            c.push_str(&format!("    route {r};\n"));
        }
        c.push_str("  }\n}\n");
        c
    }
}

/// A running ExaBGP.
#[derive(Debug)]
pub struct Exabgp {
    commands: PathBuf,
    daemon: Daemon,
}

impl Exabgp {
    /// Writes the config into `ns`'s work directory and starts ExaBGP inside `ns`. ExaBGP
    /// has no query interface worth parsing: tests observe it through its peer.
    pub fn start(ns: &Netns, label: &str, spec: ExabgpSpec) -> Exabgp {
        let conf = ns.dir().join(format!("{label}.conf"));
        let commands = ns.dir().join(format!("{label}.commands"));
        let log = ns.dir().join(format!("{label}.log"));
        std::fs::write(&commands, "")
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", commands.display()));
        std::fs::write(&conf, spec.render(&commands.to_string_lossy()))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", conf.display()));
        let local = spec.local.to_string();
        let daemon = Daemon::spawn(
            ns,
            label,
            &log,
            "exabgp",
            &[&conf.to_string_lossy()],
            &[
                ("exabgp.daemon.user", "root"),
                ("exabgp.daemon.drop", "false"),
                ("exabgp.daemon.daemonize", "false"),
                ("exabgp.tcp.bind", &local),
                ("exabgp.tcp.port", "179"),
                ("exabgp.api.cli", "false"),
                ("exabgp.log.destination", "stdout"),
                ("exabgp.log.level", "INFO"),
                ("exabgp.log.packets", "true"),
            ],
        );
        Exabgp { commands, daemon }
    }

    pub fn daemon(&self) -> &Daemon {
        &self.daemon
    }

    /// Sends one API command (e.g. `withdraw route 10.31.0.0/24 next-hop self`).
    pub fn command(&self, line: &str) {
        self.daemon.assert_running();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.commands)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.commands.display()));
        writeln!(f, "{line}")
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", self.commands.display()));
    }
}
