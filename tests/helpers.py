"""Assertions and request bodies shared by the tests."""

from __future__ import annotations

from typing import Any

import httpx


def assert_error(
    resp: httpx.Response,
    status: int,
    type_: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
) -> dict[str, Any]:
    """Negative tests assert status, error.type, error.code and error.param."""
    assert resp.status_code == status, resp.text
    assert resp.headers["request-id"].startswith("req_")
    err = resp.json()["error"]
    assert err["type"] == type_, err
    assert err.get("code") == code, err
    assert err.get("param") == param, err
    return dict(err)


# A PaymentIntent created and confirmed at once with typed bank details (Stripe's test routing
# number, an account number that succeeds) and an offline mandate: it is `processing` after.
ACH_PAYMENT = {
    "amount": "1000",
    "currency": "usd",
    "confirm": "true",
    "payment_method_data[type]": "us_bank_account",
    "payment_method_data[us_bank_account][routing_number]": "110000000",
    "payment_method_data[us_bank_account][account_number]": "000123456789",
    "payment_method_data[us_bank_account][account_holder_type]": "individual",
    "payment_method_data[billing_details][name]": "Jenny Rosen",
    "mandate_data[customer_acceptance][type]": "offline",
}
