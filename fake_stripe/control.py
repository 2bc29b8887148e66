"""Server-wide operations under `/_fake/`: health and reset.

On a loopback bind they are open; bound elsewhere, they need `--control-token` as a Bearer token.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from . import formdata
from .errors import AuthenticationError, ParamError, StripeError
from .tenant import tenant_of
from .wire import error_response, json_response

if TYPE_CHECKING:
    from .app import FakeStripe


def _guard(fake: FakeStripe, request: Request) -> None:
    if fake.control_token is None:
        return
    header = request.headers.get("authorization", "")
    token = header.partition(" ")[2].strip() if header.lower().startswith("bearer ") else ""
    if token != fake.control_token:
        raise AuthenticationError(
            "The /_fake/ control routes need the server's control token "
            "(Authorization: Bearer <token>, as given with --control-token)."
        )


def routes(fake: FakeStripe) -> list[BaseRoute]:
    async def health(request: Request) -> Response:
        rid = fake.request_id()
        try:
            _guard(fake, request)
        except StripeError as err:
            return error_response(fake, err, rid, fake.wall_now(), {})
        body = {
            "status": "ok",
            "uptime_seconds": round(time.time() - fake.started, 3),
            "store": type(fake.backend).__name__,
            "seed": fake.seed,
            "api_version": fake.api_version,
            "strict": fake.strict,
        }
        return json_response(200, body, {"Request-Id": rid})

    async def reset(request: Request) -> Response:
        """`POST /_fake/reset` (all tenants) or with `key=sk_test_X` (one tenant)."""
        rid = fake.request_id()
        try:
            _guard(fake, request)
            params = formdata.decode(await request.body())
            params.update(formdata.decode(request.url.query))
            key = params.pop("key", None)
            if params:
                raise ParamError(
                    f"Received unknown parameter: {next(iter(params))}",
                    code="parameter_unknown",
                    param=next(iter(params)),
                )
            if key is not None and (not isinstance(key, str) or key.count("_") < 2):
                raise ParamError("Invalid key: expected an API key like sk_test_X", param="key")
            tenant = tenant_of(key) if isinstance(key, str) else None
            fake.reset(tenant)
        except StripeError as err:
            return error_response(fake, err, rid, fake.wall_now(), {})
        return Response(
            json.dumps({"reset": tenant or "all"}),
            media_type="application/json",
            headers={"Request-Id": rid},
        )

    return [
        Route("/_fake/health", health, methods=["GET"]),
        Route("/_fake/reset", reset, methods=["POST"]),
    ]
