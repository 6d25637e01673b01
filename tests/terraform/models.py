"""The JSON types the provider's models give each field it reads.

go-azure-sdk unmarshals a whole response into its Go model (`resp.Unmarshal(&model)` in each
`method_get.go`); one field of the wrong JSON type (a string for an `*int64`, `50.0` for an
`*int64`, an object for a `*[]T`) fails the whole read, and the provider reports the resource as
unreadable. These specs list, per model of the network 2025-01-01 and resources 2023-07-01
packages, the fields the azurerm resources read or that Azure returns, with their JSON type:

    S string (enums too: they unmarshal from strings)   I integer (Go int64)   N number (float64)
    B bool   O any object   L any array   TAGS object of strings   {..} object spec   [x] array of x

A field absent or null is always fine for the Go model (every field is a pointer or has a zero
value); whether the *provider* needs it present is asserted separately in the test.
"""

SUB = {"id": "S"}
TAGS = "TAGS"

RESOURCE = {"id": "S", "name": "S", "type": "S", "location": "S", "etag": "S", "tags": TAGS}

RESOURCE_GROUP = {
    **RESOURCE,
    "managedBy": "S",
    "properties": {"provisioningState": "S"},
}

PROVIDER = {
    "id": "S",
    "namespace": "S",
    "registrationState": "S",
    "registrationPolicy": "S",
    "resourceTypes": [{"resourceType": "S", "locations": ["S"], "apiVersions": ["S"]}],
}

CIRCUIT = {
    **RESOURCE,
    "sku": {"name": "S", "tier": "S", "family": "S"},
    "properties": {
        "allowClassicOperations": "B",
        "authorizationKey": "S",
        "authorizationStatus": "S",
        "authorizations": [{"id": "S", "name": "S", "etag": "S", "properties": "O"}],
        "bandwidthInGbps": "N",
        "circuitProvisioningState": "S",
        "enableDirectPortRateLimit": "B",
        "expressRoutePort": SUB,
        "gatewayManagerEtag": "S",
        "globalReachEnabled": "B",
        "peerings": [{"id": "S", "name": "S", "etag": "S", "properties": "O"}],
        "provisioningState": "S",
        "serviceKey": "S",
        "serviceProviderNotes": "S",
        "serviceProviderProperties": {
            "bandwidthInMbps": "I",
            "peeringLocation": "S",
            "serviceProviderName": "S",
        },
        "serviceProviderProvisioningState": "S",
        "stag": "I",
    },
}

PEERING_CONFIG = {
    "advertisedPublicPrefixes": ["S"],
    "advertisedCommunities": ["S"],
    "advertisedPublicPrefixesState": "S",
    "customerASN": "I",
    "legacyMode": "I",
    "routingRegistryName": "S",
}

PEERING = {
    "id": "S",
    "name": "S",
    "etag": "S",
    "type": "S",
    "properties": {
        "azureASN": "I",
        "connections": "L",
        "gatewayManagerEtag": "S",
        "ipv6PeeringConfig": {
            "microsoftPeeringConfig": PEERING_CONFIG,
            "primaryPeerAddressPrefix": "S",
            "secondaryPeerAddressPrefix": "S",
            "routeFilter": SUB,
            "state": "S",
        },
        "lastModifiedBy": "S",
        "microsoftPeeringConfig": PEERING_CONFIG,
        "peerASN": "I",
        "peeredConnections": "L",
        "peeringType": "S",
        "primaryAzurePort": "S",
        "primaryPeerAddressPrefix": "S",
        "provisioningState": "S",
        "routeFilter": SUB,
        "secondaryAzurePort": "S",
        "secondaryPeerAddressPrefix": "S",
        "sharedKey": "S",
        "state": "S",
        "stats": {
            "primarybytesIn": "I",
            "primarybytesOut": "I",
            "secondarybytesIn": "I",
            "secondarybytesOut": "I",
        },
        "vlanId": "I",
    },
}

CIRCUIT_CONNECTION_LIST = {"value": "L", "nextLink": "S"}

SUBNET_PROPERTIES = {
    "addressPrefix": "S",
    "addressPrefixes": ["S"],
    "defaultOutboundAccess": "B",
    "delegations": [{"id": "S", "name": "S", "properties": {"serviceName": "S", "actions": ["S"]}}],
    "ipConfigurations": [{"id": "S"}],
    "ipamPoolPrefixAllocations": "L",
    "natGateway": SUB,
    "networkSecurityGroup": SUB,
    "privateEndpointNetworkPolicies": "S",
    "privateLinkServiceNetworkPolicies": "S",
    "provisioningState": "S",
    "purpose": "S",
    "routeTable": SUB,
    "serviceEndpointPolicies": [SUB],
    "serviceEndpoints": [{"service": "S", "locations": ["S"], "provisioningState": "S"}],
    "sharingScope": "S",
}

SUBNET = {"id": "S", "name": "S", "etag": "S", "type": "S", "properties": SUBNET_PROPERTIES}

VNET = {
    **RESOURCE,
    "extendedLocation": {"name": "S", "type": "S"},
    "properties": {
        "addressSpace": {"addressPrefixes": ["S"], "ipamPoolPrefixAllocations": "L"},
        "bgpCommunities": {"virtualNetworkCommunity": "S", "regionalCommunity": "S"},
        "ddosProtectionPlan": SUB,
        "dhcpOptions": {"dnsServers": ["S"]},
        "enableDdosProtection": "B",
        "enableVmProtection": "B",
        "encryption": {"enabled": "B", "enforcement": "S"},
        "flowTimeoutInMinutes": "I",
        "privateEndpointVNetPolicies": "S",
        "provisioningState": "S",
        "resourceGuid": "S",
        "subnets": [SUBNET],
        "virtualNetworkPeerings": "L",
    },
}

PUBLIC_IP = {
    **RESOURCE,
    "extendedLocation": {"name": "S", "type": "S"},
    "zones": ["S"],
    "sku": {"name": "S", "tier": "S"},
    "properties": {
        "ddosSettings": {"ddosProtectionPlan": SUB, "protectionMode": "S"},
        "deleteOption": "S",
        "dnsSettings": {"domainNameLabel": "S", "fqdn": "S", "reverseFqdn": "S", "domainNameLabelScope": "S"},
        "ipAddress": "S",
        "ipConfiguration": {"id": "S"},
        "ipTags": [{"ipTagType": "S", "tag": "S"}],
        "idleTimeoutInMinutes": "I",
        "provisioningState": "S",
        "publicIPAddressVersion": "S",
        "publicIPAllocationMethod": "S",
        "publicIPPrefix": SUB,
        "resourceGuid": "S",
    },
}

GATEWAY = {
    **RESOURCE,
    "extendedLocation": {"name": "S", "type": "S"},
    "identity": "O",
    "properties": {
        "activeActive": "B",
        "adminState": "S",
        "allowRemoteVnetTraffic": "B",
        "allowVirtualWanTraffic": "B",
        "autoScaleConfiguration": {"bounds": {"min": "I", "max": "I"}},
        "bgpSettings": {
            "asn": "I",
            "bgpPeeringAddress": "S",
            "peerWeight": "I",
            "bgpPeeringAddresses": [
                {
                    "ipconfigurationId": "S",
                    "customBgpIpAddresses": ["S"],
                    "defaultBgpIpAddresses": ["S"],
                    "tunnelIpAddresses": ["S"],
                }
            ],
        },
        "customRoutes": {"addressPrefixes": ["S"]},
        "disableIPSecReplayProtection": "B",
        "enableBgp": "B",
        "enableBgpRouteTranslationForNat": "B",
        "enableDnsForwarding": "B",
        "enableHighBandwidthVpnGateway": "B",
        "enablePrivateIpAddress": "B",
        "gatewayDefaultSite": SUB,
        "gatewayType": "S",
        "inboundDnsForwardingEndpoint": "S",
        "ipConfigurations": [
            {
                "id": "S",
                "name": "S",
                "etag": "S",
                "properties": {
                    "privateIPAddress": "S",
                    "privateIPAllocationMethod": "S",
                    "provisioningState": "S",
                    "publicIPAddress": SUB,
                    "subnet": SUB,
                },
            }
        ],
        "natRules": "L",
        "provisioningState": "S",
        "resiliencyModel": "S",
        "resourceGuid": "S",
        "sku": {"name": "S", "tier": "S", "capacity": "I"},
        "vNetExtendedLocationResourceId": "S",
        "virtualNetworkGatewayPolicyGroups": "L",
        "vpnClientConfiguration": "O",
        "vpnGatewayGeneration": "S",
        "vpnType": "S",
    },
}

CONNECTION = {
    **RESOURCE,
    "properties": {
        "authenticationType": "S",
        "authorizationKey": "S",
        "connectionMode": "S",
        "connectionProtocol": "S",
        "connectionStatus": "S",
        "connectionType": "S",
        "dpdTimeoutSeconds": "I",
        "egressBytesTransferred": "I",
        "egressNatRules": [SUB],
        "enableBgp": "B",
        "enablePrivateLinkFastPath": "B",
        "expressRouteGatewayBypass": "B",
        "gatewayCustomBgpIpAddresses": "L",
        "ipsecPolicies": "L",
        "ingressBytesTransferred": "I",
        "ingressNatRules": [SUB],
        "localNetworkGateway2": "O",
        "peer": SUB,
        "provisioningState": "S",
        "resourceGuid": "S",
        "routingWeight": "I",
        "sharedKey": "S",
        "trafficSelectorPolicies": "L",
        "tunnelConnectionStatus": "L",
        "useLocalAzureIpAddress": "B",
        "usePolicyBasedTrafficSelectors": "B",
        "virtualNetworkGateway1": {"id": "S", "name": "S", "location": "S", "properties": "O"},
        "virtualNetworkGateway2": {"id": "S", "name": "S", "properties": "O"},
    },
}

SHARED_KEY = {"id": "S", "value": "S"}

GENERIC_RESOURCE_LIST = {
    "value": [{"id": "S", "name": "S", "type": "S", "location": "S", "provisioningState": "S", "tags": TAGS}],
    "nextLink": "S",
}


def type_errors(value, spec, where="$"):
    """Every place where `value` has a JSON type its Go model cannot take, as `path: why`."""
    if value is None:
        return []
    errors = []
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        for key, sub in spec.items():
            if key in value:
                errors += type_errors(value[key], sub, f"{where}.{key}")
    elif isinstance(spec, list):
        if not isinstance(value, list):
            return [f"{where}: expected an array, got {type(value).__name__}"]
        for i, item in enumerate(value):
            errors += type_errors(item, spec[0], f"{where}[{i}]")
    elif spec == "S":
        if not isinstance(value, str):
            errors.append(f"{where}: expected a string, got {value!r}")
    elif spec == "I":
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{where}: expected an integer literal (Go int64), got {value!r}")
    elif spec == "N":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(f"{where}: expected a number, got {value!r}")
    elif spec == "B":
        if not isinstance(value, bool):
            errors.append(f"{where}: expected true/false, got {value!r}")
    elif spec == "O":
        if not isinstance(value, dict):
            errors.append(f"{where}: expected an object, got {type(value).__name__}")
    elif spec == "L":
        if not isinstance(value, list):
            errors.append(f"{where}: expected an array, got {type(value).__name__}")
    elif spec == TAGS:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            errors.append(f"{where}: expected an object of strings, got {value!r}")
    else:
        raise ValueError(f"unknown spec {spec!r}")
    return errors
