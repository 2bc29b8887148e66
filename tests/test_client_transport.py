"""The HTTP client the reference client picks for a base URL: the SDK's default for Stripe, one
kept-alive connection that ignores the environment's proxies for a fake on this machine."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import stripe

from client import RelinkClient, http_client_for, is_loopback
from client.transport import LoopbackClient
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


def test_a_loopback_client_keeps_one_connection_and_closes_it_from_another_thread(
    server: ServerThread, key: str
) -> None:
    client = http_client_for(server.url)
    assert isinstance(client, LoopbackClient)
    headers = {"Authorization": f"Bearer {key}"}
    socks = []

    def use() -> None:
        for _ in range(3):
            body, status, rheaders = client.request("get", f"{server.url}/v1/customers", headers)
            assert status == 200 and json.loads(body)["object"] == "list"
            assert rheaders["Request-Id"] == rheaders["request-id"]  # as the SDK reads it
            socks.append(client._conn.sock if client._conn else None)

    used = threading.Thread(target=use)
    used.start()
    used.join()
    assert socks[0] is not None and socks == [socks[0]] * 3  # one connection, kept
    # A binary answer (the SDK's streaming calls, file downloads) on the same connection.
    stream, status, _ = client.request_stream("get", f"{server.url}/v1/customers", headers)
    assert status == 200 and json.loads(stream.read())["object"] == "list"
    assert client._conn is not None and client._conn.sock is socks[0]
    client.close()
    assert client._conn is None and socks[0].fileno() == -1


def test_a_loopback_client_replaces_a_connection_the_server_closed() -> None:
    """A server may close a kept-alive connection between two requests (an idle timeout): the
    next request goes on a new connection instead of failing."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def serve() -> None:
        for _ in range(3):
            conn, _ = listener.accept()
            accepted.append(conn)
            conn.recv(65536)
            conn.sendall(answer)  # kept alive, as far as the client can tell...
            conn.close()  # ...then closed before the next request

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = LoopbackClient(f"http://127.0.0.1:{listener.getsockname()[1]}")
    try:
        for _ in range(3):
            time.sleep(0.05)  # the close reaches the client first
            body, status, _ = client.request("get", "http://127.0.0.1/v1/x", {})
            assert (status, body) == (200, "{}")
        assert len(accepted) == 3
    finally:
        client.close()
        listener.close()
        thread.join(timeout=5)
