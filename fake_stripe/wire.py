"""Stripe's wire protocol: the one request pipeline every `/v1` endpoint goes through.

auth -> tenant -> version -> decode -> check params -> idempotency -> handler -> expand ->
render JSON -> (strict-mode check) -> headers. Errors at any step are StripeError instances,
rendered by one function; no other exception reaches the client as anything but a Stripe
`api_error`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from typing import Any

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
    StripeError,
)
from .core.params import EXPAND, check
from .core.render import render
from .core.tenant import StagedTenant, tenant_of

log = logging.getLogger("fake_stripe")

_KEY_RE = re.compile(r"^(sk|rk|pk)_(test|live)_[A-Za-z0-9_]+$")
IDEMPOTENCY_TTL = 24 * 3600

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
    m = _KEY_RE.match(cred)
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
        key = parse_key(request, ep.keys if ep else ("sk", "rk"))
        tenant = app.tenant(tenant_of(key))
        version = _version(app, request)
        base_headers["Stripe-Version"] = version
        if ep is None:
            raise unrecognized(method, path)
        await app.faults.before(tenant, method, path)
        raw = await request.body() if method == "POST" else request.scope["query_string"]
        decoded = formdata.decode(raw)
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
            request_id=request_id,
            path=dict(request.path_params),
            events=app.events,
            faults=app.faults,
            due=app.due,
            key=key,
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


def _run(ctx: Ctx, ep: Endpoint, params: dict[str, Any]) -> tuple[int, Any]:
    """Run the endpoint in the request's transaction: committed only if it succeeds (or fails
    with an error that reports an outcome, such as a bank failing in the Stripe.js flow)."""
    try:
        ctx.run_due()
        result = ep.handler(ctx, params)
        body = render(ctx, result, params.get("expand") or [])
    except StripeError as err:
        if err.commits:
            ctx.tenant.commit()
        raise
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
    if len(key) > 255:
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
    # Idempotency records live outside the request's transaction: a failed request's record
    # must be kept (or released) whatever happens to its writes.
    store = ctx.tenant.base
    stored = store.meta_get(meta)
    if stored is not None:
        rec = json.loads(stored)
        if now - rec["created"] > IDEMPOTENCY_TTL:
            rec = None
        elif rec["endpoint"] != endpoint:
            raise IdempotencyError(
                "Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{rec['endpoint'].split(' ', 1)[1]}' vs '{path}'). Try using a "
                f"key other than '{key}' if you meant to execute a different request."
            )
        elif rec["fingerprint"] != fingerprint:
            raise IdempotencyError(
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request."
            )
        elif rec.get("in_flight"):
            raise IdempotencyError(
                "There is currently another in-progress request using this Idempotent Key "
                "(that probably means you submitted twice, and the other request is still "
                "going through): "
                f"{key}. Please try again later.",
                code="idempotency_key_in_use",
                status=409,
            )
        else:
            replay = {
                **headers,
                "Idempotent-Replayed": "true",
                "Original-Request": rec["request_id"],
            }
            if "Stripe-Version" in rec:
                replay["Stripe-Version"] = rec["Stripe-Version"]
            return json_response(rec["status"], rec["body"], replay)
    record: dict[str, Any] = {
        "endpoint": endpoint,
        "fingerprint": fingerprint,
        "created": now,
        "request_id": ctx.request_id,
        "in_flight": True,
    }
    store.meta_set(meta, json.dumps(record))
    try:
        status, body = _run(ctx, ep, params)
    except ParamError:
        store.meta_set(meta, json.dumps({**record, "created": -IDEMPOTENCY_TTL - 1}))
        raise
    except StripeError as err:
        body = err.body(ctx.request_id, now)
        record.update(status=err.status, body=body, in_flight=False)
        store.meta_set(meta, json.dumps(record))
        raise
    except Exception:
        # A fault of the fake itself: forget the key so a retry runs again.
        store.meta_set(meta, json.dumps({**record, "created": -IDEMPOTENCY_TTL - 1}))
        raise
    record.update(status=status, body=body, in_flight=False)
    store.meta_set(meta, json.dumps(record))
    return _finish(app, ctx, ep.method, path, status, body, headers)
