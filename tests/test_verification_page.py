"""The hosted microdeposit verification page behind `hosted_verification_url`: served by the
fake at the address the request came in on, reachable only through the link, verifying with
the same rules as `verify_microdeposits`. Both modes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.helpers import assert_error
from tests.test_microdeposits import ok, payment, setup


def link_path(intent: dict[str, Any]) -> str:
    url = intent["next_action"]["verify_with_microdeposits"]["hosted_verification_url"]
    return str(urlsplit(url).path)


def anonymous(api: httpx.Client) -> dict[str, str]:
    """Headers of a visitor with no API key: what the customer's browser sends."""
    return {"Authorization": ""}


def test_the_link_is_served_here_and_shows_the_intent_without_its_secrets(
    api: httpx.Client, key: str
) -> None:
    si = setup(api)
    url = si["next_action"]["verify_with_microdeposits"]["hosted_verification_url"]
    assert url.startswith(str(api.base_url).rstrip("/") + "/microdeposit/sacs_test_")
    assert key.removeprefix("sk_test_") not in url and si["id"] not in url
    path = link_path(si)
    page = api.get(path, headers=anonymous(api))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "Verify your bank account" in page.text
    shown = ok(api.get(f"{path}/intent", headers=anonymous(api)))
    assert shown["intent"] == si["id"] and shown["status"] == "requires_action"
    assert shown["microdeposit_type"] == "descriptor_code"
    assert shown["arrival_date"] == si["next_action"]["verify_with_microdeposits"]["arrival_date"]
    assert si["client_secret"] not in str(shown) and "customer" not in shown


def test_the_page_verifies_a_setup_intent_with_the_descriptor_code(api: httpx.Client) -> None:
    si = setup(api)
    path = link_path(si)
    wrong = api.post(f"{path}/verify", data={"descriptor_code": "SM00ZZ"}, headers=anonymous(api))
    body = assert_error(
        wrong,
        400,
        code="payment_method_microdeposit_verification_descriptor_code_mismatch",
        param="descriptor_code",
    )
    assert "does not match" in body["message"]
    done = ok(
        api.post(f"{path}/verify", data={"descriptor_code": "SM11AA"}, headers=anonymous(api))
    )
    assert done["status"] == "succeeded"
    assert ok(api.get(f"/v1/setup_intents/{si['id']}"))["status"] == "succeeded"
    again = api.post(f"{path}/verify", data={"descriptor_code": "SM11AA"}, headers=anonymous(api))
    assert_error(again, 400, code="setup_intent_unexpected_state")


def test_the_page_verifies_a_payment_with_the_amounts_and_the_debit_starts(
    api: httpx.Client,
) -> None:
    pi = payment(api)
    path = link_path(pi)
    assert "/microdeposit/pacs_test_" in path
    shown = ok(api.get(f"{path}/intent", headers=anonymous(api)))
    assert (shown["amount"], shown["currency"]) == (1000, "usd")
    amounts = {"amounts[]": ["32", "45"]}
    done = ok(api.post(f"{path}/verify", data=amounts, headers=anonymous(api)))
    assert done["status"] == "processing"
    assert ok(api.get(f"/v1/payment_intents/{pi['id']}"))["status"] == "processing"


def test_three_wrong_tries_on_the_page_fail_the_intent_as_the_api_does(api: httpx.Client) -> None:
    pi = payment(api)
    path = link_path(pi)
    codes = []
    for _ in range(3):
        resp = api.post(f"{path}/verify", data={"amounts[]": ["1", "2"]}, headers=anonymous(api))
        codes.append(resp.json()["error"]["code"])
    assert codes[-1] == "payment_method_microdeposit_verification_attempts_exceeded"
    shown = ok(api.get(f"{path}/intent", headers=anonymous(api)))
    assert shown["status"] == "requires_payment_method" and shown["failure"]


def test_bad_values_on_the_page_are_refused_naming_the_parameter(api: httpx.Client) -> None:
    path = link_path(payment(api))
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"amounts[]": ["x", "45"]}, "parameter_invalid_integer", "amounts[0]"),
        (
            {"amounts[]": ["32"]},
            "payment_method_microdeposit_verification_amounts_invalid",
            "amounts",
        ),
        ({"client_secret": "pi_x_secret_y"}, "parameter_unknown", "client_secret"),
        ({}, "parameter_missing", "amounts"),
    ]
    for data, code, param in cases:
        resp = api.post(f"{path}/verify", data=data, headers=anonymous(api))
        assert_error(resp, 400, code=code, param=param)
    assert ok(api.get(f"{path}/intent", headers=anonymous(api)))["status"] == "requires_action"


def test_a_link_altered_or_made_up_reaches_nothing(api: httpx.Client) -> None:
    mine, theirs = link_path(setup(api)), link_path(payment(api))
    flipped = mine[:-1] + ("0" if mine[-1] != "0" else "1")
    # Another link's public part with this one's secret.
    mixed = theirs[:-40] + mine[-40:]
    for path in (
        flipped,
        mixed,
        "/microdeposit/sacs_test_0",
        "/microdeposit/sacs_test_" + "g" * 56,
    ):
        assert api.get(path, headers=anonymous(api)).status_code == 404
        for method in ("GET", "POST"):
            suffix = "/intent" if method == "GET" else "/verify"
            resp = api.request(
                method,
                path + suffix,
                data={"descriptor_code": "SM11AA"} if method == "POST" else None,
                headers=anonymous(api),
            )
            assert_error(resp, 404, code="resource_missing", param="link")
    assert ok(api.get(f"{mine}/intent", headers=anonymous(api)))["status"] == "requires_action"


def test_a_link_reaches_its_own_tenants_intent_whoever_asks(api: httpx.Client, key: str) -> None:
    si = setup(api)
    other = {"Authorization": f"Bearer {key}_other"}
    ok(api.post("/v1/customers", headers=other))
    # The link, not the caller's key, picks the tenant: another tenant's key changes nothing.
    shown = ok(api.get(f"{link_path(si)}/intent", headers=other))
    assert shown["intent"] == si["id"]


def test_a_link_is_the_tenants_own_record_and_ends_with_its_reset(
    app: Any, api: httpx.Client, key: str
) -> None:
    """The server keeps nothing per link for all tenants (a key, once), the link does not show
    the tenant's name (the secret part of its keys), and a reset of the tenant ends it."""
    from fake_stripe.core.keys import tenant_of

    def server_wide() -> int:  # the memory store's metadata of tenant "", shared by all
        shared = app.fake.backend._tenants.get("")
        return 0 if shared is None else len(shared.meta)

    link_path(setup(api))  # the store's key exists from the first link on
    before = server_wide()
    path = link_path(setup(api))
    link_path(payment(api))
    assert server_wide() == before
    assert tenant_of(key) not in path
    assert ok(api.get(f"{path}/intent", headers=anonymous(api)))["status"] == "requires_action"
    assert api.post("/_fake/reset", data={"key": key}).status_code == 200
    resp = api.get(f"{path}/intent", headers=anonymous(api))
    assert_error(resp, 404, code="resource_missing", param="link")
