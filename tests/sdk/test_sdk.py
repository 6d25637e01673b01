"""Drives a running `causeway serve` with the official Azure Python SDK (azure-mgmt-network).

The server runs over HTTPS with its self-signed certificate (`connection_verify=False`) and a
static bearer token, exactly as a user would point the SDK at it. Run from the repository root:

    pip install -r tests/sdk/requirements.txt
    python3 -m pytest tests/sdk -q

The binary is $CAUSEWAY_BIN, else $CARGO_TARGET_DIR/debug/causeway, else target/debug/causeway
(`cargo build -p causeway`). Without it the tests skip, or fail when CI=true.

With CAUSEWAY_SDK_POSTGRES=postgres://… (scripts/test sets it to its private server) the
same tests run against two `causeway control` replicas sharing a fresh database: the
customer's client on one, the provider's on the other (see the `replica` fixture).
"""

import os
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests
import urllib3
from azure.core.credentials import AccessToken
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import (
    ExpressRouteCircuit,
    ExpressRouteCircuitAuthorization,
    ExpressRouteCircuitConnection,
    ExpressRouteCircuitPeering,
    ExpressRouteCircuitServiceProviderProperties,
    ExpressRouteCircuitSku,
    ExpressRouteCrossConnectionPeering,
    RouteFilter,
    RouteFilterRule,
    AddressSpace,
    SubResource,
    Subnet,
    TagsObject,
    VirtualNetwork,
    VirtualNetworkGateway,
    VirtualNetworkGatewayConnection,
    VirtualNetworkGatewayIPConfiguration,
    VirtualNetworkGatewaySku,
)

# The server's certificate is self-signed and verification is off on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

ROOT = Path(__file__).resolve().parents[2]
SUB = str(uuid.UUID("5d500000-0000-4000-8000-000000000001"))
OTHER_SUB = str(uuid.UUID("5d500000-0000-4000-8000-000000000002"))
LAB = "Causeway Lab"
LAB_SUB = "00000000-0000-0000-0000-00000000c0de"
LAB_RG = "CrossConnection-Lab"
RG = "sdk-rg"
SHARED_KEY = "Sdk-Md5-Secret-42"
API = "2026-03-01"


def causeway_bin():
    if os.environ.get("CAUSEWAY_BIN"):
        return Path(os.environ["CAUSEWAY_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "debug" / "causeway"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StaticToken:
    """A credential: any object whose get_token returns an AccessToken."""

    def __init__(self, token):
        self.token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self.token, int(time.time()) + 3600)


def fresh_database(base_url):
    """A new, empty database on the PostgreSQL server at `base_url`; its URL."""
    name = f"sdk_{os.getpid()}_{int(time.time() * 1000)}"
    subprocess.run(["psql", "-q", base_url, "-c", f"CREATE DATABASE {name}"], check=True)
    return base_url.rsplit("/", 1)[0] + "/" + name


class Server:
    def __init__(self, binary, data_dir, store=None):
        self.binary = binary
        self.data_dir = data_dir
        self.store = store
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.log = open(data_dir / "server.log", "wb")
        # The API is under test, not the edges: no in-process edges, nothing in the kernel.
        # On a shared store each server is one `causeway control` replica.
        command = ["serve", "--local-edges", "none"] if store is None else ["control", "--store", store]
        self.proc = subprocess.Popen(
            [str(binary), *command, "--data-dir", str(data_dir),
             "--listen", f"127.0.0.1:{self.port}"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RUST_LOG": "warn"},
        )
        deadline = time.time() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"causeway serve exited: {(data_dir / 'server.log').read_text()}")
            token_file = data_dir / "admin.token"
            if token_file.exists():
                try:
                    requests.get(self.url + "/openapi.json", verify=False, timeout=2)
                    break
                except requests.RequestException:
                    pass
            if time.time() > deadline:
                raise RuntimeError("causeway serve did not start in 30 s")
            time.sleep(0.05)
        self.admin = token_file.read_text().strip()

    def token(self, *args):
        out = subprocess.run(
            [str(self.binary), "token", "create", "--data-dir", str(self.data_dir), *args]
            + ([] if self.store is None else ["--store", self.store]),
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip().splitlines()[-1].strip()

    def client(self, token, subscription):
        return NetworkManagementClient(
            StaticToken(token), subscription, base_url=self.url, connection_verify=False
        )

    def raw(self, method, path, token, body=None):
        sep = "&" if "?" in path else "?"
        return requests.request(
            method,
            f"{self.url}{path}{sep}api-version={API}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            verify=False,
            timeout=30,
        )

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="session")
def server():
    binary = causeway_bin()
    if not binary.is_file():
        msg = f"causeway binary {binary} not found: run `cargo build -p causeway` or set CAUSEWAY_BIN"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    with tempfile.TemporaryDirectory(prefix="causeway-sdk-") as d:
        base = os.environ.get("CAUSEWAY_SDK_POSTGRES")
        s = Server(binary, Path(d), store=fresh_database(base) if base else None)
        try:
            yield s
        finally:
            s.stop()


@pytest.fixture(scope="session")
def replica(server):
    """The server the provider and the raw requests go to. With CAUSEWAY_SDK_POSTGRES (a
    PostgreSQL server URL) the customer talks to one `causeway control` replica and the
    provider to another on the same database, so every step the provider takes reads what
    the customer just wrote through the other replica."""
    base = os.environ.get("CAUSEWAY_SDK_POSTGRES")
    if not base:
        yield server
        return
    with tempfile.TemporaryDirectory(prefix="causeway-sdk-b-") as d:
        s = Server(causeway_bin(), Path(d), store=server.store)
        try:
            yield s
        finally:
            s.stop()


@pytest.fixture(scope="session")
def customer_token(server):
    return server.token("--customer", SUB)


@pytest.fixture(scope="session")
def client(server, customer_token):
    return server.client(customer_token, SUB)


@pytest.fixture(scope="session")
def provider(replica):
    return replica.client(replica.token("--provider", LAB), LAB_SUB)


def circuit_model(bandwidth=50, tags=None):
    return ExpressRouteCircuit(
        location="westeurope",
        tags=tags if tags is not None else {"env": "sdk"},
        sku=ExpressRouteCircuitSku(name="Standard_MeteredData", tier="Standard", family="MeteredData"),
        service_provider_properties=ExpressRouteCircuitServiceProviderProperties(
            service_provider_name=LAB, peering_location="Lab", bandwidth_in_mbps=bandwidth
        ),
    )


def private_peering():
    return ExpressRouteCircuitPeering(
        peering_type="AzurePrivatePeering",
        peer_asn=65001,
        primary_peer_address_prefix="192.168.15.16/30",
        secondary_peer_address_prefix="192.168.15.20/30",
        vlan_id=100,
        shared_key=SHARED_KEY,
    )


@pytest.fixture(scope="session")
def circuit(client):
    """Circuit `er-sdk` created with the SDK's long-running create."""
    poller = client.express_route_circuits.begin_create_or_update(RG, "er-sdk", circuit_model())
    return poller.result()


def test_list_service_providers(client):
    providers = {p.name: p for p in client.express_route_service_providers.list()}
    assert LAB in providers
    lab = providers[LAB]
    assert lab.peering_locations == ["Lab"]
    offered = [b.value_in_mbps for b in lab.bandwidths_offered]
    assert 50 in offered and 10000 in offered
    assert {b.offer_name for b in lab.bandwidths_offered} >= {"50Mbps", "10Gbps"}


def test_create_circuit(circuit):
    assert circuit.provisioning_state == "Succeeded"
    assert uuid.UUID(circuit.service_key)
    assert circuit.service_provider_provisioning_state == "NotProvisioned"
    assert circuit.circuit_provisioning_state == "Enabled"
    assert circuit.sku.name == "Standard_MeteredData"
    assert circuit.service_provider_properties.bandwidth_in_mbps == 50
    assert circuit.id.endswith(f"/resourceGroups/{RG}/providers/Microsoft.Network/expressRouteCircuits/er-sdk")


def test_get_list_list_all(client, circuit):
    got = client.express_route_circuits.get(RG, "er-sdk")
    assert got.service_key == circuit.service_key
    assert got.tags == {"env": "sdk"}
    assert got.etag
    assert "er-sdk" in [c.name for c in client.express_route_circuits.list(RG)]
    assert "er-sdk" in [c.name for c in client.express_route_circuits.list_all()]
    assert list(client.express_route_circuits.list("empty-rg")) == []
    stats = client.express_route_circuits.get_stats(RG, "er-sdk")
    assert stats.primarybytes_in == 0 and stats.secondarybytes_out == 0


def test_update_and_update_tags(client, circuit):
    updated = client.express_route_circuits.begin_create_or_update(
        RG, "er-sdk", circuit_model(bandwidth=100, tags={"env": "sdk", "step": "update"})
    ).result()
    assert updated.service_provider_properties.bandwidth_in_mbps == 100
    assert updated.service_key == circuit.service_key
    tagged = client.express_route_circuits.update_tags(RG, "er-sdk", TagsObject(tags={"env": "sdk", "k": "v"}))
    assert tagged.tags == {"env": "sdk", "k": "v"}
    assert client.express_route_circuits.get(RG, "er-sdk").tags == {"env": "sdk", "k": "v"}


def test_validation_error_is_raised_on_the_request_and_creates_nothing(client):
    start = time.time()
    with pytest.raises(HttpResponseError) as e:
        client.express_route_circuits.begin_create_or_update(RG, "er-bad", circuit_model(bandwidth=75))
    assert e.value.status_code == 400
    assert e.value.error.code == "InvalidBandwidth"
    assert "75" in e.value.error.message
    assert time.time() - start < 5, "refused on the request itself, not after polling"
    with pytest.raises(ResourceNotFoundError) as nf:
        client.express_route_circuits.get(RG, "er-bad")
    assert nf.value.error.code == "ResourceNotFound"
    # A bandwidth decrease is refused likewise and changes nothing.
    before = client.express_route_circuits.get(RG, "er-sdk")
    with pytest.raises(HttpResponseError) as e:
        client.express_route_circuits.begin_create_or_update(RG, "er-sdk", circuit_model(bandwidth=50))
    assert e.value.error.code == "CannotDecreaseBandwidth"
    after = client.express_route_circuits.get(RG, "er-sdk")
    assert after.etag == before.etag
    assert after.service_provider_properties.bandwidth_in_mbps == before.service_provider_properties.bandwidth_in_mbps


def test_peering_create_hides_the_shared_key(client, circuit):
    peering = client.express_route_circuit_peerings.begin_create_or_update(
        RG, "er-sdk", "AzurePrivatePeering", private_peering()
    ).result()
    assert peering.provisioning_state == "Succeeded"
    assert peering.shared_key is None
    assert peering.azure_asn == 12076
    assert peering.vlan_id == 100
    got = client.express_route_circuit_peerings.get(RG, "er-sdk", "AzurePrivatePeering")
    assert got.shared_key is None
    assert got.peer_asn == 65001
    assert got.primary_azure_port and got.secondary_azure_port
    listed = list(client.express_route_circuit_peerings.list(RG, "er-sdk"))
    assert [p.name for p in listed] == ["AzurePrivatePeering"]
    assert all(p.shared_key is None for p in listed)
    circuit_now = client.express_route_circuits.get(RG, "er-sdk")
    assert [p.shared_key for p in circuit_now.peerings] == [None]
    # A bad peering is refused on the request.
    bad = private_peering()
    bad.peer_asn = 65515
    with pytest.raises(HttpResponseError) as e:
        client.express_route_circuit_peerings.begin_create_or_update(RG, "er-sdk", "MicrosoftPeering", bad)
    assert e.value.error.code in ("ReservedPeerAsn", "PeeringTypeMismatch")
    stats = client.express_route_circuits.get_peering_stats(RG, "er-sdk", "AzurePrivatePeering")
    assert stats.primarybytes_in == 0


def test_get_modify_put_keeps_the_children(client, circuit):
    """Clients (Terraform, scripts) PUT back what they GET: the peerings must survive."""
    try:
        client.express_route_circuit_peerings.get(RG, "er-sdk", "AzurePrivatePeering")
    except ResourceNotFoundError:
        client.express_route_circuit_peerings.begin_create_or_update(
            RG, "er-sdk", "AzurePrivatePeering", private_peering()
        ).result()
    got = client.express_route_circuits.get(RG, "er-sdk")
    got.tags = {**(got.tags or {}), "round-trip": "yes"}
    put = client.express_route_circuits.begin_create_or_update(RG, "er-sdk", got).result()
    assert put.tags["round-trip"] == "yes"
    assert [p.name for p in put.peerings] == ["AzurePrivatePeering"]
    assert put.service_key == circuit.service_key


def test_authorization_with_an_empty_model(client, circuit):
    auth = client.express_route_circuit_authorizations.begin_create_or_update(
        RG, "er-sdk", "auth1", ExpressRouteCircuitAuthorization()
    ).result()
    assert uuid.UUID(auth.authorization_key)
    assert auth.authorization_use_status == "Available"
    assert auth.provisioning_state == "Succeeded"
    got = client.express_route_circuit_authorizations.get(RG, "er-sdk", "auth1")
    assert got.authorization_key == auth.authorization_key
    assert [a.name for a in client.express_route_circuit_authorizations.list(RG, "er-sdk")] == ["auth1"]
    client.express_route_circuit_authorizations.begin_delete(RG, "er-sdk", "auth1").result()
    with pytest.raises(ResourceNotFoundError):
        client.express_route_circuit_authorizations.get(RG, "er-sdk", "auth1")


def test_arp_and_route_tables_are_empty(client, circuit):
    ops = client.express_route_circuits
    # The peering exists (created above, or here when run alone).
    try:
        client.express_route_circuit_peerings.get(RG, "er-sdk", "AzurePrivatePeering")
    except ResourceNotFoundError:
        client.express_route_circuit_peerings.begin_create_or_update(
            RG, "er-sdk", "AzurePrivatePeering", private_peering()
        ).result()
    arp = ops.begin_list_arp_table(RG, "er-sdk", "AzurePrivatePeering", "primary").result()
    assert arp.value == []
    routes = ops.begin_list_routes_table(RG, "er-sdk", "AzurePrivatePeering", "secondary").result()
    assert routes.value == []
    summary = ops.begin_list_routes_table_summary(RG, "er-sdk", "AzurePrivatePeering", "primary").result()
    assert summary.value == []


def test_provider_flow_and_long_running_delete(client, provider):
    name = "er-provider"
    circuit = client.express_route_circuits.begin_create_or_update(RG, name, circuit_model()).result()
    key = circuit.service_key
    xcs = provider.express_route_cross_connections
    assert key in [x.name for x in xcs.list()]
    assert key in [x.name for x in xcs.list_by_resource_group(LAB_RG)]
    xc = xcs.get(LAB_RG, key)
    assert xc.service_provider_provisioning_state == "NotProvisioned"
    assert xc.express_route_circuit.id == circuit.id
    assert xc.peering_location == "Lab" and xc.bandwidth_in_mbps == 50

    # The customer sees no cross-connections; the provider sees no customer circuits.
    with pytest.raises(ResourceNotFoundError):
        client.express_route_cross_connections.get(LAB_RG, key)
    with pytest.raises(ResourceNotFoundError):
        provider.express_route_circuits.get(RG, name)

    for state in ("Provisioning", "Provisioned"):
        xc = xcs.get(LAB_RG, key)
        xc.service_provider_provisioning_state = state
        xc = xcs.begin_create_or_update(LAB_RG, key, xc).result()
        assert xc.service_provider_provisioning_state == state
    assert client.express_route_circuits.get(RG, name).service_provider_provisioning_state == "Provisioned"

    # An invalid transition is refused with its code.
    bad = xcs.get(LAB_RG, key)
    bad.service_provider_provisioning_state = "NotProvisioned"
    with pytest.raises(HttpResponseError) as e:
        xcs.begin_create_or_update(LAB_RG, key, bad)
    assert e.value.error.code == "InvalidServiceProviderProvisioningStateTransition"

    # The provider configures a peering on its side.
    peering = provider.express_route_cross_connection_peerings.begin_create_or_update(
        LAB_RG,
        key,
        "AzurePrivatePeering",
        ExpressRouteCrossConnectionPeering(
            peering_type="AzurePrivatePeering",
            peer_asn=65010,
            primary_peer_address_prefix="10.1.0.0/30",
            secondary_peer_address_prefix="10.1.0.4/30",
            vlan_id=300,
            shared_key=SHARED_KEY,
        ),
    ).result()
    assert peering.last_modified_by == "ServiceProvider"
    assert peering.shared_key is None
    assert client.express_route_circuit_peerings.get(RG, name, "AzurePrivatePeering").last_modified_by == "ServiceProvider"
    tagged = xcs.update_tags(LAB_RG, key, TagsObject(tags={"ref": "X-1"}))
    assert tagged.tags == {"ref": "X-1"}

    # The customer cannot delete while Provisioned.
    with pytest.raises(HttpResponseError) as e:
        client.express_route_circuits.begin_delete(RG, name)
    assert isinstance(e.value, ResourceExistsError)  # 409
    assert e.value.error.code == "CircuitNotDeprovisioned"
    assert "provider" in e.value.error.message
    client.express_route_circuits.get(RG, name)

    for state in ("Deprovisioning", "NotProvisioned"):
        xc = xcs.get(LAB_RG, key)
        xc.service_provider_provisioning_state = state
        assert xcs.begin_create_or_update(LAB_RG, key, xc).result().service_provider_provisioning_state == state

    assert client.express_route_circuits.begin_delete(RG, name).result() is None
    with pytest.raises(ResourceNotFoundError) as nf:
        client.express_route_circuits.get(RG, name)
    assert nf.value.error.code == "ResourceNotFound"
    with pytest.raises(ResourceNotFoundError):
        xcs.get(LAB_RG, key)
    # Deleting what does not exist succeeds (204).
    client.express_route_circuits.begin_delete(RG, name).result()


def test_another_tenant_sees_nothing(server, circuit):
    other = server.client(server.token("--customer", OTHER_SUB), SUB)
    with pytest.raises(ResourceNotFoundError) as e:
        other.express_route_circuits.get(RG, "er-sdk")
    assert e.value.error.code == "ResourceNotFound"
    assert list(other.express_route_circuits.list(RG)) == []
    assert list(other.express_route_circuits.list_all()) == []


def test_bad_token_is_an_authentication_error(server):
    from azure.core.exceptions import ClientAuthenticationError

    stranger = server.client("cw_" + "0" * 64, SUB)
    with pytest.raises(ClientAuthenticationError):
        stranger.express_route_circuits.get(RG, "er-sdk")


def test_paging_over_several_pages(replica, customer_token, client):
    # The server pages at 100: make 105 circuits quickly over plain requests, then list them
    # (through the other replica, with CAUSEWAY_SDK_POSTGRES).
    rg = "sdk-paging"
    body = circuit_model().as_dict()
    with requests.Session() as s:
        s.headers["Authorization"] = f"Bearer {customer_token}"
        for i in range(105):
            r = s.put(
                f"{replica.url}/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/"
                f"expressRouteCircuits/p{i:03}?api-version={API}",
                json=body,
                verify=False,  # per request: REQUESTS_CA_BUNDLE would override Session.verify
                timeout=30,
            )
            assert r.status_code == 201, r.text
    pages = list(client.express_route_circuits.list(rg).by_page())
    assert len(pages) >= 2
    names = [c.name for page in pages for c in page]
    assert names == [f"p{i:03}" for i in range(105)]
    assert len([c for c in client.express_route_circuits.list_all()]) >= 105


def test_virtual_network_gateway_and_connection(client, provider):
    """The cloud side: a VNet, its ExpressRoute gateway and a connection to a circuit."""
    name = "er-cloud"
    circuit = client.express_route_circuits.begin_create_or_update(RG, name, circuit_model()).result()
    xcs = provider.express_route_cross_connections
    xc = xcs.get(LAB_RG, circuit.service_key)
    xc.service_provider_provisioning_state = "Provisioned"
    xcs.begin_create_or_update(LAB_RG, circuit.service_key, xc).result()
    client.express_route_circuit_peerings.begin_create_or_update(
        RG, name, "AzurePrivatePeering", private_peering()
    ).result()

    vnet = client.virtual_networks.begin_create_or_update(
        RG,
        "vnet-sdk",
        VirtualNetwork(
            location="westeurope",
            address_space=AddressSpace(address_prefixes=["10.1.0.0/16"]),
            subnets=[Subnet(name="GatewaySubnet", address_prefix="10.1.255.0/27")],
        ),
    ).result()
    assert vnet.provisioning_state == "Succeeded"
    assert uuid.UUID(vnet.resource_guid)
    assert vnet.address_space.address_prefixes == ["10.1.0.0/16"]
    gateway_subnet = client.subnets.get(RG, "vnet-sdk", "GatewaySubnet")
    assert gateway_subnet.address_prefix == "10.1.255.0/27"
    assert "vnet-sdk" in [v.name for v in client.virtual_networks.list(RG)]
    assert "vnet-sdk" in [v.name for v in client.virtual_networks.list_all()]

    gw = client.virtual_network_gateways.begin_create_or_update(
        RG,
        "gw-sdk",
        VirtualNetworkGateway(
            location="westeurope",
            gateway_type="ExpressRoute",
            sku=VirtualNetworkGatewaySku(name="ErGw1AZ", tier="ErGw1AZ"),
            ip_configurations=[
                VirtualNetworkGatewayIPConfiguration(name="gwipconf", subnet=SubResource(id=gateway_subnet.id))
            ],
        ),
    ).result()
    assert gw.gateway_type == "ExpressRoute"
    assert gw.sku.name == "ErGw1AZ"
    assert gw.provisioning_state == "Succeeded"
    assert gw.ip_configurations[0].subnet.id == gateway_subnet.id
    assert [g.name for g in client.virtual_network_gateways.list(RG)] == ["gw-sdk"]

    # A VPN gateway is refused on the request itself.
    with pytest.raises(HttpResponseError) as e:
        client.virtual_network_gateways.begin_create_or_update(
            RG,
            "gw-vpn",
            VirtualNetworkGateway(
                location="westeurope",
                gateway_type="Vpn",
                sku=VirtualNetworkGatewaySku(name="VpnGw1", tier="VpnGw1"),
                ip_configurations=[
                    VirtualNetworkGatewayIPConfiguration(name="c", subnet=SubResource(id=gateway_subnet.id))
                ],
            ),
        )
    assert e.value.status_code == 400
    assert e.value.error.code == "GatewayTypeNotSupported"

    conns = client.virtual_network_gateway_connections
    conn = conns.begin_create_or_update(
        RG,
        "conn-sdk",
        VirtualNetworkGatewayConnection(
            location="westeurope",
            connection_type="ExpressRoute",
            virtual_network_gateway1=VirtualNetworkGateway(id=gw.id),
            peer=SubResource(id=circuit.id),
            routing_weight=10,
        ),
    ).result()
    assert conn.connection_type == "ExpressRoute"
    assert conn.peer.id == circuit.id
    assert conn.virtual_network_gateway1.id == gw.id
    assert conn.routing_weight == 10
    assert conn.connection_status == "Connected"
    assert conn.provisioning_state == "Succeeded"
    got = conns.get(RG, "conn-sdk")
    assert got.resource_guid == conn.resource_guid
    assert [c.name for c in conns.list(RG)] == ["conn-sdk"]

    # Changing the peer is refused.
    other = client.express_route_circuits.begin_create_or_update(RG, "er-cloud-2", circuit_model()).result()
    got.peer = SubResource(id=other.id)
    with pytest.raises(HttpResponseError) as e:
        conns.begin_create_or_update(RG, "conn-sdk", got)
    assert e.value.error.code == "ExpressRouteConnectionPeerCannotBeChanged"

    # The gateway's learned routes (none until a customer router speaks BGP).
    learned = client.virtual_network_gateways.begin_get_learned_routes(RG, "gw-sdk").result()
    assert learned.value == []
    advertised = client.virtual_network_gateways.begin_get_advertised_routes(RG, "gw-sdk", peer="192.168.15.17").result()
    assert [r.network for r in advertised.value] == ["10.1.0.0/16"]

    # Dependents first: the gateway cannot go while connected.
    with pytest.raises(HttpResponseError) as e:
        client.virtual_network_gateways.begin_delete(RG, "gw-sdk")
    assert e.value.error.code == "InUseVirtualNetworkGatewayCannotBeDeleted"
    conns.begin_delete(RG, "conn-sdk").result()
    with pytest.raises(ResourceNotFoundError):
        conns.get(RG, "conn-sdk")
    client.virtual_network_gateways.begin_delete(RG, "gw-sdk").result()
    client.virtual_networks.begin_delete(RG, "vnet-sdk").result()
    with pytest.raises(ResourceNotFoundError):
        client.virtual_networks.get(RG, "vnet-sdk")
    client.express_route_circuits.begin_delete(RG, "er-cloud-2").result()


def test_global_reach_connection_and_its_mirror(client):
    """Global Reach through the SDK: made on one circuit, read back on the peer."""
    here = client.express_route_circuits.begin_create_or_update(RG, "gr-lab", circuit_model()).result()
    there_model = circuit_model()
    there_model.service_provider_properties.service_provider_name = "Equinix"
    there_model.service_provider_properties.peering_location = "Amsterdam"
    there = client.express_route_circuits.begin_create_or_update(RG, "gr-ams", there_model).result()
    for name in ("gr-lab", "gr-ams"):
        client.express_route_circuit_peerings.begin_create_or_update(
            RG, name, "AzurePrivatePeering", private_peering()
        ).result()

    conn = client.express_route_circuit_connections.begin_create_or_update(
        RG, "gr-lab", "AzurePrivatePeering", "to-ams",
        ExpressRouteCircuitConnection(
            express_route_circuit_peering=SubResource(id=f"{here.id}/peerings/AzurePrivatePeering"),
            peer_express_route_circuit_peering=SubResource(id=f"{there.id}/peerings/AzurePrivatePeering"),
            address_prefix="10.99.0.0/29",
        ),
    ).result()
    assert conn.address_prefix == "10.99.0.0/29"
    assert conn.provisioning_state == "Succeeded"
    listed = list(client.express_route_circuit_connections.list(RG, "gr-lab", "AzurePrivatePeering"))
    assert [c.name for c in listed] == ["to-ams"]

    mirror = list(client.peer_express_route_circuit_connections.list(RG, "gr-ams", "AzurePrivatePeering"))
    assert [(m.name, m.connection_name) for m in mirror] == [("to-ams", "to-ams")]
    assert mirror[0].peer_express_route_circuit_peering.id.lower() == f"{here.id}/peerings/AzurePrivatePeering".lower()
    got = client.peer_express_route_circuit_connections.get(RG, "gr-ams", "AzurePrivatePeering", "to-ams")
    assert got.address_prefix == "10.99.0.0/29"

    with pytest.raises(HttpResponseError) as e:
        client.express_route_circuit_connections.begin_create_or_update(
            RG, "gr-ams", "AzurePrivatePeering", "back",
            ExpressRouteCircuitConnection(
                peer_express_route_circuit_peering=SubResource(id=f"{here.id}/peerings/AzurePrivatePeering"),
                address_prefix="10.98.0.0/29",
            ),
        ).result()
    assert e.value.error.code == "GlobalReachAlreadyConfigured"

    client.express_route_circuit_connections.begin_delete(RG, "gr-lab", "AzurePrivatePeering", "to-ams").result()
    assert list(client.peer_express_route_circuit_connections.list(RG, "gr-ams", "AzurePrivatePeering")) == []


def test_route_filter_and_the_service_communities(client):
    """Route filters through the SDK: a rule allowing a service community the deployment lists."""
    services = {s.name: s for s in client.bgp_service_communities.list()}
    exchange = services["ExchangeOnline"].bgp_communities[0]
    assert exchange.community_value == "12076:5010" and exchange.community_prefixes

    f = client.route_filters.begin_create_or_update(
        RG, "rf-sdk",
        RouteFilter(location="westeurope", rules=[RouteFilterRule(
            name="allow", access="Allow", route_filter_rule_type="Community",
            communities=[exchange.community_value])]),
    ).result()
    assert [r.communities for r in f.rules] == [["12076:5010"]]
    rule = client.route_filter_rules.get(RG, "rf-sdk", "allow")
    assert rule.access == "Allow"
    assert "rf-sdk" in [x.name for x in client.route_filters.list_by_resource_group(RG)]

    with pytest.raises(HttpResponseError) as e:
        client.route_filter_rules.begin_create_or_update(
            RG, "rf-sdk", "second",
            RouteFilterRule(access="Allow", route_filter_rule_type="Community", communities=["12076:5020"]),
        ).result()
    assert e.value.error.code == "RouteFilterRuleLimitReached"
    client.route_filters.begin_delete(RG, "rf-sdk").result()
