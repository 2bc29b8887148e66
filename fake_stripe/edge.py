"""What every HTTP request passes before any route: the check that a loopback server is called
by a loopback name (DNS rebinding, `control.guard.foreign_host`), the body limit and the
body-read timeout, and the one catch-all that turns a fault of the fake into a Stripe-shaped
500.

The body is read here, chunk by chunk, and handed on whole: a body over the limit is refused
as soon as its `Content-Length` or the bytes received so far pass the limit, so it is never
buffered whole (a missing or lying `Content-Length` changes nothing). Routes behind this layer
read the body as usual (`await request.body()`) and get the bytes read here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine, Generator
from types import CoroutineType
from typing import Any, cast

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .control.guard import foreign_host, rebinding_refused
from .core.bounds import DEFAULT_BODY_TIMEOUT as DEFAULT_BODY_TIMEOUT
from .core.bounds import DEFAULT_MAX_BODY as DEFAULT_MAX_BODY
from .core.context import Services
from .core.errors import APIError, InvalidRequestError, StripeError
from .stripejs import CORS, PREFIX
from .wire import ANSWERING, BODY, V1, error_response

log = logging.getLogger("fake_stripe")

INTERNAL_ERROR = "An unknown error occurred in the fake Stripe server."


def too_large(limit: int) -> InvalidRequestError:
    # GUESS: Stripe's wording and status for an oversized body are not documented.
    return InvalidRequestError(
        f"The request body is too large: this server accepts at most {limit} bytes "
        "(fake-stripe serve --max-body).",
        status=413,
    )


def too_slow(seconds: float) -> InvalidRequestError:
    # GUESS: as for too_large; a fake-only limit.
    return InvalidRequestError(
        f"The request body was not received within {seconds:g} seconds.", status=408
    )


class _Disconnected(Exception):
    """The client went away before its body was whole: nobody is left to answer."""


class _Tracked:
    """`send` for a route beside `/v1`, noting whether a response has started."""

    __slots__ = ("send", "started")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)


class Edge:
    """ASGI middleware in front of every route (installed outermost by `create_app`)."""

    def __init__(
        self,
        app: ASGIApp,
        fake: Services,
        max_body: int = DEFAULT_MAX_BODY,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
    ) -> None:
        self.app = app
        self.fake = fake
        self.max_body = max_body
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = None
        # The body's length as declared: None for no body (neither Content-Length nor
        # Transfer-Encoding), -1 for a chunked one (known only at its end).
        declared: int | None = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
            elif name == b"content-length":
                if declared is None:
                    try:
                        declared = int(value)
                    except ValueError:
                        declared = 0  # the server's HTTP parser refuses such requests itself
            elif name == b"transfer-encoding":
                declared = -1
        # `/_fake/` routes check the Host themselves, where the control token lifts the check.
        if (
            host is not None
            and not scope["path"].startswith("/_fake/")
            and (reason := foreign_host(scope, host))
        ):
            await self._answer(scope, send, rebinding_refused(reason), {"Connection": "close"})
            return
        # `/v1` says when it starts to answer (`wire.ANSWERING`): its messages go straight.
        tracked = None if scope["path"].startswith(V1) else _Tracked(send)
        inner = receive
        # A GET or HEAD with neither `Content-Length` nor `Transfer-Encoding` has no body
        # (RFC 9112, 6.3): there is nothing to bound or wait for.
        if declared is not None or scope["method"] not in ("GET", "HEAD"):
            try:
                # On the fake's own server a body that came with its head is taken at once:
                # no message, no deadline to arm (`http_server._Cycle.whole_body`).
                whole = getattr(getattr(receive, "__self__", None), "whole_body", None)
                body = whole() if whole is not None else None
                if body is None:
                    body = await self._read_body(receive, declared)
                elif len(body) > self.max_body:
                    raise too_large(self.max_body)
            except _Disconnected:
                log.debug("client disconnected mid-body: %s %s", scope["method"], scope["path"])
                return
            except StripeError as err:
                # Refused before reading the rest: the connection cannot be reused.
                await self._answer(scope, send, err, {"Connection": "close"})
                return
            scope[BODY] = body  # for `/v1` (the wire layer), which takes it from here
            if tracked is not None:  # a route beside `/v1` reads it through `receive`
                inner = _replay(body, receive)
        try:
            await self.app(scope, inner, send if tracked is None else tracked)
        except Exception:
            log.exception("fake_stripe internal error on %s %s", scope["method"], scope["path"])
            if not (scope.get(ANSWERING) if tracked is None else tracked.started):
                await self._answer(scope, send, APIError(INTERNAL_ERROR), {})

    async def _read_body(self, receive: Receive, declared: int | None) -> bytes:
        if declared is not None and declared > self.max_body:
            raise too_large(self.max_body)
        if declared is None or declared == 0 or asyncio.current_task() is None:
            # A request with no body (no Content-Length, no Transfer-Encoding: a GET) is
            # complete once its head is; stepped by hand in-process (fake_stripe.inprocess)
            # there is no socket and the body is already here. Nothing to wait for either way.
            return await self._collect(receive, None)
        deadline = asyncio.get_running_loop().time() + self.body_timeout
        try:
            return await self._collect(receive, deadline)
        except TimeoutError:
            raise too_slow(self.body_timeout) from None

    async def _collect(self, receive: Receive, deadline: float | None) -> bytes:
        """The body, each message awaited until `deadline` (loop time), if any."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await (receive() if deadline is None else _within(receive(), deadline))
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise too_large(self.max_body)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _answer(
        self, scope: Scope, send: Send, err: StripeError, extra: dict[str, str]
    ) -> None:
        headers: dict[str, Any] = dict(extra)
        path: str = scope["path"]
        if path.startswith((PREFIX + "/", "/v3")):
            headers.update(CORS)  # the Stripe.js routes answer cross-origin pages
        response = error_response(err, self.fake.request_id(), self.fake.wall_now(), headers)
        await response(scope, _no_body, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` for a route beside `/v1`, whose body `Edge` has read: the body in one
    message, then what `receive` gives."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _within(step: Awaitable[Message], deadline: float) -> Message:
    """`await step`, given up at `deadline` (loop time) if it has to wait. A message already
    there (a body that came with its head, as most do) is taken without a timer, which costs
    more than the rest of reading it (about 5 µs under uvloop, a timer made and cancelled)."""
    if not isinstance(step, CoroutineType):  # a future, or another awaitable
        async with asyncio.timeout_at(deadline):
            return await step
    try:
        waiting = step.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    async with asyncio.timeout_at(deadline):
        return await _Resumed(step, waiting)


class _Resumed:
    """A coroutine stepped once by hand and now waiting on what it yielded (a future), awaited
    from there: each value the task sends or throws goes on to it, as `await` would."""

    def __init__(self, coro: Coroutine[Any, Any, Message], waiting: Any) -> None:
        self.coro = coro
        self.waiting = waiting

    def __await__(self) -> Generator[Any, Any, Message]:
        coro, value = self.coro, self.waiting
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                try:
                    value = coro.throw(exc)
                except StopIteration as done:
                    return cast(Message, done.value)
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as done:
                    return cast(Message, done.value)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
