"""Requests as Stripe's clients send them, and a tenant world for them to point at.

Used by tests/test_schemathesis.py: `stripe_encode` (bracket style), `send` (straight into the
ASGI app), `build_world` and `prepare` (ids of objects that exist, fresh objects for one-shot
operations, and the cross-field values Stripe needs so valid requests can also succeed).
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import unquote, urlencode

import httpx
import requests
import requests.structures
from schemathesis.core import NotSet
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.transport import Response as StResponse

from fake_stripe.inprocess import LoopThread

from .fuzz_spec import FORM


def _pairs(value: Any, prefix: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        for key, sub in value.items():
            yield from _pairs(sub, f"{prefix}[{key}]")
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _pairs(sub, f"{prefix}[{index}]")
    elif value is None:
        # As the SDKs do: a null is not sent at all.
        return
    elif isinstance(value, bool):
        yield prefix, "true" if value else "false"
    elif isinstance(value, (int, float)):
        yield prefix, json.dumps(value)
    else:
        yield prefix, str(value)


def stripe_encode(values: Mapping[str, Any]) -> str:
    """`{"a": {"b": [1, {"c": True}]}}` -> `a[b][0]=1&a[b][1][c]=true` (percent-encoded)."""
    return urlencode([pair for key, value in values.items() for pair in _pairs(value, str(key))])


# -- the tenant world --------------------------------------------------------------------------


# Webhook endpoints live in a tenant of their own: an endpoint in the main tenant would be sent
# every event the fuzzing causes.
HOOKS_AUTH = {"Authorization": "Bearer sk_test_schemathesis_hooks"}
HOOK_URL = "http://127.0.0.1:9/hooks"  # nothing listens: deliveries fail at once


def auth_for(path: str, auth: Mapping[str, str]) -> dict[str, str]:
    return {**auth, **HOOKS_AUTH} if path.startswith("/v1/webhook_endpoints") else dict(auth)


@dataclass
class World:
    """Objects that exist in the test tenant, by the spec's parameter names."""

    http: httpx.Client
    ids: dict[str, list[str]] = field(default_factory=dict)
    ownership: dict[str, str] = field(default_factory=dict)  # account -> its ownership

    def call(self, method: str, path: str, **params: Any) -> dict[str, Any]:
        content = stripe_encode(params).encode() if method == "POST" else None
        url = path if method == "POST" or not params else f"{path}?{stripe_encode(params)}"
        headers = {"Content-Type": FORM} if content else {}
        if path.startswith("/v1/webhook_endpoints"):
            headers.update(HOOKS_AUTH)
        response = self.http.request(method, url, content=content, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def pick(self, kind: str, seed: int) -> str | None:
        options = self.ids.get(kind)
        return options[seed % len(options)] if options else None

    def linked_accounts(self, customer: str, count: int) -> tuple[str, list[str]]:
        session = self.call(
            "POST",
            "/v1/financial_connections/sessions",
            account_holder={"type": "customer", "customer": customer},
            permissions=["payment_method", "balances", "ownership", "transactions"],
        )
        self.call(
            "POST",
            f"/v1/test_helpers/financial_connections/sessions/{session['id']}/complete",
            outcome="link",
            accounts=[{"subcategory": "checking"}, {"subcategory": "savings"}][:count],
        )
        session = self.call("GET", f"/v1/financial_connections/sessions/{session['id']}")
        accounts = [a["id"] for a in session["accounts"]["data"]]
        self.ids.setdefault("session", []).append(session["id"])
        return session["accounts"]["data"][0]["authorization"], accounts

    def payment_method(self, account: str, customer: str | None = None) -> str:
        pm = self.call(
            "POST",
            "/v1/payment_methods",
            type="us_bank_account",
            us_bank_account={"financial_connections_account": account},
            billing_details={"name": "Jenny Rosen"},
        )
        if customer is not None:
            self.call("POST", f"/v1/payment_methods/{pm['id']}/attach", customer=customer)
        return str(pm["id"])

    def webhook_endpoint(self) -> str:
        # A tenant may have 16 endpoints (Stripe's limit) and the fuzzed creates fill them:
        # make room by deleting those, keeping the world's own.
        listed = self.call("GET", "/v1/webhook_endpoints", limit=100)["data"]
        keep = set(self.ids.get("webhook_endpoint", ()))
        for old in [e["id"] for e in listed if e["id"] not in keep][: max(0, len(listed) - 14)]:
            self.call("DELETE", f"/v1/webhook_endpoints/{old}")
        endpoint = self.call("POST", "/v1/webhook_endpoints", url=HOOK_URL, enabled_events=["*"])
        return str(endpoint["id"])

    def payment_intent(self, customer: str | None, payment_method: str | None = None) -> Any:
        params: dict[str, Any] = {"amount": 1000, "currency": "usd"}
        if customer is not None:
            params["customer"] = customer
        if payment_method is not None:
            params["payment_method"] = payment_method
        return self.call("POST", "/v1/payment_intents", **params)

    def mandated_payment_method(self, customer: str) -> tuple[str, str]:
        """A PaymentMethod of the customer's with its mandate (a confirmed SetupIntent)."""
        pm = self.payment_method(self.ids["account"][0])
        seti = self.call(
            "POST",
            "/v1/setup_intents",
            customer=customer,
            payment_method=pm,
            payment_method_types=["us_bank_account"],
            confirm=True,
            mandate_data=_ACCEPTANCE,
        )
        return pm, str(seti["mandate"])

    def paid(self, customer: str, outcome: str | None) -> dict[str, Any]:
        """A confirmed PaymentIntent, its charge processing or (with `outcome`) settled."""
        pm, _ = self.mandated_payment_method(customer)
        pi = self.payment_intent(customer, pm)
        pi = self.call("POST", f"/v1/payment_intents/{pi['id']}/confirm")
        if outcome is not None:
            path = f"/v1/test_helpers/payment_intents/{pi['id']}/settle"
            pi = self.call("POST", path, outcome=outcome)
        return pi

    def setup_intent(self, customer: str) -> str:
        seti = self.call(
            "POST",
            "/v1/setup_intents",
            customer=customer,
            payment_method_types=["us_bank_account"],
        )
        return str(seti["id"])


def build_world(http: httpx.Client) -> World:
    """The objects every case may point at, made through the API in the test tenant."""
    world = World(http)
    customer = world.call("POST", "/v1/customers", email="fuzz@example.com")["id"]
    authorization, accounts = world.linked_accounts(customer, 2)
    account = accounts[0]
    world.ids["account"] = accounts
    for linked in accounts:
        refreshed = world.call(
            "POST",
            f"/v1/financial_connections/accounts/{linked}/refresh",
            features=["ownership", "transactions"],
        )
        world.ownership[linked] = refreshed["ownership"]
    transactions = world.call(
        "GET", "/v1/financial_connections/transactions", account=account, limit=5
    )
    pm = world.payment_method(account, customer)
    # Charges in each state (processing, succeeded, failed), and the mandates they run under.
    paid = [world.paid(customer, outcome) for outcome in (None, "succeeded", "account_closed")]
    charges = [world.call("GET", f"/v1/charges/{pi['latest_charge']}") for pi in paid]
    events = world.call("GET", "/v1/events", limit=5)
    institutions = world.call("GET", "/v1/financial_connections/institutions", limit=5)
    world.ids.update(
        customer=[customer],
        authorization=[authorization],
        account=accounts,
        ownership=list(world.ownership.values()),
        transaction_refresh=[refreshed["transaction_refresh"]["id"]],
        transaction=[t["id"] for t in transactions["data"]],
        payment_method=[pm],
        intent=[world.setup_intent(customer)],
        payment_intent=[
            world.payment_intent(customer, pm)["id"],
            world.payment_intent(None)["id"],
            *(pi["id"] for pi in paid),
        ],
        charge=[charge["id"] for charge in charges],
        mandate=[
            charge["payment_method_details"]["us_bank_account"]["mandate"] for charge in charges
        ],
        id=[e["id"] for e in events["data"]],
        institution=[i["id"] for i in institutions["data"]],
        webhook_endpoint=[world.webhook_endpoint()],
    )
    return world


# Parameters (by the spec's names) that name an object, and the kind of object they name.
_PATH_KINDS = {
    "customer": "customer",
    "account": "account",
    "authorization": "authorization",
    "session": "session",
    "institution": "institution",
    "transaction": "transaction",
    "payment_method": "payment_method",
    "intent": "intent",
    "id": "id",
    "webhook_endpoint": "webhook_endpoint",
    "charge": "charge",
    "mandate": "mandate",
}
_FIELD_KINDS: dict[tuple[str, ...], str] = {
    ("customer",): "customer",
    ("account_holder", "customer"): "customer",
    ("relink_options", "authorization"): "authorization",
    ("relink_options", "account"): "account",
    ("payment_method",): "payment_method",
    ("payment_intent",): "payment_intent",
    ("us_bank_account", "financial_connections_account"): "account",
    ("payment_method_data", "us_bank_account", "financial_connections_account"): "account",
    ("filters", "institution"): "institution",
    ("session",): "session",
    ("account",): "account",
    ("ownership",): "ownership",
    ("transaction_refresh[after]",): "transaction_refresh",
    ("transaction_refresh", "after"): "transaction_refresh",
}


def _substitute(
    value: Any,
    world: World,
    seed: int,
    fixed: Mapping[tuple[str, ...], str],
    trail: tuple[str, ...] = (),
) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, world, seed, fixed, (*trail, str(k))) for k, v in value.items()}
    if trail in fixed and isinstance(value, str):
        return fixed[trail]
    kind = _FIELD_KINDS.get(trail)
    if kind is not None and isinstance(value, str):
        return world.pick(kind, seed) or value
    return value


# One-shot operations: each case gets a fresh object, made here; also the values that must
# agree with it (a SetupIntent's client_secret).
def _fresh(
    world: World, method: str, path: str
) -> tuple[dict[str, str], dict[tuple[str, ...], str]]:
    customer = world.ids["customer"][0]
    if path.endswith("/detach"):
        return {"payment_method": world.payment_method(world.ids["account"][0], customer)}, {}
    if path == "/v1/payment_intents/{intent}/confirm":
        pm, _ = world.mandated_payment_method(customer)
        pi = world.payment_intent(customer, pm)
        return {"intent": pi["id"]}, {("client_secret",): pi["client_secret"]}
    if path in ("/v1/payment_intents/{intent}", "/v1/payment_intents/{intent}/cancel"):
        pi = world.payment_intent(customer)
        return {"intent": pi["id"]}, {("client_secret",): pi["client_secret"]}
    if path.endswith("/{intent}/confirm"):
        pm = world.payment_method(world.ids["account"][0])
        seti = world.call(
            "POST",
            "/v1/setup_intents",
            customer=customer,
            payment_method=pm,
            payment_method_types=["us_bank_account"],
        )
        return {"intent": seti["id"]}, {("client_secret",): seti["client_secret"]}
    if path == "/v1/webhook_endpoints/{webhook_endpoint}" and method == "DELETE":
        return {"webhook_endpoint": world.webhook_endpoint()}, {}
    if path == "/v1/customers/{customer}" and method == "DELETE":
        # The world's customer owns every other object: it is never the one deleted.
        return {"customer": world.call("POST", "/v1/customers")["id"]}, {}
    if path.endswith("/disconnect"):
        _, accounts = world.linked_accounts(customer, 1)
        return {"account": accounts[0]}, {}
    return {}, {}


def prepare(case: Any, world: World) -> None:
    """Point ids at existing objects, in four cases out of five, where generated valid."""
    meta = case.meta
    if meta is None or case.method != case.operation.method.upper():
        # A probe with a method the operation lacks must not touch the shared objects (a
        # DELETE on the world's customer would delete it).
        return
    seed = zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode())
    if seed % 5 == 0:
        return  # keep the generated ids: unknown objects must answer 404/400 too
    fields: dict[tuple[str, ...], str] = {}
    if case.path_parameters and not meta.is_negative_at(ParameterLocation.PATH):
        fresh, fields = _fresh(world, case.method, case.path)
        kinds = dict(_PATH_KINDS)
        if case.path.startswith("/v1/payment_intents/"):
            kinds["intent"] = "payment_intent"
        case.path_parameters = {
            name: fresh.get(name) or world.pick(kinds.get(name, ""), seed) or value
            for name, value in case.path_parameters.items()
        }
        account = case.path_parameters.get("account")
        if account in world.ownership:
            # An ownership is read through the account it belongs to.
            fields[("ownership",)] = world.ownership[account]
    if case.query and not meta.is_negative_at(ParameterLocation.QUERY):
        case.query = _substitute(case.query, world, seed, fields)
    if isinstance(case.body, dict) and not meta.is_negative_at(ParameterLocation.BODY):
        case.body = _substitute(case.body, world, seed, fields)
        if seed % 2 == 0:
            _complete(case.operation.label, case.body, world)


_ACCEPTANCE = {
    "customer_acceptance": {
        "type": "online",
        "online": {"ip_address": "127.0.0.1", "user_agent": "fuzz"},
    }
}


def _named(holder: Any) -> dict[str, Any]:
    details = dict(holder) if isinstance(holder, dict) else {}
    if not isinstance(details.get("name"), str) or not details["name"].strip():
        details["name"] = "Jenny Rosen"
    return details


def _bank_account(data: dict[str, Any], world: World) -> None:
    """A us_bank_account PaymentMethod's data, complete: type, account, holder name."""
    data["type"] = "us_bank_account"
    given = data.get("us_bank_account")
    kept = given if isinstance(given, dict) else {}
    data["us_bank_account"] = {
        **{k: v for k, v in kept.items() if k in ("account_holder_type", "account_type")},
        "financial_connections_account": world.ids["account"][0],
    }
    data["billing_details"] = _named(data.get("billing_details"))


def _complete(label: str, body: dict[str, Any], world: World) -> None:
    """Add what Stripe requires beyond the schema (the cross-field rules in STRIPE_RULES), so
    that valid requests also reach success; only with values the schema allows, so a valid
    case stays valid. Done for half the substituted cases: the other half meet the rules."""
    customer = world.ids["customer"][0]
    if label == "POST /v1/payment_methods":
        _bank_account(body, world)
    elif label == "POST /v1/financial_connections/sessions":
        body["permissions"] = body.get("permissions") or ["payment_method"]
        body["account_holder"] = {"type": "customer", "customer": customer}
        if "relink_options" not in body:
            body.pop("hosted", None)
            body["ui_mode"] = "modal"
        elif body.get("ui_mode") == "hosted" and not body.get("hosted"):
            body["hosted"] = {"delivery_method": "url"}
    elif label in ("POST /v1/setup_intents", "POST /v1/setup_intents/{intent}/confirm"):
        if isinstance(body.get("payment_method_data"), dict) and "payment_method" not in body:
            _bank_account(body["payment_method_data"], world)
        else:
            body.pop("payment_method_data", None)
        if label.endswith("/confirm") or body.get("confirm") is True:
            if label == "POST /v1/setup_intents" and "payment_method_data" not in body:
                body["payment_method"] = world.ids["payment_method"][0]
            body["mandate_data"] = copy.deepcopy(_ACCEPTANCE)
        else:
            body.pop("mandate_data", None)
    elif label in ("POST /v1/payment_intents", "POST /v1/payment_intents/{intent}/confirm"):
        if label == "POST /v1/payment_intents":
            body["amount"] = 1000
            body["currency"] = "usd"
            body["customer"] = customer
        body["payment_method_types"] = ["us_bank_account"]
        body.pop("mandate", None)
        if isinstance(body.get("payment_method_data"), dict) and "payment_method" not in body:
            _bank_account(body["payment_method_data"], world)
        else:
            body.pop("payment_method_data", None)
        if label.endswith("/confirm") or body.get("confirm") is True:
            body["mandate_data"] = copy.deepcopy(_ACCEPTANCE)
        else:
            for name in ("mandate_data", "off_session"):
                body.pop(name, None)
    elif label.startswith("POST /v1/webhook_endpoints"):
        body["url"] = HOOK_URL
    elif label.endswith(("/refresh", "/subscribe", "/unsubscribe")):
        body["features"] = body.get("features") or ["balance"]


# -- sending ----------------------------------------------------------------------------------


async def _call_asgi(
    app: Any, method: str, target: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One request straight into the app. No HTTP client in between: httpx refuses URLs over
    64 KiB, which the coverage phase produces (every `maxLength: 5000` string at 5001)."""
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"fake-stripe.local"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("fake-stripe.local", 80),
    }
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    status, sent_headers, chunks = 0, [], []

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, sent_headers
        if message["type"] == "http.response.start":
            status, sent_headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, sent_headers, b"".join(chunks)


def send(
    app: Any, loop: LoopThread, case: Any, auth: Mapping[str, str]
) -> tuple[StResponse, dict[str, str]]:
    """Send `case` in Stripe's encoding, with the `auth` headers; schemathesis's response."""
    headers = {k: str(v) for k, v in (case.headers or {}).items()}
    headers.update(auth_for(case.path, auth))
    query = stripe_encode(case.query or {})
    body = b""
    if isinstance(case.body, Mapping):
        body = stripe_encode(case.body).encode()
    elif isinstance(case.body, (str, bytes)):
        body = case.body.encode() if isinstance(case.body, str) else case.body
    elif isinstance(case.body, (list, int, float, bool)):
        body = json.dumps(case.body).encode()
    if case.body is not None and not isinstance(case.body, NotSet):
        headers.setdefault("Content-Type", case.media_type or FORM)
    target = case.formatted_path + (f"?{query}" if query else "")
    raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    started = time.perf_counter()
    status, answer_headers, content = loop.run(
        _call_asgi(app, case.method, target, raw_headers, body)
    )
    elapsed = time.perf_counter() - started
    request = requests.PreparedRequest()
    request.method = case.method
    request.url = f"http://fake-stripe.local{target}"
    request.headers = requests.structures.CaseInsensitiveDict(headers)
    request.body = body
    grouped: dict[str, list[str]] = {}
    for name, value in answer_headers:
        grouped.setdefault(name.decode("latin-1"), []).append(value.decode("latin-1"))
    response = StResponse(
        status_code=status,
        headers=grouped,
        content=content,
        request=request,
        elapsed=elapsed,
        verify=False,
        encoding="utf-8",
    )
    return response, headers


def as_sent(response: StResponse) -> str:
    """What was sent (schemathesis's "Reproduce with" shows its own encoding) and the answer."""
    request = response.request
    body = cast(bytes, request.body or b"").decode("utf-8", errors="replace")
    answer = response.content.decode("utf-8", errors="replace")
    return (
        f"Sent in Stripe's encoding: {request.method} {unquote(str(request.url))[:3000]}\n"
        + (f"  body: {unquote(body)[:3000]}\n" if body else "")
        + f"Answered {response.status_code}: {answer[:2000]}"
    )
