"""Server-wide operations under `/_fake/`: health and reset.

On a loopback bind they are open; bound elsewhere, they need `--control-token` as a Bearer token.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from ..core.errors import ParamError, unknown_param
from ..core.tenant import tenant_of
from ..wire import decode_form
from .guard import ControlServer, server_route, uptime


def routes(server: ControlServer) -> list[BaseRoute]:
    async def health(request: Request) -> Any:
        return {
            "status": "ok",
            "uptime_seconds": uptime(server),
            "store": type(server.backend).__name__,
            "seed": server.seed,
            "api_version": server.api_version,
            "strict": server.strict,
        }

    async def reset(request: Request) -> Any:
        """`POST /_fake/reset` (all tenants) or with `key=sk_test_X` (one tenant)."""
        params = await decode_form(await request.body())
        params.update(await decode_form(request.url.query))
        key = params.pop("key", None)
        if params:
            raise unknown_param(next(iter(params)))
        tenant = None
        if key is not None:
            try:
                tenant = tenant_of(key if isinstance(key, str) else "")
            except ValueError:
                raise ParamError(
                    "Invalid key: expected an API key like sk_test_X", param="key"
                ) from None
        server.reset(tenant)
        return {"reset": tenant or "all"}

    return [
        Route("/_fake/health", server_route(server, health), methods=["GET"]),
        Route("/_fake/reset", server_route(server, reset), methods=["POST"]),
    ]
