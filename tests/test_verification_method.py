"""`payment_method_options[us_bank_account][verification_method]` on a bank account typed in by
hand: `automatic` (the default) falls back to microdeposits, `instant` is refused, a verified
PaymentMethod is not verified again, a linked account is never asked. Both modes."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import assert_error
from tests.test_payment_intents import customer, linked_pm

TYPED = {
    "payment_method_types[]": "us_bank_account",
    "payment_method_data[type]": "us_bank_account",
    "payment_method_data[billing_details][name]": "Jenny Rosen",
    "payment_method_data[us_bank_account][routing_number]": "110000000",
    "payment_method_data[us_bank_account][account_number]": "000123456789",
}
MANDATE = {"mandate_data[customer_acceptance][type]": "offline"}
PAY = {"amount": "1000", "currency": "usd"}
METHOD = "payment_method_options[us_bank_account][verification_method]"


def ok(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_payment_intent_by_default_verifies_a_typed_in_account_with_microdeposits(
    api: httpx.Client,
) -> None:
    pi = ok(api.post("/v1/payment_intents", data={**PAY, **TYPED, **MANDATE, "confirm": "true"}))
    assert pi["payment_method_options"]["us_bank_account"]["verification_method"] == "automatic"
    assert pi["status"] == "requires_action"
    assert pi["next_action"]["type"] == "verify_with_microdeposits"
    assert pi["latest_charge"] is None
    done = ok(
        api.post(
            f"/v1/payment_intents/{pi['id']}/verify_microdeposits",
            data={"amounts[]": ["32", "45"]},
        )
    )
    assert done["status"] == "processing" and done["latest_charge"]


def test_setup_intent_automatic_falls_back_then_the_account_is_debited_at_once(
    api: httpx.Client,
) -> None:
    cus = customer(api)
    si = ok(
        api.post(
            "/v1/setup_intents",
            data={**TYPED, **MANDATE, "customer": cus, METHOD: "automatic", "confirm": "true"},
        )
    )
    assert si["status"] == "requires_action"
    verified = ok(
        api.post(
            f"/v1/setup_intents/{si['id']}/verify_microdeposits",
            data={"amounts[]": ["32", "45"]},
        )
    )
    assert verified["status"] == "succeeded"
    # The PaymentMethod is verified now: an off-session payment is not asked again.
    pi = ok(
        api.post(
            "/v1/payment_intents",
            data={
                **PAY,
                "customer": cus,
                "payment_method": si["payment_method"],
                "payment_method_types[]": "us_bank_account",
                "confirm": "true",
                "off_session": "true",
            },
        )
    )
    assert pi["status"] == "processing" and pi["next_action"] is None


def test_instant_verification_of_a_typed_in_account_is_refused(api: httpx.Client) -> None:
    pi = ok(api.post("/v1/payment_intents", data={**PAY, **TYPED, METHOD: "instant"}))
    resp = api.post(f"/v1/payment_intents/{pi['id']}/confirm", data=MANDATE)
    body = assert_error(resp, 400, code="payment_method_invalid_parameter", param=METHOD)
    assert body["type"] == "invalid_request_error"
    assert pi["payment_method"] in body["message"]
    after = ok(api.get(f"/v1/payment_intents/{pi['id']}"))
    assert after["status"] == pi["status"] and after["latest_charge"] is None
    si = api.post("/v1/setup_intents", data={**TYPED, "customer": customer(api), METHOD: "instant"})
    refused = api.post(f"/v1/setup_intents/{ok(si)['id']}/confirm", data=MANDATE)
    assert_error(refused, 400, code="payment_method_invalid_parameter", param=METHOD)


def test_a_linked_account_is_debited_at_once_under_every_method(api: httpx.Client) -> None:
    cus = customer(api)
    _, pm = linked_pm(api, cus)
    for method in ("automatic", "instant"):
        pi = ok(
            api.post(
                "/v1/payment_intents",
                data={
                    **PAY,
                    "customer": cus,
                    "payment_method": pm,
                    "payment_method_types[]": "us_bank_account",
                    METHOD: method,
                    "confirm": "true",
                    "off_session": "true",
                },
            )
        )
        assert pi["status"] == "processing", method
        nothing = api.post(
            f"/v1/payment_intents/{pi['id']}/verify_microdeposits",
            data={"amounts[]": ["32", "45"]},
        )
        assert_error(nothing, 400, code="payment_intent_unexpected_state")
