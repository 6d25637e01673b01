"""The real az CLI (PyPI azure-cli) against a running `causeway serve`, as a network engineer
drives it: register the cloud by discovery, log in as a service principal, then circuits,
authorizations, peerings, the provider's provisioning, diagnostics, a virtual network with
its gateway and connection, and the teardown. Each step asserts what az printed.

az comes from $CAUSEWAY_AZ (scripts/test installs azure-cli into target/az-venv); the
binary is $CAUSEWAY_BIN, else $CARGO_TARGET_DIR/debug/causeway, else target/debug/causeway.
TLS: az verifies with REQUESTS_CA_BUNDLE = the data directory's certificate, as README says.
"""

import json
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests
import urllib3

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

ROOT = Path(__file__).resolve().parents[2]
SUB = "00000000-0000-0000-0000-0000000a2c11"
LAB = "Causeway Lab"
LAB_SUB = "00000000-0000-0000-0000-00000000c0de"
LAB_RG = "CrossConnection-Lab"
API = "2026-03-01"


def binary():
    if os.environ.get("CAUSEWAY_BIN"):
        return Path(os.environ["CAUSEWAY_BIN"])
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "causeway"


def az_binary():
    if os.environ.get("CAUSEWAY_AZ"):
        return Path(os.environ["CAUSEWAY_AZ"])
    return ROOT / "target" / "az-venv" / "bin" / "az"


def missing(msg):
    if os.environ.get("CI") == "true":
        pytest.fail(msg)
    pytest.skip(msg)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cloud:
    """One `causeway serve` and an az configuration directory logged in to it."""

    def __init__(self, exe, az, data):
        self.exe, self.az_exe, self.data = exe, az, data
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.log = open(data / "server.log", "wb")
        self.proc = subprocess.Popen(
            [str(exe), "serve", "--local-edges", "none", "--data-dir", str(data / "cw"),
             "--listen", f"127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, "RUST_LOG": "warn"},
        )
        deadline = time.time() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError((data / "server.log").read_text())
            try:
                requests.get(self.url + "/metadata/endpoints?api-version=2022-09-01",
                             verify=False, timeout=2)
                break
            except requests.RequestException:
                if time.time() > deadline:
                    raise RuntimeError("causeway serve did not start in 30 s")
                time.sleep(0.05)
        self.env = {
            **os.environ,
            "AZURE_CONFIG_DIR": str(data / "az"),
            "REQUESTS_CA_BUNDLE": str(data / "cw" / "tls.crt"),
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_CORE_ONLY_SHOW_ERRORS": "true",
            "AZURE_CORE_NO_COLOR": "true",
        }

    def token(self, *args):
        out = subprocess.run([str(self.exe), "token", "create", "--data-dir",
                              str(self.data / "cw"), *args],
                             check=True, capture_output=True, text=True)
        return out.stdout

    def az(self, *args, ok=True):
        """Runs az; returns its parsed JSON output (None when it printed nothing)."""
        r = subprocess.run([str(self.az_exe), *args, "-o", "json"], env=self.env,
                           capture_output=True, text=True, timeout=300)
        if ok:
            assert r.returncode == 0, f"az {' '.join(args)}:\n{r.stderr}"
            return json.loads(r.stdout) if r.stdout.strip() else None
        assert r.returncode != 0, f"az {' '.join(args)} should have failed:\n{r.stdout}"
        return r.stderr

    def raw(self, method, path, token, body=None):
        return requests.request(method, f"{self.url}{path}?api-version={API}", json=body,
                                headers={"Authorization": f"Bearer {token}"},
                                verify=False, timeout=30)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def cloud():
    exe, az = binary(), az_binary()
    if not exe.is_file():
        missing(f"causeway binary {exe} not found: run `cargo build -p causeway`")
    if not az.is_file():
        missing(f"az not found at {az}: scripts/test installs azure-cli there")
    with tempfile.TemporaryDirectory(prefix="causeway-az-") as d:
        c = Cloud(exe, az, Path(d))
        try:
            yield c
        finally:
            c.stop()


def test_cloud_register_and_service_principal_login(cloud):
    cloud.az("cloud", "register", "-n", "Causeway",
             "--endpoint-resource-manager", cloud.url)
    shown = cloud.az("cloud", "show", "-n", "Causeway")
    assert shown["endpoints"]["resourceManager"].rstrip("/") == cloud.url
    assert shown["endpoints"]["activeDirectory"] == f"{cloud.url}/adfs"
    cloud.az("cloud", "set", "-n", "Causeway")
    sp = json.loads(cloud.token("--subscription", SUB, "-o", "json"))
    assert set(sp) == {"appId", "password", "tenant", "displayName"}
    # A wrong secret is refused, and az says why.
    err = cloud.az("login", "--service-principal", "-u", sp["appId"], "-p", "cw_wrong",
                   "--tenant", sp["tenant"], ok=False)
    assert "invalid_client" in err or "Invalid client secret" in err, err
    accounts = cloud.az("login", "--service-principal", "-u", sp["appId"],
                        "-p", sp["password"], "--tenant", sp["tenant"])
    assert [a["id"] for a in accounts] == [SUB]
    account = cloud.az("account", "show")
    assert account["id"] == SUB
    assert account["tenantId"] == sp["tenant"]
    assert account["user"] == {"name": sp["appId"], "type": "servicePrincipal"}


def test_resource_group_and_circuit_lifecycle(cloud):
    g = cloud.az("group", "create", "-n", "net-rg", "-l", "westeurope")
    assert g["location"] == "westeurope"
    assert g["properties"]["provisioningState"] == "Succeeded"
    assert cloud.az("group", "exists", "-n", "net-rg") is True
    assert cloud.az("group", "exists", "-n", "no-such-rg") is False
    # No -l: az takes the group's location.
    c = cloud.az("network", "express-route", "create", "-g", "net-rg", "-n", "er1",
                 "--provider", LAB, "--peering-location", "Lab", "--bandwidth", "50")
    assert c["location"] == "westeurope"
    assert c["sku"] == {"name": "Standard_MeteredData", "tier": "Standard",
                        "family": "MeteredData"}
    assert c["serviceProviderProvisioningState"] == "NotProvisioned"
    key = c["serviceKey"]
    shown = cloud.az("network", "express-route", "show", "-g", "net-rg", "-n", "er1")
    assert shown["serviceKey"] == key
    assert [x["name"] for x in cloud.az("network", "express-route", "list", "-g", "net-rg")] == ["er1"]
    assert "er1" in [x["name"] for x in cloud.az("network", "express-route", "list")]
    # Update: tags, bandwidth up, SKU tier (az sends the old sku.name back).
    u = cloud.az("network", "express-route", "update", "-g", "net-rg", "-n", "er1",
                 "--tags", "env=lab", "--bandwidth", "100", "--sku-tier", "Premium")
    assert u["tags"] == {"env": "lab"}
    assert u["serviceProviderProperties"]["bandwidthInMbps"] == 100
    assert u["sku"]["name"] == "Premium_MeteredData"
    # A rule: bandwidth never goes down; az shows the ARM error and nothing changes.
    err = cloud.az("network", "express-route", "update", "-g", "net-rg", "-n", "er1",
                   "--bandwidth", "50", ok=False)
    assert "Bandwidth" in err or "bandwidth" in err, err
    assert cloud.az("network", "express-route", "show", "-g", "net-rg", "-n", "er1")[
        "serviceProviderProperties"]["bandwidthInMbps"] == 100
    # Generic access by type (az builds a path with an empty segment).
    r = cloud.az("resource", "show", "-g", "net-rg", "-n", "er1",
                 "--resource-type", "Microsoft.Network/expressRouteCircuits")
    assert r["properties"]["serviceKey"] == key


def test_authorizations_and_peerings(cloud):
    a = cloud.az("network", "express-route", "auth", "create", "-g", "net-rg",
                 "--circuit-name", "er1", "-n", "to-other-team")
    assert a["authorizationUseStatus"] == "Available"
    assert a["authorizationKey"]
    listed = cloud.az("network", "express-route", "auth", "list", "-g", "net-rg",
                      "--circuit-name", "er1")
    assert [x["name"] for x in listed] == ["to-other-team"]
    p = cloud.az("network", "express-route", "peering", "create", "-g", "net-rg",
                 "--circuit-name", "er1", "--peering-type", "AzurePrivatePeering",
                 "--peer-asn", "65001", "--vlan-id", "100",
                 "--primary-peer-subnet", "10.77.0.0/30",
                 "--secondary-peer-subnet", "10.77.0.4/30", "--shared-key", "s3cret-key")
    assert p["primaryPeerAddressPrefix"] == "10.77.0.0/30"
    assert p["azureASN"] == 12076
    assert p.get("sharedKey") in (None, "")  # never echoed
    # IPv6 added: az sends no IPv4 prefixes; the stored pair stays.
    p = cloud.az("network", "express-route", "peering", "update", "-g", "net-rg",
                 "--circuit-name", "er1", "-n", "AzurePrivatePeering", "--ip-version", "ipv6",
                 "--primary-peer-subnet", "2001:db8:77::/126",
                 "--secondary-peer-subnet", "2001:db8:77::4/126")
    assert p["primaryPeerAddressPrefix"] == "10.77.0.0/30"
    assert p["ipv6PeeringConfig"]["primaryPeerAddressPrefix"] == "2001:db8:77::/126"
    assert p["ipv6PeeringConfig"]["secondaryPeerAddressPrefix"] == "2001:db8:77::4/126"


def test_provider_provisioning_and_diagnostics(cloud):
    key = cloud.az("network", "express-route", "show", "-g", "net-rg", "-n", "er1")["serviceKey"]
    provider = cloud.token("--provider", LAB).strip().splitlines()[-1]
    path = (f"/subscriptions/{LAB_SUB}/resourceGroups/{LAB_RG}/providers/Microsoft.Network"
            f"/expressRouteCrossConnections/{key}")
    cc = cloud.raw("GET", path, provider)
    assert cc.status_code == 200, cc.text
    body = cc.json()
    for state in ["Provisioning", "Provisioned"]:
        body["properties"]["serviceProviderProvisioningState"] = state
        r = cloud.raw("PUT", path, provider, body)
        assert r.status_code in (200, 201), r.text
    c = cloud.az("network", "express-route", "show", "-g", "net-rg", "-n", "er1")
    assert c["serviceProviderProvisioningState"] == "Provisioned"
    arp = cloud.az("network", "express-route", "list-arp-tables", "-g", "net-rg", "-n", "er1",
                   "--peering-name", "AzurePrivatePeering", "--path", "primary")
    assert arp["value"] == []  # no edges run in this test: nothing learned yet
    routes = cloud.az("network", "express-route", "list-route-tables", "-g", "net-rg",
                      "-n", "er1", "--peering-name", "AzurePrivatePeering", "--path", "primary")
    assert routes["value"] == []
    stats = cloud.az("network", "express-route", "get-stats", "-g", "net-rg", "-n", "er1")
    assert stats["primarybytesIn"] == 0 and stats["secondarybytesOut"] == 0
    # A provisioned circuit keeps its group.
    err = cloud.az("group", "delete", "-n", "net-rg", "--yes", ok=False)
    assert "ResourceGroupDeletionBlocked" in err, err
    body["properties"]["serviceProviderProvisioningState"] = "Deprovisioning"
    assert cloud.raw("PUT", path, provider, body).status_code == 200
    body["properties"]["serviceProviderProvisioningState"] = "NotProvisioned"
    assert cloud.raw("PUT", path, provider, body).status_code == 200


def test_virtual_network_gateway_and_connection(cloud):
    v = cloud.az("network", "vnet", "create", "-g", "net-rg", "-n", "vnet1",
                 "--address-prefix", "10.10.0.0/16")
    assert v["newVNet"]["addressSpace"]["addressPrefixes"] == ["10.10.0.0/16"]
    s = cloud.az("network", "vnet", "subnet", "create", "-g", "net-rg", "--vnet-name", "vnet1",
                 "-n", "GatewaySubnet", "--address-prefixes", "10.10.255.0/27")
    assert s["name"] == "GatewaySubnet"
    assert s["provisioningState"] == "Succeeded"
    ip = cloud.az("network", "public-ip", "create", "-g", "net-rg", "-n", "gw-ip",
                  "--sku", "Standard", "--allocation-method", "Static")
    assert ip["publicIp"]["ipAddress"]
    gw = cloud.az("network", "vnet-gateway", "create", "-g", "net-rg", "-n", "gw1",
                  "--vnet", "vnet1", "--gateway-type", "ExpressRoute", "--sku", "Standard",
                  "--public-ip-addresses", "gw-ip")
    assert gw["vnetGateway"]["provisioningState"] == "Succeeded"
    assert gw["vnetGateway"]["gatewayType"] == "ExpressRoute"
    # `az network vpn-connection create` deploys an ARM template (Microsoft.Resources/
    # deployments) holding the connection and prints the template's output: the connection.
    out = cloud.az("network", "vpn-connection", "create", "-g", "net-rg", "-n", "conn1",
                   "--vnet-gateway1", "gw1", "--express-route-circuit2", "er1",
                   "--routing-weight", "10")
    conn = out["resource"]
    assert conn["connectionType"] == "ExpressRoute"
    assert conn["provisioningState"] == "Succeeded"
    assert conn["routingWeight"] == 10
    shown = cloud.az("network", "vpn-connection", "show", "-g", "net-rg", "-n", "conn1")
    assert shown["peer"]["id"].lower().endswith("/expressroutecircuits/er1")
    # The circuit cannot go while a virtual network uses it.
    err = cloud.az("network", "express-route", "delete", "-g", "net-rg", "-n", "er1", ok=False)
    assert "InUseCircuitCannotBeDeleted" in err, err


def test_teardown(cloud):
    cloud.az("network", "vpn-connection", "delete", "-g", "net-rg", "-n", "conn1")
    cloud.az("network", "vnet-gateway", "delete", "-g", "net-rg", "-n", "gw1")
    cloud.az("network", "express-route", "peering", "delete", "-g", "net-rg",
             "--circuit-name", "er1", "-n", "AzurePrivatePeering")
    cloud.az("network", "express-route", "delete", "-g", "net-rg", "-n", "er1")
    assert cloud.az("network", "express-route", "list", "-g", "net-rg") == []
    # What is left goes with the group.
    cloud.az("group", "delete", "-n", "net-rg", "--yes")
    assert cloud.az("group", "exists", "-n", "net-rg") is False
    err = cloud.az("network", "vnet", "show", "-g", "net-rg", "-n", "vnet1", ok=False)
    assert "NotFound" in err, err
