"""PaymentIntents in currencies other than usd: stored with automatic payment methods (as
stripe-python's examples create them), never debited through ACH Direct Debit. Both modes."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import assert_error

EUR = {"amount": "1099", "currency": "eur", "automatic_payment_methods[enabled]": "true"}


def ok(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_automatic_payment_methods_in_eur_are_created_and_retrieved(api: httpx.Client) -> None:
    pi = ok(api.post("/v1/payment_intents", data=EUR))
    assert (pi["currency"], pi["amount"], pi["status"]) == ("eur", 1099, "requires_payment_method")
    assert pi["payment_method_types"] == ["card"]
    assert pi["automatic_payment_methods"] == {"allow_redirects": "always", "enabled": True}
    assert ok(api.get(f"/v1/payment_intents/{pi['id']}")) == pi


def test_eur_with_ach_direct_debit_is_refused_naming_the_currency(api: httpx.Client) -> None:
    resp = api.post(
        "/v1/payment_intents",
        data={"amount": "1099", "currency": "eur", "payment_method_types[]": "us_bank_account"},
    )
    assert_error(resp, 400, code="payment_intent_invalid_parameter", param="currency")
    pi = ok(api.post("/v1/payment_intents", data=EUR))
    switched = api.post(
        f"/v1/payment_intents/{pi['id']}", data={"payment_method_types[]": "us_bank_account"}
    )
    assert_error(switched, 400, code="payment_intent_invalid_parameter", param="currency")
    assert ok(api.get(f"/v1/payment_intents/{pi['id']}"))["payment_method_types"] == ["card"]


def test_an_eur_intent_is_not_debited_from_a_bank_account(api: httpx.Client) -> None:
    pi = ok(api.post("/v1/payment_intents", data=EUR))
    resp = api.post(
        f"/v1/payment_intents/{pi['id']}/confirm",
        data={
            "payment_method_data[type]": "us_bank_account",
            "payment_method_data[billing_details][name]": "Jenny Rosen",
            "payment_method_data[us_bank_account][routing_number]": "110000000",
            "payment_method_data[us_bank_account][account_number]": "000123456789",
            "mandate_data[customer_acceptance][type]": "offline",
        },
    )
    assert_error(resp, 400, code="payment_intent_invalid_parameter", param="currency")
    after = ok(api.get(f"/v1/payment_intents/{pi['id']}"))
    assert after["status"] == "requires_payment_method" and after["latest_charge"] is None


def test_a_currency_that_is_no_code_is_refused(api: httpx.Client) -> None:
    for bad in ("eu1", "euro", "€"):
        resp = api.post("/v1/payment_intents", data={**EUR, "currency": bad})
        assert_error(resp, 400, param="currency")
