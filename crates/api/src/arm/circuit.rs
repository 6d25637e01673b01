//! `Microsoft.Network/expressRouteCircuits` and everything under it: peerings, authorizations,
//! Global Reach circuit connections, traffic stats and the ARP / route table / route summary
//! diagnostics of a peering's link.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::SubResource;

/// Microsoft's ASN on every ExpressRoute peering (`azureASN`).
pub const AZURE_ASN: u32 = 12076;

// ===== circuit =====

/// ARM `ExpressRouteCircuit` (`Microsoft.Network/expressRouteCircuits`): the customer's
/// circuit, with its peerings and authorizations embedded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteCircuit {
    #[schema(read_only)]
    pub id: String,
    #[schema(read_only)]
    pub name: String,
    /// `Microsoft.Network/expressRouteCircuits` ([`ExpressRouteCircuit::TYPE`]).
    #[serde(rename = "type")]
    #[schema(read_only)]
    pub kind: String,
    /// The Azure region (`westus`), not the peering location.
    pub location: String,
    pub tags: BTreeMap<String, String>,
    /// Weak ETag, `W/"<guid>"`; changes with every write.
    #[schema(read_only)]
    pub etag: String,
    pub sku: ExpressRouteCircuitSku,
    pub properties: ExpressRouteCircuitPropertiesFormat,
}

impl ExpressRouteCircuit {
    pub const TYPE: &'static str = "Microsoft.Network/expressRouteCircuits";
}

/// ARM `ExpressRouteCircuitSku`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteCircuitSku {
    /// `<tier>_<family>`, e.g. `Standard_MeteredData`.
    pub name: String,
    /// `Local`, `Standard`, `Premium`, `Basic` (legacy) or `MultiCloud`.
    pub tier: String,
    /// `MeteredData` or `UnlimitedData`.
    pub family: String,
}

/// ARM `ExpressRouteCircuitPropertiesFormat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteCircuitPropertiesFormat {
    pub allow_classic_operations: bool,
    /// `Enabled` or `Disabled`: whether Microsoft has the circuit enabled (server-set).
    pub circuit_provisioning_state: String,
    /// The connectivity provider's workflow, driven through its cross-connection:
    /// `NotProvisioned`, `Provisioning`, `Provisioned`, `Deprovisioning`, `DeProvisioned`.
    pub service_provider_provisioning_state: String,
    pub authorizations: Vec<ExpressRouteCircuitAuthorization>,
    pub peerings: Vec<ExpressRouteCircuitPeering>,
    /// The key the customer hands to the provider; also the cross-connection's name.
    #[schema(read_only)]
    pub service_key: String,
    /// Free text the provider leaves on its cross-connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_provider_notes: Option<String>,
    /// Provider, peering location and bandwidth (absent on ExpressRoute Direct circuits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_provider_properties: Option<ExpressRouteCircuitServiceProviderProperties>,
    /// The ExpressRoute Direct port the circuit is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub express_route_port: Option<SubResource>,
    /// Bandwidth of a circuit on an ExpressRoute Direct port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bandwidth_in_gbps: Option<f64>,
    /// QinQ outer tag (S-tag) of the circuit's traffic; 0 until assigned.
    #[schema(read_only)]
    pub stag: u16,
    /// `Succeeded`, `Updating`, `Deleting`, `Failed` (also `Creating`, `Canceled`).
    #[schema(read_only)]
    pub provisioning_state: String,
    /// Echoed back; `""` on create.
    pub gateway_manager_etag: String,
    pub global_reach_enabled: bool,
    /// Port authorization key, when the circuit is created on another owner's Direct port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_key: Option<String>,
    /// Status of that port authorization (e.g. `Enabled`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub authorization_status: Option<String>,
    /// Rate limiting of a Direct-port circuit.
    pub enable_direct_port_rate_limit: bool,
    /// `Standard`, `High` or `Maximum` (ExpressRoute Metro, MultiCloud).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub resiliency_level: Option<String>,
    /// The partner cloud's account (MultiCloud tier).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation_key: Option<String>,
    /// Causeway extension: live state of the circuit's two links.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub causeway: Option<CausewayCircuitStatus>,
}

impl Default for ExpressRouteCircuitPropertiesFormat {
    fn default() -> Self {
        ExpressRouteCircuitPropertiesFormat {
            allow_classic_operations: false,
            circuit_provisioning_state: "Enabled".into(),
            service_provider_provisioning_state: "NotProvisioned".into(),
            authorizations: Vec::new(),
            peerings: Vec::new(),
            service_key: String::new(),
            service_provider_notes: None,
            service_provider_properties: None,
            express_route_port: None,
            bandwidth_in_gbps: None,
            stag: 0,
            provisioning_state: "Succeeded".into(),
            gateway_manager_etag: String::new(),
            global_reach_enabled: false,
            authorization_key: None,
            authorization_status: None,
            enable_direct_port_rate_limit: false,
            resiliency_level: None,
            partner_account_id: None,
            activation_key: None,
            causeway: None,
        }
    }
}

/// ARM `ExpressRouteCircuitServiceProviderProperties`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteCircuitServiceProviderProperties {
    /// A provider of `expressRouteServiceProviders`.
    pub service_provider_name: String,
    /// One of that provider's peering locations (`Silicon Valley`).
    pub peering_location: String,
    pub bandwidth_in_mbps: u32,
}

// ===== peerings =====

/// ARM `ExpressRouteCircuitPeering` (`Microsoft.Network/expressRouteCircuits/peerings`). Its
/// name is its peering type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteCircuitPeering {
    #[schema(read_only)]
    pub id: String,
    /// `AzurePrivatePeering` or `MicrosoftPeering` (legacy `AzurePublicPeering`).
    pub name: String,
    /// `Microsoft.Network/expressRouteCircuits/peerings` ([`ExpressRouteCircuitPeering::TYPE`]).
    #[serde(rename = "type")]
    #[schema(read_only)]
    pub kind: String,
    #[schema(read_only)]
    pub etag: String,
    pub properties: ExpressRouteCircuitPeeringPropertiesFormat,
}

impl ExpressRouteCircuitPeering {
    pub const TYPE: &'static str = "Microsoft.Network/expressRouteCircuits/peerings";
}

/// ARM `ExpressRouteCircuitPeeringPropertiesFormat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteCircuitPeeringPropertiesFormat {
    /// `AzurePrivatePeering`, `MicrosoftPeering` or `AzurePublicPeering` (legacy).
    pub peering_type: String,
    /// IPv4 sessions: `Enabled` or `Disabled`.
    pub state: String,
    /// Microsoft's side: 12076.
    #[serde(rename = "azureASN")]
    pub azure_asn: u32,
    /// The customer's ASN (2- or 4-byte).
    #[serde(rename = "peerASN")]
    #[schema(format = Int64, minimum = 1, maximum = 4294967295_u32)]
    pub peer_asn: u32,
    /// The primary link's /30 (or /126 in [`Ipv6ExpressRouteCircuitPeeringConfig`]): the
    /// customer takes the first usable address, Microsoft the second.
    pub primary_peer_address_prefix: String,
    pub secondary_peer_address_prefix: String,
    /// The Microsoft-side device of each link (server-set).
    pub primary_azure_port: String,
    pub secondary_azure_port: String,
    /// The BGP MD5 key; write-only in practice (never rendered back by Causeway).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_key: Option<String>,
    /// 802.1Q VLAN (the C-tag under QinQ), the same on both links.
    pub vlan_id: u16,
    /// Microsoft peering: what the customer advertises.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub microsoft_peering_config: Option<ExpressRouteCircuitPeeringConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<ExpressRouteCircuitStats>,
    #[schema(read_only)]
    pub provisioning_state: String,
    pub gateway_manager_etag: String,
    /// Who wrote the peering last: `Customer` or `ServiceProvider`.
    #[schema(read_only)]
    pub last_modified_by: String,
    /// The route filter of a Microsoft peering.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_filter: Option<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_peering_config: Option<Ipv6ExpressRouteCircuitPeeringConfig>,
    /// The Virtual WAN ExpressRoute connection using the peering.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub express_route_connection: Option<ExpressRouteConnectionId>,
    /// Global Reach connections this (private) peering initiated.
    pub connections: Vec<ExpressRouteCircuitConnection>,
    /// Global Reach connections other circuits made to this one.
    #[schema(read_only)]
    pub peered_connections: Vec<PeerExpressRouteCircuitConnection>,
    /// Causeway extension: per-link BGP session state, saying why a session is down.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub causeway: Option<CausewayPeeringStatus>,
}

impl Default for ExpressRouteCircuitPeeringPropertiesFormat {
    fn default() -> Self {
        ExpressRouteCircuitPeeringPropertiesFormat {
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
            stats: None,
            provisioning_state: "Succeeded".into(),
            gateway_manager_etag: String::new(),
            last_modified_by: String::new(),
            route_filter: None,
            ipv6_peering_config: None,
            express_route_connection: None,
            connections: Vec::new(),
            peered_connections: Vec::new(),
            causeway: None,
        }
    }
}

/// ARM `ExpressRouteCircuitPeeringConfig`: the Microsoft peering's advertisements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteCircuitPeeringConfig {
    /// Public prefixes the customer advertises (validated against a routing registry).
    pub advertised_public_prefixes: Vec<String>,
    /// BGP communities the customer attaches.
    pub advertised_communities: Vec<String>,
    /// `NotConfigured`, `Configuring`, `Configured` or `ValidationNeeded`.
    #[schema(read_only)]
    pub advertised_public_prefixes_state: String,
    pub legacy_mode: i32,
    /// The customer's ASN when it differs from `peerASN` (a customer behind a provider).
    #[serde(rename = "customerASN", skip_serializing_if = "Option::is_none")]
    pub customer_asn: Option<u32>,
    /// Routing registry holding the prefixes (`ARIN`, `RIPENCC`, …; Terraform sends `NONE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_registry_name: Option<String>,
    /// Signature-based validation of each advertised prefix (newer api-versions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advertised_public_prefix_info: Option<Vec<AdvertisedPublicPrefixProperties>>,
}

impl Default for ExpressRouteCircuitPeeringConfig {
    fn default() -> Self {
        ExpressRouteCircuitPeeringConfig {
            advertised_public_prefixes: Vec::new(),
            advertised_communities: Vec::new(),
            advertised_public_prefixes_state: "NotConfigured".into(),
            legacy_mode: 0,
            customer_asn: None,
            routing_registry_name: None,
            advertised_public_prefix_info: None,
        }
    }
}

/// ARM `AdvertisedPublicPrefixProperties`: one prefix with its ownership proof.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct AdvertisedPublicPrefixProperties {
    pub prefix: String,
    /// The string the customer signs (it names the circuit peering).
    pub validation_id: String,
    /// `validationId` signed with the prefix holder's private key.
    pub signature: String,
    /// `NotConfigured`, `Configuring`, `Configured`, `ValidationNeeded`, `ValidationFailed`,
    /// `ManualValidationNeeded`, `AsnValidationFailed`, `CertificateMissingInRoutingRegistry`,
    /// `InvalidSignatureEncoding`, `SignatureVerificationFailed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub validation_state: Option<String>,
}

/// ARM `Ipv6ExpressRouteCircuitPeeringConfig`: the IPv6 half of a peering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct Ipv6ExpressRouteCircuitPeeringConfig {
    /// The primary link's /126.
    pub primary_peer_address_prefix: String,
    pub secondary_peer_address_prefix: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub microsoft_peering_config: Option<ExpressRouteCircuitPeeringConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_filter: Option<SubResource>,
    /// IPv6 sessions: `Enabled` or `Disabled`.
    pub state: String,
}

impl Default for Ipv6ExpressRouteCircuitPeeringConfig {
    fn default() -> Self {
        Ipv6ExpressRouteCircuitPeeringConfig {
            primary_peer_address_prefix: String::new(),
            secondary_peer_address_prefix: String::new(),
            microsoft_peering_config: None,
            route_filter: None,
            state: "Enabled".into(),
        }
    }
}

/// ARM `ExpressRouteConnectionId`: reference to a Virtual WAN ExpressRoute connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteConnectionId {
    #[schema(read_only)]
    pub id: String,
}

// ===== Global Reach =====

/// ARM `ExpressRouteCircuitConnection`
/// (`Microsoft.Network/expressRouteCircuits/peerings/connections`): a Global Reach link from
/// this circuit's private peering to another circuit's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteCircuitConnection {
    #[schema(read_only)]
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    #[schema(read_only)]
    pub kind: String,
    #[schema(read_only)]
    pub etag: String,
    pub properties: ExpressRouteCircuitConnectionPropertiesFormat,
}

impl ExpressRouteCircuitConnection {
    pub const TYPE: &'static str = "Microsoft.Network/expressRouteCircuits/peerings/connections";
}

/// ARM `ExpressRouteCircuitConnectionPropertiesFormat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteCircuitConnectionPropertiesFormat {
    /// This circuit's private peering.
    pub express_route_circuit_peering: SubResource,
    /// The other circuit's private peering.
    pub peer_express_route_circuit_peering: SubResource,
    /// The /29 the tunnels' addresses come from.
    pub address_prefix: String,
    /// The peer circuit owner's authorization, when it is in another subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_circuit_connection_config: Option<Ipv6CircuitConnectionConfig>,
    /// `Connected`, `Connecting` or `Disconnected`.
    #[schema(read_only)]
    pub circuit_connection_status: String,
    #[schema(read_only)]
    pub provisioning_state: String,
}

impl Default for ExpressRouteCircuitConnectionPropertiesFormat {
    fn default() -> Self {
        ExpressRouteCircuitConnectionPropertiesFormat {
            express_route_circuit_peering: SubResource::default(),
            peer_express_route_circuit_peering: SubResource::default(),
            address_prefix: String::new(),
            authorization_key: None,
            ipv6_circuit_connection_config: None,
            circuit_connection_status: String::new(),
            provisioning_state: "Succeeded".into(),
        }
    }
}

/// ARM `Ipv6CircuitConnectionConfig`: the IPv6 half of a Global Reach connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct Ipv6CircuitConnectionConfig {
    /// The /125 the tunnels' addresses come from.
    pub address_prefix: String,
    /// `Connected`, `Connecting` or `Disconnected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub circuit_connection_status: Option<String>,
}

/// ARM `PeerExpressRouteCircuitConnection`
/// (`Microsoft.Network/expressRouteCircuits/peerings/peerConnections`): the read-only mirror of
/// a Global Reach connection on the circuit it points at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct PeerExpressRouteCircuitConnection {
    #[schema(read_only)]
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    #[schema(read_only)]
    pub kind: String,
    #[schema(read_only)]
    pub etag: String,
    pub properties: PeerExpressRouteCircuitConnectionPropertiesFormat,
}

impl PeerExpressRouteCircuitConnection {
    pub const TYPE: &'static str =
        "Microsoft.Network/expressRouteCircuits/peerings/peerConnections";
}

/// ARM `PeerExpressRouteCircuitConnectionPropertiesFormat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct PeerExpressRouteCircuitConnectionPropertiesFormat {
    /// This circuit's private peering.
    pub express_route_circuit_peering: SubResource,
    /// The initiating circuit's private peering.
    pub peer_express_route_circuit_peering: SubResource,
    pub address_prefix: String,
    /// `Connected`, `Connecting` or `Disconnected`.
    #[schema(read_only)]
    pub circuit_connection_status: String,
    /// The initiating side's connection name.
    pub connection_name: String,
    /// The authorization the connection used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_resource_guid: Option<String>,
    #[schema(read_only)]
    pub provisioning_state: String,
}

impl Default for PeerExpressRouteCircuitConnectionPropertiesFormat {
    fn default() -> Self {
        PeerExpressRouteCircuitConnectionPropertiesFormat {
            express_route_circuit_peering: SubResource::default(),
            peer_express_route_circuit_peering: SubResource::default(),
            address_prefix: String::new(),
            circuit_connection_status: String::new(),
            connection_name: String::new(),
            auth_resource_guid: None,
            provisioning_state: "Succeeded".into(),
        }
    }
}

// ===== authorizations =====

/// ARM `ExpressRouteCircuitAuthorization`
/// (`Microsoft.Network/expressRouteCircuits/authorizations`): a key that lets another
/// subscription connect a gateway (or a Global Reach connection) to the circuit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteCircuitAuthorization {
    #[schema(read_only)]
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    #[schema(read_only)]
    pub kind: String,
    #[schema(read_only)]
    pub etag: String,
    pub properties: AuthorizationPropertiesFormat,
}

impl ExpressRouteCircuitAuthorization {
    pub const TYPE: &'static str = "Microsoft.Network/expressRouteCircuits/authorizations";
}

/// ARM `AuthorizationPropertiesFormat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct AuthorizationPropertiesFormat {
    /// The key (a GUID the server generates).
    pub authorization_key: String,
    /// `Available` or `InUse`.
    pub authorization_use_status: String,
    /// The connection that consumed the key (while `InUse`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub connection_resource_uri: Option<String>,
    #[schema(read_only)]
    pub provisioning_state: String,
}

impl Default for AuthorizationPropertiesFormat {
    fn default() -> Self {
        AuthorizationPropertiesFormat {
            authorization_key: String::new(),
            authorization_use_status: "Available".into(),
            connection_resource_uri: None,
            provisioning_state: "Succeeded".into(),
        }
    }
}

// ===== stats and diagnostics =====

/// ARM `ExpressRouteCircuitStats` (`GET …/stats`, `GET …/peerings/{p}/stats`): bytes per
/// link. Note the lower-case `b` of `bytes` in the names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ExpressRouteCircuitStats {
    #[serde(rename = "primarybytesIn")]
    pub primary_bytes_in: u64,
    #[serde(rename = "primarybytesOut")]
    pub primary_bytes_out: u64,
    #[serde(rename = "secondarybytesIn")]
    pub secondary_bytes_in: u64,
    #[serde(rename = "secondarybytesOut")]
    pub secondary_bytes_out: u64,
}

/// ARM `ExpressRouteCircuitArpTable`: one row of `POST …/arpTables/{devicePath}`
/// (`ExpressRouteCircuitsArpTableListResult`, on circuits and cross-connections alike).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteCircuitArpTable {
    /// Entry age; Azure documents it in minutes.
    pub age: u32,
    /// The interface the entry is on.
    pub interface: String,
    pub ip_address: String,
    pub mac_address: String,
}

/// ARM `ExpressRouteCircuitRoutesTable`: one row of `POST …/routeTables/{devicePath}`
/// (`ExpressRouteCircuitsRoutesTableListResult`). Cross-connections answer the same rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteCircuitRoutesTable {
    /// The prefix.
    pub network: String,
    pub next_hop: String,
    /// LOCAL_PREF as text; `""` when not set.
    pub loc_prf: String,
    pub weight: i32,
    /// AS path, space-separated.
    pub path: String,
}

/// The cross-connection's route table rows are the circuit's.
pub type ExpressRouteCrossConnectionRoutesTable = ExpressRouteCircuitRoutesTable;

/// ARM `ExpressRouteCircuitRoutesTableSummary`: one BGP neighbor of
/// `POST expressRouteCircuits/…/routeTablesSummary/{devicePath}`
/// (`ExpressRouteCircuitsRoutesTableSummaryListResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteCircuitRoutesTableSummary {
    /// The neighbor's address.
    pub neighbor: String,
    /// BGP version spoken to the neighbor (Causeway: 4 for IPv4 sessions, 6 for IPv6).
    pub v: u8,
    /// The neighbor's ASN.
    #[serde(rename = "as")]
    pub asn: u32,
    /// How long the session has been Established (`hh:mm:ss`), or `never`.
    pub up_down: String,
    /// Prefixes received when Established, the session state otherwise.
    pub state_pfx_rcd: String,
}

/// ARM `ExpressRouteCrossConnectionRoutesTableSummary`: one BGP neighbor of
/// `POST expressRouteCrossConnections/…/routeTablesSummary/{devicePath}`
/// (`ExpressRouteCrossConnectionsRoutesTableSummaryListResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteCrossConnectionRoutesTableSummary {
    pub neighbor: String,
    pub asn: u32,
    /// How long the session has been Established (`hh:mm:ss`), or `never`.
    pub up_down: String,
    /// Prefixes received when Established, the session state otherwise.
    pub state_or_prefixes_received: String,
}

/// `ExpressRouteCircuitListResult`.
pub type ExpressRouteCircuitListResult = super::List<ExpressRouteCircuit>;
/// `ExpressRouteCircuitPeeringListResult`.
pub type ExpressRouteCircuitPeeringListResult = super::List<ExpressRouteCircuitPeering>;
/// `AuthorizationListResult`.
pub type AuthorizationListResult = super::List<ExpressRouteCircuitAuthorization>;
/// `ExpressRouteCircuitConnectionListResult`.
pub type ExpressRouteCircuitConnectionListResult = super::List<ExpressRouteCircuitConnection>;
/// `PeerExpressRouteCircuitConnectionListResult`.
pub type PeerExpressRouteCircuitConnectionListResult =
    super::List<PeerExpressRouteCircuitConnection>;
/// `ExpressRouteCircuitsArpTableListResult`.
pub type ExpressRouteCircuitsArpTableListResult = super::List<ExpressRouteCircuitArpTable>;
/// `ExpressRouteCircuitsRoutesTableListResult`.
pub type ExpressRouteCircuitsRoutesTableListResult = super::List<ExpressRouteCircuitRoutesTable>;
/// `ExpressRouteCircuitsRoutesTableSummaryListResult`.
pub type ExpressRouteCircuitsRoutesTableSummaryListResult =
    super::List<ExpressRouteCircuitRoutesTableSummary>;
/// `ExpressRouteCrossConnectionsRoutesTableSummaryListResult`.
pub type ExpressRouteCrossConnectionsRoutesTableSummaryListResult =
    super::List<ExpressRouteCrossConnectionRoutesTableSummary>;

// ===== Causeway extensions =====

/// Causeway extension `properties.causeway` of a circuit: its links' live state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CausewayCircuitStatus {
    pub links: CircuitLinks,
    /// Where the circuit's SKU reaches from its peering location; absent when the
    /// location has left the catalogue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reach: Option<CircuitReach>,
}

/// Where a circuit reaches: `Metro` (Local: the listed regions), `GeopoliticalRegion`
/// (Standard: the listed regions of its geopolitical region) or `Global` (Premium: every
/// region of its cloud, not listed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CircuitReach {
    /// `Metro`, `GeopoliticalRegion` or `Global`.
    pub scope: String,
    /// The peering location's ExpressRoute geopolitical region (`Europe`, `North America`, …).
    pub geopolitical_region: String,
    /// `AzureCloud`, `AzureUSGovernment` or `AzureChinaCloud`: nothing links across clouds.
    pub cloud: String,
    /// The regions a virtual network may be in (empty for `Global`).
    pub regions: Vec<String>,
}

/// Causeway extension `properties.causeway` of an ExpressRoute connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CausewayConnectionStatus {
    pub reach: ConnectionReach,
}

/// Why a connection's circuit reaches its virtual network: the two geopolitical regions and
/// the SKU tiers that allow the link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ConnectionReach {
    pub virtual_network_region: String,
    pub virtual_network_geopolitical_region: String,
    pub circuit_geopolitical_region: String,
    pub circuit_sku_tier: String,
    /// The tiers under which the circuit reaches the virtual network, narrowest first.
    pub reachable_with: Vec<String>,
}

/// The two links of a circuit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CircuitLinks {
    pub primary: CircuitLinkStatus,
    pub secondary: CircuitLinkStatus,
}

/// One link of a circuit: which edge carries it and how far it got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CircuitLinkStatus {
    /// The edge carrying the link; absent when no edge serves the peering location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge: Option<String>,
    /// `NoEdge`, `WaitingForProvider`, `WaitingForPeering`, `EdgeNotReporting`, `Pending`,
    /// `Failed` or `Active`.
    pub state: String,
    /// The network namespace holding the customer's end (lab edges only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_namespace: Option<String>,
    /// What is wrong, when something is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Causeway extension `properties.causeway` of a peering: its sessions on each link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CausewayPeeringStatus {
    pub links: PeeringLinks,
}

/// A peering's BGP sessions on each link (empty until the link's edge reports).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct PeeringLinks {
    pub primary: Vec<PeeringSessionStatus>,
    pub secondary: Vec<PeeringSessionStatus>,
}

/// One BGP session of a peering on one link. `lastError` and `bfd` are rendered as `null`
/// when there is none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct PeeringSessionStatus {
    pub neighbor: String,
    /// RFC 4271 state name (`Established`, `Active`, `Idle`, …).
    pub state: String,
    pub prefixes_received: u32,
    pub prefixes_advertised: u32,
    /// Why the session last went down.
    pub last_error: Option<String>,
    /// BFD session state toward the neighbor, when BFD runs.
    pub bfd: Option<String>,
}
