"""The generated /openapi.json and the server agree.

Schemathesis (PyPI) reads the document from a running `causeway serve`, generates requests
for every operation it declares (valid and invalid bodies, parameters, methods) and checks
each answer: no 5xx, a status code the document declares for the operation, the declared
content type, and a body that conforms to the declared schema. Bounded (a fixed seed and a
fixed number of examples per operation) so the suite's run time does not drift.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def causeway_bin():
    if os.environ.get("CAUSEWAY_BIN"):
        return Path(os.environ["CAUSEWAY_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "debug" / "causeway"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_declared_operation_answers_as_the_document_says():
    binary = causeway_bin()
    assert binary.exists(), f"{binary} is missing: run cargo build first"
    data = Path(tempfile.mkdtemp(prefix="causeway-openapi-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(data / "server.log", "wb")
    proc = subprocess.Popen(
        [str(binary), "serve", "--http", "--local-edges", "none", "--data-dir", str(data),
         "--listen", f"127.0.0.1:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "RUST_LOG": "warn"},
    )
    try:
        deadline = time.time() + 30
        while True:
            assert proc.poll() is None, (data / "server.log").read_text()
            try:
                urllib.request.urlopen(url + "/openapi.json", timeout=2)
                if (data / "admin.token").exists():
                    break
            except OSError:
                pass
            assert time.time() < deadline, "causeway serve did not start in 30 s"
            time.sleep(0.05)
        token = (data / "admin.token").read_text().strip()
        run = subprocess.run(
            [
                "schemathesis", "run", f"{url}/openapi.json",
                "-H", f"Authorization: Bearer {token}",
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,"
                "response_schema_conformance",
                "--phases", "examples,fuzzing",
                "--max-examples", os.environ.get("CAUSEWAY_OPENAPI_EXAMPLES", "25"),
                "--seed", "20261202",
                "--workers", "2",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        output = run.stdout + run.stderr
        assert run.returncode == 0, output[-20000:]
        assert "generated" in output and "passed" in output, output[-5000:]
        assert proc.poll() is None, "the server survived the run"
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(data, ignore_errors=True)
