"""The fake Stripe.js itself: loading it from the real URL, and what its promise resolves with."""

from __future__ import annotations

import re
from typing import Any

from conftest import Shop
from merchant import USE_CASES
from playwright.sync_api import Request, expect

# Field lists from @stripe/stripe-js 10.2.1 (npm), dist/api/financial-connections.d.ts
# (`FinancialConnectionsSession`, `FinancialConnectionsSession.Account`) and
# dist/stripe-js/stripe.d.ts (`FinancialConnectionsSessionResult`, `StripeError`).
SESSION_REQUIRED = {"id", "accounts"}
SESSION_OPTIONAL = {"filters", "permissions", "return_url"}
ACCOUNT_FIELDS = {
    "id",
    "object",
    "balance",
    "balance_refresh",
    "category",
    "created",
    "display_name",
    "institution_name",
    "last4",
    "livemode",
    "ownership",
    "ownership_refresh",
    "permissions",
    "status",
    "subcategory",
    "supported_payment_method_types",
}
ACCOUNT_OBJECTS = {"linked_account", "financial_connections.account"}
CATEGORIES = {"cash", "credit", "investment", "other"}
SUBCATEGORIES = {"checking", "savings", "mortgage", "line_of_credit", "credit_card", "other"}
STATUSES = {"active", "inactive", "disconnected"}
PERMISSIONS = {"payment_method", "balances", "transactions", "ownership", "account_numbers"}
PAYMENT_METHOD_TYPES = {"us_bank_account", "link"}
ERROR_FIELDS = {
    "type",
    "charge",
    "code",
    "decline_code",
    "doc_url",
    "message",
    "param",
    "request_log_url",
    "payment_intent",
    "payment_method",
    "setup_intent",
    "source",
}
ERROR_TYPES = {
    "api_connection_error",
    "api_error",
    "authentication_error",
    "card_error",
    "idempotency_error",
    "invalid_request_error",
    "rate_limit_error",
    "validation_error",
}

COLLECT = """([pk, secret]) => {
  window.__result = undefined;
  Stripe(pk).collectFinancialConnectionsAccounts({clientSecret: secret})
    .then((r) => { window.__result = r; });
}"""


def _relink_session(shop: Shop, account: Any) -> Any:
    return shop.sdk.v1.financial_connections.sessions.create(
        params={
            "account_holder": {"type": "customer", "customer": shop.customer},
            "relink_options": {"authorization": account.authorization},
            **USE_CASES["payments"],
        }
    )


def _result(shop: Shop) -> Any:
    shop.page.wait_for_function("window.__result !== undefined")
    return shop.page.evaluate("window.__result")


def test_page_loading_the_real_stripe_js_url_gets_the_fake_through_routing(
    shop: Shop, stripe_js_hits: dict[str, int]
) -> None:
    account = shop.link()
    shop.deactivate(account.id, "token_expired")
    page = shop.open(real_stripe_js=True)
    expect(page.locator('script[src="https://js.stripe.com/v3/"]')).to_have_count(1)
    assert stripe_js_hits["js.stripe.com"] == 1
    shop.row(account).get_by_role("button", name="Re-link your bank account").click()
    flow = shop.flow()
    flow.get_by_role("button", name="Agree and continue").click()
    shop.sign_in()
    flow.get_by_role("button", name="Connect account").click()
    flow.get_by_role("button", name="Done").click()

    expect(shop.message()).to_have_text(re.compile("Your bank account is reconnected"))
    assert shop.sdk.v1.financial_connections.accounts.retrieve(account.id).status == "active"


def test_resolved_session_has_the_stripe_js_type_fields_and_the_secret_stays_out_of_urls(
    shop: Shop,
) -> None:
    account = shop.link()
    shop.deactivate(account.id, "token_expired")
    page = shop.open()
    session = _relink_session(shop, account)
    secret = session.client_secret
    sent: list[Request] = []
    page.on("request", lambda r: sent.append(r))
    pk = "pk_" + shop.key[3:]
    page.evaluate(COLLECT, [pk, secret])
    flow = shop.flow()
    flow.get_by_role("button", name="Agree and continue").click()
    shop.sign_in()
    flow.get_by_role("button", name="Connect account").click()
    flow.get_by_role("button", name="Done").click()
    result = _result(shop)

    assert set(result) == {"financialConnectionsSession"}
    fcs = result["financialConnectionsSession"]
    assert SESSION_REQUIRED <= set(fcs) <= SESSION_REQUIRED | SESSION_OPTIONAL
    assert fcs["id"] == session.id
    assert isinstance(fcs["accounts"], list)  # a plain array, not the API's list object
    assert set(fcs["permissions"]) <= PERMISSIONS
    [acc] = fcs["accounts"]
    assert set(acc) == ACCOUNT_FIELDS
    assert acc["id"] == account.id
    assert acc["object"] in ACCOUNT_OBJECTS
    assert acc["category"] in CATEGORIES
    assert acc["subcategory"] in SUBCATEGORIES
    assert acc["status"] == "active" and acc["status"] in STATUSES
    assert set(acc["permissions"]) <= PERMISSIONS
    assert set(acc["supported_payment_method_types"]) <= PAYMENT_METHOD_TYPES
    assert acc["last4"] is None or re.fullmatch(r"\d{4}", acc["last4"])

    assert sent and all(secret not in r.url for r in sent)
    flow_posts = [r for r in sent if "/_stripejs/v1/" in r.url]
    assert flow_posts and all(r.method == "POST" for r in flow_posts)
    assert all(secret in (r.post_data or "") for r in flow_posts)


def test_closing_resolves_with_zero_accounts_and_no_error(shop: Shop) -> None:
    account = shop.link()
    shop.deactivate(account.id, "token_expired")
    page = shop.open()
    session = _relink_session(shop, account)
    page.evaluate(COLLECT, ["pk_" + shop.key[3:], session.client_secret])
    shop.flow().get_by_role("button", name="Close").click()
    result = _result(shop)

    assert result == {
        "financialConnectionsSession": {
            "id": session.id,
            "accounts": [],
            "permissions": ["payment_method", "balances"],
        }
    }
    assert shop.sdk.v1.financial_connections.sessions.retrieve(session.id).status == "cancelled"


def test_bad_or_foreign_client_secret_and_other_tenants_key_resolve_with_an_error(
    shop: Shop,
) -> None:
    account = shop.link()
    shop.deactivate(account.id, "token_expired")
    page = shop.open()
    secret = _relink_session(shop, account).client_secret
    own, other = "pk_" + shop.key[3:], "pk_test_someoneelse"
    for pk, cs in [(other, secret), (own, secret[:-3] + "xyz"), (own, "fcsess_nope_secret_x")]:
        page.evaluate(COLLECT, [pk, cs])
        result = _result(shop)
        assert set(result) == {"error"}, result
        error = result["error"]
        assert set(error) <= ERROR_FIELDS
        assert error["type"] in ERROR_TYPES
        assert (error["type"], error["code"], error["param"]) == (
            "invalid_request_error",
            "resource_missing",
            "client_secret",
        )
        assert secret not in error["message"]
        expect(page.locator("iframe")).to_have_count(0)

    thrown = page.evaluate("""() => {
      try { Stripe("sk_test_x"); return null; } catch (e) { return e.name + ": " + e.message; }
    }""")
    assert thrown.startswith("IntegrationError: You should not use your secret key")
    # the right secret still works: the failed attempts did not touch the session
    session = shop.sdk.v1.financial_connections.sessions.retrieve(secret.split("_secret_")[0])
    assert session.status == "pending"


CONFIRM = """([pk, secret, data]) => {
  window.__result = undefined;
  Stripe(pk).confirmUsBankAccountPayment(secret, data)
    .then((r) => { window.__result = r; });
}"""


def test_confirm_us_bank_account_payment_passes_its_confirm_params_and_typed_bank_details(
    shop: Shop,
) -> None:
    """`confirmUsBankAccountPayment` takes `PaymentIntentConfirmParams` beside the PaymentMethod
    (`setup_future_usage` saves it to the customer), and a PaymentMethod given as bank details
    (stripe-js, `ConfirmUsBankAccountPaymentData`) is made from them; a failure's error carries
    the intent, as Stripe.js's `StripeError` does."""
    shop.open()
    pk = "pk_" + shop.key[3:]
    pi = shop.sdk.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "customer": shop.customer,
            "payment_method_types": ["us_bank_account"],
        }
    )
    typed = {
        "us_bank_account": {
            "routing_number": "110000000",
            "account_number": "000123456789",
            "account_holder_type": "individual",
        },
        "billing_details": {"name": "Jenny Rosen"},
    }
    data = {"payment_method": typed, "setup_future_usage": "off_session"}
    shop.page.evaluate(CONFIRM, [pk, pi.client_secret, data])
    result = _result(shop)
    assert "error" not in result, result
    # Typed in by hand: it waits for microdeposits.
    assert result["paymentIntent"]["status"] == "requires_action"
    stored = shop.sdk.v1.payment_intents.retrieve(pi.id)
    assert stored.setup_future_usage == "off_session"
    pm = shop.sdk.v1.payment_methods.retrieve(stored.payment_method)
    assert (pm.type, pm.us_bank_account.last4, pm.customer) == ("us_bank_account", "6789", None)

    shop.page.evaluate(CONFIRM, [pk, pi.client_secret, data])
    error = _result(shop)["error"]
    assert set(error) <= ERROR_FIELDS
    assert error["code"] == "payment_intent_unexpected_state"
    assert error["payment_intent"]["id"] == pi.id
    assert error["payment_intent"]["status"] == "requires_action"

    # Verified, the debit starts and `setup_future_usage` saves the PaymentMethod.
    verified = shop.sdk.v1.payment_intents.verify_microdeposits(pi.id, params={"amounts": [32, 45]})
    assert verified.status == "processing"
    assert shop.sdk.v1.payment_methods.retrieve(pm.id).customer == shop.customer
