"""Serving the app on a socket: binding, an HTTP/1.1 protocol with deadlines (the fake's own on
`httptools`; uvicorn's `h11` one where httptools is missing), the server that runs it (`Server`;
uvicorn's for `serve --workers`), and a server in a thread for tests and tools."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http
import logging
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, cast
from urllib.parse import unquote

from .core.headers import BAD_NAME, BAD_VALUE, FRAMING

# A request's line and headers must arrive within HEADER_TIMEOUT seconds of its first byte (or
# of the connection, for its first request) and fit in MAX_HEAD bytes. uvicorn bounds neither:
# its keep-alive timeout only covers the quiet time between requests, so a client that sends
# half a request line, or nothing at all, holds a connection forever. The body has its own
# deadline and limit (`fake_stripe.edge`).
HEADER_TIMEOUT = 10.0
MAX_HEAD = 64 * 1024
KEEP_ALIVE = 5


def http_protocol(kind: str = "auto") -> type[asyncio.Protocol]:
    """The HTTP/1.1 protocol: the fake's own on `httptools` when that is installed, else
    uvicorn's `h11` one; both with the head's deadline and size limit."""
    if kind in ("auto", "httptools"):
        try:
            return _httptools_protocol()
        except ImportError:
            if kind == "httptools":
                raise
    return _h11_protocol()


def _name(cls: type, name: str) -> None:
    """Give a lazily built protocol class a module-level name: `serve --workers` pickles its
    uvicorn config into spawned processes, which find the class again through `__getattr__`."""
    cls.__name__ = cls.__qualname__ = name
    cls.__module__ = __name__


def __getattr__(name: str) -> Any:
    if name == "BoundedHttpToolsProtocol":
        return _httptools_protocol()
    if name == "BoundedH11Protocol":
        return _h11_protocol()
    raise AttributeError(name)


class _HeadDeadline:
    """The deadline for one request head; closes the connection when it passes."""

    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    _head_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(HEADER_TIMEOUT, self._head_timeout)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()


# The most requests a connection holds that wait for the one being answered (HTTP/1.1
# pipelining). Reading pauses as soon as one waits, but a single read may hold thousands of small
# requests: past this many, the connection answers those and closes.
MAX_PIPELINED = 32
# The most a request's body may hold in memory before the connection stops reading: a client
# sending faster than the app reads waits for it (the body's own size limit is `fake_stripe.edge`).
BODY_HIGH_WATER = 64 * 1024
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# Request headers the protocol itself reads (`on_header` notes them, `noted_cycle` reads them).
_NOTED = frozenset((b"expect", b"transfer-encoding", b"upgrade"))
_INVALID = b"Invalid HTTP request received."


@functools.cache
def _status_line(status: int) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}\r\n".encode("latin-1")


class _Cycle:
    """One request on a connection and its response: the ASGI `receive` and `send` the app
    is called with."""

    __slots__ = (
        "conn",
        "scope",
        "keep_alive",
        "expect_100",
        "chunks",
        "buffered",
        "more_body",
        "delivered",
        "waiter",
        "started",
        "complete",
        "disconnected",
        "head",
        "chunked",
        "left",
    )

    def __init__(self, conn: Any, scope: dict[str, Any], keep_alive: bool, expect_100: bool):
        self.conn = conn
        self.scope = scope
        self.keep_alive = keep_alive
        self.expect_100 = expect_100
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.more_body = True
        self.delivered = False  # the last of the body went to the app
        self.waiter: asyncio.Future[None] | None = None
        self.started = False
        self.complete = False
        self.disconnected = False
        self.head: bytes | None = None  # the response's head, sent with the first body bytes
        self.chunked = False
        self.left = 0  # bytes of the body still to send, by its Content-Length

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def receive(self) -> dict[str, Any]:
        conn = self.conn
        if self.expect_100:
            # The client waits for this before it sends the body (RFC 9110, 10.1.1).
            self.expect_100 = False
            if not conn.transport.is_closing():
                conn.transport.write(_CONTINUE)
        while (
            (self.delivered or (self.more_body and not self.chunks))
            and not self.disconnected
            and not self.complete
        ):
            if not self.delivered and conn.parsing is self:
                conn.resume_reading()
            self.waiter = conn.loop.create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        if self.disconnected or self.complete:
            return {"type": "http.disconnect"}
        chunks = self.chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self.buffered = 0
        if self.more_body:
            if conn.parsing is self:
                conn.resume_reading()
        else:
            self.delivered = True
        return {"type": "http.request", "body": body, "more_body": self.more_body}

    def whole_body(self) -> bytes | None:
        """The request's whole body, taken with no await when all of it came with the head (as
        a small request's does): what `receive` would give in one message. None, and nothing
        taken, when the app must wait for it (or a `100 Continue` is owed first)."""
        if (
            self.more_body
            or self.delivered
            or self.expect_100
            or self.disconnected
            or self.complete
        ):
            return None
        chunks = self.chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self.buffered = 0
        self.delivered = True
        return body

    async def send(self, message: dict[str, Any]) -> None:
        conn = self.conn
        if conn.write_paused and not self.disconnected:
            await conn.drain()
        if self.disconnected or self.complete:
            return
        kind = message["type"]
        if not self.started:
            if kind != "http.response.start":
                raise RuntimeError(f"expected 'http.response.start', got {kind!r}")
            self._start(message["status"], message.get("headers", ()))
            return
        if kind != "http.response.body":
            raise RuntimeError(f"expected 'http.response.body', got {kind!r}")
        self._body(message.get("body", b""), message.get("more_body", False))

    def respond(self, status: int, lines: bytes, body: bytes) -> bool:
        """A whole response sent with no await, as `send`ing its start and then its body in one
        message would send it. `lines`: its header lines, `content-length: <len(body)>` among
        them, each a lower-case token, `: `, a value with no control character and CRLF, none of
        `transfer-encoding` or `connection` (what `wire.JSONResponse.header_lines` makes).
        False, and nothing sent, when it would have to wait (the transport's buffer is full) or
        a response has started: the caller then sends it."""
        conn = self.conn
        if self.started or (conn.write_paused and not self.disconnected):
            return False
        if self.disconnected or self.complete:
            return True  # as `send`: nobody to send it to
        head = [_status_line(status), conn.default_lines(), lines]
        if not self.keep_alive:
            head.append(b"connection: close\r\n")
        head.append(b"\r\n")
        self.started = self.complete = True
        self.expect_100 = False
        if body and self.scope["method"] != "HEAD":
            conn.transport.writelines((b"".join(head), body))
        else:
            conn.transport.write(b"".join(head))
        self.wake()
        conn.response_complete(self)
        return True

    def _start(self, status: int, headers: Iterable[tuple[bytes, bytes]]) -> None:
        self.head = self.conn.response_head(self, status, headers)
        self.started = True
        self.expect_100 = False

    def _body(self, body: bytes, more: bool) -> None:
        conn = self.conn
        if self.scope["method"] == "HEAD":
            body = b""
            self.left = 0
        elif self.chunked:
            framed = [b"%x\r\n" % len(body), body, b"\r\n"] if body else []
            if not more:
                framed.append(b"0\r\n\r\n")
            body = b"".join(framed)
        else:
            self.left -= len(body)
            if self.left < 0:
                raise RuntimeError("response body longer than its Content-Length")
        head, self.head = self.head, None
        if head is not None:
            conn.transport.writelines((head, body)) if body else conn.transport.write(head)
        elif body:
            conn.transport.write(body)
        if not more:
            if self.left:
                raise RuntimeError("response body shorter than its Content-Length")
            self.complete = True
            self.wake()
            conn.response_complete(self)


@functools.cache
def _httptools_protocol() -> type[asyncio.Protocol]:
    import httptools

    logger = logging.getLogger("fake_stripe.http")

    class Protocol(asyncio.Protocol):
        """HTTP/1.1 on `httptools` (under `Server`, or uvicorn's server for `serve --workers`):
        keep-alive, pipelining (up to `MAX_PIPELINED` waiting requests), chunked bodies both
        ways, `Expect: 100-continue`, flow control both ways, the head's deadline and size limit
        (`HEADER_TIMEOUT`, `MAX_HEAD`) and the keep-alive timeout.

        uvicorn's own protocol writes a response's head and body in two writes (two system
        calls), re-checks every header with two regular expressions and creates and cancels
        a timer and an `asyncio.Event` per request: on a `GET` of one object that was a fifth
        of the server's time. Here a response goes out in one write; each connection has one
        timer, which moves its deadline rather than being made again."""

        # An `Upgrade` request is answered as a plain one (RFC 9110, 7.8: a server may ignore
        # the header), but the parser takes the bytes after its head as another protocol's:
        # its body is read by `upgrade_body`, by its Content-Length (bytes still to come).
        # A class default: CPython 3.11 specializes a method called through an instance
        # (`self.start(cycle)`) only while it has fewer than 30 attributes (28 here).
        upgrade_left: int | None = None
        # Bytes that are no HTTP came after requests still to answer: those are answered, then
        # a 400 is sent and the connection closes (a class default, as above).
        broken = False

        def __init__(
            self,
            config: Any,
            server_state: Any,
            app_state: dict[str, Any],
            _loop: asyncio.AbstractEventLoop | None = None,
        ) -> None:
            if not config.loaded:
                config.load()
            self.app = config.loaded_app
            self.state = server_state
            self.app_state = app_state
            self.loop = _loop or asyncio.get_event_loop()
            self.root_path: str = config.root_path
            self.asgi_version: str = config.asgi_version
            self.keep_alive: float = config.timeout_keep_alive
            self.parser = httptools.HttpRequestParser(self)
            with contextlib.suppress(AttributeError):  # older httptools
                self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
            self.transport: asyncio.Transport = None  # type: ignore[assignment]
            self.cycle: _Cycle | None = None  # the request the app is answering
            self.parsing: _Cycle | None = None  # the request whose body is arriving
            self.queue: deque[_Cycle] = deque()  # pipelined requests, in order
            self.read_paused = False
            self.write_paused = False
            self.drained: list[asyncio.Future[None]] = []
            self.last = False  # no request after the one under way (a parse error, an upgrade)
            # The request head being read
            self.in_head = False
            self.head_size = 0
            self.url = b""
            self.headers: list[tuple[bytes, bytes]] = []
            # The headers of `_NOTED` the request sent (the last line of each), if any.
            self.noted: dict[bytes, bytes] | None = None
            # One timer per connection: it closes the connection at `deadline` (None while a
            # request is under way), and moves itself when the deadline has moved later.
            self.deadline: float | None = None
            self.timing_head = False
            self.timer: asyncio.TimerHandle | None = None
            self.timer_at = 0.0

        # -- the connection

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = tcp = cast(asyncio.Transport, transport)
            self.state.connections.add(self)
            self.server = _address(tcp, "sockname")
            self.client = _address(tcp, "peername")
            self.scheme = "https" if tcp.get_extra_info("sslcontext") else "http"
            self.expire_head()

        def connection_lost(self, exc: Exception | None) -> None:
            self.state.connections.discard(self)
            for cycle in (self.cycle, *self.queue):
                if cycle is not None:
                    if not cycle.complete:
                        cycle.disconnected = True
                    cycle.wake()
            self.queue.clear()
            self.resume_writing()
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            if exc is None:
                self.transport.close()

        def eof_received(self) -> bool | None:
            """The client will send nothing more. Requests read whole are still answered (a
            client that half-closes after its request waits for the answer), and the connection
            closes after the last; with nothing under way, or a body that can no longer end,
            it closes now."""
            parsing = self.parsing
            if (self.cycle is None and not self.queue) or self.in_head:
                return None
            if parsing is not None and parsing.more_body and not parsing.complete:
                return None
            self.last = True
            return True  # the transport stays open to write the answers

        def shutdown(self) -> None:
            """The server stops: close now if idle, else after the response under way."""
            if self.cycle is None:
                self.transport.close()
            else:
                self.cycle.keep_alive = False
                self.queue.clear()

        # -- deadlines

        def expire(self, seconds: float | None) -> None:
            """Close the connection `seconds` from now, or never (None)."""
            if seconds is None:
                self.deadline = None
                return
            at = self.deadline = self.loop.time() + seconds
            if self.timer is not None and at < self.timer_at:
                self.timer.cancel()
                self.timer = None
            if self.timer is None:
                self.timer_at = at
                self.timer = self.loop.call_at(at, self.on_timer)

        def expire_head(self) -> None:
            self.timing_head = True
            self.expire(HEADER_TIMEOUT)

        def on_timer(self) -> None:
            self.timer = None
            at = self.deadline
            if at is None or self.transport.is_closing():
                return
            if at - self.loop.time() > 0.001:  # moved later meanwhile
                self.timer_at = at
                self.timer = self.loop.call_at(at, self.on_timer)
            else:
                self.transport.close()

        # -- flow control

        def pause_reading(self) -> None:
            if not self.read_paused:
                self.read_paused = True
                self.transport.pause_reading()

        def resume_reading(self) -> None:
            if self.read_paused:
                self.read_paused = False
                self.transport.resume_reading()

        def pause_writing(self) -> None:
            self.write_paused = True

        def resume_writing(self) -> None:
            self.write_paused = False
            drained, self.drained = self.drained, []
            for waiter in drained:
                if not waiter.done():
                    waiter.set_result(None)

        async def drain(self) -> None:
            waiter = self.loop.create_future()
            self.drained.append(waiter)
            await waiter

        # -- parsing

        def data_received(self, data: bytes) -> None:
            if self.last:
                if self.upgrade_left is not None:
                    self.upgrade_body(data)
                return  # nothing after the last request is read
            if self.cycle is None and not self.in_head and not self.timing_head:
                self.expire_head()  # the first bytes of a request's head
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserUpgrade as upgrade:
                # Nothing to switch to (the fake serves no WebSocket): the request is answered
                # as a plain one, its body read by its Content-Length, and the connection
                # closes after it.
                self.last = True
                if self.upgrade_left is not None:
                    offset = upgrade.args[0] if upgrade.args else len(data)
                    self.upgrade_body(data[offset:])
            except httptools.HttpParserError:
                self.last = True
                if self.cycle is None:
                    self.refuse()
                    return
                # The request whose body was being read when the bytes went wrong (a chunk
                # size that is no number, a trailer past the limit) can never end: the app
                # is not left waiting for it. The requests read whole before it are answered,
                # then the 400.
                parsing = self.parsing
                self.parsing = None
                if parsing is not None and parsing.more_body and not parsing.complete:
                    if parsing is self.cycle and not parsing.started:
                        parsing.disconnected = True  # its app reads a disconnect, sends nothing
                        parsing.wake()
                        self.queue.clear()
                        self.refuse()
                        return
                    if parsing is self.cycle:
                        parsing.keep_alive = False  # its answer has begun: close after it
                    else:
                        self.queue.remove(parsing)
                        parsing.disconnected = True
                self.broken = True

        def refuse(self) -> None:
            head = [_status_line(400), self.default_lines()]
            head.append(
                b"content-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n" % len(_INVALID)
            )
            head.append(_INVALID)
            self.transport.write(b"".join(head))
            self.transport.close()

        def on_message_begin(self) -> None:
            self.in_head = True
            self.head_size = 0
            self.url = b""
            self.headers = []
            self.noted = None

        def on_url(self, url: bytes) -> None:
            self.head_size += len(url)  # the head's size, bounded by MAX_HEAD
            if self.head_size > MAX_HEAD:
                raise httptools.HttpParserError("request head too large")
            self.url += url

        def on_header(self, name: bytes, value: bytes) -> None:
            size = self.head_size = self.head_size + len(name) + len(value) + 4
            if size > MAX_HEAD:
                raise httptools.HttpParserError("request head too large")
            name = name.lower()
            value = value.rstrip(b" \t")
            if name in _NOTED:
                if self.noted is None:
                    self.noted = {}
                self.noted[name] = value
            self.headers.append((name, value))

        def on_headers_complete(self) -> None:
            self.in_head = False
            if self.timing_head:
                self.timing_head = False
                self.deadline = None  # (`expire(None)`)
            parser = self.parser
            version = parser.get_http_version()
            url = httptools.parse_url(self.url)
            raw_path = url.path
            path = raw_path.decode("ascii")
            if "%" in path:
                path = unquote(path)
            root = self.root_path
            scope = {
                "type": "http",
                "asgi": {"version": self.asgi_version, "spec_version": "2.3"},
                "http_version": version,
                "server": self.server,
                "client": self.client,
                "scheme": self.scheme,
                "method": parser.get_method().decode("ascii"),
                "root_path": root,
                "path": root + path if root else path,
                "raw_path": root.encode("ascii") + raw_path if root else raw_path,
                "query_string": url.query or b"",
                "headers": self.headers,
                "state": self.app_state.copy(),
            }
            keep_alive = version != "1.0" and parser.should_keep_alive()
            if len(self.queue) >= MAX_PIPELINED:
                # Requests already read are answered; this one and those after it are not,
                # and the connection closes once the others are (the client may send them
                # again on a new one).
                self.last = True
                self.parsing = None
                return
            # What comes after, to the next request's head: a chunked body's trailer, which
            # is not merged into the headers the app reads (RFC 9110, 6.5.1: a `Host` or an
            # `Authorization` sent there would pass as the request's own).
            self.headers = []
            if self.noted is None:
                cycle = self.parsing = _Cycle(self, scope, keep_alive, False)
            else:
                cycle = self.parsing = self.noted_cycle(self.noted, scope, keep_alive)
            if self.cycle is None:
                self.start(cycle)
            else:
                self.queue.append(cycle)
                self.pause_reading()

        def on_body(self, body: bytes) -> None:
            cycle = self.parsing
            if cycle is None or cycle.complete:
                return  # answered already: the rest of its body is read and dropped
            cycle.chunks.append(body)
            cycle.buffered += len(body)
            if cycle.buffered > BODY_HIGH_WATER:
                self.pause_reading()
            cycle.wake()

        def on_message_complete(self) -> None:
            cycle = self.parsing
            if cycle is not None and self.upgrade_left is None:
                cycle.more_body = False
                cycle.wake()

        def noted_cycle(
            self, noted: dict[bytes, bytes], scope: dict[str, Any], keep_alive: bool
        ) -> _Cycle:
            """The request's cycle, made by what its `_NOTED` headers say (400 for a body the
            server cannot frame)."""
            coding = noted.get(b"transfer-encoding")
            # A request's body is framed by chunked alone: any other final coding leaves its
            # end unknown (RFC 9112, 6.1: a 400, and the connection closes).
            if coding is not None and coding.rpartition(b",")[2].strip().lower() != b"chunked":
                raise httptools.HttpParserError("transfer coding other than chunked")
            # An HTTP/1.0 client waits for no `100 Continue` (RFC 9110, 10.1.1).
            expect_100 = (
                noted.get(b"expect", b"").lower() == b"100-continue"
                and scope["http_version"] != "1.0"
            )
            if b"upgrade" not in noted or not self.parser.should_upgrade():
                return _Cycle(self, scope, keep_alive, expect_100)
            # The parser leaves the body to the other protocol: read by `upgrade_body`, by its
            # Content-Length; the connection closes after the answer.
            if coding is not None:
                raise httptools.HttpParserError("a chunked body with Upgrade")
            length = next((int(v) for n, v in scope["headers"] if n == b"content-length"), 0)
            if length:
                self.upgrade_left = length
            return _Cycle(self, scope, False, expect_100)

        def upgrade_body(self, data: bytes) -> None:
            """Bytes after the head of a request the parser took as an upgrade: its body, up to
            its Content-Length. What follows it is not read (the connection closes)."""
            left = self.upgrade_left
            if left is None:
                return
            taken = data[:left]
            left -= len(taken)
            if taken:
                self.on_body(taken)
            if left:
                self.upgrade_left = left
            else:
                self.upgrade_left = None
                self.on_message_complete()

        # -- the app

        def start(self, cycle: _Cycle) -> None:
            self.cycle = cycle
            tasks = self.state.tasks
            task = self.loop.create_task(self.run(cycle))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        async def run(self, cycle: _Cycle) -> None:
            try:
                result = await self.app(cycle.scope, cycle.receive, cycle.send)
            except asyncio.CancelledError:
                self.transport.close()
                raise
            except BaseException as exc:
                logger.error("Exception in ASGI application\n", exc_info=exc)
                if cycle.started:
                    self.transport.close()
                else:
                    await self.internal_error(cycle)
            else:
                if result is not None:
                    logger.error("ASGI callable returned %r, not None", result)
                    self.transport.close()
                elif not cycle.started and not cycle.disconnected:
                    logger.error("ASGI callable returned without starting a response")
                    await self.internal_error(cycle)
                elif not cycle.complete and not cycle.disconnected:
                    logger.error("ASGI callable returned without completing its response")
                    self.transport.close()

        async def internal_error(self, cycle: _Cycle) -> None:
            cycle.keep_alive = False
            cycle.started = cycle.complete = False
            cycle.head = None
            await cycle.send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", b"21"),
                    ],
                }
            )
            await cycle.send({"type": "http.response.body", "body": b"Internal Server Error"})

        def default_lines(self) -> bytes:
            """The server's `date` and `server` headers, which it renews each second."""
            headers = self.state.default_headers
            cached = _DEFAULTS.get(id(headers))
            if cached is None or cached[0] is not headers:
                lines = b"".join(b"%s: %s\r\n" % pair for pair in headers)
                _DEFAULTS.clear()
                _DEFAULTS[id(headers)] = cached = (headers, lines)
            return cached[1]

        def response_head(
            self, cycle: _Cycle, status: int, headers: Iterable[tuple[bytes, bytes]]
        ) -> bytes:
            lines = [_status_line(status), self.default_lines()]
            chunked: bool | None = None
            close = False
            for name, value in headers:
                name = name.lower()
                lines += (name, b": ", value, b"\r\n")
                if name not in FRAMING:
                    continue
                if name == b"content-length":
                    if chunked is None:
                        cycle.left = int(value)
                        chunked = False
                elif name == b"transfer-encoding":
                    if value.lower() == b"chunked":
                        cycle.left = 0
                        chunked = True
                elif name == b"connection":
                    if b"close" in [t.strip() for t in value.lower().split(b",")]:
                        cycle.keep_alive = False
                        close = True
            # Each header made four lines, from the third on: its name, ": ", its value, CRLF.
            if BAD_NAME.search(b"".join(lines[2::4])) or BAD_VALUE.search(b"".join(lines[4::4])):
                raise RuntimeError("invalid HTTP header name or value")
            if not cycle.keep_alive and not close:
                lines.append(b"connection: close\r\n")
            if chunked is None and cycle.scope["method"] != "HEAD" and status not in (204, 304):
                chunked = True
                lines.append(b"transfer-encoding: chunked\r\n")
            cycle.chunked = bool(chunked)
            lines.append(b"\r\n")
            return b"".join(lines)

        def response_complete(self, cycle: _Cycle) -> None:
            self.state.total_requests += 1
            self.cycle = None
            if not cycle.keep_alive or self.transport.is_closing():
                self.transport.close()
                return
            if self.last and not self.queue:
                if self.broken:
                    self.refuse()
                else:
                    self.transport.close()
                return
            self.resume_reading()
            if self.queue:
                self.start(self.queue.popleft())
            elif self.in_head:
                self.expire_head()  # part of the next head is here already
            else:
                self.expire(self.keep_alive)

    _name(Protocol, "BoundedHttpToolsProtocol")
    return Protocol


def _address(transport: asyncio.BaseTransport, which: str) -> tuple[str, int] | None:
    """A TCP transport's own (`sockname`) or its peer's (`peername`) host and port."""
    found = transport.get_extra_info(which)
    if isinstance(found, (tuple, list)) and len(found) >= 2:
        return str(found[0]), int(found[1])
    return None


# The `date` and `server` headers' lines, kept for the list the server made last.
_DEFAULTS: dict[int, tuple[list[tuple[bytes, bytes]], bytes]] = {}


@functools.cache
def _h11_protocol() -> type[asyncio.Protocol]:
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class Protocol(_HeadDeadline, H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()
            # h11's `max_incomplete_event_size` bounds only a head still arriving: one that
            # comes whole in a single read is parsed whatever its size. Its request event is
            # measured here; uvicorn answers the error with a 400 and closes.
            next_event = self.conn.next_event

            def bounded() -> Any:
                event = next_event()
                if isinstance(event, h11.Request) and _h11_head_size(event) > MAX_HEAD:
                    raise h11.RemoteProtocolError("request head too large", 431)
                return event

            self.conn.next_event = bounded  # type: ignore[method-assign]

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self.conn.their_state is h11.IDLE:
                self._arm()
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._disarm()

    _name(Protocol, "BoundedH11Protocol")
    return Protocol


def _h11_head_size(event: Any) -> int:
    """A request's line and headers, counted as `_httptools_protocol` counts them."""
    return len(event.target) + sum(len(name) + len(value) + 4 for name, value in event.headers)


def uvicorn_config(app: Any, **kw: Any) -> Any:
    """uvicorn's config for the fake: the bounded protocol, quiet logs, no lifespan."""
    import uvicorn

    options: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,
        "lifespan": "off",
        # The fake serves no WebSocket: without this uvicorn imports a WebSocket library at start.
        "ws": "none",
        "http": http_protocol(),
        "timeout_keep_alive": KEEP_ALIVE,
        "h11_max_incomplete_event_size": MAX_HEAD,
    }
    options.update(kw)
    return uvicorn.Config(app, **options)


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket, host: str) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


_DAYS = (b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun")
_MONTHS = tuple(b"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())


def http_date(at: float) -> bytes:
    """`at` as an HTTP `Date` (RFC 9110, 5.6.7), whatever the process's locale."""
    t = time.gmtime(at)
    day, month = _DAYS[t.tm_wday], _MONTHS[t.tm_mon - 1]
    clock = b"%02d:%02d:%02d" % (t.tm_hour, t.tm_min, t.tm_sec)
    return b"%s, %02d %s %04d %s GMT" % (day, t.tm_mday, month, t.tm_year, clock)


class _State:
    """What the protocol reads and writes of the server running it (as uvicorn's server state
    names it, which the `h11` fallback reads)."""

    def __init__(self) -> None:
        self.total_requests = 0
        self.connections: set[Any] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.default_headers: list[tuple[bytes, bytes]] = []


class _Settings:
    """What the fake's protocol reads of its configuration (as uvicorn's config names it)."""

    loaded = True
    root_path = ""
    asgi_version = "3.0"

    def __init__(self, app: Any, keep_alive: float) -> None:
        self.loaded_app = app
        self.timeout_keep_alive = keep_alive

    def load(self) -> None:
        pass


# How often a stopping server looks whether its connections are closed.
STOP_POLL = 0.002  # seconds
SERVER_HEADER = (b"server", b"fake-stripe")


class Server:
    """An ASGI app served on listening sockets with the fake's protocol, on an event loop of its
    own (uvloop's where installed).

    `run(sockets)` serves until `stop()` (from any thread) or, with `signals`, SIGINT or
    SIGTERM; then it stops accepting, closes the idle connections, lets the requests under way
    finish within `grace` seconds (a second signal stops waiting), and returns. It imports none
    of uvicorn, whose import was a tenth of `serve`'s time to its first answer; where httptools
    is missing it runs uvicorn's `h11` protocol, with uvicorn's config."""

    def __init__(self, app: Any, grace: float = 10.0, keep_alive: float | None = None) -> None:
        self.app = app
        self.grace = grace
        self.keep_alive = keep_alive
        self.state = _State()
        self.started = False
        self.should_exit = False
        self.force_exit = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._date: asyncio.TimerHandle | None = None

    def run(self, sockets: list[socket.socket], signals: bool = False) -> None:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(self.serve(sockets, signals))

    def stop(self) -> None:
        """From any thread: stop serving, at once."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                loop.call_soon_threadsafe(wake.set)

    async def serve(self, sockets: list[socket.socket], signals: bool = False) -> None:
        loop = asyncio.get_running_loop()
        self._wake = wake = asyncio.Event()
        self._loop = loop
        protocol = http_protocol()
        keep_alive = KEEP_ALIVE if self.keep_alive is None else self.keep_alive
        settings: Any = _Settings(self.app, keep_alive)
        if not _own(protocol):  # uvicorn's h11 protocol reads uvicorn's config
            settings = uvicorn_config(self.app, http=protocol, timeout_keep_alive=keep_alive)
            settings.load()
        state = self.state

        def connection() -> asyncio.Protocol:
            return protocol(settings, state, {}, loop)  # type: ignore[call-arg]

        servers = [await loop.create_server(connection, sock=s, backlog=2048) for s in sockets]
        if signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self._on_signal)
        self._stamp()
        self.started = True
        if not self.should_exit:  # (a stop before the loop was known to it)
            await wake.wait()
        if self._date is not None:
            self._date.cancel()
        await self._shutdown(servers, sockets)

    def _on_signal(self) -> None:
        if self.should_exit:
            self.force_exit = True  # a second signal: stop waiting for the requests under way
        self.stop()

    def _stamp(self) -> None:
        """The `Date` header of every response, renewed each second (a new list each time: the
        protocol keeps the lines it made for the last one)."""
        assert self._loop is not None
        now = time.time()
        self.state.default_headers = [(b"date", http_date(now)), SERVER_HEADER]
        self._date = self._loop.call_at(self._loop.time() + 1 - now % 1, self._stamp)

    async def _shutdown(self, servers: list[asyncio.Server], sockets: list[socket.socket]) -> None:
        for server in servers:
            server.close()
        for sock in sockets:
            sock.close()
        state = self.state
        for connection in list(state.connections):
            connection.shutdown()  # closed now if idle, else once its answer is out
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.grace
        while (state.connections or state.tasks) and not self.force_exit:
            if loop.time() >= deadline:
                for task in state.tasks:
                    task.cancel()
                break
            # Waiting for the connections only as long as they take: uvicorn's server waits a
            # fixed 0.1 s, which made every start and stop of a served fake 0.2 s longer.
            await asyncio.sleep(STOP_POLL)
        for server in servers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 1.0)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return cast(Callable[[], asyncio.AbstractEventLoop], uvloop.new_event_loop)


def _own(protocol: type[asyncio.Protocol]) -> bool:
    """Whether `protocol` is the fake's own (on httptools), not uvicorn's h11 one."""
    try:
        return protocol is _httptools_protocol()
    except ImportError:
        return False


class ServerThread:
    """An ASGI app on a free loopback port, served (`Server`) in a daemon thread.

    `with ServerThread(app) as url: ...`, or `start()` / `stop()`; `url` is the base URL. It
    stops as soon as asked, and as soon as its connections are closed."""

    def __init__(
        self, app: Any, host: str = "127.0.0.1", sock: socket.socket | None = None
    ) -> None:
        """`sock`: a socket already bound (by `bind_socket`) to serve on, instead of a new one
        on a free port of `host`."""
        self._sock = sock if sock is not None else bind_socket(host, 0)
        self.url = url_of(self._sock, host)
        self.server = Server(app)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self.start()

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.001)
        if not self.server.started:
            self.stop()
            raise RuntimeError("the app did not start serving within 10 s")

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> str:
        return self.url

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
