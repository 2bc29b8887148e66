"""Microdeposit verification of a bank account typed in by hand (the ACH fallback when a
customer cannot link): SetupIntents and PaymentIntents go `requires_action`, verify with
Stripe's test values, fail after three wrong tries or 10 days on the tenant clock. Both modes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import assert_error

DAY = 86_400
TYPED = {
    "payment_method_data[type]": "us_bank_account",
    "payment_method_data[billing_details][name]": "Jenny Rosen",
    "payment_method_data[us_bank_account][routing_number]": "110000000",
    "payment_method_data[us_bank_account][account_number]": "000123456789",
    "payment_method_options[us_bank_account][verification_method]": "microdeposits",
    "mandate_data[customer_acceptance][type]": "offline",
    "confirm": "true",
}


def ok(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()


def setup(api: httpx.Client) -> Any:
    cus = ok(api.post("/v1/customers", data={"name": "Jenny Rosen"}))["id"]
    return ok(
        api.post(
            "/v1/setup_intents",
            data={"customer": cus, "payment_method_types[]": "us_bank_account", **TYPED},
        )
    )


def payment(api: httpx.Client) -> Any:
    return ok(
        api.post(
            "/v1/payment_intents",
            data={
                "amount": "1000",
                "currency": "usd",
                "payment_method_types[]": "us_bank_account",
                **TYPED,
            },
        )
    )


def types(api: httpx.Client) -> list[str]:
    events = ok(api.get("/v1/events", params={"limit": 100}))["data"]
    return [e["type"] for e in reversed(events)]


def test_setup_intent_waits_for_microdeposits_then_succeeds(api: httpx.Client) -> None:
    si = setup(api)
    assert si["status"] == "requires_action"
    action = si["next_action"]
    assert action["type"] == "verify_with_microdeposits"
    verify = action["verify_with_microdeposits"]
    assert verify["microdeposit_type"] == "descriptor_code"
    assert verify["arrival_date"] > si["created"]
    base = str(api.base_url).rstrip("/")
    assert verify["hosted_verification_url"].startswith(f"{base}/microdeposit/sacs_test_")
    assert "microdeposits" not in si
    done = ok(
        api.post(
            f"/v1/setup_intents/{si['id']}/verify_microdeposits",
            data={"descriptor_code": "SM11AA"},
        )
    )
    assert done["status"] == "succeeded" and done["next_action"] is None
    seen = types(api)
    assert seen.index("setup_intent.created") < seen.index("setup_intent.requires_action")
    assert seen.index("setup_intent.requires_action") < seen.index("setup_intent.succeeded")
    again = api.post(
        f"/v1/setup_intents/{si['id']}/verify_microdeposits", data={"descriptor_code": "SM11AA"}
    )
    assert_error(again, 400, code="setup_intent_unexpected_state")


def test_payment_verified_by_amounts_starts_the_debit(api: httpx.Client) -> None:
    pi = payment(api)
    assert pi["status"] == "requires_action" and pi["latest_charge"] is None
    done = ok(
        api.post(
            f"/v1/payment_intents/{pi['id']}/verify_microdeposits",
            data={"amounts[]": ["32", "45"]},
        )
    )
    assert done["status"] == "processing" and done["next_action"] is None
    assert done["latest_charge"] is not None
    seen = types(api)
    assert "payment_intent.requires_action" in seen and seen[-1] == "payment_intent.processing"
    ok(api.post("/v1/test_helpers/clock/advance", data={"seconds": str(7 * DAY)}))
    assert ok(api.get(f"/v1/payment_intents/{pi['id']}"))["status"] == "succeeded"


def test_three_wrong_tries_fail_the_verification(api: httpx.Client) -> None:
    pi = payment(api)
    url = f"/v1/payment_intents/{pi['id']}/verify_microdeposits"
    code = "payment_method_microdeposit_verification_amounts_mismatch"
    for _ in range(2):
        assert_error(api.post(url, data={"amounts[]": ["1", "2"]}), 400, code=code, param="amounts")
        assert ok(api.get(f"/v1/payment_intents/{pi['id']}"))["status"] == "requires_action"
    last = api.post(url, data={"amounts[]": ["1", "2"]})
    exceeded = "payment_method_microdeposit_verification_attempts_exceeded"
    assert_error(last, 400, code=exceeded, param="amounts")
    failed = ok(api.get(f"/v1/payment_intents/{pi['id']}"))
    assert failed["status"] == "requires_payment_method" and failed["next_action"] is None
    assert failed["last_payment_error"]["code"] == exceeded
    assert "payment_intent.payment_failed" in types(api)
    after = api.post(url, data={"amounts[]": ["32", "45"]})
    assert_error(after, 400, code="payment_intent_unexpected_state")


def test_descriptor_code_mismatch_and_stripes_failure_values(api: httpx.Client) -> None:
    si = setup(api)
    url = f"/v1/setup_intents/{si['id']}/verify_microdeposits"
    wrong = api.post(url, data={"descriptor_code": "SM00XX"})
    assert_error(
        wrong,
        400,
        code="payment_method_microdeposit_verification_descriptor_code_mismatch",
        param="descriptor_code",
    )
    timeout = api.post(url, data={"descriptor_code": "SM44DD"})
    code = "payment_method_microdeposit_verification_timeout"
    assert_error(timeout, 400, code=code, param="descriptor_code")
    failed = ok(api.get(f"/v1/setup_intents/{si['id']}"))
    assert failed["status"] == "requires_payment_method"
    assert failed["last_setup_error"]["code"] == code
    assert "setup_intent.setup_failed" in types(api)
    other = setup(api)
    exceeded = api.post(
        f"/v1/setup_intents/{other['id']}/verify_microdeposits", data={"amounts[]": ["10", "11"]}
    )
    assert_error(
        exceeded,
        400,
        code="payment_method_microdeposit_verification_attempts_exceeded",
        param="amounts",
    )


def test_ten_days_on_the_tenant_clock_expire_the_microdeposits(api: httpx.Client) -> None:
    si = setup(api)
    ok(api.post("/v1/test_helpers/clock/advance", data={"seconds": str(9 * DAY)}))
    assert ok(api.get(f"/v1/setup_intents/{si['id']}"))["status"] == "requires_action"
    ok(api.post("/v1/test_helpers/clock/advance", data={"seconds": str(DAY + 1)}))
    expired = ok(api.get(f"/v1/setup_intents/{si['id']}"))
    assert expired["status"] == "requires_payment_method"
    code = "payment_method_microdeposit_verification_timeout"
    assert expired["last_setup_error"]["code"] == code
    late = api.post(
        f"/v1/setup_intents/{si['id']}/verify_microdeposits", data={"descriptor_code": "SM11AA"}
    )
    assert_error(late, 400, code="setup_intent_unexpected_state")


def attempt(api: httpx.Client, si: Any) -> Any:
    """The SetupIntent's latest attempt, expanded."""
    got = ok(api.get(f"/v1/setup_intents/{si['id']}", params={"expand[]": "latest_attempt"}))
    return got["latest_attempt"]


def holder(api: httpx.Client, pm: str) -> str | None:
    """The customer that holds the PaymentMethod."""
    customer: str | None = ok(api.get(f"/v1/payment_methods/{pm}"))["customer"]
    return customer


def test_a_setup_attaches_its_payment_method_only_once_verified(api: httpx.Client) -> None:
    si = setup(api)
    pm = si["payment_method"]
    assert attempt(api, si)["status"] == "requires_action"
    assert holder(api, pm) is None and "payment_method.attached" not in types(api)
    url = f"/v1/setup_intents/{si['id']}/verify_microdeposits"
    ok(api.post(url, data={"descriptor_code": "SM11AA"}))
    done = attempt(api, si)
    assert (done["status"], done["setup_error"]) == ("succeeded", None)
    assert holder(api, pm) == si["customer"]
    seen = types(api)
    assert seen.index("payment_method.attached") < seen.index("setup_intent.succeeded")


def test_a_canceled_setup_abandons_its_attempt_and_attaches_nothing(api: httpx.Client) -> None:
    si = setup(api)
    ok(api.post(f"/v1/setup_intents/{si['id']}/cancel"))
    assert attempt(api, si)["status"] == "abandoned"
    assert holder(api, si["payment_method"]) is None


def test_a_failed_verification_fails_the_setup_attempt(api: httpx.Client) -> None:
    si = setup(api)
    url = f"/v1/setup_intents/{si['id']}/verify_microdeposits"
    api.post(url, data={"descriptor_code": "SM33CC"})
    failed = attempt(api, si)
    code = "payment_method_microdeposit_verification_attempts_exceeded"
    assert (failed["status"], failed["setup_error"]["code"]) == ("failed", code)
    assert holder(api, si["payment_method"]) is None


def test_a_payment_saved_for_future_use_attaches_once_verified(api: httpx.Client) -> None:
    cus = ok(api.post("/v1/customers", data={"name": "Jenny Rosen"}))["id"]
    data = {"amount": "1000", "currency": "usd", "customer": cus, **TYPED}
    pi = ok(api.post("/v1/payment_intents", data={**data, "setup_future_usage": "off_session"}))
    assert pi["status"] == "requires_action"
    assert holder(api, pi["payment_method"]) is None
    url = f"/v1/payment_intents/{pi['id']}/verify_microdeposits"
    assert ok(api.post(url, data={"amounts[]": ["32", "45"]}))["status"] == "processing"
    assert holder(api, pi["payment_method"]) == cus


@pytest.mark.parametrize("kind", ["setup_intents", "payment_intents"])
def test_a_canceled_intent_stays_canceled_past_the_microdeposit_deadline(
    api: httpx.Client, kind: str
) -> None:
    intent = setup(api) if kind == "setup_intents" else payment(api)
    assert intent["status"] == "requires_action"
    canceled = ok(api.post(f"/v1/{kind}/{intent['id']}/cancel"))
    assert canceled["status"] == "canceled" and canceled["next_action"] is None
    ok(api.post("/v1/test_helpers/clock/advance", data={"seconds": str(11 * DAY)}))
    later = ok(api.get(f"/v1/{kind}/{intent['id']}"))
    assert later["status"] == "canceled" and later["next_action"] is None
    assert later.get("last_setup_error") is None and later.get("last_payment_error") is None
    seen = types(api)
    assert seen[-1].endswith(".canceled")
    assert "setup_intent.setup_failed" not in seen and "payment_intent.payment_failed" not in seen


@pytest.mark.parametrize(
    ("data", "code", "param"),
    [
        (
            {"amounts[]": ["32"]},
            "payment_method_microdeposit_verification_amounts_invalid",
            "amounts",
        ),
        (
            {"amounts[]": ["32", "-45"]},
            "payment_method_microdeposit_verification_amounts_invalid",
            "amounts",
        ),
        ({}, "parameter_missing", "amounts"),
        ({"amounts[]": ["32", "45"], "descriptor_code": "SM11AA"}, "parameters_exclusive", None),
        ({"amounts[]": ["x", "45"]}, "parameter_invalid_integer", "amounts[0]"),
    ],
)
def test_bad_values_are_refused_and_count_nothing(
    api: httpx.Client, data: dict[str, Any], code: str, param: str | None
) -> None:
    pi = payment(api)
    resp = api.post(f"/v1/payment_intents/{pi['id']}/verify_microdeposits", data=data)
    body = assert_error(resp, 400, code=code, param=param or "descriptor_code")
    assert body["message"]
    assert ok(api.get(f"/v1/payment_intents/{pi['id']}"))["status"] == "requires_action"


def test_a_verified_intent_has_nothing_left_to_verify(api: httpx.Client) -> None:
    pi = payment(api)
    amounts = {"amounts[]": ["32", "45"]}
    assert ok(api.post(f"/v1/payment_intents/{pi['id']}/verify_microdeposits", data=amounts))
    resp = api.post(f"/v1/payment_intents/{pi['id']}/verify_microdeposits", data=amounts)
    assert_error(resp, 400, code="payment_intent_unexpected_state")
    missing = api.post("/v1/setup_intents/seti_nope/verify_microdeposits", data={})
    assert_error(missing, 404, code="resource_missing", param="id")


def test_stripe_js_verifies_with_the_publishable_key_and_client_secret(
    api: httpx.Client, key: str
) -> None:
    pk = {"Authorization": "Bearer pk_" + key.removeprefix("sk_")}
    si, pi = setup(api), payment(api)
    base = "/_stripejs/v1"
    no_secret = api.post(
        f"{base}/setup_intents/{si['id']}/verify_microdeposits",
        data={"descriptor_code": "SM11AA"},
        headers=pk,
    )
    assert_error(no_secret, 400, param="client_secret")
    done = ok(
        api.post(
            f"{base}/setup_intents/{si['id']}/verify_microdeposits",
            data={"descriptor_code": "SM11AA", "client_secret": si["client_secret"]},
            headers=pk,
        )
    )
    assert done["status"] == "succeeded" and "customer" not in done and "mandate" not in done
    paid = ok(
        api.post(
            f"{base}/payment_intents/{pi['id']}/verify_microdeposits",
            data={"amounts[0]": "32", "amounts[1]": "45", "client_secret": pi["client_secret"]},
            headers=pk,
        )
    )
    assert paid["status"] == "processing" and "customer" not in paid


def test_an_error_about_an_intent_carries_it_as_the_key_may_see_it(
    api: httpx.Client, key: str
) -> None:
    """Stripe's errors on a request about an intent carry it (`error.payment_intent`,
    `error.setup_intent`): as the request left it when it failed and stands, as it was stored
    when it raised; never to a publishable key without the intent's client secret."""
    pk = {"Authorization": "Bearer pk_" + key.removeprefix("sk_")}
    si, pi = setup(api), payment(api)
    wrong = api.post(
        f"/v1/payment_intents/{pi['id']}/verify_microdeposits",
        data={"amounts[0]": "1", "amounts[1]": "2"},
    )
    mismatch = "payment_method_microdeposit_verification_amounts_mismatch"
    shown = assert_error(wrong, 400, code=mismatch, param="amounts")
    assert shown["payment_intent"]["id"] == pi["id"]
    assert shown["payment_intent"]["status"] == "requires_action"
    assert shown["payment_intent"]["customer"] is None  # the secret key's whole view

    base = "/_stripejs/v1"
    by_js = api.post(
        f"{base}/setup_intents/{si['id']}/verify_microdeposits",
        data={"descriptor_code": "SM99ZZ", "client_secret": si["client_secret"]},
        headers=pk,
    )
    code_mismatch = "payment_method_microdeposit_verification_descriptor_code_mismatch"
    seen = assert_error(by_js, 400, code=code_mismatch, param="descriptor_code")["setup_intent"]
    assert seen["id"] == si["id"] and "customer" not in seen  # the publishable key's view
    foreign = api.post(
        f"{base}/setup_intents/{si['id']}/verify_microdeposits",
        data={"descriptor_code": "SM11AA", "client_secret": si["id"] + "_secret_nope"},
        headers=pk,
    )
    assert "setup_intent" not in assert_error(foreign, 400, param="client_secret")

    canceled = ok(api.post(f"/v1/payment_intents/{pi['id']}/cancel"))
    again = api.post(f"/v1/payment_intents/{pi['id']}/confirm")
    body = assert_error(again, 400, code="payment_intent_unexpected_state")
    assert body["payment_intent"]["status"] == canceled["status"] == "canceled"
    assert (
        ok(
            api.post(
                f"/v1/setup_intents/{si['id']}/verify_microdeposits",
                data={"descriptor_code": "SM11AA"},
            )
        )["status"]
        == "succeeded"
    )
    refused = api.post(f"/v1/setup_intents/{si['id']}/cancel")
    assert_error(refused, 400, code="setup_intent_unexpected_state")
    assert refused.json()["error"]["setup_intent"]["status"] == "succeeded"


def test_stripe_js_pay_by_bank_links_one_account_and_keeps_the_payment_method_metadata(
    api: httpx.Client, key: str
) -> None:
    """`collectBankAccountForPayment`: the session made for the intent lets the user select one
    account (the intent takes one PaymentMethod), and `payment_method_data.metadata` reaches
    the PaymentMethod attached to the intent."""
    pk = {"Authorization": "Bearer pk_" + key.removeprefix("sk_")}
    cus = ok(api.post("/v1/customers", data={"name": "Jenny Rosen"}))["id"]
    pi = ok(
        api.post(
            "/v1/payment_intents",
            data={
                "amount": "1000",
                "currency": "usd",
                "customer": cus,
                "payment_method_types[]": "us_bank_account",
            },
        )
    )
    base = "/_stripejs/v1"
    intent = f"{base}/payment_intents/{pi['id']}"
    las = ok(
        api.post(
            f"{intent}/link_account_sessions",
            data={"client_secret": pi["client_secret"]},
            headers=pk,
        )
    )
    secret = {"client_secret": las["client_secret"]}
    assert ok(api.post(f"{base}/session", data=secret, headers=pk))["account_limit"] == 1
    login = ok(
        api.post(
            f"{base}/authenticate",
            data={**secret, "institution": "fcinst_StripeBank", "username": "jenny"},
            headers=pk,
        )
    )
    offered = [a["key"] for a in login["accounts"] if a["selectable"]]
    assert len(offered) >= 2
    too_many = api.post(f"{base}/complete", data={**secret, "accounts[]": offered[:2]}, headers=pk)
    assert too_many.status_code == 400, too_many.text
    ok(api.post(f"{base}/complete", data={**secret, "accounts[]": offered[:1]}, headers=pk))
    attached = ok(
        api.post(
            f"{intent}/link_account_sessions/{las['id']}/attach",
            data={
                "client_secret": pi["client_secret"],
                "billing_details[name]": "Jenny Rosen",
                "metadata[order]": "1001",
            },
            headers=pk,
        )
    )
    assert attached["status"] == "requires_confirmation"
    pm = ok(api.get(f"/v1/payment_methods/{attached['payment_method']}"))
    assert pm["metadata"] == {"order": "1001"}
