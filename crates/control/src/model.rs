//! The resource model as stored, and its rendering in ARM's wire shapes.
//!
//! A circuit is stored as one record holding its peerings and authorizations (ARM embeds
//! them in the circuit body too); the provider's cross-connection is a view of the same
//! record, named by the service key, so the two parties can never disagree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

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

pub fn new_etag() -> String {
    format!("W/\"{}\"", uuid::Uuid::new_v4())
}

// ===== rendering =====

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

    /// The customer's view (`Microsoft.Network/expressRouteCircuits`).
    pub fn render(&self) -> Value {
        let id = self.id();
        json!({
            "id": id,
            "name": self.name,
            "type": "Microsoft.Network/expressRouteCircuits",
            "location": self.location,
            "tags": self.tags,
            "etag": self.etag,
            "sku": {"name": self.sku.name(), "tier": self.sku.tier, "family": self.sku.family},
            "properties": {
                "provisioningState": "Succeeded",
                "circuitProvisioningState": "Enabled",
                "serviceProviderProvisioningState": self.provider_state,
                "serviceProviderNotes": self.provider_notes,
                "serviceKey": self.service_key,
                "stag": self.stag.unwrap_or(0),
                "allowClassicOperations": self.allow_classic_operations,
                "globalReachEnabled": self.global_reach_enabled,
                "gatewayManagerEtag": "",
                "serviceProviderProperties": {
                    "serviceProviderName": self.provider.service_provider_name,
                    "peeringLocation": self.provider.peering_location,
                    "bandwidthInMbps": self.provider.bandwidth_in_mbps,
                },
                "peerings": self.peerings.iter().map(|p| p.render(&id, CIRCUITS, self)).collect::<Vec<_>>(),
                "authorizations": self.authorizations.iter().map(|a| a.render(&id)).collect::<Vec<_>>(),
            }
        })
    }

    pub fn cross_connection_id(&self, provider_sub: &str) -> String {
        format!(
            "/subscriptions/{provider_sub}/resourceGroups/{}/providers/Microsoft.Network/{CROSS}/{}",
            cross_connection_rg(&self.provider.peering_location),
            self.service_key
        )
    }

    /// The provider's view (`Microsoft.Network/expressRouteCrossConnections`).
    pub fn render_cross_connection(&self, provider_sub: &str) -> Value {
        let id = self.cross_connection_id(provider_sub);
        json!({
            "id": id,
            "name": self.service_key,
            "type": "Microsoft.Network/expressRouteCrossConnections",
            "location": self.location,
            "tags": self.cross_connection_tags,
            "etag": self.etag,
            "properties": {
                "provisioningState": "Succeeded",
                "primaryAzurePort": primary_port(self),
                "secondaryAzurePort": secondary_port(self),
                "sTag": self.stag.unwrap_or(0),
                "peeringLocation": self.provider.peering_location,
                "bandwidthInMbps": self.provider.bandwidth_in_mbps,
                "expressRouteCircuit": {"id": self.id()},
                "serviceProviderProvisioningState": self.provider_state,
                "serviceProviderNotes": self.provider_notes,
                "peerings": self.peerings.iter().map(|p| p.render(&id, CROSS, self)).collect::<Vec<_>>(),
            }
        })
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

impl Peering {
    pub fn render(&self, parent_id: &str, kind: &str, circuit: &Circuit) -> Value {
        let mut props = json!({
            "provisioningState": "Succeeded",
            "peeringType": self.peering_type,
            "state": self.state,
            "azureASN": AZURE_ASN,
            "peerASN": self.peer_asn,
            "primaryPeerAddressPrefix": self.primary_prefix,
            "secondaryPeerAddressPrefix": self.secondary_prefix,
            "primaryAzurePort": primary_port(circuit),
            "secondaryAzurePort": secondary_port(circuit),
            "vlanId": self.vlan_id,
            "gatewayManagerEtag": "",
            "lastModifiedBy": self.last_modified_by,
        });
        if let Some(ms) = &self.microsoft {
            props["microsoftPeeringConfig"] = ms.render();
        }
        if let Some(v6) = &self.ipv6 {
            let mut cfg = json!({
                "primaryPeerAddressPrefix": v6.primary_prefix,
                "secondaryPeerAddressPrefix": v6.secondary_prefix,
                "state": v6.state,
            });
            if let Some(ms) = &v6.microsoft {
                cfg["microsoftPeeringConfig"] = ms.render();
            }
            props["ipv6PeeringConfig"] = cfg;
        }
        if kind == CIRCUITS {
            props["connections"] = json!([]);
            props["peeredConnections"] = json!([]);
        }
        json!({
            "id": format!("{parent_id}/peerings/{}", self.name),
            "name": self.name,
            "type": format!("Microsoft.Network/{kind}/peerings"),
            "etag": self.etag,
            "properties": props,
        })
    }
}

impl MicrosoftConfig {
    fn render(&self) -> Value {
        let mut v = json!({
            "advertisedPublicPrefixes": self.advertised_public_prefixes,
            "advertisedCommunities": self.advertised_communities,
            "advertisedPublicPrefixesState": "Configured",
            "legacyMode": 0,
        });
        if let Some(asn) = self.customer_asn {
            v["customerASN"] = json!(asn);
        }
        if let Some(r) = &self.routing_registry_name {
            v["routingRegistryName"] = json!(r);
        }
        v
    }
}

impl Authorization {
    pub fn render(&self, parent_id: &str) -> Value {
        let mut v = json!({
            "id": format!("{parent_id}/authorizations/{}", self.name),
            "name": self.name,
            "type": "Microsoft.Network/expressRouteCircuits/authorizations",
            "etag": self.etag,
            "properties": {
                "provisioningState": "Succeeded",
                "authorizationKey": self.key,
                "authorizationUseStatus": self.use_status,
            }
        });
        if let Some(uri) = &self.connection_resource_uri {
            v["properties"]["connectionResourceUri"] = json!(uri);
        }
        v
    }
}
