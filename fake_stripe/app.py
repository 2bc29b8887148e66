"""The application: `create_app` and the one routes table that lists every URL."""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from . import (
    control,
    customers,
    delivery,
    events,
    fc_accounts,
    fc_domain,
    fc_sessions,
    institutions,
    openapi_doc,
    payment_methods,
    setup_intents,
    stripejs,
    test_helpers,
    webhooks,
)
from .delivery import Deliveries, RetrySchedule
from .events import EventLog
from .faults import Faults
from .store import Backend, open_backend
from .tenant import Tenant
from .wire import DEFAULT_API_VERSION, Ctx, Endpoint, dispatch, error_response

log = logging.getLogger("fake_stripe")

ALL_METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD"]

Validator = Callable[[str, str, int, Any], list[str]]


class FakeStripe:
    """Server-wide state: the store, the seed, the default version, strict mode."""

    webhooks: Deliveries  # set by webhooks.install

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
        # run for every authenticated /v1 request before its handler (the tenant clock's due work)
        self.request_hooks: list[Callable[[Ctx], None]] = [fc_domain.run_due]
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
        self.webhooks.reset(name)

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


class V1Router:
    """The `/v1` routes table as an ASGI app in front of Starlette's router.

    Every `/v1` request takes this path: a dict lookup for fixed paths, one regex per shape for
    the others; anything it does not know falls through to the Starlette app (catch-all 404).
    """

    def __init__(self, app: ASGIApp, fake: FakeStripe, table: list[Endpoint]) -> None:
        self.fake = fake
        self.fallback = app
        self.fixed: dict[str, dict[str, Endpoint]] = {}
        self.patterns: list[tuple[re.Pattern[str], dict[str, Endpoint]]] = []
        shapes: dict[str, dict[str, Endpoint]] = {}
        for ep in table:
            target = self.fixed if "{" not in ep.path else shapes
            target.setdefault(ep.path, {})[ep.method] = ep
        for path, eps in shapes.items():
            regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
            self.patterns.append((re.compile(f"^{regex}$"), eps))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v1/"):
            await self.fallback(scope, receive, send)
            return
        eps = self.fixed.get(path)
        if eps is None:
            for regex, candidates in self.patterns:
                m = regex.match(path)
                if m is not None:
                    scope["path_params"] = m.groupdict()
                    eps = candidates
                    break
            else:
                await self.fallback(scope, receive, send)
                return
        else:
            scope["path_params"] = {}
        request = Request(scope, receive)
        try:
            response = await dispatch(self.fake, request, eps)
        except Exception:
            log.exception("fake_stripe internal error on %s %s", request.method, path)
            from .errors import APIError

            err = APIError("An unknown error occurred in the fake Stripe server.")
            response = error_response(self.fake, err, self.fake.request_id(),
                                      self.fake.wall_now(), {})
        await response(scope, receive, send)


def routes_table() -> list[Endpoint]:
    """Every Stripe API endpoint the fake implements."""
    E = Endpoint
    fc = "/v1/financial_connections"
    th = "/v1/test_helpers/financial_connections"
    pm = payment_methods
    return [
        E("POST", "/v1/customers", customers.create, customers.CREATE),
        E("GET", "/v1/customers", customers.list_, customers.LIST),
        E("GET", "/v1/customers/{customer}", customers.retrieve, customers.NO_PARAMS),
        E("POST", "/v1/customers/{customer}", customers.update, customers.UPDATE),
        E("DELETE", "/v1/customers/{customer}", customers.delete, customers.NO_PARAMS),
        E("GET", "/v1/events", events.list_, events.LIST),
        E("GET", "/v1/events/{id}", events.retrieve, events.RETRIEVE),
        # Financial Connections
        E("GET", f"{fc}/accounts", fc_accounts.list_, fc_accounts.LIST),
        E("GET", f"{fc}/accounts/{{account}}", fc_accounts.retrieve, fc_accounts.NONE),
        E("POST", f"{fc}/accounts/{{account}}/disconnect", fc_accounts.disconnect,
          fc_accounts.NONE),
        E("POST", f"{fc}/accounts/{{account}}/refresh", fc_accounts.refresh,
          fc_accounts.FEATURES_REFRESH),
        E("POST", f"{fc}/accounts/{{account}}/subscribe", fc_accounts.subscribe,
          fc_accounts.FEATURES_SUBSCRIBE),
        E("POST", f"{fc}/accounts/{{account}}/unsubscribe", fc_accounts.unsubscribe,
          fc_accounts.FEATURES_SUBSCRIBE),
        E("GET", f"{fc}/accounts/{{account}}/owners", fc_accounts.owners, fc_accounts.OWNERS),
        E("GET", f"{fc}/authorizations/{{authorization}}", fc_accounts.retrieve_authorization,
          fc_accounts.NONE),
        E("POST", f"{fc}/sessions", fc_sessions.create_handler, fc_sessions.CREATE),
        E("GET", f"{fc}/sessions/{{session}}", fc_sessions.retrieve, fc_sessions.RETRIEVE),
        E("GET", f"{fc}/institutions", institutions.list_, institutions.LIST),
        E("GET", f"{fc}/institutions/{{institution}}", institutions.retrieve,
          institutions.RETRIEVE),
        E("GET", f"{fc}/transactions", fc_accounts.list_transactions,
          fc_accounts.TRANSACTIONS),
        E("GET", f"{fc}/transactions/{{transaction}}", fc_accounts.retrieve_transaction,
          fc_accounts.NONE),
        # Payment methods, setup intents, mandates
        E("POST", "/v1/payment_methods", pm.create, pm.CREATE),
        E("GET", "/v1/payment_methods", pm.list_, pm.LIST),
        E("GET", "/v1/payment_methods/{payment_method}", pm.retrieve, pm.NONE),
        E("POST", "/v1/payment_methods/{payment_method}/attach", pm.attach, pm.ATTACH),
        E("POST", "/v1/payment_methods/{payment_method}/detach", pm.detach, pm.NONE),
        E("POST", "/v1/setup_intents", setup_intents.create, setup_intents.CREATE),
        E("GET", "/v1/setup_intents/{intent}", setup_intents.retrieve, setup_intents.RETRIEVE),
        E("POST", "/v1/setup_intents/{intent}/confirm", setup_intents.confirm,
          setup_intents.CONFIRM),
        E("GET", "/v1/mandates/{mandate}", setup_intents.retrieve_mandate, pm.NONE),
        # Test helpers (Stripe's naming style; fake-only)
        E("POST", f"{th}/sessions/{{session}}/complete", test_helpers.complete_session,
          test_helpers.COMPLETE),
        E("POST", f"{th}/accounts/{{account}}/deactivate", test_helpers.deactivate_account,
          test_helpers.DEACTIVATE_ACCOUNT),
        E("POST", f"{th}/authorizations/{{authorization}}/deactivate",
          test_helpers.deactivate_authorization, test_helpers.DEACTIVATE_AUTHORIZATION),
        E("POST", f"{th}/accounts/{{account}}/schedule_deactivation",
          test_helpers.schedule_deactivation, test_helpers.SCHEDULE),
        E("POST", f"{th}/accounts/{{account}}/expire_account_numbers",
          test_helpers.expire_account_numbers, test_helpers.NONE),
        E("POST", "/v1/test_helpers/clock/advance", test_helpers.advance_clock,
          test_helpers.ADVANCE),
        E("GET", "/v1/test_helpers/clock", test_helpers.clock, test_helpers.NONE),
        E("POST", "/v1/test_helpers/faults", test_helpers.add_fault, test_helpers.FAULT),
        E("POST", "/v1/test_helpers/trigger", test_helpers.trigger, test_helpers.TRIGGER),
        *webhooks.ROUTES,
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
    webhook_retry_schedule: RetrySchedule | None = None,
) -> Starlette:
    """The fake Stripe server as an ASGI app (in-process, or under uvicorn)."""
    fake = FakeStripe(
        backend or open_backend(db), seed, api_version, frozen_at, strict, control_token
    )
    webhooks.install(fake, webhook_retry_schedule)  # also resumes stored pending deliveries
    if strict:
        from .spec import load_spec

        spec = load_spec()
        if spec is not None:
            fake.validator = lambda m, p, s, b: [str(v) for v in spec.validate_response(m, p, s, b)]

    async def not_found(request: Request) -> Response:
        return await dispatch(fake, request, {})

    routes: list[BaseRoute] = [
        *control.routes(fake),
        *openapi_doc.routes(fake),
        *stripejs.routes(fake),
        *delivery.control_routes(fake),
        Route("/{rest:path}", not_found, methods=ALL_METHODS),
    ]

    async def server_error(request: Request, exc: Exception) -> Response:
        from .errors import APIError

        log.exception("fake_stripe internal error on %s %s", request.method, request.url.path)
        err = APIError("An unknown error occurred in the fake Stripe server.")
        return error_response(fake, err, fake.request_id(), fake.wall_now(), {})

    async def http_error(request: Request, exc: Exception) -> Response:
        # A method no route lists (OPTIONS, TRACE, QUERY, ...) would get Starlette's plain-text
        # 405; Stripe answers every method it lacks as an unknown URL.
        return await dispatch(fake, request, {})

    app = Starlette(
        routes=routes, exception_handlers={Exception: server_error, HTTPException: http_error}
    )
    app.add_middleware(V1Router, fake=fake, table=routes_table())
    app.state.fake = fake
    return app
