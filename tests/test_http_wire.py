"""The HTTP/1.1 wire behaviour any server under the fake must keep, over real loopback sockets:
keep-alive, pipelining, chunked request bodies, `Expect: 100-continue`, HEAD, closing, bad
requests, response framing and headers, clients that leave or read slowly, the keep-alive
timeout and many connections at once. `tests/test_http_protocol.py` holds what is particular
to the fake's own protocol."""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from fake_stripe import create_app, http_server
from fake_stripe.http_server import ServerThread

from .test_hardening import raw_exchange

TIMEOUT = 5.0  # seconds, on every socket: no test can hang
KEY = "sk_test_wire"
EMAIL = b"email=a%40b.co"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    app = create_app(seed=1)
    with ServerThread(app) as served:
        yield served
    app.fake.close()


def tenant_key(name: str) -> str:
    """A key of the test's own tenant, for tests that look at what a tenant holds."""
    return f"{KEY}_{name}"


def request(
    method: str,
    path: str,
    body: bytes | None = None,
    key: str | None = KEY,
    headers: tuple[tuple[str, str], ...] = (),
    version: str = "HTTP/1.1",
) -> bytes:
    """A request's bytes: a form body gets its Content-Type and Content-Length."""
    lines = [f"{method} {path} {version}", "Host: 127.0.0.1"]
    if key is not None:
        lines.append(f"Authorization: Bearer {key}")
    if body is not None:
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + (body or b"")


def connect(url: str, rcvbuf: int | None = None) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: it sticks
    sock.connect((host, int(port)))
    return sock


@dataclass
class Response:
    status_line: bytes
    headers: list[tuple[bytes, bytes]]  # names lower-cased, in the order sent
    body: bytes
    raw: bytes  # the response's bytes as they came

    @property
    def status(self) -> int:
        return int(self.status_line.split(b" ")[1])

    def values(self, name: str) -> list[bytes]:
        return [v for n, v in self.headers if n == name.encode()]

    def header(self, name: str) -> bytes:
        (value,) = self.values(name)
        return value

    def json(self) -> Any:
        return json.loads(self.body)


class Reader:
    """Responses off one connection, in order, framed by Content-Length; bytes read past a
    response are kept for the next one."""

    def __init__(self, sock: socket.socket, piece: int = 65536, pause: float = 0.0) -> None:
        self.sock = sock
        self.piece = piece
        self.pause = pause
        self.buffer = b""

    def _more(self) -> bool:
        if self.pause:
            time.sleep(self.pause)
        chunk = self.sock.recv(self.piece)
        self.buffer += chunk
        return bool(chunk)

    def response(self, head_only: bool = False) -> Response | None:
        """The next response (`head_only` for one to a HEAD); None if the connection closed
        before its first byte."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._more():
                assert self.buffer == b"", f"closed mid-head: {self.buffer!r}"
                return None
        head, _, _ = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.split(b"\r\n")
        headers = []
        for line in lines:
            name, sep, value = line.partition(b":")
            assert sep and name == name.strip(), f"malformed header line {line!r}"
            headers.append((name.lower(), value.strip(b" \t")))
        start = len(head) + 4
        length = 0
        if not head_only and not status_line.split(b" ")[1].startswith(b"1"):
            (declared,) = [v for n, v in headers if n == b"content-length"]
            length = int(declared)
        while len(self.buffer) < start + length:
            assert self._more(), "closed mid-body"
        raw, self.buffer = self.buffer[: start + length], self.buffer[start + length :]
        return Response(status_line, headers, raw[start:], raw)

    def ask(self, req: bytes) -> Response:
        """Send a request and read its response."""
        self.sock.sendall(req)
        resp = self.response()
        assert resp is not None, f"closed instead of answering {req[:40]!r}"
        return resp

    def closed(self, within: float = TIMEOUT) -> bool:
        """Whether the server closes the connection within `within` seconds, with nothing
        more sent."""
        self.sock.settimeout(within)
        try:
            return self.buffer == b"" and not self._more()
        finally:
            self.sock.settimeout(TIMEOUT)


def exchange(sock: socket.socket, *requests: bytes) -> list[Response]:
    """Each request sent after the response to the one before."""
    reader = Reader(sock)
    return [reader.ask(req) for req in requests]


def listed_ids(resp: Response) -> list[str]:
    assert resp.status == 200, resp.raw
    return [c["id"] for c in resp.json()["data"]]


def test_keep_alive_answers_requests_one_after_another_on_one_connection(url: str) -> None:
    key = tenant_key("keepalive")
    with connect(url) as sock:
        health, created, listed = exchange(
            sock,
            request("GET", "/_fake/health", key=None),
            request("POST", "/v1/customers", EMAIL, key=key),
            request("GET", "/v1/customers", key=key),
        )
    assert health.status_line == b"HTTP/1.1 200 OK"
    assert health.json()["status"] == "ok"
    assert created.status_line == b"HTTP/1.1 200 OK"
    cus = created.json()
    assert cus["id"].startswith("cus_") and cus["email"] == "a@b.co"
    assert listed_ids(listed) == [cus["id"]]


def test_pipelined_requests_are_answered_in_order_each_after_the_one_before(url: str) -> None:
    key = tenant_key("pipeline")
    with connect(url) as sock:
        sock.sendall(
            request("GET", "/v1/customers", key=key)
            + request("POST", "/v1/customers", EMAIL, key=key)
            + request("GET", "/v1/customers", key=key)
        )
        reader = Reader(sock)
        before, created, after = (reader.response() for _ in range(3))
        assert before is not None and created is not None and after is not None
        sock.settimeout(0.2)
        with pytest.raises(TimeoutError):  # nothing more, and the connection stays open
            reader.response()
    assert listed_ids(before) == []
    assert created.status == 200 and created.json()["id"].startswith("cus_")
    # Run in order: the list after the POST holds its customer.
    assert listed_ids(after) == [created.json()["id"]]


def test_a_chunked_request_body_is_read_whole(url: str) -> None:
    key = tenant_key("chunked")
    head = (
        "POST /v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {key}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunks = [b"6\r\nemail=\r\n", b"4\r\na%40\r\n", b"1\r\nb\r\n", b"3\r\n.co\r\n", b"0\r\n\r\n"]
    with connect(url) as sock:
        sock.sendall(head)
        for chunk in chunks:  # each in a write of its own
            time.sleep(0.01)
            sock.sendall(chunk)
        reader = Reader(sock)
        created = reader.response()
        assert created is not None and created.status == 200, created
        listed = reader.ask(request("GET", "/v1/customers", key=key))
    cus = created.json()
    assert cus["id"].startswith("cus_") and cus["email"] == "a@b.co"
    assert listed_ids(listed) == [cus["id"]]


def test_expect_100_continue_gets_the_interim_response_before_the_body_is_sent(url: str) -> None:
    head = request("POST", "/v1/customers", EMAIL, headers=(("Expect", "100-continue"),))
    head = head.removesuffix(EMAIL)
    with connect(url) as sock:
        sock.sendall(head)
        reader = Reader(sock)
        interim = reader.response()
        assert interim is not None
        assert interim.raw == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(EMAIL)
        final = reader.response()
    assert final is not None
    assert final.status_line == b"HTTP/1.1 200 OK"
    assert final.json()["email"] == "a@b.co"


def test_a_head_response_has_headers_and_no_body(url: str) -> None:
    with connect(url) as sock:
        reader = Reader(sock)
        sock.sendall(request("HEAD", "/_fake/health", key=None))
        head = reader.response(head_only=True)
        assert head is not None
        assert head.status_line == b"HTTP/1.1 200 OK"
        assert int(head.header("content-length")) > 0  # the length a GET's body would have
        assert head.header("content-type") == b"application/json"
        assert head.body == b""
        # A body sent after the head would be read as the start of the next response.
        sock.sendall(request("GET", "/_fake/health", key=None))
        get = reader.response()
    assert get is not None
    assert get.status_line == b"HTTP/1.1 200 OK"
    assert get.json()["status"] == "ok"


def test_connection_close_is_answered_then_the_connection_closes(url: str) -> None:
    with connect(url) as sock:
        sock.sendall(request("GET", "/v1/customers", headers=(("Connection", "close"),)))
        reader = Reader(sock)
        resp = reader.response()
        assert resp is not None and resp.status == 200
        assert resp.header("connection").lower() == b"close"
        assert reader.closed(within=2)  # now, not at the keep-alive timeout


def test_an_http_1_0_request_without_keep_alive_is_answered_then_closed(url: str) -> None:
    with connect(url) as sock:
        sock.sendall(request("GET", "/_fake/health", key=None, version="HTTP/1.0"))
        reader = Reader(sock)
        resp = reader.response()
        assert resp is not None
        assert resp.status_line == b"HTTP/1.1 200 OK"  # answered as HTTP/1.1
        assert resp.header("connection").lower() == b"close"
        assert resp.json()["status"] == "ok"
        assert reader.closed(within=2)  # now, not at the keep-alive timeout


def test_a_garbage_request_line_is_a_400_and_the_connection_closes(url: str) -> None:
    with connect(url) as sock:
        sock.sendall(b"\x00\x01 nonsense\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):  # to the close: the body may be framed by it
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.lower().split(b"\r\n")
    assert status_line == b"http/1.1 400 bad request"
    assert b"connection: close" in lines
    lengths = [line for line in lines if line.startswith(b"content-length:")]
    assert lengths in ([], [b"content-length: %d" % len(body)])
    (health,) = raw_exchange(url, request("GET", "/_fake/health", key=None))
    assert health.startswith(b"HTTP/1.1 200 OK\r\n")


@pytest.mark.parametrize(
    "req",
    [
        request("GET", "/v1/customers"),
        request("POST", "/v1/customers", EMAIL),
        request("GET", "/v1/customers/cus_missing"),
        request("GET", "/v1/customers", key=None),
        request("GET", "/_fake/health", key=None),
    ],
    ids=["list", "create", "404", "401", "health"],
)
def test_a_response_is_framed_by_one_content_length_with_its_type_and_date(
    url: str, req: bytes
) -> None:
    with connect(url) as sock:
        (resp,) = exchange(sock, req)
    assert resp.values("content-length") == [str(len(resp.body)).encode()]
    assert resp.values("transfer-encoding") == []
    assert resp.values("content-type") == [b"application/json"]
    json.loads(resp.body)
    (date,) = resp.values("date")
    assert abs(parsedate_to_datetime(date.decode()).timestamp() - time.time()) < 60
    assert date.endswith(b" GMT")


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_a_client_leaving_mid_body_breaks_nothing(url: str, reset: bool) -> None:
    key = tenant_key(f"leaver{int(reset)}")
    head = request("POST", "/v1/customers", b"x" * 1000, key=key).removesuffix(b"x" * 1000)
    sock = connect(url)
    sock.sendall(head + EMAIL[:10])
    if reset:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    (listed,) = raw_exchange(url, request("GET", "/v1/customers", key=key))
    assert listed.startswith(b"HTTP/1.1 200 OK\r\n"), listed
    assert listed.endswith(b'{"object":"list","data":[],"has_more":false,"url":"/v1/customers"}')


def test_large_responses_read_slowly_arrive_whole(url: str) -> None:
    # A list of 60 customers with long metadata (about 600 KB), asked for ten times in one
    # write and read in small pieces: 6 MB in all, more than the server's socket buffer takes
    # (Linux grows it to 4 MB), so the server's writes back up and wait for the reader.
    key = tenant_key("large")
    metadata = b"&".join(b"metadata[k%02d]=%s" % (i, b"v" * 480) for i in range(20))
    with connect(url) as sock:
        created = exchange(
            sock, *(request("POST", "/v1/customers", metadata, key=key) for _ in range(60))
        )
    assert all(resp.status == 200 for resp in created)
    ids = [resp.json()["id"] for resp in reversed(created)]
    with connect(url, rcvbuf=16384) as sock:
        sock.sendall(request("GET", "/v1/customers?limit=100", key=key) * 10)
        time.sleep(0.1)  # the server writes while nothing is read
        reader = Reader(sock, piece=16384, pause=0.001)
        bodies = set()
        for _ in range(10):
            resp = reader.response()
            assert resp is not None and resp.status == 200
            assert len(resp.body) > 600_000
            listed = resp.json()
            assert listed["has_more"] is False
            assert [c["id"] for c in listed["data"]] == ids
            assert all(c["metadata"]["k19"] == "v" * 480 for c in listed["data"])
            bodies.add(resp.body)
        assert len(bodies) == 1
        # The connection serves on after them.
        health = reader.ask(request("GET", "/_fake/health", key=None))
        assert health.status == 200


def test_a_percent_escaped_path_is_decoded_before_routing(url: str) -> None:
    with connect(url) as sock:
        (resp,) = exchange(sock, request("GET", "/v1/customers/cus%5Fabc"))
    assert resp.status_line == b"HTTP/1.1 404 Not Found"
    assert resp.header("request-id").startswith(b"req_")
    error = resp.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "resource_missing"
    assert error["param"] == "id"
    assert error["message"] == "No such customer: 'cus_abc'"


def test_an_idle_keep_alive_connection_is_closed_after_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http_server, "KEEP_ALIVE", 0.5)  # read when the server is configured
    app = create_app(seed=1)
    try:
        with ServerThread(app) as served, connect(served) as sock:
            (resp,) = exchange(sock, request("GET", "/_fake/health", key=None))
            assert resp.status == 200
            started = time.monotonic()
            assert Reader(sock).closed()
            idle = time.monotonic() - started
    finally:
        app.fake.close()
    assert 0.3 < idle < 3


def test_many_connections_at_once_are_all_answered(url: str) -> None:
    socks = [connect(url) for _ in range(50)]
    try:
        for n, sock in enumerate(socks):
            sock.sendall(request("GET", f"/v1/customers/cus_conn{n}"))
        for n, sock in enumerate(socks):
            resp = Reader(sock).response()
            assert resp is not None and resp.status == 404
            # Each connection gets the answer to its own request.
            assert resp.json()["error"]["message"] == f"No such customer: 'cus_conn{n}'"
    finally:
        for sock in socks:
            sock.close()


def test_an_idempotency_key_with_spaces_and_tabs_comes_back_intact(url: str) -> None:
    key = tenant_key("idem")
    idem = "a key\twith  spaces\tand tabs !#$%&'*+.^_`|~\"(),/:;<=>?@[]{}"
    req = request("POST", "/v1/customers", EMAIL, key=key, headers=(("Idempotency-Key", idem),))
    with connect(url) as sock:
        first, replay = exchange(sock, req, req)
    for resp in (first, replay):
        assert resp.status == 200, resp.raw
        assert resp.header("idempotency-key") == idem.encode()
        head = resp.raw[: resp.raw.index(b"\r\n\r\n")]
        assert b"\r" not in head.replace(b"\r\n", b"") and b"\n" not in head.replace(b"\r\n", b"")
    assert replay.header("idempotent-replayed") == b"true"
    assert replay.json()["id"] == first.json()["id"]
