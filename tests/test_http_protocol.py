"""The HTTP/1.1 protocol `fake-stripe serve` runs (`fake_stripe.http_server`): its deadlines,
which move rather than being made again per request, and what it does with an app that
misbehaves. `tests/test_http_wire.py` holds the wire behaviour any server must keep."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from fake_stripe import http_server
from fake_stripe.http_server import ServerThread

GET = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A small app: `/` answers "hello"; `/bad-header` sends a header value with a line break;
    `/half` starts a response and never ends it; `/chunks` answers in three chunks without a
    length; `/body` echoes the request's body; `/headers` answers the request's header names,
    once the body is read."""
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/bad-header":
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"1\r\nx-b: 2")]}
        )
        await send({"type": "http.response.body", "body": b"no"})
        return
    if path == "/half":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        return
    if path == "/chunks":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one", b"two"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b"three"})
        return
    if path == "/headers":
        await received(receive)
        body = b",".join(name for name, _ in scope["headers"])
    else:
        body = await received(receive) if path == "/body" else b"hello"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def received(receive: Any) -> bytes:
    """The request's body, message by message through `receive`."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`hello` served with a 0.5 s keep-alive and a 0.5 s head deadline."""
    monkeypatch.setattr(http_server, "KEEP_ALIVE", 0.5)
    monkeypatch.setattr(http_server, "HEADER_TIMEOUT", 0.5)
    with ServerThread(hello) as url:
        yield url


_LEFT: dict[int, bytes] = {}  # bytes read past a response, by socket


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    _LEFT.pop(sock.fileno(), None)
    return sock


def read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """One response with a Content-Length: its head and body; (b"", b"") once closed. What
    arrived after it is kept for the next call."""
    data = _LEFT.pop(sock.fileno(), b"")
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b"", b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, f"closed mid-body: {len(rest)} of {length} bytes"
        rest += chunk
    _LEFT[sock.fileno()] = rest[length:]
    return head, rest[:length]


def closed_after(sock: socket.socket, limit: float = 5) -> float:
    """Seconds until the server closes the connection."""
    started = time.monotonic()
    sock.settimeout(limit)
    assert sock.recv(1) == b""
    return time.monotonic() - started


def test_a_connection_in_use_outlives_its_keep_alive_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The idle deadline runs from the last response, not from the first one: 2 s of requests
    # 0.2 s apart on a connection whose keep-alive timeout is 1 s.
    monkeypatch.setattr(http_server, "KEEP_ALIVE", 1.0)
    with ServerThread(hello) as url, connect(url) as sock:
        for _ in range(10):
            time.sleep(0.2)
            sock.sendall(GET)
            assert read_response(sock)[1] == b"hello"
        assert 0.8 < closed_after(sock) < 4


def test_the_head_deadline_applies_after_a_keep_alive_response(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http_server, "KEEP_ALIVE", 30)
    monkeypatch.setattr(http_server, "HEADER_TIMEOUT", 0.5)
    with ServerThread(hello) as url, connect(url) as sock:
        sock.sendall(GET)
        assert read_response(sock)[1] == b"hello"
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 1")  # and nothing more
        assert closed_after(sock) < 3


def test_a_partial_head_behind_a_request_gets_the_head_deadline(quick: str) -> None:
    with connect(quick) as sock:
        sock.sendall(GET + b"GET / HTTP/1.1\r\nHo")
        assert read_response(sock)[1] == b"hello"
        assert closed_after(sock) < 3


def test_a_header_value_with_a_line_break_is_never_sent(quick: str) -> None:
    with connect(quick) as sock:
        sock.sendall(b"GET /bad-header HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head, body = read_response(sock)
        assert head.startswith(b"HTTP/1.1 500 ")
        assert b"x-b" not in head
        assert body == b"Internal Server Error"


def test_a_response_never_completed_closes_the_connection(quick: str) -> None:
    with connect(quick) as sock:
        sock.sendall(b"GET /half HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        assert data.startswith(b"HTTP/1.1 200 ")
        assert b"transfer-encoding: chunked" in data
        assert data.endswith(b"4\r\npart\r\n")  # no last chunk: the client knows it was cut


def test_a_response_without_a_length_is_chunked(quick: str) -> None:
    with connect(quick) as sock:
        sock.sendall(b"GET /chunks HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + GET)
        data = b""
        while not data.endswith(b"hello"):
            data += sock.recv(65536)
    first, _, second = data.partition(b"0\r\n\r\n")
    assert first.split(b"\r\n\r\n", 1)[1] == b"3\r\none\r\n3\r\ntwo\r\n5\r\nthree\r\n"
    assert second.startswith(b"HTTP/1.1 200 ")


def test_a_pipelined_body_over_the_read_limit_arrives_whole(quick: str) -> None:
    # The second request's body is more than the connection buffers while the first is
    # answered: reading pauses, then resumes, and nothing is lost or reordered.
    big = b"x" * (3 * http_server.BODY_HIGH_WATER + 17)
    second = b"POST /body HTTP/1.1\r\nHost: 1\r\nContent-Length: %d\r\n\r\n%s" % (len(big), big)
    with connect(quick) as sock:
        sock.sendall(GET + second + GET)
        assert read_response(sock)[1] == b"hello"
        assert read_response(sock)[1] == big
        assert read_response(sock)[1] == b"hello"


def test_expect_100_continue_is_answered_only_when_the_body_is_read(quick: str) -> None:
    with connect(quick) as sock:
        # `/` never reads its body: no interim response, the body that follows is dropped.
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: 1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
        )
        head, body = read_response(sock)
        assert head.startswith(b"HTTP/1.1 200 ") and body == b"hello"
        sock.sendall(b"abc" + GET)
        assert read_response(sock)[1] == b"hello"
        sock.sendall(
            b"POST /body HTTP/1.1\r\nHost: 1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
        )
        assert sock.recv(25) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"xyz")
        assert read_response(sock)[1] == b"xyz"


def test_a_stopping_server_closes_its_idle_connections_at_once() -> None:
    started = time.monotonic()
    server = ServerThread(hello)
    with connect(server.url) as sock:
        sock.sendall(GET)
        assert read_response(sock)[1] == b"hello"
        server.stop()
        assert closed_after(sock) < 3
    assert time.monotonic() - started < 5


def test_a_connection_holds_a_bounded_number_of_pipelined_requests(quick: str) -> None:
    # One write of 200 requests: the one answered first and MAX_PIPELINED waiting behind it
    # are answered, then the connection closes; the rest were never held.
    with connect(quick) as sock:
        sock.sendall(GET * 200)
        answered = 0
        while read_response(sock)[1] == b"hello":
            answered += 1
    assert answered == http_server.MAX_PIPELINED + 1


def test_the_h11_fallback_serves_with_the_same_head_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    # Where httptools is missing, `serve` runs uvicorn's h11 protocol with the same deadline and
    # size limit on the request head.
    h11 = http_server.http_protocol("h11")
    monkeypatch.setattr(http_server, "http_protocol", lambda kind="auto": h11)
    monkeypatch.setattr(http_server, "HEADER_TIMEOUT", 0.5)
    with ServerThread(hello) as url:
        with connect(url) as sock:
            sock.sendall(GET)
            head, body = read_response(sock)
            assert head.startswith(b"HTTP/1.1 200 ") and body == b"hello"
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 1")  # and nothing more
            assert closed_after(sock) < 3
        with connect(url) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 1\r\nX-Big: " + b"x" * 70_000 + b"\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 400 ")


async def at_once(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Takes the body with `whole_body` when it can (else through `receive`) and answers with
    `respond` (else two `send`s), as `/v1` does on this server: "whole:" or "received:", then
    the body."""
    if scope["type"] != "http":
        return
    cycle = receive.__self__
    assert send.__self__ is cycle  # both the one request's
    body = cycle.whole_body()
    out = b"whole:" + body if body is not None else b"received:" + await received(receive)
    if not cycle.respond(200, b"content-length: %d\r\n" % len(out), out):
        headers = [(b"content-length", b"%d" % len(out))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": out})


def post(path: bytes, body: bytes, *extra: bytes) -> bytes:
    head = b"POST %s HTTP/1.1\r\nHost: 1\r\nContent-Length: %d\r\n" % (path, len(body))
    return head + b"".join(h + b"\r\n" for h in extra) + b"\r\n"


def test_a_body_that_came_with_its_head_is_taken_whole_and_answered_in_one_step() -> None:
    with ServerThread(at_once) as url, connect(url) as sock:
        # Pipelined in one write: each body is whole when its request is answered.
        sock.sendall(post(b"/", b"abc") + b"abc" + post(b"/", b"") + GET)
        assert read_response(sock)[1] == b"whole:abc"
        assert read_response(sock)[1] == b"whole:"
        assert read_response(sock)[1] == b"whole:"  # a GET: no body, nothing to wait for
        # The body after the head, later: it must be waited for, through `receive`.
        sock.sendall(post(b"/", b"late"))
        time.sleep(0.3)
        sock.sendall(b"late")
        head, body = read_response(sock)
        assert head.startswith(b"HTTP/1.1 200 ") and body == b"received:late"
        # A client that waits for `100 Continue` gets it before its body is read.
        sock.sendall(post(b"/", b"xyz", b"Expect: 100-continue"))
        assert sock.recv(25) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"xyz")
        assert read_response(sock)[1] == b"received:xyz"
        # HEAD: the head as for GET, no body; the connection goes on.
        sock.sendall(b"HEAD / HTTP/1.1\r\nHost: 1\r\n\r\n" + GET)
        data = b""
        while not data.endswith(b"whole:"):
            data += sock.recv(65536)
        first, _, second = data.partition(b"\r\n\r\n")
        assert first.startswith(b"HTTP/1.1 200 ") and b"content-length: 6" in first
        assert second.startswith(b"HTTP/1.1 200 ")


def test_a_response_that_would_wait_for_the_transport_is_left_to_send() -> None:
    class Conn:
        write_paused = True

    cycle = http_server._Cycle(Conn(), {"method": "GET"}, True, False)
    assert cycle.respond(200, b"content-length: 2\r\n", b"ok") is False
    assert not cycle.started and cycle.head is None  # nothing sent: `send` waits, then sends
    cycle.more_body = False
    cycle.expect_100 = True
    assert cycle.whole_body() is None  # `100 Continue` first: `receive` sends it


CHUNKED = b"POST %s HTTP/1.1\r\nHost: 1\r\nTransfer-Encoding: chunked\r\n"


def test_a_chunked_bodys_trailer_is_not_taken_as_a_request_header(quick: str) -> None:
    # RFC 9110, 6.5.1: a trailer field is not merged into the header section (an
    # `Authorization` or a `Host` sent there is not the request's).
    with connect(quick) as sock:
        sock.sendall(CHUNKED % b"/headers" + b"\r\n3\r\nabc\r\n0\r\nAuthorization: x\r\n\r\n")
        head, body = read_response(sock)
        assert head.startswith(b"HTTP/1.1 200 ") and body == b"host,transfer-encoding"
        sock.sendall(CHUNKED % b"/body" + b"\r\n3\r\nabc\r\n0\r\nX-Late: 1\r\n\r\n" + GET)
        assert read_response(sock)[1] == b"abc"
        assert read_response(sock)[1] == b"hello"  # the connection goes on


def test_an_upgrade_request_is_answered_as_a_plain_one_with_its_body(quick: str) -> None:
    # The parser leaves the bytes after an `Upgrade` head to the other protocol; none is
    # served, so they are the body, by its Content-Length, and the connection closes after.
    upgrade = (b"Connection: Upgrade, HTTP2-Settings", b"Upgrade: h2c", b"HTTP2-Settings: AAM")
    with connect(quick) as sock:
        sock.sendall(post(b"/body", b"hello", *upgrade) + b"hel")
        time.sleep(0.2)
        sock.sendall(b"lo" + GET)  # the body's end, then bytes never read
        head, body = read_response(sock)
        assert head.startswith(b"HTTP/1.1 200 ") and body == b"hello"
        assert b"connection: close" in head
        assert closed_after(sock) < 2
    with connect(quick) as sock:  # without a body, nothing to wait for
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 1\r\n" + b"\r\n".join(upgrade) + b"\r\n\r\n")
        assert read_response(sock)[1] == b"hello"
    with connect(quick) as sock:  # a chunked body the parser would not read: refused
        sock.sendall(CHUNKED % b"/body" + b"\r\n".join(upgrade) + b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 400 ")
        assert closed_after(sock) < 2


def test_a_body_framed_by_a_coding_other_than_chunked_is_refused_at_once(quick: str) -> None:
    # RFC 9112, 6.1: its end cannot be known; a 400 and the connection closes, rather than
    # waiting for the body's deadline.
    with connect(quick) as sock:
        sock.sendall(b"POST /body HTTP/1.1\r\nHost: 1\r\nTransfer-Encoding: gzip\r\n\r\nabc")
        assert sock.recv(65536).startswith(b"HTTP/1.1 400 ")
        assert closed_after(sock) < 2
    with connect(quick) as sock:  # chunked, then another coding: the same
        sock.sendall(CHUNKED % b"/body" + b"Transfer-Encoding: gzip\r\n\r\n3\r\nabc\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 400 ")


def test_an_http_1_0_client_gets_no_100_continue(quick: str) -> None:
    # RFC 9110, 10.1.1: a server ignores `Expect: 100-continue` from an HTTP/1.0 client.
    with connect(quick) as sock:
        sock.sendall(
            b"POST /body HTTP/1.0\r\nHost: 1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
        )
        time.sleep(0.2)
        sock.sendall(b"xyz")
        head, body = read_response(sock)
        assert head.startswith(b"HTTP/1.1 200 ") and body == b"xyz"


def test_a_client_that_half_closes_after_its_requests_gets_the_answers(quick: str) -> None:
    with connect(quick) as sock:
        sock.sendall(post(b"/body", b"abc") + b"abc" + GET)
        sock.shutdown(socket.SHUT_WR)
        assert read_response(sock)[1] == b"abc"
        assert read_response(sock)[1] == b"hello"
        assert closed_after(sock) < 2
    with connect(quick) as sock:  # a body that can no longer end: closed, nothing to answer
        sock.sendall(post(b"/body", b"abcdef") + b"abc")
        sock.shutdown(socket.SHUT_WR)
        assert closed_after(sock) < 2


def test_the_connection_and_the_server_state_keep_under_30_attributes() -> None:
    """From 30 instance attributes CPython 3.11 keeps an instance's attributes apart from its
    class's shared layout, and stops specializing a method called through it (`self.start()`,
    `app.fake.request_id()`): a served request cost some 1.6% more with the protocol at 30
    (docs/benchmarks.md, "Fixes on the served path")."""
    import asyncio

    from fake_stripe import create_app

    class Transport(asyncio.Transport):
        def get_extra_info(self, name: str, default: Any = None) -> Any:
            return ("127.0.0.1", 1) if name in ("sockname", "peername") else default

    app = create_app(seed=1)
    loop = asyncio.new_event_loop()
    try:
        settings, state = http_server._Settings(app, 5.0), http_server._State()
        protocol: Any = http_server.http_protocol()(settings, state, {}, loop)  # type: ignore[call-arg]
        protocol.connection_made(Transport())
        assert len(vars(protocol)) < 30, sorted(vars(protocol))
        assert len(vars(app.fake)) < 30, sorted(vars(app.fake))
    finally:
        loop.close()
        app.fake.close()


def test_a_body_whose_chunks_go_wrong_is_refused_at_once(quick: str) -> None:
    # A chunk size that is no number, or a trailer past the head's limit: the body can never
    # end, so a 400 and the connection closes, rather than a wait for the body's deadline.
    for tail in (b"5\r\nabcde\r\nZZ\r\n", b"3\r\nabc\r\n0\r\nX-T: " + b"a" * 70_000 + b"\r\n\r\n"):
        with connect(quick) as sock:
            started = time.monotonic()
            sock.sendall(CHUNKED % b"/body" + b"\r\n" + tail)
            assert sock.recv(65536).startswith(b"HTTP/1.1 400 ")
            assert closed_after(sock) < 2
            assert time.monotonic() - started < 3


def test_pipelined_requests_before_bytes_that_are_no_http_are_answered_then_a_400(
    quick: str,
) -> None:
    with connect(quick) as sock:
        sock.sendall(post(b"/body", b"abc") + b"abc" + GET + GET + b"GARBAGE\r\n\r\n")
        assert read_response(sock)[1] == b"abc"
        assert read_response(sock)[1] == b"hello"
        assert read_response(sock)[1] == b"hello"
        rest = _LEFT.pop(sock.fileno(), b"") + sock.recv(65536)
        assert rest.startswith(b"HTTP/1.1 400 ")
        assert closed_after(sock) < 2
