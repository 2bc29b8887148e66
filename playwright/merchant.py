"""The sample merchant page: a small Starlette app that relinks Financial Connections accounts.

Its server side is the integration of Stripe's relink guide (docs/api.md) on the official `stripe`
SDK (public-preview version): list the customer's linked accounts and decide per account whether it
is healthy, can be relinked through its authorization, or must be connected from scratch; create the
session (payments use case: `payment_method` permission, checking/savings filter, one account; data
use case: no filters); turn a new account into a PaymentMethod once the customer accepts the
mandate. Its page (`merchant_page/`) runs the guide's client code with Stripe.js.

Run it by hand against a running fake:

    python playwright/merchant.py --api http://127.0.0.1:12180 --key sk_test_demo
"""

from __future__ import annotations

import argparse
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import stripe
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fake_stripe.core.versions import PREVIEW_VERSION
from fake_stripe.sdk import stripe_client

STRIPE_VERSION = PREVIEW_VERSION
REAL_STRIPE_JS = "https://js.stripe.com/v3/"
PAGE_DIR = Path(__file__).with_name("merchant_page")
MERCHANT_NAME = "Acme Supply Co."
ORDER = "Order #1001"
ORDER_AMOUNT = 1000  # $10.00

# The relink guide's two use cases: what the session asks for.
USE_CASES: dict[str, dict[str, Any]] = {
    "payments": {
        "permissions": ["payment_method", "balances"],
        "filters": {"account_subcategories": ["checking", "savings"]},
        "limits": {"accounts": 1},
    },
    "data": {"permissions": ["balances", "transactions"]},
}
CAUSES = {
    "access_expired": "Your bank's authorization expired.",
    "institution_requirement": "Your bank changed its sign-in requirements.",
    "account_unavailable": "Your bank locked this account.",
    "account_closed": "This account was closed at your bank.",
    "access_denied": "Access to this account was revoked.",
    "unspecified": "Access to this account was lost.",
}


@dataclass
class User:
    """A customer signed in to the merchant's site."""

    secret_key: str
    customer: str
    use_case: str
    stripe_js: str
    sessions: list[str] = field(default_factory=list)  # the sessions created, oldest first


class Merchant:
    def __init__(self, api_base: str) -> None:
        self.api_base = api_base.rstrip("/")
        self.users: dict[str, User] = {}
        self._http = requests.Session()

    def sign_in(
        self,
        secret_key: str,
        customer: str,
        use_case: str = "payments",
        stripe_js: str | None = None,
    ) -> str:
        """Register a signed-in customer; returns the path of their settings page."""
        if use_case not in USE_CASES:
            raise ValueError(f"use_case must be one of {sorted(USE_CASES)}")
        uid = secrets.token_hex(6)
        self.users[uid] = User(secret_key, customer, use_case, stripe_js or f"{self.api_base}/v3/")
        return f"/u/{uid}/"

    def client(self, user: User) -> Any:
        return stripe_client(
            self.api_base,
            user.secret_key,
            stripe_version=STRIPE_VERSION,
            http_client=stripe.RequestsClient(session=self._http),
            max_network_retries=0,
        )

    def close(self) -> None:
        self._http.close()

    # ---- the relink guide, server side -----------------------------------------------------------

    def accounts(self, user: User) -> list[dict[str, Any]]:
        """Every linked account with its status and what the customer can do about it."""
        sdk = self.client(user)
        listed = sdk.v1.financial_connections.accounts.list(
            params={"account_holder": {"customer": user.customer}, "limit": 100}
        )
        pms = sdk.v1.payment_methods.list(
            params={"customer": user.customer, "type": "us_bank_account", "limit": 100}
        )
        by_account = {pm.us_bank_account.financial_connections_account: pm for pm in pms.data}
        auths: dict[str, Any] = {}
        out = []
        for a in listed.data:
            if a.status == "disconnected":
                continue
            action, cause = None, None
            if a.status == "inactive":
                inactive = a.status_details.inactive
                cause = inactive.cause
                if a.authorization not in auths:
                    auths[a.authorization] = sdk.v1.financial_connections.authorizations.retrieve(
                        a.authorization
                    )
                auth = auths[a.authorization]
                auth_inactive = getattr(auth.status_details, "inactive", None)
                relinkable = (
                    inactive.action == "relink_required"
                    and auth.status != "disconnected"
                    and not (auth_inactive and auth_inactive.action == "none")
                )
                # The seed: action `none` on the authorization or the account (closed at the
                # bank, on an authorization that stays active) cannot be relinked; connect from
                # scratch. An account left inactive by an earlier relink that picked another
                # account still relinks through its (now active) authorization.
                action = "relink" if relinkable else "connect"
            pm = by_account.get(a.id)
            out.append(
                {
                    "id": a.id,
                    "institution": a.institution_name,
                    "display_name": a.display_name,
                    "last4": a.last4,
                    "status": a.status,
                    "reason": CAUSES.get(cause or "", None),
                    "action": action,
                    "authorization": a.authorization,
                    "payment_method": {"id": pm.id, "last4": pm.us_bank_account.last4}
                    if pm
                    else None,
                }
            )
        return out

    def create_session(self, user: User, account_id: str | None) -> dict[str, Any]:
        sdk = self.client(user)
        params: dict[str, Any] = {
            "account_holder": {"type": "customer", "customer": user.customer},
            **USE_CASES[user.use_case],
        }
        existing: list[str] = []
        if account_id is not None:
            account = sdk.v1.financial_connections.accounts.retrieve(account_id)
            params["relink_options"] = {"authorization": account.authorization}
            # The seed: fetch the authorization's accounts to tell a new account from a relink.
            listed = sdk.v1.financial_connections.accounts.list(
                params={"account_holder": {"customer": user.customer}, "limit": 100}
            )
            existing = [a.id for a in listed.data if a.authorization == account.authorization]
        session = sdk.v1.financial_connections.sessions.create(params=params)
        user.sessions.append(session.id)
        return {"client_secret": session.client_secret, "existing_account_ids": existing}

    def accept_mandate(self, user: User, account_id: str, request: Request) -> dict[str, Any]:
        sdk = self.client(user)
        customer = sdk.v1.customers.retrieve(user.customer)
        pm = sdk.v1.payment_methods.create(
            params={
                "type": "us_bank_account",
                "us_bank_account": {"financial_connections_account": account_id},
                "billing_details": {
                    "name": customer.name or "Jenny Rosen",
                    "email": customer.email or "",
                },
            }
        )
        si = sdk.v1.setup_intents.create(
            params={
                "customer": user.customer,
                "payment_method_types": ["us_bank_account"],
                "payment_method": pm.id,
                "confirm": True,
                "mandate_data": _accepted_online(request),
            }
        )
        return {
            "payment_method": pm.id,
            "last4": pm.us_bank_account.last4,
            "bank_name": pm.us_bank_account.bank_name,
            "setup_intent": si.id,
            "status": si.status,
            "mandate": si.mandate,
        }

    def save_typed_account(
        self, user: User, routing: str, account: str, request: Request
    ) -> dict[str, Any]:
        """The fallback when nothing was linked: the numbers typed by hand, on a SetupIntent
        that verifies them with microdeposits (it waits in requires_action)."""
        sdk = self.client(user)
        customer = sdk.v1.customers.retrieve(user.customer)
        si = sdk.v1.setup_intents.create(
            params={
                "customer": user.customer,
                "payment_method_types": ["us_bank_account"],
                "payment_method_data": {
                    "type": "us_bank_account",
                    "billing_details": {"name": customer.name or "Jenny Rosen"},
                    "us_bank_account": {"routing_number": routing, "account_number": account},
                },
                "payment_method_options": {
                    "us_bank_account": {"verification_method": "microdeposits"}
                },
                "confirm": True,
                "mandate_data": _accepted_online(request),
            }
        )
        action = si.next_action.verify_with_microdeposits if si.next_action else None
        return {
            "client_secret": si.client_secret,
            "status": si.status,
            "arrival_date": action.arrival_date if action else None,
        }

    # ---- ACH Direct Debit: "Pay $10 by bank" ------------------------------------------------

    def start_payment(self, user: User) -> dict[str, Any]:
        """A PaymentIntent for the order; Stripe.js collects the bank account and confirms."""
        pi = self.client(user).v1.payment_intents.create(
            params={
                "amount": ORDER_AMOUNT,
                "currency": "usd",
                "customer": user.customer,
                "setup_future_usage": "off_session",
                "payment_method_options": {
                    "us_bank_account": {
                        "financial_connections": {"permissions": ["payment_method", "balances"]}
                    }
                },
                "description": ORDER,
            }
        )
        return {"id": pi.id, "client_secret": pi.client_secret}

    def pay_with(self, user: User, payment_method: str) -> dict[str, Any]:
        """Debit a saved bank account off-session, under the mandate accepted when it was
        saved. A refusal (402, a blocked account) comes back as the error it is."""
        try:
            pi = self.client(user).v1.payment_intents.create(
                params={
                    "amount": ORDER_AMOUNT,
                    "currency": "usd",
                    "customer": user.customer,
                    "payment_method": payment_method,
                    "confirm": True,
                    "off_session": True,
                    "description": ORDER,
                }
            )
        except stripe.StripeError as e:
            return {"status": "failed", "message": e.user_message or str(e), "code": e.code}
        return {"id": pi.id, "status": pi.status}

    def payments(self, user: User) -> list[dict[str, Any]]:
        listed = self.client(user).v1.payment_intents.list(
            params={"customer": user.customer, "limit": 10, "expand": ["data.latest_charge"]}
        )
        out = []
        for pi in listed.data:
            charge = pi.latest_charge
            bank = charge.payment_method_details.us_bank_account if charge else None
            error = pi.last_payment_error
            out.append(
                {
                    "id": pi.id,
                    "amount": pi.amount,
                    "status": pi.status,
                    "bank_name": bank.bank_name if bank else None,
                    "last4": bank.last4 if bank else None,
                    "failure": error.message if error else None,
                }
            )
        return out

    def reload(self, user: User, account_ids: list[str]) -> list[dict[str, Any]]:
        sdk = self.client(user)
        out = []
        for account_id in account_ids:
            a = sdk.v1.financial_connections.accounts.retrieve(account_id)
            out.append({"id": a.id, "status": a.status})
        return out


def _accepted_online(request: Request) -> dict[str, Any]:
    """`mandate_data` for the mandate the customer accepted in this browser."""
    return {
        "customer_acceptance": {
            "type": "online",
            "online": {
                "ip_address": request.client.host if request.client else "127.0.0.1",
                "user_agent": request.headers.get("user-agent", "unknown"),
            },
        }
    }


def create_merchant_app(merchant: Merchant) -> Starlette:
    page = (PAGE_DIR / "index.html").read_text(encoding="utf-8")
    assets = {
        "page.js": ((PAGE_DIR / "page.js").read_text(encoding="utf-8"), "text/javascript"),
        "page.css": ((PAGE_DIR / "page.css").read_text(encoding="utf-8"), "text/css"),
    }

    def guarded(fn: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            user = merchant.users.get(request.path_params["uid"])
            if user is None:
                return JSONResponse({"error": {"message": "Not signed in."}}, status_code=404)
            body = json.loads(await request.body() or b"{}") if request.method == "POST" else {}
            try:
                # The SDK is synchronous: keep it off the event loop.
                response: Response = await run_in_threadpool(fn, request, user, body)
            except stripe.StripeError as e:
                return JSONResponse(
                    {"error": {"message": e.user_message or str(e), "code": e.code}},
                    status_code=502,
                )
            return response

        return endpoint

    def index(request: Request, user: User, body: dict[str, Any]) -> Response:
        config = {
            "publishableKey": "pk_" + user.secret_key[3:],
            "useCase": user.use_case,
            "merchant": MERCHANT_NAME,
            "base": request.url.path.rstrip("/"),
        }
        html = page.replace("{{STRIPE_JS}}", user.stripe_js).replace(
            "{{CONFIG}}", json.dumps(config).replace("<", "\\u003c")
        )
        return Response(html, media_type="text/html; charset=utf-8")

    def accounts(request: Request, user: User, body: dict[str, Any]) -> Response:
        return JSONResponse({"accounts": merchant.accounts(user), "use_case": user.use_case})

    def sessions(request: Request, user: User, body: dict[str, Any]) -> Response:
        return JSONResponse(merchant.create_session(user, body.get("account")))

    def mandate(request: Request, user: User, body: dict[str, Any]) -> Response:
        return JSONResponse(merchant.accept_mandate(user, body["account"], request))

    def typed(request: Request, user: User, body: dict[str, Any]) -> Response:
        return JSONResponse(
            merchant.save_typed_account(user, body["routing"], body["account"], request)
        )

    def reload(request: Request, user: User, body: dict[str, Any]) -> Response:
        return JSONResponse({"accounts": merchant.reload(user, body["accounts"])})

    def payments(request: Request, user: User, body: dict[str, Any]) -> Response:
        if request.method == "GET":
            return JSONResponse({"payments": merchant.payments(user)})
        if body.get("payment_method"):
            return JSONResponse(merchant.pay_with(user, body["payment_method"]))
        return JSONResponse(merchant.start_payment(user))

    async def asset(request: Request) -> Response:
        text, media = assets[request.path_params["name"]]
        return Response(text, media_type=media, headers={"Cache-Control": "no-store"})

    return Starlette(
        routes=[
            Route("/u/{uid}/", guarded(index)),
            Route("/u/{uid}/accounts", guarded(accounts)),
            Route("/u/{uid}/sessions", guarded(sessions), methods=["POST"]),
            Route("/u/{uid}/mandate", guarded(mandate), methods=["POST"]),
            Route("/u/{uid}/reload", guarded(reload), methods=["POST"]),
            Route("/u/{uid}/typed", guarded(typed), methods=["POST"]),
            Route("/u/{uid}/payments", guarded(payments), methods=["GET", "POST"]),
            Route("/static/{name:str}", asset),
        ]
    )


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--api", default="http://127.0.0.1:12180", help="the fake's base URL")
    parser.add_argument("--key", default="sk_test_demo", help="the tenant's secret key")
    parser.add_argument("--customer", help="an existing cus_ id (default: create one)")
    parser.add_argument("--use-case", choices=sorted(USE_CASES), default="payments")
    parser.add_argument(
        "--real-stripe-js",
        action="store_true",
        help=f"load {REAL_STRIPE_JS} instead of the fake's /v3/",
    )
    parser.add_argument("--port", type=int, default=4242)
    args = parser.parse_args()
    merchant = Merchant(args.api)
    customer = (
        args.customer
        or merchant.client(User(args.key, "", args.use_case, ""))
        .v1.customers.create(params={"name": "Jenny Rosen", "email": "jenny@example.com"})
        .id
    )
    path = merchant.sign_in(
        args.key, customer, args.use_case, REAL_STRIPE_JS if args.real_stripe_js else None
    )
    print(f"merchant page: http://127.0.0.1:{args.port}{path}", flush=True)
    uvicorn.run(
        create_merchant_app(merchant), host="127.0.0.1", port=args.port, log_level="warning"
    )


if __name__ == "__main__":
    main()
