"""Shared fixtures: one strict app per session, reached in-process and over a real socket.

Every HTTP test that takes `api` runs twice: through the in-process transport and against the
served fake (`http_server.ServerThread`) on a free loopback port. Each test gets its own tenant
key, so tests never see each other's objects. Strict mode is on: any response that violates the
recorded Stripe spec fails the test that caused it.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fake_stripe import create_app
from fake_stripe.http_server import ServerThread
from fake_stripe.inprocess import client as inprocess_client

_keys = itertools.count(1)


@pytest.fixture(scope="session")
def app() -> Iterator[Any]:
    app = create_app(seed=424242, strict=True)
    yield app
    app.fake.close()


@pytest.fixture(scope="session")
def server(app: Any) -> Iterator[ServerThread]:
    s = ServerThread(app)
    yield s
    s.stop()


@pytest.fixture
def key(request: pytest.FixtureRequest) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    return f"sk_test_{worker}{next(_keys)}x{abs(hash(request.node.nodeid)) % 10**8}"


@pytest.fixture(params=["inprocess", "server"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def base_client(mode: str, app: Any, request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    if mode == "inprocess":
        c = inprocess_client(app)
    else:
        srv = request.getfixturevalue("server")
        c = httpx.Client(base_url=srv.url)
    with c:
        yield c


@pytest.fixture
def api(base_client: httpx.Client, key: str) -> httpx.Client:
    """A client for the test's own tenant (Bearer auth with its key)."""
    base_client.headers["Authorization"] = f"Bearer {key}"
    return base_client


@pytest.fixture(autouse=True)
def _no_spec_violations(request: pytest.FixtureRequest) -> Iterator[None]:
    if "app" not in request.fixturenames and "api" not in request.fixturenames:
        yield
        return
    fake = request.getfixturevalue("app").fake
    start = len(fake.violations)
    yield
    new = fake.violations[start:]
    assert not new, "responses violate the recorded Stripe spec:\n" + "\n".join(new)
