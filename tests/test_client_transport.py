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
            socks.append(client._sock)

    used = threading.Thread(target=use)
    used.start()
    used.join()
    assert socks[0] is not None and socks == [socks[0]] * 3  # one connection, kept
    # A binary answer (the SDK's streaming calls, file downloads) on the same connection.
    stream, status, _ = client.request_stream("get", f"{server.url}/v1/customers", headers)
    assert status == 200 and json.loads(stream.read())["object"] == "list"
    assert client._sock is socks[0]
    client.close()
    assert client._sock is None and socks[0].fileno() == -1


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


def _canned(answer: bytes) -> tuple[str, list[bytes], threading.Thread, socket.socket]:
    """A server on a loopback port that reads one request and sends `answer`, then closes."""
    listener = socket.create_server(("127.0.0.1", 0))
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            got.append(data)
            conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", got, thread, listener


@pytest.mark.parametrize(
    ("answer", "body"),
    [
        (b'HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{"a":1}', '{"a":1}'),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'3;ext=1\r\n{"a\r\n4\r\n":1}\r\n0\r\nX-Trailer: t\r\n\r\n',
            '{"a":1}',
        ),
        (b'HTTP/1.0 200 OK\r\n\r\n{"to":"the end"}', '{"to":"the end"}'),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}", "{}"),
        (b"HTTP/1.1 204 No Content\r\n\r\n", ""),
    ],
)
def test_a_loopback_client_reads_each_shape_of_answer(answer: bytes, body: str) -> None:
    url, got, thread, listener = _canned(answer)
    client = LoopbackClient(url)
    try:
        text, status, headers = client.request(
            "post", f"{url}/v1/x?a=1", {"Authorization": "Bearer k", "X-Two": "b"}, "k=v"
        )
        assert text == body and status in (200, 201, 204)
        thread.join(5)
        request = got[0].decode()
        assert request.startswith("POST /v1/x?a=1 HTTP/1.1\r\n")
        assert (
            "\r\nAuthorization: Bearer k\r\n" in request and "\r\nContent-Length: 3\r\n" in request
        )
    finally:
        client.close()
        listener.close()


def test_a_loopback_client_joins_repeated_headers_and_reads_them_in_any_case() -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\nVary: A\r\nvary: B\r\nRequest-Id: req_1\r\nContent-Length: 0\r\n\r\n"
    )
    url, _got, thread, listener = _canned(answer)
    client = LoopbackClient(url)
    try:
        _text, _status, headers = client.request("get", f"{url}/v1/x", {})
        assert headers["vary"] == "A, B" and headers["Request-Id"] == "req_1"
        assert "REQUEST-ID" in headers and headers.get("request-id") == "req_1"
    finally:
        client.close()
        listener.close()
        thread.join(5)


@pytest.mark.parametrize(
    "answer",
    [
        b"SPDY/3 200 OK\r\n\r\n",
        b"HTTP/1.1 2xx OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}",  # closed before the body ends
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"X: " + b"y" * 70_000,  # a head that never ends
    ],
)
def test_a_broken_answer_is_a_connection_error_the_sdk_retries(answer: bytes) -> None:
    url, _got, thread, listener = _canned(answer)
    client = LoopbackClient(url)
    try:
        with pytest.raises(stripe.APIConnectionError) as failed:
            client.request("get", f"{url}/v1/x", {})
        assert failed.value.should_retry
        assert client._sock is None  # not used again
    finally:
        client.close()
        listener.close()
        thread.join(5)


@pytest.mark.parametrize(
    "headers", [{"X-Evil": "a\r\nInjected: 1"}, {"X-Evil\r\nInjected": "1"}, {"": "x"}]
)
def test_a_header_that_would_split_the_request_is_refused(headers: dict[str, str]) -> None:
    client = LoopbackClient("http://127.0.0.1:9")
    with pytest.raises(ValueError, match="invalid header"):
        client.request("get", "http://127.0.0.1:9/v1/x", headers)
