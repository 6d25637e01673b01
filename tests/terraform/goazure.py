"""The HTTP behaviour of hashicorp/go-azure-sdk, which the azurerm provider sends every request
through, replayed with `requests`. Each function names the SDK code it follows (paths under
`sdk/` of go-azure-sdk, as vendored by terraform-provider-azurerm 5.2.0).

Timings are the one thing not replayed: the SDK's fixed waits (10 s before a delete poll or a
provisioning-state poll, 3 s between circuit reads, 1 min between VNet state reads) are there
for Azure's eventual consistency, so the replay polls at once and then every 0.2 s, under a
deadline. The server's own `Retry-After` is honoured, as the SDK honours it.
"""

import base64
import json
import time
import uuid
from urllib.parse import urlsplit

import requests

# What the SDK sends as User-Agent (sdk/client/client.go NewClient, plus the provider's part).
USER_AGENT = (
    "HashiCorp/go-azure-sdk (Go-http-Client/1.1 {service}/{api}) "
    "HashiCorp Terraform/1.13.0 (+https://www.terraform.io) terraform-provider-azurerm/5.2.0"
)
# A bound on every poll loop: the replay never waits on a server that does not finish.
POLL_DEADLINE = 60.0
POLL_STEP = 0.2


class ReplayError(AssertionError):
    """A request did not get the answer the provider needs; the message says which."""


def describe(resp):
    return f"{resp.request.method} {resp.request.url} -> {resp.status_code} {resp.text[:600]}"


# ===== metadata and identity (sdk/environments, sdk/internal/metadata, sdk/auth) =====


def get_metadata(host, verify):
    """environments.FromEndpoint("https://" + metadata_host): one unauthenticated GET, which
    must answer 200 with a single JSON object (sdk/internal/metadata/client.go GetMetaData)."""
    resp = requests.get(
        f"https://{host}/metadata/endpoints?api-version=2022-09-01", verify=verify, timeout=30
    )
    if resp.status_code != 200:
        raise ReplayError(f"metadata discovery needs 200: {describe(resp)}")
    body = resp.content.removeprefix(b"\xef\xbb\xbf")
    try:
        doc = json.loads(body)
    except ValueError as e:
        raise ReplayError(f"metadata is not JSON ({e}): {describe(resp)}") from e
    if not isinstance(doc, dict):
        raise ReplayError(f"metadata must be one object, not {type(doc).__name__}: {describe(resp)}")
    return doc


def scope(resource):
    """environments.Scope: `<resource identifier>/.default`."""
    return f"{resource.rstrip('/')}/.default"


def token_url(login_endpoint, tenant):
    """auth/client_credentials.go tokenEndpoint."""
    return f"{login_endpoint}/{tenant or 'common'}/oauth2/v2.0/token"


def client_credentials_token(url, client_id, secret, scopes, verify):
    """auth/client_secret_authorizer.go Token + clientCredentialsToken: a form POST; any 2xx
    with JSON carrying `access_token` is a token, `expires_in` may be a number or a string."""
    resp = requests.post(
        url,
        data={
            "client_id": client_id,
            "client_secret": secret,
            "grant_type": "client_credentials",
            "scope": " ".join(scopes),
        },
        headers={"Accept": "application/json"},
        verify=verify,
        timeout=30,
    )
    return resp


def jwt_claims(access_token):
    """claims.ParseClaims: three dot-separated parts, the middle one base64url without padding
    (RawURLEncoding) of a JSON object. The signature is not checked."""
    parts = access_token.split(".")
    if len(parts) != 3:
        raise ReplayError(f"access token must be a JWT of 3 parts, got {len(parts)}")
    payload = parts[1]
    if "=" in payload:
        raise ReplayError("the JWT payload must be unpadded base64url (Go's RawURLEncoding)")
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(raw)
    except ValueError as e:
        raise ReplayError(f"JWT payload is not base64url JSON: {e}") from e
    if not isinstance(claims, dict):
        raise ReplayError("JWT payload must be a JSON object")
    return claims


# ===== resource manager requests (sdk/client/client.go, sdk/client/resourcemanager) =====


class Arm:
    """A resource manager client: base URL from the metadata's `resourceManager`, a bearer
    token on every request, `api-version` on every query (resourcemanager/client.go)."""

    def __init__(self, base, token, verify):
        self.base = base.rstrip("/")
        self.token = token
        self.verify = verify
        self.correlation = str(uuid.uuid4())
        self.log = []  # every request sent, in order: (method, path?query, status)

    def send(self, method, path, api, body=None, query=None, service="network", url=None):
        if url is None:
            url = f"{self.base}/{path.lstrip('/')}"
            params = {"api-version": api, **(query or {})}
        else:
            params = None
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT.format(service=service, api=api),
            "X-Ms-Correlation-Request-Id": self.correlation,
        }
        data = None if body is None else json.dumps(body)
        resp = requests.request(
            method, url, params=params, data=data, headers=headers, verify=self.verify, timeout=30
        )
        split = urlsplit(resp.request.url)
        self.log.append((method, f"{split.path}?{split.query}", resp.status_code))
        return resp

    def get(self, path, api, **kw):
        return self.send("GET", path, api, **kw)

    # ----- pollers (resourcemanager/poller.go PollerFromResponse) -----

    def create_or_update_then_poll(self, path, api, body, service="network"):
        """method_createorupdate.go + CreateOrUpdateThenPoll: PUT expecting 200 or 201, then the
        poller PollerFromResponse picks."""
        resp = self.send("PUT", path, api, body=body, service=service)
        if resp.status_code not in (200, 201):
            raise ReplayError(f"PUT needs 200 or 201: {describe(resp)}")
        self.poll_after(resp, path, api)
        return resp

    def poll_after(self, resp, path, api):
        polling = resp.headers.get("Azure-AsyncOperation") or resp.headers.get("Location") or ""
        self_reference = bool(polling) and urlsplit(polling).path.lower() == urlsplit(
            resp.request.url
        ).path.lower()
        if resp.status_code in (200, 201, 202) and polling and not self_reference:
            return self.long_running_operation(resp, polling)
        ctype = resp.headers.get("Content-Type", "")
        if resp.status_code in (200, 201) and "application/json" in ctype.lower():
            return self.provisioning_state(path, api)
        raise ReplayError(f"no applicable poller for the PUT's answer: {describe(resp)}")

    def long_running_operation(self, first, polling):
        """resourcemanager/poller_lro.go: GET the path and query of Azure-AsyncOperation (else
        Location) on the client's own base URL; the first wait is Retry-After (10 s without
        it). 202 and 404 are in progress; a 200 with no body is done; otherwise the body's
        `status` or `properties.provisioningState` decides."""
        if not urlsplit(polling).scheme:
            raise ReplayError(f"polling URL {polling!r} must be absolute")
        target = urlsplit(polling)
        url = f"{self.base}{target.path}" + (f"?{target.query}" if target.query else "")
        wait = retry_after(first, default=None)
        deadline = time.monotonic() + POLL_DEADLINE
        while True:
            time.sleep(POLL_STEP if wait is None else min(wait, 5))
            resp = self.send("GET", None, None, url=url)
            if resp.status_code not in (200, 201, 202, 204, 404):
                raise ReplayError(f"operation poll got an unexpected status: {describe(resp)}")
            wait = retry_after(resp, default=wait)
            if resp.status_code not in (202, 404):
                if resp.status_code == 200 and not resp.content:
                    return resp
                ctype = resp.headers.get("Content-Type", "")
                if "application/json" not in ctype.lower():
                    raise ReplayError(f"operation poll must answer JSON, got {ctype!r}: {describe(resp)}")
                op = resp.json()
                state = str(op.get("status") or "") or str(
                    (op.get("properties") or {}).get("provisioningState") or ""
                )
                if state.lower() in ("failed", "canceled", "cancelled"):
                    raise ReplayError(f"the operation ended {state}: {describe(resp)}")
                if state.lower() == "succeeded":
                    return resp
            if time.monotonic() > deadline:
                raise ReplayError(f"operation did not finish in {POLL_DEADLINE} s: {describe(resp)}")

    def provisioning_state(self, path, api):
        """resourcemanager/poller_provisioning_state.go: GET the resource until its
        `properties.provisioningState` (else `status`) is Succeeded; none at all is done."""
        deadline = time.monotonic() + POLL_DEADLINE
        while True:
            resp = self.get(path, api)
            if resp.status_code != 200:
                raise ReplayError(f"provisioning-state poll needs 200: {describe(resp)}")
            body = resp.json()
            state = str((body.get("properties") or {}).get("provisioningState") or body.get("status") or "")
            if state.lower() in ("failed", "canceled", "cancelled"):
                raise ReplayError(f"provisioning ended {state}: {describe(resp)}")
            if state == "" or state.lower() == "succeeded":
                return resp
            if time.monotonic() > deadline:
                raise ReplayError(f"resource did not reach Succeeded: {describe(resp)}")
            time.sleep(POLL_STEP)

    def delete_then_poll(self, path, api, accepted=(200, 202, 204), service="network"):
        """method_delete.go + DeleteThenPoll. A DELETE never takes the operation poller
        (poller.go skips it for DELETE): the delete poller GETs the resource with the same
        api-version until 404; 200 is still deleting, anything else is an error."""
        resp = self.send("DELETE", path, api, service=service)
        if resp.status_code not in accepted:
            raise ReplayError(f"DELETE needs one of {accepted}: {describe(resp)}")
        deadline = time.monotonic() + POLL_DEADLINE
        while True:
            got = self.get(path, api, service=service)
            if got.status_code == 404:
                return resp
            if got.status_code != 200:
                raise ReplayError(f"delete poll expects 200 or 404: {describe(got)}")
            if time.monotonic() > deadline:
                raise ReplayError(f"resource still there {POLL_DEADLINE} s after DELETE: {describe(got)}")
            time.sleep(POLL_STEP)

    def list_complete(self, path, api, query=None, service="network"):
        """ExecutePaged: follow `nextLink` verbatim until it is absent or empty."""
        items = []
        resp = self.get(path, api, query=query, service=service)
        while True:
            if resp.status_code != 200:
                raise ReplayError(f"list needs 200: {describe(resp)}")
            ctype = resp.headers.get("Content-Type", "")
            if not ctype.lower().startswith("application/json"):
                raise ReplayError(f"a paged list must answer application/json, got {ctype!r}")
            page = resp.json()
            items.extend(page.get("value") or [])
            nxt = page.get("nextLink")
            if not nxt:
                return items
            resp = self.send("GET", None, api, url=nxt, service=service)


def retry_after(resp, default):
    value = resp.headers.get("Retry-After")
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        return default
