//! The edge agent: follows the control plane's desired state and reports live state back.
//!
//! Data flow: [`ControlLink::desired`] hands over a new [`EdgeDesired`] when its generation
//! moves → [`Agent::reconcile`] compares it with what runs, builds or removes each circuit's
//! kernel side (namespace, cross-connect or port attachment, addresses; see [`crate::lab`]),
//! then reloads the BGP [`Edge`] with one routing domain per circuit peering → every few
//! seconds [`Agent::report`] gathers sessions, routes, ARP and counters into an
//! [`EdgeReport`] for [`ControlLink::report`].
//!
//! Restarting either side converges with no manual step: the agent rebuilds from the desired
//! state (every kernel step is idempotent), and the control plane keeps serving it.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use api::{
    Attachment, CircuitDesired, CircuitReport, EdgeDesired, EdgeReport, FabricEndpoint,
    GatewayDesired, GatewayReport, PeeringDesired, PeeringReport, RouteReport, SessionReport,
    VnetLink,
};
use bgp::wire::Prefix;
use tokio::sync::Mutex;

use crate::Edge;
use crate::config::{
    DomainConfig, EdgeConfig, ExportName, FamilyName, MaxPrefixes, PeerConfig, StaticRoute,
};
use crate::lab;

/// Hold time offered to customers, as on Azure's MSEEs (keepalive 60 s).
pub const HOLD_TIME: u16 = 180;
/// Connect retry of the customer sessions, in seconds (also the first idle-hold backoff
/// after an error unless the desired state sets an error wait).
pub const CONNECT_RETRY: u16 = 5;

/// How the agent reaches the control plane (in-process in `causeway serve`, HTTPS otherwise).
pub trait ControlLink: Send + Sync + 'static {
    /// The desired state once its generation is past `after` (waits for a change; may return
    /// the current state early, e.g. on a timeout).
    fn desired(&self, after: u64) -> impl Future<Output = anyhow::Result<EdgeDesired>> + Send;
    fn report(&self, report: EdgeReport) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// The kernel names of one circuit's link on this edge.
fn edge_ifname(peering: &PeeringDesired) -> &'static str {
    if peering.name.eq_ignore_ascii_case("MicrosoftPeering") {
        "cust1"
    } else {
        "cust0"
    }
}

fn customer_ifname(peering: &PeeringDesired) -> &'static str {
    if peering.name.eq_ignore_ascii_case("MicrosoftPeering") {
        "ce1"
    } else {
        "ce0"
    }
}

/// Hold time of the sessions between edges and gateways on the fabric.
pub const FABRIC_HOLD_TIME: u16 = 30;

/// The bridge of a virtual network's fabric segment (in the fabric namespace), and of its
/// hosts (in the gateway namespace).
pub const FABRIC_BRIDGE: &str = "br0";
pub const HOST_BRIDGE: &str = "vnet0";

/// A gateway's interface on its fabric segment, and its port on the fabric bridge.
const GATEWAY_FABRIC_IF: &str = "fab0";
const GATEWAY_PORT_IF: &str = "gw0";

/// The fabric bridge port of one edge's link to a virtual network: unique per edge and
/// circuit on a host (15 characters at most).
fn fabric_port(edge: &str, service_key: &str) -> String {
    format!(
        "e{:04x}{}",
        short_hash(edge),
        &service_key[..service_key.len().min(8)]
    )
}

/// A stable 16-bit digest (FNV-1a) that tells hosts or edges apart in interface and
/// namespace names.
fn short_hash(s: &str) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    (h & 0xffff) as u16
}

/// A BGP session on a fabric segment (edge ↔ gateway): IPv4, no MD5 or BFD (the segment
/// is the provider's own), a short hold time and a one-second connect retry.
fn fabric_session(
    name: String,
    address: std::net::Ipv4Addr,
    local: std::net::Ipv4Addr,
    remote_as: u32,
    export: ExportName,
) -> PeerConfig {
    PeerConfig {
        name,
        address: IpAddr::V4(address),
        local_address: Some(IpAddr::V4(local)),
        remote_as,
        md5_key: None,
        max_prefixes: MaxPrefixes::default(),
        prepend: 0,
        passive: false,
        shutdown: false,
        bfd: None,
        hold_time: FABRIC_HOLD_TIME,
        connect_retry: 1,
        error_wait: None,
        families: vec![FamilyName::Ipv4],
        weight: 0,
        export,
    }
}

/// An edge's session with a virtual network's gateway: it sends the gateway the
/// customer's routes (with the link's drain prepends), never the virtual network's own.
fn fabric_peer(c: &CircuitDesired, v: &VnetLink) -> PeerConfig {
    PeerConfig {
        prepend: c.prepend,
        ..fabric_session(
            format!("gateway-{}", &v.ifname[2..]),
            v.fabric.gateway,
            v.local,
            v.fabric.gateway_as,
            ExportName::Learned,
        )
    }
}

/// The namespace of a fabric segment on this host. A host with a tunnel endpoint gets its
/// own (named after the endpoint too), joined to the other hosts' by VXLAN; without one,
/// every member is on this host and they share the segment's namespace.
fn fabric_namespace(f: &api::Fabric, endpoint: Option<&FabricEndpoint>) -> String {
    match endpoint {
        Some(e) => format!("{}-{:04x}", f.namespace, short_hash(&e.address.to_string())),
        None => f.namespace.clone(),
    }
}

/// Makes the segment's namespace and bridge on this host, with its VXLAN tunnel to the
/// other member hosts when the segment spans hosts.
fn ensure_fabric(
    f: &api::Fabric,
    endpoint: Option<&FabricEndpoint>,
) -> Result<String, lab::LabError> {
    let ns = fabric_namespace(f, endpoint);
    lab::ensure_namespace(&ns)?;
    lab::ensure_bridge(&ns, FABRIC_BRIDGE)?;
    if let Some(e) = endpoint {
        let remotes: Vec<IpAddr> = f
            .vteps
            .iter()
            .copied()
            .filter(|v| *v != e.address)
            .collect();
        lab::ensure_vxlan(
            &ns,
            FABRIC_BRIDGE,
            f.vni,
            e.address,
            e.underlay_namespace.as_deref(),
            &remotes,
        )?;
    }
    Ok(ns)
}

/// The routing domain of a gateway.
fn gateway_domain(g: &GatewayDesired) -> String {
    format!("gateway/{}", g.namespace)
}

/// The routing domain of one circuit peering.
fn domain_name(c: &CircuitDesired, p: &PeeringDesired) -> String {
    format!("{}/{}", c.service_key, p.name)
}

#[derive(Debug, Default)]
struct State {
    applied: Option<EdgeDesired>,
    /// Per circuit (service key): why it is not fully realized, if it is not.
    errors: HashMap<String, String>,
}

/// One edge following the control plane.
#[derive(Debug)]
pub struct Agent {
    name: String,
    edge: Edge,
    net_admin: bool,
    state: Mutex<State>,
}

impl Agent {
    /// An agent driving `edge` (which should start with no domains).
    pub fn new(name: String, edge: Edge) -> Agent {
        Agent {
            name,
            edge,
            net_admin: crate::netns::have_net_admin(),
            state: Mutex::new(State::default()),
        }
    }

    /// Follows `link` until the task is dropped.
    pub async fn run<L: ControlLink>(self: std::sync::Arc<Self>, link: std::sync::Arc<L>) {
        let reporter = {
            let agent = self.clone();
            let link = link.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(2));
                loop {
                    tick.tick().await;
                    let report = agent.report().await;
                    if let Err(e) = link.report(report).await {
                        tracing::warn!(edge = %agent.name, "cannot report to the control plane: {e:#}");
                    }
                }
            })
        };
        let _reporter = AbortOnDrop(reporter);
        let mut after = 0;
        loop {
            match link.desired(after).await {
                Ok(desired) => {
                    after = desired.generation;
                    self.reconcile(desired).await;
                }
                Err(e) => {
                    tracing::warn!(edge = %self.name, "cannot fetch desired state: {e:#}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Brings the kernel and the BGP edge to `desired`.
    pub async fn reconcile(&self, desired: EdgeDesired) {
        let mut state = self.state.lock().await;
        let old: BTreeMap<String, CircuitDesired> = state
            .applied
            .iter()
            .flat_map(|d| d.circuits.iter())
            .map(|c| (c.service_key.clone(), c.clone()))
            .collect();
        let new: BTreeMap<String, CircuitDesired> = desired
            .circuits
            .iter()
            .map(|c| (c.service_key.clone(), c.clone()))
            .collect();
        let mut errors = HashMap::new();
        if state.applied.is_none() && self.net_admin {
            self.remove_leftovers(&desired);
        }
        // Kernel side of new and changed circuits first, so their domains find their links.
        for (key, c) in &new {
            if self.net_admin {
                self.record(&desired, c);
                for v in &c.vnets {
                    let fabric = fabric_namespace(&v.fabric, desired.fabric_endpoint.as_ref());
                    self.record_namespace(&desired, &fabric, "");
                }
            }
            if let Err(e) = self.build(c, old.get(key), desired.fabric_endpoint.as_ref()) {
                tracing::warn!(edge = %self.name, circuit = %c.id, "{e}");
                errors.insert(key.clone(), e);
            }
        }
        let old_gateways: BTreeMap<String, GatewayDesired> = state
            .applied
            .iter()
            .flat_map(|d| d.gateways.iter())
            .map(|g| (g.namespace.clone(), g.clone()))
            .collect();
        for g in &desired.gateways {
            if self.net_admin {
                let fabric = fabric_namespace(&g.fabric, desired.fabric_endpoint.as_ref());
                self.record_namespace(&desired, &g.namespace, &fabric);
            }
            if let Err(e) = self.build_gateway(g, desired.fabric_endpoint.as_ref()) {
                tracing::warn!(edge = %self.name, gateway = %g.id, "{e}");
                errors.insert(g.namespace.clone(), e);
            }
        }
        let config = self.edge_config(&desired, &errors);
        if let Err(e) = self.edge.reload(config).await {
            tracing::error!(edge = %self.name, "cannot apply the BGP configuration: {e:#}");
        }
        // Removed circuits: sessions are gone now; remove their kernel side.
        for (key, c) in &old {
            if !new.contains_key(key) {
                self.teardown(&desired, c);
            }
        }
        for (ns, g) in &old_gateways {
            if !desired.gateways.iter().any(|n| &n.namespace == ns) {
                self.teardown_gateway(&desired, g);
            }
        }
        if self.net_admin {
            self.remove_unused_fabrics(state.applied.as_ref(), &desired);
        }
        state.errors = errors;
        state.applied = Some(desired);
    }

    fn build(
        &self,
        c: &CircuitDesired,
        old: Option<&CircuitDesired>,
        endpoint: Option<&FabricEndpoint>,
    ) -> Result<(), String> {
        if !self.net_admin {
            return Err("this edge lacks CAP_NET_ADMIN: it cannot create the circuit's namespace and links (run it as root or grant the capability)".into());
        }
        lab::ensure_namespace(&c.namespace).map_err(|e| e.to_string())?;
        // Peerings that went away lose their link.
        if let Some(old) = old {
            for p in &old.peerings {
                if !c.peerings.iter().any(|q| q.name == p.name) {
                    let _ = lab::remove_link(&c.namespace, edge_ifname(p));
                    if let Attachment::Lab { customer_namespace } = &old.attachment {
                        let _ = lab::remove_link(customer_namespace, customer_ifname(p));
                    }
                }
            }
        }
        for p in &c.peerings {
            let ifname = edge_ifname(p);
            match &c.attachment {
                Attachment::Lab { customer_namespace } => {
                    lab::ensure_namespace(customer_namespace).map_err(|e| e.to_string())?;
                    lab::ensure_cross_connect(
                        &c.namespace,
                        ifname,
                        customer_namespace,
                        customer_ifname(p),
                    )
                    .map_err(|e| e.to_string())?;
                }
                Attachment::Interface {
                    ifname: port,
                    encapsulation,
                } => {
                    lab::ensure_port_attachment(
                        &c.namespace,
                        ifname,
                        port,
                        *encapsulation,
                        p.vlan_id,
                    )
                    .map_err(|e| e.to_string())?;
                }
            }
            for a in [p.ipv4, p.ipv6].into_iter().flatten() {
                lab::ensure_address(&c.namespace, ifname, a.local, a.prefix_len)
                    .map_err(|e| e.to_string())?;
            }
        }
        self.build_vnet_links(c, old, endpoint)
            .map_err(|e| e.to_string())
    }

    /// The circuit's links to its virtual networks' fabric segments: a veth from the
    /// circuit's namespace to the segment's bridge, an address from the GatewaySubnet.
    fn build_vnet_links(
        &self,
        c: &CircuitDesired,
        old: Option<&CircuitDesired>,
        endpoint: Option<&FabricEndpoint>,
    ) -> Result<(), lab::LabError> {
        if let Some(old) = old {
            for v in &old.vnets {
                if !c.vnets.iter().any(|n| n.ifname == v.ifname) {
                    lab::remove_link(&c.namespace, &v.ifname)?;
                }
            }
        }
        if c.vnets.is_empty() {
            return Ok(());
        }
        lab::ensure_router(&c.namespace)?;
        for v in &c.vnets {
            let fabric = ensure_fabric(&v.fabric, endpoint)?;
            lab::ensure_bridge_member(
                &c.namespace,
                &v.ifname,
                &fabric,
                FABRIC_BRIDGE,
                &fabric_port(&self.name, &c.service_key),
            )?;
            lab::ensure_address(
                &c.namespace,
                &v.ifname,
                IpAddr::V4(v.local),
                v.fabric.prefix_len,
            )?;
        }
        Ok(())
    }

    /// A gateway's kernel side: its namespace (a router), the host bridge with the subnets'
    /// gateway addresses, and its port on the fabric segment.
    fn build_gateway(
        &self,
        g: &GatewayDesired,
        endpoint: Option<&FabricEndpoint>,
    ) -> Result<(), String> {
        if !self.net_admin {
            return Err("this edge lacks CAP_NET_ADMIN: it cannot build the gateway".into());
        }
        let run = || -> Result<(), lab::LabError> {
            lab::ensure_namespace(&g.namespace)?;
            lab::ensure_router(&g.namespace)?;
            lab::ensure_bridge(&g.namespace, HOST_BRIDGE)?;
            for a in &g.host_addresses {
                if let Ok(n) = a.parse::<ipnet::IpNet>() {
                    lab::ensure_address(&g.namespace, HOST_BRIDGE, n.addr(), n.prefix_len())?;
                }
            }
            let fabric = ensure_fabric(&g.fabric, endpoint)?;
            lab::ensure_bridge_member(
                &g.namespace,
                GATEWAY_FABRIC_IF,
                &fabric,
                FABRIC_BRIDGE,
                GATEWAY_PORT_IF,
            )?;
            lab::ensure_address(
                &g.namespace,
                GATEWAY_FABRIC_IF,
                IpAddr::V4(g.fabric.gateway),
                g.fabric.prefix_len,
            )
        };
        run().map_err(|e| e.to_string())
    }

    fn teardown_gateway(&self, desired: &EdgeDesired, g: &GatewayDesired) {
        if let Err(e) = lab::delete_namespace(&g.namespace) {
            tracing::warn!(edge = %self.name, "{e}");
        }
        let _ = std::fs::remove_file(self.records(desired).join(&g.namespace));
    }

    /// Fabric segments this edge no longer joins lose their namespace on this host once no
    /// other member is left on its bridge (other edges of the host may still use it).
    fn remove_unused_fabrics(&self, old: Option<&EdgeDesired>, new: &EdgeDesired) {
        // Each fabric namespace this edge joins, with the bridge ports that are its own.
        let used = |d: &EdgeDesired| -> BTreeMap<String, Vec<String>> {
            let e = d.fabric_endpoint.as_ref();
            let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for c in &d.circuits {
                for v in &c.vnets {
                    m.entry(fabric_namespace(&v.fabric, e))
                        .or_default()
                        .push(fabric_port(&self.name, &c.service_key));
                }
            }
            for g in &d.gateways {
                m.entry(fabric_namespace(&g.fabric, e))
                    .or_default()
                    .push(GATEWAY_PORT_IF.to_owned());
            }
            m
        };
        let Some(old) = old else {
            return;
        };
        let now = used(new);
        for (ns, ours) in used(old) {
            if now.contains_key(&ns) {
                continue;
            }
            // Our ports go first: a deleted namespace's veth ends vanish only later.
            for p in &ours {
                let _ = lab::remove_link(&ns, p);
            }
            let _ = std::fs::remove_file(self.records(new).join(&ns));
            let ports = lab::bridge_ports(&ns, FABRIC_BRIDGE).unwrap_or_default();
            if ports.iter().all(|p| p == "vx0")
                && let Err(e) = lab::delete_namespace(&ns)
            {
                tracing::warn!(edge = %self.name, "{e}");
            }
        }
    }

    /// Where this edge records the namespaces it made: one file per circuit, named after the
    /// edge-side namespace, holding the customer-side one (if any). Scoped by control-plane
    /// instance and edge name, so several control planes on one host never touch each
    /// other's circuits.
    fn records(&self, desired: &EdgeDesired) -> std::path::PathBuf {
        std::path::Path::new("/run/causeway")
            .join(&desired.instance)
            .join(&self.name)
    }

    fn record(&self, desired: &EdgeDesired, c: &CircuitDesired) {
        let customer = match &c.attachment {
            Attachment::Lab { customer_namespace } => customer_namespace.as_str(),
            Attachment::Interface { .. } => "",
        };
        self.record_namespace(desired, &c.namespace, customer);
    }

    /// Records namespace `ns` as this edge's, with the one namespace that goes with it
    /// (a lab customer end, a gateway's fabric segment) or "".
    fn record_namespace(&self, desired: &EdgeDesired, ns: &str, with: &str) {
        let dir = self.records(desired);
        let written =
            std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(dir.join(ns), with));
        if let Err(e) = written {
            tracing::warn!(edge = %self.name, "cannot record namespace {ns}: {e}");
        }
    }

    /// At start: namespaces this edge made (per its records) for circuits that no longer
    /// exist, deleted while it was down, are removed with their lab customer ends.
    fn remove_leftovers(&self, desired: &EdgeDesired) {
        let dir = self.records(desired);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        let endpoint = desired.fabric_endpoint.as_ref();
        let fabrics: Vec<String> = desired
            .circuits
            .iter()
            .flat_map(|c| c.vnets.iter().map(|v| &v.fabric))
            .chain(desired.gateways.iter().map(|g| &g.fabric))
            .map(|f| fabric_namespace(f, endpoint))
            .collect();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if desired.circuits.iter().any(|c| c.namespace == name)
                || desired.gateways.iter().any(|g| g.namespace == name)
                || fabrics.contains(&name)
            {
                continue;
            }
            if name.starts_with("cwf-") {
                // A fabric segment this edge no longer joins: gone unless another member on
                // this host still uses it.
                let ports = lab::bridge_ports(&name, FABRIC_BRIDGE).unwrap_or_default();
                if ports.iter().all(|p| p == "vx0") {
                    let _ = lab::delete_namespace(&name);
                }
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            tracing::info!(edge = %self.name, namespace = %name, "removing a leftover circuit namespace");
            let customer = std::fs::read_to_string(entry.path()).unwrap_or_default();
            if !customer.is_empty() {
                let _ = lab::delete_namespace(customer.trim());
            }
            let _ = lab::delete_namespace(&name);
            let _ = std::fs::remove_file(entry.path());
        }
    }

    fn teardown(&self, desired: &EdgeDesired, c: &CircuitDesired) {
        if let Attachment::Lab { customer_namespace } = &c.attachment
            && let Err(e) = lab::delete_namespace(customer_namespace)
        {
            tracing::warn!(edge = %self.name, "{e}");
        }
        if let Err(e) = lab::delete_namespace(&c.namespace) {
            tracing::warn!(edge = %self.name, "{e}");
        }
        let _ = std::fs::remove_file(self.records(desired).join(&c.namespace));
    }

    /// One routing domain per circuit peering, with an IPv4 and an IPv6 session as configured.
    fn edge_config(&self, d: &EdgeDesired, errors: &HashMap<String, String>) -> EdgeConfig {
        let mut domains = Vec::new();
        for c in &d.circuits {
            if errors.contains_key(&c.service_key) {
                continue;
            }
            let originate: Vec<Prefix> = c
                .advertise
                .iter()
                .filter_map(|s| match s.parse::<ipnet::IpNet>().ok()?.trunc() {
                    ipnet::IpNet::V4(n) => Some(Prefix::V4(n)),
                    ipnet::IpNet::V6(n) => Some(Prefix::V6(n)),
                })
                .collect();
            for p in &c.peerings {
                let mut peers = Vec::new();
                for (family, addrs) in [(FamilyName::Ipv4, p.ipv4), (FamilyName::Ipv6, p.ipv6)] {
                    let Some(a) = addrs else { continue };
                    peers.push(PeerConfig {
                        name: format!(
                            "{}-{}",
                            c.role.as_str(),
                            if family == FamilyName::Ipv4 {
                                "v4"
                            } else {
                                "v6"
                            }
                        ),
                        address: a.peer,
                        local_address: Some(a.local),
                        remote_as: p.peer_asn,
                        md5_key: p.md5_key.clone(),
                        max_prefixes: MaxPrefixes {
                            ipv4: Some(p.max_prefixes_v4),
                            ipv6: Some(p.max_prefixes_v6),
                        },
                        prepend: c.prepend,
                        passive: false,
                        shutdown: !p.enabled,
                        // As on Azure: BFD on private peering's IPv4 sessions, 300 ms × 3.
                        bfd: (family == FamilyName::Ipv4
                            && p.name.eq_ignore_ascii_case("AzurePrivatePeering"))
                        .then_some(crate::config::BfdConfig {
                            interval_ms: d.bfd.interval_ms,
                            multiplier: d.bfd.multiplier,
                        }),
                        hold_time: HOLD_TIME,
                        connect_retry: CONNECT_RETRY,
                        error_wait: d.error_wait.map(|w| crate::config::ErrorWaitConfig {
                            min: w.min,
                            max: w.max,
                        }),
                        families: vec![family],
                        weight: 0,
                        export: ExportName::All,
                    });
                }
                // Virtual networks are reached over private peering only: its domain
                // programs the namespace's FIB and peers with their gateways.
                let private = p.name.eq_ignore_ascii_case("AzurePrivatePeering");
                let mut routes = Vec::new();
                if private {
                    for v in &c.vnets {
                        peers.push(fabric_peer(c, v));
                        for prefix in &v.prefixes {
                            if let Ok(prefix) = prefix.parse::<ipnet::IpNet>() {
                                routes.push(StaticRoute {
                                    prefix: prefix.trunc(),
                                    via: IpAddr::V4(v.fabric.gateway),
                                });
                            }
                        }
                    }
                }
                domains.push(DomainConfig {
                    name: domain_name(c, p),
                    namespace: Some(c.namespace.clone()),
                    originate: if private {
                        originate.clone()
                    } else {
                        Vec::new()
                    },
                    peers,
                    local_as: None,
                    router_id: None,
                    fib: private && self.net_admin,
                    routes,
                });
            }
        }
        for g in &d.gateways {
            if errors.contains_key(&g.namespace) {
                continue;
            }
            domains.push(DomainConfig {
                name: gateway_domain(g),
                namespace: Some(g.namespace.clone()),
                originate: Vec::new(),
                peers: g
                    .peers
                    .iter()
                    .map(|p| PeerConfig {
                        weight: p.weight,
                        ..fabric_session(
                            format!(
                                "{}-{}",
                                &p.service_key[..p.service_key.len().min(8)],
                                p.role.as_str()
                            ),
                            p.address,
                            g.fabric.gateway,
                            p.remote_as,
                            // The gateway only learns: the edges know the virtual network.
                            ExportName::None,
                        )
                    })
                    .collect(),
                local_as: Some(g.fabric.gateway_as),
                router_id: Some(g.fabric.gateway),
                fib: self.net_admin,
                routes: Vec::new(),
            });
        }
        EdgeConfig {
            local_as: d.local_as,
            router_id: d.router_id,
            listen_port: 179,
            status_listen: "127.0.0.1:0".parse().expect("invariant: a valid address"),
            domains,
        }
    }

    /// Live state of every circuit this edge carries.
    pub async fn report(&self) -> EdgeReport {
        let (applied, errors) = {
            let s = self.state.lock().await;
            (s.applied.clone(), s.errors.clone())
        };
        let Some(applied) = applied else {
            return EdgeReport {
                edge: self.name.clone(),
                net_admin: self.net_admin,
                ..EdgeReport::default()
            };
        };
        let status = self.edge.status().await;
        let routes = self.edge.routes(None).await;
        let mut circuits = Vec::new();
        for c in &applied.circuits {
            let mut peerings = Vec::new();
            for p in &c.peerings {
                let name = domain_name(c, p);
                let sessions = session_reports(&status, &name);
                let local: Vec<IpAddr> = [p.ipv4, p.ipv6]
                    .into_iter()
                    .flatten()
                    .map(|a| a.local)
                    .collect();
                let route_reports = routes
                    .domains
                    .iter()
                    .find(|d| d.name == name)
                    .map(|d| {
                        d.routes
                            .iter()
                            .filter(|r| r.best)
                            .map(|r| {
                                let learned = r.peer != "local";
                                RouteReport {
                                    network: r.prefix.clone(),
                                    next_hop: r
                                        .next_hop
                                        .map(|n| n.to_string())
                                        .or_else(|| local.first().map(IpAddr::to_string))
                                        .unwrap_or_default(),
                                    as_path: r.as_path.clone(),
                                    local_pref: r.local_pref,
                                    learned,
                                }
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let ifname = edge_ifname(p);
                let (bytes_in, bytes_out) = if self.net_admin && lab::namespace_exists(&c.namespace)
                {
                    lab::counters(&c.namespace, ifname).unwrap_or((0, 0))
                } else {
                    (0, 0)
                };
                let arp = if self.net_admin && lab::namespace_exists(&c.namespace) {
                    lab::neighbours(&c.namespace, ifname).unwrap_or_default()
                } else {
                    Vec::new()
                };
                peerings.push(PeeringReport {
                    name: p.name.clone(),
                    sessions,
                    routes: route_reports,
                    arp,
                    bytes_in,
                    bytes_out,
                    fib_routes: fib_routes(&status, &name),
                });
            }
            circuits.push(CircuitReport {
                service_key: c.service_key.clone(),
                role: Some(c.role),
                namespace: c.namespace.clone(),
                customer_namespace: match &c.attachment {
                    Attachment::Lab { customer_namespace } => Some(customer_namespace.clone()),
                    Attachment::Interface { .. } => None,
                },
                error: errors.get(&c.service_key).cloned(),
                peerings,
            });
        }
        let gateways = applied
            .gateways
            .iter()
            .map(|g| {
                let name = gateway_domain(g);
                GatewayReport {
                    id: g.id.clone(),
                    namespace: g.namespace.clone(),
                    error: errors.get(&g.namespace).cloned(),
                    sessions: session_reports(&status, &name),
                    routes: routes
                        .domains
                        .iter()
                        .filter(|d| d.name == name)
                        .flat_map(|d| d.routes.iter())
                        .map(|r| RouteReport {
                            network: r.prefix.clone(),
                            next_hop: r.next_hop.map(|n| n.to_string()).unwrap_or_default(),
                            as_path: r.as_path.clone(),
                            local_pref: r.local_pref,
                            learned: true,
                        })
                        .collect(),
                    fib_routes: fib_routes(&status, &name),
                }
            })
            .collect();
        EdgeReport {
            edge: self.name.clone(),
            generation: applied.generation,
            net_admin: self.net_admin,
            circuits,
            gateways,
        }
    }

    /// Removes every circuit this agent built (namespaces and links), e.g. at shutdown.
    pub async fn clear(&self) {
        let state = self.state.lock().await;
        if let Some(applied) = &state.applied {
            for c in &applied.circuits {
                self.teardown(applied, c);
            }
        }
    }
}

/// The sessions of one routing domain, as reported to the control plane.
fn session_reports(status: &crate::status::EdgeStatus, domain: &str) -> Vec<SessionReport> {
    status
        .domains
        .iter()
        .filter(|d| d.name == domain)
        .flat_map(|d| d.peers.iter())
        .map(|s| {
            let v6 = s.address.is_ipv6();
            let counters = if v6 {
                &s.prefixes.ipv6
            } else {
                &s.prefixes.ipv4
            };
            SessionReport {
                neighbor: s.address.to_string(),
                remote_as: s.remote_as,
                state: s.state.clone(),
                uptime_secs: s.uptime_secs,
                prefixes_received: counters.received,
                prefixes_accepted: counters.accepted,
                prefixes_advertised: counters.advertised,
                last_error: s.last_error.clone(),
                bfd: s.bfd.clone(),
                family: if v6 { "ipv6" } else { "ipv4" }.into(),
            }
        })
        .collect()
}

/// The routes one routing domain has in its FIB, when it programs one.
fn fib_routes(status: &crate::status::EdgeStatus, domain: &str) -> Option<u64> {
    status
        .domains
        .iter()
        .find(|d| d.name == domain)
        .and_then(|d| d.fib_routes)
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
