"""The one guard every `/_fake/` route goes through, and what the control plane needs of the
server.

Server-wide routes (health, reset, the OpenAPI document) need the server's control token when one
is set (always, off loopback). Per-tenant routes (the webhook journal and settings) take the
tenant's own API key, as `/v1` does. Either way the route gets a request id, and a Stripe error
is rendered as on `/v1`.

Every route refuses cross-site requests first, unless they carry the control token: a web page
the developer visits must not reset the server with a "simple" cross-origin POST (the browser
sends it without asking), nor reach it through DNS rebinding (its own host name resolving to
127.0.0.1, so that the browser deems the server same-origin). The Stripe.js routes are not
here: they are meant to be called from other origins. The rebinding check (`foreign_host`)
guards every other route too, `/v1` and Stripe.js included (`Edge` applies it), with no token
to lift it there.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import ipaddress
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from ..core.context import Services
from ..core.errors import AuthenticationError, PermissionError, RateLimitError, StripeError
from ..core.store import Backend, Busy
from ..core.tenant import Tenant
from ..wire import LOCK_TIMEOUT, authenticate, error_response, json_response

if TYPE_CHECKING:
    from ..webhooks.delivery import Deliveries


class ControlServer(Services, Protocol):
    """What `/_fake/` routes read and change (`FakeStripe` provides it)."""

    backend: Backend
    control_token: str | None
    seed: int
    strict: bool
    started: float

    @property
    def webhooks(self) -> Deliveries: ...

    def reset(self, name: str | None) -> None: ...


def _presents_token(server: ControlServer, request: Request) -> bool:
    if server.control_token is None:
        return False
    header = request.headers.get("authorization", "")
    token = header.partition(" ")[2].strip() if header.lower().startswith("bearer ") else ""
    return hmac.compare_digest(token.encode(), server.control_token.encode())


def check_control_token(server: ControlServer, request: Request) -> None:
    if server.control_token is not None and not _presents_token(server, request):
        raise AuthenticationError(
            "The /_fake/ control routes need the server's control token "
            "(Authorization: Bearer <token>, as given with --control-token)."
        )


# Asked on every request with the server's address and the Host header's name: a few names.
@functools.lru_cache(maxsize=256)
def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(host: str) -> str:
    """`Host` without its port: `127.0.0.1:12180` -> `127.0.0.1`, `[::1]:80` -> `[::1]`."""
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rpartition(":")[0] if ":" in host else host


def foreign_host(scope: Scope, host: bytes | None = None) -> str | None:
    """Why a request reached a loopback server under a name that is not a loopback one (as a
    page rebound to 127.0.0.1 does), or None. Only a loopback server can be reached through DNS
    rebinding alone; one bound elsewhere is reachable by anyone anyway. In-process calls have no
    socket and a server name of their own, and pass. `host`: the `Host` header's value, when
    the caller has found it already."""
    server = scope.get("server")
    if not server:
        return None
    if host is None:
        host = next((v for k, v in scope["headers"] if k == b"host"), None)
        if host is None:
            return None  # browsers always send one; an HTTP/1.0 tool need not
    return _foreign(str(server[0]), host)


# A client sends the same Host on every request: the answer is kept for a few of them.
@functools.lru_cache(maxsize=256)
def _foreign(server: str, header: bytes) -> str | None:
    if not _is_loopback(server):
        return None
    host = header.decode("latin-1")
    name = _host_name(host.lower())
    # After the name only a port may follow (`localhost:80@evil.example` is no loopback name).
    port = host[len(name) :]
    if port and not (port[0] == ":" and port[1:].isascii() and port[1:].isdigit()):
        return f"the Host header ({host[:100]!r}) is not a name with a port"
    # 0.0.0.0 and [::] reach this machine as loopback does, and no page can own them as its
    # origin: a page calling them is an ordinary cross-origin request.
    if _is_loopback(name) or name in ("0.0.0.0", "[::]"):
        return None
    return f"the Host header ({host[:100]!r}) is not a loopback name or address"


def rebinding_refused(reason: str) -> PermissionError:
    # Fake-only: no Stripe wording to follow.
    return PermissionError(
        f"This fake-stripe server answers only requests addressed to it by a loopback name: "
        f"{reason}. A web page may be trying DNS rebinding. Call it at http://127.0.0.1 or "
        "http://localhost."
    )


def _cross_site(request: Request) -> str | None:
    """Why this request looks sent by another site, or None."""
    host = request.headers.get("host", "")
    reason = foreign_host(request.scope)
    if reason is not None:
        return reason
    origin = request.headers.get("origin")
    if origin is not None and origin.lower() != f"{request.url.scheme}://{host}".lower():
        return f"the request comes from another origin ({origin[:100]!r})"
    if request.headers.get("sec-fetch-site", "").lower() in ("cross-site", "same-site"):
        return "the browser marks the request as sent by another site"
    return None


def check_same_site(server: ControlServer, request: Request) -> None:
    """Refuse a cross-site request (see the module's docstring); the control token lifts this."""
    if _presents_token(server, request):
        return
    reason = _cross_site(request)
    if reason is not None:
        # Fake-only: no Stripe wording to follow.
        raise PermissionError(
            f"The /_fake/ control routes refuse requests from other sites: {reason}. Call "
            "them at http://127.0.0.1 or http://localhost (not from a web page), or send the "
            "server's control token (Authorization: Bearer <token>)."
        )


def tenant_of_request(server: ControlServer, request: Request) -> Tenant:
    """The caller's tenant, from its API key (`Authorization`, as on `/v1`)."""
    return authenticate(server, request, ("sk", "rk"))[1]


Work = Coroutine[Any, Any, Any]
ServerRun = Callable[[Request], Work]
TenantRun = Callable[[Request, Tenant], Work]


def _respond(rid: str, body: Any) -> Response:
    if isinstance(body, Response):
        body.headers["Request-Id"] = rid
        return body
    return json_response(200, body, {"Request-Id": rid})


# The lane of the server-wide routes (`core.lanes`), apart from every tenant's.
SERVER_LANE = "/_fake"


async def _off_loop(server: ControlServer, lane: str, work: Callable[[], Work]) -> Any:
    """A route's work where `/v1`'s runs: on a worker thread under a server, in `lane`, since
    its store calls may wait for a lock (SQLite's, a tenant's on PostgreSQL) or walk a tenant's
    state; on the caller's thread in-process. The body is read first, on the loop: the work,
    on a loop of its own in the thread, finds it there. A lock not had in time is `/v1`'s 429."""
    try:
        if asyncio.current_task() is None or not server.lanes.threads:
            return await work()
        return await server.lanes.run(lane, lambda: asyncio.run(work()))
    except Busy:
        raise RateLimitError(LOCK_TIMEOUT, code="lock_timeout") from None


def server_route(server: ControlServer, run: ServerRun) -> Callable[[Request], Awaitable[Response]]:
    """A server-wide route: the control token, then `run`; its result is sent as JSON."""

    async def endpoint(request: Request) -> Response:
        rid = server.request_id()
        try:
            check_same_site(server, request)
            check_control_token(server, request)
            await request.body()
            body = await _off_loop(server, SERVER_LANE, lambda: run(request))
        except StripeError as err:
            return error_response(err, rid, server.wall_now(), {})
        return _respond(rid, body)

    return endpoint


def tenant_route(server: ControlServer, run: TenantRun) -> Callable[[Request], Awaitable[Response]]:
    """A per-tenant route: the caller's API key picks the tenant, then `run`."""

    async def endpoint(request: Request) -> Response:
        rid = server.request_id()
        tenant: Tenant | None = None
        try:
            check_same_site(server, request)
            tenant = tenant_of_request(server, request)
            await request.body()
            t = tenant
            body = await _off_loop(server, tenant.name, lambda: run(request, t))
        except StripeError as err:
            now = tenant.now() if tenant is not None else server.wall_now()
            return error_response(err, rid, now, {})
        return _respond(rid, body)

    return endpoint


def uptime(server: ControlServer) -> float:
    return round(time.time() - server.started, 3)
