//! The circuit record as stored: the circuit with its peerings and authorizations.
//!
//! A circuit is stored as one record holding its peerings and authorizations (ARM embeds
//! them in the circuit body too); the provider's cross-connection is a view of the same
//! record, named by the service key, so the two parties can never disagree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Microsoft's ASN on every ExpressRoute peering (Causeway's default local AS).
pub const AZURE_ASN: u32 = 12076;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sku {
    pub tier: String,
    pub family: String,
}

impl Sku {
    pub fn name(&self) -> String {
        format!("{}_{}", self.tier, self.family)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderProperties {
    pub service_provider_name: String,
    pub peering_location: String,
    pub bandwidth_in_mbps: u32,
}

/// A stored circuit with its children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Circuit {
    pub sub: String,
    pub rg: String,
    pub name: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    pub sku: Sku,
    pub service_key: String,
    pub provider: ProviderProperties,
    pub provider_state: String,
    pub provider_notes: String,
    pub allow_classic_operations: bool,
    pub global_reach_enabled: bool,
    pub peerings: Vec<Peering>,
    pub authorizations: Vec<Authorization>,
    pub etag: String,
    /// Tags the provider put on its cross-connection (kept apart from the customer's).
    #[serde(default)]
    pub cross_connection_tags: BTreeMap<String, String>,
    /// QinQ S-tag, assigned when the provider provisions the circuit.
    #[serde(default)]
    pub stag: Option<u16>,
    /// Operator drain per link ("primary" / "secondary"): extra AS-path prepends, Azure's
    /// maintenance behaviour.
    #[serde(default)]
    pub drain: BTreeMap<String, u8>,
    /// Global Reach connections this circuit's private peering initiated
    /// (`peerings/AzurePrivatePeering/connections`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub global_reach: Vec<CircuitConnection>,
}

/// A Global Reach connection, stored on the circuit that initiated it; the peer circuit
/// shows it as a `peerConnection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitConnection {
    pub name: String,
    /// The peer circuit's id.
    pub peer: String,
    /// The IPv4 /29 the backbone tunnels' addresses come from.
    pub address_prefix: String,
    /// The IPv6 /125, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_prefix: Option<String>,
    /// The peer circuit's authorization this connection consumed (its name there) and key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_key: Option<String>,
    pub etag: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeeringConfigV6 {
    pub primary_prefix: String,
    pub secondary_prefix: String,
    pub state: String,
    pub microsoft: Option<MicrosoftConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MicrosoftConfig {
    pub advertised_public_prefixes: Vec<String>,
    pub advertised_communities: Vec<String>,
    pub customer_asn: Option<u32>,
    pub routing_registry_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peering {
    pub name: String,
    pub peering_type: String,
    pub state: String,
    pub peer_asn: u32,
    pub primary_prefix: String,
    pub secondary_prefix: String,
    /// The MD5 key: stored, never rendered.
    pub shared_key: Option<String>,
    pub vlan_id: u16,
    pub microsoft: Option<MicrosoftConfig>,
    pub ipv6: Option<PeeringConfigV6>,
    pub last_modified_by: String,
    pub etag: String,
    /// The route filter attached to a Microsoft peering (its id): what the edges advertise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_filter: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    pub name: String,
    pub key: String,
    pub use_status: String,
    pub etag: String,
    /// The connection using this authorization (while `use_status` is InUse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_resource_uri: Option<String>,
}

pub use crate::arm::etag::new_etag;

const CIRCUITS: &str = "expressRouteCircuits";
const CROSS: &str = "expressRouteCrossConnections";

impl Circuit {
    pub fn id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/{CIRCUITS}/{}",
            self.sub, self.rg, self.name
        )
    }

    /// Whether the provider has the circuit: peerings are active only then.
    pub fn provisioned(&self) -> bool {
        self.provider_state == "Provisioned"
    }

    pub fn peering(&self, name: &str) -> Option<&Peering> {
        self.peerings
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    pub fn authorization(&self, name: &str) -> Option<&Authorization> {
        self.authorizations
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    pub fn cross_connection_id(&self, provider_sub: &str) -> String {
        format!(
            "/subscriptions/{provider_sub}/resourceGroups/{}/providers/Microsoft.Network/{CROSS}/{}",
            cross_connection_rg(&self.provider.peering_location),
            self.service_key
        )
    }
}

/// Azure puts cross-connections in resource group `CrossConnection-<PeeringLocation>`.
pub fn cross_connection_rg(peering_location: &str) -> String {
    let compact: String = peering_location
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("CrossConnection-{compact}")
}

fn port_base(c: &Circuit) -> String {
    let loc: String = c
        .provider
        .peering_location
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    loc.to_ascii_uppercase()
}

/// The Azure-side port names shown on peerings (the edge pair of the peering location).
pub fn primary_port(c: &Circuit) -> String {
    format!("{}-EDGE-1", port_base(c))
}

pub fn secondary_port(c: &Circuit) -> String {
    format!("{}-EDGE-2", port_base(c))
}
