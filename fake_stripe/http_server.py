"""Serving the app on a socket: binding, uvicorn's HTTP protocol with deadlines, and a uvicorn
server in a thread for tests and tools."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import threading
import time
from types import TracebackType
from typing import Any

# A request's line and headers must arrive within HEADER_TIMEOUT seconds of its first byte (or
# of the connection, for its first request) and fit in MAX_HEAD bytes. uvicorn bounds neither:
# its keep-alive timeout only covers the quiet time between requests, so a client that sends
# half a request line, or nothing at all, holds a connection forever. The body has its own
# deadline and limit (`fake_stripe.edge`).
HEADER_TIMEOUT = 10.0
MAX_HEAD = 64 * 1024
KEEP_ALIVE = 5


def http_protocol(kind: str = "auto") -> type[asyncio.Protocol]:
    """uvicorn's HTTP/1.1 protocol (`httptools` when installed, else `h11`) with the head's
    deadline and size limit."""
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


@functools.cache
def _httptools_protocol() -> type[asyncio.Protocol]:
    import httptools
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class Protocol(_HeadDeadline, HttpToolsProtocol):
        _in_head = True
        _head_size = 0

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._in_head and (self.cycle is None or self.cycle.response_complete):
                self._arm()
            super().data_received(data)

        def on_message_begin(self) -> None:
            self._in_head = True
            self._head_size = 0
            super().on_message_begin()

        def _grow(self, n: int) -> None:
            self._head_size += n
            if self._head_size > MAX_HEAD:
                # Raised in a parser callback: uvicorn answers 400 and closes the connection.
                raise httptools.HttpParserError("request head too large")

        def on_url(self, url: bytes) -> None:
            self._grow(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._grow(len(name) + len(value) + 4)
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._disarm()
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._in_head = True

    _name(Protocol, "BoundedHttpToolsProtocol")
    return Protocol


@functools.cache
def _h11_protocol() -> type[asyncio.Protocol]:
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class Protocol(_HeadDeadline, H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

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


class ServerThread:
    """An ASGI app under uvicorn on a free loopback port, in a daemon thread.

    `with ServerThread(app) as url: ...`, or `start()` / `stop()`; `url` is the base URL. It
    stops as soon as asked, and as soon as its connections are closed: uvicorn's own server
    looks for the stop every 0.1 s, then waits a fixed 0.1 s for its connections, which made
    every start and stop of a served fake (`scenarios run --serve`, and many tests) 0.2 s
    longer."""

    def __init__(
        self, app: Any, host: str = "127.0.0.1", sock: socket.socket | None = None
    ) -> None:
        """`sock`: a socket already bound (by `bind_socket`) to serve on, instead of a new one
        on a free port of `host`."""
        self._sock = sock if sock is not None else bind_socket(host, 0)
        self.url = url_of(self._sock, host)
        self.server = _prompt_server()(uvicorn_config(app))
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
            raise RuntimeError("the app did not start under uvicorn within 10 s")

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


# How often a stopping server looks whether its connections are closed.
STOP_POLL = 0.002  # seconds


@functools.cache
def _prompt_server() -> Any:
    """uvicorn's server, stopped without its polling delays (`ServerThread`)."""
    import uvicorn

    class PromptServer(uvicorn.Server):
        _loop: asyncio.AbstractEventLoop | None = None
        _wake: asyncio.Event | None = None

        def stop(self) -> None:
            """From any thread: stop serving, at once."""
            self.should_exit = True
            loop, wake = self._loop, self._wake
            if loop is not None and wake is not None:
                with contextlib.suppress(RuntimeError):  # the loop has ended already
                    loop.call_soon_threadsafe(wake.set)

        async def main_loop(self) -> None:
            self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
            counter = 0
            should_exit = await self.on_tick(counter)
            while not should_exit:
                counter = (counter + 1) % 864000
                # uvicorn's tick (its Date header, its limits), or the stop, whichever is first.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 0.1)
                should_exit = await self.on_tick(counter)

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # uvicorn's steps, waiting for the connections to close only as long as they take.
            for server in self.servers:
                server.close()
            for sock in sockets or []:
                sock.close()
            for connection in list(self.server_state.connections):
                connection.shutdown()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + (self.config.timeout_graceful_shutdown or 10)
            state = self.server_state
            while (state.connections or state.tasks) and not self.force_exit:
                if loop.time() >= deadline:
                    for task in state.tasks:
                        task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
                    break
                await asyncio.sleep(STOP_POLL)
            for server in self.servers:
                await server.wait_closed()
            if not self.force_exit:
                await self.lifespan.shutdown()

    return PromptServer
