//! The addressing plan shared by the tests, and [`CausewayLab`]: `causeway lab` (a whole
//! ExpressRoute topology: an on-premises BIRD router and host, the circuit, a virtual network
//! with its gateway and a host) built on a test's own control plane.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::bird::BirdSession;
use crate::control::{Circuit, Control};
use crate::edge::{EdgePeer, causeway_bin};
use crate::frr::FrrNeighbor;
use crate::gobgp::GobgpNeighbor;
use crate::netns::{Netns, remove_namespace, veth};
use crate::openbgpd::OpenbgpdNeighbor;
use crate::wait::wait_for;

/// A point-to-point link between a customer router (the peer) and the edge.
///
/// Link `n` uses 10.0.n.0/30 and fd00:n::/126; as in ExpressRoute the customer router takes
/// the first usable address and the edge the second. The interface is `e<n>` in the edge's
/// namespace and `c<n>` in the peer's.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    pub n: u8,
    pub peer_v4: Ipv4Addr,
    pub edge_v4: Ipv4Addr,
    pub peer_v6: Ipv6Addr,
    pub edge_v6: Ipv6Addr,
}

/// Builds link `n` between `edge` and `peer` (see [`Link`]). `n` must be unique per test.
pub fn link(edge: &Netns, peer: &Netns, n: u8) -> Link {
    let l = Link {
        n,
        peer_v4: Ipv4Addr::new(10, 0, n, 1),
        edge_v4: Ipv4Addr::new(10, 0, n, 2),
        peer_v6: Ipv6Addr::new(0xfd00, u16::from(n), 0, 0, 0, 0, 0, 1),
        edge_v6: Ipv6Addr::new(0xfd00, u16::from(n), 0, 0, 0, 0, 0, 2),
    };
    veth(
        edge,
        &format!("e{n}"),
        &[&format!("{}/30", l.edge_v4), &format!("{}/126", l.edge_v6)],
        peer,
        &format!("c{n}"),
        &[&format!("{}/30", l.peer_v4), &format!("{}/126", l.peer_v6)],
    );
    l
}

/// The edge's AS (the Azure ASN Causeway uses by default).
pub const EDGE_AS: u32 = 12076;

impl Link {
    /// BIRD's two sessions toward the edge over this link: `<name>_v4` and `<name>_v6`.
    pub fn bird_sessions(&self, name: &str) -> [BirdSession; 2] {
        [
            BirdSession::new(&format!("{name}_v4"), self.peer_v4, self.edge_v4, EDGE_AS),
            BirdSession::new(&format!("{name}_v6"), self.peer_v6, self.edge_v6, EDGE_AS),
        ]
    }

    /// GoBGP's two neighbors toward the edge over this link (IPv4, IPv6).
    pub fn gobgp_neighbors(&self) -> [GobgpNeighbor; 2] {
        [
            GobgpNeighbor::new(self.edge_v4, self.peer_v4, EDGE_AS),
            GobgpNeighbor::new(self.edge_v6, self.peer_v6, EDGE_AS),
        ]
    }

    /// FRR's two neighbors toward the edge over this link (IPv4, IPv6).
    pub fn frr_neighbors(&self) -> [FrrNeighbor; 2] {
        [
            FrrNeighbor::new(self.edge_v4, EDGE_AS),
            FrrNeighbor::new(self.edge_v6, EDGE_AS),
        ]
    }

    /// OpenBGPD's two neighbors toward the edge over this link (IPv4, IPv6).
    pub fn openbgpd_neighbors(&self) -> [OpenbgpdNeighbor; 2] {
        [
            OpenbgpdNeighbor::new(self.edge_v4, self.peer_v4, EDGE_AS),
            OpenbgpdNeighbor::new(self.edge_v6, self.peer_v6, EDGE_AS),
        ]
    }

    /// The edge's two peers over this link: `<name>-v4` and `<name>-v6`.
    pub fn edge_peers(&self, name: &str, remote_as: u32) -> [EdgePeer; 2] {
        [
            EdgePeer::new(&format!("{name}-v4"), self.peer_v4, self.edge_v4, remote_as),
            EdgePeer::new(&format!("{name}-v6"), self.peer_v6, self.edge_v6, remote_as),
        ]
    }
}

// ===== `causeway lab` =====

/// The subscription `causeway lab` puts its resources in.
pub const LAB_CUSTOMER_SUBSCRIPTION: &str = "00000000-0000-0000-0000-0000000001ab";
/// The on-premises host, behind the on-premises router (BIRD, AS 65010).
pub const ONPREM_HOST: &str = "192.168.50.10";
pub const ONPREM_LAN: &str = "192.168.50.0/24";
/// The host in the virtual network.
pub const VNET_HOST: &str = "10.20.1.10";
pub const VNET_SPACE: &str = "10.20.0.0/16";
/// The on-premises router's address on each link (its BGP neighbor address at the edge).
pub const ONPREM_PRIMARY: &str = "172.16.0.1";
pub const ONPREM_SECONDARY: &str = "172.16.0.5";

/// What `causeway lab probe` printed.
#[derive(Debug, Clone, Deserialize)]
pub struct ProbeResult {
    pub flows: u16,
    pub interval_ms: f64,
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    /// The longest run of lost packets of any flow, in ms.
    pub outage_ms: f64,
    pub flow_outage_ms: Vec<f64>,
}

/// A `causeway lab` topology on `ctl`, named `name` (namespaces `cwlab-<name>-onprem|host|vm`,
/// resource group `causeway-<name>`).
///
/// Every `causeway lab` command gets the control plane's endpoint, data directory and admin
/// token through `CAUSEWAY_ENDPOINT`, `CAUSEWAY_DATA_DIR` and `CAUSEWAY_TOKEN`. Dropping it
/// (also when the test fails, and when `lab up` itself failed) runs `causeway lab down`,
/// then kills whatever is left in the lab's own namespaces (BIRD) and deletes them; the
/// circuit's and the gateway's namespaces go with the [`Control`], which must therefore
/// outlive it (declare the lab after the control plane).
#[derive(Debug)]
pub struct CausewayLab<'a> {
    down: LabDown<'a>,
    /// The lab's circuit (adopted by the control plane, so its namespaces are swept).
    pub circuit: Circuit,
    /// The virtual network gateway's namespace (`cwg-<first 8 hex digits of the VNet's
    /// resourceGuid>`).
    pub gateway_ns: String,
}

/// Takes the lab down on drop.
#[derive(Debug)]
struct LabDown<'a> {
    ctl: &'a Control,
    name: String,
}

impl<'a> CausewayLab<'a> {
    /// `causeway lab up --name NAME` (with `--bfd-interval-ms` for the on-premises router
    /// when given) on `ctl`, which must run the lab edges and the gateway host
    /// (`ServeFlags::lab`). Returns once `lab up` has seen both sessions up and both sides
    /// routing over both links.
    pub fn up(ctl: &'a Control, name: &str, bfd_interval_ms: Option<u32>) -> CausewayLab<'a> {
        assert!(
            name.len() <= 12
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "lab name {name:?}: at most 12 lowercase letters, digits or '-'"
        );
        // A lab of this name left by an earlier run of this test: its namespaces go first.
        for what in ["onprem", "host", "vm"] {
            remove_namespace(&format!("cwlab-{name}-{what}"));
        }
        let down = LabDown {
            ctl,
            name: name.to_string(),
        };
        let mut args = vec!["up".to_string(), "--timeout-secs".into(), "60".into()];
        if let Some(ms) = bfd_interval_ms {
            args.extend(["--bfd-interval-ms".into(), ms.to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        down.run(&args);

        let group = format!(
            "/subscriptions/{LAB_CUSTOMER_SUBSCRIPTION}/resourceGroups/causeway-{name}/providers/Microsoft.Network"
        );
        let circuit = ctl.adopt_circuit(&format!("{group}/expressRouteCircuits/{name}-circuit"));
        let vnet = ctl.get(&format!("{group}/virtualNetworks/{name}-vnet"));
        vnet.expect(&[200]);
        let guid = vnet.json()["properties"]["resourceGuid"]
            .as_str()
            .unwrap_or_else(|| {
                panic!(
                    "the lab's virtual network has no resourceGuid: {}",
                    vnet.text
                )
            })
            .to_string();
        let gateway_ns = format!(
            "cwg-{}",
            guid.chars()
                .filter(char::is_ascii_hexdigit)
                .take(8)
                .collect::<String>()
        );
        CausewayLab {
            down,
            circuit,
            gateway_ns,
        }
    }

    pub fn name(&self) -> &str {
        &self.down.name
    }

    /// The lab's own namespace `cwlab-<name>-<what>` (`onprem`, `host`, `vm`).
    pub fn ns(&self, what: &str) -> String {
        format!("cwlab-{}-{what}", self.down.name)
    }

    /// The edge-side namespace of the circuit at `edge` (`cwe-<edge>-<sk8>`).
    pub fn edge_ns(&self, edge: &str) -> String {
        format!("cwe-{edge}-{}", self.circuit.sk8())
    }

    /// `causeway lab ARGS --name NAME`; stdout. Panics with both outputs if it fails.
    pub fn run(&self, args: &[&str]) -> String {
        self.down.run(args)
    }

    /// `causeway lab fail <link>`: a silent cut (carrier stays up; BFD has to notice).
    pub fn fail(&self, link: &str) {
        self.run(&["fail", link]);
    }

    /// `causeway lab restore <link>`.
    pub fn restore(&self, link: &str) {
        self.run(&["restore", link]);
    }

    /// `causeway lab drain <link> --prepend N` (0 undrains).
    pub fn drain(&self, link: &str, prepend: u8) {
        self.run(&["drain", link, "--prepend", &prepend.to_string()]);
    }

    /// Starts `causeway lab probe` (host → VM host and back, `flows` UDP flows, one packet
    /// per flow every `interval_ms`, for `seconds`).
    pub fn spawn_probe(&self, seconds: f64, flows: u16, interval_ms: f64) -> Probe {
        let child = self
            .down
            .command(&[
                "probe",
                "--seconds",
                &seconds.to_string(),
                "--flows",
                &flows.to_string(),
                "--interval-ms",
                &interval_ms.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start causeway lab probe: {e}"));
        Probe {
            child: Mutex::new(child),
            seconds,
        }
    }

    /// Runs a probe to its end.
    pub fn probe(&self, seconds: f64, flows: u16, interval_ms: f64) -> ProbeResult {
        self.spawn_probe(seconds, flows, interval_ms).finish()
    }

    /// The peering's sessions toward the on-premises router on both links, once both are
    /// Established (the peering status also lists the gateway's sessions: those are not
    /// the customer's).
    pub fn customer_sessions(&self) -> Result<[Value; 2], String> {
        let r = self
            .down
            .ctl
            .get(&self.circuit.peering("AzurePrivatePeering"));
        if r.status != 200 {
            return Err(format!("GET peering: {} {}", r.status, r.text));
        }
        let links = &r.json()["properties"]["causeway"]["links"];
        let session = |role: &str, neighbor: &str| -> Result<Value, String> {
            let s = links[role]
                .as_array()
                .and_then(|all| all.iter().find(|s| s["neighbor"] == neighbor))
                .cloned()
                .ok_or_else(|| format!("no {role} session toward {neighbor}: {links}"))?;
            if s["state"] == "Established" {
                Ok(s)
            } else {
                Err(format!("{role} session toward {neighbor}: {s}"))
            }
        };
        Ok([
            session("primary", ONPREM_PRIMARY)?,
            session("secondary", ONPREM_SECONDARY)?,
        ])
    }

    /// The on-premises router's next hops toward the virtual network and the gateway's
    /// toward the on-premises LAN.
    pub fn next_hops(&self) -> Result<(Vec<String>, Vec<String>), String> {
        Ok((
            next_hops(&self.ns("onprem"), VNET_SPACE)?,
            next_hops(&self.gateway_ns, ONPREM_LAN)?,
        ))
    }

    /// Polls until both the on-premises router and the gateway route over `n` next hops.
    pub fn wait_next_hops(&self, n: usize, timeout: Duration) -> (Vec<String>, Vec<String>) {
        wait_for(
            timeout,
            &format!(
                "{n} next hop(s) on premises toward {VNET_SPACE} and in the gateway toward {ONPREM_LAN}"
            ),
            || {
                let (onprem, gateway) = self.next_hops()?;
                if onprem.len() == n && gateway.len() == n {
                    Ok((onprem, gateway))
                } else {
                    Err(format!("on premises {onprem:?}, gateway {gateway:?}"))
                }
            },
        )
    }

    /// Polls until both customer sessions are Established and both sides route over both
    /// links again (after a cut, a drain or an edge restart).
    pub fn wait_whole(&self, timeout: Duration) {
        wait_for(timeout, "both customer sessions Established", || {
            self.customer_sessions()
        });
        self.wait_next_hops(2, timeout);
    }
}

impl LabDown<'_> {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(causeway_bin());
        cmd.arg("lab")
            .args(args)
            .args(["--name", &self.name])
            .env("CAUSEWAY_ENDPOINT", self.ctl.url())
            .env("CAUSEWAY_DATA_DIR", self.ctl.data_dir())
            .env("CAUSEWAY_TOKEN", self.ctl.admin_token())
            .env_remove("CAUSEWAY_SUBSCRIPTION")
            .env_remove("CAUSEWAY_PROFILE")
            .env_remove("CAUSEWAY_CA_CERT");
        cmd
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run causeway lab {}: {e}", args.join(" ")));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "causeway lab {} --name {} failed ({}):\n{stdout}\n{}",
            args.join(" "),
            self.name,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

impl Drop for LabDown<'_> {
    fn drop(&mut self) {
        let down = self.command(&["down"]).stdin(Stdio::null()).output();
        match down {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "causeway lab down --name {} failed ({}): {}{}",
                self.name,
                o.status,
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("cannot run causeway lab down: {e}"),
        }
        // Whatever `lab down` could not remove (it stops at the first API error).
        for what in ["onprem", "host", "vm"] {
            remove_namespace(&format!("cwlab-{}-{what}", self.name));
        }
        let _ = std::fs::remove_dir_all(format!("/run/causeway-lab/{}", self.name));
    }
}

/// A running `causeway lab probe`; killed on drop if it has not finished.
#[derive(Debug)]
pub struct Probe {
    child: Mutex<Child>,
    seconds: f64,
}

impl Probe {
    /// Waits for the probe to end (its duration plus a margin) and reads its result.
    pub fn finish(self) -> ProbeResult {
        let timeout = Duration::from_secs_f64(self.seconds) + Duration::from_secs(30);
        let status = wait_for(timeout, "causeway lab probe to finish", || {
            match self.lock().try_wait() {
                Ok(Some(status)) => Ok(status),
                Ok(None) => Err("still running".to_string()),
                Err(e) => Err(format!("cannot wait for it: {e}")),
            }
        });
        let mut child = self.lock();
        let mut stdout = String::new();
        let mut stderr = String::new();
        if let Some(mut out) = child.stdout.take() {
            let _ = std::io::Read::read_to_string(&mut out, &mut stdout);
        }
        if let Some(mut err) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
        }
        assert!(
            status.success(),
            "causeway lab probe failed ({status}):\n{stdout}\n{stderr}"
        );
        serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!("causeway lab probe printed no result ({e}):\n{stdout}\n{stderr}")
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Child> {
        self.child.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let mut child = self.lock();
        if child.try_wait().ok().flatten().is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The next hops (gateways) of `prefix` in namespace `ns`'s main table: one for a plain
/// route, several for a multipath one, none when there is no route.
pub fn next_hops(ns: &str, prefix: &str) -> Result<Vec<String>, String> {
    let out = Command::new("ip")
        .args(["-n", ns, "-j", "route", "show", "exact", prefix])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ip -n {ns} route show exact {prefix}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let routes: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let mut hops = Vec::new();
    for r in routes.as_array().into_iter().flatten() {
        if let Some(g) = r["gateway"].as_str() {
            hops.push(g.to_string());
        }
        for n in r["nexthops"].as_array().into_iter().flatten() {
            if let Some(g) = n["gateway"].as_str() {
                hops.push(g.to_string());
            }
        }
    }
    Ok(hops)
}

// ===== hosts joined by an underlay =====

/// One simulated host of an [`Underlay`]: a namespace holding its underlay address.
#[derive(Debug, Clone)]
pub struct UnderlayHost {
    /// `cwu-<pid>-<n>`.
    pub namespace: String,
    /// `10.255.X.<n>` on `eth0` (/24).
    pub address: Ipv4Addr,
}

/// Several hosts on one layer-2 underlay, simulated in namespaces: host `n` (from 1) is
/// namespace `cwu-<pid>-<n>` with `eth0` at `10.255.X.n/24`, cabled to port `p<n>` of the
/// bridge `sw0` in the switch namespace `cwu-<pid>-sw`, MTU 9000 everywhere (VXLAN needs
/// room for 1550-byte frames). `X` is chosen per process, so runs never share an address
/// plan (their namespaces are disjoint anyway).
///
/// Dropping it deletes the hosts and the switch, and every namespace whose name starts with
/// a prefix handed to [`Underlay::sweep`] — what the hosts built on top (per-host fabric
/// namespaces are recorded by no edge, so nothing else removes them when a test fails).
/// Declare it before the [`Control`] so it is dropped after it.
#[derive(Debug)]
pub struct Underlay {
    pub switch: String,
    pub hosts: Vec<UnderlayHost>,
    sweep: Mutex<Vec<String>>,
}

impl Underlay {
    pub fn new(hosts: u8) -> Underlay {
        let pid = std::process::id();
        let x = 10 + (pid % 240) as u8;
        let switch = format!("cwu-{pid}-sw");
        let hosts: Vec<UnderlayHost> = (1..=hosts)
            .map(|n| UnderlayHost {
                namespace: format!("cwu-{pid}-{n}"),
                address: Ipv4Addr::new(10, 255, x, n),
            })
            .collect();
        let underlay = Underlay {
            switch,
            hosts,
            sweep: Mutex::new(Vec::new()),
        };
        // Left by an earlier run that had our pid.
        remove_namespace(&underlay.switch);
        for h in &underlay.hosts {
            remove_namespace(&h.namespace);
        }
        let sw = underlay.switch.as_str();
        let run = |args: &[&str]| {
            crate::control::ip(args).unwrap_or_else(|e| panic!("building the underlay: {e}"))
        };
        run(&["netns", "add", sw]);
        run(&["-n", sw, "link", "add", "sw0", "type", "bridge"]);
        run(&["-n", sw, "link", "set", "dev", "sw0", "mtu", "9000", "up"]);
        for (i, h) in underlay.hosts.iter().enumerate() {
            let ns = h.namespace.as_str();
            let port = format!("p{}", i + 1);
            let cidr = format!("{}/24", h.address);
            run(&["netns", "add", ns]);
            run(&["-n", ns, "link", "set", "lo", "up"]);
            run(&[
                "-n", sw, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", ns,
            ]);
            run(&["-n", sw, "link", "set", "dev", &port, "mtu", "9000"]);
            run(&["-n", sw, "link", "set", "dev", &port, "master", "sw0", "up"]);
            run(&["-n", ns, "link", "set", "dev", "eth0", "mtu", "9000"]);
            run(&["-n", ns, "addr", "add", &cidr, "dev", "eth0"]);
            run(&["-n", ns, "link", "set", "dev", "eth0", "up"]);
        }
        underlay
    }

    /// An inventory (TOML) for the `Lab` location: `lab-edge-1` on host 1, `lab-edge-2` on
    /// host 2 (lab ports, router ids 192.0.2.1 / .2) and the gateway host `lab-gateway` on
    /// host 3, each with its VXLAN tunnel endpoint on its host's underlay.
    pub fn lab_inventory(&self) -> String {
        assert!(self.hosts.len() >= 3, "the lab inventory needs three hosts");
        let fabric = |h: &UnderlayHost| {
            format!(
                "fabric = {{ address = \"{}\", underlay_namespace = \"{}\" }}",
                h.address, h.namespace
            )
        };
        format!(
            "[[location]]\nname = \"Lab\"\n\
             [location.primary]\nname = \"lab-edge-1\"\nrouter_id = \"192.0.2.1\"\nlab = true\n{}\n\
             [location.secondary]\nname = \"lab-edge-2\"\nrouter_id = \"192.0.2.2\"\nlab = true\n{}\n\
             [gateway]\nname = \"lab-gateway\"\n{}\n",
            fabric(&self.hosts[0]),
            fabric(&self.hosts[1]),
            fabric(&self.hosts[2]),
        )
    }

    /// The host whose underlay address is `address`.
    pub fn host(&self, address: &str) -> Option<&UnderlayHost> {
        self.hosts.iter().find(|h| h.address.to_string() == address)
    }

    /// Bytes received and sent on host `i`'s (from 0) underlay port `eth0`.
    pub fn counters(&self, i: usize) -> (u64, u64) {
        let ns = &self.hosts[i].namespace;
        let out = crate::control::ip(&["-n", ns, "-s", "-j", "link", "show", "dev", "eth0"])
            .unwrap_or_else(|e| panic!("{e}"));
        let v: Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("ip -s -j link show in {ns}: {e}: {out}"));
        let stats = &v[0]["stats64"];
        (
            stats["rx"]["bytes"].as_u64().unwrap_or(0),
            stats["tx"]["bytes"].as_u64().unwrap_or(0),
        )
    }

    /// Every namespace starting with `prefix` is deleted with the underlay.
    pub fn sweep(&self, prefix: &str) {
        self.sweep
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(prefix.to_string());
    }
}

impl Drop for Underlay {
    fn drop(&mut self) {
        let prefixes = self.sweep.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for name in crate::netns::namespaces() {
            if prefixes.iter().any(|p| name.starts_with(p.as_str())) {
                remove_namespace(&name);
            }
        }
        for h in &self.hosts {
            remove_namespace(&h.namespace);
        }
        remove_namespace(&self.switch);
    }
}
