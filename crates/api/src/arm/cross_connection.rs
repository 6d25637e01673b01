//! `Microsoft.Network/expressRouteCrossConnections`: the connectivity provider's view of a
//! customer's circuit. It lives in the provider's subscription, in resource group
//! `CrossConnection-<PeeringLocation>`, and is named by the circuit's service key; the provider
//! drives `serviceProviderProvisioningState` through it and may manage the peerings. There is
//! no DELETE: the platform creates and removes it with the circuit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::circuit::{
    AZURE_ASN, ExpressRouteCircuitPeeringConfig, Ipv6ExpressRouteCircuitPeeringConfig,
};

/// ARM `ExpressRouteCrossConnection` (`Microsoft.Network/expressRouteCrossConnections`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteCrossConnection {
    #[schema(read_only)]
    pub id: String,
    /// The circuit's service key.
    #[schema(read_only)]
    pub name: String,
    /// `Microsoft.Network/expressRouteCrossConnections`.
    #[serde(rename = "type")]
    #[schema(read_only)]
    pub kind: String,
    /// The circuit's Azure region.
    pub location: String,
    /// The provider's own tags (apart from the customer's circuit tags).
    pub tags: BTreeMap<String, String>,
    #[schema(read_only)]
    pub etag: String,
    pub properties: ExpressRouteCrossConnectionProperties,
}

impl ExpressRouteCrossConnection {
    pub const TYPE: &'static str = "Microsoft.Network/expressRouteCrossConnections";
}

/// ARM `ExpressRouteCrossConnectionProperties`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteCrossConnectionProperties {
    /// The Microsoft-side device of each link.
    #[schema(read_only)]
    pub primary_azure_port: String,
    #[schema(read_only)]
    pub secondary_azure_port: String,
    /// QinQ outer tag of the circuit's traffic; 0 until assigned.
    #[serde(rename = "sTag")]
    #[schema(read_only)]
    pub s_tag: u16,
    #[schema(read_only)]
    pub peering_location: String,
    #[schema(read_only)]
    pub bandwidth_in_mbps: u32,
    /// The customer's circuit.
    pub express_route_circuit: ExpressRouteCircuitReference,
    /// The provider writes it: `NotProvisioned`, `Provisioning`, `Provisioned`,
    /// `Deprovisioning`, `DeProvisioned`.
    pub service_provider_provisioning_state: String,
    /// Free text the provider leaves for the customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_provider_notes: Option<String>,
    #[schema(read_only)]
    pub provisioning_state: String,
    pub peerings: Vec<ExpressRouteCrossConnectionPeering>,
}

impl Default for ExpressRouteCrossConnectionProperties {
    fn default() -> Self {
        ExpressRouteCrossConnectionProperties {
            primary_azure_port: String::new(),
            secondary_azure_port: String::new(),
            s_tag: 0,
            peering_location: String::new(),
            bandwidth_in_mbps: 0,
            express_route_circuit: ExpressRouteCircuitReference::default(),
            service_provider_provisioning_state: "NotProvisioned".into(),
            service_provider_notes: None,
            provisioning_state: "Succeeded".into(),
            peerings: Vec::new(),
        }
    }
}

/// ARM `ExpressRouteCircuitReference`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteCircuitReference {
    /// The circuit's ARM id.
    pub id: String,
}

/// ARM `ExpressRouteCrossConnectionPeering`
/// (`Microsoft.Network/expressRouteCrossConnections/peerings`): the provider's view of a
/// circuit peering (the same peering, under the cross-connection's id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteCrossConnectionPeering {
    #[schema(read_only)]
    pub id: String,
    /// `AzurePrivatePeering` or `MicrosoftPeering`.
    pub name: String,
    /// `Microsoft.Network/expressRouteCrossConnections/peerings`.
    #[serde(rename = "type")]
    #[schema(read_only)]
    pub kind: String,
    #[schema(read_only)]
    pub etag: String,
    pub properties: ExpressRouteCrossConnectionPeeringProperties,
}

impl ExpressRouteCrossConnectionPeering {
    pub const TYPE: &'static str = "Microsoft.Network/expressRouteCrossConnections/peerings";
}

/// ARM `ExpressRouteCrossConnectionPeeringProperties`: the circuit peering's fields without
/// `stats`, `routeFilter` and Global Reach `connections`; `azureASN` and the Azure ports are
/// read-only here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteCrossConnectionPeeringProperties {
    /// `AzurePrivatePeering`, `MicrosoftPeering` or `AzurePublicPeering` (legacy).
    pub peering_type: String,
    /// IPv4 sessions: `Enabled` or `Disabled`.
    pub state: String,
    #[serde(rename = "azureASN")]
    #[schema(read_only)]
    pub azure_asn: u32,
    /// The customer's ASN.
    #[serde(rename = "peerASN")]
    #[schema(format = Int64, minimum = 1, maximum = 4294967295_u32)]
    pub peer_asn: u32,
    pub primary_peer_address_prefix: String,
    pub secondary_peer_address_prefix: String,
    #[schema(read_only)]
    pub primary_azure_port: String,
    #[schema(read_only)]
    pub secondary_azure_port: String,
    /// The BGP MD5 key; write-only in practice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_key: Option<String>,
    pub vlan_id: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub microsoft_peering_config: Option<ExpressRouteCircuitPeeringConfig>,
    #[schema(read_only)]
    pub provisioning_state: String,
    pub gateway_manager_etag: String,
    /// `Customer` or `ServiceProvider`.
    #[schema(read_only)]
    pub last_modified_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_peering_config: Option<Ipv6ExpressRouteCircuitPeeringConfig>,
}

impl Default for ExpressRouteCrossConnectionPeeringProperties {
    fn default() -> Self {
        ExpressRouteCrossConnectionPeeringProperties {
            peering_type: String::new(),
            state: "Enabled".into(),
            azure_asn: AZURE_ASN,
            peer_asn: 0,
            primary_peer_address_prefix: String::new(),
            secondary_peer_address_prefix: String::new(),
            primary_azure_port: String::new(),
            secondary_azure_port: String::new(),
            shared_key: None,
            vlan_id: 0,
            microsoft_peering_config: None,
            provisioning_state: "Succeeded".into(),
            gateway_manager_etag: String::new(),
            last_modified_by: String::new(),
            ipv6_peering_config: None,
        }
    }
}

/// `ExpressRouteCrossConnectionListResult`.
pub type ExpressRouteCrossConnectionListResult = super::List<ExpressRouteCrossConnection>;
/// `ExpressRouteCrossConnectionPeeringList`.
pub type ExpressRouteCrossConnectionPeeringList = super::List<ExpressRouteCrossConnectionPeering>;
