"""The GA stripe-node SDK walks 20 resources outside Financial Connections against the fake (over
its socket: the SDK runs in its own process): create, retrieve, update, list and, where Stripe's
API has it, delete. The published npm package ships no examples of its own, so the walk is
ours (`tests/node/walk.js`).

Needs `node` and `npm`; the SDK is installed from the npm registry into a temporary directory
outside the repository. Without them the test skips, unless `FAKE_STRIPE_REQUIRE_NODE=1`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fake_stripe.http_server import ServerThread

STRIPE_NODE = "23.2.0"
WALK = Path(__file__).resolve().parent / "node" / "walk.js"


def _unavailable(reason: str) -> None:
    if os.environ.get("FAKE_STRIPE_REQUIRE_NODE") == "1":
        pytest.fail(reason + " (FAKE_STRIPE_REQUIRE_NODE=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def stripe_node(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        _unavailable("no node/npm on PATH")
    where = tmp_path_factory.mktemp("stripe-node")
    installed = subprocess.run(
        ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(where),
         f"stripe@{STRIPE_NODE}"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if installed.returncode != 0:
        _unavailable(f"npm install stripe@{STRIPE_NODE} failed: {installed.stderr[-300:]}")
    return where / "node_modules" / "stripe"


def test_stripe_node_walks_twenty_resources(
    stripe_node: Path, server: ServerThread, app: Any
) -> None:
    env = {**os.environ, "STRIPE_NODE": str(stripe_node), "FAKE_STRIPE_URL": server.url}
    ran = subprocess.run(
        ["node", str(WALK)], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert ran.returncode == 0, ran.stderr
    results = [json.loads(line) for line in ran.stdout.splitlines() if line.strip()]
    assert len(results) == 20, ran.stdout
    failed = [r for r in results if r["error"] is not None]
    assert not failed, failed
    for result in results:
        assert result["steps"][:4] == ["create", "retrieve", "update", "list"], result
    deleted = [r["resource"] for r in results if "delete" in r["steps"]]
    assert len(deleted) == 8, deleted
