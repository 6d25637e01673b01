//! Causeway's edge: `causeway edge --config FILE` in a namespace, read through its status
//! endpoint (queried with curl from inside the namespace, where it listens).
//!
//! The binary is `$CAUSEWAY_BIN` if set, else `$CARGO_TARGET_DIR/debug/causeway`, else
//! `<workspace>/target/debug/causeway`; `scripts/test` builds it before the tests run.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use serde::Deserialize;

use crate::netns::Netns;
use crate::process::Daemon;
use crate::wait::wait_for;
use crate::{CONVERGE, SeenRoute};

/// Where the status endpoint listens inside the edge's namespace.
pub const STATUS_LISTEN: &str = "127.0.0.1:8179";

/// A peer in the edge config. Families follow the peer address (one session per family).
#[derive(Debug, Clone)]
pub struct EdgePeer {
    pub name: String,
    pub address: IpAddr,
    pub local_address: Option<IpAddr>,
    pub remote_as: u32,
    pub md5_key: Option<String>,
    pub max_prefixes_ipv4: Option<u32>,
    pub max_prefixes_ipv6: Option<u32>,
    pub passive: bool,
    pub hold_time: u16,
    pub connect_retry: u16,
    /// The idle-hold backoff after errors, seconds (min, max); `None`: the edge's default.
    pub error_wait: Option<(u32, u32)>,
    pub families: Vec<&'static str>,
}

impl EdgePeer {
    /// A peer with a 9 s hold time and a 1 s connect retry, so tests converge quickly.
    pub fn new(
        name: &str,
        address: impl Into<IpAddr>,
        local_address: impl Into<IpAddr>,
        remote_as: u32,
    ) -> Self {
        let address = address.into();
        EdgePeer {
            name: name.to_string(),
            address,
            local_address: Some(local_address.into()),
            remote_as,
            md5_key: None,
            max_prefixes_ipv4: None,
            max_prefixes_ipv6: None,
            passive: false,
            hold_time: 9,
            connect_retry: 1,
            error_wait: None,
            families: vec![if address.is_ipv6() { "ipv6" } else { "ipv4" }],
        }
    }

    pub fn remote_as(mut self, asn: u32) -> Self {
        self.remote_as = asn;
        self
    }

    /// The idle-hold backoff after errors: `min` seconds, doubling up to `max`.
    pub fn error_wait(mut self, min: u32, max: u32) -> Self {
        self.error_wait = Some((min, max));
        self
    }

    pub fn md5(mut self, key: &str) -> Self {
        self.md5_key = Some(key.to_string());
        self
    }

    pub fn max_prefixes_ipv4(mut self, n: u32) -> Self {
        self.max_prefixes_ipv4 = Some(n);
        self
    }

    pub fn hold_time(mut self, secs: u16) -> Self {
        self.hold_time = secs;
        self
    }
}

/// A routing domain in the edge config.
#[derive(Debug, Clone)]
pub struct EdgeDomain {
    pub name: String,
    pub originate: Vec<String>,
    pub peers: Vec<EdgePeer>,
    /// Program the best routes into the edge namespace's kernel table.
    pub fib: bool,
}

impl EdgeDomain {
    pub fn new(name: &str) -> Self {
        EdgeDomain {
            name: name.to_string(),
            originate: Vec::new(),
            peers: Vec::new(),
            fib: false,
        }
    }

    pub fn fib(mut self) -> Self {
        self.fib = true;
        self
    }

    pub fn originate(mut self, prefixes: &[&str]) -> Self {
        self.originate = prefixes.iter().map(|p| p.to_string()).collect();
        self
    }

    pub fn peer(mut self, p: EdgePeer) -> Self {
        self.peers.push(p);
        self
    }

    pub fn peers(mut self, p: impl IntoIterator<Item = EdgePeer>) -> Self {
        self.peers.extend(p);
        self
    }
}

/// The whole edge config.
#[derive(Debug, Clone)]
pub struct EdgeSpec {
    pub local_as: u32,
    pub router_id: Ipv4Addr,
    pub domains: Vec<EdgeDomain>,
}

impl EdgeSpec {
    /// AS 12076 (the default), router id 192.0.2.1.
    pub fn new() -> Self {
        EdgeSpec {
            local_as: 12076,
            router_id: Ipv4Addr::new(192, 0, 2, 1),
            domains: Vec::new(),
        }
    }

    pub fn domain(mut self, d: EdgeDomain) -> Self {
        self.domains.push(d);
        self
    }

    /// The edge.toml text (format: crates/edge/src/config.rs).
    pub fn render(&self) -> String {
        let q = |s: &str| format!("{s:?}");
        let list = |v: &[String]| v.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ");
        let mut c = format!(
            "local_as = {}\nrouter_id = \"{}\"\nlisten_port = 179\nstatus_listen = \"{STATUS_LISTEN}\"\n",
            self.local_as, self.router_id
        );
        for d in &self.domains {
            c.push_str(&format!(
                "\n[[domain]]\nname = {}\noriginate = [{}]\nfib = {}\n",
                q(&d.name),
                list(&d.originate),
                d.fib
            ));
            for p in &d.peers {
                c.push_str(&format!(
                    "\n[[domain.peer]]\nname = {}\naddress = \"{}\"\nremote_as = {}\n",
                    q(&p.name),
                    p.address,
                    p.remote_as
                ));
                if let Some(a) = p.local_address {
                    c.push_str(&format!("local_address = \"{a}\"\n"));
                }
                if let Some(k) = &p.md5_key {
                    c.push_str(&format!("md5_key = {}\n", q(k)));
                }
                let mut max = Vec::new();
                if let Some(n) = p.max_prefixes_ipv4 {
                    max.push(format!("ipv4 = {n}"));
                }
                if let Some(n) = p.max_prefixes_ipv6 {
                    max.push(format!("ipv6 = {n}"));
                }
                if !max.is_empty() {
                    c.push_str(&format!("max_prefixes = {{ {} }}\n", max.join(", ")));
                }
                if let Some((min, max)) = p.error_wait {
                    c.push_str(&format!("error_wait = {{ min = {min}, max = {max} }}\n"));
                }
                let families: Vec<String> = p.families.iter().map(|f| f.to_string()).collect();
                c.push_str(&format!(
                    "passive = {}\nhold_time = {}\nconnect_retry = {}\nfamilies = [{}]\n",
                    p.passive,
                    p.hold_time,
                    p.connect_retry,
                    list(&families)
                ));
            }
        }
        c
    }
}

impl Default for EdgeSpec {
    fn default() -> Self {
        Self::new()
    }
}

/// GET /status.
#[derive(Debug, Clone, Deserialize)]
pub struct Status {
    pub router_id: String,
    pub local_as: u32,
    pub domains: Vec<DomainStatus>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DomainStatus {
    pub name: String,
    pub peers: Vec<PeerStatus>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PeerStatus {
    pub name: String,
    pub address: String,
    pub remote_as: u32,
    /// Idle, Connect, Active, OpenSent, OpenConfirm or Established.
    pub state: String,
    #[serde(default)]
    pub uptime_secs: Option<u64>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub prefixes: Prefixes,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Prefixes {
    #[serde(default)]
    pub ipv4: Option<FamilyCounts>,
    #[serde(default)]
    pub ipv6: Option<FamilyCounts>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct FamilyCounts {
    #[serde(default)]
    pub received: u64,
    #[serde(default)]
    pub accepted: u64,
    #[serde(default)]
    pub advertised: u64,
}

/// GET /routes.
#[derive(Debug, Clone, Deserialize)]
struct RoutesReply {
    domains: Vec<DomainRoutes>,
}

#[derive(Debug, Clone, Deserialize)]
struct DomainRoutes {
    name: String,
    routes: Vec<EdgeRoute>,
}

/// One route in a domain's Loc-RIB as the edge reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct EdgeRoute {
    pub prefix: String,
    /// The peer it was learned from; `None` for the domain's own (originated) prefixes.
    #[serde(default)]
    pub peer: Option<String>,
    #[serde(default)]
    pub as_path: String,
    #[serde(default)]
    pub next_hop: Option<String>,
    #[serde(default)]
    pub best: bool,
}

impl From<&EdgeRoute> for SeenRoute {
    fn from(r: &EdgeRoute) -> SeenRoute {
        SeenRoute {
            prefix: r.prefix.clone(),
            as_path: r.as_path.clone(),
            next_hop: r.next_hop.clone().unwrap_or_default(),
            from: r.peer.clone(),
        }
    }
}

/// A running edge.
#[derive(Debug)]
pub struct Edge {
    ns: String,
    config: PathBuf,
    spec: EdgeSpec,
    daemon: Daemon,
}

/// The edge binary under test.
pub fn causeway_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CAUSEWAY_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("debug/causeway")
}

impl Edge {
    /// Writes edge.toml into `ns`'s work directory, starts the edge inside `ns` and waits
    /// until its status endpoint answers.
    pub fn start(ns: &Netns, spec: EdgeSpec) -> Edge {
        let bin = causeway_bin();
        assert!(
            bin.is_file(),
            "edge binary {} not found: build it with `cargo build -p causeway` (scripts/test \
             does) or set CAUSEWAY_BIN",
            bin.display()
        );
        let config = ns.dir().join("edge.toml");
        let log = ns.dir().join("edge.log");
        std::fs::write(&config, spec.render())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
        let rust_log = std::env::var("CAUSEWAY_E2E_LOG").unwrap_or_else(|_| "debug".to_string());
        let daemon = Daemon::spawn(
            ns,
            "edge",
            &log,
            &bin.to_string_lossy(),
            &["edge", "--config", &config.to_string_lossy()],
            &[("RUST_LOG", &rust_log), ("NO_COLOR", "1")],
        );
        let edge = Edge {
            ns: ns.name().to_string(),
            config,
            spec,
            daemon,
        };
        wait_for(CONVERGE, "the edge's status endpoint to answer", || {
            edge.status().map(|_| ())
        });
        edge
    }

    pub fn daemon(&self) -> &Daemon {
        &self.daemon
    }

    pub fn spec(&self) -> &EdgeSpec {
        &self.spec
    }

    /// GET `path` from the status endpoint as JSON.
    pub fn get(&self, path: &str) -> Result<serde_json::Value, String> {
        self.daemon.assert_running();
        let url = format!("http://{STATUS_LISTEN}{path}");
        let out = std::process::Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns,
                "curl",
                "-sS",
                "-f",
                "--max-time",
                "5",
                &url,
            ])
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("cannot run curl: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "GET {url}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "GET {url}: not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    pub fn status(&self) -> Result<Status, String> {
        let v = self.get("/status")?;
        serde_json::from_value(v.clone())
            .map_err(|e| format!("/status has an unexpected shape ({e}): {v}"))
    }

    /// The status of peer `name` in domain `domain`.
    pub fn peer(&self, domain: &str, name: &str) -> Result<PeerStatus, String> {
        let s = self.status()?;
        s.domains
            .iter()
            .find(|d| d.name == domain)
            .ok_or_else(|| format!("no domain {domain} in /status"))?
            .peers
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .ok_or_else(|| format!("no peer {name} in domain {domain} in /status"))
    }

    /// `Ok` once the peer is Established; otherwise what was seen.
    pub fn established(&self, domain: &str, name: &str) -> Result<PeerStatus, String> {
        let p = self.peer(domain, name)?;
        if p.state == "Established" {
            Ok(p)
        } else {
            Err(format!(
                "edge peer {domain}/{name}: {} (last_error: {:?})",
                p.state, p.last_error
            ))
        }
    }

    /// The Loc-RIB of `domain` (GET /routes?domain=NAME).
    pub fn routes(&self, domain: &str) -> Result<Vec<EdgeRoute>, String> {
        let v = self.get(&format!("/routes?domain={domain}"))?;
        let reply: RoutesReply = serde_json::from_value(v.clone())
            .map_err(|e| format!("/routes has an unexpected shape ({e}): {v}"))?;
        Ok(reply
            .domains
            .into_iter()
            .filter(|d| d.name == domain)
            .flat_map(|d| d.routes)
            .collect())
    }

    /// Rewrites the config to `spec` and signals SIGHUP.
    pub fn reload(&mut self, spec: EdgeSpec) {
        std::fs::write(&self.config, spec.render())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", self.config.display()));
        self.spec = spec;
        self.daemon.signal("HUP");
    }

    pub fn kill(&self) {
        self.daemon.kill();
    }

    /// Sends SIGTERM and waits (up to `timeout`) for the process to exit on its own.
    pub fn terminate(&self, timeout: std::time::Duration) -> std::process::ExitStatus {
        self.daemon.signal("TERM");
        wait_for(timeout, "the edge to exit after SIGTERM", || {
            self.daemon
                .exited()
                .ok_or_else(|| "still running".to_string())
        })
    }
}
