"""The HTTP client the reference client picks for a base URL: the SDK's default for Stripe, a
session that ignores the environment's proxies for a fake on this machine."""

from __future__ import annotations

import json
import threading

import pytest
import stripe

from client import RelinkClient, http_client_for, is_loopback
from fake_stripe.http_server import ServerThread


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:12111", True),
        ("http://127.9.9.9", True),
        ("http://localhost:8080/", True),
        ("http://[::1]:12111", True),
        ("https://api.stripe.com", False),
        ("http://10.0.0.1:12111", False),
        ("http://localhost.example.com", False),
        ("not a url", False),
    ],
)
def test_is_loopback(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


def test_stripe_itself_gets_the_sdks_default_http_client() -> None:
    client = http_client_for("https://api.stripe.com")
    try:
        assert type(client) is type(stripe.new_default_http_client())
    finally:
        client.close()  # type: ignore[no-untyped-call]


def test_a_fake_on_loopback_is_reached_past_a_proxy_set_in_the_environment(
    server: ServerThread, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy nothing listens on: a client that consulted it could not reach the fake.
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with RelinkClient.connect(server.url, key, max_network_retries=0) as c:
        body = json.loads(c.stripe.raw_request("get", "/v1/customers", limit=1).body)
    assert body["object"] == "list"


def test_a_loopback_client_closes_its_connections_from_another_thread(
    server: ServerThread, key: str
) -> None:
    client = http_client_for(server.url)
    used = threading.Thread(
        target=client.request,
        args=("get", f"{server.url}/v1/customers", {"Authorization": f"Bearer {key}"}),
    )
    used.start()
    used.join()
    session = client._own_session  # type: ignore[attr-defined]
    assert session.adapters["http://"].poolmanager.pools
    client.close()  # type: ignore[no-untyped-call]
    assert not session.adapters["http://"].poolmanager.pools
