"""The one guard every `/_fake/` route goes through, and what the control plane needs of the
server.

Server-wide routes (health, reset, the OpenAPI document) need the server's control token when one
is set (always, off loopback). Per-tenant routes (the webhook journal and settings) take the
tenant's own API key, as `/v1` does. Either way the route gets a request id, and a Stripe error
is rendered as on `/v1`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from ..core.context import Services
from ..core.errors import AuthenticationError, StripeError
from ..core.store import Backend
from ..core.tenant import Tenant
from ..webhooks.delivery import Deliveries
from ..wire import authenticate, error_response, json_response


class ControlServer(Services, Protocol):
    """What `/_fake/` routes read and change (`FakeStripe` provides it)."""

    backend: Backend
    control_token: str | None
    seed: int
    strict: bool
    started: float
    webhooks: Deliveries

    def reset(self, name: str | None) -> None: ...


def check_control_token(server: ControlServer, request: Request) -> None:
    if server.control_token is None:
        return
    header = request.headers.get("authorization", "")
    token = header.partition(" ")[2].strip() if header.lower().startswith("bearer ") else ""
    if token != server.control_token:
        raise AuthenticationError(
            "The /_fake/ control routes need the server's control token "
            "(Authorization: Bearer <token>, as given with --control-token)."
        )


def tenant_of_request(server: ControlServer, request: Request) -> Tenant:
    """The caller's tenant, from its API key (`Authorization`, as on `/v1`)."""
    return authenticate(server, request, ("sk", "rk"))[1]


ServerRun = Callable[[Request], Awaitable[Any]]
TenantRun = Callable[[Request, Tenant], Awaitable[Any]]


def _respond(rid: str, body: Any) -> Response:
    if isinstance(body, Response):
        body.headers["Request-Id"] = rid
        return body
    return json_response(200, body, {"Request-Id": rid})


def server_route(server: ControlServer, run: ServerRun) -> Callable[[Request], Awaitable[Response]]:
    """A server-wide route: the control token, then `run`; its result is sent as JSON."""

    async def endpoint(request: Request) -> Response:
        rid = server.request_id()
        try:
            check_control_token(server, request)
            body = await run(request)
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
            tenant = tenant_of_request(server, request)
            body = await run(request, tenant)
        except StripeError as err:
            now = tenant.now() if tenant is not None else server.wall_now()
            return error_response(err, rid, now, {})
        return _respond(rid, body)

    return endpoint


def uptime(server: ControlServer) -> float:
    return round(time.time() - server.started, 3)
