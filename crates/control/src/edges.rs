//! The control plane's side of its edges: desired state per edge, versioned by generation,
//! and the live reports the ARM diagnostics answer from.
//!
//! Data flow: every committed change bumps the store's generation → edges waiting on
//! [`EdgeHub::wait_for_change`] wake and fetch [`Service::edge_desired`] → they report back
//! through [`Service::edge_report`] → `routeTables`, `routeTablesSummary`, `arpTables`,
//! `stats` and the circuit's link status read [`EdgeHub::report_for`].

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use api::{
    Attachment, CircuitDesired, CircuitReport, EdgeDesired, EdgeReport, Encapsulation,
    GatewayDesired, GatewayPeer, LinkAddresses, PeeringDesired, Role, VnetLink,
};
use ipnet::{Ipv4Net, Ipv6Net};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::arm::{ArmError, Status};
use crate::inventory::{EdgePlace, Inventory};
use crate::model::{AZURE_ASN, Circuit, Peering};
use crate::resources::diagnostics::{Action, Device};
use crate::resources::gateways::{GatewayFabric, PRIVATE_PEERING};
use crate::service::Service;
use crate::store::{ALL_TARGET, GATEWAYS_TARGET, Read};

/// A report older than this is treated as missing (the edge is down).
pub const REPORT_TTL: Duration = Duration::from_secs(15);

/// Edge inventory, the generation clock and the latest report of each edge.
#[derive(Debug)]
pub struct EdgeHub {
    /// Shared, replaced whole: readers clone the `Arc`, not the inventory.
    pub inventory: RwLock<std::sync::Arc<Inventory>>,
    pub local_as: u32,
    /// BFD timers of the edges' private peering sessions.
    pub bfd: api::BfdTimers,
    /// The idle-hold backoff of the edges' customer sessions (`None`: the edges' default).
    pub error_wait: Option<api::ErrorWait>,
    /// This control plane's identity (persisted), handed to its edges.
    pub instance: String,
    generation: std::sync::Arc<watch::Sender<u64>>,
    reports: Mutex<HashMap<String, StoredReport>>,
    /// The circuits of each peering location an edge asked about, kept current from the
    /// store's change log.
    desired: Mutex<DesiredCache>,
}

/// An edge's latest report, shared, with its circuits indexed by service key: a GET reads
/// one circuit's part without copying or scanning the rest.
#[derive(Debug)]
struct StoredReport {
    report: std::sync::Arc<EdgeReport>,
    at: Instant,
    by_key: HashMap<String, usize>,
}

/// One circuit's part of an edge's report (shared with the report, not copied).
#[derive(Debug, Clone)]
pub struct CircuitReportRef {
    report: std::sync::Arc<EdgeReport>,
    index: usize,
}

impl std::ops::Deref for CircuitReportRef {
    type Target = CircuitReport;
    fn deref(&self) -> &CircuitReport {
        &self.report.circuits[self.index]
    }
}

/// One circuit as its edges need it: the record, what it advertises, and the fabrics of the
/// gateways connected to it (tunnel endpoints filled in).
#[derive(Debug, Clone)]
struct Entry {
    circuit: Circuit,
    advertise: Vec<String>,
    fabrics: Vec<GatewayFabric>,
}

/// Desired state per peering location, recomputed only for the circuits a change touched.
#[derive(Debug, Default)]
struct DesiredCache {
    /// The store generation the cache reflects.
    generation: u64,
    /// Loaded locations (lower case): circuit id (lower case) → entry, in id order.
    locations: HashMap<String, std::collections::BTreeMap<String, Entry>>,
    /// The last generation that touched a circuit of each peering location.
    touched_at: HashMap<String, u64>,
    /// The last generation that concerned every edge (inventory; or before the cache began).
    all_at: u64,
    /// The last generation that touched a gateway (the gateway host's part).
    gateways_at: u64,
}

impl DesiredCache {
    /// A cache that has seen nothing before `generation`: anything older counts as changed.
    fn new(generation: u64) -> DesiredCache {
        DesiredCache {
            generation,
            locations: HashMap::new(),
            touched_at: HashMap::new(),
            all_at: generation,
            gateways_at: generation,
        }
    }
}

impl EdgeHub {
    pub fn new(inventory: Inventory, generation: u64, instance: String) -> EdgeHub {
        EdgeHub {
            inventory: RwLock::new(std::sync::Arc::new(inventory)),
            local_as: AZURE_ASN,
            bfd: api::BfdTimers::default(),
            error_wait: None,
            instance,
            generation: std::sync::Arc::new(watch::Sender::new(generation)),
            reports: Mutex::new(HashMap::new()),
            desired: Mutex::new(DesiredCache::new(generation)),
        }
    }

    pub fn generation(&self) -> u64 {
        *self.generation.borrow()
    }

    /// Publishes a new generation to waiting edges.
    pub fn publish(&self, generation: u64) {
        publish_to(&self.generation, generation);
    }

    /// The clock's sender, for what publishes from outside the process (the shared
    /// store's commit notifications).
    pub(crate) fn generation_sender(&self) -> std::sync::Arc<watch::Sender<u64>> {
        self.generation.clone()
    }

    /// Waits until the generation differs from `after` (or `timeout` passes).
    pub async fn wait_for_change(&self, after: u64, timeout: Duration) -> u64 {
        let mut rx = self.generation.subscribe();
        let wait = rx.wait_for(|g| *g != after);
        let _ = tokio::time::timeout(timeout, wait).await;
        *rx.borrow()
    }

    pub fn inventory(&self) -> std::sync::Arc<Inventory> {
        self.inventory
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The fresh report of `edge` about circuit `service_key`, if any.
    pub fn report_for(&self, edge: &str, service_key: &str) -> Option<CircuitReportRef> {
        let reports = self.reports.lock().unwrap_or_else(|e| e.into_inner());
        let stored = reports.get(edge)?;
        if stored.at.elapsed() > REPORT_TTL {
            return None;
        }
        let index = *stored.by_key.get(&service_key.to_ascii_lowercase())?;
        Some(CircuitReportRef {
            report: stored.report.clone(),
            index,
        })
    }

    /// A hosted gateway's live state from the gateway host's fresh report.
    pub fn gateway_report(&self, gateway_id: &str) -> Option<api::GatewayReport> {
        let host = self.inventory().gateway.clone()?.name;
        let reports = self.reports.lock().unwrap_or_else(|e| e.into_inner());
        let stored = reports.get(&host)?;
        if stored.at.elapsed() > REPORT_TTL {
            return None;
        }
        stored
            .report
            .gateways
            .iter()
            .find(|g| g.id.eq_ignore_ascii_case(gateway_id))
            .cloned()
    }

    /// Every edge's latest report with its age, by edge name; a report older than
    /// [`REPORT_TTL`] is stale and its content is to be treated as missing.
    pub fn reports(&self) -> Vec<(String, EdgeReport, Duration)> {
        let reports = self.reports.lock().unwrap_or_else(|e| e.into_inner());
        let mut all: Vec<(String, EdgeReport, Duration)> = reports
            .iter()
            .map(|(edge, s)| (edge.clone(), (*s.report).clone(), s.at.elapsed()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    pub fn edge_alive(&self, edge: &str) -> Option<bool> {
        let reports = self.reports.lock().unwrap_or_else(|e| e.into_inner());
        let stored = reports.get(edge)?;
        Some(stored.at.elapsed() <= REPORT_TTL && stored.report.net_admin)
    }

    fn store_report(&self, edge: &str, report: EdgeReport) {
        let by_key = report
            .circuits
            .iter()
            .enumerate()
            .map(|(i, c)| (c.service_key.to_ascii_lowercase(), i))
            .collect();
        let stored = StoredReport {
            report: std::sync::Arc::new(report),
            at: Instant::now(),
            by_key,
        };
        self.reports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(edge.to_owned(), stored);
    }
}

/// Moves the generation clock forward to `generation`; never back: replicas publish their
/// own commits and every replica's notifications, which may arrive in either order.
pub(crate) fn publish_to(clock: &watch::Sender<u64>, generation: u64) {
    clock.send_if_modified(|g| {
        let changed = generation > *g;
        if changed {
            *g = generation;
        }
        changed
    });
}

/// Maximum prefixes accepted from the customer: private peering 4,000 IPv4 (Standard/Local)
/// or 10,000 (Premium) and 100 IPv6; Microsoft peering 200 per family.
pub fn route_limits(circuit: &Circuit, peering: &Peering) -> (u32, u32) {
    route_limits_at(&circuit.sku.tier, peering)
}

/// [`route_limits`] for a circuit of SKU tier `tier` (what a tier change would set).
pub fn route_limits_at(tier: &str, peering: &Peering) -> (u32, u32) {
    if peering.peering_type == "MicrosoftPeering" {
        (200, 200)
    } else if tier == "Premium" {
        (10_000, 100)
    } else {
        (4_000, 100)
    }
}

/// The second usable address of the link's subnet is the edge's, the first the customer's.
fn v4_link(prefix: &str) -> Option<LinkAddresses> {
    let net: Ipv4Net = prefix.parse().ok()?;
    let base = u32::from(net.network());
    Some(LinkAddresses {
        local: IpAddr::V4(Ipv4Addr::from(base + 2)),
        peer: IpAddr::V4(Ipv4Addr::from(base + 1)),
        prefix_len: net.prefix_len(),
    })
}

fn v6_link(prefix: &str) -> Option<LinkAddresses> {
    let net: Ipv6Net = prefix.parse().ok()?;
    let base = u128::from(net.network());
    Some(LinkAddresses {
        local: IpAddr::V6(Ipv6Addr::from(base + 2)),
        peer: IpAddr::V6(Ipv6Addr::from(base + 1)),
        prefix_len: net.prefix_len(),
    })
}

/// Names of a circuit's namespaces: the edge's routing domain and, in the lab, the
/// customer's end of the cross-connect.
pub fn edge_namespace(edge: &str, service_key: &str) -> String {
    format!("cwe-{edge}-{}", &service_key[..service_key.len().min(8)])
}

pub fn customer_namespace(service_key: &str, role: Role) -> String {
    format!(
        "cw-{}-{}",
        &service_key[..service_key.len().min(8)],
        role.as_str()
    )
}

impl Service {
    /// Publishes the store's generation to the edges (after a committed change).
    pub(crate) fn publish_generation(&self) {
        let g = self.read(|s| s.generation()).unwrap_or(0);
        self.edges.publish(g);
    }

    /// What `edge` must run now.
    pub fn edge_desired(&self, edge: &str) -> Result<EdgeDesired, ArmError> {
        let inventory = self.edges.inventory();
        if !inventory.knows(edge) {
            return Err(ArmError::new(
                Status::NotFound,
                "EdgeNotFound",
                format!("No edge named '{edge}' in the inventory."),
            ));
        }
        let place = inventory.place(edge);
        let mut cache = self.edges.desired.lock().unwrap_or_else(|e| e.into_inner());
        self.read(|st| self.refresh(st, &mut cache, &inventory))?;
        let generation = cache.generation;
        let circuits = match &place {
            Some(place) => {
                let key = place.location.name.to_ascii_lowercase();
                if !cache.locations.contains_key(&key) {
                    let loaded = self.read(|st| load_location(st, &key, &inventory))?;
                    cache.locations.insert(key.clone(), loaded);
                }
                cache.locations[&key]
                    .values()
                    .filter_map(|e| {
                        let mut d = circuit_desired(&e.circuit, place, e.advertise.clone())?;
                        d.vnets = vnet_links(&e.circuit, place.role, &e.fabrics);
                        Some(d)
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        drop(cache);
        let gateways = if inventory.is_gateway_host(edge) {
            self.read(|st| gateways_desired(st, &inventory, self.edges.local_as))?
        } else {
            Vec::new()
        };
        Ok(EdgeDesired {
            edge: edge.to_owned(),
            role: place.map_or(Role::Primary, |p| p.role),
            instance: self.edges.instance.clone(),
            generation,
            local_as: self.edges.local_as,
            router_id: place.map_or(Ipv4Addr::new(192, 0, 2, 254), |p| p.edge.router_id),
            circuits,
            gateways,
            bfd: self.edges.bfd,
            error_wait: self.edges.error_wait,
            fabric_endpoint: match &place {
                Some(p) => p.edge.fabric.clone(),
                None => inventory.gateway.as_ref().and_then(|g| g.fabric.clone()),
            },
        })
    }

    /// Brings the cache up to the store's generation: only the circuits the change log
    /// names are reloaded; everything when the log does not reach back far enough.
    fn refresh(
        &self,
        st: &impl Read,
        cache: &mut DesiredCache,
        inventory: &Inventory,
    ) -> Result<(), ArmError> {
        let now = st.generation()?;
        if now == cache.generation {
            return Ok(());
        }
        let changes = st
            .changes_since(cache.generation)?
            .unwrap_or_else(|| vec![(now, ALL_TARGET.to_owned())]);
        let mut seen = std::collections::HashSet::new();
        // Newest first: each circuit is reloaded once, and its location is stamped with the
        // last generation that touched it.
        for (g, t) in changes.into_iter().rev() {
            if t == ALL_TARGET {
                cache.all_at = cache.all_at.max(g);
                continue;
            }
            if t == GATEWAYS_TARGET {
                cache.gateways_at = cache.gateways_at.max(g);
                continue;
            }
            if !seen.insert(t.clone()) {
                continue;
            }
            for (loc, entries) in cache.locations.iter_mut() {
                if entries.remove(&t).is_some() {
                    let at = cache.touched_at.entry(loc.clone()).or_default();
                    *at = (*at).max(g);
                }
            }
            let Some(c) = crate::resources::load::<Circuit>(st, &t)? else {
                continue;
            };
            let key = c.provider.peering_location.to_ascii_lowercase();
            let at = cache.touched_at.entry(key.clone()).or_default();
            *at = (*at).max(g);
            if let Some(entries) = cache.locations.get_mut(&key)
                && let Some(e) = entry(st, c, inventory)?
            {
                entries.insert(t.clone(), e);
            }
        }
        if cache.all_at > cache.generation {
            cache.locations.clear();
            // The inventory may have been replaced through another replica.
            if let Some(saved) = st.meta("inventory")?
                && let Ok(inv) = serde_json::from_str::<Inventory>(&saved)
            {
                *self
                    .edges
                    .inventory
                    .write()
                    .unwrap_or_else(|e| e.into_inner()) = std::sync::Arc::new(inv);
            }
        }
        cache.generation = now;
        Ok(())
    }

    /// Whether anything `edge` runs changed after generation `after`: a circuit of its
    /// peering location, a gateway (for the gateway host), or everything. Edges waiting on a
    /// long poll are answered only then, so a write at one location does not make every
    /// other location's edges rebuild their state.
    pub fn edge_changed_since(&self, edge: &str, after: u64) -> Result<bool, ArmError> {
        let inventory = self.edges.inventory();
        let mut cache = self.edges.desired.lock().unwrap_or_else(|e| e.into_inner());
        self.read(|st| self.refresh(st, &mut cache, &inventory))?;
        if after > cache.generation {
            // The store went back (a restored backup): whatever it holds is new.
            return Ok(true);
        }
        let location = inventory
            .place(edge)
            .and_then(|p| {
                cache
                    .touched_at
                    .get(&p.location.name.to_ascii_lowercase())
                    .copied()
            })
            .unwrap_or(0);
        let gateways = if inventory.is_gateway_host(edge) {
            cache.gateways_at
        } else {
            0
        };
        Ok(cache.all_at.max(location).max(gateways) > after)
    }

    /// Waits until something `edge` runs changed after `after` ([`Self::edge_changed_since`])
    /// or `timeout` passes: the long poll of every edge, in-process or remote.
    pub async fn wait_for_edge_change(
        self: &std::sync::Arc<Self>,
        edge: &str,
        after: u64,
        timeout: Duration,
    ) -> Result<(), ArmError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let seen = self.edges.generation();
            let (service, name) = (self.clone(), edge.to_owned());
            let changed =
                tokio::task::spawn_blocking(move || service.edge_changed_since(&name, after))
                    .await
                    .map_err(|_| ArmError::internal())??;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if changed || left.is_zero() {
                return Ok(());
            }
            self.edges.wait_for_change(seen, left).await;
        }
    }

    /// Prefixes the cloud side advertises to this circuit's customer: the address space of
    /// every virtual network connected to it, on both links.
    pub fn advertised_prefixes(&self, c: &Circuit) -> Vec<String> {
        self.read(|st| crate::resources::connections::connected_prefixes(st, c))
            .unwrap_or_else(|e| {
                tracing::error!("advertised prefixes of {}: {e}", c.id());
                Vec::new()
            })
    }

    /// Stores an edge's report; it must name an edge of the inventory.
    pub fn edge_report(&self, edge: &str, report: EdgeReport) -> Result<(), ArmError> {
        if !self.edges.inventory().knows(edge) {
            return Err(ArmError::new(
                Status::NotFound,
                "EdgeNotFound",
                format!("No edge named '{edge}' in the inventory."),
            ));
        }
        self.edges.store_report(edge, report);
        Ok(())
    }

    /// Replaces the inventory (already validated) and persists it; edges see the change.
    pub fn set_inventory(&self, inventory: Inventory) -> Result<(), ArmError> {
        let json = serde_json::to_string(&inventory).map_err(|_| ArmError::internal())?;
        self.with_store(|s| s.set_meta("inventory", &json))?;
        self.edges
            .desired
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .locations
            .clear();
        *self
            .edges
            .inventory
            .write()
            .unwrap_or_else(|e| e.into_inner()) = std::sync::Arc::new(inventory);
        self.publish_generation();
        Ok(())
    }

    /// Sets the drain prepend of one link of a circuit (0 removes it).
    pub fn set_drain(&self, service_key: &str, link: &str, prepend: u8) -> Result<(), ArmError> {
        self.write(|tx| {
            let not_found = || ArmError::not_found("circuits", service_key);
            let id = tx
                .unique("serviceKey", service_key)?
                .ok_or_else(not_found)?;
            let mut c: Circuit = crate::resources::load(tx, &id)?.ok_or_else(not_found)?;
            if prepend == 0 {
                c.drain.remove(link);
            } else {
                c.drain.insert(link.to_owned(), prepend);
            }
            crate::resources::put(tx, &c)?;
            tx.touch(&id);
            Ok(())
        })
    }

    /// The edge carrying one link of a circuit.
    pub(crate) fn link_edge(&self, c: &Circuit, device: Device) -> Option<String> {
        let inventory = self.edges.inventory();
        let l = inventory.location(&c.provider.peering_location)?;
        Some(match device {
            Device::Primary => l.primary.name.clone(),
            Device::Secondary => l.secondary.name.clone(),
        })
    }

    /// The ARM body of an ARP / route table / route summary action, from the edge's report.
    pub(crate) fn diagnostics(
        &self,
        c: &Circuit,
        peering: &str,
        action: Action,
        device: Device,
        cross: bool,
    ) -> Value {
        let report = self
            .link_edge(c, device)
            .and_then(|e| self.edges.report_for(&e, &c.service_key));
        let p = report.as_ref().and_then(|r| {
            r.peerings
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(peering))
        });
        let Some(p) = p else {
            return json!({"value": []});
        };
        use crate::resources::to_value;
        use api::arm::circuit as arm;
        let value: Vec<Value> = match action {
            // Azure's `age` is in minutes.
            Action::ArpTable => p
                .arp
                .iter()
                .map(|a| {
                    to_value(&arm::ExpressRouteCircuitArpTable {
                        age: a.age_secs / 60,
                        interface: a.interface.clone(),
                        ip_address: a.ip_address.clone(),
                        mac_address: a.mac_address.clone(),
                    })
                })
                .collect(),
            Action::RouteTable => p
                .routes
                .iter()
                .map(|r| {
                    to_value(&arm::ExpressRouteCircuitRoutesTable {
                        network: r.network.clone(),
                        next_hop: r.next_hop.clone(),
                        loc_prf: r.local_pref.to_string(),
                        weight: 0,
                        path: if r.learned {
                            r.as_path.clone()
                        } else {
                            self.edges.local_as.to_string()
                        },
                    })
                })
                .collect(),
            Action::RouteTableSummary => p
                .sessions
                .iter()
                .map(|s| {
                    let up_down = s
                        .uptime_secs
                        .map_or_else(|| "never".to_owned(), format_duration);
                    let state = if s.state == "Established" {
                        s.prefixes_accepted.to_string()
                    } else {
                        s.state.clone()
                    };
                    if cross {
                        to_value(&arm::ExpressRouteCrossConnectionRoutesTableSummary {
                            neighbor: s.neighbor.clone(),
                            asn: s.remote_as,
                            up_down,
                            state_or_prefixes_received: state,
                        })
                    } else {
                        // `v` is the BGP version spoken (4), whatever the address family.
                        to_value(&arm::ExpressRouteCircuitRoutesTableSummary {
                            neighbor: s.neighbor.clone(),
                            v: 4,
                            asn: s.remote_as,
                            up_down,
                            state_pfx_rcd: state,
                        })
                    }
                })
                .collect(),
        };
        json!({"value": value})
    }

    /// Bytes in and out per link, for the whole circuit or one peering.
    pub(crate) fn link_stats(&self, c: &Circuit, peering: Option<&str>) -> Value {
        let bytes = |device: Device| -> (u64, u64) {
            let Some(r) = self
                .link_edge(c, device)
                .and_then(|e| self.edges.report_for(&e, &c.service_key))
            else {
                return (0, 0);
            };
            r.peerings
                .iter()
                .filter(|p| peering.is_none_or(|n| p.name.eq_ignore_ascii_case(n)))
                .fold((0, 0), |(i, o), p| (i + p.bytes_in, o + p.bytes_out))
        };
        let (pi, po) = bytes(Device::Primary);
        let (si, so) = bytes(Device::Secondary);
        crate::resources::to_value(&api::arm::circuit::ExpressRouteCircuitStats {
            primary_bytes_in: pi,
            primary_bytes_out: po,
            secondary_bytes_in: si,
            secondary_bytes_out: so,
        })
    }

    /// Live status of a circuit's two links (a Causeway extension of the circuit body):
    /// which edge, the customer's namespace in the lab, and what is wrong if anything is.
    pub(crate) fn link_status(&self, c: &Circuit) -> api::arm::circuit::CircuitLinks {
        use api::arm::circuit::CircuitLinkStatus;
        let inventory = self.edges.inventory();
        let link = |device: Device| -> CircuitLinkStatus {
            let Some(edge) = self.link_edge(c, device) else {
                return CircuitLinkStatus {
                    state: "NoEdge".into(),
                    error: Some(format!(
                        "No edge pair serves peering location '{}'.",
                        c.provider.peering_location
                    )),
                    ..CircuitLinkStatus::default()
                };
            };
            let report = self.edges.report_for(&edge, &c.service_key);
            let alive = self.edges.edge_alive(&edge);
            let (state, error) = match (&report, alive, c.provisioned(), c.peerings.is_empty()) {
                (_, _, false, _) => ("WaitingForProvider", None),
                (_, _, true, true) => ("WaitingForPeering", None),
                (None, None, ..) => (
                    "EdgeNotReporting",
                    Some(format!("Edge '{edge}' has not reported.")),
                ),
                (None, Some(_), ..) => ("Pending", None),
                (Some(r), ..) if r.error.is_some() => ("Failed", r.error.clone()),
                (Some(_), ..) => ("Active", None),
            };
            let role = match device {
                Device::Primary => Role::Primary,
                Device::Secondary => Role::Secondary,
            };
            let lab = inventory.place(&edge).is_some_and(|p| p.edge.lab);
            CircuitLinkStatus {
                edge: Some(edge),
                state: state.into(),
                customer_namespace: lab.then(|| customer_namespace(&c.service_key, role)),
                error,
            }
        };
        api::arm::circuit::CircuitLinks {
            primary: link(Device::Primary),
            secondary: link(Device::Secondary),
        }
    }

    /// Per-link session state of a peering (a Causeway extension of the peering body): says
    /// why a session is down.
    pub(crate) fn peering_status(
        &self,
        c: &Circuit,
        peering: &str,
    ) -> api::arm::circuit::PeeringLinks {
        let sessions = |device: Device| -> Vec<api::arm::circuit::PeeringSessionStatus> {
            self.link_edge(c, device)
                .and_then(|e| self.edges.report_for(&e, &c.service_key))
                .and_then(|r| {
                    let p = r
                        .peerings
                        .iter()
                        .find(|p| p.name.eq_ignore_ascii_case(peering))?;
                    Some(
                        p.sessions
                            .iter()
                            .map(|s| api::arm::circuit::PeeringSessionStatus {
                                neighbor: s.neighbor.clone(),
                                state: s.state.clone(),
                                prefixes_received: s.prefixes_received,
                                prefixes_advertised: s.prefixes_advertised,
                                last_error: s.last_error.clone(),
                                bfd: s.bfd.clone(),
                            })
                            .collect(),
                    )
                })
                .unwrap_or_default()
        };
        api::arm::circuit::PeeringLinks {
            primary: sessions(Device::Primary),
            secondary: sessions(Device::Secondary),
        }
    }
}

fn format_duration(secs: u64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// A circuit carries private peering traffic to the virtual networks connected to it.
fn reaches_vnets(c: &Circuit) -> bool {
    c.provisioned() && c.peering(PRIVATE_PEERING).is_some()
}

/// Whether the edges run a circuit at all.
fn runs(c: &Circuit) -> bool {
    c.provisioned() && !c.peerings.is_empty()
}

/// A circuit's cache entry, if its edges run it.
fn entry(st: &impl Read, c: Circuit, inventory: &Inventory) -> Result<Option<Entry>, ArmError> {
    if !runs(&c) {
        return Ok(None);
    }
    let advertise = crate::resources::connections::connected_prefixes(st, &c)?;
    let mut fabrics = if inventory.gateway.is_some() {
        crate::resources::gateways::fabrics_of_circuit(st, &c)?
    } else {
        Vec::new()
    };
    for f in &mut fabrics {
        f.fabric.vteps = fabric_vteps(st, f, inventory)?;
    }
    Ok(Some(Entry {
        circuit: c,
        advertise,
        fabrics,
    }))
}

/// Every running circuit of a peering location.
fn load_location(
    st: &impl Read,
    location: &str,
    inventory: &Inventory,
) -> Result<std::collections::BTreeMap<String, Entry>, ArmError> {
    let mut out = std::collections::BTreeMap::new();
    for c in crate::resources::referrers::<Circuit>(st, "location", location)? {
        let id = c.id().to_ascii_lowercase();
        if let Some(e) = entry(st, c, inventory)? {
            out.insert(id, e);
        }
    }
    Ok(out)
}

/// The virtual networks one link of a circuit reaches over the fabric.
fn vnet_links(c: &Circuit, role: Role, fabrics: &[GatewayFabric]) -> Vec<VnetLink> {
    if !reaches_vnets(c) {
        return Vec::new();
    }
    fabrics
        .iter()
        .filter_map(|f| {
            let l = f.connects(c)?;
            Some(VnetLink {
                fabric: f.fabric.clone(),
                local: match role {
                    Role::Primary => l.primary,
                    Role::Secondary => l.secondary,
                },
                ifname: format!("vn{}", &f.namespace[4..]),
                prefixes: f.vnet_prefixes.clone(),
            })
        })
        .collect()
}

/// The circuits connected to a fabric, as stored.
fn linked_circuits(st: &impl Read, f: &GatewayFabric) -> Result<Vec<Circuit>, ArmError> {
    let mut out = Vec::new();
    for l in &f.links {
        let id = l.circuit.id(crate::resources::circuits::KIND);
        out.extend(crate::resources::load::<Circuit>(st, &id)?);
    }
    Ok(out)
}

/// The tunnel endpoints of a fabric segment's member hosts: the gateway host and both edges
/// of every connected circuit's location (only those that have one), sorted.
fn fabric_vteps(
    st: &impl Read,
    f: &GatewayFabric,
    inventory: &Inventory,
) -> Result<Vec<IpAddr>, ArmError> {
    let mut vteps: Vec<IpAddr> = inventory
        .gateway
        .iter()
        .filter_map(|g| g.fabric.as_ref().map(|e| e.address))
        .collect();
    for c in linked_circuits(st, f)? {
        if let Some(l) = inventory.location(&c.provider.peering_location) {
            for e in [&l.primary, &l.secondary] {
                vteps.extend(e.fabric.as_ref().map(|e| e.address));
            }
        }
    }
    vteps.sort();
    vteps.dedup();
    Ok(vteps)
}

/// Every gateway and the edges of every circuit connected to it (the gateway host's part).
fn gateways_desired(
    st: &impl Read,
    inventory: &Inventory,
    edge_as: u32,
) -> Result<Vec<GatewayDesired>, ArmError> {
    let mut out = Vec::new();
    for mut f in crate::resources::gateways::all_fabrics(st)? {
        f.fabric.vteps = fabric_vteps(st, &f, inventory)?;
        let mut peers = Vec::new();
        for c in linked_circuits(st, &f)?.iter().filter(|c| reaches_vnets(c)) {
            let Some(l) = f.connects(c) else {
                continue;
            };
            for (role, address) in [(Role::Primary, l.primary), (Role::Secondary, l.secondary)] {
                peers.push(GatewayPeer {
                    address,
                    remote_as: edge_as,
                    weight: l.weight,
                    service_key: c.service_key.clone(),
                    role,
                });
            }
        }
        out.push(GatewayDesired {
            id: f.id.clone(),
            namespace: f.namespace.clone(),
            fabric: f.fabric.clone(),
            host_addresses: f.host_addresses.clone(),
            peers,
        });
    }
    Ok(out)
}

fn circuit_desired(
    c: &Circuit,
    place: &EdgePlace<'_>,
    advertise: Vec<String>,
) -> Option<CircuitDesired> {
    let role = place.role;
    let attachment = if place.edge.lab {
        Attachment::Lab {
            customer_namespace: customer_namespace(&c.service_key, role),
        }
    } else {
        let port = place.edge.ports.iter().find(|p| {
            p.owner
                .eq_ignore_ascii_case(&c.provider.service_provider_name)
        })?;
        let encapsulation = match port.encapsulation.as_str() {
            "dot1q" => Encapsulation::Dot1q,
            "qinq" => Encapsulation::Qinq { stag: c.stag? },
            _ => Encapsulation::Untagged,
        };
        Attachment::Interface {
            ifname: port.ifname.clone(),
            encapsulation,
        }
    };
    let peerings = c
        .peerings
        .iter()
        .map(|p| {
            let (v4, v6) = route_limits(c, p);
            let (p4, p6) = match role {
                Role::Primary => (
                    &p.primary_prefix,
                    p.ipv6.as_ref().map(|x| &x.primary_prefix),
                ),
                Role::Secondary => (
                    &p.secondary_prefix,
                    p.ipv6.as_ref().map(|x| &x.secondary_prefix),
                ),
            };
            let v6_enabled = p.ipv6.as_ref().is_some_and(|x| x.state == "Enabled");
            PeeringDesired {
                name: p.name.clone(),
                vlan_id: p.vlan_id,
                enabled: p.state == "Enabled",
                peer_asn: p.peer_asn,
                md5_key: p.shared_key.clone(),
                ipv4: v4_link(p4),
                ipv6: p6.filter(|_| v6_enabled).and_then(|s| v6_link(s)),
                max_prefixes_v4: v4,
                max_prefixes_v6: v6,
            }
        })
        .collect();
    Some(CircuitDesired {
        service_key: c.service_key.clone(),
        id: c.id(),
        role,
        namespace: edge_namespace(&place.edge.name, &c.service_key),
        attachment,
        peerings,
        prepend: c.drain.get(role.as_str()).copied().unwrap_or(0),
        advertise,
        vnets: Vec::new(),
    })
}
