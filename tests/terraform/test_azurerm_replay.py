"""Replays, in order, the HTTP requests terraform-provider-azurerm 5.2.0 sends for
`examples/terraform/main.tf` (`terraform apply`, a `terraform plan` refresh, `terraform destroy`)
against a running `causeway serve`, and asserts every answer the provider depends on.

No Terraform runs here (it cannot be installed on these machines); the requests, their bodies,
api-versions and polling rules are taken from the provider's source and the go-azure-sdk it
vendors. REQUESTS.md beside this file maps every step to the provider function it comes from.

The tests run in file order and share one deployment, as one `terraform apply` would: a step
that fails leaves the later ones failing too, so read the first failure first.

    pip install -r tests/terraform/requirements.txt
    python3 -m pytest tests/terraform -q
"""

import time
from pathlib import Path

import hcl2
import pytest
import requests

import goazure
import models
from conftest import SUBSCRIPTION
from goazure import ReplayError, describe

ROOT = Path(__file__).resolve().parents[2]

# ----- the example's values (examples/terraform/main.tf and terraform.tfvars.example) -----
LOCATION = "westeurope"
RG = "causeway-tf"
TAGS = {"environment": "lab", "managed-by": "terraform"}
CIRCUIT = "er-tf"
PEER_ASN = 65010
VLAN = 200
PRIMARY_PREFIX = "192.168.20.0/30"
SECONDARY_PREFIX = "192.168.20.4/30"
SHARED_KEY = "tf-md5-secret"
VNET = "vnet-tf"
VNET_SPACE = "10.20.0.0/16"
GATEWAY_SUBNET_PREFIX = "10.20.255.0/27"
PUBLIC_IP = "pip-tf"
GATEWAY = "gw-tf"
GATEWAY_SKU = "ErGw1AZ"
CONNECTION = "conn-tf"
ROUTING_WEIGHT = 10

# ----- what the provider pins ------------------------------------------------------------
NETWORK_API = "2025-01-01"  # every network client: internal/services/network/client (network_2025_01_01)
RESOURCES_API = "2023-07-01"  # resource groups: resources/2023-07-01/resourcegroups
PROVIDERS_API = "2022-09-01"  # registration: resources/2022-09-01/providers
# `resource_provider_registrations = "core"` (internal/resourceproviders/required.go Core()).
CORE_PROVIDERS = {
    "Microsoft.Authorization",
    "Microsoft.Compute",
    "Microsoft.CostManagement",
    "Microsoft.ManagedIdentity",
    "Microsoft.MarketplaceOrdering",
    "Microsoft.Network",
    "Microsoft.Resources",
    "Microsoft.Storage",
}

NET = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.Network"
RG_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}"
CIRCUIT_ID = f"{NET}/expressRouteCircuits/{CIRCUIT}"
PEERING_ID = f"{CIRCUIT_ID}/peerings/AzurePrivatePeering"
VNET_ID = f"{NET}/virtualNetworks/{VNET}"
SUBNET_ID = f"{VNET_ID}/subnets/GatewaySubnet"
PUBLIC_IP_ID = f"{NET}/publicIPAddresses/{PUBLIC_IP}"
GATEWAY_ID = f"{NET}/virtualNetworkGateways/{GATEWAY}"
CONNECTION_ID = f"{NET}/connections/{CONNECTION}"


class Deployment:
    """What the provider knows between steps: the environment, the tokens, the client."""

    metadata = None
    sp = None
    graph_token = None
    arm = None
    gateway_model = None


D = Deployment()


# ===== helpers ===========================================================================


def arm():
    """The provider's resource manager client; a deployment step without one means start-up
    (metadata, token) already failed: the first failing test above says why."""
    if D.arm is None:
        pytest.fail("azurerm never got past start-up (metadata discovery or the token): see the first failure")
    return D.arm


def well_typed(body, spec, what):
    errors = models.type_errors(body, spec)
    assert not errors, f"{what}: the provider's model cannot unmarshal this answer:\n" + "\n".join(errors)


def dig(body, path):
    """`properties.sku.name` style look-up; None when any step is missing."""
    for key in path.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def no_diff(body, expected, what):
    """What a `terraform plan` compares: each attribute the provider flattens from the answer
    against the configuration. A missing or different value shows as a change on every plan
    (a replacement, for ForceNew attributes)."""
    wrong = {p: (dig(body, p), want) for p, want in expected.items() if dig(body, p) != want}
    assert not wrong, f"{what}: a plan would show changes (got, want): {wrong}"


def absent_or_empty(body, path, what, why):
    value = dig(body, path)
    assert value in (None, [], {}), f"{what}: `{path}` must be absent ({why}), got {value!r}"


def need(resp, codes, why):
    if resp.status_code not in codes:
        raise ReplayError(f"{why}: needs {codes}: {describe(resp)}")
    return resp


def existence_check(path, api, what, service="network"):
    """Every Create starts with `client.Get` and carries on only on 404 (anything else is
    either `ImportAsExistsError` or `checking for presence of existing`)."""
    resp = arm().get(path, api, service=service)
    need(resp, (404,), f"{what}: the create's existence check must find nothing")
    body = resp.json()
    assert isinstance(body.get("error"), dict) and body["error"].get("code"), (
        f"{what}: a 404 carries an ARM error body: {resp.text}"
    )


def read(path, api, spec, what, service="network"):
    resp = need(arm().get(path, api, service=service), (200,), f"{what}: Read")
    ctype = resp.headers.get("Content-Type", "")
    assert "application/json" in ctype.lower(), f"{what}: Read answers {ctype!r}"
    body = resp.json()
    well_typed(body, spec, what)
    return body


# ===== the example itself ================================================================


def literal(value):
    """python-hcl2 keeps string literals quoted; numbers and bools come as they are."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def example():
    """examples/terraform/main.tf parsed: {"resource type": {"name": {attr: value}}}, plus the
    provider block and the variables' defaults."""
    with open(ROOT / "examples" / "terraform" / "main.tf") as f:
        doc = hcl2.load(f)
    resources = {}
    for block in doc.get("resource", []):
        for rtype, named in block.items():
            for name, attrs in named.items():
                resources.setdefault(literal(rtype), {})[literal(name)] = attrs
    variables = {}
    for block in doc.get("variable", []):
        for name, attrs in block.items():
            variables[literal(name)] = literal(attrs.get("default"))
    provider = doc["provider"][0]['"azurerm"']
    tags = {literal(k): literal(v) for k, v in doc["locals"][0]["tags"].items()}
    return resources, variables, provider, tags


def test_the_example_parses_and_is_what_the_replay_sends():
    """The replay's values are the example's: a change to main.tf that the replay does not
    follow fails here, not silently."""
    resources, variables, provider, tags = example()
    assert tags == TAGS
    assert provider["metadata_host"] == "${var.causeway_host}"
    assert literal(provider["resource_provider_registrations"]) == "core"
    assert "skip_provider_registration" not in provider, "removed in azurerm 5.0"
    assert variables["location"] == LOCATION
    assert variables["bgp_md5_key"] == SHARED_KEY

    def attrs(rtype, name):
        return {k: literal(v) for k, v in resources[rtype][name].items() if not k.startswith("__")}

    assert attrs("azurerm_resource_group", "lab")["name"] == RG
    er = attrs("azurerm_express_route_circuit", "er")
    assert (er["name"], er["service_provider_name"], er["peering_location"], er["bandwidth_in_mbps"]) == (
        CIRCUIT, "Causeway Lab", "Lab", 50
    )
    sku = {k: literal(v) for k, v in resources["azurerm_express_route_circuit"]["er"]["sku"][0].items()}
    assert (sku["tier"], sku["family"]) == ("Standard", "MeteredData")
    p = attrs("azurerm_express_route_circuit_peering", "private")
    assert (p["peering_type"], p["peer_asn"], p["vlan_id"]) == ("AzurePrivatePeering", PEER_ASN, VLAN)
    assert (p["primary_peer_address_prefix"], p["secondary_peer_address_prefix"]) == (
        PRIMARY_PREFIX, SECONDARY_PREFIX
    )
    vnet = attrs("azurerm_virtual_network", "cloud")
    assert (vnet["name"], [literal(a) for a in vnet["address_space"]]) == (VNET, [VNET_SPACE])
    sn = attrs("azurerm_subnet", "gateway")
    assert (sn["name"], [literal(a) for a in sn["address_prefixes"]]) == ("GatewaySubnet", [GATEWAY_SUBNET_PREFIX])
    pip = attrs("azurerm_public_ip", "lab")
    assert (pip["name"], pip["allocation_method"], pip["sku"]) == (PUBLIC_IP, "Static", "Standard")
    gw = attrs("azurerm_virtual_network_gateway", "er")
    assert (gw["name"], gw["type"], gw["sku"]) == (GATEWAY, "ExpressRoute", GATEWAY_SKU)
    ipconf = resources["azurerm_virtual_network_gateway"]["er"]["ip_configuration"][0]
    assert "public_ip_address_id" not in ipconf, "azurerm >= 4.60 refuses it on an ExpressRoute gateway"
    assert "name" not in ipconf and "private_ip_address_allocation" not in ipconf, "the replay sends the defaults"
    conn = attrs("azurerm_virtual_network_gateway_connection", "er")
    assert (conn["name"], conn["type"], conn["routing_weight"]) == (CONNECTION, "ExpressRoute", ROUTING_WEIGHT)


# ===== provider configuration: metadata_host, client credentials ==========================


def test_metadata_discovery_describes_this_causeway_as_a_cloud(server):
    """internal/provider/provider.go: `metadata_host` set → environments.FromEndpoint
    ("https://" + metadata_host), then updateFromMetaData."""
    doc = goazure.get_metadata(server.host, str(server.cert))
    D.metadata = doc
    assert isinstance(doc.get("name"), str) and doc["name"], "FromEndpoint fails on an empty `name`"
    rm = doc.get("resourceManager")
    assert isinstance(rm, str) and rm.rstrip("/") == server.url, (
        f"`resourceManager` is where every ARM request goes: {rm!r}, expected {server.url}"
    )
    graph = doc.get("microsoftGraphResourceId")
    assert isinstance(graph, str) and graph, "FromEndpoint fails without `microsoftGraphResourceId`"
    auth = doc.get("authentication") or {}
    login = auth.get("loginEndpoint")
    assert isinstance(login, str) and login.startswith("https://"), f"loginEndpoint: {login!r}"
    if auth.get("audiences") is not None:
        assert isinstance(auth["audiences"], list), "authentication.audiences unmarshals into []string"
    suffixes = doc.get("suffixes") or {}
    # clients/builder.go Build makes Storage and Key Vault authorizers at start-up; without
    # these suffixes environments.Scope fails ("endpoint AzureStorage is not supported").
    for key in ("storage", "keyVaultDns"):
        assert isinstance(suffixes.get(key), str) and suffixes[key], f"suffixes.{key} is required"


def test_azurerm_4x_location_lookup_does_not_reject_the_example_location(server):
    """4.x only (enhanced validation on by default): go-azure-helpers location
    availableAzureLocations GETs `https://<host>//metadata/endpoints?api-version=2018-01-01`
    and, if `cloudEndpoint.<x>.endpoint` equals the host, validates `location` against its
    `locations`. Any failure is ignored by the provider; a list without westeurope is not."""
    resp = requests.get(
        f"https://{server.host}//metadata/endpoints?api-version=2018-01-01",
        verify=str(server.cert),
        timeout=30,
    )
    if resp.status_code != 200:
        return
    try:
        doc = resp.json()
    except ValueError:
        return
    for entry in ((doc.get("cloudEndpoint") or {}) if isinstance(doc, dict) else {}).values():
        if isinstance(entry, dict) and entry.get("endpoint", "").rstrip("/") == server.host:
            locations = entry.get("locations")
            if locations is not None:
                assert LOCATION in locations, f"4.x would refuse location {LOCATION}: {locations}"


def test_client_credentials_token_for_graph_carries_the_claims_azurerm_reads(server, service_principal):
    """internal/clients/auth.go NewResourceManagerAccount: a token for Microsoft Graph
    (`<microsoftGraphResourceId>/.default`) from `<loginEndpoint>/<tenant>/oauth2/v2.0/token`,
    parsed as a JWT: `oid` (else the provider queries Graph for the service principal), `tid`,
    `appid`; `scp` without "openid" marks a service principal."""
    assert D.metadata, "needs the metadata step"
    D.sp = service_principal
    url = goazure.token_url(D.metadata["authentication"]["loginEndpoint"], service_principal["tenant"])
    resp = goazure.client_credentials_token(
        url,
        service_principal["appId"],
        service_principal["password"],
        [goazure.scope(D.metadata["microsoftGraphResourceId"])],
        str(server.cert),
    )
    need(resp, range(200, 300), "client credentials token (Graph scope)")
    body = resp.json()
    assert isinstance(body.get("access_token"), str) and body["access_token"]
    assert str(body.get("token_type", "")).lower() == "bearer", body.get("token_type")
    expires = body.get("expires_in")
    assert isinstance(expires, (int, float, str)) and int(expires) > 0, f"expires_in: {expires!r}"
    claims = goazure.jwt_claims(body["access_token"])
    assert isinstance(claims.get("oid"), str) and claims["oid"], f"`oid` claim: {claims}"
    assert claims.get("tid") == service_principal["tenant"], f"`tid` claim: {claims}"
    assert claims.get("appid") == service_principal["appId"], f"`appid` claim: {claims}"
    assert "openid" not in str(claims.get("scp", "")).lower(), "a service principal's token has no openid scope"
    if "roles" in claims:
        assert isinstance(claims["roles"], list), "`roles` unmarshals into []string"
    D.graph_token = body["access_token"]


def test_token_for_resource_manager_is_accepted_by_the_api(server):
    """Every ARM client's authorizer asks for `<resourceManager>/.default` and sends the token
    as `Authorization: Bearer`."""
    assert D.sp, "needs the service principal step"
    url = goazure.token_url(D.metadata["authentication"]["loginEndpoint"], D.sp["tenant"])
    resp = goazure.client_credentials_token(
        url, D.sp["appId"], D.sp["password"], [goazure.scope(D.metadata["resourceManager"])], str(server.cert)
    )
    need(resp, range(200, 300), "client credentials token (resource manager scope)")
    D.arm = goazure.Arm(D.metadata["resourceManager"], resp.json()["access_token"], str(server.cert))
    got = arm().get(f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}", RESOURCES_API, service="resourcegroups")
    need(got, (404,), "the token must be accepted (a missing group is 404, not 401)")


def test_a_wrong_client_secret_gets_no_token(server):
    """A typo in ARM_CLIENT_SECRET must fail `terraform plan` at the token request."""
    assert D.sp, "needs the service principal step"
    url = goazure.token_url(D.metadata["authentication"]["loginEndpoint"], D.sp["tenant"])
    resp = goazure.client_credentials_token(
        url, D.sp["appId"], D.sp["password"] + "x", [goazure.scope(D.metadata["resourceManager"])], str(server.cert)
    )
    assert resp.status_code in (400, 401), describe(resp)
    assert resp.json().get("error") == "invalid_client", resp.text
    assert "access_token" not in resp.json()


def test_resource_provider_registration_core_set():
    """internal/resourceproviders/registration.go EnsureRegistered with the "core" set: list
    every provider of the subscription (cache.go populateCache), register those listed but
    not Registered (POST .../register, 200), then poll GET .../{ns} until Registered twice
    (custompollers ResourceProviderRegistrationPoller). Providers the list leaves out are
    skipped with a warning (requiring_registration.go)."""
    arm()
    items = arm().list_complete(f"/subscriptions/{SUBSCRIPTION}/providers", PROVIDERS_API, service="providers")
    for item in items:
        well_typed(item, models.PROVIDER, "provider")
    listed = {i["namespace"]: i.get("registrationState") for i in items if i.get("namespace")}
    assert "Microsoft.Network" in listed, f"Microsoft.Network must be listed: {sorted(listed)}"
    assert "Microsoft.Resources" in listed, f"Microsoft.Resources must be listed: {sorted(listed)}"
    for ns in sorted(CORE_PROVIDERS & listed.keys()):
        if str(listed[ns]).lower() == "registered":
            continue
        path = f"/subscriptions/{SUBSCRIPTION}/providers/{ns}"
        resp = arm().send("POST", f"{path}/register", PROVIDERS_API, body={}, service="providers")
        need(resp, (200,), f"register {ns}")
        seen = 0
        deadline = time.monotonic() + goazure.POLL_DEADLINE
        while seen < 2:
            got = need(arm().get(path, PROVIDERS_API, service="providers"), (200,), f"GET provider {ns}")
            well_typed(got.json(), models.PROVIDER, ns)
            seen = seen + 1 if str(got.json().get("registrationState")).lower() == "registered" else 0
            assert time.monotonic() < deadline, f"{ns} never reads Registered: {got.text}"
            if seen < 2:
                time.sleep(goazure.POLL_STEP)


# ===== terraform apply ===================================================================


def test_resource_group_create_and_read():
    """internal/services/resource/resource_group_resource.go resourceResourceGroupCreate:
    Get (404), CreateOrUpdate {location, tags} (200/201, no poller), the create poller
    (custompollers/resource_group_create_poller.go: three successful GETs in a row), Read."""
    path = RG_ID
    existence_check(path, RESOURCES_API, "resource group", service="resourcegroups")
    resp = arm().send("PUT", path, RESOURCES_API, body={"location": LOCATION, "tags": TAGS}, service="resourcegroups")
    need(resp, (200, 201), "resource group CreateOrUpdate")
    # method_createorupdate.go unmarshals the PUT's answer into the model (no poller).
    well_typed(resp.json(), models.RESOURCE_GROUP, "resource group PUT")
    for _ in range(3):
        read(path, RESOURCES_API, models.RESOURCE_GROUP, "resource group", service="resourcegroups")
    body = read(path, RESOURCES_API, models.RESOURCE_GROUP, "resource group", service="resourcegroups")
    assert isinstance(body.get("location"), str), "ResourceGroup.location is a plain string"
    no_diff(body, {"location": LOCATION, "tags": TAGS, "name": RG}, "resource group")
    assert body.get("id", "").lower() == RG_ID.lower()


def circuit_body():
    """resourceExpressRouteCircuitCreate's payload: authorizationKey is a pointer to the
    (empty) `authorization_key`, so it is sent as "" on every create."""
    return {
        "name": CIRCUIT,
        "location": LOCATION,
        "sku": {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"},
        "tags": TAGS,
        "properties": {
            "authorizationKey": "",
            "serviceProviderProperties": {
                "serviceProviderName": "Causeway Lab",
                "peeringLocation": "Lab",
                "bandwidthInMbps": 50,
            },
        },
    }


def circuit_expected():
    return {
        "location": LOCATION,
        "tags": TAGS,
        "sku.tier": "Standard",
        "sku.family": "MeteredData",
        "properties.serviceProviderProperties.serviceProviderName": "Causeway Lab",
        "properties.serviceProviderProperties.peeringLocation": "Lab",
        "properties.serviceProviderProperties.bandwidthInMbps": 50,
    }


def test_express_route_circuit_create_and_read():
    """internal/services/network/express_route_circuit_resource.go: Get (404),
    CreateOrUpdateThenPoll, then expressRouteCircuitCreationRefreshFunc until three reads in a
    row are not Updating/Failed/Deleting (3 s apart), then resourceExpressRouteCircuitRead."""
    existence_check(CIRCUIT_ID, NETWORK_API, "circuit")
    arm().create_or_update_then_poll(CIRCUIT_ID, NETWORK_API, circuit_body())
    for _ in range(3):
        body = read(CIRCUIT_ID, NETWORK_API, models.CIRCUIT, "circuit")
        state = dig(body, "properties.provisioningState")
        assert state not in ("Updating", "Failed", "Deleting"), f"circuit reads {state} after the create"
    body = read(CIRCUIT_ID, NETWORK_API, models.CIRCUIT, "circuit")
    no_diff(body, circuit_expected(), "circuit")
    assert isinstance(dig(body, "properties.serviceKey"), str) and dig(body, "properties.serviceKey")
    assert dig(body, "properties.serviceProviderProvisioningState") == "NotProvisioned"
    # Defaults of allow_classic_operations / rate_limiting_enabled (false) match absent or false.
    assert dig(body, "properties.allowClassicOperations") in (None, False)
    assert dig(body, "properties.enableDirectPortRateLimit") in (None, False)
    assert dig(body, "properties.bandwidthInGbps") is None, "a provider circuit has no bandwidthInGbps"
    assert body.get("id") == CIRCUIT_ID


def peering_body(connections):
    """resourceExpressRouteCircuitPeeringCreate's payload: shared_key, azure_asn (computed, 0
    on create) and gateway_manager_etag (computed, "") are always sent; `connections` is the
    circuit connection list read just before (an empty array when it answered 200)."""
    props = {
        "peeringType": "AzurePrivatePeering",
        "sharedKey": SHARED_KEY,
        "azureASN": 0,
        "peerASN": PEER_ASN,
        "vlanId": VLAN,
        "gatewayManagerEtag": "",
        "state": "Enabled",
        "primaryPeerAddressPrefix": PRIMARY_PREFIX,
        "secondaryPeerAddressPrefix": SECONDARY_PREFIX,
    }
    if connections is not None:
        props["connections"] = connections
    return {"properties": props}


def test_express_route_circuit_peering_create_and_read():
    """express_route_circuit_peering_resource.go: Get (404), ExpressRouteCircuitConnections
    List on the peering (`.../peerings/AzurePrivatePeering/connections`, 200 or 404 both
    accepted), CreateOrUpdateThenPoll, resourceExpressRouteCircuitPeeringRead."""
    existence_check(PEERING_ID, NETWORK_API, "peering")
    listed = arm().get(f"{PEERING_ID}/connections", NETWORK_API)
    need(listed, (200, 404), "the peering's circuit-connection list (any other status fails the create)")
    connections = None
    if listed.status_code == 200:
        well_typed(listed.json(), models.CIRCUIT_CONNECTION_LIST, "circuit connections")
        connections = listed.json().get("value") or []
    arm().create_or_update_then_poll(PEERING_ID, NETWORK_API, peering_body(connections))
    body = read(PEERING_ID, NETWORK_API, models.PEERING, "peering")
    no_diff(
        body,
        {
            "properties.peerASN": PEER_ASN,
            "properties.vlanId": VLAN,
            "properties.primaryPeerAddressPrefix": PRIMARY_PREFIX,
            "properties.secondaryPeerAddressPrefix": SECONDARY_PREFIX,
            # ipv4_enabled defaults to true and is read as state == "Enabled"
            "properties.state": "Enabled",
        },
        "peering",
    )
    assert isinstance(dig(body, "properties.azureASN"), int) and dig(body, "properties.azureASN") > 0
    for port in ("primaryAzurePort", "secondaryAzurePort"):
        assert isinstance(dig(body, f"properties.{port}"), (str, type(None)))
    assert dig(body, "properties.sharedKey") in (None, ""), "the shared key is never read back"
    absent_or_empty(body, "properties.microsoftPeeringConfig", "peering", "no microsoft_peering_config block")
    absent_or_empty(body, "properties.ipv6PeeringConfig", "peering", "no ipv6 block")


def vnet_body():
    """resourceVirtualNetworkCreate / expandVirtualNetworkProperties: with no inline `subnet`
    blocks `subnets` is an empty array, `dhcpOptions.dnsServers` an empty array, and
    private_endpoint_vnet_policies its default."""
    return {
        "name": VNET,
        "location": LOCATION,
        "tags": TAGS,
        "properties": {
            "addressSpace": {"addressPrefixes": [VNET_SPACE]},
            "dhcpOptions": {"dnsServers": []},
            "privateEndpointVNetPolicies": "Disabled",
            "subnets": [],
        },
    }


def test_virtual_network_create_and_read():
    """virtual_network_resource.go: Get (404), CreateOrUpdateThenPoll, then
    VirtualNetworkProvisioningStateRefreshFunc until provisioningState is Succeeded (Updating
    is the only other state it accepts), resourceVirtualNetworkFlatten."""
    existence_check(VNET_ID, NETWORK_API, "virtual network")
    arm().create_or_update_then_poll(VNET_ID, NETWORK_API, vnet_body())
    body = read(VNET_ID, NETWORK_API, models.VNET, "virtual network")
    assert dig(body, "properties.provisioningState") == "Succeeded"
    no_diff(
        body,
        {
            "location": LOCATION,
            "tags": TAGS,
            "properties.addressSpace.addressPrefixes": [VNET_SPACE],
            "properties.privateEndpointVNetPolicies": "Disabled",
        },
        "virtual network",
    )
    assert isinstance(dig(body, "properties.resourceGuid"), str)


def subnet_body():
    """resourceSubnetCreate's payload with the schema defaults: delegations, serviceEndpoints
    and serviceEndpointPolicies are empty arrays, sharingScope is `pointer.ToEnum("")`, an
    empty string."""
    return {
        "name": "GatewaySubnet",
        "properties": {
            "addressPrefixes": [GATEWAY_SUBNET_PREFIX],
            "defaultOutboundAccess": True,
            "delegations": [],
            "privateEndpointNetworkPolicies": "Disabled",
            "privateLinkServiceNetworkPolicies": "Enabled",
            "serviceEndpoints": [],
            "serviceEndpointPolicies": [],
            "sharingScope": "",
        },
    }


def subnet_expected():
    return {
        "properties.addressPrefixes": [GATEWAY_SUBNET_PREFIX],
        "properties.privateEndpointNetworkPolicies": "Disabled",
        # private_link_service_network_policies_enabled (default true) is read as == "Enabled"
        "properties.privateLinkServiceNetworkPolicies": "Enabled",
    }


def test_gateway_subnet_create_and_read():
    """subnet_resource.go resourceSubnetCreate: Get (404 — any other answer is an error or an
    import conflict), CreateOrUpdateThenPoll, SubnetProvisioningStateRefreshFunc (needs
    properties.provisioningState), VirtualNetworkProvisioningStateRefreshFunc on the VNet,
    resourceSubnetFlatten."""
    existence_check(SUBNET_ID, NETWORK_API, "subnet")
    arm().create_or_update_then_poll(SUBNET_ID, NETWORK_API, subnet_body())
    body = read(SUBNET_ID, NETWORK_API, models.SUBNET, "subnet")
    assert dig(body, "properties.provisioningState") == "Succeeded", "the subnet state poll errors without it"
    vnet = read(VNET_ID, NETWORK_API, models.VNET, "virtual network")
    assert dig(vnet, "properties.provisioningState") == "Succeeded"
    body = read(SUBNET_ID, NETWORK_API, models.SUBNET, "subnet")
    no_diff(body, subnet_expected(), "subnet")
    assert dig(body, "properties.defaultOutboundAccess") in (None, True)
    assert body.get("id", "").lower() == SUBNET_ID.lower()
    # The VNet's own read now lists it; flattenVirtualNetworkSubnets hashes each subnet by its
    # `name` (resourceAzureSubnetHash: m["name"].(string) panics without one).
    names = [s.get("name") for s in dig(vnet, "properties.subnets") or []]
    assert names == ["GatewaySubnet"], f"the VNet's subnets: {names}"


def test_azurerm_4x_subnet_with_one_prefix_sends_address_prefix_and_reads_it_back():
    """azurerm 4.x (v4.81.0 subnet_resource.go resourceSubnetCreate) sends a single prefix as
    `addressPrefix` and no `addressPrefixes`; its read takes `addressPrefixes`, else
    `[addressPrefix]`. Replayed on a second VNet, created and destroyed here."""
    vnet_id = f"{NET}/virtualNetworks/vnet-tf4x"
    subnet_id = f"{vnet_id}/subnets/workload"
    body = vnet_body()
    body["name"] = "vnet-tf4x"
    body["properties"]["addressSpace"] = {"addressPrefixes": ["10.30.0.0/16"]}
    arm().create_or_update_then_poll(vnet_id, NETWORK_API, body)
    try:
        existence_check(subnet_id, NETWORK_API, "4.x subnet")
        four = subnet_body()
        four["name"] = "workload"
        del four["properties"]["addressPrefixes"]
        four["properties"]["addressPrefix"] = "10.30.1.0/24"
        arm().create_or_update_then_poll(subnet_id, NETWORK_API, four)
        got = read(subnet_id, NETWORK_API, models.SUBNET, "4.x subnet")
        assert dig(got, "properties.provisioningState") == "Succeeded"
        prefixes = dig(got, "properties.addressPrefixes") or [dig(got, "properties.addressPrefix")]
        assert prefixes == ["10.30.1.0/24"], f"a plan would show address_prefixes changing: {got}"
        arm().delete_then_poll(subnet_id, NETWORK_API)
    finally:
        # Whatever happened above, leave the group as the example's apply would.
        arm().send("DELETE", vnet_id, NETWORK_API)


def public_ip_body():
    """resourcePublicIpCreate's payload with the schema defaults (sku Standard, sku_tier
    Regional, ip_version IPv4, idle timeout 4, ddos_protection_mode VirtualNetworkInherited)."""
    return {
        "name": PUBLIC_IP,
        "location": LOCATION,
        "sku": {"name": "Standard", "tier": "Regional"},
        "tags": TAGS,
        "properties": {
            "publicIPAllocationMethod": "Static",
            "publicIPAddressVersion": "IPv4",
            "idleTimeoutInMinutes": 4,
            "ddosSettings": {"protectionMode": "VirtualNetworkInherited"},
        },
    }


def public_ip_expected():
    return {
        "location": LOCATION,
        "tags": TAGS,
        "sku.name": "Standard",  # ForceNew
        "sku.tier": "Regional",  # ForceNew
        "properties.publicIPAllocationMethod": "Static",
        "properties.publicIPAddressVersion": "IPv4",  # ForceNew
        "properties.idleTimeoutInMinutes": 4,
    }


def test_public_ip_create_and_read():
    """public_ip_resource.go: Get (404), CreateOrUpdateThenPoll, resourcePublicIpFlatten."""
    existence_check(PUBLIC_IP_ID, NETWORK_API, "public IP")
    arm().create_or_update_then_poll(PUBLIC_IP_ID, NETWORK_API, public_ip_body())
    body = read(PUBLIC_IP_ID, NETWORK_API, models.PUBLIC_IP, "public IP")
    no_diff(body, public_ip_expected(), "public IP")
    address = dig(body, "properties.ipAddress")
    assert isinstance(address, str) and address.count(".") == 3, f"a Static address from the pool: {address!r}"
    # An absent ddosSettings reads as the default; a present one must say the mode.
    if dig(body, "properties.ddosSettings") is not None:
        assert dig(body, "properties.ddosSettings.protectionMode") == "VirtualNetworkInherited"
    absent_or_empty(body, "zones", "public IP", "no zones configured (ForceNew)")


def gateway_body():
    """getVirtualNetworkGatewayProperties: every bool of the schema is sent (its default), the
    vpn_type default RouteBased even for ExpressRoute, sku name and tier both the `sku`, one
    ip configuration named by its default. No public IP: azurerm 4.60 and later refuse
    `public_ip_address_id` on an ExpressRoute gateway (resourceVirtualNetworkGatewayCustomizeDiff)."""
    return {
        "name": GATEWAY,
        "location": LOCATION,
        "tags": TAGS,
        "properties": {
            "gatewayType": "ExpressRoute",
            "vpnType": "RouteBased",
            "enableBgp": False,
            "enablePrivateIpAddress": False,
            "activeActive": False,
            "enableBgpRouteTranslationForNat": False,
            "disableIPSecReplayProtection": False,
            "allowRemoteVnetTraffic": False,
            "allowVirtualWanTraffic": False,
            "sku": {"name": GATEWAY_SKU, "tier": GATEWAY_SKU},
            "ipConfigurations": [
                {
                    "name": "vnetGatewayConfig",
                    "properties": {"privateIPAllocationMethod": "Dynamic", "subnet": {"id": SUBNET_ID}},
                }
            ],
        },
    }


def check_gateway_read(body):
    """resourceVirtualNetworkGatewayRead: `!*props.DisableIPSecReplayProtection` and
    `cfg.Properties.PrivateIPAllocationMethod` are dereferenced without a nil check."""
    replay = dig(body, "properties.disableIPSecReplayProtection")
    assert isinstance(replay, bool), (
        "properties.disableIPSecReplayProtection must be present: the provider dereferences it "
        f"unchecked (got {replay!r})"
    )
    assert replay is False, "ip_sec_replay_protection_enabled defaults to true"
    no_diff(
        body,
        {
            "location": LOCATION,
            "tags": TAGS,
            "properties.gatewayType": "ExpressRoute",  # ForceNew
            "properties.sku.name": GATEWAY_SKU,
        },
        "gateway",
    )
    assert dig(body, "properties.vpnType") in (None, "RouteBased"), "vpn_type is ForceNew, default RouteBased"
    assert dig(body, "properties.enableBgp") in (None, False)
    assert dig(body, "properties.enablePrivateIpAddress") in (None, False), "ForceNew, default false"
    for key in ("allowRemoteVnetTraffic", "allowVirtualWanTraffic", "enableBgpRouteTranslationForNat"):
        assert dig(body, f"properties.{key}") in (None, False), f"{key} defaults to false"
    configs = dig(body, "properties.ipConfigurations")
    assert isinstance(configs, list) and len(configs) == 1, f"ipConfigurations: {configs!r}"
    config = configs[0]
    assert isinstance(config.get("properties"), dict), "ipConfigurations[].properties is dereferenced unchecked"
    assert config.get("name") == "vnetGatewayConfig"  # ip_configuration is ForceNew
    assert dig(config, "properties.privateIPAllocationMethod") == "Dynamic"
    assert str(dig(config, "properties.subnet.id")).lower() == SUBNET_ID.lower()
    # Optional blocks that are not Computed: any value here is a diff on every plan.
    absent_or_empty(body, "properties.customRoutes", "gateway", "custom_route is not configured")
    absent_or_empty(body, "properties.vpnClientConfiguration", "gateway", "vpn_client_configuration is not configured")
    absent_or_empty(body, "properties.virtualNetworkGatewayPolicyGroups", "gateway", "policy_group is not configured")
    bounds = dig(body, "properties.autoScaleConfiguration.bounds")
    assert bounds in (None, {}), f"minimum/maximum_scale_unit apply to ErGwScale only: {bounds}"
    # flattenVirtualNetworkGatewayBgpPeeringAddresses parses each ipconfigurationId.
    for addr in dig(body, "properties.bgpSettings.bgpPeeringAddresses") or []:
        ipconf = addr.get("ipconfigurationId")
        if ipconf is not None:
            assert ipconf.lower() == f"{GATEWAY_ID}/ipConfigurations/vnetGatewayConfig".lower(), ipconf


def test_virtual_network_gateway_create_and_read():
    """virtual_network_gateway_resource.go: Get (404), CreateOrUpdateThenPoll,
    resourceVirtualNetworkGatewayRead."""
    existence_check(GATEWAY_ID, NETWORK_API, "gateway")
    arm().create_or_update_then_poll(GATEWAY_ID, NETWORK_API, gateway_body())
    body = read(GATEWAY_ID, NETWORK_API, models.GATEWAY, "gateway")
    check_gateway_read(body)
    assert body.get("id") == GATEWAY_ID


def connection_body(gateway):
    """getVirtualNetworkGatewayConnectionProperties: virtualNetworkGateway1 is built from the
    gateway GET's `id` and `name` with an empty ipConfigurations list; the bools with defaults
    are always sent."""
    return {
        "name": CONNECTION,
        "location": LOCATION,
        "tags": TAGS,
        "properties": {
            "connectionType": "ExpressRoute",
            "connectionMode": "Default",
            "enableBgp": False,
            "enablePrivateLinkFastPath": False,
            "expressRouteGatewayBypass": False,
            "usePolicyBasedTrafficSelectors": False,
            "virtualNetworkGateway1": {
                "id": gateway["id"],
                "name": gateway["name"],
                "properties": {"ipConfigurations": []},
            },
            "peer": {"id": CIRCUIT_ID},
            "routingWeight": ROUTING_WEIGHT,
        },
    }


def check_connection_read(body, key):
    no_diff(
        body,
        {
            "location": LOCATION,
            "tags": TAGS,
            "properties.connectionType": "ExpressRoute",  # ForceNew
            "properties.connectionMode": "Default",  # ForceNew, default Default
            # ForceNew and compared as strings, case and all: the IDs azurerm built
            "properties.virtualNetworkGateway1.id": GATEWAY_ID,
            "properties.peer.id": CIRCUIT_ID,
            "properties.routingWeight": ROUTING_WEIGHT,
        },
        "connection",
    )
    assert dig(body, "properties.enableBgp") in (None, False), "bgp_enabled defaults to false"
    assert dig(body, "properties.enablePrivateLinkFastPath") in (None, False)
    assert dig(body, "properties.expressRouteGatewayBypass") in (None, False)
    absent_or_empty(body, "properties.ipsecPolicies", "connection", "ipsec_policy is not configured")
    absent_or_empty(body, "properties.trafficSelectorPolicies", "connection", "traffic_selector_policy")
    absent_or_empty(body, "properties.egressNatRules", "connection", "egress_nat_rule_ids")
    absent_or_empty(body, "properties.ingressNatRules", "connection", "ingress_nat_rule_ids")
    well_typed(key, models.SHARED_KEY, "shared key")
    assert isinstance(key.get("value"), str), f"sharedkey answers {{\"value\": <string>}}: {key}"


def read_connection():
    body = read(CONNECTION_ID, NETWORK_API, models.CONNECTION, "connection")
    key = need(arm().get(f"{CONNECTION_ID}/sharedkey", NETWORK_API), (200,), "GetSharedKey in every Read")
    return body, key.json()


def test_virtual_network_gateway_connection_create_and_read():
    """virtual_network_gateway_connection_resource.go: Get (404), the gateway's Get (its model
    feeds the payload), CreateOrUpdateThenPoll (SetSharedKey is skipped on a new resource),
    resourceVirtualNetworkGatewayConnectionRead: Get, then GetSharedKey — an error there fails
    the read."""
    existence_check(CONNECTION_ID, NETWORK_API, "connection")
    gateway = read(GATEWAY_ID, NETWORK_API, models.GATEWAY, "gateway (for the connection)")
    assert gateway.get("id") and gateway.get("name"), "virtualNetworkGateway1 is built from id and name"
    arm().create_or_update_then_poll(CONNECTION_ID, NETWORK_API, connection_body(gateway))
    body, key = read_connection()
    check_connection_read(body, key)


# ===== terraform plan: the refresh reads everything again and must find no change ==========


def test_plan_after_apply_reads_every_resource_without_a_change():
    """`terraform plan` refreshes every resource with its Read (the same requests as above)."""
    arm()
    rg = read(RG_ID, RESOURCES_API, models.RESOURCE_GROUP, "resource group", service="resourcegroups")
    no_diff(rg, {"location": LOCATION, "tags": TAGS}, "resource group")
    no_diff(read(CIRCUIT_ID, NETWORK_API, models.CIRCUIT, "circuit"), circuit_expected(), "circuit")
    peering = read(PEERING_ID, NETWORK_API, models.PEERING, "peering")
    no_diff(peering, {"properties.peerASN": PEER_ASN, "properties.vlanId": VLAN}, "peering")
    vnet = read(VNET_ID, NETWORK_API, models.VNET, "virtual network")
    no_diff(vnet, {"properties.addressSpace.addressPrefixes": [VNET_SPACE]}, "virtual network")
    no_diff(read(SUBNET_ID, NETWORK_API, models.SUBNET, "subnet"), subnet_expected(), "subnet")
    no_diff(read(PUBLIC_IP_ID, NETWORK_API, models.PUBLIC_IP, "public IP"), public_ip_expected(), "public IP")
    check_gateway_read(read(GATEWAY_ID, NETWORK_API, models.GATEWAY, "gateway"))
    check_connection_read(*read_connection())


# ===== terraform destroy: dependents first ===================================================


@pytest.mark.parametrize(
    "what,path",
    [
        ("connection", CONNECTION_ID),
        ("gateway", GATEWAY_ID),
        ("peering", PEERING_ID),
        ("public IP", PUBLIC_IP_ID),
        ("subnet", SUBNET_ID),
        ("circuit", CIRCUIT_ID),
        ("virtual network", VNET_ID),
    ],
)
def test_destroy_deletes_and_the_resource_reads_404(what, path):
    """Each resource's Delete is DeleteThenPoll (200, 202 or 204), then GETs until 404."""
    arm()
    arm().delete_then_poll(path, NETWORK_API)


def resources_in_group():
    """custompollers/resource_group_prevent_delete_poller.go: ResourcesListByResourceGroup
    with `$expand=provisioningState&$top=10`, all pages; a 404 counts as an empty group."""
    query = {"$expand": "provisioningState", "$top": "10"}
    first = arm().get(f"{RG_ID}/resources", RESOURCES_API, query=query, service="resourcegroups")
    if first.status_code == 404:
        return None
    items = arm().list_complete(f"{RG_ID}/resources", RESOURCES_API, query=query, service="resourcegroups")
    for item in items:
        well_typed(item, models.GENERIC_RESOURCE_LIST["value"][0], "generic resource")
    return items


def test_destroy_resource_group_is_refused_while_it_holds_a_resource_terraform_does_not_manage():
    """prevent_deletion_if_contains_resources (default true) is the provider's guard against
    deleting what someone made outside Terraform: it only works if the group's resource list
    answers (a 404 reads as empty and the group, with its contents, is deleted)."""
    stray = f"{NET}/virtualNetworks/made-with-az"
    body = vnet_body()
    body["name"] = "made-with-az"
    body["properties"]["addressSpace"] = {"addressPrefixes": ["10.40.0.0/16"]}
    arm().create_or_update_then_poll(stray, NETWORK_API, body)
    try:
        items = resources_in_group()
        assert items is not None, "the group's resource list answered 404: the guard cannot see anything"
        ids = [str(i.get("id", "")).lower() for i in items]
        assert stray.lower() in ids, f"the stray VNet is not listed: {ids}"
    finally:
        arm().delete_then_poll(stray, NETWORK_API)


def test_destroy_resource_group_finds_it_empty_then_deletes_it():
    """resourceResourceGroupDelete: the guard's list must be empty (it retries for 10 min and
    then fails the destroy); then Delete (200 or 202, not 204) and GETs until 404."""
    arm()
    items = resources_in_group() or []
    assert items == [], f"the emptied group still lists resources: {[i.get('id') for i in items]}"
    arm().delete_then_poll(RG_ID, RESOURCES_API, accepted=(200, 202), service="resourcegroups")
