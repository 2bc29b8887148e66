"""The hosted microdeposit verification page (`hosted_verification_url`): a small page where the
customer enters the descriptor code or the two amounts, and the JSON it reads and posts.

The link alone grants access (`payments/verification_links.py`): it picks the tenant and the
intent, so the page's requests carry no API key. They go through the same pipeline as `/v1`
(the tenant's transaction, its clock, its lanes), as the tenant's publishable key would with the
intent's client secret, and the values are checked by the same code as
`POST …/verify_microdeposits`. The page sees only what it shows: no client secret, no
customer, no metadata.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Protocol

import anyio
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..core.context import Ctx, Endpoint, Failed, Services
from ..core.errors import InvalidRequestError
from ..core.params import Arr, Int, Spec, Str
from ..core.store import Backend
from ..payments import microdeposits
from ..payments.intents import Intent
from ..payments.objects import PaymentIntent, SetupIntent
from ..payments.verification_links import PATH, Target, resolve
from ..wire import dispatch, error_response

VERIFY = Spec({"amounts": Arr(Int()), "descriptor_code": Str()})
_ASSETS = {
    "microdeposit.js": "text/javascript; charset=utf-8",
    "microdeposit.css": "text/css; charset=utf-8",
}
ASSETS = "/_stripejs"
# The page runs only its own script and talks only to this origin; the link in its address
# stays out of other sites' logs.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class PageServer(Services, Protocol):
    """What the page needs of the server: the store, where the links are kept."""

    backend: Backend


class VerificationPage(BaseModel):
    """What the page shows of an intent."""

    object: str = "microdeposit_verification"
    intent: str
    status: str
    amount: int | None = None
    currency: str | None = None
    microdeposit_type: str | None = None
    arrival_date: int | None = None
    # Why an earlier verification failed for good (the intent's last error), if it did.
    failure: str | None = None


def _load(ctx: Ctx) -> Intent:
    intent_id = ctx.path["intent"]
    if intent_id.startswith("seti_"):
        return ctx.tenant.load(SetupIntent, intent_id)
    return ctx.tenant.load(PaymentIntent, intent_id)


def _page(intent: Intent) -> VerificationPage:
    action = (intent.next_action or {}).get("verify_with_microdeposits") or {}
    if isinstance(intent, SetupIntent):
        error, amount, currency = intent.last_setup_error, None, None
    else:
        error, amount, currency = intent.last_payment_error, intent.amount, intent.currency
    return VerificationPage(
        intent=intent.id,
        status=intent.status,
        amount=amount,
        currency=currency,
        microdeposit_type=action.get("microdeposit_type"),
        arrival_date=action.get("arrival_date"),
        failure=(error or {}).get("message"),
    )


def show(ctx: Ctx, p: dict[str, Any]) -> VerificationPage:
    return _page(_load(ctx))


def verify(ctx: Ctx, p: dict[str, Any]) -> VerificationPage | Failed:
    intent = _load(ctx)
    given = {**p, "client_secret": intent.client_secret}
    if isinstance(intent, SetupIntent):
        done: Any = microdeposits.verify_setup(ctx, given)
    else:
        done = microdeposits.verify_payment(ctx, given)
    return done if isinstance(done, Failed) else _page(_load(ctx))


def _asset(name: str) -> str:
    return (resources.files(__package__) / "static" / name).read_text(encoding="utf-8")


async def _resolve(server: PageServer, request: Request) -> Target | None:
    # A store read, which may wait on a database: never on the event loop.
    link = request.path_params["link"]
    return await anyio.to_thread.run_sync(resolve, server.backend, link)


def routes(server: PageServer) -> list[BaseRoute]:
    page = _asset("microdeposit.html")
    assets = {name: (_asset(name), media) for name, media in _ASSETS.items()}
    pk = ("pk",)
    show_ep = {"GET": Endpoint("GET", f"{PATH}/{{link}}/intent", show, keys=pk)}
    verify_ep = {"POST": Endpoint("POST", f"{PATH}/{{link}}/verify", verify, VERIFY, keys=pk)}

    def through_link(endpoints: dict[str, Endpoint]) -> Any:
        async def endpoint(request: Request) -> Response:
            target = await _resolve(server, request)
            if target is None:
                err = InvalidRequestError(
                    "This verification link is not valid. Ask for a new one.",
                    code="resource_missing",
                    param="link",
                    status=404,
                )
                return error_response(err, server.request_id(), server.wall_now(), {})
            # As the tenant's publishable key: the client-side view, nothing more.
            scope = dict(request.scope)
            headers = [(k, v) for k, v in scope["headers"] if k != b"authorization"]
            headers.append((b"authorization", f"Bearer pk_test_{target.tenant}".encode()))
            scope["headers"] = headers
            scope["path_params"] = {"intent": target.intent}
            return await dispatch(server, Request(scope, request.receive), endpoints)

        return endpoint

    async def html(request: Request) -> Response:
        known = await _resolve(server, request) is not None
        status = 200 if known else 404
        return Response(page, status, headers=HEADERS, media_type="text/html; charset=utf-8")

    def serve(name: str) -> Any:
        text, media = assets[name]

        async def asset(request: Request) -> Response:
            return Response(text, media_type=media, headers=HEADERS)

        return asset

    return [
        *(Route(f"{ASSETS}/{name}", serve(name), methods=["GET", "HEAD"]) for name in assets),
        Route(f"{PATH}/{{link}}", html, methods=["GET", "HEAD"]),
        Route(f"{PATH}/{{link}}/intent", through_link(show_ep), methods=["GET"]),
        Route(f"{PATH}/{{link}}/verify", through_link(verify_ep), methods=["POST"]),
    ]
