//! The contract between the control plane and its edges.
//!
//! Flow: the control plane derives an [`EdgeDesired`] for each edge from the store (every
//! provisioned circuit at the edge's peering location, with its peerings and the prefixes of
//! the virtual networks connected to it) and versions it by `generation`. An edge pulls it,
//! reconciles its routing domains, links and sessions toward it, and sends back an
//! [`EdgeReport`] of live state (sessions, routes, ARP, counters) that the ARM diagnostics
//! (`routeTables`, `arpTables`, `stats`, …) answer from.
//!
//! Serialized as JSON over `GET /edge/v1/{edge}/desired` and `PUT /edge/v1/{edge}/report`.
//!
//! [`arm`] holds the other contract: the typed Azure Resource Manager bodies the control plane
//! serves to the Azure SDKs, the az CLI and Terraform (and their OpenAPI schemas).

use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

pub mod arm;
pub mod metrics;

/// Which link of a circuit an edge carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Primary,
    Secondary,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Secondary => "secondary",
        }
    }
}

/// Everything one edge must run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeDesired {
    pub edge: String,
    /// The edge's role at its peering location.
    pub role: Role,
    /// The control plane's identity: edges of different control planes on one host keep
    /// apart what they built.
    pub instance: String,
    /// Increases with every change that can affect any edge.
    pub generation: u64,
    pub local_as: u32,
    pub router_id: Ipv4Addr,
    pub circuits: Vec<CircuitDesired>,
    /// Virtual network gateways this edge hosts (the inventory's gateway host only).
    #[serde(default)]
    pub gateways: Vec<GatewayDesired>,
    /// BFD timers of the private peering sessions.
    #[serde(default)]
    pub bfd: BfdTimers,
    /// The idle-hold backoff of the customer sessions after errors; `None`: the edge's
    /// default (connect retry doubling up to 120 s).
    #[serde(default)]
    pub error_wait: Option<ErrorWait>,
    /// This edge's VXLAN tunnel endpoint on the fabric underlay, if it has one.
    #[serde(default)]
    pub fabric_endpoint: Option<FabricEndpoint>,
}

/// Where a host's VXLAN tunnels start: its address on the fabric underlay, and the network
/// namespace holding that address (default: the host's own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FabricEndpoint {
    pub address: IpAddr,
    #[serde(default)]
    pub underlay_namespace: Option<String>,
}

/// BFD timers: transmit and receive interval, detection multiplier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BfdTimers {
    pub interval_ms: u32,
    pub multiplier: u8,
}

/// 300 ms × 3, as on Azure's side.
/// The idle-hold backoff after a session error, in seconds: `min` after the first error,
/// doubled after each further one, at most `max` (BIRD's `error wait time MIN, MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorWait {
    pub min: u32,
    pub max: u32,
}

impl Default for BfdTimers {
    fn default() -> Self {
        BfdTimers {
            interval_ms: 300,
            multiplier: 3,
        }
    }
}

/// The fabric segment of one virtual network: the layer-2 segment where its gateway and the
/// edges of every connected circuit meet, addressed from the GatewaySubnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fabric {
    /// The virtual network's ARM id.
    pub vnet: String,
    /// The namespace holding the segment's bridge (`br0`) on this host; every member on the
    /// host joins it with a veth (the lab's local fabric).
    pub namespace: String,
    /// The segment's VXLAN network identifier: one per virtual network.
    pub vni: u32,
    /// The GatewaySubnet's prefix length.
    pub prefix_len: u8,
    /// The gateway's address on the segment.
    pub gateway: Ipv4Addr,
    /// The gateway's AS number (65515, as on Azure).
    pub gateway_as: u32,
    /// The tunnel endpoints of every member host (gateway host and edges), when the
    /// segment spans hosts: one VXLAN network identifier (`vni`) carries it between them.
    #[serde(default)]
    pub vteps: Vec<IpAddr>,
}

/// A virtual network reached from one circuit link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VnetLink {
    pub fabric: Fabric,
    /// This edge's address on the segment.
    pub local: Ipv4Addr,
    /// The interface toward the segment in the circuit's namespace.
    pub ifname: String,
    /// The virtual network's address space, routed to the gateway.
    pub prefixes: Vec<String>,
}

/// One virtual network gateway: a routing domain on the fabric segment that learns the
/// customers' routes from the edges and forwards the virtual network's traffic to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayDesired {
    /// The gateway's ARM id.
    pub id: String,
    /// The gateway's namespace.
    pub namespace: String,
    pub fabric: Fabric,
    /// Addresses the gateway answers on toward the virtual network's hosts (the first
    /// address of each subnet but the GatewaySubnet, as `addr/len`), on bridge `vnet0`.
    pub host_addresses: Vec<String>,
    /// The edges of every connected circuit.
    pub peers: Vec<GatewayPeer>,
}

/// One edge session of a gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayPeer {
    pub address: Ipv4Addr,
    pub remote_as: u32,
    /// The connection's routingWeight: a higher weight wins over any path attribute.
    pub weight: u32,
    /// The circuit's service key and which of its links this is.
    pub service_key: String,
    pub role: Role,
}

/// How a port carries a circuit's traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Attachment {
    /// Built-in lab port: the edge makes a veth cross-connect per peering and leaves the
    /// customer's end (`ce0` for private peering, `ce1` for Microsoft peering) in
    /// `customer_namespace`.
    Lab { customer_namespace: String },
    /// A Linux interface: the whole port (`untagged`), 802.1Q subinterfaces per peering VLAN
    /// (`dot1q`), or an S-tag per circuit with C-tags per peering (`qinq`).
    Interface {
        ifname: String,
        encapsulation: Encapsulation,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Encapsulation {
    Untagged,
    Dot1q,
    Qinq { stag: u16 },
}

/// One circuit's link on this edge: its own routing domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitDesired {
    /// The circuit's service key: the stable identity of the circuit everywhere.
    pub service_key: String,
    /// The ARM id, for logs and status.
    pub id: String,
    pub role: Role,
    /// The network namespace holding this circuit's routing domain on this edge.
    pub namespace: String,
    pub attachment: Attachment,
    pub peerings: Vec<PeeringDesired>,
    /// Operator drain: extra own-AS prepends on every session of this link.
    pub prepend: u8,
    /// Prefixes the cloud side advertises to the customer (connected virtual networks).
    pub advertise: Vec<String>,
    /// Connected virtual networks reached over the fabric (private peering).
    #[serde(default)]
    pub vnets: Vec<VnetLink>,
}

/// One peering's session(s) on this link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeeringDesired {
    /// `AzurePrivatePeering` or `MicrosoftPeering`.
    pub name: String,
    pub vlan_id: u16,
    /// `state: Disabled` brings the sessions down administratively.
    pub enabled: bool,
    pub peer_asn: u32,
    pub md5_key: Option<String>,
    pub ipv4: Option<LinkAddresses>,
    pub ipv6: Option<LinkAddresses>,
    /// Maximum prefixes accepted from the customer, per family (by SKU and peering type).
    pub max_prefixes_v4: u32,
    pub max_prefixes_v6: u32,
}

/// The point-to-point subnet of one session: the edge takes the second usable address, the
/// customer the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkAddresses {
    pub local: IpAddr,
    pub peer: IpAddr,
    pub prefix_len: u8,
}

/// What an edge reports back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeReport {
    pub edge: String,
    /// The generation the edge has applied.
    pub generation: u64,
    /// Whether the edge can create namespaces, links and routes (CAP_NET_ADMIN).
    pub net_admin: bool,
    pub circuits: Vec<CircuitReport>,
    #[serde(default)]
    pub gateways: Vec<GatewayReport>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitReport {
    pub service_key: String,
    pub role: Option<Role>,
    pub namespace: String,
    pub customer_namespace: Option<String>,
    /// Why the circuit is not fully realized on this edge, if it is not.
    pub error: Option<String>,
    pub peerings: Vec<PeeringReport>,
}

/// A hosted gateway's live state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayReport {
    pub id: String,
    pub namespace: String,
    pub error: Option<String>,
    pub sessions: Vec<SessionReport>,
    /// Customer routes and the edges they go to.
    pub routes: Vec<RouteReport>,
    /// Routes the gateway's FIB writer has installed, when it programs one.
    #[serde(default)]
    pub fib_routes: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeeringReport {
    pub name: String,
    pub sessions: Vec<SessionReport>,
    /// The routing domain's table: what the customer sent and what the cloud advertises.
    pub routes: Vec<RouteReport>,
    pub arp: Vec<ArpReport>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Routes the routing domain's FIB writer has installed, when it programs one.
    #[serde(default)]
    pub fib_routes: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionReport {
    pub neighbor: String,
    pub remote_as: u32,
    /// RFC 4271 state name.
    pub state: String,
    pub uptime_secs: Option<u64>,
    pub prefixes_received: u32,
    pub prefixes_accepted: u32,
    pub prefixes_advertised: u32,
    pub last_error: Option<String>,
    /// "ipv4" or "ipv6".
    pub family: String,
    /// The BFD session state toward the neighbor, when BFD runs.
    #[serde(default)]
    pub bfd: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteReport {
    pub network: String,
    pub next_hop: String,
    pub as_path: String,
    pub local_pref: u32,
    /// The path came from the customer (false: the cloud side originates it).
    pub learned: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArpReport {
    pub ip_address: String,
    pub mac_address: String,
    pub interface: String,
    pub age_secs: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desired_state_round_trips_through_json() {
        let d = EdgeDesired {
            edge: "lab-edge-1".into(),
            role: Role::Primary,
            instance: "1a2b3c4d".into(),
            generation: 7,
            local_as: 12076,
            router_id: Ipv4Addr::new(192, 0, 2, 1),
            circuits: vec![CircuitDesired {
                service_key: "sk".into(),
                id: "/subscriptions/s/…".into(),
                role: Role::Primary,
                namespace: "cwe-1-abcd".into(),
                attachment: Attachment::Interface {
                    ifname: "eth1".into(),
                    encapsulation: Encapsulation::Qinq { stag: 100 },
                },
                peerings: vec![PeeringDesired {
                    name: "AzurePrivatePeering".into(),
                    vlan_id: 100,
                    enabled: true,
                    peer_asn: 65001,
                    md5_key: None,
                    ipv4: Some(LinkAddresses {
                        local: "10.0.0.2".parse().expect("address"),
                        peer: "10.0.0.1".parse().expect("address"),
                        prefix_len: 30,
                    }),
                    ipv6: None,
                    max_prefixes_v4: 4000,
                    max_prefixes_v6: 100,
                }],
                prepend: 0,
                advertise: vec!["10.10.0.0/16".into()],
                vnets: Vec::new(),
            }],
            gateways: Vec::new(),
            bfd: BfdTimers::default(),
            error_wait: Some(ErrorWait { min: 1, max: 30 }),
            fabric_endpoint: None,
        };
        let json = serde_json::to_string(&d).expect("serialize");
        assert!(json.contains(r#""kind":"interface""#), "{json}");
        let back: EdgeDesired = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, d);
    }
}
