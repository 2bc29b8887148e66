"""Card PaymentMethods as stored objects (Stripe's test ids, tokens and numbers), PaymentMethod
update, and SetupIntent cancel and list. Both modes, strict app; charging a card is refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fake_stripe.sdk import stripe_client
from tests.helpers import assert_error

PV: dict[str, str] = {}


def ok(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()


def customer(api: httpx.Client) -> str:
    return str(ok(api.post("/v1/customers", data={"name": "Jenny Rosen"}))["id"])


def bank_pm(api: httpx.Client, cus: str) -> Any:
    data = {
        "type": "us_bank_account",
        "customer": cus,
        "billing_details[name]": "Jenny Rosen",
        "us_bank_account[account_number]": "000123456789",
        "us_bank_account[routing_number]": "110000000",
    }
    return ok(api.post("/v1/payment_methods", data=data))


def card_pm(api: httpx.Client, **data: Any) -> Any:
    return ok(api.post("/v1/payment_methods", data={"type": "card", **data}))


@pytest.mark.parametrize(
    ("token", "brand", "funding", "last4"),
    [
        ("tok_visa", "visa", "credit", "4242"),
        ("tok_visa_debit", "visa", "debit", "5556"),
        ("tok_mastercard_prepaid", "mastercard", "prepaid", "5100"),
        ("tok_amex", "amex", "credit", "0005"),
    ],
)
def test_card_from_a_test_token(
    api: httpx.Client, token: str, brand: str, funding: str, last4: str
) -> None:
    pm = card_pm(api, **{"card[token]": token, "billing_details[name]": "Jenny Rosen"})
    assert pm["id"].startswith("pm_") and pm["type"] == "card"
    assert "us_bank_account" not in pm
    card = pm["card"]
    assert (card["brand"], card["funding"], card["last4"], card["country"]) == (
        brand,
        funding,
        last4,
        "US",
    )
    assert card["networks"] == {"available": [brand], "preferred": None}
    assert 1 <= card["exp_month"] <= 12 and card["exp_year"] > 2000
    again = card_pm(api, **{"card[token]": token})
    assert again["card"]["fingerprint"] == card["fingerprint"] and again["id"] != pm["id"]
    assert ok(api.get(f"/v1/payment_methods/{pm['id']}")) == pm


def test_card_from_a_test_number(api: httpx.Client) -> None:
    pm = card_pm(
        api,
        **{
            "card[number]": "5555555555554444",
            "card[exp_month]": "8",
            "card[exp_year]": "2099",
            "card[cvc]": "314",
        },
    )
    card = pm["card"]
    assert (card["brand"], card["last4"], card["exp_month"], card["exp_year"]) == (
        "mastercard",
        "4444",
        8,
        2099,
    )
    assert card["checks"]["cvc_check"] == "unchecked"


def test_test_payment_method_ids_make_a_card_each_time(api: httpx.Client) -> None:
    cus = customer(api)
    read = ok(api.get("/v1/payment_methods/pm_card_visa"))
    assert read["id"] != "pm_card_visa" and read["card"]["brand"] == "visa"
    attached = ok(api.post("/v1/payment_methods/pm_card_mastercard/attach", data={"customer": cus}))
    assert attached["id"].startswith("pm_") and attached["id"] != "pm_card_mastercard"
    assert attached["customer"] == cus and attached["card"]["brand"] == "mastercard"
    bank = bank_pm(api, cus)
    listed = ok(api.get("/v1/payment_methods", params={"customer": cus, "type": "card"}))
    assert [p["id"] for p in listed["data"]] == [attached["id"]]
    banks = ok(api.get("/v1/payment_methods", params={"customer": cus, "type": "us_bank_account"}))
    assert [p["id"] for p in banks["data"]] == [bank["id"]]
    assert "card" not in bank


def test_update_billing_details_metadata_and_expiry(api: httpx.Client) -> None:
    cus = customer(api)
    pm = ok(api.post("/v1/payment_methods/pm_card_visa/attach", data={"customer": cus}))
    updated = ok(
        api.post(
            f"/v1/payment_methods/{pm['id']}",
            data={
                "billing_details[name]": "Jane Doe",
                "billing_details[address][city]": "Paris",
                "metadata[order]": "42",
                "card[exp_month]": "12",
                "card[exp_year]": "2098",
            },
        )
    )
    assert updated["billing_details"]["name"] == "Jane Doe"
    assert updated["billing_details"]["address"]["city"] == "Paris"
    assert updated["metadata"] == {"order": "42"}
    assert (updated["card"]["exp_month"], updated["card"]["exp_year"]) == (12, 2098)
    again = ok(
        api.post(
            f"/v1/payment_methods/{pm['id']}",
            data={"billing_details[address][line1]": "1 Rue", "metadata[order]": ""},
        )
    )
    assert again["billing_details"]["address"]["city"] == "Paris"
    assert again["billing_details"]["address"]["line1"] == "1 Rue"
    assert again["metadata"] == {}
    events = ok(api.get("/v1/events", params={"type": "payment_method.updated"}))["data"]
    assert len(events) == 2
    assert events[-1]["data"]["previous_attributes"]["billing_details"]["name"] is None


def test_update_us_bank_account_holder_type(api: httpx.Client) -> None:
    cus = customer(api)
    pm = bank_pm(api, cus)
    assert pm["us_bank_account"]["account_holder_type"] == "individual"
    updated = ok(
        api.post(
            f"/v1/payment_methods/{pm['id']}",
            data={"us_bank_account[account_holder_type]": "company"},
        )
    )
    assert updated["us_bank_account"]["account_holder_type"] == "company"
    bad = api.post(f"/v1/payment_methods/{pm['id']}", data={"card[exp_month]": "1"})
    assert_error(bad, 400, code="payment_method_invalid_parameter", param="card")
    bad = api.post(
        f"/v1/payment_methods/{pm['id']}", data={"us_bank_account[account_holder_type]": "x"}
    )
    assert_error(bad, 400, param="us_bank_account[account_holder_type]")


def test_card_errors(api: httpx.Client) -> None:
    unknown = api.post("/v1/payment_methods", data={"type": "card", "card[token]": "tok_nope"})
    assert_error(unknown, 400, code="resource_missing", param="card[token]")
    missing = api.get("/v1/payment_methods/pm_card_nope")
    assert_error(missing, 404, code="resource_missing", param="id")
    wrong = {"type": "card", "card[exp_month]": "8", "card[exp_year]": "2099"}
    luhn = api.post("/v1/payment_methods", data={**wrong, "card[number]": "4242424242424241"})
    assert_error(luhn, 402, "card_error", code="incorrect_number", param="card[number]")
    live = api.post("/v1/payment_methods", data={**wrong, "card[number]": "4111111111111111"})
    body = assert_error(live, 402, "card_error", code="card_declined", param="card[number]")
    assert body["decline_code"] == "test_mode_live_card"
    month = api.post(
        "/v1/payment_methods",
        data={**wrong, "card[number]": "4242424242424242", "card[exp_month]": "13"},
    )
    assert_error(month, 402, "card_error", code="invalid_expiry_month", param="card[exp_month]")
    past = api.post(
        "/v1/payment_methods",
        data={**wrong, "card[number]": "4242424242424242", "card[exp_year]": "2001"},
    )
    assert_error(past, 402, "card_error", code="invalid_expiry_year", param="card[exp_year]")
    no_card = api.post("/v1/payment_methods", data={"type": "card"})
    assert_error(no_card, 400, code="parameter_missing", param="card")
    both = api.post(
        "/v1/payment_methods",
        data={"type": "card", "card[token]": "tok_visa", "card[number]": "4242424242424242"},
    )
    assert_error(both, 400, code="parameters_exclusive", param="card[token]")
    loose = card_pm(api, **{"card[token]": "tok_visa"})
    unattached = api.post(f"/v1/payment_methods/{loose['id']}", data={"metadata[a]": "1"})
    assert_error(unattached, 400, code="payment_method_unexpected_state")
    nothing = api.post("/v1/payment_methods/pm_missing", data={"metadata[a]": "1"})
    assert_error(nothing, 404, code="resource_missing", param="id")


@pytest.mark.parametrize(
    ("routing", "number", "param", "message"),
    [
        ("abc", "000123456789", "routing_number", "Routing number must have 9 digits"),
        ("12345", "000123456789", "routing_number", "Routing number must have 9 digits"),
        ("1100000000", "000123456789", "routing_number", "Routing number must have 9 digits"),
        ("110000000", "x", "account_number", "Account number must have 4 to 17 digits"),
        ("110000000", "123", "account_number", "Account number must have 4 to 17 digits"),
        ("110000000", "1" * 18, "account_number", "Account number must have 4 to 17 digits"),
    ],
)
def test_typed_in_bank_numbers_must_have_their_digits(
    api: httpx.Client, routing: str, number: str, param: str, message: str
) -> None:
    typed = {"routing_number": routing, "account_number": number}
    made = api.post(
        "/v1/payment_methods",
        data={
            "type": "us_bank_account",
            "billing_details[name]": "Jenny Rosen",
            **{f"us_bank_account[{k}]": v for k, v in typed.items()},
        },
    )
    assert assert_error(made, 400, param=f"us_bank_account[{param}]")["message"] == message
    paid = api.post(
        "/v1/payment_intents",
        data={
            "amount": "1000",
            "currency": "usd",
            "payment_method_data[type]": "us_bank_account",
            "payment_method_data[billing_details][name]": "Jenny Rosen",
            **{f"payment_method_data[us_bank_account][{k}]": v for k, v in typed.items()},
        },
    )
    assert_error(paid, 400, param=f"payment_method_data[us_bank_account][{param}]")
    assert ok(api.get("/v1/payment_methods", params={"type": "us_bank_account"}))["data"] == []


def test_an_intent_does_not_charge_a_card(api: httpx.Client) -> None:
    cus = customer(api)
    si = ok(
        api.post(
            "/v1/setup_intents",
            data={
                "customer": cus,
                "payment_method": "pm_card_visa",
                "payment_method_types[]": "card",
            },
        )
    )
    assert si["status"] == "requires_confirmation"
    refused = api.post(f"/v1/setup_intents/{si['id']}/confirm")
    assert_error(refused, 400, code="payment_method_unsupported_type", param="payment_method")
    assert ok(api.get(f"/v1/setup_intents/{si['id']}"))["status"] == "requires_confirmation"


MANDATE = {"mandate_data[customer_acceptance][type]": "offline"}


def test_setup_intent_refuses_a_payment_method_another_customer_holds(api: httpx.Client) -> None:
    holder, other = customer(api), customer(api)
    pm = bank_pm(api, holder)["id"]
    base = {"payment_method_types[]": "us_bank_account", "payment_method": pm, **MANDATE}
    theirs = api.post("/v1/setup_intents", data={**base, "customer": other, "confirm": "true"})
    err = assert_error(theirs, 400, param="payment_method")
    assert (
        err["message"]
        == f"The provided PaymentMethod is attached to another customer than {other}."
    )
    nobody = api.post("/v1/setup_intents", data={**base, "confirm": "true"})
    err = assert_error(nobody, 400, param="payment_method")
    assert err["message"].startswith("The provided PaymentMethod belongs to a Customer")
    assert ok(api.get(f"/v1/payment_methods/{pm}"))["customer"] == holder
    assert ok(api.get("/v1/setup_intents", params={"payment_method": pm}))["data"] == []


def test_setup_intent_refuses_a_payment_method_of_a_type_it_was_not_given(
    api: httpx.Client,
) -> None:
    cus = customer(api)
    pm = bank_pm(api, cus)["id"]
    si = ok(
        api.post(
            "/v1/setup_intents",
            data={"customer": cus, "payment_method_types[]": "card", "payment_method": pm},
        )
    )
    refused = api.post(f"/v1/setup_intents/{si['id']}/confirm", data=MANDATE)
    err = assert_error(refused, 400, param="payment_method")
    assert err["message"] == (
        "The PaymentMethod provided (us_bank_account) is not allowed for this SetupIntent. "
        "Please attach a PaymentMethod of one of the following types: card. Alternatively, "
        'update the allowed payment_method_types for this SetupIntent to include "us_bank_account".'
    )
    kept = ok(api.get(f"/v1/setup_intents/{si['id']}"))
    assert (kept["status"], kept["mandate"], kept["payment_method_types"]) == (
        "requires_confirmation",
        None,
        ["card"],
    )
    # Given no types, an intent sets up the PaymentMethod's (Stripe's automatic payment methods).
    open_ = ok(api.post("/v1/setup_intents", data={"customer": cus, "payment_method": pm}))
    confirmed = ok(api.post(f"/v1/setup_intents/{open_['id']}/confirm", data=MANDATE))
    assert confirmed["status"] == "requires_action"


def test_setup_intent_cancel_and_list(api: httpx.Client) -> None:
    cus, other = customer(api), customer(api)
    first = ok(api.post("/v1/setup_intents", data={"customer": cus}))
    second = ok(
        api.post("/v1/setup_intents", data={"customer": cus, "payment_method": "pm_card_visa"})
    )
    third = ok(api.post("/v1/setup_intents", data={"customer": other}))
    canceled = ok(
        api.post(
            f"/v1/setup_intents/{first['id']}/cancel",
            data={"cancellation_reason": "requested_by_customer"},
        )
    )
    assert canceled["status"] == "canceled"
    assert canceled["cancellation_reason"] == "requested_by_customer"
    again = api.post(f"/v1/setup_intents/{first['id']}/cancel")
    assert_error(again, 400, code="setup_intent_unexpected_state")
    reason = api.post(f"/v1/setup_intents/{second['id']}/cancel", data={"cancellation_reason": "x"})
    assert_error(reason, 400, param="cancellation_reason")
    assert_error(
        api.post("/v1/setup_intents/seti_nope/cancel"), 404, code="resource_missing", param="id"
    )
    events = ok(api.get("/v1/events", params={"type": "setup_intent.canceled"}))["data"]
    assert [e["data"]["object"]["id"] for e in events] == [first["id"]]
    mine = ok(api.get("/v1/setup_intents", params={"customer": cus}))["data"]
    assert [s["id"] for s in mine] == [second["id"], first["id"]]
    every = ok(api.get("/v1/setup_intents", params={"limit": 2}))
    assert every["has_more"] and [s["id"] for s in every["data"]] == [third["id"], second["id"]]
    by_pm = ok(api.get("/v1/setup_intents", params={"payment_method": second["payment_method"]}))[
        "data"
    ]
    assert [s["id"] for s in by_pm] == [second["id"]]


def test_the_sdk_reads_cards_and_lists(mode: str, app: Any, key: str, request: Any) -> None:
    target = request.getfixturevalue("server").url if mode == "server" else app
    sdk = stripe_client(target, key)
    cus = sdk.v1.customers.create(params={"name": "Jenny Rosen"})
    pm = sdk.v1.payment_methods.attach("pm_card_amex", params={"customer": cus.id})
    assert pm.card.brand == "amex" and pm.card.last4 == "0005"
    pm = sdk.v1.payment_methods.update(pm.id, params={"metadata": {"k": "v"}})
    assert pm.metadata["k"] == "v"
    si = sdk.v1.setup_intents.create(params={"customer": cus.id})
    assert sdk.v1.setup_intents.cancel(si.id).status == "canceled"
    assert [s.id for s in sdk.v1.setup_intents.list(params={"customer": cus.id}).data] == [si.id]
