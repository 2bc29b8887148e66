"""ACH Direct Debit PaymentIntents: the API, the lifecycle on the tenant clock, the outcome
rule (the linked account's state, Stripe's test numbers), charges, events and the errors.

Every test runs in-process and over a socket against the strict app.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from fake_stripe.core.objects import StripeObject
from fake_stripe.core.versions import PREVIEW_VERSION
from fake_stripe.payments.objects import Charge, PaymentIntent, SetupAttempt, SetupIntent
from fake_stripe.spec.load import PACKAGED_SPEC
from tests.helpers import assert_error

PV = {"Stripe-Version": PREVIEW_VERSION}
TH = "/v1/test_helpers/financial_connections"
WEEK = 7 * 86_400
ACCEPT = {
    "mandate_data[customer_acceptance][type]": "online",
    "mandate_data[customer_acceptance][online][ip_address]": "127.0.0.1",
    "mandate_data[customer_acceptance][online][user_agent]": "pytest",
}


def ok(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()


def post(api: httpx.Client, path: str, data: dict[str, Any] | None = None) -> httpx.Response:
    return api.post(path, data=data or {}, headers=PV)


def get(api: httpx.Client, path: str, **params: Any) -> Any:
    return ok(api.get(path, params=params, headers=PV))


def customer(api: httpx.Client) -> str:
    return str(ok(post(api, "/v1/customers", {"name": "Jenny Rosen"}))["id"])


def bank_pm(api: httpx.Client, account: str, **extra: str) -> Any:
    """A PaymentMethod made from the linked account `account` (no customer holds it yet,
    unless `customer` is given)."""
    return ok(
        post(
            api,
            "/v1/payment_methods",
            {
                "type": "us_bank_account",
                "us_bank_account[financial_connections_account]": account,
                "billing_details[name]": "Jenny Rosen",
                **extra,
            },
        )
    )


def linked_pm(
    api: httpx.Client, cus: str, institution: str = "fcinst_StripeBank", name: str | None = None
) -> tuple[str, str]:
    """A linked checking account and a PaymentMethod from it behind a confirmed SetupIntent:
    (account, payment method)."""
    session = ok(
        post(
            api,
            "/v1/financial_connections/sessions",
            {
                "account_holder[type]": "customer",
                "account_holder[customer]": cus,
                "permissions[0]": "payment_method",
            },
        )
    )
    extra = {"accounts[0][subcategory]": "checking"}
    if name:
        extra["accounts[0][display_name]"] = name
    done = ok(
        post(
            api,
            f"{TH}/sessions/{session['id']}/complete",
            {"outcome": "link", "institution": institution, **extra},
        )
    )
    account = done["accounts"]["data"][0]["id"]
    pm = bank_pm(api, account)
    ok(
        post(
            api,
            "/v1/setup_intents",
            {
                "customer": cus,
                "payment_method": pm["id"],
                "payment_method_types[0]": "us_bank_account",
                "confirm": "true",
                **ACCEPT,
            },
        )
    )
    return account, pm["id"]


def charge(api: httpx.Client, cus: str, pm: str, amount: int = 1000, **extra: str) -> Any:
    return post(
        api,
        "/v1/payment_intents",
        {
            "amount": str(amount),
            "currency": "usd",
            "customer": cus,
            "payment_method": pm,
            "payment_method_types[0]": "us_bank_account",
            "confirm": "true",
            "off_session": "true",
            **extra,
        },
    )


def manual(api: httpx.Client, number: str, **extra: str) -> httpx.Response:
    """A PaymentIntent on a typed-in test account number, with a mandate, confirmed and its
    microdeposits verified (Stripe's test amounts): the answer to the verification."""
    pi = post(
        api,
        "/v1/payment_intents",
        {
            "amount": "1000",
            "currency": "usd",
            "payment_method_types[0]": "us_bank_account",
            "payment_method_data[type]": "us_bank_account",
            "payment_method_data[us_bank_account][routing_number]": "110000000",
            "payment_method_data[us_bank_account][account_number]": number,
            "payment_method_data[billing_details][name]": "Jenny Rosen",
            "confirm": "true",
            **ACCEPT,
            **extra,
        },
    )
    if pi.status_code != 200 or pi.json()["status"] != "requires_action":
        return pi
    amounts = {"amounts[0]": "32", "amounts[1]": "45"}
    return post(api, f"/v1/payment_intents/{pi.json()['id']}/verify_microdeposits", amounts)


def advance(api: httpx.Client, seconds: int = WEEK) -> None:
    ok(post(api, "/v1/test_helpers/clock/advance", {"seconds": str(seconds)}))


def events(api: httpx.Client) -> list[str]:
    data = get(api, "/v1/events", limit=100)["data"]
    return [e["type"] for e in reversed(data)]


# ---- create, retrieve, update, list, cancel -----------------------------------------------------


def test_create_without_payment_method_waits_for_one(api: httpx.Client) -> None:
    cus = customer(api)
    pi = ok(
        post(
            api,
            "/v1/payment_intents",
            {
                "amount": "1000",
                "currency": "USD",
                "customer": cus,
                "payment_method_types[0]": "us_bank_account",
                "payment_method_options[us_bank_account][financial_connections][permissions][0]": (
                    "payment_method"
                ),
                "payment_method_options[us_bank_account][financial_connections][permissions][1]": (
                    "balances"
                ),
                "payment_method_options[us_bank_account][verification_method]": "instant",
                "metadata[order]": "42",
            },
        )
    )
    assert pi["id"].startswith("pi_")
    assert pi["status"] == "requires_payment_method"
    assert pi["currency"] == "usd"
    assert pi["client_secret"].startswith(pi["id"] + "_secret_")
    assert pi["latest_charge"] is None
    assert pi["payment_method_options"]["us_bank_account"] == {
        "financial_connections": {"permissions": ["payment_method", "balances"]},
        "verification_method": "instant",
    }
    assert get(api, f"/v1/payment_intents/{pi['id']}")["metadata"] == {"order": "42"}
    assert events(api)[-1] == "payment_intent.created"


def test_automatic_payment_methods_are_shown_and_exclude_explicit_types(api: httpx.Client) -> None:
    base = {"amount": "2000", "currency": "usd"}
    pi = ok(
        post(api, "/v1/payment_intents", {**base, "automatic_payment_methods[enabled]": "true"})
    )
    assert pi["automatic_payment_methods"] == {"allow_redirects": "always", "enabled": True}
    assert pi["payment_method_types"] == ["us_bank_account"]
    assert get(api, f"/v1/payment_intents/{pi['id']}")["automatic_payment_methods"]["enabled"]
    never = {"automatic_payment_methods[enabled]": "true"}
    never["automatic_payment_methods[allow_redirects]"] = "never"
    pi = ok(post(api, "/v1/payment_intents", {**base, **never}))
    assert pi["automatic_payment_methods"]["allow_redirects"] == "never"
    off = ok(
        post(api, "/v1/payment_intents", {**base, "automatic_payment_methods[enabled]": "false"})
    )
    assert off["automatic_payment_methods"] == {"enabled": False}
    both = {**base, "automatic_payment_methods[enabled]": "true"}
    both["payment_method_types[0]"] = "us_bank_account"
    err = assert_error(
        post(api, "/v1/payment_intents", both),
        400,
        code="parameters_exclusive",
        param="payment_method_types",
    )
    assert "only specify one of these parameters" in err["message"]
    missing = {**base, "automatic_payment_methods[allow_redirects]": "never"}
    assert_error(
        post(api, "/v1/payment_intents", missing),
        400,
        code="parameter_missing",
        param="automatic_payment_methods[enabled]",
    )


def test_update_sets_amount_and_payment_method_then_list_filters(api: httpx.Client) -> None:
    cus = customer(api)
    _, pm = linked_pm(api, cus)
    pi = ok(post(api, "/v1/payment_intents", {"amount": "500", "currency": "usd", "customer": cus}))
    other = ok(post(api, "/v1/payment_intents", {"amount": "700", "currency": "usd"}))
    upd = ok(
        post(
            api,
            f"/v1/payment_intents/{pi['id']}",
            {"amount": "1500", "payment_method": pm, "description": "order 7"},
        )
    )
    assert (upd["amount"], upd["payment_method"], upd["status"]) == (
        1500,
        pm,
        "requires_confirmation",
    )
    assert upd["description"] == "order 7"
    listed = get(api, "/v1/payment_intents", customer=cus)
    assert [p["id"] for p in listed["data"]] == [pi["id"]]
    everything = get(api, "/v1/payment_intents", limit=1)
    assert [p["id"] for p in everything["data"]] == [other["id"]] and everything["has_more"]
    later = get(api, "/v1/payment_intents", **{"created[gt]": str(upd["created"] + 10)})
    assert later["data"] == []


def test_cancel_before_confirm_and_cancel_twice_is_refused(api: httpx.Client) -> None:
    pi = ok(post(api, "/v1/payment_intents", {"amount": "500", "currency": "usd"}))
    done = ok(
        post(
            api,
            f"/v1/payment_intents/{pi['id']}/cancel",
            {"cancellation_reason": "requested_by_customer"},
        )
    )
    assert done["status"] == "canceled"
    assert done["cancellation_reason"] == "requested_by_customer"
    assert done["canceled_at"] is not None
    again = post(api, f"/v1/payment_intents/{pi['id']}/cancel")
    assert_error(again, 400, code="payment_intent_unexpected_state")
    assert events(api)[-1] == "payment_intent.canceled"


@pytest.mark.parametrize(
    ("data", "code", "param"),
    [
        ({"amount": "49", "currency": "usd"}, "amount_too_small", "amount"),
        ({"amount": "100000000", "currency": "usd"}, "amount_too_large", "amount"),
        ({"amount": "1000", "currency": "eur"}, "payment_intent_invalid_parameter", "currency"),
        (
            {"amount": "1000", "currency": "usd", "payment_method_types[0]": "card"},
            "payment_intent_invalid_parameter",
            "payment_method_types[0]",
        ),
        ({"currency": "usd"}, "parameter_missing", "amount"),
        ({"amount": "1000"}, "parameter_missing", "currency"),
        ({"amount": "1000", "currency": "usd", **ACCEPT}, None, "mandate_data"),
        (
            {"amount": "1000", "currency": "usd", "customer": "cus_nope"},
            "resource_missing",
            "customer",
        ),
    ],
)
def test_create_refuses_bad_input(
    api: httpx.Client, data: dict[str, str], code: str | None, param: str
) -> None:
    assert_error(post(api, "/v1/payment_intents", data), 400, code=code, param=param)


def test_confirm_without_payment_method_is_an_unexpected_state(api: httpx.Client) -> None:
    pi = ok(post(api, "/v1/payment_intents", {"amount": "500", "currency": "usd"}))
    resp = post(api, f"/v1/payment_intents/{pi['id']}/confirm", ACCEPT)
    assert_error(resp, 400, code="payment_intent_unexpected_state")
    assert get(api, f"/v1/payment_intents/{pi['id']}")["status"] == "requires_payment_method"


def test_confirm_without_any_mandate_is_refused(api: httpx.Client) -> None:
    cus = customer(api)
    account, _ = linked_pm(api, cus)
    pm = bank_pm(api, account, customer=cus)
    err = assert_error(charge(api, cus, pm["id"]), 400, param="mandate_data")
    assert err["message"].startswith("This PaymentIntent requires a mandate")


def test_unknown_intent_is_404(api: httpx.Client) -> None:
    assert_error(api.get("/v1/payment_intents/pi_nope"), 404, code="resource_missing", param="id")
    assert_error(api.get("/v1/charges/ch_nope"), 404, code="resource_missing", param="id")


# ---- the lifecycle ---------------------------------------------------------------------------


def test_confirm_processes_then_the_clock_settles_it(api: httpx.Client) -> None:
    cus = customer(api)
    _, pm = linked_pm(api, cus)
    pi = ok(charge(api, cus, pm))
    assert pi["status"] == "processing"
    ch = get(api, f"/v1/charges/{pi['latest_charge']}")
    assert (ch["status"], ch["paid"], ch["payment_intent"]) == ("pending", False, pi["id"])
    assert ch["outcome"]["network_status"] == "approved_by_network"
    assert ch["payment_method_details"]["type"] == "us_bank_account"
    assert ch["payment_method_details"]["us_bank_account"]["mandate"].startswith("mandate_")
    advance(api, 86_400)  # one day: not yet
    assert get(api, f"/v1/payment_intents/{pi['id']}")["status"] == "processing"
    advance(api)
    done = get(api, f"/v1/payment_intents/{pi['id']}", **{"expand[]": "latest_charge"})
    assert (done["status"], done["amount_received"]) == ("succeeded", 1000)
    assert done["latest_charge"]["status"] == "succeeded"
    assert done["latest_charge"]["paid"] is True
    assert done["latest_charge"]["payment_method_details"]["us_bank_account"]["payment_reference"]
    listed = get(api, "/v1/charges", payment_intent=pi["id"])
    assert [c["id"] for c in listed["data"]] == [pi["latest_charge"]]
    seen = events(api)
    for earlier, later in [
        ("payment_intent.created", "charge.pending"),
        ("charge.pending", "payment_intent.processing"),
        ("payment_intent.processing", "charge.succeeded"),
        ("charge.succeeded", "payment_intent.succeeded"),
    ]:
        assert seen.index(earlier) < seen.index(later)


def test_settle_helper_decides_now_with_any_outcome(api: httpx.Client) -> None:
    cus = customer(api)
    _, pm = linked_pm(api, cus)
    pi = ok(charge(api, cus, pm))
    failed = ok(
        post(
            api,
            f"/v1/test_helpers/payment_intents/{pi['id']}/settle",
            {"outcome": "insufficient_funds"},
        )
    )
    assert failed["status"] == "requires_payment_method"
    assert failed["payment_method"] is None
    err = failed["last_payment_error"]
    assert (err["code"], err["charge"], err["payment_method"]["id"]) == (
        "insufficient_funds",
        pi["latest_charge"],
        pm,
    )
    ch = get(api, f"/v1/charges/{pi['latest_charge']}")
    assert (ch["status"], ch["failure_code"]) == ("failed", "insufficient_funds")
    assert ch["failure_message"].startswith("The customer’s account has insufficient funds")
    # Not blocking: the same PaymentMethod charges again.
    again = ok(post(api, f"/v1/payment_intents/{pi['id']}/confirm", {"payment_method": pm}))
    assert again["status"] == "processing" and again["latest_charge"] != pi["latest_charge"]
    done = ok(post(api, f"/v1/test_helpers/payment_intents/{pi['id']}/settle"))
    assert done["status"] == "succeeded"
    assert_error(
        post(api, f"/v1/test_helpers/payment_intents/{pi['id']}/settle"),
        400,
        code="payment_intent_unexpected_state",
    )
    assert "payment_intent.payment_failed" in events(api)


def test_settlement_delay_is_a_tenant_setting(api: httpx.Client) -> None:
    settings = ok(api.post("/_fake/payments/settings", data={"settlement_business_days": "0"}))
    assert settings["settlement_business_days"] == 0
    cus = customer(api)
    _, pm = linked_pm(api, cus)
    pi = ok(charge(api, cus, pm))
    assert pi["status"] == "processing"
    assert get(api, f"/v1/payment_intents/{pi['id']}")["status"] == "succeeded"
    assert ok(api.get("/_fake/payments/settings"))["settlement_business_days"] == 0
    bad = api.post("/_fake/payments/settings", data={"settlement_business_days": "31"})
    assert_error(bad, 400, code="parameter_invalid_integer", param="settlement_business_days")


def test_cancel_while_processing_withdraws_the_debit(api: httpx.Client) -> None:
    pi = ok(manual(api, "000000000009"))
    assert pi["status"] == "processing"
    advance(api, 30 * 86_400)
    assert get(api, f"/v1/payment_intents/{pi['id']}")["status"] == "processing"
    done = ok(post(api, f"/v1/payment_intents/{pi['id']}/cancel"))
    assert done["status"] == "canceled"
    assert get(api, f"/v1/charges/{pi['latest_charge']}")["status"] == "failed"
    assert_error(
        post(api, f"/v1/payment_intents/{pi['id']}", {"amount": "600"}),
        400,
        code="payment_intent_unexpected_state",
        param="amount",
    )


def test_metadata_and_description_update_while_processing_and_after_success(
    api: httpx.Client,
) -> None:
    cus = customer(api)
    _, pm = linked_pm(api, cus)
    pi = ok(charge(api, cus, pm))
    url = f"/v1/payment_intents/{pi['id']}"
    processing = ok(post(api, url, {"metadata[order_id]": "6735"}))
    assert (processing["status"], processing["metadata"]) == ("processing", {"order_id": "6735"})
    ok(post(api, f"/v1/test_helpers/payment_intents/{pi['id']}/settle"))
    done = ok(
        post(
            api,
            url,
            {
                "metadata[shipped]": "yes",
                "description": "Order 6735",
                "receipt_email": "jenny@example.com",
            },
        )
    )
    assert done["status"] == "succeeded"
    assert done["metadata"] == {"order_id": "6735", "shipped": "yes"}
    assert (done["description"], done["receipt_email"]) == ("Order 6735", "jenny@example.com")
    assert get(api, url)["description"] == "Order 6735"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "2000"),
        ("currency", "usd"),
        ("payment_method_types[0]", "us_bank_account"),
        ("setup_future_usage", "off_session"),
        ("statement_descriptor", "ORDER 6735"),
    ],
)
def test_payment_fields_cannot_change_after_success(
    api: httpx.Client, field: str, value: str
) -> None:
    cus = customer(api)
    _, pm = linked_pm(api, cus)
    pi = ok(charge(api, cus, pm))
    ok(post(api, f"/v1/test_helpers/payment_intents/{pi['id']}/settle"))
    name = field.split("[")[0]
    resp = post(api, f"/v1/payment_intents/{pi['id']}", {field: value, "metadata[x]": "1"})
    err = assert_error(resp, 400, code="payment_intent_unexpected_state", param=name)
    assert err["message"] == (
        f"This PaymentIntent's {name} could not be updated because it has a status of "
        f"succeeded. You may only update the {name} of a PaymentIntent with one of the "
        "following statuses: requires_payment_method, requires_confirmation, requires_action."
    )
    assert get(api, f"/v1/payment_intents/{pi['id']}")["metadata"] == {}


def test_payment_method_of_a_processing_intent_cannot_change(api: httpx.Client) -> None:
    cus = customer(api)
    _, pm = linked_pm(api, cus)
    pi = ok(charge(api, cus, pm))
    resp = post(api, f"/v1/payment_intents/{pi['id']}", {"payment_method": pm})
    err = assert_error(resp, 400, code="payment_intent_unexpected_state", param="payment_method")
    assert "has a status of processing" in err["message"]


def test_confirming_a_succeeded_intent_is_refused_in_stripes_words(api: httpx.Client) -> None:
    cus = customer(api)
    _, pm = linked_pm(api, cus)
    pi = ok(charge(api, cus, pm))
    ok(post(api, f"/v1/test_helpers/payment_intents/{pi['id']}/settle"))
    err = assert_error(
        post(api, f"/v1/payment_intents/{pi['id']}/confirm"),
        400,
        code="payment_intent_unexpected_state",
    )
    assert err["message"] == (
        "You cannot confirm this PaymentIntent because it has already succeeded after being "
        "previously confirmed."
    )


# ---- payment methods that may not be used again ----------------------------------------------

SPENT = (
    "This PaymentMethod was previously used without being attached to a Customer or was "
    "detached from a Customer, and may not be used again."
)


def unattached_pm(api: httpx.Client) -> str:
    """A PaymentMethod of a linked account that no customer holds."""
    account, _ = linked_pm(api, customer(api))
    pm = bank_pm(api, account)
    return str(pm["id"])


def pay_once(api: httpx.Client, pm: str) -> httpx.Response:
    """A PaymentIntent without a customer, confirmed at once with `pm`."""
    data = {"amount": "1000", "currency": "usd", "payment_method": pm, "confirm": "true"}
    return post(api, "/v1/payment_intents", {**data, **ACCEPT})


def pay_once_for(api: httpx.Client, cus: str, pm: str, **extra: str) -> Any:
    """A PaymentIntent for `cus`, confirmed at once with `pm`: the intent."""
    data = {"amount": "1000", "currency": "usd", "customer": cus, "payment_method": pm}
    return ok(post(api, "/v1/payment_intents", {**data, "confirm": "true", **ACCEPT, **extra}))


def test_a_detached_payment_method_is_neither_attached_nor_paid_with_again(
    api: httpx.Client,
) -> None:
    cus, other = customer(api), customer(api)
    _, pm = linked_pm(api, cus)
    ok(post(api, f"/v1/payment_methods/{pm}/detach"))
    err = assert_error(
        post(api, f"/v1/payment_methods/{pm}/attach", {"customer": other}),
        400,
        param="payment_method",
    )
    assert err["message"] == SPENT
    assert_error(pay_once(api, pm), 400, param="payment_method")
    assert get(api, f"/v1/payment_methods/{pm}")["customer"] is None


def test_a_payment_method_paid_with_unattached_pays_only_once(api: httpx.Client) -> None:
    pm = unattached_pm(api)
    # An intent given it before its first payment cannot confirm with it afterwards.
    waiting = ok(
        post(api, "/v1/payment_intents", {"amount": "500", "currency": "usd", "payment_method": pm})
    )
    assert ok(pay_once(api, pm))["status"] == "processing"
    assert assert_error(pay_once(api, pm), 400, param="payment_method")["message"] == SPENT
    late = post(api, f"/v1/payment_intents/{waiting['id']}/confirm", ACCEPT)
    assert_error(late, 400, param="payment_method")
    assert get(api, f"/v1/payment_intents/{waiting['id']}")["status"] == "requires_confirmation"
    attach = post(api, f"/v1/payment_methods/{pm}/attach", {"customer": customer(api)})
    assert_error(attach, 400, param="payment_method")


def test_a_payment_method_attached_by_the_payment_pays_again(api: httpx.Client) -> None:
    cus = customer(api)
    pm = unattached_pm(api)
    first = pay_once_for(api, cus, pm, setup_future_usage="off_session")
    assert first["status"] == "processing"
    assert get(api, f"/v1/payment_methods/{pm}")["customer"] == cus
    assert pay_once_for(api, cus, pm)["status"] == "processing"


# ---- outcomes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("000123456789", None),
        ("000111111113", "account_closed"),
        ("000111111116", "no_account"),
        ("000222222227", "insufficient_funds"),
        ("000333333335", "debit_not_authorized"),
        ("000444444440", "invalid_currency"),
    ],
)
def test_stripes_test_account_numbers_settle_as_documented(
    api: httpx.Client, number: str, code: str | None
) -> None:
    pi = ok(manual(api, number))
    assert pi["status"] == "processing"
    advance(api)
    got = get(api, f"/v1/payment_intents/{pi['id']}")
    ch = get(api, f"/v1/charges/{pi['latest_charge']}")
    assert ch["payment_method_details"]["us_bank_account"]["last4"] == number[-4:]
    if code is None:
        assert (got["status"], ch["status"]) == ("succeeded", "succeeded")
    else:
        assert (got["status"], ch["status"], ch["failure_code"]) == (
            "requires_payment_method",
            "failed",
            code,
        )
        assert got["last_payment_error"]["code"] == code


@pytest.mark.parametrize(
    ("token", "last4", "code"),
    [
        ("pm_usBankAccount_success", "6789", None),
        ("pm_usBankAccount_accountClosed", "1113", "account_closed"),
        ("pm_usBankAccount_noAccount", "1116", "no_account"),
        ("pm_usBankAccount_insufficientFunds", "2227", "insufficient_funds"),
        ("pm_usBankAccount_debitNotAuthorized", "3335", "debit_not_authorized"),
        ("pm_usBankAccount_invalidCurrency", "4440", "invalid_currency"),
    ],
)
def test_stripes_test_payment_methods_pay_as_their_account_numbers(
    api: httpx.Client, token: str, last4: str, code: str | None
) -> None:
    data = {"amount": "1000", "currency": "usd", "payment_method": token, "confirm": "true"}
    pi = ok(post(api, "/v1/payment_intents", {**data, **ACCEPT}))
    assert pi["status"] == "processing"  # already verified: no microdeposits
    assert pi["payment_method"].startswith("pm_") and pi["payment_method"] != token
    made = get(api, f"/v1/payment_methods/{pi['payment_method']}")["us_bank_account"]
    assert (made["routing_number"], made["last4"], made["bank_name"]) == (
        "110000000",
        last4,
        "STRIPE TEST BANK",
    )
    advance(api)
    got = get(api, f"/v1/payment_intents/{pi['id']}")
    if code is None:
        assert got["status"] == "succeeded"
    else:
        assert (got["status"], got["last_payment_error"]["code"]) == (
            "requires_payment_method",
            code,
        )


def test_a_test_payment_method_id_makes_a_new_one_wherever_an_id_goes(api: httpx.Client) -> None:
    token = "pm_usBankAccount_processing"
    shown = get(api, f"/v1/payment_methods/{token}")
    assert shown["type"] == "us_bank_account" and shown["us_bank_account"]["last4"] == "0009"
    assert get(api, f"/v1/payment_methods/{token}")["id"] != shown["id"]
    cus = customer(api)
    setup = {"customer": cus, "payment_method": token, "confirm": "true", **ACCEPT}
    si = ok(post(api, "/v1/setup_intents", {**setup, "payment_method_types[0]": "us_bank_account"}))
    assert si["status"] == "succeeded"
    assert get(api, f"/v1/payment_methods/{si['payment_method']}")["customer"] == cus
    pi = ok(charge(api, cus, si["payment_method"]))
    advance(api, 30 * 86_400)
    assert get(api, f"/v1/payment_intents/{pi['id']}")["status"] == "processing"
    unknown = "pm_usBankAccount_dispute"  # in Stripe's table, not modelled
    assert_error(
        api.get(f"/v1/payment_methods/{unknown}"), 404, code="resource_missing", param="id"
    )
    refused = post(
        api, "/v1/payment_intents", {"amount": "1000", "currency": "usd", "payment_method": unknown}
    )
    assert_error(refused, 400, code="resource_missing", param="payment_method")


def test_closed_account_return_blocks_the_payment_method(api: httpx.Client) -> None:
    cus = customer(api)
    account, pm = linked_pm(api, cus)
    ok(post(api, f"{TH}/accounts/{account}/deactivate", {"reason": "account_closed"}))
    pi = ok(charge(api, cus, pm))
    assert pi["status"] == "processing"  # the return comes at settlement
    advance(api)
    got = get(api, f"/v1/payment_intents/{pi['id']}")
    assert got["last_payment_error"]["code"] == "account_closed"
    blocked = get(api, f"/v1/payment_methods/{pm}")["us_bank_account"]["status_details"]
    assert blocked == {"blocked": {"network_code": "R02", "reason": "bank_account_closed"}}
    assert "payment_method.automatically_updated" in events(api)
    again = charge(api, cus, pm)
    err = assert_error(again, 402, "card_error", "bank_account_unusable")
    assert err["payment_intent"]["status"] == "requires_payment_method"


def test_token_expired_account_still_debits(api: httpx.Client) -> None:
    cus = customer(api)
    account, pm = linked_pm(api, cus)
    ok(post(api, f"{TH}/accounts/{account}/deactivate", {"reason": "token_expired"}))
    pi = ok(charge(api, cus, pm))
    advance(api)
    assert get(api, f"/v1/payment_intents/{pi['id']}")["status"] == "succeeded"


def test_expired_tan_is_refused_at_confirm_then_a_relink_charges_with_the_new_last4(
    api: httpx.Client,
) -> None:
    cus = customer(api)
    account, pm = linked_pm(api, cus, "fcinst_Chase")
    first = ok(charge(api, cus, pm))
    advance(api)
    before = get(api, f"/v1/charges/{first['latest_charge']}")["payment_method_details"]
    ok(post(api, f"{TH}/accounts/{account}/expire_account_numbers"))
    refused = charge(api, cus, pm)
    err = assert_error(refused, 402, "card_error", "bank_account_unusable")
    assert err["message"] == (
        "The bank account provided cannot be used. A different bank account must be used."
    )
    assert err["payment_method"]["id"] == pm
    pi = err["payment_intent"]
    assert pi["status"] == "requires_payment_method"
    failed = get(api, f"/v1/charges/{err['charge']}")
    assert (failed["status"], failed["failure_code"]) == ("failed", "bank_account_unusable")
    assert failed["outcome"]["network_status"] == "not_sent_to_network"
    # The user relinks the account: Chase issues a new number and the same pm_ is updated.
    acc = get(api, f"/v1/financial_connections/accounts/{account}")
    session = ok(
        post(
            api,
            "/v1/financial_connections/sessions",
            {
                "account_holder[type]": "customer",
                "account_holder[customer]": cus,
                "permissions[0]": "payment_method",
                "relink_options[authorization]": acc["authorization"],
            },
        )
    )
    ok(post(api, f"{TH}/sessions/{session['id']}/complete", {"outcome": "relink_same"}))
    retried = ok(post(api, f"/v1/payment_intents/{pi['id']}/confirm", {"payment_method": pm}))
    assert retried["status"] == "processing"
    advance(api)
    ch = get(api, f"/v1/charges/{retried['latest_charge']}")
    assert ch["status"] == "succeeded" and ch["payment_method"] == pm
    new_last4 = get(api, f"/v1/payment_methods/{pm}")["us_bank_account"]["last4"]
    assert ch["payment_method_details"]["us_bank_account"]["last4"] == new_last4
    assert new_last4 != before["us_bank_account"]["last4"]


def test_test_institution_account_named_insufficient_funds_fails_so(api: httpx.Client) -> None:
    cus = customer(api)
    _, pm = linked_pm(api, cus, name="Insufficient Funds")
    pi = ok(charge(api, cus, pm))
    advance(api)
    got = get(api, f"/v1/payment_intents/{pi['id']}")
    assert got["last_payment_error"]["code"] == "insufficient_funds"
    assert get(api, f"/v1/payment_methods/{pm}")["us_bank_account"]["status_details"] is None


def test_debit_not_authorized_revokes_the_mandate(api: httpx.Client) -> None:
    cus = customer(api)
    _, pm = linked_pm(api, cus, name="Debit Not Authorized")
    pi = ok(charge(api, cus, pm))
    advance(api)
    ch = get(api, f"/v1/charges/{pi['latest_charge']}")
    assert ch["failure_code"] == "debit_not_authorized"
    mandate = get(api, f"/v1/mandates/{ch['payment_method_details']['us_bank_account']['mandate']}")
    assert mandate["status"] == "inactive"
    assert "mandate.updated" in events(api)


# ---- expand --------------------------------------------------------------------------------------


def _expands_to(schema: Any) -> set[str]:
    """The schemas an id field expands to (its `x-expansionResources`), deleted ones apart."""
    if isinstance(schema, dict):
        if "x-expansionResources" in schema:
            refs = schema["x-expansionResources"]["oneOf"]
            names = {str(r["$ref"]).rsplit("/", 1)[1] for r in refs}
            return {n for n in names if not n.startswith("deleted_")}
        return set().union(*(_expands_to(v) for v in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_expands_to(v) for v in schema))
    return set()


@pytest.mark.parametrize("model", [Charge, PaymentIntent, SetupIntent, SetupAttempt])
def test_every_id_field_the_spec_expands_is_expandable(model: type[StripeObject]) -> None:
    schema = json.loads(PACKAGED_SPEC.read_text(encoding="utf-8"))["components"]["schemas"][
        model.kind
    ]
    spec = {
        name: targets
        for name in schema["x-expandableFields"]
        if (targets := _expands_to(schema["properties"][name]))
    }
    assert {name: {kind} for name, kind in model.expandable.items()} == spec


def test_expandable_fields_that_are_null_expand_to_null(api: httpx.Client) -> None:
    cus = customer(api)
    _, pm = linked_pm(api, cus)
    pi = ok(charge(api, cus, pm))
    ok(post(api, f"/v1/test_helpers/payment_intents/{pi['id']}/settle"))
    fees = get(
        api, f"/v1/payment_intents/{pi['id']}", **{"expand[]": "latest_charge.balance_transaction"}
    )
    assert fees["latest_charge"]["id"] == pi["latest_charge"]
    assert fees["latest_charge"]["balance_transaction"] is None
    names = ["balance_transaction", "on_behalf_of", "review", "transfer", "customer"]
    ch = get(api, f"/v1/charges/{pi['latest_charge']}", **{"expand[]": names})
    assert (ch["balance_transaction"], ch["on_behalf_of"], ch["review"]) == (None, None, None)
    assert "transfer" not in ch and ch["customer"]["id"] == cus
    listed = get(api, "/v1/payment_intents", customer=cus, **{"expand[]": "data.invoice"})
    assert [p["invoice"] for p in listed["data"]] == [None]
    si = get(api, "/v1/setup_intents", customer=cus)["data"][0]
    seen = get(
        api,
        f"/v1/setup_intents/{si['id']}",
        **{"expand[]": ["single_use_mandate", "on_behalf_of", "latest_attempt.on_behalf_of"]},
    )
    assert (seen["single_use_mandate"], seen["on_behalf_of"]) == (None, None)
    assert seen["latest_attempt"]["on_behalf_of"] is None
    assert_error(api.get(f"/v1/charges/{pi['latest_charge']}", params={"expand[]": "outcome"}), 400)


# ---- keys and client secrets ---------------------------------------------------------------------


def test_publishable_key_reads_the_client_subset_with_the_secret(
    api: httpx.Client, key: str
) -> None:
    cus = customer(api)
    pi = ok(
        post(api, "/v1/payment_intents", {"amount": "1000", "currency": "usd", "customer": cus})
    )
    pk = {"Authorization": "Bearer " + key.replace("sk_", "pk_", 1)}
    seen = ok(
        api.get(
            f"/v1/payment_intents/{pi['id']}",
            params={"client_secret": pi["client_secret"]},
            headers=pk,
        )
    )
    assert seen["id"] == pi["id"] and seen["status"] == "requires_payment_method"
    assert "customer" not in seen and "metadata" not in seen and "latest_charge" not in seen
    assert_error(api.get(f"/v1/payment_intents/{pi['id']}", headers=pk), 400, param="client_secret")
    for wrong in (pi["id"] + "_secret_wrong", pi["id"] + "_secret_ñ"):
        assert_error(
            api.get(
                f"/v1/payment_intents/{pi['id']}",
                params={"client_secret": wrong},
                headers=pk,
            ),
            400,
            param="client_secret",
        )
    assert_error(
        api.post("/v1/payment_intents", data={"amount": "1000", "currency": "usd"}, headers=pk),
        401,
        code="secret_key_required",
    )


def test_sdk_confirms_with_mandate_data_and_creates_a_single_use_mandate(
    api: httpx.Client,
) -> None:
    pi = ok(manual(api, "000123456789"))
    ch = get(api, f"/v1/charges/{pi['latest_charge']}")
    mandate = get(api, f"/v1/mandates/{ch['payment_method_details']['us_bank_account']['mandate']}")
    assert mandate["type"] == "single_use"
    assert mandate["single_use"] == {"amount": 1000, "currency": "usd"}
    assert "multi_use" not in mandate
