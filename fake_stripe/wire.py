"""Stripe's wire protocol: the one request pipeline every `/v1` endpoint goes through.

auth -> tenant -> version -> decode -> check params -> idempotency -> handler -> expand ->
render JSON -> (strict-mode check) -> headers. Errors at any step are StripeError instances,
rendered by one function; no other exception reaches the client as anything but a Stripe
`api_error`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import anyio
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .core import formdata, turns
from .core import idempotency as idem
from .core.clock import Clock
from .core.context import Ctx, Endpoint, Failed, Services
from .core.encode import to_json
from .core.errors import (
    InvalidRequestError,
    ParamError,
    RateLimitError,
    StripeError,
)
from .core.faults import fault_error
from .core.headers import plain_header_name
from .core.keys import parse_key
from .core.params import EXPAND, check
from .core.raw import File
from .core.render import Encoded, render
from .core.store import Busy, Conflict, WouldWait
from .core.tenant import StagedTenant, Tenant, tenant_of
from .core.versions import is_version
from .core.views import Rendering

log = logging.getLogger("fake_stripe")

# GUESS (docs/guesses.md): the code is Stripe's (`lock_timeout`, 429); the wording is ours.
LOCK_TIMEOUT = (
    "This object cannot be accessed right now because another API request is using it. "
    "Retry the request."
)


def authenticate(app: Services, request: Request, allow: tuple[str, ...]) -> tuple[str, Tenant]:
    """The request's API key and its tenant: the one way from a key to a tenant, for `/v1`,
    the Stripe.js endpoints and the `/_fake/` routes alike."""
    return _authenticated(app, request.headers.get("authorization"), allow)


def _authenticated(
    app: Services, authorization: str | None, allow: tuple[str, ...]
) -> tuple[str, Tenant]:
    key, name = _key_and_tenant(authorization, allow)
    return key, app.tenant(name)


# The request headers the `/v1` path reads, found in one pass over the request's headers
# (Starlette's `Headers` would search them once per name asked for).
_READ = frozenset((b"authorization", b"stripe-version", b"content-type", b"idempotency-key"))


def _read_headers(raw: list[tuple[bytes, bytes]]) -> dict[bytes, str]:
    """The headers of `_READ` the request sent, the first of each name as Starlette's
    `Headers.get` would give it."""
    found: dict[bytes, str] = {}
    for name, value in raw:
        if name in _READ and name not in found:
            found[name] = value.decode("latin-1")
    return found


# A client sends the same header on every request; parsing it is most of authenticating.
# Only accepted headers are kept (a refusal raises), at most this many.
@functools.lru_cache(maxsize=1024)
def _key_and_tenant(header: str | None, allow: tuple[str, ...]) -> tuple[str, str]:
    key = parse_key(header, allow)
    return key, tenant_of(key)


# Bodies and query strings longer than this are decoded in a worker thread. The decoder is
# linear, but a body at the size limit still takes tens of milliseconds in the worst shapes
# (10,000 short pairs); below this size no shape takes more than a few.
DECODE_INLINE_MAX = 8 * 1024
# A read tried on the event loop decodes its query there, before its budget applies (one call,
# no checkpoint inside): a query up to this size decodes within that budget in its worst
# shape (one key repeated); a longer one is read on a worker thread. A list's query is a few
# dozen bytes.
QUERY_INLINE_MAX = 512
# A light write runs on the event loop, where nothing can cut it short (`core.turns` bounds
# reads only): its body is decoded there only up to this size. In the decoder's worst shapes
# (one key repeated, `a[]=` pushed, escaped names) 1 KiB takes 0.3-0.4 ms and 8 KiB 2.3-2.9 ms,
# which every other request on the server would wait out. A customer's or a PaymentMethod's
# body is a few hundred bytes; a longer one goes to a worker thread, for about 0.1 ms more CPU.
WRITE_INLINE_MAX = 1024


async def decode_form(raw: bytes | str) -> dict[str, Any]:
    """`formdata.decode`, off the event loop when the input is large."""
    if len(raw) <= DECODE_INLINE_MAX:
        return formdata.decode(raw)
    return await anyio.to_thread.run_sync(formdata.decode, raw)


class JSONResponse(Response):
    """Every answer of the API: compact JSON with its headers.

    Starlette's `Response` would rebuild and re-check the header list and look for a background
    task on every request; this one knows its headers are plain strings and it has no task. On
    the fake's own server it goes to the connection as one block of header lines, with no ASGI
    message (`http_server._Cycle.respond`); elsewhere, or once its `raw_headers` were asked for
    (Starlette's `headers` may change them), in the two ASGI messages.
    """

    def __init__(self, status: int, body: Any, headers: dict[str, str]) -> None:
        # pydantic-core's serializer: the same compact JSON as json.dumps, several times faster
        if type(body) is Rendering:
            self.body = body.encoded()
        else:
            self.body = body.json if isinstance(body, Encoded) else to_json(body)
        self.status_code = status
        self.background = None
        self.given = headers
        self._raw: list[tuple[bytes, bytes]] | None = None

    @property
    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        raw = self._raw
        if raw is None:
            names = _HEADER_NAMES
            raw = [
                (names.get(k) or _header_name(k), v.encode("latin-1"))
                for k, v in self.given.items()
            ]
            raw.append((b"content-length", b"%d" % len(self.body)))
            raw.append((b"content-type", b"application/json"))
            self._raw = raw
        return raw

    @raw_headers.setter
    def raw_headers(self, value: list[tuple[bytes, bytes]]) -> None:
        self._raw = value

    def header_lines(self) -> bytes | None:
        """The head's lines, `content-length` and `content-type` last, for `_Cycle.respond`;
        None when a header needs the ASGI way (which checks it): a name that is not a plain
        token or that frames the response, a value with a character that is not printable."""
        if self._raw is not None:
            return None  # changed, or may be
        prefixes = _LINE_PREFIXES
        parts: list[str] = []
        for name, value in self.given.items():
            prefix = prefixes.get(name)
            if prefix is None:
                prefix = _line_prefix(name)
            if not prefix or not value.isprintable():
                return None
            parts += (prefix, value, "\r\n")
        parts.append(f"content-length: {len(self.body)}\r\ncontent-type: application/json\r\n")
        return "".join(parts).encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        respond = getattr(getattr(send, "__self__", None), "respond", None)
        try:
            lines = None if respond is None else self.header_lines()
            headers = self.raw_headers if lines is None else None
        except Exception:
            # A header that cannot be written: nothing is sent yet, so the fault is answered
            # as any other (`Edge`'s Stripe-shaped 500).
            scope.pop(ANSWERING, None)
            raise
        if lines is not None and respond is not None:
            if respond(self.status_code, lines, self.body):
                return
            headers = self.raw_headers
        await send({"type": "http.response.start", "status": self.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


# Header names as sent, lower-cased and encoded: the same few on every response.
_HEADER_NAMES: dict[str, bytes] = {}
# The same, as the start of a header's line ("request-id: "); "" for a name left to the ASGI way.
_LINE_PREFIXES: dict[str, str] = {}


def _header_name(name: str) -> bytes:
    encoded = name.lower().encode("latin-1")
    if len(_HEADER_NAMES) < 256:  # names come from the fake's code, but stay bounded anyway
        _HEADER_NAMES[name] = encoded
    return encoded


def _line_prefix(name: str) -> str:
    lower = name.lower()
    prefix = lower + ": " if plain_header_name(lower.encode("latin-1")) else ""
    if len(_LINE_PREFIXES) < 256:
        _LINE_PREFIXES[name] = prefix
    return prefix


def _header_text(text: str) -> str:
    """`text` as a header's value: printable ASCII as it is, any other character escaped
    (`\\u20ac`, `\\n`); a violation may quote what the client sent."""
    if text.isascii() and text.isprintable():
        return text
    return text.encode("unicode_escape").decode("ascii")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(status, body, headers or {})


def error_response(err: StripeError, request_id: str, now: int, extra: dict[str, str]) -> Response:
    headers = {"Request-Id": request_id, **extra, **err.headers}
    return json_response(err.status, err.body(request_id, now), headers)


def unrecognized(method: str, path: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"Unrecognized request URL ({method}: {path}). If you are trying to list objects, "
        "remove the trailing slash. If you are trying to retrieve an object, make sure you "
        "passed a valid (non-empty) identifier in your code. Please see "
        "https://stripe.com/docs or we can help at https://support.stripe.com/.",
        status=404,
    )


def _version(app: Services, v: str | None) -> str:
    if v is None:
        return app.api_version
    return _checked_version(v)


@functools.lru_cache(maxsize=256)
def _checked_version(v: str) -> str:
    v = v.strip()
    if not is_version(v):
        raise InvalidRequestError(f"Invalid Stripe API version: {v[:64]}")
    return v


class _Answer(NamedTuple):
    response: Response | None
    pause: float = 0.0  # seconds to wait first: an injected fault's delay
    resume: bool = False  # then run the request (a `before` fault with a delay and no status)
    # Run it again on a worker thread: it ran on the event loop and the clock had work due.
    off_loop: bool = False


class _LeaveLoop(Exception):
    """The request runs on the event loop and the tenant clock has work due: work that may be
    long and that writes, so the request goes to a worker thread before it changes anything."""


@dataclass
class _Job:
    """An authenticated request, as the work that answers it receives it."""

    app: Services
    request: Request
    ep: Endpoint | None
    key: str
    tenant: Tenant
    raw: bytes
    request_id: str
    headers: dict[str, str]
    sent: dict[bytes, str]  # the request's headers that `_READ` names
    # Tried on the event loop within `LOOP_BUDGET` (a list, a search, a read with parameters,
    # a write that is not light): it moves to a worker thread if it takes longer.
    bounded: bool = False


async def dispatch(app: Services, request: Request, endpoints: dict[str, Endpoint]) -> Response:
    """Authenticate on the event loop, then run the rest where the tenant's work runs
    (`core.lanes`: a worker thread under a server), waiting out injected delays on the loop."""
    request_id = app.request_id()
    headers = {"Request-Id": request_id}
    scope = request.scope
    method = scope["method"]
    ep = endpoints.get(method)
    sent = _read_headers(scope["headers"])
    try:
        key, tenant = _authenticated(
            app, sent.get(b"authorization"), ep.keys if ep else ("sk", "rk")
        )
    except StripeError as err:
        return error_response(err, request_id, app.wall_now(), headers)
    if method == "POST":
        raw = scope.get(BODY)
        if raw is None:
            raw = await _body(request.receive)
    else:
        raw = scope["query_string"]
    write = method != "GET"
    # A light write with a short body runs on the loop as it is. A light GET with no
    # parameters too; any other request is bounded on the loop, unless its endpoint's work
    # must run once whatever happens (`Endpoint.worker`).
    bounded = ep is not None and not ep.worker and not (ep.light and (write or not raw))
    inline = QUERY_INLINE_MAX if bounded and not write else WRITE_INLINE_MAX
    small = ep is not None and (ep.light or bounded) and len(raw) <= inline
    job = _Job(app, request, ep, key, tenant, raw, request_id, headers, sent, bounded)
    light = small and app.quiet(write)
    app.lanes.recent.saw(tenant.name)
    answer = None
    if ep is None:
        # An unknown URL or method: a 404 with no transaction. It reads the tenant's clock (for
        # the error's time) and nothing else: on the loop, where the store's reads wait for
        # nobody (not PostgreSQL's, a round trip away).
        if app.quiet():
            answer = _serve(job, True)
    elif small and write and not light and app.quiet():
        answer = await _serve_soon(job)  # SQLite: on the loop, once the write lock is free
    if answer is None:
        if app.lanes.inline(tenant.name, light):
            answer = _serve(job, True)  # no coroutine of `run` to go through
        else:
            answer = await app.lanes.run(tenant.name, _serve, job, True, light=light)
    if answer.off_loop:
        answer = await app.lanes.run(tenant.name, _serve, job, False)
    if answer.pause:
        await asyncio.sleep(answer.pause)
    if answer.resume:
        answer = await app.lanes.run(tenant.name, _serve, job, False)
        if answer.pause:
            await asyncio.sleep(answer.pause)
    assert answer.response is not None
    return answer.response


# The scope's key under which `Edge` leaves the body it has read whole (it hands it on through
# `receive` too, for the routes beside `/v1`).
BODY = "fake_stripe.body"
# The paths `app.V1Router` answers itself. It sends nothing until it sends its answer, and sets
# `ANSWERING` in the scope first: `Edge` learns from that whether a response may have started,
# without a wrapper around `send` on the way of every message.
V1 = "/v1/"
ANSWERING = "fake_stripe.answering"


async def _body(receive: Receive) -> bytes:
    """The request's body. `Edge` has read it whole, and hands it on in one message: read
    here without Starlette's stream, which costs more than the rest of reading it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _on_loop() -> bool:
    """Whether this runs on an event loop's own task (not on a worker thread, and not stepped
    by hand in-process, where there is nobody else to serve)."""
    try:
        return asyncio.current_task() is not None
    except RuntimeError:  # no loop runs on this thread
        return False


# How long a request may run on the event loop (`_Job.bounded`: a read with parameters, a
# write that is not light) before it moves to a worker thread, where other tenants get their
# turns at the GIL (`core.turns`), and starts again there: what it staged is dropped, nothing
# was committed (a commit, once begun, runs whole). A page of 10 customers costs a served
# request about 0.19 ms of the server's CPU in all (`bench/served_cpu.py --list`); a hand-off
# to a worker thread and back costs about 0.1-0.2 ms (`bench/handoff.py`, `bench/off_loop.py`).
LOOP_BUDGET = 0.0005  # seconds
_UNBOUNDED = contextlib.nullcontext()

# How long a light write waits on the loop for the write lock while a thread of this process
# holds it, before it waits on a worker thread instead (which gives up after the store's own
# lock timeout).
SOON_WAIT = 1.0  # seconds
SOON_PAUSE = 0.001  # seconds between two looks at the lock


async def _serve_soon(job: _Job) -> _Answer | None:
    """A light write, or one tried on the loop within its budget (`_Job.bounded`), in a store
    whose writes may wait for another process (SQLite's one write lock), run on the event loop
    inside a write transaction taken without waiting (the request's own transactions join it).
    None (the request then waits for the lock on a worker thread) when another process holds
    the lock, or a thread of this process that waits for another process's lock.

    While a thread of this process holds it (its transaction is one request's), the write waits
    for it on the loop, one such write at a time (`Lanes.loop_writes`; the others queue behind
    it, holding nothing): were it sent to a worker thread, under a steady load the workers would
    keep the lock among themselves and every later write would follow them there.

    A hand-off to a thread and back costs this machine about 0.1 ms of CPU, and the GIL's
    switches around each statement cost more: run on a thread, such a write costs about twice
    its own work (`bench/handoff.py`)."""
    app = job.app
    if not app.lanes.threads:
        return None  # the server runs all its work on the loop anyway
    # Stepped by hand (no task), there is nobody else to wait for here: one try.
    stepped = asyncio.current_task() is None
    deadline = time.monotonic() + (0.0 if stepped else SOON_WAIT)
    async with contextlib.nullcontext() if stepped else app.lanes.loop_writes():
        while True:
            try:
                with app.backend.transaction(job.tenant.name, True, wait=False):
                    return _serve(job, True)
            except WouldWait as busy:
                if not busy.here or time.monotonic() >= deadline:
                    return None
            # uvloop's timers count whole milliseconds: a shorter sleep would be a busy wait.
            await asyncio.sleep(SOON_PAUSE)


def _serve(job: _Job, before: bool) -> _Answer:
    """The request once authenticated: version, fault rules, parameters, the store work and
    the answer, errors included. `before`: the `before` fault rules still apply."""
    app, request, ep, tenant = job.app, job.request, job.ep, job.tenant
    scope = request.scope
    method, path = scope["method"], scope["path"]
    headers = job.headers
    clock = tenant.clock
    try:
        sent = job.sent
        version = _version(app, sent.get(b"stripe-version"))
        headers["Stripe-Version"] = version
        if ep is None:
            raise unrecognized(method, path)
        if "\0" in path:  # (an id holding one names nothing: see `formdata._no_nul`)
            raise InvalidRequestError("Invalid null byte in the request URL.")
        headers.update(ep.headers)
        if before and (rule := app.faults.take(tenant.name, method, path, "before")):
            if rule.status is None:
                return _Answer(None, rule.delay_ms / 1000, resume=True)
            err = fault_error(rule.status)
            return _Answer(_error(err, clock, job, headers), rule.delay_ms / 1000)
        content_type = sent.get(b"content-type", "") if method == "POST" else ""
        if content_type.startswith("multipart/form-data"):
            decoded = formdata.decode_multipart(job.raw, content_type)
        else:
            decoded = formdata.decode(job.raw) if job.raw else {}
        turns.checkpoint()
        expand = decoded.pop("expand", None)  # a dict of its own: taking from it is safe
        # An open spec hands the raw tree to the handler, which checks it itself (sessions
        # choose their parameter set by API version).
        if ep.params.open:
            params = dict(decoded)
        elif decoded or ep.params.required:
            params = check(ep.params, decoded)
        else:
            params = {}  # nothing sent, nothing required (a retrieve): nothing to check
        if expand is not None:
            params["expand"] = EXPAND.check("expand", expand)
        turns.checkpoint()
        ctx = Ctx(
            tenant=StagedTenant(tenant),
            version=version,
            account_version=app.api_version,
            request_id=job.request_id,
            path=dict(scope.get("path_params", ())),
            events=app.events,
            faults=app.faults,
            due=app.due,
            key=job.key,
            expansions=app.expansions,
            allow_private_webhooks=app.allow_private_webhooks,
            # (On the loop by the server's choice, the request runs its due work there too.)
            on_loop=app.lanes.threads and _on_loop(),
            request_origin=lambda: f"{request.url.scheme}://{request.url.netloc}",
        )
        clock = ctx.clock
        idempotency_key = sent.get(b"idempotency-key") if method == "POST" else None
        if not ctx.on_loop:
            budget: contextlib.AbstractContextManager[None] = _UNBOUNDED
        else:
            budget = turns.on_loop(LOOP_BUDGET) if job.bounded else turns.LOOP
        if idempotency_key is None:
            with budget:
                done = _run(ctx, ep, params)
            if done.error is not None:
                raise done.error
            response = _finish(app, method, path, done, headers)
        else:
            ctx.idempotency_key = idempotency_key
            fingerprinted = decoded if expand is None else {**decoded, "expand": expand}
            with budget:
                response = _idempotent(app, ctx, ep, path, fingerprinted, params, headers)
    except (_LeaveLoop, turns.OutOfTurn):
        return _Answer(None, off_loop=True)
    except StripeError as err:
        return _Answer(_error(err, clock, job, headers))
    rule = app.faults.take(tenant.name, method, path, "after")
    if rule is not None and rule.status is not None:
        lost = _error(fault_error(rule.status), clock, job, headers)
        return _Answer(lost, rule.delay_ms / 1000)
    return _Answer(response, rule.delay_ms / 1000 if rule is not None else 0.0)


def _error(err: StripeError, clock: Clock, job: _Job, headers: dict[str, str]) -> Response:
    return error_response(err, job.request_id, clock.now(), headers)


class _Done(NamedTuple):
    status: int
    body: Any
    # A `Failed` answer: its error, to send once the request's writes are committed.
    error: StripeError | None = None


def _run(
    ctx: Ctx,
    ep: Endpoint,
    params: dict[str, Any],
    remember: Callable[[int, Any], None] | None = None,
) -> _Done:
    """Run the endpoint in one transaction of the store, committed only if it succeeds or
    answers `Failed` (a refused debit, a bank failing in the Stripe.js flow); an error it
    raises leaves the store as it was.

    A POST or DELETE holds the store's write lock from its first read to its commit, so two
    processes never both read a customer and both write their own change of it. A GET reads a
    snapshot without the lock; should it write after all (due work of the tenant clock) and find
    the store changed by another process, it runs once more, holding the lock. `remember` stages
    what an idempotency key replays, so it is committed with the request's writes.
    """
    write = ep.method != "GET"
    while True:
        try:
            with ctx.tenant.backend.transaction(ctx.tenant.name, write):
                ctx.tenant.begin()
                return _handle(ctx, ep, params, remember)
        except Conflict:
            if write:
                raise
            ctx.tenant.discard()
            write = True
        except Busy:
            ctx.tenant.discard()
            raise RateLimitError(LOCK_TIMEOUT, code="lock_timeout") from None
        except BaseException:
            ctx.tenant.discard()
            raise


def _handle(
    ctx: Ctx,
    ep: Endpoint,
    params: dict[str, Any],
    remember: Callable[[int, Any], None] | None,
) -> _Done:
    """The handler inside the transaction: the clock's due work, the handler, rendering, and
    the commit of what they staged."""
    due = ctx.clock.due_now()
    if due and ctx.on_loop:
        raise _LeaveLoop
    ctx.run_due(due)
    result = ep.handler(ctx, params)
    if isinstance(result, Failed):
        err = result.error
        if remember is not None:
            remember(err.status, err.body(ctx.request_id, ctx.now()))
        ctx.tenant.commit(last=True)
        return _Done(err.status, None, err)
    body = render(ctx, result, params.get("expand") or [])
    if remember is not None:
        remember(ep.status, body)
    ctx.tenant.commit(last=True)
    return _Done(ep.status, body)


def _finish(
    app: Services,
    method: str,
    path: str,
    done: _Done,
    headers: dict[str, str],
    encoded: bytes | None = None,
) -> Response:
    if isinstance(done.body, File):
        return Response(
            done.body.data, done.status, {**headers, "Content-Type": done.body.content_type}
        )
    if app.strict:
        violations = app.check_response(method, path, done.status, done.body)
        if violations:
            found = _header_text("; ".join(violations))
            headers = {**headers, "X-Fake-Stripe-Violations": found[:4000]}
    turns.checkpoint()
    return JSONResponse(done.status, done.body if encoded is None else Encoded(encoded), headers)


def _idempotent(
    app: Services,
    ctx: Ctx,
    ep: Endpoint,
    path: str,
    decoded: dict[str, Any],
    params: dict[str, Any],
    headers: dict[str, str],
) -> Response:
    key = ctx.idempotency_key or ""
    idem.check_key(key)
    # On every answer to the key, an error's too (`_serve` writes those from `headers`): the
    # key, and the request whose answer it is (a first answer names itself, as Stripe's do;
    # a replay names the first).
    headers["Idempotency-Key"] = key
    headers["Original-Request"] = ctx.request_id
    endpoint = f"{ep.method} {path}"
    fingerprint = idem.fingerprint(decoded)
    meta = "idem:" + key
    store = ctx.tenant.base
    record: dict[str, Any] = {
        "endpoint": endpoint,
        "fingerprint": fingerprint,
        "created": ctx.now(),
        "request_id": ctx.request_id,
        # A replay answers at the version its body was rendered at (`_replay`).
        "Stripe-Version": ctx.version,
        "in_flight": True,
        "claimed_at": time.time(),
    }
    earlier = idem.claim(store, key, record)
    if earlier is not None:
        idem.check_replay(earlier, key, path, endpoint, fingerprint)
        return _replay(earlier, headers)

    encoded: list[bytes] = []

    def remember(status: int, body: Any) -> None:
        if isinstance(body, File):
            ctx.tenant.meta_set(meta, idem.outcome(record, status, body))
            return
        encoded[:] = [body.json if isinstance(body, Encoded) else to_json(body)]
        ctx.tenant.meta_set(meta, idem.outcome_encoded(record, status, encoded[0]))

    try:
        done = _run(ctx, ep, params, remember)
    except ParamError:
        idem.release(store, key, record)
        raise
    except StripeError as err:
        if err.code == "lock_timeout":
            idem.release(store, key, record)  # nothing ran: a retry must run
        else:
            body = err.body(ctx.request_id, record["created"])
            store.meta_set(meta, idem.outcome(record, err.status, body))
        raise
    except (Exception, turns.OutOfTurn):
        # Nothing ran: a fault of the fake itself, or the request moving off the event loop
        # (its clock had work due, or it ran over its budget there); a retry (or the move)
        # runs it again.
        idem.release(store, key, record)
        raise
    if done.error is not None:
        raise done.error
    return _finish(app, ep.method, path, done, headers, encoded[0] if encoded else None)


def _replay(rec: dict[str, Any], headers: dict[str, str]) -> Response:
    replay = {
        **headers,
        "Idempotent-Replayed": "true",
        "Original-Request": rec["request_id"],
    }
    if "Stripe-Version" in rec:  # (a record stored before records kept it has none)
        replay["Stripe-Version"] = rec["Stripe-Version"]
    return json_response(rec["status"], rec["body"], replay)
