"""PaymentIntents with a Przelewy24 PaymentMethod from `payment_method_data` (as stripe-python's
examples create them): stored in the currencies P24 takes, refused with Stripe's currency error
in the others, never confirmed. Both modes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import assert_error

P24 = {
    "amount": "200",
    "payment_method_data[type]": "p24",
    "payment_method_data[p24][bank]": "blik",
}
IN_USD = (
    "The currency provided (usd) is invalid. Payments with p24 support the following "
    "currencies: eur, pln."
)


def ok(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()


def stored(api: httpx.Client) -> tuple[list[Any], list[Any]]:
    intents = ok(api.get("/v1/payment_intents"))["data"]
    methods = ok(api.get("/v1/payment_methods", params={"type": "p24"}))["data"]
    return intents, methods


@pytest.mark.parametrize(("currency", "bank"), [("eur", "blik"), ("pln", "ing")])
def test_p24_with_a_bank_is_accepted_in_eur_and_pln(
    api: httpx.Client, currency: str, bank: str
) -> None:
    data = {**P24, "currency": currency, "payment_method_data[p24][bank]": bank}
    pi = ok(api.post("/v1/payment_intents", data=data))
    assert (pi["currency"], pi["status"]) == (currency, "requires_confirmation")
    assert pi["payment_method_types"] == ["p24"]
    pm = ok(api.get(f"/v1/payment_methods/{pi['payment_method']}"))
    assert (pm["type"], pm["p24"]) == ("p24", {"bank": bank})
    assert "us_bank_account" not in pm and "card" not in pm
    assert ok(api.get(f"/v1/payment_intents/{pi['id']}")) == pi


def test_p24_without_a_bank_is_accepted(api: httpx.Client) -> None:
    data = {"amount": "200", "currency": "eur", "payment_method_data[type]": "p24"}
    pi = ok(api.post("/v1/payment_intents", data=data))
    pm = ok(api.get(f"/v1/payment_methods/{pi['payment_method']}"))
    assert pm["p24"] == {"bank": None}


def test_p24_in_usd_is_refused_naming_the_currency(api: httpx.Client) -> None:
    resp = api.post("/v1/payment_intents", data={**P24, "currency": "usd"})
    err = assert_error(resp, 400, code="payment_intent_invalid_parameter", param="currency")
    assert err["message"] == IN_USD
    typed = api.post(
        "/v1/payment_intents",
        data={"amount": "200", "currency": "USD", "payment_method_types[]": "p24"},
    )
    assert_error(typed, 400, code="payment_intent_invalid_parameter", param="currency")
    assert stored(api) == ([], [])


def test_an_unknown_p24_bank_is_refused(api: httpx.Client) -> None:
    data = {**P24, "currency": "eur", "payment_method_data[p24][bank]": "no_such_bank"}
    resp = api.post("/v1/payment_intents", data=data)
    assert_error(resp, 400, param="payment_method_data[p24][bank]")
    assert stored(api) == ([], [])


def test_a_p24_intent_keeps_a_currency_p24_takes(api: httpx.Client) -> None:
    pi = ok(api.post("/v1/payment_intents", data={**P24, "currency": "eur"}))
    resp = api.post(f"/v1/payment_intents/{pi['id']}", data={"currency": "usd"})
    err = assert_error(resp, 400, code="payment_intent_invalid_parameter", param="currency")
    assert err["message"] == IN_USD
    assert (
        ok(api.post(f"/v1/payment_intents/{pi['id']}", data={"currency": "pln"}))["currency"]
        == "pln"
    )


def test_p24_data_on_an_ach_intent_in_usd_is_refused(api: httpx.Client) -> None:
    pi = ok(api.post("/v1/payment_intents", data={"amount": "200", "currency": "usd"}))
    data = {k: v for k, v in P24.items() if k != "amount"}
    resp = api.post(f"/v1/payment_intents/{pi['id']}", data=data)
    err = assert_error(resp, 400, code="payment_intent_invalid_parameter", param="currency")
    assert "for one or more payment method types" in err["message"]
    after = ok(api.get(f"/v1/payment_intents/{pi['id']}"))
    assert after == pi
    assert stored(api)[1] == []


def test_p24_data_joins_an_automatic_eur_intent(api: httpx.Client) -> None:
    auto = {"amount": "200", "currency": "eur", "automatic_payment_methods[enabled]": "true"}
    pi = ok(api.post("/v1/payment_intents", data=auto))
    data = {k: v for k, v in P24.items() if k != "amount"}
    updated = ok(api.post(f"/v1/payment_intents/{pi['id']}", data=data))
    assert updated["payment_method_types"] == ["card", "p24"]
    assert updated["status"] == "requires_confirmation"


def test_a_p24_intent_is_not_confirmed(api: httpx.Client) -> None:
    pi = ok(api.post("/v1/payment_intents", data={**P24, "currency": "eur"}))
    resp = api.post(f"/v1/payment_intents/{pi['id']}/confirm")
    assert_error(resp, 400, code="payment_method_unsupported_type", param="payment_method")
    assert ok(api.get(f"/v1/payment_intents/{pi['id']}"))["status"] == "requires_confirmation"


def test_setup_intents_still_refuse_p24(api: httpx.Client) -> None:
    resp = api.post(
        "/v1/setup_intents", data={"payment_method_data[type]": "p24", "confirm": "false"}
    )
    assert_error(resp, 400, param="payment_method_data[type]")
