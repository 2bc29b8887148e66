"""Setting up a scenario's [given] through the fake's test helpers, with the observer's
requests: the customer, the linked accounts of one login, their PaymentMethods with a mandate;
and the objects as they were at the end of [given] (what `[expect]` compares against)."""

from __future__ import annotations

from typing import Any

from .model import Given
from .observer import Observer, SetupError
from .relink_client import MandateAcceptance

ACCEPTANCE = MandateAcceptance("203.0.113.7", "Mozilla/5.0 (fake-stripe scenario)")
TEST_HELPERS = "/v1/test_helpers/financial_connections"


def set_up(observer: Observer, g: Given) -> dict[str, str]:
    """The objects of [given]; returns their ids by the scenario's names (`customer`,
    `authorization`, `accounts.<ref>`, `payment_methods.<ref>`)."""
    ids: dict[str, str] = {}
    cus = observer.call("post", "/v1/customers", "given.customer", **g.customer)
    ids["customer"] = cus["id"]
    session = observer.call(
        "post",
        "/v1/financial_connections/sessions",
        "given.accounts",
        account_holder={"type": "customer", "customer": cus["id"]},
        permissions=list(g.permissions),
    )
    accounts = []
    for a in g.accounts:
        wanted = {"subcategory": a.subcategory}
        if a.display_name:
            wanted["display_name"] = a.display_name
        if a.last4:
            wanted["last4"] = a.last4
        accounts.append(wanted)
    done = observer.call(
        "post",
        f"{TEST_HELPERS}/sessions/{session['id']}/complete",
        "given.accounts",
        outcome="link",
        institution=g.institution,
        accounts=accounts,
    )
    linked = done["accounts"]["data"]
    if len(linked) != len(g.accounts):
        raise SetupError(f"given.accounts: linked {len(linked)} accounts, not {len(g.accounts)}")
    for spec, acc in zip(g.accounts, linked, strict=True):
        ids[f"accounts.{spec.ref}"] = acc["id"]
    ids["authorization"] = linked[0]["authorization"]
    for ref in g.payment_methods:
        pm = observer.call(
            "post",
            "/v1/payment_methods",
            f"given.payment_methods.{ref}",
            type="us_bank_account",
            us_bank_account={"financial_connections_account": ids[f"accounts.{ref}"]},
            billing_details={"name": g.customer.get("name", "Jenny Rosen")},
        )
        observer.call(
            "post",
            "/v1/setup_intents",
            f"given.payment_methods.{ref}",
            customer=cus["id"],
            payment_method=pm["id"],
            payment_method_types=["us_bank_account"],
            confirm=True,
            mandate_data={
                "customer_acceptance": {
                    "type": "online",
                    "online": {
                        "ip_address": ACCEPTANCE.ip_address,
                        "user_agent": ACCEPTANCE.user_agent,
                    },
                }
            },
        )
        ids[f"payment_methods.{ref}"] = pm["id"]
    return ids


def baseline(observer: Observer, g: Given, ids: dict[str, str]) -> dict[str, Any]:
    return {
        "authorization": observer.get(
            f"/v1/financial_connections/authorizations/{ids['authorization']}"
        ),
        "accounts": {
            a.ref: observer.get(f"/v1/financial_connections/accounts/{ids['accounts.' + a.ref]}")
            for a in g.accounts
        },
        "payment_methods": {
            ref: observer.get(f"/v1/payment_methods/{ids['payment_methods.' + ref]}")
            for ref in g.payment_methods
        },
    }
