//! The ARM DTOs against the bodies the control plane renders today (the `json!` render code
//! of `crates/control`: model.rs, cloud.rs, catalog.rs, edges.rs, service.rs) and against what
//! Azure itself returns.
//!
//! Each round-trip test parses a rendered body, serializes it back and compares the JSON
//! values; the properties the DTO adds with Azure's defaults are listed, by JSON pointer, with
//! the value they must take.

use api::arm::circuit::*;
use api::arm::cross_connection::*;
use api::arm::network::*;
use api::arm::service_provider::*;
use api::arm::{
    AsyncOperationStatus, CloudError, List, SubResource, TagsObject, components, schemas,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const SUB: &str = "00000000-0000-0000-0000-000000000001";
const PROVIDER_SUB: &str = "00000000-0000-0000-0000-00000000c0de";
const SERVICE_KEY: &str = "6b7c2a5e-3f0e-4a51-9d55-0c6b2e1d9a10";

fn circuit_id() -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/expressRouteCircuits/er1"
    )
}

fn cross_id() -> String {
    format!(
        "/subscriptions/{PROVIDER_SUB}/resourceGroups/CrossConnection-SiliconValley/providers/Microsoft.Network/expressRouteCrossConnections/{SERVICE_KEY}"
    )
}

fn vnet_id() -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet1"
    )
}

fn gateway_id() -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworkGateways/gw1"
    )
}

/// Parses `rendered` as `T`, serializes it back, checks that each `added` pointer holds its
/// value in the output and not in the input, and that the output less those is the input.
#[track_caller]
fn assert_round_trip<T: DeserializeOwned + Serialize>(
    rendered: &Value,
    added: &[(&str, Value)],
) -> T {
    let dto: T = serde_json::from_value(rendered.clone()).expect("the rendered body parses");
    let mut back = serde_json::to_value(&dto).expect("the DTO serializes");
    for (pointer, value) in added {
        assert!(
            rendered.pointer(pointer).is_none(),
            "{pointer} is already rendered today"
        );
        assert_eq!(back.pointer(pointer), Some(value), "{pointer} in {back:#}");
        let (parent, key) = pointer.rsplit_once('/').expect("a JSON pointer");
        back.pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .and_then(|o| o.remove(key))
            .expect("the added property is removable");
    }
    assert_eq!(&back, rendered, "round trip of {rendered:#}");
    dto
}

// ===== bodies as the control plane renders them =====

/// `Peering::render` (model.rs) for a circuit, with `render_peering`'s additions
/// (service.rs): the edges' `azureASN` and `properties.causeway`.
fn private_peering() -> Value {
    json!({
        "id": format!("{}/peerings/AzurePrivatePeering", circuit_id()),
        "name": "AzurePrivatePeering",
        "type": "Microsoft.Network/expressRouteCircuits/peerings",
        "etag": "W/\"3d3a4a52-6a55-4d0e-9c37-6b1f0c6d2f01\"",
        "properties": {
            "provisioningState": "Succeeded",
            "peeringType": "AzurePrivatePeering",
            "state": "Enabled",
            "azureASN": 12076,
            "peerASN": 65001,
            "primaryPeerAddressPrefix": "192.168.10.0/30",
            "secondaryPeerAddressPrefix": "192.168.10.4/30",
            "primaryAzurePort": "SILICONVALLEY-EDGE-1",
            "secondaryAzurePort": "SILICONVALLEY-EDGE-2",
            "vlanId": 100,
            "gatewayManagerEtag": "",
            "lastModifiedBy": "Customer",
            "ipv6PeeringConfig": {
                "primaryPeerAddressPrefix": "fd00:10::/126",
                "secondaryPeerAddressPrefix": "fd00:10::4/126",
                "state": "Enabled"
            },
            "connections": [],
            "peeredConnections": [],
            "causeway": {"links": {
                "primary": [{
                    "neighbor": "192.168.10.1",
                    "state": "Established",
                    "prefixesReceived": 3,
                    "prefixesAdvertised": 1,
                    "lastError": null,
                    "bfd": "Up"
                }, {
                    "neighbor": "fd00:10::1",
                    "state": "Active",
                    "prefixesReceived": 0,
                    "prefixesAdvertised": 0,
                    "lastError": "hold timer expired",
                    "bfd": null
                }],
                "secondary": []
            }}
        }
    })
}

/// A Microsoft peering with its advertisements on both families, as `Peering::render` and
/// `MicrosoftConfig::render` (model.rs) build it.
fn microsoft_peering() -> Value {
    json!({
        "id": format!("{}/peerings/MicrosoftPeering", circuit_id()),
        "name": "MicrosoftPeering",
        "type": "Microsoft.Network/expressRouteCircuits/peerings",
        "etag": "W/\"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\"",
        "properties": {
            "provisioningState": "Succeeded",
            "peeringType": "MicrosoftPeering",
            "state": "Disabled",
            "azureASN": 12076,
            "peerASN": 4200000001_u32,
            "primaryPeerAddressPrefix": "203.0.113.0/30",
            "secondaryPeerAddressPrefix": "203.0.113.4/30",
            "primaryAzurePort": "SILICONVALLEY-EDGE-1",
            "secondaryAzurePort": "SILICONVALLEY-EDGE-2",
            "vlanId": 200,
            "gatewayManagerEtag": "",
            "lastModifiedBy": "ServiceProvider",
            "microsoftPeeringConfig": {
                "advertisedPublicPrefixes": ["203.0.113.128/27"],
                "advertisedCommunities": ["12076:5010"],
                "advertisedPublicPrefixesState": "Configured",
                "legacyMode": 0,
                "customerASN": 64512,
                "routingRegistryName": "ARIN"
            },
            "ipv6PeeringConfig": {
                "primaryPeerAddressPrefix": "2001:db8:1::/126",
                "secondaryPeerAddressPrefix": "2001:db8:1::4/126",
                "state": "Enabled",
                "microsoftPeeringConfig": {
                    "advertisedPublicPrefixes": ["2001:db8:2::/48"],
                    "advertisedCommunities": [],
                    "advertisedPublicPrefixesState": "Configured",
                    "legacyMode": 0
                }
            },
            "connections": [],
            "peeredConnections": []
        }
    })
}

/// `Authorization::render` (model.rs).
fn authorization(in_use: bool) -> Value {
    let mut v = json!({
        "id": format!("{}/authorizations/auth1", circuit_id()),
        "name": "auth1",
        "type": "Microsoft.Network/expressRouteCircuits/authorizations",
        "etag": "W/\"5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9\"",
        "properties": {
            "provisioningState": "Succeeded",
            "authorizationKey": "c7a4f2de-51b9-4c39-9e07-2f8d1b6a3c55",
            "authorizationUseStatus": if in_use { "InUse" } else { "Available" },
        }
    });
    if in_use {
        v["properties"]["connectionResourceUri"] = json!(format!(
            "/subscriptions/{SUB}/resourceGroups/rg2/providers/Microsoft.Network/connections/conn1"
        ));
    }
    v
}

/// `Circuit::render` (model.rs) with `render_circuit`'s additions (service.rs): embedded
/// peerings as their GET renders them, and `properties.causeway` from `link_status`
/// (edges.rs).
fn circuit() -> Value {
    json!({
        "id": circuit_id(),
        "name": "er1",
        "type": "Microsoft.Network/expressRouteCircuits",
        "location": "westus",
        "tags": {"env": "lab"},
        "etag": "W/\"8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d\"",
        "sku": {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"},
        "properties": {
            "provisioningState": "Succeeded",
            "circuitProvisioningState": "Enabled",
            "serviceProviderProvisioningState": "Provisioned",
            "serviceProviderNotes": "",
            "serviceKey": SERVICE_KEY,
            "stag": 100,
            "allowClassicOperations": false,
            "globalReachEnabled": false,
            "gatewayManagerEtag": "",
            "serviceProviderProperties": {
                "serviceProviderName": "Equinix",
                "peeringLocation": "Silicon Valley",
                "bandwidthInMbps": 1000
            },
            "peerings": [private_peering()],
            "authorizations": [authorization(true)],
            "causeway": {"links": {
                "primary": {
                    "edge": "lab-edge-1",
                    "state": "Active",
                    "customerNamespace": "cw-6b7c2a5e-primary"
                },
                "secondary": {
                    "edge": "lab-edge-2",
                    "state": "EdgeNotReporting",
                    "error": "Edge 'lab-edge-2' has not reported."
                }
            }}
        }
    })
}

/// `Circuit::render_cross_connection` (model.rs): the provider's view, peerings without
/// `connections`.
fn cross_connection() -> Value {
    json!({
        "id": cross_id(),
        "name": SERVICE_KEY,
        "type": "Microsoft.Network/expressRouteCrossConnections",
        "location": "westus",
        "tags": {},
        "etag": "W/\"8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d\"",
        "properties": {
            "provisioningState": "Succeeded",
            "primaryAzurePort": "SILICONVALLEY-EDGE-1",
            "secondaryAzurePort": "SILICONVALLEY-EDGE-2",
            "sTag": 0,
            "peeringLocation": "Silicon Valley",
            "bandwidthInMbps": 1000,
            "expressRouteCircuit": {"id": circuit_id()},
            "serviceProviderProvisioningState": "NotProvisioned",
            "serviceProviderNotes": "waiting for the cross-connect",
            "peerings": [{
                "id": format!("{}/peerings/AzurePrivatePeering", cross_id()),
                "name": "AzurePrivatePeering",
                "type": "Microsoft.Network/expressRouteCrossConnections/peerings",
                "etag": "W/\"3d3a4a52-6a55-4d0e-9c37-6b1f0c6d2f01\"",
                "properties": {
                    "provisioningState": "Succeeded",
                    "peeringType": "AzurePrivatePeering",
                    "state": "Enabled",
                    "azureASN": 12076,
                    "peerASN": 65001,
                    "primaryPeerAddressPrefix": "192.168.10.0/30",
                    "secondaryPeerAddressPrefix": "192.168.10.4/30",
                    "primaryAzurePort": "SILICONVALLEY-EDGE-1",
                    "secondaryAzurePort": "SILICONVALLEY-EDGE-2",
                    "vlanId": 100,
                    "gatewayManagerEtag": "",
                    "lastModifiedBy": "ServiceProvider"
                }
            }]
        }
    })
}

/// `render_subnet` (cloud.rs): a workload subnet with two prefixes, and the GatewaySubnet
/// with the gateway's ipConfiguration.
fn subnets() -> [Value; 2] {
    [
        json!({
            "id": format!("{}/subnets/default", vnet_id()),
            "name": "default",
            "type": "Microsoft.Network/virtualNetworks/subnets",
            "etag": "W/\"11111111-2222-4333-8444-555555555555\"",
            "properties": {
                "provisioningState": "Succeeded",
                "addressPrefix": "10.10.1.0/24",
                "addressPrefixes": ["10.10.1.0/24", "fd10:10:1::/64"]
            }
        }),
        json!({
            "id": format!("{}/subnets/GatewaySubnet", vnet_id()),
            "name": "GatewaySubnet",
            "type": "Microsoft.Network/virtualNetworks/subnets",
            "etag": "W/\"66666666-7777-4888-9999-aaaaaaaaaaaa\"",
            "properties": {
                "provisioningState": "Succeeded",
                "addressPrefix": "10.10.255.0/27",
                "ipConfigurations": [{"id": format!("{}/ipConfigurations/default", gateway_id())}]
            }
        }),
    ]
}

/// `VirtualNetwork::render` (cloud.rs).
fn virtual_network() -> Value {
    json!({
        "id": vnet_id(),
        "name": "vnet1",
        "type": "Microsoft.Network/virtualNetworks",
        "location": "westus",
        "tags": {},
        "etag": "W/\"bbbbbbbb-cccc-4ddd-8eee-ffffffffffff\"",
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "addressSpace": {"addressPrefixes": ["10.10.0.0/16", "fd10:10::/48"]},
            "subnets": subnets(),
            "virtualNetworkPeerings": [],
            "enableDdosProtection": false
        }
    })
}

/// `Gateway::render` (cloud.rs): an ErGwScale gateway with a public IP and autoscale bounds.
fn gateway() -> Value {
    json!({
        "id": gateway_id(),
        "name": "gw1",
        "type": "Microsoft.Network/virtualNetworkGateways",
        "location": "westus",
        "tags": {"team": "net"},
        "etag": "W/\"12121212-3434-4565-8787-909090909090\"",
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
            "gatewayType": "ExpressRoute",
            "sku": {"name": "ErGwScale", "tier": "ErGwScale"},
            "ipConfigurations": [{
                "id": format!("{}/ipConfigurations/default", gateway_id()),
                "name": "default",
                "etag": "W/\"12121212-3434-4565-8787-909090909090\"",
                "properties": {
                    "provisioningState": "Succeeded",
                    "privateIPAllocationMethod": "Dynamic",
                    "privateIPAddress": "10.10.255.4",
                    "subnet": {"id": format!("{}/subnets/GatewaySubnet", vnet_id())},
                    "publicIPAddress": {"id": format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/publicIPAddresses/gw1-pip")}
                }
            }],
            "enableBgp": false,
            "activeActive": false,
            "adminState": "Enabled",
            "autoScaleConfiguration": {"bounds": {"min": 2, "max": 4}}
        }
    })
}

/// `Connection::render` (cloud.rs), with an authorization key (a circuit in another
/// subscription).
fn connection() -> Value {
    json!({
        "id": format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/connections/conn1"),
        "name": "conn1",
        "type": "Microsoft.Network/connections",
        "location": "westus",
        "tags": {},
        "etag": "W/\"abababab-cdcd-4efe-8a9b-0c1d2e3f4a5b\"",
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
            "connectionType": "ExpressRoute",
            "virtualNetworkGateway1": {"id": gateway_id()},
            "peer": {"id": circuit_id()},
            "routingWeight": 10,
            "connectionStatus": "Connected",
            "expressRouteGatewayBypass": false,
            "enableBgp": false,
            "ingressBytesTransferred": 0,
            "egressBytesTransferred": 0,
            "authorizationKey": "c7a4f2de-51b9-4c39-9e07-2f8d1b6a3c55"
        }
    })
}

// ===== round trips =====

#[test]
fn a_circuit_as_rendered_today_round_trips_adding_only_enable_direct_port_rate_limit() {
    let c: ExpressRouteCircuit = assert_round_trip(
        &circuit(),
        &[("/properties/enableDirectPortRateLimit", json!(false))],
    );
    assert_eq!(c.kind, ExpressRouteCircuit::TYPE);
    assert_eq!(c.properties.stag, 100);
    let links = &c.properties.causeway.as_ref().expect("causeway").links;
    assert_eq!(
        links.primary.customer_namespace.as_deref(),
        Some("cw-6b7c2a5e-primary")
    );
    assert_eq!(links.secondary.state, "EdgeNotReporting");
    let p = &c.properties.peerings[0].properties;
    assert_eq!(
        (p.azure_asn, p.peer_asn, p.vlan_id),
        (AZURE_ASN, 65001, 100)
    );
    let sessions = &p.causeway.as_ref().expect("peering causeway").links.primary;
    assert_eq!(
        sessions[1].last_error.as_deref(),
        Some("hold timer expired")
    );
    assert_eq!(sessions[0].last_error, None);
}

#[test]
fn a_circuit_with_no_edge_serving_its_location_round_trips_without_an_edge_name() {
    let mut v = circuit();
    v["properties"]["causeway"]["links"]["secondary"] = json!({
        "state": "NoEdge",
        "error": "No edge pair serves peering location 'Silicon Valley'.",
    });
    let c: ExpressRouteCircuit = assert_round_trip(
        &v,
        &[("/properties/enableDirectPortRateLimit", json!(false))],
    );
    let secondary = &c.properties.causeway.expect("causeway").links.secondary;
    assert_eq!(
        (secondary.edge.as_deref(), secondary.state.as_str()),
        (None, "NoEdge")
    );
}

#[test]
fn a_private_peering_with_its_session_status_round_trips_unchanged() {
    let p: ExpressRouteCircuitPeering = assert_round_trip(&private_peering(), &[]);
    assert_eq!(p.kind, ExpressRouteCircuitPeering::TYPE);
    assert_eq!(
        p.properties.ipv6_peering_config.expect("ipv6").state,
        "Enabled"
    );
}

#[test]
fn a_microsoft_peering_with_advertisements_on_both_families_round_trips_unchanged() {
    let p: ExpressRouteCircuitPeering = assert_round_trip(&microsoft_peering(), &[]);
    let ms = p
        .properties
        .microsoft_peering_config
        .expect("microsoftPeeringConfig");
    assert_eq!(ms.customer_asn, Some(64512));
    assert_eq!(ms.routing_registry_name.as_deref(), Some("ARIN"));
    assert_eq!(p.properties.peer_asn, 4_200_000_001, "a 4-byte ASN fits");
    let v6 = p.properties.ipv6_peering_config.expect("ipv6PeeringConfig");
    assert_eq!(
        v6.microsoft_peering_config.expect("v6 config").customer_asn,
        None
    );
}

#[test]
fn an_authorization_round_trips_unchanged_whether_available_or_in_use() {
    let a: ExpressRouteCircuitAuthorization = assert_round_trip(&authorization(false), &[]);
    assert_eq!(a.properties.connection_resource_uri, None);
    let a: ExpressRouteCircuitAuthorization = assert_round_trip(&authorization(true), &[]);
    assert_eq!(a.properties.authorization_use_status, "InUse");
}

#[test]
fn a_cross_connection_and_its_peerings_round_trip_unchanged() {
    let x: ExpressRouteCrossConnection = assert_round_trip(&cross_connection(), &[]);
    assert_eq!(x.kind, ExpressRouteCrossConnection::TYPE);
    assert_eq!(x.properties.express_route_circuit.id, circuit_id());
    let peering = cross_connection()["properties"]["peerings"][0].clone();
    let p: ExpressRouteCrossConnectionPeering = assert_round_trip(&peering, &[]);
    assert_eq!(p.kind, ExpressRouteCrossConnectionPeering::TYPE);
}

#[test]
fn the_service_provider_list_round_trips_unchanged_with_its_next_link() {
    let page = json!({
        "value": [{
            "id": format!("/subscriptions/{SUB}/providers/Microsoft.Network/expressRouteServiceProviders/Equinix"),
            "name": "Equinix",
            "type": "Microsoft.Network/expressRouteServiceProviders",
            "properties": {
                "provisioningState": "Succeeded",
                "peeringLocations": ["Amsterdam", "London", "Silicon Valley", "Washington DC"],
                "bandwidthsOffered": [
                    {"offerName": "50Mbps", "valueInMbps": 50},
                    {"offerName": "1Gbps", "valueInMbps": 1000}
                ]
            }
        }],
        "nextLink": format!("https://127.0.0.1:8443/subscriptions/{SUB}/providers/Microsoft.Network/expressRouteServiceProviders?api-version=2024-05-01&$skipToken=1")
    });
    let l: ExpressRouteServiceProviderListResult = assert_round_trip(&page, &[]);
    assert_eq!(
        l.value[0].properties.bandwidths_offered[1].offer_name,
        "1Gbps"
    );
    assert!(l.next_link.is_some());
}

/// What every subnet gains: the two network-policy flags (Terraform azurerm dereferences
/// `privateLinkServiceNetworkPolicies` without a nil check) and `delegations`.
fn subnet_defaults(prefix: &str) -> Vec<(String, Value)> {
    vec![
        (
            format!("{prefix}/properties/privateEndpointNetworkPolicies"),
            json!("Disabled"),
        ),
        (
            format!("{prefix}/properties/privateLinkServiceNetworkPolicies"),
            json!("Enabled"),
        ),
        (format!("{prefix}/properties/delegations"), json!([])),
    ]
}

fn borrowed(v: &[(String, Value)]) -> Vec<(&str, Value)> {
    v.iter().map(|(p, x)| (p.as_str(), x.clone())).collect()
}

#[test]
fn a_virtual_network_round_trips_adding_the_network_policy_defaults_azure_returns() {
    let mut added = vec![(
        "/properties/privateEndpointVNetPolicies".to_owned(),
        json!("Disabled"),
    )];
    added.extend(subnet_defaults("/properties/subnets/0"));
    added.extend(subnet_defaults("/properties/subnets/1"));
    let v: VirtualNetwork = assert_round_trip(&virtual_network(), &borrowed(&added));
    assert_eq!(v.properties.address_space.address_prefixes.len(), 2);
    let gw_subnet = &v.properties.subnets[1].properties;
    assert_eq!(gw_subnet.ip_configurations.as_ref().map(Vec::len), Some(1));
}

#[test]
fn a_subnet_round_trips_adding_the_network_policy_defaults_azure_returns() {
    for subnet in subnets() {
        let s: Subnet = assert_round_trip(&subnet, &borrowed(&subnet_defaults("")));
        assert_eq!(s.kind, Subnet::TYPE);
    }
}

#[test]
fn a_gateway_round_trips_adding_the_vpn_fields_azure_returns_on_every_gateway() {
    let g: VirtualNetworkGateway = assert_round_trip(
        &gateway(),
        &[
            ("/properties/vpnGatewayGeneration", json!("None")),
            ("/properties/enablePrivateIpAddress", json!(false)),
            ("/properties/disableIPSecReplayProtection", json!(false)),
            ("/properties/natRules", json!([])),
            ("/properties/virtualNetworkGatewayPolicyGroups", json!([])),
            ("/properties/enableBgpRouteTranslationForNat", json!(false)),
            ("/properties/allowVirtualWanTraffic", json!(false)),
            ("/properties/allowRemoteVnetTraffic", json!(false)),
        ],
    );
    let ipc = &g.properties.ip_configurations[0].properties;
    assert_eq!(ipc.private_ip_address.as_deref(), Some("10.10.255.4"));
    assert!(ipc.public_ip_address.is_some());
    let bounds = g
        .properties
        .auto_scale_configuration
        .expect("autoscale")
        .bounds;
    assert_eq!((bounds.min, bounds.max), (2, 4));
}

#[test]
fn a_gateway_without_public_ip_or_autoscale_omits_them() {
    let mut v = gateway();
    let props = v["properties"].as_object_mut().expect("properties");
    props.remove("autoScaleConfiguration");
    props.insert("sku".into(), json!({"name": "ErGw1AZ", "tier": "ErGw1AZ"}));
    v["properties"]["ipConfigurations"][0]["properties"]
        .as_object_mut()
        .expect("ipConfiguration properties")
        .remove("publicIPAddress");
    let g: VirtualNetworkGateway = serde_json::from_value(v).expect("parses");
    let back = serde_json::to_value(&g).expect("serializes");
    assert!(back["properties"].get("autoScaleConfiguration").is_none());
    assert!(back["properties"].get("bgpSettings").is_none());
    assert!(
        back["properties"]["ipConfigurations"][0]["properties"]
            .get("publicIPAddress")
            .is_none()
    );
}

#[test]
fn a_connection_round_trips_adding_the_fields_terraform_reads_back() {
    let c: VirtualNetworkGatewayConnection = assert_round_trip(
        &connection(),
        &[
            ("/properties/ingressNatRules", json!([])),
            ("/properties/egressNatRules", json!([])),
            ("/properties/connectionProtocol", json!("IKEv2")),
            ("/properties/connectionMode", json!("Default")),
            ("/properties/useLocalAzureIpAddress", json!(false)),
            ("/properties/usePolicyBasedTrafficSelectors", json!(false)),
            ("/properties/ipsecPolicies", json!([])),
            ("/properties/trafficSelectorPolicies", json!([])),
            ("/properties/enablePrivateLinkFastPath", json!(false)),
        ],
    );
    assert_eq!(c.properties.peer, Some(SubResource::new(circuit_id())));
    assert_eq!(c.properties.routing_weight, 10);
}

#[test]
fn learned_and_advertised_gateway_routes_round_trip_unchanged() {
    // `gateway_routes` (cloud.rs): a learned route through the edges, an advertised prefix.
    let result = json!({"value": [
        {
            "localAddress": "10.10.255.4",
            "network": "172.16.0.0/16",
            "nextHop": "10.10.255.5",
            "sourcePeer": "10.10.255.5",
            "origin": "EBgp",
            "asPath": "12076-65001",
            "weight": 10
        },
        {
            "localAddress": "10.10.255.4",
            "network": "10.10.0.0/16",
            "nextHop": "10.10.255.4",
            "sourcePeer": "10.10.255.4",
            "origin": "Igp",
            "asPath": "65515",
            "weight": 0
        }
    ]});
    let l: GatewayRouteListResult = assert_round_trip(&result, &[]);
    assert_eq!(l.value[0].as_path, "12076-65001");
    assert_eq!(l.next_link, None);
}

#[test]
fn arp_route_table_and_route_summary_results_round_trip_unchanged() {
    // `diagnostics` (edges.rs), one shape per action.
    let arp = json!({"value": [
        {"age": 12, "interface": "ce0", "ipAddress": "192.168.10.1", "macAddress": "02:00:5e:10:00:01"}
    ]});
    let arp: ExpressRouteCircuitsArpTableListResult = assert_round_trip(&arp, &[]);
    assert_eq!(arp.value[0].mac_address, "02:00:5e:10:00:01");

    let routes = json!({"value": [
        {"network": "172.16.0.0/16", "nextHop": "192.168.10.1", "locPrf": "100", "weight": 0, "path": "65001"},
        {"network": "10.10.0.0/16", "nextHop": "0.0.0.0", "locPrf": "100", "weight": 0, "path": "12076"}
    ]});
    let _: ExpressRouteCircuitsRoutesTableListResult = assert_round_trip(&routes, &[]);

    let summary = json!({"value": [
        {"neighbor": "192.168.10.1", "v": 4, "as": 65001, "upDown": "01:02:03", "statePfxRcd": "3"},
        {"neighbor": "fd00:10::1", "v": 6, "as": 65001, "upDown": "never", "statePfxRcd": "Active"}
    ]});
    let s: ExpressRouteCircuitsRoutesTableSummaryListResult = assert_round_trip(&summary, &[]);
    assert_eq!((s.value[1].v, s.value[1].asn), (6, 65001));

    let cross = json!({"value": [
        {"neighbor": "192.168.10.1", "asn": 65001, "upDown": "01:02:03", "stateOrPrefixesReceived": "3"}
    ]});
    let _: ExpressRouteCrossConnectionsRoutesTableSummaryListResult =
        assert_round_trip(&cross, &[]);

    // No report from the edge yet: an empty table in the same shape.
    let _: ExpressRouteCircuitsArpTableListResult = assert_round_trip(&json!({"value": []}), &[]);
}

#[test]
fn circuit_and_peering_stats_round_trip_with_their_lower_case_bytes() {
    let stats = json!({
        "primarybytesIn": 1_000_000_000_000_u64,
        "primarybytesOut": 2,
        "secondarybytesIn": 3,
        "secondarybytesOut": 4
    });
    let s: ExpressRouteCircuitStats = assert_round_trip(&stats, &[]);
    assert_eq!(s.primary_bytes_in, 1_000_000_000_000);
}

#[test]
fn an_operation_status_round_trips_unchanged() {
    // `operation` (service.rs).
    let status = json!({
        "id": format!("/subscriptions/{SUB}/providers/Microsoft.Network/locations/westus/operations/4f1e"),
        "name": "4f1e",
        "status": "Succeeded",
        "startTime": "2026-01-02T03:04:05Z",
        "endTime": "2026-01-02T03:04:05Z"
    });
    let _: AsyncOperationStatus = assert_round_trip(&status, &[]);
}

#[test]
fn an_arm_error_round_trips_unchanged() {
    // `ArmError::into_response` (arm.rs).
    let err = json!({"error": {"code": "ResourceNotFound", "message": "The Resource 'Microsoft.Network/expressRouteCircuits/er9' was not found."}});
    let e: CloudError = assert_round_trip(&err, &[]);
    assert_eq!(
        e,
        CloudError::new("ResourceNotFound", e.error.message.clone())
    );
}

#[test]
fn a_page_of_circuits_round_trips_with_its_next_link() {
    let page = json!({
        "value": [circuit()],
        "nextLink": format!("https://127.0.0.1:8443/subscriptions/{SUB}/providers/Microsoft.Network/expressRouteCircuits?api-version=2024-05-01&$skipToken=1")
    });
    let _: ExpressRouteCircuitListResult = assert_round_trip(
        &page,
        &[(
            "/value/0/properties/enableDirectPortRateLimit",
            json!(false),
        )],
    );
}

// ===== what Azure returns, and what clients send =====

#[test]
fn a_circuit_as_azure_returns_it_gains_azure_defaults_for_what_it_leaves_out() {
    // The shape of Azure's ExpressRouteCircuitGet example: no stag, no gatewayManagerEtag,
    // no globalReachEnabled, no tags.
    let azure = json!({
        "name": "circuitName",
        "id": format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/expressRouteCircuits/circuitName"),
        "etag": "W/\"00000000-0000-0000-0000-000000000000\"",
        "type": "Microsoft.Network/expressRouteCircuits",
        "location": "westus",
        "properties": {
            "provisioningState": "Succeeded",
            "peerings": [],
            "authorizations": [],
            "serviceProviderProperties": {
                "serviceProviderName": "providerName",
                "peeringLocation": "peeringLocation",
                "bandwidthInMbps": 200
            },
            "circuitProvisioningState": "Enabled",
            "allowClassicOperations": false,
            "serviceKey": "00000000-0000-0000-0000-000000000000",
            "serviceProviderProvisioningState": "NotProvisioned",
            "resiliencyLevel": "Standard",
            "someFutureProperty": {"ignored": true}
        },
        "sku": {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"}
    });
    let c: ExpressRouteCircuit = serde_json::from_value(azure).expect("Azure's body parses");
    assert_eq!(c.properties.stag, 0);
    assert_eq!(c.properties.resiliency_level.as_deref(), Some("Standard"));
    assert!(c.tags.is_empty());
    let back = serde_json::to_value(&c).expect("serializes");
    assert_eq!(back["properties"]["gatewayManagerEtag"], "");
    assert_eq!(back["properties"]["globalReachEnabled"], false);
    assert!(back["properties"].get("someFutureProperty").is_none());
}

#[test]
fn a_terraform_circuit_put_body_without_read_only_fields_parses() {
    let put = json!({
        "location": "westus",
        "tags": {"env": "lab"},
        "sku": {"name": "Premium_UnlimitedData", "tier": "Premium", "family": "UnlimitedData"},
        "properties": {
            "allowClassicOperations": false,
            "serviceProviderProperties": {
                "serviceProviderName": "Equinix",
                "peeringLocation": "Silicon Valley",
                "bandwidthInMbps": 50
            }
        }
    });
    let c: ExpressRouteCircuit = serde_json::from_value(put).expect("the PUT body parses");
    assert_eq!(c.id, "");
    assert_eq!(
        c.properties.service_provider_provisioning_state,
        "NotProvisioned"
    );
    assert_eq!(
        c.properties
            .service_provider_properties
            .expect("provider")
            .bandwidth_in_mbps,
        50
    );
}

#[test]
fn an_authorization_put_body_may_be_empty() {
    let a: ExpressRouteCircuitAuthorization = serde_json::from_value(json!({})).expect("parses");
    assert_eq!(a.properties.authorization_use_status, "Available");
}

#[test]
fn a_peering_put_body_defaults_to_microsofts_asn_and_an_enabled_state() {
    let p: ExpressRouteCircuitPeering = serde_json::from_value(json!({
        "properties": {
            "peeringType": "AzurePrivatePeering",
            "peerASN": 65001,
            "primaryPeerAddressPrefix": "192.168.10.0/30",
            "secondaryPeerAddressPrefix": "192.168.10.4/30",
            "vlanId": 100,
            "sharedKey": "s3cret"
        }
    }))
    .expect("parses");
    assert_eq!(
        (p.properties.azure_asn, p.properties.state.as_str()),
        (AZURE_ASN, "Enabled")
    );
    assert_eq!(p.properties.shared_key.as_deref(), Some("s3cret"));
}

#[test]
fn a_gateway_bgp_settings_keep_azures_ipconfiguration_id_spelling() {
    let bgp = json!({
        "asn": 65515,
        "bgpPeeringAddress": "10.10.255.4,10.10.255.5",
        "peerWeight": 0,
        "bgpPeeringAddresses": [{
            "ipconfigurationId": format!("{}/ipConfigurations/default", gateway_id()),
            "defaultBgpIpAddresses": ["10.10.255.4"],
            "customBgpIpAddresses": [],
            "tunnelIpAddresses": []
        }]
    });
    let b: BgpSettings = assert_round_trip(&bgp, &[]);
    assert_eq!(b.asn, 65515);
}

#[test]
fn a_minimal_or_failed_operation_status_as_azure_sends_it_parses() {
    let s: AsyncOperationStatus =
        serde_json::from_value(json!({"status": "InProgress"})).expect("parses");
    assert_eq!((s.status.as_str(), s.id), ("InProgress", None));
    let failed = json!({"status": "Failed", "error": {"code": "GwmOperationTimeOut", "message": "timed out"}});
    let s: AsyncOperationStatus = assert_round_trip(&failed, &[]);
    assert_eq!(s.error.expect("error").code, "GwmOperationTimeOut");
}

#[test]
fn a_tags_patch_body_parses() {
    let t: TagsObject = assert_round_trip(&json!({"tags": {"a": "1"}}), &[]);
    assert_eq!(t.tags["a"], "1");
}

#[test]
fn an_empty_list_omits_next_link() {
    let l: List<ExpressRouteCircuit> = List::of(Vec::new());
    assert_eq!(
        serde_json::to_value(&l).expect("serializes"),
        json!({"value": []})
    );
}

// ===== schemas =====

/// Every `$ref` target in a schema tree.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("$ref") {
                out.push(r.trim_start_matches("#/components/schemas/").to_owned());
            }
            o.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn every_dto_and_list_result_has_a_non_empty_schema_and_every_reference_resolves() {
    let all = schemas();
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    let expected = [
        "SubResource",
        "TagsObject",
        "CloudError",
        "ErrorDetail",
        "AsyncOperationStatus",
        "ExpressRouteCircuit",
        "ExpressRouteCircuitSku",
        "ExpressRouteCircuitPropertiesFormat",
        "ExpressRouteCircuitServiceProviderProperties",
        "ExpressRouteCircuitPeering",
        "ExpressRouteCircuitPeeringPropertiesFormat",
        "ExpressRouteCircuitPeeringConfig",
        "Ipv6ExpressRouteCircuitPeeringConfig",
        "ExpressRouteCircuitAuthorization",
        "AuthorizationPropertiesFormat",
        "ExpressRouteCircuitConnection",
        "PeerExpressRouteCircuitConnection",
        "ExpressRouteCircuitStats",
        "ExpressRouteCircuitArpTable",
        "ExpressRouteCircuitRoutesTable",
        "ExpressRouteCircuitRoutesTableSummary",
        "ExpressRouteCrossConnectionRoutesTableSummary",
        "CausewayCircuitStatus",
        "CausewayPeeringStatus",
        "ExpressRouteCrossConnection",
        "ExpressRouteCrossConnectionProperties",
        "ExpressRouteCrossConnectionPeering",
        "ExpressRouteCrossConnectionPeeringProperties",
        "ExpressRouteServiceProvider",
        "ExpressRouteServiceProviderPropertiesFormat",
        "VirtualNetwork",
        "VirtualNetworkPropertiesFormat",
        "AddressSpace",
        "Subnet",
        "SubnetPropertiesFormat",
        "VirtualNetworkGateway",
        "VirtualNetworkGatewayPropertiesFormat",
        "VirtualNetworkGatewayIPConfiguration",
        "VirtualNetworkGatewaySku",
        "BgpSettings",
        "VirtualNetworkGatewayAutoScaleConfiguration",
        "VirtualNetworkGatewayConnection",
        "VirtualNetworkGatewayConnectionPropertiesFormat",
        "GatewayRoute",
        "ExpressRouteCircuitListResult",
        "ExpressRouteCircuitPeeringListResult",
        "AuthorizationListResult",
        "ExpressRouteCircuitsArpTableListResult",
        "ExpressRouteCircuitsRoutesTableListResult",
        "ExpressRouteCircuitsRoutesTableSummaryListResult",
        "ExpressRouteCrossConnectionsRoutesTableSummaryListResult",
        "ExpressRouteCrossConnectionListResult",
        "ExpressRouteCrossConnectionPeeringList",
        "ExpressRouteServiceProviderListResult",
        "VirtualNetworkListResult",
        "SubnetListResult",
        "VirtualNetworkGatewayListResult",
        "VirtualNetworkGatewayConnectionListResult",
        "GatewayRouteListResult",
    ];
    for name in expected {
        assert!(names.contains(&name), "{name} is missing from {names:?}");
    }
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, names, "sorted, without duplicates");

    for (name, schema) in &all {
        let v = serde_json::to_value(schema).expect("a schema serializes");
        let properties = v.get("properties").and_then(Value::as_object);
        assert!(
            properties.is_some_and(|p| !p.is_empty()),
            "{name} has no properties: {v:#}"
        );
        let mut targets = Vec::new();
        refs(&v, &mut targets);
        for t in targets {
            assert!(
                names.contains(&t.as_str()),
                "{name} refers to {t}, which is not listed"
            );
        }
    }

    let components = serde_json::to_value(components()).expect("components serialize");
    assert_eq!(
        components["schemas"].as_object().map(|o| o.len()),
        Some(all.len())
    );
}

#[test]
fn list_result_schemas_refer_to_their_item_type() {
    let all = schemas();
    let find = |n: &str| {
        let (_, s) = all.iter().find(|(name, _)| name == n).expect("listed");
        serde_json::to_value(s).expect("serializes")
    };
    assert_eq!(
        find("ExpressRouteCircuitsArpTableListResult")["properties"]["value"]["items"]["$ref"],
        "#/components/schemas/ExpressRouteCircuitArpTable"
    );
    assert_eq!(
        find("VirtualNetworkGatewayConnectionListResult")["properties"]["value"]["items"]["$ref"],
        "#/components/schemas/VirtualNetworkGatewayConnection"
    );
}

#[test]
fn schemas_carry_azures_wire_names_and_defaults() {
    let all = schemas();
    let find = |n: &str| {
        let (_, s) = all.iter().find(|(name, _)| name == n).expect("listed");
        serde_json::to_value(s).expect("serializes")
    };
    let peering = find("ExpressRouteCircuitPeeringPropertiesFormat");
    assert_eq!(peering["properties"]["peerASN"]["format"], "int64");
    assert_eq!(peering["properties"]["azureASN"]["default"], 12076);
    assert_eq!(
        find("ExpressRouteCrossConnectionProperties")["properties"]["sTag"]["readOnly"],
        true
    );
    assert!(
        find("ExpressRouteCircuitStats")["properties"]
            .get("primarybytesIn")
            .is_some()
    );
    assert_eq!(
        find("SubnetPropertiesFormat")["properties"]["privateLinkServiceNetworkPolicies"]["default"],
        "Enabled"
    );
    assert!(
        find("IPConfigurationBgpPeeringAddress")["properties"]
            .get("ipconfigurationId")
            .is_some()
    );
}
