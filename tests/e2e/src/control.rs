//! The control plane: `causeway serve` on the host with its in-process lab edges, driven
//! through its ARM API, plus `causeway edge --control` processes and the customer ends of
//! circuits' cross-connects.
//!
//! Flow in a test: [`Control::start`] (a temp data directory, a free loopback port, the
//! built-in lab inventory: `lab-edge-1` and `lab-edge-2` at `Lab`) → [`Control::create_circuit`]
//! → [`Control::provision`] (the provider's cross-connection) → [`Control::put_peering`] →
//! [`customer_link`] waits for the edge to leave `ce0` in the customer's namespace, adopts
//! the namespace and gives `ce0` the customer's address → the test runs its router there and
//! reads the API's live view ([`Control::sessions`], [`Control::action`], …).
//!
//! Several instances may run at once (tests in parallel): their edges share names, but a
//! circuit's namespaces carry its service key, and each edge removes only what it recorded
//! building for its own control plane (`/run/causeway/<instance>/<edge>/`).
//!
//! Clean-up (also on failure): dropping [`Control`] kills serve, then kills whatever runs in
//! every namespace of the circuits it created (or adopted) and in every namespace its edges
//! recorded building (gateways and fabric segments included), deletes those namespaces and
//! the records; edge processes and BIRDs are [`Daemon`]s that die on drop.
//!
//! [`ServeFlags`] adds serve flags some tests need (BFD timers, which edges run in-process);
//! `crate::lab::CausewayLab` runs `causeway lab` against a [`Control`].

use std::net::{Ipv4Addr, Ipv6Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::CONVERGE;
use crate::edge::causeway_bin;
use crate::netns::{Netns, WORK_ROOT, namespaces, remove_namespace};
use crate::process::Daemon;
use crate::wait::wait_for;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The api-version the tests send.
pub const API_VERSION: &str = "2024-05-01";
/// The built-in lab provider and its catalogue subscription / cross-connection group.
pub const LAB_PROVIDER: &str = "Causeway Lab";
pub const LAB_SUBSCRIPTION: &str = "00000000-0000-0000-0000-00000000c0de";
pub const LAB_RESOURCE_GROUP: &str = "CrossConnection-Lab";

/// How `causeway serve` is started.
#[derive(Debug, Clone, Default)]
pub struct ControlOptions {
    /// HTTPS with the self-signed certificate made in the data directory (else `--http`).
    pub https: bool,
    /// Run only the primary edge in-process (`--local-edges <primary>`); the secondary is
    /// then expected to run as its own process ([`Control::start_edge`]).
    pub only_primary_in_process: bool,
}

/// More `causeway serve` flags, for the tests that need them. Apart from [`ControlOptions`]
/// because tests build that one as an exhaustive struct literal.
#[derive(Debug, Clone, Default)]
pub struct ServeFlags {
    /// `--bfd-interval-ms`: the edges' BFD interval on private peering (serve's default:
    /// 300 ms).
    pub bfd_interval_ms: Option<u32>,
    /// `--bfd-multiplier` (serve's default: 3).
    pub bfd_multiplier: Option<u8>,
    /// `--local-edges`: the edges (and gateway hosts) of the inventory serve runs
    /// in-process, e.g. `lab-edge-2,lab-gateway` when the test runs `lab-edge-1` as its own
    /// process. Overrides [`ControlOptions::only_primary_in_process`]; by default the two
    /// lab edges (no gateway host).
    pub local_edges: Option<Vec<String>>,
    /// `--inventory FILE`: the edge inventory (TOML) instead of the built-in lab one, e.g.
    /// with VXLAN tunnel endpoints (`fabric = { address, underlay_namespace }`).
    pub inventory: Option<PathBuf>,
    /// `--store`: e.g. a PostgreSQL database several control planes share
    /// ([`fresh_postgres_database`]); default: SQLite in the data directory.
    pub store: Option<String>,
}

/// A new database on the PostgreSQL server `CAUSEWAY_TEST_POSTGRES` names (scripts/test
/// starts one), as a `--store` URL; `None` without a server (under `CI=true`, a failure).
pub fn fresh_postgres_database(test: &str) -> Option<String> {
    let Some(base) = std::env::var("CAUSEWAY_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        let msg =
            format!("{test}: CAUSEWAY_TEST_POSTGRES is not set (scripts/test starts a server)");
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
        return None;
    };
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!("e2e_{}_{n}", std::process::id());
    let out = Command::new("psql")
        .args(["-q", &base, "-c", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "CREATE DATABASE {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = base.rsplit_once('/').map_or(base.as_str(), |(r, _)| r);
    Some(format!("{root}/{name}"))
}

impl ServeFlags {
    /// Every edge and gateway host of the built-in lab inventory in-process, as `causeway
    /// serve` runs them without `--local-edges`: what `causeway lab` needs.
    pub fn lab() -> ServeFlags {
        ServeFlags {
            local_edges: Some(
                ["lab-edge-1", "lab-edge-2", "lab-gateway"]
                    .map(String::from)
                    .to_vec(),
            ),
            ..ServeFlags::default()
        }
    }

    pub fn bfd_interval_ms(mut self, ms: u32) -> ServeFlags {
        self.bfd_interval_ms = Some(ms);
        self
    }

    pub fn local_edges(mut self, edges: &[&str]) -> ServeFlags {
        self.local_edges = Some(edges.iter().map(|e| e.to_string()).collect());
        self
    }

    pub fn inventory(mut self, file: impl Into<PathBuf>) -> ServeFlags {
        self.inventory = Some(file.into());
        self
    }
}

/// A running `causeway serve`.
#[derive(Debug)]
pub struct Control {
    label: String,
    data_dir: PathBuf,
    base: String,
    https: bool,
    primary_edge: String,
    secondary_edge: String,
    daemon: Daemon,
    agent: ureq::Agent,
    admin: String,
    /// Service keys of the circuits created here: their namespaces are swept on drop.
    keys: Mutex<Vec<String>>,
    /// The control plane's identity, which scopes its edges' records in /run/causeway.
    instance: Option<String>,
    edge_starts: AtomicU32,
    store: Option<String>,
}

/// A circuit created through [`Control::create_circuit`].
#[derive(Debug, Clone)]
pub struct Circuit {
    /// ARM path (`/subscriptions/…/expressRouteCircuits/NAME`).
    pub path: String,
    pub service_key: String,
}

impl Circuit {
    /// The first 8 characters of the service key, as in the namespace names.
    pub fn sk8(&self) -> &str {
        &self.service_key[..8]
    }

    pub fn peering(&self, name: &str) -> String {
        format!("{}/peerings/{name}", self.path)
    }

    /// The provider's view of the circuit.
    pub fn cross_connection(&self) -> String {
        format!(
            "/subscriptions/{LAB_SUBSCRIPTION}/resourceGroups/{LAB_RESOURCE_GROUP}/providers/Microsoft.Network/expressRouteCrossConnections/{}",
            self.service_key
        )
    }

    /// The customer's end of link `role` ("primary" / "secondary") in the lab.
    pub fn customer_namespace(&self, role: &str) -> String {
        format!("cw-{}-{role}", self.sk8())
    }

    /// Every namespace of this circuit that exists now.
    pub fn namespaces(&self) -> Vec<String> {
        let sk8 = self.sk8().to_string();
        namespaces()
            .into_iter()
            .filter(|n| n.contains(&sk8))
            .collect()
    }
}

/// A virtual network connected to a circuit through an ExpressRoute gateway (ARM paths).
#[derive(Debug, Clone)]
pub struct CloudSide {
    pub vnet: String,
    pub gateway: String,
    pub connection: String,
}

/// An AzurePrivatePeering as the customer configures it.
#[derive(Debug, Clone)]
pub struct PrivatePeering {
    pub peer_asn: u32,
    pub primary: String,
    pub secondary: String,
    pub vlan_id: u16,
    pub shared_key: Option<String>,
    /// IPv6 primary and secondary /126s.
    pub ipv6: Option<(String, String)>,
    pub enabled: bool,
}

impl PrivatePeering {
    /// AS `peer_asn` on `10.77.<n>.0/30` (primary) and `10.77.<n>.4/30` (secondary).
    pub fn new(peer_asn: u32, n: u8) -> Self {
        PrivatePeering {
            peer_asn,
            primary: format!("10.77.{n}.0/30"),
            secondary: format!("10.77.{n}.4/30"),
            vlan_id: 100 + u16::from(n),
            shared_key: None,
            ipv6: None,
            enabled: true,
        }
    }

    pub fn shared_key(mut self, key: &str) -> Self {
        self.shared_key = Some(key.to_string());
        self
    }

    pub fn ipv6(mut self, primary: &str, secondary: &str) -> Self {
        self.ipv6 = Some((primary.to_string(), secondary.to_string()));
        self
    }

    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// The /30 of link `role`.
    pub fn prefix(&self, role: &str) -> &str {
        if role == "primary" {
            &self.primary
        } else {
            &self.secondary
        }
    }

    pub fn prefix_v6(&self, role: &str) -> Option<&str> {
        self.ipv6.as_ref().map(|(p, s)| {
            if role == "primary" {
                p.as_str()
            } else {
                s.as_str()
            }
        })
    }

    pub fn body(&self) -> Value {
        let mut props = json!({
            "peeringType": "AzurePrivatePeering",
            "peerASN": self.peer_asn,
            "primaryPeerAddressPrefix": self.primary,
            "secondaryPeerAddressPrefix": self.secondary,
            "vlanId": self.vlan_id,
            "state": if self.enabled { "Enabled" } else { "Disabled" },
        });
        if let Some(key) = &self.shared_key {
            props["sharedKey"] = json!(key);
        }
        if let Some((p, s)) = &self.ipv6 {
            props["ipv6PeeringConfig"] = json!({
                "primaryPeerAddressPrefix": p,
                "secondaryPeerAddressPrefix": s,
                "state": "Enabled",
            });
        }
        json!({ "properties": props })
    }
}

/// An answer from the API.
#[derive(Debug, Clone)]
pub struct Resp {
    pub method: String,
    pub url: String,
    pub status: u16,
    pub location: Option<String>,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| {
            panic!(
                "{} {}: body is not JSON ({e}): {:?}",
                self.method, self.url, self.text
            )
        })
    }

    /// Panics unless the status is one of `statuses`.
    #[track_caller]
    pub fn expect(&self, statuses: &[u16]) -> &Self {
        assert!(
            statuses.contains(&self.status),
            "{} {}: expected {statuses:?}, got {}: {}",
            self.method,
            self.url,
            self.status,
            self.text
        );
        self
    }
}

impl Control {
    /// Starts `causeway serve --http` with both lab edges in-process.
    pub fn start(test: &str) -> Control {
        Control::start_with(test, ControlOptions::default())
    }

    pub fn start_with(test: &str, opts: ControlOptions) -> Control {
        Control::start_with_flags(test, opts, ServeFlags::default())
    }

    pub fn start_with_flags(test: &str, opts: ControlOptions, flags: ServeFlags) -> Control {
        let bin = causeway_bin();
        assert!(
            bin.is_file(),
            "causeway binary {} not found: build it with `cargo build -p causeway` \
             (scripts/test does) or set CAUSEWAY_BIN",
            bin.display()
        );
        let initials: String = test
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter_map(|w| w.chars().next())
            .take(8)
            .collect();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let primary_edge = "lab-edge-1".to_string();
        let secondary_edge = "lab-edge-2".to_string();
        let data_dir =
            Path::new(WORK_ROOT).join(format!("ctl-{initials}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data_dir);
        std::fs::create_dir_all(&data_dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", data_dir.display()));
        let local_edges = match &flags.local_edges {
            Some(edges) if edges.is_empty() => "none".to_string(),
            Some(edges) => edges.join(","),
            None if opts.only_primary_in_process => primary_edge.clone(),
            None => format!("{primary_edge},{secondary_edge}"),
        };
        let bfd_interval = flags.bfd_interval_ms.map(|ms| ms.to_string());
        let bfd_multiplier = flags.bfd_multiplier.map(|m| m.to_string());
        let rust_log = std::env::var("CAUSEWAY_E2E_LOG").unwrap_or_else(|_| "info".to_string());
        let scheme = if opts.https { "https" } else { "http" };

        // A free port: ask the kernel for one, then let serve bind it. Another process may
        // take it in between; then serve exits and we try another.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("a free loopback port");
            let listen = format!("127.0.0.1:{port}");
            let log = data_dir.join(format!("serve-{attempt}.log"));
            let mut args = vec![
                "serve",
                "--data-dir",
                data_dir.to_str().expect("utf-8 path"),
                "--listen",
                &listen,
                "--local-edges",
                &local_edges,
            ];
            if !opts.https {
                args.push("--http");
            }
            if let Some(ms) = &bfd_interval {
                args.extend(["--bfd-interval-ms", ms]);
            }
            if let Some(m) = &bfd_multiplier {
                args.extend(["--bfd-multiplier", m]);
            }
            if let Some(file) = &flags.inventory {
                args.extend(["--inventory", file.to_str().expect("utf-8 path")]);
            }
            if let Some(store) = &flags.store {
                args.extend(["--store", store]);
            }
            let label = format!("serve ({scheme}://{listen})");
            let daemon = Daemon::spawn_host(
                &label,
                &log,
                bin.to_str().expect("utf-8 path"),
                &args,
                &[("RUST_LOG", &rust_log)],
            );
            let base = format!("{scheme}://{listen}");
            let ready = wait_for(CONVERGE, &format!("{label} to answer"), || {
                if let Some(status) = daemon.exited() {
                    return Ok(Err(format!("exited ({status}): {}", daemon.log())));
                }
                let agent = client(&data_dir, opts.https)?;
                let admin = std::fs::read_to_string(data_dir.join("admin.token"))
                    .map_err(|e| format!("no admin token yet: {e}"))?;
                let r = send(&agent, "GET", &format!("{base}/openapi.json"), None, None)?;
                if r.status == 200 {
                    Ok(Ok((agent, admin.trim().to_string())))
                } else {
                    Err(format!("GET /openapi.json: {} {}", r.status, r.text))
                }
            });
            match ready {
                Ok((agent, admin)) => {
                    // What its edges are told (and record what they build under).
                    let instance = send(
                        &agent,
                        "GET",
                        &format!("{base}/edge/v1/{primary_edge}/desired"),
                        Some(&admin),
                        None,
                    )
                    .ok()
                    .and_then(|r| serde_json::from_str::<Value>(&r.text).ok())
                    .and_then(|v| v["instance"].as_str().map(str::to_string))
                    .filter(|i| !i.is_empty() && !i.contains('/') && !i.contains('.'));
                    return Control {
                        instance,
                        label,
                        data_dir,
                        base,
                        https: opts.https,
                        primary_edge,
                        secondary_edge,
                        daemon,
                        agent,
                        admin,
                        keys: Mutex::new(Vec::new()),
                        edge_starts: AtomicU32::new(0),
                        store: flags.store.clone(),
                    };
                }
                Err(e) if attempt < 5 && e.contains("cannot serve on") => continue,
                Err(e) => panic!("{label} did not start: {e}"),
            }
        }
    }

    /// The base URL (`http://127.0.0.1:PORT` or `https://…`).
    pub fn url(&self) -> &str {
        &self.base
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn primary_edge(&self) -> &str {
        &self.primary_edge
    }

    pub fn secondary_edge(&self) -> &str {
        &self.secondary_edge
    }

    /// The edge carrying link `role`.
    pub fn edge_of(&self, role: &str) -> &str {
        if role == "primary" {
            &self.primary_edge
        } else {
            &self.secondary_edge
        }
    }

    pub fn daemon(&self) -> &Daemon {
        &self.daemon
    }

    /// The admin token's secret (what `causeway` clients on this host would read from
    /// `<data-dir>/admin.token`).
    pub fn admin_token(&self) -> &str {
        &self.admin
    }

    /// A circuit someone else created through this control plane (e.g. `causeway lab up`):
    /// read its service key, and sweep its namespaces on drop like those of
    /// [`Control::create_circuit`].
    pub fn adopt_circuit(&self, path: &str) -> Circuit {
        let r = self.get(path);
        r.expect(&[200]);
        let service_key = r.json()["properties"]["serviceKey"]
            .as_str()
            .unwrap_or_else(|| panic!("GET {path}: no serviceKey in {}", r.text))
            .to_string();
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if !keys.contains(&service_key) {
            keys.push(service_key.clone());
        }
        Circuit {
            path: path.to_string(),
            service_key,
        }
    }

    /// Sends `method path` with the admin token; `path` is an ARM path (api-version is
    /// appended) or a full URL handed out by the API (sent as given).
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        self.daemon.assert_running();
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            let sep = if path.contains('?') { '&' } else { '?' };
            format!("{}{path}{sep}api-version={API_VERSION}", self.base)
        };
        send(&self.agent, method, &url, Some(&self.admin), body)
            .unwrap_or_else(|e| panic!("{}: {e}", self.label))
    }

    pub fn get(&self, path: &str) -> Resp {
        self.request("GET", path, None)
    }

    pub fn put(&self, path: &str, body: &Value) -> Resp {
        self.request("PUT", path, Some(body))
    }

    pub fn delete(&self, path: &str) -> Resp {
        self.request("DELETE", path, None)
    }

    /// Creates a Standard metered 50 Mbps circuit with the lab provider at `Lab`.
    pub fn create_circuit(&self, subscription: &str, resource_group: &str, name: &str) -> Circuit {
        let path = format!(
            "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Network/expressRouteCircuits/{name}"
        );
        let r = self.put(
            &path,
            &json!({
                "location": "westeurope",
                "sku": {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"},
                "properties": {
                    "serviceProviderProperties": {
                        "serviceProviderName": LAB_PROVIDER,
                        "peeringLocation": "Lab",
                        "bandwidthInMbps": 50
                    }
                }
            }),
        );
        r.expect(&[200, 201]);
        let service_key = r.json()["properties"]["serviceKey"]
            .as_str()
            .unwrap_or_else(|| panic!("PUT {path}: no serviceKey in {}", r.text))
            .to_string();
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(service_key.clone());
        Circuit { path, service_key }
    }

    /// The provider moves the circuit to `state` through its cross-connection.
    pub fn provider_state(&self, c: &Circuit, state: &str) {
        self.put(
            &c.cross_connection(),
            &json!({"properties": {"serviceProviderProvisioningState": state}}),
        )
        .expect(&[200]);
    }

    pub fn provision(&self, c: &Circuit) {
        self.provider_state(c, "Provisioned");
    }

    /// Provider deprovisions (Deprovisioning → NotProvisioned).
    pub fn deprovision(&self, c: &Circuit) {
        self.provider_state(c, "Deprovisioning");
        self.provider_state(c, "NotProvisioned");
    }

    pub fn put_peering(&self, c: &Circuit, p: &PrivatePeering) {
        self.put(&c.peering("AzurePrivatePeering"), &p.body())
            .expect(&[200, 201]);
    }

    pub fn circuit(&self, c: &Circuit) -> Value {
        let r = self.get(&c.path);
        r.expect(&[200]);
        r.json()
    }

    /// The circuit's live link status (`properties.causeway.links.<role>`).
    pub fn link(&self, c: &Circuit, role: &str) -> Value {
        self.circuit(c)["properties"]["causeway"]["links"][role].clone()
    }

    /// GET `{circuit}/stats`.
    pub fn stats(&self, c: &Circuit) -> Value {
        let r = self.get(&format!("{}/stats", c.path));
        r.expect(&[200]);
        r.json()
    }

    /// The sessions of the private peering on link `role`
    /// (`properties.causeway.links.<role>` of the peering).
    pub fn sessions(&self, c: &Circuit, role: &str) -> Vec<Value> {
        let r = self.get(&c.peering("AzurePrivatePeering"));
        r.expect(&[200]);
        r.json()["properties"]["causeway"]["links"][role]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The session toward `neighbor` on link `role`, or what the peering shows instead.
    pub fn session(&self, c: &Circuit, role: &str, neighbor: &str) -> Result<Value, String> {
        let sessions = self.sessions(c, role);
        sessions
            .iter()
            .find(|s| s["neighbor"] == neighbor)
            .cloned()
            .ok_or_else(|| format!("no {role} session toward {neighbor}: {sessions:?}"))
    }

    /// `Ok` once the session toward `neighbor` on link `role` is Established.
    pub fn established(&self, c: &Circuit, role: &str, neighbor: &str) -> Result<Value, String> {
        let s = self.session(c, role, neighbor)?;
        if s["state"] == "Established" {
            Ok(s)
        } else {
            Err(format!("{role} session toward {neighbor}: {s}"))
        }
    }

    /// POST `{peering}/{action}/{role}` (arpTables, routeTables, routeTablesSummary), then
    /// GET the Location it answers with; the `value` list.
    pub fn action(&self, c: &Circuit, action: &str, role: &str) -> Vec<Value> {
        let post = self.request(
            "POST",
            &format!("{}/{action}/{role}", c.peering("AzurePrivatePeering")),
            None,
        );
        post.expect(&[202]);
        let location = post.location.clone().unwrap_or_else(|| {
            panic!(
                "POST {}: 202 without a Location header: {}",
                post.url, post.text
            )
        });
        let result = self.get(&location);
        result.expect(&[200]);
        result.json()["value"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("GET {location}: no value list: {}", result.text))
    }

    /// The cloud side: a virtual network with address space `prefix` (and a GatewaySubnet
    /// carved from its end), an ExpressRoute gateway in it and a connection from the
    /// gateway to circuit `c`. `None` when this control plane does not serve
    /// `virtualNetworks` (404).
    pub fn connect_virtual_network(
        &self,
        c: &Circuit,
        resource_group: &str,
        name: &str,
        prefix: &str,
        gateway_subnet: &str,
    ) -> Option<CloudSide> {
        let sub = c
            .path
            .split('/')
            .nth(2)
            .expect("a circuit path names its subscription");
        let rg = format!(
            "/subscriptions/{sub}/resourceGroups/{resource_group}/providers/Microsoft.Network"
        );
        let vnet = format!("{rg}/virtualNetworks/{name}");
        let r = self.put(
            &vnet,
            &json!({
                "location": "westeurope",
                "properties": {
                    "addressSpace": {"addressPrefixes": [prefix]},
                    "subnets": [{"name": "GatewaySubnet", "properties": {"addressPrefix": gateway_subnet}}]
                }
            }),
        );
        if r.status == 404 {
            return None;
        }
        r.expect(&[200, 201]);
        let gateway = format!("{rg}/virtualNetworkGateways/{name}-gw");
        self.put(
            &gateway,
            &json!({
                "location": "westeurope",
                "properties": {
                    "gatewayType": "ExpressRoute",
                    "sku": {"name": "Standard", "tier": "Standard"},
                    "ipConfigurations": [{
                        "name": "gwipconfig",
                        "properties": {"subnet": {"id": format!("{vnet}/subnets/GatewaySubnet")}}
                    }]
                }
            }),
        )
        .expect(&[200, 201]);
        let connection = format!("{rg}/connections/{name}-conn");
        self.put(
            &connection,
            &json!({
                "location": "westeurope",
                "properties": {
                    "connectionType": "ExpressRoute",
                    "virtualNetworkGateway1": {"id": gateway},
                    "peer": {"id": c.path},
                    "routingWeight": 0
                }
            }),
        )
        .expect(&[200, 201]);
        Some(CloudSide {
            vnet,
            gateway,
            connection,
        })
    }

    /// PUT `connection` (an ARM path): an ExpressRoute connection from `gateway` to circuit
    /// `c` with `routing_weight`. Creates it, or changes the weight of an existing one (its
    /// gateway and circuit cannot change). The connection as answered.
    pub fn put_connection(
        &self,
        connection: &str,
        gateway: &str,
        c: &Circuit,
        routing_weight: u32,
    ) -> Value {
        let r = self.put(
            connection,
            &json!({
                "location": "westeurope",
                "properties": {
                    "connectionType": "ExpressRoute",
                    "virtualNetworkGateway1": {"id": gateway},
                    "peer": {"id": c.path},
                    "routingWeight": routing_weight
                }
            }),
        );
        r.expect(&[200, 201]);
        r.json()
    }

    /// Connects one more circuit to the gateway of `cloud`: connection `name` in the
    /// gateway's resource group, with `routing_weight`. Its ARM path.
    pub fn add_connection(
        &self,
        cloud: &CloudSide,
        name: &str,
        c: &Circuit,
        routing_weight: u32,
    ) -> String {
        let (group, _) = cloud
            .gateway
            .rsplit_once("/virtualNetworkGateways/")
            .expect("a gateway path");
        let connection = format!("{group}/connections/{name}");
        self.put_connection(&connection, &cloud.gateway, c, routing_weight);
        connection
    }

    /// What the control plane tells edge `edge` to run (`GET /edge/v1/{edge}/desired`):
    /// its circuits, gateways, fabric segments and tunnel endpoint.
    pub fn edge_desired(&self, edge: &str) -> Value {
        let r = self.get(&format!("{}/edge/v1/{edge}/desired", self.base));
        r.expect(&[200]);
        r.json()
    }

    /// `GET /metrics` (Prometheus text) with the admin token.
    pub fn metrics(&self) -> String {
        let r = self.get(&format!("{}/metrics", self.base));
        r.expect(&[200]);
        r.text
    }

    /// POST `{gateway}/{getLearnedRoutes|getAdvertisedRoutes}`, then GET the Location; the
    /// `value` list.
    pub fn gateway_routes(&self, cloud: &CloudSide, action: &str) -> Vec<Value> {
        let post = self.request("POST", &format!("{}/{action}", cloud.gateway), None);
        post.expect(&[200, 202]);
        let body = match &post.location {
            Some(location) if post.status == 202 => {
                let r = self.get(location);
                r.expect(&[200]);
                r.json()
            }
            _ => post.json(),
        };
        body["value"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("{action}: no value list: {body}"))
    }

    /// Makes an edge token with `causeway token create --edge NAME`; the file holding it.
    pub fn edge_token(&self, edge: &str) -> PathBuf {
        let out = Command::new(causeway_bin())
            .args(["token", "create", "--data-dir"])
            .arg(&self.data_dir)
            .args(["--edge", edge])
            .args(self.store.iter().flat_map(|s| ["--store", s.as_str()]))
            .stdin(Stdio::null())
            .output()
            .expect("run causeway token create");
        assert!(
            out.status.success(),
            "causeway token create --edge {edge} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let secret = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            !secret.is_empty(),
            "causeway token create printed no secret"
        );
        let path = self.data_dir.join(format!("{edge}.token"));
        std::fs::write(&path, format!("{secret}\n"))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    /// Runs `causeway edge --control URL --name EDGE --token FILE` as its own process on
    /// the host (with `--ca-cert <data-dir>/tls.crt` over HTTPS).
    pub fn start_edge(&self, edge: &str, token: &Path) -> Daemon {
        self.start_edge_following(edge, token, &[self.url()])
    }

    /// Kills this control plane (SIGKILL), leaving what it runs elsewhere alone.
    pub fn kill(&self) {
        self.daemon.kill();
    }

    /// Starts `causeway edge --control URL1,URL2,…` as its own process: an edge following
    /// the replicas of one control plane (this one's URL among them, or not).
    pub fn start_edge_following(&self, edge: &str, token: &Path, controls: &[&str]) -> Daemon {
        let n = self.edge_starts.fetch_add(1, Ordering::Relaxed);
        let log = self.data_dir.join(format!("edge-{edge}-{n}.log"));
        let cert = self.data_dir.join("tls.crt");
        let controls = controls.join(",");
        let mut args = vec![
            "edge",
            "--control",
            &controls,
            "--name",
            edge,
            "--token",
            token.to_str().expect("utf-8 path"),
        ];
        if self.https {
            args.extend(["--ca-cert", cert.to_str().expect("utf-8 path")]);
        }
        let rust_log = std::env::var("CAUSEWAY_E2E_LOG").unwrap_or_else(|_| "info".to_string());
        Daemon::spawn_host(
            &format!("edge {edge} (run {n})"),
            &log,
            causeway_bin().to_str().expect("utf-8 path"),
            &args,
            &[("RUST_LOG", &rust_log)],
        )
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        // Serve first, so no edge rebuilds what is removed next.
        self.daemon.kill();
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let ours = |name: &str| keys.iter().any(|k| name.contains(&k[..8]));
        for name in namespaces() {
            if ours(&name) {
                remove_namespace(&name);
            }
        }
        // The edges' records of what they built (`/run/causeway/<instance>/<edge>/<ns>`,
        // holding the namespace that goes with it: a lab customer end, a gateway's fabric
        // segment). Everything recorded under this control plane's instance is ours: its
        // circuits' namespaces, and gateways and fabric segments (`cwg-*`, `cwf-*`) too,
        // which carry no service key.
        let records = Path::new("/run/causeway");
        if let Some(instance) = &self.instance {
            let dir = records.join(instance);
            for edge in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                for record in std::fs::read_dir(edge.path())
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    let with = std::fs::read_to_string(record.path()).unwrap_or_default();
                    for name in [record.file_name().to_string_lossy().trim(), with.trim()] {
                        if !name.is_empty() && !name.contains('/') {
                            remove_namespace(name);
                        }
                    }
                }
            }
            let _ = std::fs::remove_dir_all(dir);
        }
        for instance in std::fs::read_dir(records).into_iter().flatten().flatten() {
            for edge in std::fs::read_dir(instance.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let mut emptied = false;
                for record in std::fs::read_dir(edge.path())
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    if ours(&record.file_name().to_string_lossy()) {
                        emptied |= std::fs::remove_file(record.path()).is_ok();
                    }
                }
                if emptied {
                    // Only if nothing else is recorded there.
                    let _ = std::fs::remove_dir(edge.path());
                    let _ = std::fs::remove_dir(instance.path());
                }
            }
        }
        if std::thread::panicking() {
            eprintln!(
                "note: data directory of {} kept at {}",
                self.label,
                self.data_dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// An HTTP client; over HTTPS it trusts only `<data-dir>/tls.crt` (so the serve must have
/// written it).
fn client(data_dir: &Path, https: bool) -> Result<ureq::Agent, String> {
    let mut tls = ureq::tls::TlsConfig::builder();
    if https {
        let path = data_dir.join("tls.crt");
        let pem = std::fs::read(&path).map_err(|e| format!("no {}: {e}", path.display()))?;
        let certs = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("cannot parse {}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("{} holds no certificate yet", path.display()));
        }
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
    }
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(tls.build())
        .timeout_global(Some(Duration::from_secs(30)))
        .build();
    Ok(ureq::Agent::new_with_config(config))
}

fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<Resp, String> {
    let auth = token.map(|t| format!("Bearer {t}"));
    let fail = |e: ureq::Error| format!("{method} {url}: {e}");
    let mut resp = match method {
        "GET" | "DELETE" => {
            let mut req = if method == "GET" {
                agent.get(url)
            } else {
                agent.delete(url)
            };
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            req.call().map_err(fail)?
        }
        "PUT" | "POST" | "PATCH" => {
            let mut req = match method {
                "PUT" => agent.put(url),
                "POST" => agent.post(url),
                _ => agent.patch(url),
            };
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            match body {
                Some(b) => req
                    .header("Content-Type", "application/json")
                    .send(b.to_string())
                    .map_err(fail)?,
                None => req.send_empty().map_err(fail)?,
            }
        }
        other => return Err(format!("unsupported method {other}")),
    };
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("{method} {url}: reading the body: {e}"))?;
    Ok(Resp {
        method: method.to_string(),
        url: url.to_string(),
        status,
        location,
        text,
    })
}

/// The customer's end of one link of a circuit in the lab, with the customer's addresses
/// configured on `ce0`: the first usable address of the link's /30 (and /126).
#[derive(Debug)]
pub struct CustomerLink {
    pub ns: Netns,
    pub role: String,
    pub customer_v4: Ipv4Addr,
    pub edge_v4: Ipv4Addr,
    pub v6: Option<(Ipv6Addr, Ipv6Addr)>,
}

impl CustomerLink {
    /// The customer's v6 address and the edge's, when the peering has IPv6.
    pub fn customer_v6(&self) -> Option<Ipv6Addr> {
        self.v6.map(|(c, _)| c)
    }

    pub fn edge_v6(&self) -> Option<Ipv6Addr> {
        self.v6.map(|(_, e)| e)
    }
}

/// Waits for the edge to leave `ce0` in the customer's namespace of link `role`, adopts the
/// namespace and configures the customer's addresses on `ce0`.
pub fn customer_link(c: &Circuit, peering: &PrivatePeering, role: &str) -> CustomerLink {
    let name = c.customer_namespace(role);
    wait_for(
        CONVERGE,
        &format!("the edge to make {name} with ce0"),
        || {
            if !Path::new("/run/netns").join(&name).exists() {
                return Err(format!(
                    "{name} does not exist; namespaces: {:?}",
                    c.namespaces()
                ));
            }
            ip(&["-n", &name, "link", "show", "dev", "ce0"]).map(|_| ())
        },
    );
    let ns = Netns::adopt(&name);
    let (customer_v4, edge_v4, len) = first_two(peering.prefix(role));
    let cidr = format!("{customer_v4}/{len}");
    ip(&["-n", &name, "addr", "replace", &cidr, "dev", "ce0"]).unwrap_or_else(|e| panic!("{e}"));
    let v6 = peering.prefix_v6(role).map(|p| {
        let (net, len) = p.split_once('/').expect("a v6 prefix with a length");
        let base = u128::from(net.parse::<Ipv6Addr>().expect("a v6 network"));
        let (customer, edge) = (Ipv6Addr::from(base + 1), Ipv6Addr::from(base + 2));
        let cidr = format!("{customer}/{len}");
        ip(&["-n", &name, "addr", "replace", &cidr, "dev", "ce0", "nodad"])
            .unwrap_or_else(|e| panic!("{e}"));
        (customer, edge)
    });
    ip(&["-n", &name, "link", "set", "dev", "ce0", "up"]).unwrap_or_else(|e| panic!("{e}"));
    CustomerLink {
        ns,
        role: role.to_string(),
        customer_v4,
        edge_v4,
        v6,
    }
}

/// The first and second usable address of an IPv4 prefix, and its length.
fn first_two(prefix: &str) -> (Ipv4Addr, Ipv4Addr, u8) {
    let (net, len) = prefix.split_once('/').expect("a prefix with a length");
    let base = u32::from(net.parse::<Ipv4Addr>().expect("an IPv4 network"));
    (
        Ipv4Addr::from(base + 1),
        Ipv4Addr::from(base + 2),
        len.parse().expect("a prefix length"),
    )
}

/// Runs `ip ARGS` on the host; stdout, or what went wrong.
pub fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`ip {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Interfaces of the network namespace process `pid` lives in (works after the namespace's
/// name is gone, as long as the process keeps it alive).
pub fn links_of_process(pid: u32) -> Result<Vec<String>, String> {
    let out = Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-n", "ip", "-o", "link", "show"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run nsenter: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "nsenter -t {pid} -n ip link failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(link_names(&String::from_utf8_lossy(&out.stdout)))
}

/// Interface names from `ip -o link show` output ("2: ce0@if5: <…>").
pub fn link_names(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .collect()
}
