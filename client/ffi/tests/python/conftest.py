"""A real ldp-aggregator on an ephemeral port, for the Python and C end-to-end tests.

The binary comes from $LDP_AGGREGATOR (.ci/run sets it after scripts/install-bindings.sh).
"""

import json
import os
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Collector:
    url: str
    admin: str
    analyst: str

    def request(self, method, path, body=None, token=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=30) as answer:
            return json.loads(answer.read() or b"null")

    def create_campaign(self, spec):
        return self.request("POST", "/v1/campaigns", spec, self.admin)

    def estimates(self, campaign):
        return self.request("GET", f"/v1/campaigns/{campaign}/estimates", token=self.analyst)


@pytest.fixture(scope="session")
def collector(tmp_path_factory):
    binary = os.environ.get("LDP_AGGREGATOR")
    if not binary:
        pytest.fail("set LDP_AGGREGATOR to an ldp-aggregator binary (.ci/run does)")
    home = tmp_path_factory.mktemp("collector")
    database = f"sqlite://{home / 'ldp.db'}"

    def token(role):
        out = subprocess.run(
            [binary, "token", "create", "--role", role, "--database", database],
            check=True, capture_output=True, text=True, env={**os.environ, "LDP_LOG": "warn"},
        )
        return out.stdout.strip()

    admin, analyst = token("admin"), token("analyst")
    address = home / "address"
    with open(home / "server.log", "wb") as log:
        server = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--address-file", str(address),
             "--database", database],
            stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "LDP_LOG": "warn"},
        )
    try:
        # A hang guard, not a speed check.
        polls = 0
        while not address.exists() or not address.read_text().strip():
            assert server.poll() is None, (home / "server.log").read_text()
            polls += 1
            assert polls < 12_000, "the collector did not start"
            time.sleep(0.01)
        yield Collector(f"http://{address.read_text().strip()}", admin, analyst)
    finally:
        server.kill()
        server.wait()


@pytest.fixture
def repo_root():
    return Path(__file__).resolve().parents[4]
