"""In-process use with no socket: the ASGI app called on the caller's own thread.

Each calling thread drives the app on an event loop of its own (made on its first request and
kept), so a request costs no hand-off to another thread and back. Requests to one app from
several threads take turns (one lock per app): the app's handlers assume, as under a server, that
no other request runs between two of their awaits. What runs in the background lives on threads
of its own (webhook delivery has one in `webhooks/delivery.py`), so nothing needs the loop
between requests.

A caller already inside a running event loop (a sync client used from async code) cannot run
another loop on its thread: its requests go to a loop in a daemon thread instead (`LoopThread`),
as do those of a transport given an explicit `loop`.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import weakref
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import httpx
from starlette.types import ASGIApp, Message

T = TypeVar("T")

RawHeaders = list[tuple[bytes, bytes]]
_CLIENT = ("127.0.0.1", 123)


class LoopThread:
    """An asyncio loop running forever in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


# One lock per app, shared by every transport on it.
_app_locks: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()
_app_locks_guard = threading.Lock()


def _lock_for(app: ASGIApp) -> threading.Lock:
    with _app_locks_guard:
        lock = _app_locks.get(app)
        if lock is None:
            lock = _app_locks[app] = threading.Lock()
        return lock


class _OwnLoop:
    """A thread's loop, closed when the thread ends (its thread-local goes away)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        if not self.loop.is_running():
            self.loop.close()


class _Loops(threading.local):
    own: _OwnLoop | None = None


_loops = _Loops()


def _thread_loop() -> asyncio.AbstractEventLoop:
    own = _loops.own
    if own is None or own.loop.is_closed():
        own = _loops.own = _OwnLoop()
    return own.loop


async def _call(
    app: ASGIApp,
    method: str,
    scheme: str,
    host: str,
    port: int | None,
    raw_path: bytes,
    query: bytes,
    headers: RawHeaders,
    body: bytes,
) -> tuple[int, RawHeaders, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "headers": headers,
        "scheme": scheme,
        "path": unquote(raw_path.decode("ascii")),
        "raw_path": raw_path,
        "query_string": query,
        "server": (host, port),
        "client": _CLIENT,
        "root_path": "",
    }
    status = 500
    out_headers: RawHeaders = []
    chunks: list[bytes] = []
    received = False
    done: asyncio.Event | None = None
    complete = False

    async def receive() -> Message:
        nonlocal received, done
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        # The client stays connected until the whole response has been sent.
        if not complete:
            done = done or asyncio.Event()
            await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status, out_headers, complete
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers = list(message.get("headers", ()))
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            if chunk and method != "HEAD":
                chunks.append(chunk)
            if not message.get("more_body", False):
                complete = True
                if done is not None:
                    done.set()

    await app(scope, receive, send)
    return status, out_headers, b"".join(chunks)


@functools.lru_cache(maxsize=64)
def _host_port(netloc: str) -> tuple[str, int | None]:
    """The server name and port of a URL's authority (a client calls one or two)."""
    parts = urlsplit(f"//{netloc}")
    return parts.hostname or "fake-stripe.local", parts.port


class ASGIDriver:
    """Sends one request into `app` and returns `(status, raw headers, body)`."""

    def __init__(self, app: ASGIApp, loop: LoopThread | None = None) -> None:
        self.app = app
        self.loop_thread = loop
        self._own_thread = False
        self._lock = _lock_for(app)

    def request(
        self, method: str, url: str, headers: RawHeaders, body: bytes
    ) -> tuple[int, RawHeaders, bytes]:
        parts = urlsplit(url)
        path = parts.path or "/"
        host, port = _host_port(parts.netloc)
        coro = _call(
            self.app,
            method.upper(),
            parts.scheme or "http",
            host,
            port,
            path.encode("ascii"),
            parts.query.encode("ascii"),
            headers,
            body,
        )
        return self._run(coro, path.startswith("/v1/"))

    def send(self, request: httpx.Request) -> tuple[int, RawHeaders, bytes]:
        url = request.url
        raw_path = url.raw_path.split(b"?", 1)[0]
        coro = _call(
            self.app,
            request.method,
            url.scheme,
            url.host,
            url.port,
            raw_path,
            url.query,
            [(k.lower(), v) for k, v in request.headers.raw],
            request.read(),
        )
        return self._run(coro, raw_path.startswith(b"/v1/"))

    def _run(self, coro: Coroutine[Any, Any, T], api: bool) -> T:
        with self._lock:
            if self.loop_thread is not None or _running():
                return self._background().run(coro)
            loop = _thread_loop()
            if api:
                return _drive(loop, coro)
            return loop.run_until_complete(coro)

    def _background(self) -> LoopThread:
        if self.loop_thread is None:
            self.loop_thread = LoopThread()
            self._own_thread = True
        return self.loop_thread

    def close(self) -> None:
        if self._own_thread and self.loop_thread is not None:
            self.loop_thread.close()
            self.loop_thread = None


def _drive(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to its end, stepping it by hand while it has nothing to wait for.

    The `/v1` pipeline awaits only the request body (already here) and, for an injected delay,
    a sleep: most requests finish in their first step, with no task and no turn of the loop
    (which would cost more than the fake's own work on a read). The loop is marked running
    during the step, so a sleep finds it; a coroutine that does wait is finished as a task.
    """
    asyncio.events._set_running_loop(loop)
    try:
        waiting = coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    except BaseException:
        coro.close()
        raise
    finally:
        asyncio.events._set_running_loop(None)
    return loop.run_until_complete(_resume(coro, waiting))


async def _resume(coro: Coroutine[Any, Any, T], waiting: Any) -> T:
    """Finish a coroutine stepped by hand: wait for what it yielded, as a task would."""
    while True:
        if waiting is None:
            await asyncio.sleep(0)
        else:
            # What a task does with a future its coroutine yields: take the "blocking" mark
            # off and wait for it.
            waiting._asyncio_future_blocking = False
            try:
                await waiting
            except BaseException:
                pass  # the coroutine gets the outcome itself when it resumes
        try:
            waiting = coro.send(None)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


def _running() -> bool:
    # Not `get_running_loop`: it answers "none" by raising, which costs more than the rest of
    # the check on every in-process request.
    return asyncio.events._get_running_loop() is not None


class InProcessTransport(httpx.BaseTransport):
    """`httpx.Client(transport=InProcessTransport(app), base_url="http://fake-stripe")`."""

    def __init__(self, app: ASGIApp, loop: LoopThread | None = None) -> None:
        self.app = app
        self.driver = ASGIDriver(app, loop)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        status, headers, content = self.driver.send(request)
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        self.driver.close()


def client(app: ASGIApp, base_url: str = "http://fake-stripe.local", **kw: Any) -> httpx.Client:
    """A sync httpx client talking to `app` in-process."""
    return httpx.Client(transport=InProcessTransport(app), base_url=base_url, **kw)


def encode_headers(headers: Mapping[str, str] | None) -> RawHeaders:
    """Headers as ASGI wants them: lower-case names, latin-1 bytes."""
    return [(_name(k), v.encode("latin-1")) for k, v in (headers or {}).items()]


@functools.lru_cache(maxsize=256)
def _name(header: str) -> bytes:
    return header.lower().encode("latin-1")
