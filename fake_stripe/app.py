"""The composition root: `create_app`, the one routes table that lists every URL, and the `/v1`
router in front of Starlette."""

from __future__ import annotations

import importlib
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from .core import indexes, turns
from .core.context import Endpoint
from .core.lanes import Lanes
from .core.params import Spec
from .core.store import Backend, open_backend
from .core.versions import DEFAULT_API_VERSION
from .edge import DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_BODY, Edge
from .state import INDEXED, FakeStripe, Validator
from .webhooks.schedule import RetrySchedule
from .wire import ANSWERING, V1, dispatch

if TYPE_CHECKING:
    from .generic.routes import GenericRoutes
    from .spec.load import Spec as SpecDocument

log = logging.getLogger("fake_stripe")

ALL_METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD"]


def _pattern(path: str, named: bool = True) -> re.Pattern[str]:
    """`/v1/customers/{customer}` as a regex (with named groups for the parameters)."""
    group = r"(?P<\1>[^/]+)" if named else "[^/]+"
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", group, re.escape(path)) + "$")


@dataclass(frozen=True)
class Op:
    """A row of the routes table: an endpoint whose handler (`module:function`, the module
    under `fake_stripe`) and parameters (a `Spec` of that module, by name) are imported on its
    first request, so that a server starts without its floors (`Endpoint` once loaded)."""

    method: str
    path: str
    handler: str
    params: str | None = None
    light: bool = False
    keys: tuple[str, ...] = ("sk", "rk")
    worker: bool = False

    @property
    def module(self) -> str:
        return f"{__package__}.{self.handler.split(':')[0]}"

    @property
    def loaded(self) -> bool:
        return turns.imported(self.module)

    def endpoint(self) -> Endpoint:
        module = importlib.import_module(self.module)
        handler = getattr(module, self.handler.split(":")[1])
        params = Spec({}) if self.params is None else getattr(module, self.params)
        return Endpoint(
            self.method,
            self.path,
            handler,
            params,
            self.keys,
            light=self.light,
            worker=self.worker,
        )


class Shadows:
    """The generic paths a modelled pattern leaves alone: a dict lookup for a literal one
    (`/v1/customers/search`), a regex for one with parameters."""

    def __init__(self, templates: dict[str, frozenset[str]]) -> None:
        self.literal = {t: ms for t, ms in templates.items() if "{" not in t}
        self.patterns = [(_pattern(t, False), ms) for t, ms in templates.items() if "{" in t]

    def __bool__(self) -> bool:
        return bool(self.literal or self.patterns)

    def take(self, method: str, path: str) -> bool:
        """Whether `method path` belongs to a generic operation rather than the pattern."""
        methods = self.literal.get(path)
        if methods is not None and method in methods:
            return True
        return bool(self.patterns) and any(
            method in ms and rx.match(path) for rx, ms in self.patterns
        )


class App(Starlette):
    """The fake Stripe server as an ASGI app. `fake` is the server behind it (`FakeStripe`: its
    tenants, store, faults and webhook delivery); `app.fake.close()` stops and closes all it
    runs and opened."""

    fake: FakeStripe

    def build_middleware_stack(self) -> ASGIApp:
        # `Edge`, the outermost middleware `create_app` adds, turns every exception of what it
        # wraps into a Stripe-shaped 500 and lets none through: Starlette's own error
        # middleware around it would only be one more hop for every request.
        stack = super().build_middleware_stack()
        return stack.app if isinstance(stack, ServerErrorMiddleware) else stack


class V1Router:
    """The `/v1` routes table as an ASGI app in front of Starlette's router.

    Every `/v1` request takes this path: a dict lookup for fixed paths, one regex per shape for
    the others, then (for what the hand-modelled table does not answer) the generic operations;
    anything none of them knows falls through to the Starlette app (catch-all 404).
    """

    def __init__(
        self,
        app: ASGIApp,
        fake: FakeStripe,
        table: list[Op],
        generic: GenericRoutes | None = None,
    ) -> None:
        self.fake = fake
        self.fallback = app
        self.generic = generic
        # Each path's endpoints by method: an `Op` until its first request loads it.
        self.fixed: dict[str, dict[str, Endpoint | Op]] = {}
        # (pattern, its endpoints, the more literal generic paths it must leave alone)
        self.patterns: list[tuple[re.Pattern[str], dict[str, Endpoint | Op], Shadows | None]] = []
        shapes: dict[str, dict[str, Endpoint | Op]] = {}
        for op in table:
            target = self.fixed if "{" not in op.path else shapes
            target.setdefault(op.path, {})[op.method] = op
        for path, eps in shapes.items():
            shadows = Shadows(generic.shadowing(path)) if generic is not None else None
            self.patterns.append((_pattern(path), eps, shadows or None))

    def _load(self, eps: dict[str, Endpoint | Op], method: str) -> None:
        op = eps[method]
        if isinstance(op, Op):
            ep = op.endpoint()
            eps[method] = ep if self.generic is None else self.generic.answering_misses(ep)

    async def _generic(
        self, generic: GenericRoutes, method: str, path: str
    ) -> tuple[dict[str, Endpoint], dict[str, str]] | None:
        """The endpoints of the generic operation `method path`, and its path parameters.
        Building the paths' tree (once) and reading the rest of the API (on the first request
        that matches it) run off the event loop; a path that matches nothing is known from the
        tree alone, so an unknown URL never waits for either again."""
        if not generic.indexed:
            await self.fake.lanes.aside(generic.index)
        found = generic.match(method, path)
        if found is None:
            return None
        if generic.loaded:
            endpoints = generic.endpoints(method, found[0])
        else:
            endpoints = await self.fake.lanes.aside(generic.endpoints, method, found[0])
        return (endpoints, found[1]) if endpoints else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(V1):
            await self.fallback(scope, receive, send)
            return
        method = scope["method"]
        eps = self.fixed.get(path)
        path_params: dict[str, str] = {}
        if eps is None:
            for regex, candidates, shadows in self.patterns:
                m = regex.match(path)
                if m is not None:
                    if shadows is None or not shadows.take(method, path):
                        path_params = m.groupdict()
                        eps = candidates
                    break
        if (eps is None or method not in eps) and self.generic is not None:
            found = await self._generic(self.generic, method, path)
            if found is not None:
                eps, path_params = cast(dict[str, Endpoint | Op], found[0]), found[1]
        if eps is None:
            # No side route lies under `/v1/`: an unknown URL is answered here, without
            # matching every route beside `/v1` on the way to the catch-all.
            eps = {}
        op = eps.get(method)
        if isinstance(op, Op):
            if op.loaded:
                self._load(eps, method)
            else:
                # The first request of a floor imports its modules: off the event loop.
                await self.fake.lanes.aside(self._load, eps, method)
        scope["path_params"] = path_params
        # A fault of the fake is answered by `Edge`, the one catch-all of every route.
        response = await dispatch(self.fake, Request(scope, receive), eps)  # type: ignore[arg-type]
        scope[ANSWERING] = True
        await response(scope, receive, send)


class _Group:
    """Routes beside `/v1` for the paths that start with one of `prefixes` (any path, for no
    prefixes), made on first use; unmatched there, a path goes to `last` (the catch-all)."""

    def __init__(
        self,
        prefixes: tuple[str, ...],
        build: Callable[[], list[BaseRoute]],
        last: list[BaseRoute],
    ) -> None:
        self.prefixes = prefixes
        self.build: Callable[[], list[BaseRoute]] | None = build
        self.last = last
        self.routes: list[BaseRoute] = []
        self.router = Router(routes=last)
        self._lock = threading.Lock()

    def takes(self, path: str) -> bool:
        return not self.prefixes or path.startswith(self.prefixes)

    def load(self) -> list[BaseRoute]:
        if self.build is not None:
            with self._lock:
                if self.build is not None:
                    self.routes = self.build()
                    self.router = Router(routes=[*self.routes, *self.last])
                    self.build = None
        return self.routes


class SideRoutes(Router):
    """The routes beside `/v1` (the control plane, the dashboard, Stripe.js, the hosted
    verification page and the catch-all), in groups by path, each made when a request first
    reaches it: a server's first `/v1` answer waits for none of their modules, and the control
    plane's (which the scenario runner reads) for none of the browser's. The first request of a
    group loads it on a worker thread, so the event loop goes on serving others meanwhile."""

    def __init__(
        self,
        groups: list[tuple[tuple[str, ...], Callable[[], list[BaseRoute]]]],
        last: list[BaseRoute],
        lanes: Lanes,
    ) -> None:
        self._groups = [_Group(prefixes, build, last) for prefixes, build in groups]
        self._last = last
        self._fallback = Router(routes=last)  # a path no group takes
        self._lanes = lanes
        super().__init__()

    @property
    def routes(self) -> list[BaseRoute]:
        """Every route (all groups loaded), in the order they are matched."""
        return [route for group in self._groups for route in group.load()] + self._last

    @routes.setter
    def routes(self, value: list[BaseRoute]) -> None:
        pass  # the groups hold them

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        for group in self._groups:
            if group.takes(path):
                if group.build is not None:
                    await self._lanes.aside(group.load)
                await group.router(scope, receive, send)
                return
        await self._fallback(scope, receive, send)


def routes_index() -> list[Op]:
    """Every Stripe API endpoint the fake implements, each handler named by its module (under
    `fake_stripe`), imported on the endpoint's first request. `light`: a GET of one object of
    bounded size (not a list, not a session with its accounts, not an event with its object),
    or a write of one small object (`Endpoint.light`)."""
    E = Op
    fc = "/v1/financial_connections"
    th = "/v1/test_helpers/financial_connections"
    we = "/v1/webhook_endpoints"
    pi = "/v1/payment_intents"
    pk = ("sk", "rk", "pk")
    return [
        E("POST", "/v1/customers", "resources.customers:create", "CREATE", light=True),
        E("GET", "/v1/customers", "resources.customers:list_", "LIST"),
        E("GET", "/v1/customers/{customer}", "resources.customers:retrieve", light=True),
        E("POST", "/v1/customers/{customer}", "resources.customers:update", "UPDATE", light=True),
        E("DELETE", "/v1/customers/{customer}", "resources.customers:delete", light=True),
        E("GET", "/v1/events", "resources.events:list_", "LIST"),
        E("GET", "/v1/events/{id}", "resources.events:retrieve"),
        # Financial Connections
        E("GET", f"{fc}/accounts", "financial_connections.accounts:list_", "LIST"),
        E(
            "GET",
            f"{fc}/accounts/{{account}}",
            "financial_connections.accounts:retrieve",
            light=True,
        ),
        E(
            "POST",
            f"{fc}/accounts/{{account}}/disconnect",
            "financial_connections.accounts:disconnect",
        ),
        E(
            "POST",
            f"{fc}/accounts/{{account}}/refresh",
            "financial_connections.accounts:refresh",
            "FEATURES_REFRESH",
        ),
        E(
            "POST",
            f"{fc}/accounts/{{account}}/subscribe",
            "financial_connections.accounts:subscribe",
            "FEATURES_SUBSCRIBE",
        ),
        E(
            "POST",
            f"{fc}/accounts/{{account}}/unsubscribe",
            "financial_connections.accounts:unsubscribe",
            "FEATURES_SUBSCRIBE",
        ),
        E(
            "GET",
            f"{fc}/accounts/{{account}}/owners",
            "financial_connections.accounts:owners",
            "OWNERS",
        ),
        E(
            "GET",
            f"{fc}/authorizations/{{authorization}}",
            "financial_connections.accounts:retrieve_authorization",
        ),
        # One small object: the session (its holder, and a relink's authorization, read).
        E("POST", f"{fc}/sessions", "financial_connections.sessions:create", "CREATE", light=True),
        E("GET", f"{fc}/sessions/{{session}}", "financial_connections.sessions:retrieve"),
        E("GET", f"{fc}/institutions", "financial_connections.institutions:list_", "LIST"),
        E(
            "GET",
            f"{fc}/institutions/{{institution}}",
            "financial_connections.institutions:retrieve",
        ),
        E(
            "GET",
            f"{fc}/transactions",
            "financial_connections.accounts:list_transactions",
            "TRANSACTIONS",
        ),
        E(
            "GET",
            f"{fc}/transactions/{{transaction}}",
            "financial_connections.accounts:retrieve_transaction",
            light=True,
        ),
        # Payment methods, setup intents, mandates
        E("POST", "/v1/payment_methods", "payments.us_bank_account:create", "CREATE"),
        E("GET", "/v1/payment_methods", "resources.payment_methods:list_", "LIST"),
        E(
            "GET",
            "/v1/payment_methods/{payment_method}",
            "resources.payment_methods:retrieve",
            light=True,
        ),
        E(
            "POST",
            "/v1/payment_methods/{payment_method}",
            "resources.payment_methods:update",
            "UPDATE",
        ),
        E(
            "POST",
            "/v1/payment_methods/{payment_method}/attach",
            "resources.payment_methods:attach",
            "ATTACH",
        ),
        E(
            "POST",
            "/v1/payment_methods/{payment_method}/detach",
            "resources.payment_methods:detach",
        ),
        E("POST", "/v1/setup_intents", "payments.setup_intents:create", "CREATE"),
        E("GET", "/v1/setup_intents", "payments.setup_intents:list_", "LIST"),
        E(
            "GET",
            "/v1/setup_intents/{intent}",
            "payments.setup_intents:retrieve",
            "RETRIEVE",
            light=True,
        ),
        E("POST", "/v1/setup_intents/{intent}", "payments.setup_intents:update", "UPDATE"),
        E(
            "POST",
            "/v1/setup_intents/{intent}/confirm",
            "payments.setup_intents:confirm",
            "CONFIRM",
        ),
        E(
            "POST",
            "/v1/setup_intents/{intent}/cancel",
            "payments.setup_intents:cancel",
            "CANCEL",
        ),
        E(
            "POST",
            "/v1/setup_intents/{intent}/verify_microdeposits",
            "payments.microdeposits:verify_setup",
            "VERIFY",
            keys=pk,
        ),
        E("GET", "/v1/mandates/{mandate}", "payments.setup_intents:retrieve_mandate", light=True),
        # PaymentIntents and charges (ACH Direct Debit); a publishable key with the client
        # secret may retrieve and confirm, as Stripe.js does
        E("POST", pi, "payments.payment_intents:create", "CREATE"),
        E("GET", pi, "payments.payment_intents:list_", "LIST"),
        E(
            "GET",
            f"{pi}/{{intent}}",
            "payments.payment_intents:retrieve",
            "RETRIEVE",
            keys=pk,
            light=True,
        ),
        E("POST", f"{pi}/{{intent}}", "payments.payment_intents:update", "UPDATE"),
        E(
            "POST",
            f"{pi}/{{intent}}/confirm",
            "payments.payment_intents:confirm",
            "CONFIRM",
            keys=pk,
        ),
        E("POST", f"{pi}/{{intent}}/cancel", "payments.payment_intents:cancel", "CANCEL"),
        E(
            "POST",
            f"{pi}/{{intent}}/verify_microdeposits",
            "payments.microdeposits:verify_payment",
            "VERIFY",
            keys=pk,
        ),
        E("GET", "/v1/charges", "payments.charges:list_", "LIST"),
        E("GET", "/v1/charges/{charge}", "payments.charges:retrieve", light=True),
        # Webhook endpoints
        # An endpoint's URL may be resolved (`serve` beyond loopback): on a worker thread.
        E("POST", we, "resources.webhook_endpoints:create", "CREATE", worker=True),
        E("GET", we, "resources.webhook_endpoints:list_", "LIST"),
        E("GET", f"{we}/{{webhook_endpoint}}", "resources.webhook_endpoints:retrieve"),
        E(
            "POST",
            f"{we}/{{webhook_endpoint}}",
            "resources.webhook_endpoints:update",
            "UPDATE",
            worker=True,
        ),
        E("DELETE", f"{we}/{{webhook_endpoint}}", "resources.webhook_endpoints:delete"),
        # Test helpers (Stripe's naming style; fake-only)
        E(
            "POST",
            f"{th}/sessions/{{session}}/complete",
            "financial_connections.test_helpers:complete_session",
            "COMPLETE",
        ),
        E(
            "POST",
            f"{th}/accounts/{{account}}/deactivate",
            "financial_connections.test_helpers:deactivate_account",
            "DEACTIVATE_ACCOUNT",
        ),
        E(
            "POST",
            f"{th}/authorizations/{{authorization}}/deactivate",
            "financial_connections.test_helpers:deactivate_authorization",
            "DEACTIVATE_AUTHORIZATION",
        ),
        E(
            "POST",
            f"{th}/accounts/{{account}}/schedule_deactivation",
            "financial_connections.test_helpers:schedule_deactivation",
            "SCHEDULE",
        ),
        E(
            "POST",
            f"{th}/accounts/{{account}}/expire_account_numbers",
            "financial_connections.test_helpers:expire_account_numbers",
        ),
        E(
            "POST",
            "/v1/test_helpers/clock/advance",
            "resources.test_helpers:advance_clock",
            "ADVANCE",
        ),
        E("GET", "/v1/test_helpers/clock", "resources.test_helpers:clock"),
        E(
            "POST",
            "/v1/test_helpers/payment_intents/{intent}/settle",
            "payments.payment_intents:settle",
            "SETTLE",
        ),
        # The rule is added at once, not with the request's writes: run once, on a worker.
        E(
            "POST",
            "/v1/test_helpers/faults",
            "resources.test_helpers:add_fault",
            "FAULT",
            worker=True,
        ),
        E(
            "POST",
            "/v1/test_helpers/trigger",
            "financial_connections.test_helpers:trigger",
            "TRIGGER",
        ),
    ]


def routes_table() -> list[Endpoint]:
    """Every Stripe API endpoint the fake implements, with its handler (imports them all)."""
    return [op.endpoint() for op in routes_index()]


def _validator(spec: SpecDocument, generic: GenericRoutes | None) -> Validator:
    """Strict mode's check: against the whole API once a generic request has read it (it holds
    the packaged spec, whose paths and components win), else against the packaged spec."""

    def validate(method: str, path: str, status: int, body: Any) -> list[str]:
        if generic is not None:
            found = generic.validate(method, path, status, body)
            if found is not None:
                return found
        return [str(v) for v in spec.validate_response(method, path, status, body)]

    return validate


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
    max_body: int = DEFAULT_MAX_BODY,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    webhook_lease_seconds: float | None = None,
    allow_private_webhooks: bool = True,
    only_modelled: bool = False,
    fixtures_on_miss: bool = False,
    worker_threads: bool = True,
) -> App:
    """The fake Stripe server as an ASGI app (in-process, or served: `fake-stripe serve`,
    `http_server.ServerThread`, or any ASGI server).

    `max_body` (bytes) bounds a request body: a larger one is refused with a 413 before it is
    read whole. `body_timeout` (seconds) bounds the time to receive one. Serving others beyond
    loopback, pass `allow_private_webhooks=False`: webhook endpoints must then point at public
    addresses, checked when registered and before every attempt (`fake-stripe serve` does so
    unless given `--allow-private-webhooks`). Every operation of Stripe's recorded spec
    answers; those the fake does not model by hand answer generically (docs/generic.md),
    unless `only_modelled` (then they are unknown URLs, 404). `fixtures_on_miss` answers a
    generic retrieve, update or action of an unknown id with the resource's example object,
    as stripe-mock does. `worker_threads=False` runs every request's work on the event loop:
    for a server with one client only, such as the scenario runner's own (`scenarios run
    --serve`); by default work that may wait or compute for long runs on worker threads, so that
    no tenant holds up another.
    """
    fake = FakeStripe(
        backend or open_backend(db),
        seed,
        api_version,
        frozen_at,
        strict,
        control_token,
        webhook_retry_schedule,
        webhook_lease_seconds,
        allow_private_webhooks,
        worker_threads,
    )
    table = routes_index()
    generic = None
    if not only_modelled:
        from .generic.routes import GenericRoutes

        generic = GenericRoutes(table, fixtures_on_miss)
    fake.expansions = generic
    if fake.backend.shared:  # a file or database may hold objects indexed by an older fake
        indexes.bring_up_to_date(fake.backend, INDEXED)
    if strict:
        from .spec.load import load_spec

        spec = load_spec()
        if spec is not None:
            fake.validator = _validator(spec, generic)

    async def not_found(request: Request) -> Response:
        return await dispatch(fake, request, {})

    def control() -> list[BaseRoute]:
        from .control import faults as fault_control
        from .control import health
        from .control import payments as payments_control
        from .control import webhooks as webhook_control

        return [
            *health.routes(fake),
            *webhook_control.routes(fake),
            *payments_control.routes(fake),
            *fault_control.routes(fake),
        ]

    def dashboard() -> list[BaseRoute]:
        from .control import dashboard

        return dashboard.routes(fake)

    def openapi_document() -> list[BaseRoute]:
        from .control import openapi

        return openapi.routes(fake, lambda: [op.endpoint() for op in table])

    def browser() -> list[BaseRoute]:
        from .stripejs import routes as stripejs
        from .stripejs import verification_page

        return [*stripejs.routes(fake), *verification_page.routes(fake)]

    async def http_error(request: Request, exc: Exception) -> Response:
        # A method no route lists (OPTIONS, TRACE, QUERY, ...) would get Starlette's plain-text
        # 405; Stripe answers every method it lacks as an unknown URL.
        return await dispatch(fake, request, {})

    app = App(exception_handlers={HTTPException: http_error})
    app.router = SideRoutes(
        [
            (("/_fake/dashboard", "/_fake/tenants"), dashboard),
            (("/_fake/openapi.json",), openapi_document),
            (("/_fake/",), control),
            ((), browser),
        ],
        [Route("/{rest:path}", not_found, methods=ALL_METHODS)],
        fake.lanes,
    )
    app.add_middleware(V1Router, fake=fake, table=table, generic=generic)
    # Added last, so it runs first: before the /v1 router and every other route.
    app.add_middleware(Edge, fake=fake, max_body=max_body, body_timeout=body_timeout)
    app.fake = fake
    return app
