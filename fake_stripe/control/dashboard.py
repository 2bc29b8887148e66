"""`/_fake/dashboard`: a page to see one tenant's world and drive it, and the JSON it reads.

The page (static HTML, CSS and a small script, no build step, nothing fetched from elsewhere)
changes state only through the fake's own APIs: the `/v1` test helpers and endpoints with the
tenant's key, `/_fake/webhooks/redeliver` and `/_fake/faults`. What `/v1` cannot list, it reads
here: the tenants this server has seen (server-wide, so behind the control token) and one
tenant's snapshot (authorizations and sessions have no list endpoint; a PaymentIntent comes with
its latest charge, which `/v1` gives only one intent at a time). The snapshot is read from
the store directly rather than through `/v1`, so watching a tenant neither consumes the fault
rules its tests armed nor runs its clock's due work.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from importlib import resources
from itertools import islice
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..core.events import Event
from ..core.objects import StripeObject
from ..core.params import Spec, check
from ..core.store import Backend
from ..core.tenant import Tenant
from ..core.versions import NEWEST_PREVIEW, PREVIEW_VERSION
from ..financial_connections.objects import Account, Authorization, Session
from ..payments.objects import Charge, PaymentIntent
from ..resources.customer_object import Customer
from ..resources.payment_methods import PaymentMethod
from ..resources.webhook_endpoints import WebhookEndpoint
from ..wire import decode_form
from .faults import listed as listed_faults
from .guard import ControlServer, server_route, tenant_route

PATH = "/_fake/dashboard"
LIMIT = 100  # objects of each kind in a snapshot, newest first
EVENTS = 50
_ASSETS = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
# The page loads only its own script and stylesheet and talks only to this origin; nothing it
# shows can run as code even if a bug let markup through.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # The page's URL names the tenant; keep it out of other sites' logs.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

PREVIEW_TOKEN = "__FAKE_STRIPE_PREVIEW_VERSION__"  # in dashboard.js

M = TypeVar("M", bound=StripeObject)
# Where a tenant's opaque id is kept: in the store, so every instance sharing it agrees.
REF_META = "dashboard_ref"


def tenant_ref(backend: Backend, name: str) -> dict[str, str]:
    """How the page names a tenant without its key: an opaque id, drawn at random the first
    time it is asked for (so nothing about the key can be read from it), and a short
    fingerprint of the key that tells tenants apart where masked keys look alike
    (`sk_test_demo` and `sk_test_123` both mask to stars alone)."""
    ref = backend.meta_get(name, REF_META)
    if ref is None:
        backend.meta_swap(name, REF_META, None, "tn_" + secrets.token_hex(8))
        ref = backend.meta_get(name, REF_META)
    assert ref is not None
    fingerprint = hashlib.sha256(f"fake-stripe tenant {name}".encode()).hexdigest()[:8]
    return {"id": ref, "label": f"#{fingerprint}"}


def _asset(name: str) -> str:
    return (resources.files(__package__) / "static" / name).read_text(encoding="utf-8")


def _newest(objects: Iterator[M], limit: int) -> list[M]:
    return list(islice(objects, limit))


def _rendered(objects: list[M]) -> list[dict[str, Any]]:
    # As `/v1` renders them for a preview version: the relink fields are what the page is for.
    return [o.to_api(NEWEST_PREVIEW) for o in objects]


def snapshot(server: ControlServer, tenant: Tenant) -> dict[str, Any]:
    """One tenant's world as the page draws it, each object in its Stripe shape."""
    customers = _newest(tenant.iterate(Customer, lambda c: not c.deleted), LIMIT)
    accounts = _newest(tenant.iterate(Account), LIMIT)
    authorizations = _newest(tenant.iterate(Authorization), LIMIT)
    intents = _newest(tenant.iterate(PaymentIntent), LIMIT)
    charges = [tenant.get(Charge, pi.latest_charge) for pi in intents if pi.latest_charge]
    return {
        "object": "dashboard.tenant",
        "tenant": tenant_ref(tenant.backend, tenant.name),
        "now": tenant.now(),
        "customers": _rendered(customers),
        "accounts": _rendered(accounts),
        # The account ids an authorization covers are internal to the fake; the page needs them
        # to draw the tree, so they are added next to the Stripe shape.
        "authorizations": [
            {**a.to_api(NEWEST_PREVIEW), "accounts": list(a.account_ids)} for a in authorizations
        ],
        "sessions": _rendered(_newest(tenant.iterate(Session), LIMIT)),
        "payment_methods": _rendered(_newest(tenant.iterate(PaymentMethod), LIMIT)),
        "payment_intents": _rendered(intents),
        # The latest charge of each intent shown: the bank account's last4 as it was charged.
        "charges": _rendered([c for c in charges if c is not None]),
        "webhook_endpoints": _rendered(_newest(tenant.iterate(WebhookEndpoint), LIMIT)),
        # Each event as it was labelled when it happened (what an endpoint without its own
        # api_version receives), not relabelled for the page.
        "events": [
            e.render_at(e.api_version or NEWEST_PREVIEW)
            for e in _newest(tenant.iterate(Event), EVENTS)
        ],
        "faults": listed_faults(server.faults.rules(tenant.name)),
    }


def routes(server: ControlServer) -> list[BaseRoute]:
    page = _asset("dashboard.html")
    assets = {name: (_asset(name), media) for name, media in _ASSETS.items()}
    script = assets["dashboard.js"][0].replace(PREVIEW_TOKEN, PREVIEW_VERSION)
    assets["dashboard.js"] = (script, assets["dashboard.js"][1])

    async def dashboard(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=HEADERS)

    def serve(name: str) -> Any:
        text, media = assets[name]

        async def asset(request: Request) -> Response:
            return Response(text, media_type=media, headers=HEADERS)

        return asset

    async def tenants(request: Request) -> Any:
        """The tenants this server's store holds, newest first, never by their keys: knowing a
        key is what lets one act on its tenant, and the control token alone must not."""
        check(Spec({}), await decode_form(request.url.query))
        return {
            "object": "list",
            "data": [
                {"object": "dashboard.tenant_ref", **tenant_ref(server.backend, n)}
                for n in reversed(server.backend.tenants())
                if n  # "": the server-wide metadata, not a tenant
            ],
            "has_more": False,
            "url": "/_fake/tenants",
        }

    async def tenant(request: Request, t: Tenant) -> Any:
        check(Spec({}), await decode_form(request.url.query))
        return snapshot(server, t)

    return [
        Route(PATH, server_route(server, dashboard), methods=["GET"]),
        *(
            Route(f"{PATH}/{name}", server_route(server, serve(name)), methods=["GET"])
            for name in assets
        ),
        Route(f"{PATH}/tenant", tenant_route(server, tenant), methods=["GET"]),
        Route("/_fake/tenants", server_route(server, tenants), methods=["GET"]),
    ]
