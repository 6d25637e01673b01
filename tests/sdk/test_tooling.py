"""The identity flow and the Microsoft.Resources surface through the official SDKs:
azure-identity's ClientSecretCredential against Causeway's authority (no token handed in),
then azure-mgmt-resource (resource groups) and azure-mgmt-network with that credential.

Uses the server of test_sdk.py (its own `causeway serve`)."""

import json
import subprocess

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from test_sdk import circuit_model, server  # noqa: F401 (server is a fixture)

SUB = "00000000-0000-0000-0000-0000000001d0"


@pytest.fixture(scope="module")
def cloud(server):
    """test_sdk.py's server: this module works in its own subscription."""
    return server


def store(server):
    """The store the server runs on: its data dir's SQLite file, or the shared PostgreSQL."""
    return [] if server.store is None else ["--store", server.store]


def service_principal(server, sub):
    out = subprocess.run(
        [str(server.binary), "token", "create", "--data-dir", str(server.data_dir),
         "--subscription", sub, "-o", "json", *store(server)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout)


def credential(server, sp, secret=None):
    # An AD FS authority: `<public url>/adfs`, so MSAL asks no Microsoft host about it.
    return ClientSecretCredential(
        "adfs", sp["appId"], secret or sp["password"], authority=server.url,
        disable_instance_discovery=True, connection_verify=str(server.data_dir / "tls.crt"),
    )


def scope(server):
    return [f"{server.url}/.default"]


def test_client_secret_credential_gets_a_token_and_a_bad_secret_does_not(cloud):
    sp = service_principal(cloud, SUB)
    token = credential(cloud, sp).get_token(*scope(cloud))
    assert token.token.count(".") == 2
    assert token.expires_on > 0
    with pytest.raises(ClientAuthenticationError) as e:
        credential(cloud, sp, secret="cw_wrong").get_token(*scope(cloud))
    assert "invalid_client" in str(e.value) or "7000215" in str(e.value)


def test_subscriptions_and_resource_groups_with_the_credential(cloud):
    sp = service_principal(cloud, SUB)
    cred = credential(cloud, sp)
    verify = str(cloud.data_dir / "tls.crt")
    subs = SubscriptionClient(cred, base_url=cloud.url, credential_scopes=scope(cloud),
                              connection_verify=verify)
    listed = list(subs.subscriptions.list())
    assert [s.subscription_id for s in listed] == [SUB]
    assert listed[0].tenant_id == sp["tenant"]
    assert [t.tenant_id for t in subs.tenants.list()] == [sp["tenant"]]

    rm = ResourceManagementClient(cred, SUB, base_url=cloud.url,
                                  credential_scopes=scope(cloud), connection_verify=verify)
    assert rm.resource_groups.check_existence("sdk-group") is False
    g = rm.resource_groups.create_or_update("sdk-group", {"location": "westeurope",
                                                          "tags": {"team": "net"}})
    assert g.location == "westeurope" and g.properties.provisioning_state == "Succeeded"
    assert rm.resource_groups.check_existence("sdk-group") is True
    assert rm.resource_groups.update("sdk-group", {"tags": {"team": "noc"}}).tags == {"team": "noc"}
    assert [x.name for x in rm.resource_groups.list()] == ["sdk-group"]
    with pytest.raises(HttpResponseError) as e:
        rm.resource_groups.create_or_update("sdk-group", {"location": "eastus"})
    assert e.value.error.code == "InvalidResourceGroupLocation"

    # The network SDK with the same credential; the group's delete takes the circuit too.
    net = NetworkManagementClient(cred, SUB, base_url=cloud.url,
                                  credential_scopes=scope(cloud), connection_verify=verify)
    c = net.express_route_circuits.begin_create_or_update(
        "sdk-group", "er-identity", circuit_model()).result()
    assert c.service_key
    providers = {p.namespace: p for p in rm.providers.list()}
    assert providers["Microsoft.Network"].registration_state == "Registered"
    rm.resource_groups.begin_delete("sdk-group").result()
    assert rm.resource_groups.check_existence("sdk-group") is False
    with pytest.raises(ResourceNotFoundError):
        net.express_route_circuits.get("sdk-group", "er-identity")


def test_a_revoked_principal_is_refused_at_once(cloud):
    sp = service_principal(cloud, SUB)
    cred = credential(cloud, sp)
    verify = str(cloud.data_dir / "tls.crt")
    rm = ResourceManagementClient(cred, SUB, base_url=cloud.url,
                                  credential_scopes=scope(cloud), connection_verify=verify)
    rm.resource_groups.check_existence("any")  # a token is fetched and cached here
    subprocess.run([str(cloud.binary), "token", "revoke", "--data-dir", str(cloud.data_dir),
                    *store(cloud), sp["appId"]], check=True, capture_output=True)
    with pytest.raises(ClientAuthenticationError):
        rm.resource_groups.check_existence("any")
