"""The application: `create_app` and the one routes table that lists every URL."""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from . import control, customers, events
from .events import EventLog
from .faults import Faults
from .store import Backend, open_backend
from .tenant import Tenant
from .wire import DEFAULT_API_VERSION, Endpoint, dispatch, error_response

log = logging.getLogger("fake_stripe")

ALL_METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD"]

Validator = Callable[[str, str, int, Any], list[str]]


class FakeStripe:
    """Server-wide state: the store, the seed, the default version, strict mode."""

    def __init__(
        self,
        backend: Backend,
        seed: int | None,
        api_version: str,
        frozen_at: int | None,
        strict: bool,
        control_token: str | None,
    ) -> None:
        self.backend = backend
        self.seed = (
            seed
            if seed is not None
            else int.from_bytes(hashlib.sha256(str(time.time_ns()).encode()).digest()[:4], "big")
        )
        self.api_version = api_version
        self.frozen_at = frozen_at
        self.strict = strict
        self.control_token = control_token
        self.events = EventLog()
        self.faults = Faults()
        self.validator: Validator | None = None
        self.violations: list[str] = []
        self._req_counter = itertools.count(1)
        self._tenants: dict[str, Tenant] = {}
        self.started = time.time()

    def tenant(self, name: str) -> Tenant:
        t = self._tenants.get(name)
        if t is None:
            t = self._tenants[name] = Tenant(self.backend, name, self.seed, self.frozen_at)
        return t

    def reset(self, name: str | None) -> None:
        self.backend.reset(name)
        self.faults.reset(name)

    def request_id(self) -> str:
        n = next(self._req_counter)
        digest = hashlib.sha256(f"{self.seed}:req:{n}".encode()).hexdigest()
        return "req_" + digest[:14]

    def wall_now(self) -> int:
        return int(time.time()) if self.frozen_at is None else self.frozen_at

    def check_response(self, method: str, path: str, status: int, body: Any) -> list[str]:
        if not self.strict or self.validator is None:
            return []
        found = self.validator(method, path, status, body)
        if found:
            log.warning("response violates the recorded spec: %s %s: %s", method, path, found)
            self.violations.extend(f"{method} {path}: {v}" for v in found)
        return found


def _v1_routes(table: list[Endpoint], fake: FakeStripe) -> list[BaseRoute]:
    by_path: dict[str, dict[str, Endpoint]] = {}
    for ep in table:
        by_path.setdefault(ep.path, {})[ep.method] = ep
    routes: list[BaseRoute] = []
    for path, eps in by_path.items():
        routes.append(Route(path, _endpoint(fake, eps), methods=ALL_METHODS))
    return routes


def _endpoint(
    fake: FakeStripe, eps: dict[str, Endpoint]
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await dispatch(fake, request, eps)

    return endpoint


def routes_table() -> list[Endpoint]:
    """Every Stripe API endpoint the fake implements."""
    E = Endpoint
    return [
        E("POST", "/v1/customers", customers.create, customers.CREATE),
        E("GET", "/v1/customers", customers.list_, customers.LIST),
        E("GET", "/v1/customers/{customer}", customers.retrieve, customers.NO_PARAMS),
        E("POST", "/v1/customers/{customer}", customers.update, customers.UPDATE),
        E("DELETE", "/v1/customers/{customer}", customers.delete, customers.NO_PARAMS),
        E("GET", "/v1/events", events.list_, events.LIST),
        E("GET", "/v1/events/{id}", events.retrieve, events.RETRIEVE),
    ]


def create_app(
    *,
    db: str | None = None,
    seed: int | None = None,
    api_version: str = DEFAULT_API_VERSION,
    frozen_at: int | None = None,
    strict: bool = False,
    control_token: str | None = None,
    backend: Backend | None = None,
) -> Starlette:
    """The fake Stripe server as an ASGI app (in-process, or under uvicorn)."""
    fake = FakeStripe(
        backend or open_backend(db), seed, api_version, frozen_at, strict, control_token
    )
    if strict:
        from .spec import load_spec

        spec = load_spec()
        if spec is not None:
            fake.validator = lambda m, p, s, b: [str(v) for v in spec.validate_response(m, p, s, b)]

    async def not_found(request: Request) -> Response:
        return await dispatch(fake, request, {})

    routes: list[BaseRoute] = [
        *_v1_routes(routes_table(), fake),
        *control.routes(fake),
        Route("/{rest:path}", not_found, methods=ALL_METHODS),
    ]

    async def server_error(request: Request, exc: Exception) -> Response:
        from .errors import APIError

        log.exception("fake_stripe internal error on %s %s", request.method, request.url.path)
        err = APIError("An unknown error occurred in the fake Stripe server.")
        return error_response(fake, err, fake.request_id(), fake.wall_now(), {})

    app = Starlette(routes=routes, exception_handlers={Exception: server_error})
    app.state.fake = fake
    return app
