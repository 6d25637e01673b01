"""A `causeway serve` of its own for the Terraform replay, and the service principal it runs as.

The server listens on a free loopback port with a fresh data directory; the test trusts the
server's own certificate (`<data dir>/tls.crt`) the way Terraform does through SSL_CERT_FILE,
so TLS verification stays on.

The binary is $CAUSEWAY_BIN, else $CARGO_TARGET_DIR/debug/causeway, else target/debug/causeway
(`cargo build -p causeway`). Without it the tests skip, or fail when CI=true.
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

ROOT = Path(__file__).resolve().parents[2]

# The subscription the example deploys into (ARM_SUBSCRIPTION_ID).
SUBSCRIPTION = "7e770000-0000-4000-8000-000000000011"


def causeway_bin():
    if os.environ.get("CAUSEWAY_BIN"):
        return Path(os.environ["CAUSEWAY_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "debug" / "causeway"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`causeway serve` with no in-process edges: the API is under test, not the kernel."""

    def __init__(self, binary, data_dir):
        self.binary = binary
        self.data_dir = data_dir
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"  # what `metadata_host` is set to
        self.url = f"https://{self.host}"
        self.cert = data_dir / "tls.crt"
        self.log_path = data_dir / "server.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--local-edges", "none", "--data-dir", str(data_dir),
             "--listen", self.host],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RUST_LOG": "warn"},
        )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"causeway serve exited: {self.log_path.read_text()}")
            if self.cert.exists() and (data_dir / "admin.token").exists():
                try:
                    requests.get(self.url + "/openapi.json", verify=str(self.cert), timeout=2)
                    break
                except requests.RequestException:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError("causeway serve did not start in 30 s")
            time.sleep(0.05)

    def cli(self, *args):
        return subprocess.run(
            [str(self.binary), *args, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
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
    with tempfile.TemporaryDirectory(prefix="causeway-tf-") as d:
        s = Server(binary, Path(d))
        try:
            yield s
        finally:
            s.stop()


@pytest.fixture(scope="session")
def service_principal(server):
    """What `causeway token create --subscription S -o json` prints, shaped like
    `az ad sp create-for-rbac`: the README exports these as ARM_CLIENT_ID, ARM_CLIENT_SECRET and
    ARM_TENANT_ID."""
    out = server.cli("token", "create", "--subscription", SUBSCRIPTION, "-o", "json")
    assert out.returncode == 0, f"`causeway token create --subscription S -o json` failed: {out.stderr}"
    sp = json.loads(out.stdout)
    for key in ("appId", "password", "tenant", "displayName"):
        assert isinstance(sp.get(key), str) and sp[key], f"service principal lacks {key!r}: {sp}"
    return sp
