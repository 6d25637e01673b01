//! The cloud side of ExpressRoute: `Microsoft.Network/virtualNetworks` and their subnets,
//! `virtualNetworkGateways` (gatewayType `ExpressRoute`) with their learned and advertised
//! routes, and `connections` (connectionType `ExpressRoute`) linking a gateway to a circuit.
//!
//! The gateway and connection types are shared with VPN in Azure; VPN-only properties are
//! kept (with Azure's defaults) where Terraform azurerm reads them back, and left out (or
//! untyped) otherwise.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ExtendedLocation, ManagedServiceIdentity, SubResource};

// ===== virtual networks =====

/// ARM `VirtualNetwork` (`Microsoft.Network/virtualNetworks`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct VirtualNetwork {
    #[schema(read_only)]
    pub id: String,
    #[schema(read_only)]
    pub name: String,
    /// `Microsoft.Network/virtualNetworks`.
    #[serde(rename = "type")]
    #[schema(read_only)]
    pub kind: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    #[schema(read_only)]
    pub etag: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_location: Option<ExtendedLocation>,
    pub properties: VirtualNetworkPropertiesFormat,
}

impl VirtualNetwork {
    pub const TYPE: &'static str = "Microsoft.Network/virtualNetworks";
}

/// ARM `VirtualNetworkPropertiesFormat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct VirtualNetworkPropertiesFormat {
    /// The prefixes the virtual network owns (what connected circuits advertise).
    pub address_space: AddressSpace,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dhcp_options: Option<DhcpOptions>,
    /// Flow timeout, 4–30 minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_timeout_in_minutes: Option<i32>,
    pub subnets: Vec<Subnet>,
    /// Virtual network peerings (not modelled: Causeway has none; always empty).
    pub virtual_network_peerings: Vec<serde_json::Value>,
    #[schema(read_only)]
    pub resource_guid: String,
    #[schema(read_only)]
    pub provisioning_state: String,
    pub enable_ddos_protection: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_vm_protection: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ddos_protection_plan: Option<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bgp_communities: Option<VirtualNetworkBgpCommunities>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption: Option<VirtualNetworkEncryption>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_allocations: Option<Vec<SubResource>>,
    /// `Disabled` or `Basic`. Terraform azurerm reads it back against its default `Disabled`.
    #[serde(rename = "privateEndpointVNetPolicies")]
    pub private_endpoint_vnet_policies: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub default_public_nat_gateway: Option<SubResource>,
}

impl Default for VirtualNetworkPropertiesFormat {
    fn default() -> Self {
        VirtualNetworkPropertiesFormat {
            address_space: AddressSpace::default(),
            dhcp_options: None,
            flow_timeout_in_minutes: None,
            subnets: Vec::new(),
            virtual_network_peerings: Vec::new(),
            resource_guid: String::new(),
            provisioning_state: "Succeeded".into(),
            enable_ddos_protection: false,
            enable_vm_protection: None,
            ddos_protection_plan: None,
            bgp_communities: None,
            encryption: None,
            ip_allocations: None,
            private_endpoint_vnet_policies: "Disabled".into(),
            default_public_nat_gateway: None,
        }
    }
}

/// ARM `AddressSpace`: a list of CIDR prefixes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct AddressSpace {
    pub address_prefixes: Vec<String>,
}

/// ARM `DhcpOptions`: the DNS servers handed to the virtual network's hosts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct DhcpOptions {
    pub dns_servers: Vec<String>,
}

/// ARM `VirtualNetworkBgpCommunities`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct VirtualNetworkBgpCommunities {
    /// `12076:<n>`, attached to the virtual network's prefixes toward ExpressRoute.
    pub virtual_network_community: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub regional_community: Option<String>,
}

/// ARM `VirtualNetworkEncryption`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct VirtualNetworkEncryption {
    pub enabled: bool,
    /// `DropUnencrypted` or `AllowUnencrypted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforcement: Option<String>,
}

/// ARM `Subnet` (`Microsoft.Network/virtualNetworks/subnets`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct Subnet {
    #[schema(read_only)]
    pub id: String,
    /// `GatewaySubnet` holds the virtual network's gateways.
    pub name: String,
    /// `Microsoft.Network/virtualNetworks/subnets`.
    #[serde(rename = "type")]
    #[schema(read_only)]
    pub kind: String,
    #[schema(read_only)]
    pub etag: String,
    pub properties: SubnetPropertiesFormat,
}

impl Subnet {
    pub const TYPE: &'static str = "Microsoft.Network/virtualNetworks/subnets";
}

/// ARM `SubnetPropertiesFormat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct SubnetPropertiesFormat {
    /// The subnet's prefix (the first, when it has several).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_prefix: Option<String>,
    /// All the subnet's prefixes, when it has more than one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_prefixes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_security_group: Option<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_table: Option<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat_gateway: Option<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_endpoints: Option<Vec<ServiceEndpointPropertiesFormat>>,
    /// The IP configurations in the subnet (the gateway's, in the GatewaySubnet).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub ip_configurations: Option<Vec<SubResource>>,
    pub delegations: Vec<Delegation>,
    /// Set by the services that use the subnet.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub purpose: Option<String>,
    #[schema(read_only)]
    pub provisioning_state: String,
    /// `Enabled`, `Disabled`, `NetworkSecurityGroupEnabled` or `RouteTableEnabled`.
    pub private_endpoint_network_policies: String,
    /// `Enabled` or `Disabled`. Terraform azurerm dereferences it without a nil check.
    pub private_link_service_network_policies: String,
    /// Whether hosts get default outbound internet access (Azure treats absent as true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_outbound_access: Option<bool>,
    /// `Tenant` or `DelegatedServices`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing_scope: Option<String>,
}

impl Default for SubnetPropertiesFormat {
    fn default() -> Self {
        SubnetPropertiesFormat {
            address_prefix: None,
            address_prefixes: None,
            network_security_group: None,
            route_table: None,
            nat_gateway: None,
            service_endpoints: None,
            ip_configurations: None,
            delegations: Vec::new(),
            purpose: None,
            provisioning_state: "Succeeded".into(),
            private_endpoint_network_policies: "Disabled".into(),
            private_link_service_network_policies: "Enabled".into(),
            default_outbound_access: None,
            sharing_scope: None,
        }
    }
}

/// ARM `ServiceEndpointPropertiesFormat`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ServiceEndpointPropertiesFormat {
    /// `Microsoft.Storage`, …
    pub service: String,
    pub locations: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub provisioning_state: Option<String>,
}

/// ARM `Delegation` (`Microsoft.Network/virtualNetworks/subnets/delegations`): a subnet
/// handed to a service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct Delegation {
    #[schema(read_only)]
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    #[schema(read_only)]
    pub kind: String,
    #[schema(read_only)]
    pub etag: String,
    pub properties: ServiceDelegationPropertiesFormat,
}

/// ARM `ServiceDelegationPropertiesFormat`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ServiceDelegationPropertiesFormat {
    /// `Microsoft.Web/serverFarms`, …
    pub service_name: String,
    #[schema(read_only)]
    pub actions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub provisioning_state: Option<String>,
}

// ===== gateways =====

/// ARM `VirtualNetworkGateway` (`Microsoft.Network/virtualNetworkGateways`); Causeway serves
/// gatewayType `ExpressRoute` only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct VirtualNetworkGateway {
    #[schema(read_only)]
    pub id: String,
    #[schema(read_only)]
    pub name: String,
    /// `Microsoft.Network/virtualNetworkGateways`.
    #[serde(rename = "type")]
    #[schema(read_only)]
    pub kind: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    #[schema(read_only)]
    pub etag: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_location: Option<ExtendedLocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<ManagedServiceIdentity>,
    pub properties: VirtualNetworkGatewayPropertiesFormat,
}

impl VirtualNetworkGateway {
    pub const TYPE: &'static str = "Microsoft.Network/virtualNetworkGateways";
}

/// ARM `VirtualNetworkGatewayPropertiesFormat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct VirtualNetworkGatewayPropertiesFormat {
    /// Scale units of an `ErGwScale` gateway (1 unit = 1 Gbps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_scale_configuration: Option<VirtualNetworkGatewayAutoScaleConfiguration>,
    pub ip_configurations: Vec<VirtualNetworkGatewayIPConfiguration>,
    /// `ExpressRoute`, `Vpn` or `LocalGateway`.
    pub gateway_type: String,
    /// `RouteBased` or `PolicyBased` (VPN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpn_type: Option<String>,
    /// `None` (every ExpressRoute gateway), `Generation1` or `Generation2`.
    pub vpn_gateway_generation: String,
    /// VPN BGP; `false` on ExpressRoute gateways (they always speak BGP to the edges).
    pub enable_bgp: bool,
    #[serde(rename = "enablePrivateIpAddress")]
    pub enable_private_ip_address: bool,
    pub active_active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_high_bandwidth_vpn_gateway: Option<bool>,
    /// VPN; Terraform azurerm dereferences it without a nil check.
    #[serde(rename = "disableIPSecReplayProtection")]
    pub disable_ipsec_replay_protection: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_default_site: Option<SubResource>,
    pub sku: VirtualNetworkGatewaySku,
    /// The gateway's BGP speaker: ASN 65515 and its addresses on the GatewaySubnet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bgp_settings: Option<BgpSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_routes: Option<AddressSpace>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpn_client_configuration: Option<serde_json::Value>,
    #[schema(read_only)]
    pub resource_guid: String,
    #[schema(read_only)]
    pub provisioning_state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_dns_forwarding: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub inbound_dns_forwarding_endpoint: Option<String>,
    #[serde(
        rename = "vNetExtendedLocationResourceId",
        skip_serializing_if = "Option::is_none"
    )]
    pub vnet_extended_location_resource_id: Option<String>,
    /// VPN NAT rules (not modelled; always empty here).
    pub nat_rules: Vec<serde_json::Value>,
    /// VPN point-to-site policy groups (not modelled; always empty here).
    pub virtual_network_gateway_policy_groups: Vec<serde_json::Value>,
    pub enable_bgp_route_translation_for_nat: bool,
    /// Accept traffic from remote Virtual WAN networks.
    pub allow_virtual_wan_traffic: bool,
    /// Accept traffic from other virtual networks (not Virtual WAN).
    pub allow_remote_vnet_traffic: bool,
    /// `Enabled` or `Disabled`: whether this ExpressRoute gateway serves traffic when the
    /// virtual network has several.
    pub admin_state: String,
    /// `SingleHomed` or `MultiHomed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resiliency_model: Option<String>,
}

impl Default for VirtualNetworkGatewayPropertiesFormat {
    fn default() -> Self {
        VirtualNetworkGatewayPropertiesFormat {
            auto_scale_configuration: None,
            ip_configurations: Vec::new(),
            gateway_type: String::new(),
            vpn_type: None,
            vpn_gateway_generation: "None".into(),
            enable_bgp: false,
            enable_private_ip_address: false,
            active_active: false,
            enable_high_bandwidth_vpn_gateway: None,
            disable_ipsec_replay_protection: false,
            gateway_default_site: None,
            sku: VirtualNetworkGatewaySku::default(),
            bgp_settings: None,
            custom_routes: None,
            vpn_client_configuration: None,
            resource_guid: String::new(),
            provisioning_state: "Succeeded".into(),
            enable_dns_forwarding: None,
            inbound_dns_forwarding_endpoint: None,
            vnet_extended_location_resource_id: None,
            nat_rules: Vec::new(),
            virtual_network_gateway_policy_groups: Vec::new(),
            enable_bgp_route_translation_for_nat: false,
            allow_virtual_wan_traffic: false,
            allow_remote_vnet_traffic: false,
            admin_state: "Enabled".into(),
            resiliency_model: None,
        }
    }
}

/// ARM `VirtualNetworkGatewayIPConfiguration`: the gateway's place in the GatewaySubnet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct VirtualNetworkGatewayIPConfiguration {
    #[schema(read_only)]
    pub id: String,
    pub name: String,
    #[schema(read_only)]
    pub etag: String,
    pub properties: VirtualNetworkGatewayIPConfigurationPropertiesFormat,
}

/// ARM `VirtualNetworkGatewayIPConfigurationPropertiesFormat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct VirtualNetworkGatewayIPConfigurationPropertiesFormat {
    /// `Dynamic` or `Static`.
    #[serde(rename = "privateIPAllocationMethod")]
    pub private_ip_allocation_method: String,
    /// The GatewaySubnet.
    pub subnet: SubResource,
    #[serde(rename = "publicIPAddress", skip_serializing_if = "Option::is_none")]
    pub public_ip_address: Option<SubResource>,
    /// The gateway's address in the GatewaySubnet.
    #[serde(rename = "privateIPAddress", skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub private_ip_address: Option<String>,
    #[schema(read_only)]
    pub provisioning_state: String,
}

impl Default for VirtualNetworkGatewayIPConfigurationPropertiesFormat {
    fn default() -> Self {
        VirtualNetworkGatewayIPConfigurationPropertiesFormat {
            private_ip_allocation_method: "Dynamic".into(),
            subnet: SubResource::default(),
            public_ip_address: None,
            private_ip_address: None,
            provisioning_state: "Succeeded".into(),
        }
    }
}

/// ARM `VirtualNetworkGatewaySku`. ExpressRoute names (tier = name): `Standard`,
/// `HighPerformance`, `UltraPerformance`, `ErGw1AZ`, `ErGw2AZ`, `ErGw3AZ`, `ErGwScale`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct VirtualNetworkGatewaySku {
    pub name: String,
    pub tier: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub capacity: Option<i32>,
}

/// ARM `BgpSettings`: a gateway's BGP speaker.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct BgpSettings {
    /// 65515 on ExpressRoute gateways.
    #[schema(format = Int64, maximum = 4294967295_u32)]
    pub asn: u32,
    /// The speaker's addresses, comma-separated (one per instance).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bgp_peering_address: Option<String>,
    /// Weight added to routes learned from this speaker.
    pub peer_weight: i32,
    pub bgp_peering_addresses: Vec<IPConfigurationBgpPeeringAddress>,
}

/// ARM `IPConfigurationBgpPeeringAddress`: the BGP addresses of one gateway IP configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct IPConfigurationBgpPeeringAddress {
    /// Note Azure's spelling: lower-case `c` in `ipconfiguration`.
    #[serde(rename = "ipconfigurationId")]
    pub ipconfiguration_id: String,
    #[schema(read_only)]
    pub default_bgp_ip_addresses: Vec<String>,
    pub custom_bgp_ip_addresses: Vec<String>,
    #[schema(read_only)]
    pub tunnel_ip_addresses: Vec<String>,
}

/// ARM `VirtualNetworkGatewayAutoScaleConfiguration`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct VirtualNetworkGatewayAutoScaleConfiguration {
    pub bounds: VirtualNetworkGatewayAutoScaleBounds,
}

/// ARM `VirtualNetworkGatewayAutoScaleBounds`: scale units, 1 unit = 1 Gbps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct VirtualNetworkGatewayAutoScaleBounds {
    pub min: u32,
    pub max: u32,
}

/// ARM `GatewayRoute`: one row of `POST …/getLearnedRoutes` or `…/getAdvertisedRoutes`
/// (`GatewayRouteListResult`, which has no `nextLink`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct GatewayRoute {
    /// The gateway's own address.
    pub local_address: String,
    /// The prefix.
    pub network: String,
    pub next_hop: String,
    /// The BGP peer the route came from.
    pub source_peer: String,
    /// `EBgp`, `IBgp`, `Igp`, `Network`, …
    pub origin: String,
    /// AS path, `-`-separated (`12076-65001`).
    pub as_path: String,
    /// The connection's routingWeight.
    pub weight: u32,
}

// ===== connections =====

/// ARM `VirtualNetworkGatewayConnection` (`Microsoft.Network/connections`); Causeway serves
/// connectionType `ExpressRoute` only: a gateway linked to a circuit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct VirtualNetworkGatewayConnection {
    #[schema(read_only)]
    pub id: String,
    #[schema(read_only)]
    pub name: String,
    /// `Microsoft.Network/connections`.
    #[serde(rename = "type")]
    #[schema(read_only)]
    pub kind: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    #[schema(read_only)]
    pub etag: String,
    pub properties: VirtualNetworkGatewayConnectionPropertiesFormat,
}

impl VirtualNetworkGatewayConnection {
    pub const TYPE: &'static str = "Microsoft.Network/connections";
}

/// ARM `VirtualNetworkGatewayConnectionPropertiesFormat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct VirtualNetworkGatewayConnectionPropertiesFormat {
    /// The circuit owner's authorization, for a circuit in another subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_key: Option<String>,
    /// The ExpressRoute gateway (Azure embeds a whole gateway; clients send and read `id`).
    pub virtual_network_gateway1: SubResource,
    /// Vnet2Vnet only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_network_gateway2: Option<SubResource>,
    /// IPsec only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_network_gateway2: Option<SubResource>,
    pub ingress_nat_rules: Vec<SubResource>,
    pub egress_nat_rules: Vec<SubResource>,
    /// `ExpressRoute`, `IPsec`, `Vnet2Vnet` or `VPNClient`.
    pub connection_type: String,
    /// `IKEv2` or `IKEv1` (VPN; Azure reports `IKEv2` on every connection).
    pub connection_protocol: String,
    /// Higher wins, before AS-path length.
    pub routing_weight: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpd_timeout_seconds: Option<i32>,
    /// `Default`, `ResponderOnly` or `InitiatorOnly`. Terraform azurerm reads it back against
    /// its default `Default` and replaces the connection on a difference.
    pub connection_mode: String,
    /// IPsec pre-shared key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_key: Option<String>,
    /// `Unknown`, `Connecting`, `Connected` or `NotConnected`.
    #[schema(read_only)]
    pub connection_status: String,
    /// Per-tunnel health (VPN; not modelled).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub tunnel_connection_status: Option<Vec<serde_json::Value>>,
    #[schema(read_only)]
    pub egress_bytes_transferred: u64,
    #[schema(read_only)]
    pub ingress_bytes_transferred: u64,
    /// The circuit (ExpressRoute connections).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<SubResource>,
    pub enable_bgp: bool,
    /// VPN custom APIPA addresses (not modelled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_custom_bgp_ip_addresses: Option<Vec<serde_json::Value>>,
    pub use_local_azure_ip_address: bool,
    pub use_policy_based_traffic_selectors: bool,
    pub ipsec_policies: Vec<IpsecPolicy>,
    pub traffic_selector_policies: Vec<TrafficSelectorPolicy>,
    #[schema(read_only)]
    pub resource_guid: String,
    #[schema(read_only)]
    pub provisioning_state: String,
    /// FastPath: traffic bypasses the gateway.
    pub express_route_gateway_bypass: bool,
    /// FastPath for private links too (needs `expressRouteGatewayBypass`).
    pub enable_private_link_fast_path: bool,
    /// Causeway extension: where the circuit reaches (ExpressRoute connections).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub causeway: Option<super::circuit::CausewayConnectionStatus>,
}

impl Default for VirtualNetworkGatewayConnectionPropertiesFormat {
    fn default() -> Self {
        VirtualNetworkGatewayConnectionPropertiesFormat {
            authorization_key: None,
            virtual_network_gateway1: SubResource::default(),
            virtual_network_gateway2: None,
            local_network_gateway2: None,
            ingress_nat_rules: Vec::new(),
            egress_nat_rules: Vec::new(),
            connection_type: String::new(),
            connection_protocol: "IKEv2".into(),
            routing_weight: 0,
            dpd_timeout_seconds: None,
            connection_mode: "Default".into(),
            shared_key: None,
            connection_status: "Unknown".into(),
            tunnel_connection_status: None,
            egress_bytes_transferred: 0,
            ingress_bytes_transferred: 0,
            peer: None,
            enable_bgp: false,
            gateway_custom_bgp_ip_addresses: None,
            use_local_azure_ip_address: false,
            use_policy_based_traffic_selectors: false,
            ipsec_policies: Vec::new(),
            traffic_selector_policies: Vec::new(),
            resource_guid: String::new(),
            provisioning_state: "Succeeded".into(),
            express_route_gateway_bypass: false,
            enable_private_link_fast_path: false,
            causeway: None,
        }
    }
}

/// ARM `IpsecPolicy` (VPN connections).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct IpsecPolicy {
    pub sa_life_time_seconds: i32,
    pub sa_data_size_kilobytes: i32,
    pub ipsec_encryption: String,
    pub ipsec_integrity: String,
    pub ike_encryption: String,
    pub ike_integrity: String,
    pub dh_group: String,
    pub pfs_group: String,
}

/// ARM `TrafficSelectorPolicy` (VPN connections).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct TrafficSelectorPolicy {
    pub local_address_ranges: Vec<String>,
    pub remote_address_ranges: Vec<String>,
}

/// `VirtualNetworkListResult`.
pub type VirtualNetworkListResult = super::List<VirtualNetwork>;
/// `SubnetListResult`.
/// ARM `ConnectionSharedKey`: the body of `connections/{c}/sharedkey`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ConnectionSharedKey {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The IPsec shared key (write-only on ExpressRoute connections, which have none).
    pub value: String,
}

pub type SubnetListResult = super::List<Subnet>;
/// `VirtualNetworkGatewayListResult`.
pub type VirtualNetworkGatewayListResult = super::List<VirtualNetworkGateway>;
/// `VirtualNetworkGatewayConnectionListResult`.
pub type VirtualNetworkGatewayConnectionListResult = super::List<VirtualNetworkGatewayConnection>;
/// `GatewayRouteListResult`.
pub type GatewayRouteListResult = super::List<GatewayRoute>;
