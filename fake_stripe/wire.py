"""Stripe's wire protocol: the one request pipeline every `/v1` endpoint goes through.

auth -> tenant -> version -> decode -> check params -> idempotency -> handler -> expand ->
render JSON -> (strict-mode check) -> headers. Errors at any step are StripeError instances,
rendered by one function; no other exception reaches the client as anything but a Stripe
`api_error`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import anyio
from pydantic_core import to_json
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .core import formdata
from .core.context import VERSION_RE, Ctx, Endpoint, Services
from .core.errors import (
    AuthenticationError,
    IdempotencyError,
    InvalidRequestError,
    ParamError,
    RateLimitError,
    StripeError,
)
from .core.params import EXPAND, check
from .core.raw import File
from .core.render import render
from .core.store import Busy, Conflict
from .core.tenant import KEY_RE, StagedTenant, Tenant, tenant_of

log = logging.getLogger("fake_stripe")

IDEMPOTENCY_TTL = 24 * 3600
# A key still in flight this long after its claim was claimed by a process that died (the
# outcome is committed with the request's writes, and requests last milliseconds).
IN_FLIGHT_ABANDONED = 30.0
# GUESS (docs/guesses.md): the code is Stripe's (`lock_timeout`, 429); the wording is ours.
LOCK_TIMEOUT = (
    "This object cannot be accessed right now because another API request is using it. "
    "Retry the request."
)

NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details, or we can help at "
    "https://support.stripe.com/."
)


def mask_key(key: str) -> str:
    """Stripe keeps the first 8 and last 4 characters and the length: `sk_test_****Aso0`."""
    if len(key) <= 12:
        return key[:8] + "*" * max(0, len(key) - 8)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


def parse_key(request: Request, allow: tuple[str, ...]) -> str:
    """The API key from `Authorization: Bearer` or Basic (key as username). Returns the key."""
    header = request.headers.get("authorization")
    if not header:
        raise AuthenticationError(NO_KEY)
    scheme, _, cred = header.strip().partition(" ")
    cred = cred.strip()
    if scheme.lower() == "basic":
        try:
            cred = base64.b64decode(cred, validate=True).decode("utf-8").partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            raise AuthenticationError(
                "Invalid API Key provided: the Basic credentials are not valid base64."
            ) from None
    elif scheme.lower() != "bearer":
        raise AuthenticationError(f"Invalid API Key provided: {mask_key(header.strip())[:40]}")
    if not cred:
        raise AuthenticationError(NO_KEY)
    m = KEY_RE.fullmatch(cred)
    if not m:
        raise AuthenticationError(f"Invalid API Key provided: {mask_key(cred)}")
    if m.group(2) == "live":
        raise AuthenticationError(
            f"This fake Stripe server never accepts live-mode API keys ({mask_key(cred)}). "
            "Use a test-mode key such as sk_test_..., which gets its own isolated test world."
        )
    if m.group(1) not in allow:
        if m.group(1) == "pk":
            raise AuthenticationError(
                "This API call cannot be made with a publishable API key. Please use a secret "
                "API key. You can find a list of your API keys at "
                "https://dashboard.stripe.com/account/apikeys.",
                code="secret_key_required",
            )
        raise AuthenticationError(f"Invalid API Key provided: {mask_key(cred)}")
    return cred


def authenticate(app: Services, request: Request, allow: tuple[str, ...]) -> tuple[str, Tenant]:
    """The request's API key and its tenant: the one way from a key to a tenant, for `/v1`,
    the Stripe.js endpoints and the `/_fake/` routes alike."""
    key = parse_key(request, allow)
    return key, app.tenant(tenant_of(key))


# Bodies and query strings longer than this are decoded in a worker thread. The decoder is
# linear, but a body at the size limit still takes tens of milliseconds in the worst shapes
# (10,000 short pairs); below this size no shape takes more than a few.
DECODE_INLINE_MAX = 8 * 1024


async def decode_form(raw: bytes | str, content_type: str = "") -> dict[str, Any]:
    """`formdata.decode` (or, for a file upload, `decode_multipart`), off the event loop when
    the input is large."""
    if content_type.startswith("multipart/form-data") and isinstance(raw, bytes):
        decode = functools.partial(formdata.decode_multipart, content_type=content_type)
        if len(raw) <= DECODE_INLINE_MAX:
            return decode(raw)
        return await anyio.to_thread.run_sync(decode, raw)
    if len(raw) <= DECODE_INLINE_MAX:
        return formdata.decode(raw)
    return await anyio.to_thread.run_sync(formdata.decode, raw)


class JSONResponse(Response):
    """Every answer of the API: compact JSON with its headers, sent in two ASGI messages.

    Starlette's `Response` would rebuild and re-check the header list and look for a background
    task on every request; this one knows its headers are plain strings and it has no task.
    """

    def __init__(self, status: int, body: Any, headers: dict[str, str]) -> None:
        # pydantic-core's serializer: the same compact JSON as json.dumps, several times faster
        self.body = to_json(body)
        self.status_code = status
        self.background = None
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        raw.append((b"content-length", str(len(self.body)).encode("latin-1")))
        raw.append((b"content-type", b"application/json"))
        self.raw_headers = raw

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": self.body})


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


def _version(app: Services, request: Request) -> str:
    v = request.headers.get("stripe-version")
    if v is None:
        return app.api_version
    v = v.strip()
    if not VERSION_RE.match(v):
        raise InvalidRequestError(f"Invalid Stripe API version: {v[:64]}")
    return v


async def dispatch(app: Services, request: Request, endpoints: dict[str, Endpoint]) -> Response:
    request_id = app.request_id()
    method = request.method
    base_headers = {"Request-Id": request_id}
    tenant = None
    path: str = request.scope["path"]
    try:
        ep = endpoints.get(method)
        key, tenant = authenticate(app, request, ep.keys if ep else ("sk", "rk"))
        version = _version(app, request)
        base_headers["Stripe-Version"] = version
        if ep is None:
            raise unrecognized(method, path)
        base_headers.update(ep.headers)
        await app.faults.before(tenant, method, path)
        if method == "POST":
            decoded = await decode_form(
                await request.body(), request.headers.get("content-type", "")
            )
        else:
            decoded = await decode_form(request.scope["query_string"])
        expand = decoded.get("expand")
        decoded = {k: v for k, v in decoded.items() if k != "expand"}
        # An open spec hands the raw tree to the handler, which checks it itself (sessions
        # choose their parameter set by API version).
        params = dict(decoded) if ep.params.extra.get("open") else check(ep.params, decoded)
        if expand is not None:
            params["expand"] = EXPAND.check("expand", expand)
        ctx = Ctx(
            tenant=StagedTenant(tenant),
            version=version,
            account_version=app.api_version,
            request_id=request_id,
            path=dict(request.path_params),
            events=app.events,
            faults=app.faults,
            due=app.due,
            key=key,
            expansions=app.expansions,
        )
        if method == "POST" and (idem := request.headers.get("idempotency-key")) is not None:
            ctx.idempotency_key = idem
            fingerprinted = decoded if expand is None else {**decoded, "expand": expand}
            response = _idempotent(app, ctx, ep, path, fingerprinted, params, base_headers)
        else:
            status, body = _run(ctx, ep, params)
            response = _finish(app, ctx, method, path, status, body, base_headers)
        await app.faults.after(tenant, method, path)
        return response
    except StripeError as err:
        now = tenant.now() if tenant is not None else app.wall_now()
        return error_response(err, request_id, now, base_headers)


def _run(
    ctx: Ctx,
    ep: Endpoint,
    params: dict[str, Any],
    remember: Callable[[int, Any], None] | None = None,
) -> tuple[int, Any]:
    """Run the endpoint in one transaction of the store: committed only if it succeeds (or
    fails with an error that reports an outcome, such as a bank failing in the Stripe.js flow).

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
                outcome = _handle(ctx, ep, params, remember)
            break
        except Conflict:
            if write:
                raise
            ctx.tenant.discard()
            write = True
        except Busy:
            ctx.tenant.discard()
            raise RateLimitError(LOCK_TIMEOUT, code="lock_timeout") from None
    if isinstance(outcome, StripeError):
        raise outcome
    return outcome


def _handle(
    ctx: Ctx,
    ep: Endpoint,
    params: dict[str, Any],
    remember: Callable[[int, Any], None] | None,
) -> tuple[int, Any] | StripeError:
    """The handler inside the transaction. A Stripe error is returned, not raised: the
    transaction still commits what the store did meanwhile (ids handed out stay used, as with
    the memory store), and the staged writes only if the error reports an outcome."""
    try:
        ctx.run_due()
        result = ep.handler(ctx, params)
        body = render(ctx, result, params.get("expand") or [])
    except StripeError as err:
        if err.commits:
            if remember is not None:
                remember(err.status, err.body(ctx.request_id, ctx.now()))
            ctx.tenant.commit()
        return err
    if remember is not None:
        remember(ep.status, body)
    ctx.tenant.commit()
    return ep.status, body


def _finish(
    app: Services,
    ctx: Ctx,
    method: str,
    path: str,
    status: int,
    body: Any,
    headers: dict[str, str],
) -> Response:
    if isinstance(body, File):
        return Response(body.data, status, {**headers, "Content-Type": body.content_type})
    violations = app.check_response(method, path, status, body)
    if violations:
        headers = {**headers, "X-Fake-Stripe-Violations": "; ".join(violations)[:4000]}
    return json_response(status, body, headers)


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
    if not 1 <= len(key) <= 255:
        raise InvalidRequestError(
            f"Idempotent key length is {len(key)}, which is outside accepted lengths. "
            "Idempotent Keys must be 1-255 characters long. If you're looking for a decent "
            "generator, try using a UUID defined by IETF RFC 4122."
        )
    headers = {**headers, "Idempotency-Key": key}
    endpoint = f"{ep.method} {path}"
    fingerprint = hashlib.sha256(json.dumps(decoded, sort_keys=True).encode()).hexdigest()
    meta = "idem:" + key
    now = ctx.now()
    # The key is claimed before the request runs, outside its transaction, with an atomic
    # compare-and-set: of two processes racing with one key, one wins and the other sees it in
    # flight (409) or replays it. The outcome is written in the request's own transaction, so
    # a record still in flight long after its claim belongs to a process that died before
    # committing anything: it may be claimed again.
    store = ctx.tenant.base
    record: dict[str, Any] = {
        "endpoint": endpoint,
        "fingerprint": fingerprint,
        "created": now,
        "request_id": ctx.request_id,
        "in_flight": True,
        "claimed_at": time.time(),
    }
    claim = json.dumps(record)
    for _ in range(8):
        stored = store.meta_get(meta)
        rec = None if stored is None else json.loads(stored)
        if rec is not None and now - rec["created"] > IDEMPOTENCY_TTL:
            rec = None  # expired, or released by a request that must run again
        if rec is not None and rec.get("in_flight"):
            if time.time() - rec.get("claimed_at", 0) > IN_FLIGHT_ABANDONED:
                rec = None
        if rec is not None:
            return _replay(rec, key, path, endpoint, fingerprint, headers)
        if store.backend.meta_swap(store.name, meta, stored, claim):
            break
    else:
        raise _in_use(key)

    def remember(status: int, body: Any) -> None:
        ctx.tenant.meta_set(
            meta, json.dumps({**record, "status": status, "body": body, "in_flight": False})
        )

    released = json.dumps({**record, "created": -IDEMPOTENCY_TTL - 1, "in_flight": False})
    try:
        status, body = _run(ctx, ep, params, remember)
    except ParamError:
        store.meta_set(meta, released)
        raise
    except StripeError as err:
        if err.code == "lock_timeout":
            store.meta_set(meta, released)  # nothing ran: a retry must run
        elif not err.commits:
            body = err.body(ctx.request_id, now)
            store.meta_set(
                meta, json.dumps({**record, "status": err.status, "body": body, "in_flight": False})
            )
        raise
    except Exception:
        # A fault of the fake itself: forget the key so a retry runs again.
        store.meta_set(meta, released)
        raise
    return _finish(app, ctx, ep.method, path, status, body, headers)


def _in_use(key: str) -> IdempotencyError:
    return IdempotencyError(
        "There is currently another in-progress request using this Idempotent Key "
        "(that probably means you submitted twice, and the other request is still "
        f"going through): {key}. Please try again later.",
        code="idempotency_key_in_use",
        status=409,
    )


def _replay(
    rec: dict[str, Any],
    key: str,
    path: str,
    endpoint: str,
    fingerprint: str,
    headers: dict[str, str],
) -> Response:
    if rec["endpoint"] != endpoint:
        raise IdempotencyError(
            "Keys for idempotent requests can only be used for the same endpoint they were "
            f"first used for ('{rec['endpoint'].split(' ', 1)[1]}' vs '{path}'). Try using a "
            f"key other than '{key}' if you meant to execute a different request."
        )
    if rec["fingerprint"] != fingerprint:
        raise IdempotencyError(
            "Keys for idempotent requests can only be used with the same parameters they "
            f"were first used with. Try using a key other than '{key}' if you meant to "
            "execute a different request."
        )
    if rec.get("in_flight"):
        raise _in_use(key)
    replay = {
        **headers,
        "Idempotent-Replayed": "true",
        "Original-Request": rec["request_id"],
    }
    if "Stripe-Version" in rec:
        replay["Stripe-Version"] = rec["Stripe-Version"]
    return json_response(rec["status"], rec["body"], replay)
