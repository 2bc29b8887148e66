"""The fake Stripe.js (`GET /v3/`, and `GET /<release>/stripe.js` as `@stripe/stripe-js` loads
it: `/endive/stripe.js`), its authentication-flow page, and the endpoints the flow calls.

The flow runs in a modal iframe served from this origin. It receives the publishable key and the
session's client secret from the merchant page by `postMessage` and sends them back here in
`Authorization: Bearer pk_test_...` and the POST body, never in a URL. Its endpoints go through
the same wire pipeline as `/v1` (Request-Id, key check, Stripe-shaped errors) and change state
only through the functions the `complete` test helper calls too (`financial_connections`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any, ClassVar, Literal

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..core.context import Ctx, Endpoint, Failed, Services
from ..core.errors import APIError, InvalidRequestError, missing_param
from ..core.objects import StripeObject
from ..core.params import Arr, Spec, Str
from ..core.tenant import secret_matches
from ..core.versions import DEFAULT_API_VERSION
from ..financial_connections import completion
from ..financial_connections.bank_data import NewAccount, offers
from ..financial_connections.common import load_authorization
from ..financial_connections.completion import FlowResult
from ..financial_connections.institutions import BY_ID, CATALOG, Bank
from ..financial_connections.institutions import bank as find_bank
from ..financial_connections.objects import Account, Session
from ..wire import dispatch
from . import CORS, PREFIX, payments

ORIGIN_TOKEN = '"__FAKE_STRIPE_ORIGIN__"'
VERSION_TOKEN = '"__FAKE_STRIPE_JS_VERSION__"'
# A release train as the loader names it (`https://js.stripe.com/endive/stripe.js`; its regex
# for a Stripe.js script is `/(v3|[a-z]+)/stripe.js`).
_RELEASE = re.compile(r"[a-z]+")
# The train of the account's default API version, the one `@stripe/stripe-js` 10.2.1 loads
# (`RELEASE_TRAIN = 'endive'`) and expects of any Stripe.js it finds on the page, `/v3` included:
# it warns when `Stripe.version` (read as `v3` when it is 3) differs.
RELEASE_TRAIN = DEFAULT_API_VERSION.rsplit(".", 1)[1]
_METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"]
_ASSETS = {
    "flow": ("flow.html", "text/html; charset=utf-8"),
    "flow.js": ("flow.js", "text/javascript; charset=utf-8"),
    "flow.css": ("flow.css", "text/css; charset=utf-8"),
    "palette.css": ("palette.css", "text/css; charset=utf-8"),
}
# Stripe's Sandbox Bank usernames (docs: financial-connections/testing); any other succeeds.
MFA, ERROR, INCORRECT = "mfa", "error", "incorrect"

SECRET = Spec({"client_secret": Str()}, required=("client_secret",))
AUTHENTICATE = Spec(
    {
        "client_secret": Str(),
        "institution": Str(),
        "username": Str(),
        "password": Str(emptyable=True),
        "code": Str(emptyable=True),
    },
    required=("client_secret", "username"),
)
COMPLETE = Spec({"client_secret": Str(), "accounts": Arr(Str())}, required=("client_secret",))


# ---- what the flow sees ----------------------------------------------------------------------


class FlowInstitution(BaseModel):
    id: str
    name: str
    url: str | None
    status: str


class FlowSession(BaseModel):
    """The session as the flow needs it to draw its panes."""

    object: str = "stripejs.flow_session"
    id: str
    livemode: bool = False
    relink: bool
    permissions: list[str]
    institution: FlowInstitution | None  # set: the flow opens on it (no bank picker)
    institutions: list[FlowInstitution]  # the bank picker's catalog
    account_limit: int | None
    account_subcategories: list[str] | None


class FlowAccount(BaseModel):
    key: str  # an fca_ id (already on the authorization) or new_<n> (an offer)
    display_name: str
    last4: str
    subcategory: str
    previously_linked: bool
    selectable: bool
    selected: bool


class FlowLogin(BaseModel):
    object: str = "stripejs.flow_login"
    status: Literal["authenticated", "mfa_required", "retry"]
    message: str | None = None
    institution: FlowInstitution
    accounts: list[FlowAccount] = []


# ---- what Stripe.js resolves with (`@stripe/stripe-js` types/api/financial-connections.d.ts) --


class ClientAccount(BaseModel):
    id: str
    object: str
    balance: dict[str, Any] | None
    balance_refresh: dict[str, Any] | None
    category: str
    created: int
    display_name: str | None
    institution_name: str
    last4: str | None
    livemode: bool
    ownership: str | None
    ownership_refresh: dict[str, Any] | None
    permissions: list[str] | None
    status: str
    subcategory: str
    supported_payment_method_types: list[str]


class ClientFilters(BaseModel):
    countries: list[str]


class ClientSession(StripeObject):
    """`FinancialConnectionsSession` as Stripe.js hands it over: `accounts` is a plain array."""

    omit_if_none: ClassVar[frozenset[str]] = frozenset({"filters", "return_url"})

    accounts: list[ClientAccount]
    filters: ClientFilters | None = None
    permissions: list[str]
    return_url: str | None = None


def client_session(ctx: Ctx, session: Session) -> ClientSession:
    accounts = completion.with_accounts(ctx, session).accounts.data
    fields = set(ClientAccount.model_fields)
    countries = session.filters.countries if session.filters else None
    return ClientSession(
        id=session.id,
        accounts=[ClientAccount.model_validate(a.model_dump(include=fields)) for a in accounts],
        filters=ClientFilters(countries=countries) if countries else None,
        permissions=session.permissions,
        return_url=session.return_url,
    )


# ---- handlers --------------------------------------------------------------------------------


def _session(ctx: Ctx, p: dict[str, Any]) -> Session:
    secret = p["client_secret"]
    sid = secret.partition("_secret_")[0]
    session = ctx.tenant.get(Session, sid) if sid.startswith("fcsess_") else None
    if session is None or not secret_matches(secret, session.client_secret):
        # GUESS: the wording Stripe uses for a PaymentIntent client secret of another account.
        raise InvalidRequestError(
            "The client_secret provided does not match any associated Financial Connections "
            "session on this account. Ensure the publishable key used belongs to the same "
            "account that created the session.",
            code="resource_missing",
            param="client_secret",
        )
    if session.status != "pending":
        raise InvalidRequestError(
            f"This Financial Connections session is already {session.status}; create a new "
            "session to collect accounts again.",
            param="client_secret",
        )
    return session


def _institution(bank: Bank) -> FlowInstitution:
    i = bank.institution
    return FlowInstitution(id=i.id, name=i.name, url=i.url, status=i.status)


def _fixed_bank(ctx: Ctx, session: Session) -> Bank | None:
    """The institution a session is bound to: the relinked authorization's, or a filter's."""
    if session.relink_options is not None:
        auth = load_authorization(ctx, session.relink_options.authorization)
        return find_bank(auth.institution or "", "client_secret")
    if session.filters and session.filters.institution:
        return find_bank(session.filters.institution, "client_secret")
    return None


def bootstrap(ctx: Ctx, p: dict[str, Any]) -> FlowSession:
    session = _session(ctx, p)
    fixed = _fixed_bank(ctx, session)
    return FlowSession(
        id=session.id,
        relink=session.is_relink,
        permissions=session.permissions,
        institution=_institution(fixed) if fixed else None,
        institutions=[] if fixed else [_institution(b) for b in CATALOG],
        account_limit=session.account_limit,
        account_subcategories=session.allowed_subcategories,
    )


def _menu(ctx: Ctx, session: Session, bank: Bank) -> tuple[list[Account], list[NewAccount]]:
    """The account picker: the authorization's relinkable accounts, then the other offers."""
    offered = offers(ctx, bank, session.account_holder)
    if session.relink_options is None:
        return [], offered
    auth = load_authorization(ctx, session.relink_options.authorization)
    linked = [a for a in (ctx.tenant.get(Account, i) for i in auth.account_ids) if a]
    taken = {a.last4 for a in linked}
    return completion.relinkable(ctx, auth), [o for o in offered if o.last4 not in taken]


def _flow_accounts(ctx: Ctx, session: Session, bank: Bank) -> list[FlowAccount]:
    existing, offered = _menu(ctx, session, bank)
    preselected: set[str] = set()
    if session.relink_options is not None:
        auth = load_authorization(ctx, session.relink_options.authorization)
        preselected = {a.id for a in completion.default_relink_selection(ctx, session, auth)}
    out: list[FlowAccount] = []
    for a in existing:
        out.append(
            FlowAccount(
                key=a.id,
                display_name=a.display_name or a.subcategory,
                last4=a.last4 or "",
                subcategory=a.subcategory,
                previously_linked=True,
                selectable=session.allows(a.subcategory),
                selected=a.id in preselected,
            )
        )
    for n, o in enumerate(offered):
        out.append(
            FlowAccount(
                key=f"new_{n}",
                display_name=o.display_name,
                last4=o.last4,
                subcategory=o.subcategory,
                previously_linked=False,
                selectable=session.allows(o.subcategory),
                selected=False,
            )
        )
    return out


def _state_key(session: Session) -> str:
    return f"stripejs:{session.id}"


def sign_in(ctx: Ctx, p: dict[str, Any]) -> FlowLogin | Failed:
    """The end user signs in at the institution (Sandbox Bank usernames choose the outcome)."""
    session = _session(ctx, p)
    chosen = _fixed_bank(ctx, session)
    if chosen is None:
        if "institution" not in p:
            raise missing_param("institution")
        chosen = find_bank(p["institution"], "institution")
    flow_inst = _institution(chosen)
    name = chosen.institution.name
    username = p["username"].strip().lower()
    if username == ERROR or chosen.fails:
        message = (
            f"{name} could not be reached. Try again later, or choose another bank."
            if chosen.fails
            else f"{name} returned an error while signing you in."
        )
        completion.complete(ctx, session, FlowResult([], [], failure=message))
        ctx.tenant.meta_set(_state_key(session), "")
        # The bank failed, not the request: 424 (Stripe's "External Dependency Failed"), and
        # the session keeps its failed state.
        return Failed(APIError(message, status=424))
    if username == INCORRECT:
        return FlowLogin(
            status="retry",
            message="The username or password you entered is incorrect. Check them and try again.",
            institution=flow_inst,
        )
    if username == MFA and not p.get("code"):
        return FlowLogin(status="mfa_required", institution=flow_inst)
    ctx.tenant.meta_set(_state_key(session), json.dumps({"institution": chosen.id}))
    return FlowLogin(
        status="authenticated",
        institution=flow_inst,
        accounts=_flow_accounts(ctx, session, chosen),
    )


def complete(ctx: Ctx, p: dict[str, Any]) -> ClientSession:
    session = _session(ctx, p)
    state = json.loads(ctx.tenant.meta_get(_state_key(session)) or "{}")
    if "institution" not in state:
        raise InvalidRequestError(
            "Sign in to the institution before selecting accounts.", param="accounts"
        )
    at = BY_ID[state["institution"]]
    existing, offered = _menu(ctx, session, at)
    by_key: dict[str, Account | NewAccount] = {a.id: a for a in existing}
    by_key.update({f"new_{n}": o for n, o in enumerate(offered)})
    keys = p.get("accounts") or []
    for i, key in enumerate(keys):
        if key not in by_key:
            raise InvalidRequestError(
                f"The account {key} is not one the institution offered in this session.",
                param=f"accounts[{i}]",
            )
    picked = [by_key[k] for k in dict.fromkeys(keys)]
    result = FlowResult(
        existing=[a.id for a in picked if isinstance(a, Account)],
        new=[a for a in picked if isinstance(a, NewAccount)],
        institution=at.id,
    )
    completion.complete(ctx, session, result)
    ctx.tenant.meta_set(_state_key(session), "")
    return client_session(ctx, session)


def cancel(ctx: Ctx, p: dict[str, Any]) -> ClientSession:
    session = _session(ctx, p)
    completion.complete(ctx, session, FlowResult([], [], cancelled=True))
    ctx.tenant.meta_set(_state_key(session), "")
    return client_session(ctx, session)


def endpoints() -> list[Endpoint]:
    """The flow's API: publishable key plus client secret, form-encoded, Stripe-shaped errors."""
    api = f"{PREFIX}/v1"
    pk = ("pk",)
    return [
        Endpoint("POST", f"{api}/session", bootstrap, SECRET, keys=pk),
        Endpoint("POST", f"{api}/authenticate", sign_in, AUTHENTICATE, keys=pk),
        Endpoint("POST", f"{api}/complete", complete, COMPLETE, keys=pk),
        Endpoint("POST", f"{api}/cancel", cancel, SECRET, keys=pk),
        *payments.endpoints(api),
    ]


# ---- routes ----------------------------------------------------------------------------------


def _asset(name: str) -> str:
    return (resources.files(__package__) / "static" / name).read_text(encoding="utf-8")


def _cors(server: Services, eps: dict[str, Endpoint]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=CORS)
        response = await dispatch(server, request, eps)
        response.headers.update(CORS)
        return response

    return endpoint


def routes(server: Services) -> list[BaseRoute]:
    stripe_js = _asset("stripe.js")
    assets = {path: (_asset(name), media) for path, (name, media) in _ASSETS.items()}
    no_store = {"Cache-Control": "no-store", **CORS}

    def script(request: Request, version: int | str) -> Response:
        # Stripe.js knows its API origin: the one it was fetched from (also when a test routes
        # https://js.stripe.com/v3/ here). `Stripe.version` is what the loader compares with its
        # release train: the current train at /v3/, the train's name at /<train>/stripe.js
        # (where the loader of that train looks).
        origin = f"{request.url.scheme}://{request.url.netloc}"
        body = stripe_js.replace(ORIGIN_TOKEN, json.dumps(origin))
        body = body.replace(VERSION_TOKEN, json.dumps(version))
        return Response(body, media_type="text/javascript; charset=utf-8", headers=no_store)

    async def v3(request: Request) -> Response:
        return script(request, RELEASE_TRAIN)

    async def release(request: Request) -> Response:
        train = request.path_params["release"]
        if train == "v3":
            return script(request, RELEASE_TRAIN)
        if not _RELEASE.fullmatch(train):
            return await dispatch(server, request, {})  # Stripe's unknown-URL answer
        return script(request, train)

    def serve(path: str) -> Callable[[Request], Awaitable[Response]]:
        text, media = assets[path]

        async def asset(request: Request) -> Response:
            return Response(text, media_type=media, headers=no_store)

        return asset

    out: list[BaseRoute] = [
        Route("/v3/", v3, methods=["GET", "HEAD"]),
        Route("/v3", v3, methods=["GET", "HEAD"]),
        Route("/{release}/stripe.js", release, methods=["GET", "HEAD"]),
        *(Route(f"{PREFIX}/{path}", serve(path), methods=["GET", "HEAD"]) for path in assets),
    ]
    for ep in endpoints():
        out.append(Route(ep.path, _cors(server, {ep.method: ep}), methods=_METHODS))
    return out
