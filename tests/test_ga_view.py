"""What GA readers (`2026-10-28.endive`, what stripe-python 16.1.0 and stripe-node 23.1.0 send)
and preview readers see: the shapes the official SDKs type, in both modes.

The public-preview SDK (16.1.0b1) drives these with `stripe_version` set per client; the GA SDK
build itself runs the same checks in `tests/ga_sdk_check.py` (its own venv, see `.ci/run`).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from fake_stripe.core.versions import DEFAULT_API_VERSION, PREVIEW_VERSION
from fake_stripe.inprocess import client as inprocess_client
from fake_stripe.sdk import stripe_client

from .helpers import assert_error
from .test_webhooks import Receiver, create_endpoint

GA = "2026-10-28.endive"
OLD_GA = "2026-03-25.dahlia"  # before accounts had status_details (stripe-node 22.3.0)
PREVIEW = PREVIEW_VERSION
TH = "/v1/test_helpers/financial_connections"


@pytest.fixture
def target(mode: str, app: Any, request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("server").url if mode == "server" else app


@pytest.fixture
def pv(target: Any, key: str) -> Any:
    return stripe_client(target, key, stripe_version=PREVIEW)


@pytest.fixture
def ga(target: Any, key: str) -> Any:
    return stripe_client(target, key, stripe_version=GA)


def helper(sdk: Any, path: str, **params: Any) -> Any:
    return sdk.deserialize(sdk.raw_request("post", path, **params), api_mode="V1")


def link(sdk: Any, institution: str = "fcinst_StripeBank", **session: Any) -> tuple[Any, Any, Any]:
    """(customer, session after linking, first account)."""
    cus = sdk.v1.customers.create(params={"email": "ga@example.com"})
    params = {
        "account_holder": {"type": "customer", "customer": cus.id},
        "permissions": ["payment_method", "balances", "ownership", "transactions"],
        **session,
    }
    created = sdk.v1.financial_connections.sessions.create(params=params)
    done = helper(
        sdk, f"{TH}/sessions/{created.id}/complete", outcome="link", institution=institution
    )
    return cus, done, done.accounts.data[0]


def events_of(sdk: Any, type_: str) -> list[Any]:
    return list(sdk.v1.events.list(params={"type": type_, "limit": 100}).data)


# ---- 1. status_details reaches GA readers (active only), gated by version date ----------------


def test_ga_reader_sees_the_upcoming_deactivation_date(
    pv: Any, ga: Any, target: Any, key: str
) -> None:
    _, _, account = link(pv)
    assert ga.v1.financial_connections.accounts.retrieve(account.id).status_details.to_dict() == {}
    helper(pv, f"{TH}/accounts/{account.id}/schedule_deactivation", days=10)
    got = ga.v1.financial_connections.accounts.retrieve(account.id)
    active = got.status_details.active
    assert active.action == "relink_required"
    assert active.cause == "access_expired"
    assert active.expected_deactivation_date > got.created
    (event,) = events_of(ga, "financial_connections.account.upcoming_deactivation")
    assert event.api_version == GA
    assert event.data.object.status_details.active.expected_deactivation_date == (
        active.expected_deactivation_date
    )
    old = stripe_client(target, key, stripe_version=OLD_GA)
    assert "status_details" not in old.v1.financial_connections.accounts.retrieve(account.id)


def test_ga_reader_never_sees_the_inactive_details(pv: Any, ga: Any) -> None:
    _, _, account = link(pv)
    helper(pv, f"{TH}/accounts/{account.id}/deactivate", reason="token_expired")
    assert pv.v1.financial_connections.accounts.retrieve(
        account.id
    ).status_details.inactive.cause == ("access_expired")
    got = ga.v1.financial_connections.accounts.retrieve(account.id)
    assert got.status == "inactive"
    assert got.status_details.to_dict() == {}


# ---- 2. the GA authorization has no account_holder or institution -----------------------------


def test_ga_authorization_event_has_only_the_ga_fields(pv: Any, ga: Any) -> None:
    _, _, account = link(pv)
    helper(pv, f"{TH}/accounts/{account.id}/schedule_deactivation", days=10)
    (ga_event,) = events_of(ga, "financial_connections.authorization.upcoming_deactivation")
    auth = ga_event.data.object.to_dict()
    assert "account_holder" not in auth and "institution" not in auth
    assert auth["object"] == "financial_connections.authorization"
    assert set(auth) == {"id", "object", "institution_name", "livemode", "status", "status_details"}
    assert auth["status_details"]["active"]["action"] == "relink_required"
    # The event keeps that shape for a preview reader; the preview fields are on the object.
    (pv_event,) = events_of(pv, "financial_connections.authorization.upcoming_deactivation")
    assert pv_event.data.object.to_dict() == auth
    fresh = pv.v1.financial_connections.authorizations.retrieve(auth["id"])
    assert fresh.account_holder.customer == account.account_holder.customer
    assert fresh.institution == "fcinst_StripeBank"


# ---- 3. last4: the account's own number at a plain-number bank --------------------------------


@pytest.mark.parametrize(
    ("institution", "same"), [("fcinst_StripeBank", True), ("fcinst_Chase", False)]
)
def test_payment_method_last4_is_the_accounts_at_plain_number_banks(
    ga: Any, pv: Any, institution: str, same: bool
) -> None:
    cus, _, account = link(pv, institution)
    pm = ga.v1.payment_methods.create(
        params={
            "type": "us_bank_account",
            "us_bank_account": {"financial_connections_account": account.id},
            "billing_details": {"name": "Jane Doe"},
        }
    )
    assert (pm.us_bank_account.last4 == account.last4) is same


# ---- 4. prefetch[]=ownership/transactions fetch them as the accounts link ---------------------


def test_prefetch_fills_ownership_and_transactions(pv: Any, ga: Any) -> None:
    _, session, account = link(pv, prefetch=["ownership", "transactions"])
    assert session.prefetch == ["ownership", "transactions"]
    got = ga.v1.financial_connections.accounts.retrieve(
        account.id, params={"expand": ["ownership"]}
    )
    assert got.ownership.object == "financial_connections.account_ownership"
    assert got.ownership.owners.data[0].name
    assert got.ownership_refresh.status == "succeeded"
    assert got.transaction_refresh.status == "succeeded"
    assert got.transaction_refresh.id.startswith("fctxnref_")
    assert got.balance_refresh is None and got.balance is None
    listed = ga.v1.financial_connections.transactions.list(params={"account": account.id})
    assert listed.data and listed.data[0].transaction_refresh == got.transaction_refresh.id


def test_without_prefetch_nothing_is_fetched(pv: Any) -> None:
    _, _, account = link(pv)
    assert account.ownership is None and account.ownership_refresh is None
    assert account.transaction_refresh is None


# ---- 5. events: the account's version, one label per rendering ------------------------------


def test_endpoint_without_version_gets_the_accounts_default_version(
    app: Any, pv: Any, key: str, receiver: Receiver
) -> None:
    with inprocess_client(app, headers={"Authorization": f"Bearer {key}"}) as api:
        create_endpoint(api, receiver.url, "financial_connections.account.deactivated")
    _, _, account = link(pv)  # preview requests
    helper(pv, f"{TH}/accounts/{account.id}/deactivate", reason="token_expired")
    (r,) = receiver.wait_for(1)
    assert r.event["api_version"] == DEFAULT_API_VERSION
    assert "authorization" not in r.event["data"]["object"]
    assert r.event["data"]["object"]["status_details"] == {}
    # GA readers saw `{}` before and after: no `status_details` in previous_attributes.
    assert r.event["data"]["previous_attributes"] == {"status": "active"}


@pytest.fixture
def receiver() -> Any:
    r = Receiver()
    yield r
    r.close()


def test_an_event_keeps_the_shape_and_label_of_its_creation(pv: Any, ga: Any) -> None:
    _, _, account = link(pv)  # preview requests, on an account whose default version is GA
    helper(pv, f"{TH}/accounts/{account.id}/deactivate", reason="token_expired")
    (as_ga,) = events_of(ga, "financial_connections.account.deactivated")
    assert as_ga.api_version == GA
    assert "authorization" not in as_ga.data.object
    assert as_ga.data.object.status_details.to_dict() == {}
    assert as_ga.data.previous_attributes.to_dict() == {"status": "active"}
    (as_pv,) = events_of(pv, "financial_connections.account.deactivated")
    assert as_pv.to_dict() == as_ga.to_dict()
    assert pv.v1.events.retrieve(as_ga.id).to_dict() == as_ga.to_dict()
    # What a preview integration reads instead: the object, at its own version.
    fresh = pv.v1.financial_connections.accounts.retrieve(account.id)
    assert fresh.authorization == account.authorization
    assert fresh.status_details.inactive.cause == "access_expired"


# ---- 6. PaymentMethod and SetupIntent shapes ---------------------------------------------------


def _pm(sdk: Any, account: Any) -> Any:
    return sdk.v1.payment_methods.create(
        params={
            "type": "us_bank_account",
            "us_bank_account": {"financial_connections_account": account.id},
            "billing_details": {"name": "Jane Doe"},
        }
    )


def test_billing_details_have_an_address_of_nulls_and_a_tax_id(pv: Any, ga: Any) -> None:
    _, _, account = link(pv)
    pm = _pm(ga, account)
    details = pm.billing_details.to_dict()
    assert details["address"] == {
        "city": None,
        "country": None,
        "line1": None,
        "line2": None,
        "postal_code": None,
        "state": None,
    }
    assert details["tax_id"] is None
    with_tax = ga.v1.payment_methods.create(
        params={
            "type": "us_bank_account",
            "us_bank_account": {"financial_connections_account": account.id},
            "billing_details": {"name": "Jane Doe", "tax_id": "000000000"},
        }
    )
    assert with_tax.billing_details.tax_id == "000000000"


def test_confirmed_us_bank_account_setup_intent_has_options_and_an_attempt(
    pv: Any, ga: Any
) -> None:
    cus, _, account = link(pv)
    pm = _pm(ga, account)
    si = ga.v1.setup_intents.create(
        params={
            "customer": cus.id,
            "allowed_payment_method_types": ["us_bank_account"],
            "payment_method": pm.id,
        }
    )
    assert si.allowed_payment_method_types == ["us_bank_account"]
    assert si.payment_method_types == ["us_bank_account"]
    assert si.latest_attempt is None
    confirmed = ga.v1.setup_intents.confirm(
        si.id,
        params={
            "mandate_data": {
                "customer_acceptance": {
                    "type": "online",
                    "online": {"ip_address": "127.0.0.1", "user_agent": "pytest"},
                }
            }
        },
    )
    assert confirmed.status == "succeeded"
    options = confirmed.payment_method_options.us_bank_account.to_dict()
    assert options == {
        "financial_connections": {"permissions": ["payment_method"], "prefetch": None},
        "mandate_options": {},
        "verification_method": "automatic",
    }
    assert confirmed.latest_attempt.startswith("setatt_")
    expanded = ga.v1.setup_intents.retrieve(si.id, params={"expand": ["latest_attempt"]})
    attempt = expanded.latest_attempt
    assert attempt.object == "setup_attempt"
    assert attempt.setup_intent == si.id and attempt.payment_method == pm.id
    assert attempt.status == "succeeded"


def test_allowed_payment_method_types_on_update_and_confirm(pv: Any, ga: Any) -> None:
    cus, _, account = link(pv)
    si = ga.v1.setup_intents.create(params={"customer": cus.id})
    assert si.allowed_payment_method_types is None
    updated = ga.v1.setup_intents.update(
        si.id,
        params={"allowed_payment_method_types": ["us_bank_account"], "metadata": {"a": "1"}},
    )
    assert updated.allowed_payment_method_types == ["us_bank_account"]
    assert updated.metadata.to_dict() == {"a": "1"}
    options = updated.payment_method_options.us_bank_account
    assert options.verification_method == "automatic"
    confirmed = ga.v1.setup_intents.confirm(
        si.id,
        params={
            "allowed_payment_method_types": ["us_bank_account"],
            "payment_method": _pm(ga, account).id,
            "mandate_data": {"customer_acceptance": {"type": "offline", "offline": {}}},
        },
    )
    assert confirmed.status == "succeeded"
    older = ga.v1.setup_intents.retrieve(si.id, options={"stripe_version": "2026-06-24.dahlia"})
    assert "allowed_payment_method_types" not in older


def test_update_of_a_succeeded_setup_intent_is_refused(pv: Any, api: httpx.Client) -> None:
    cus, _, account = link(pv)
    pm = _pm(pv, account)
    si = pv.v1.setup_intents.create(
        params={
            "customer": cus.id,
            "payment_method": pm.id,
            "confirm": True,
            "mandate_data": {"customer_acceptance": {"type": "offline", "offline": {}}},
        }
    )
    assert si.status == "succeeded"
    resp = api.post(f"/v1/setup_intents/{si.id}", data={"allowed_payment_method_types[]": "card"})
    assert_error(resp, 400, code="setup_intent_unexpected_state")
    missing = api.post("/v1/setup_intents/seti_missing", data={"metadata[a]": "1"})
    assert_error(missing, 404, code="resource_missing", param="id")


# ---- 7. Stripe.js at the versioned loader path -----------------------------------------------


# `@stripe/stripe-js` 10.2.1 (npm, dist/index.js): it loads /endive/stripe.js, accepts a script
# already on the page at /v3 or /<train>/stripe.js, reads `Stripe.version` (3 as "v3") and warns
# "Stripe.js@<version> was loaded on the page, but ... expected Stripe.js@endive" otherwise.
LOADER_TRAIN = "endive"


def _loader_reads(text: str) -> str:
    version = json.loads(text.split("Stripe.version = ", 1)[1].split(";", 1)[0])
    return "v3" if version == 3 else str(version)


@pytest.mark.parametrize("path", ["/v3", "/v3/", "/v3/stripe.js", "/endive/stripe.js"])
def test_stripe_js_is_the_version_the_loader_expects(api: httpx.Client, path: str) -> None:
    got = api.get(path)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/javascript")
    assert "__FAKE_STRIPE" not in got.text
    assert _loader_reads(got.text) == LOADER_TRAIN


def test_stripe_js_at_an_older_train_and_an_unknown_path(api: httpx.Client) -> None:
    # The loader of that train (an older @stripe/stripe-js) is the one that looks there.
    assert _loader_reads(api.get("/clover/stripe.js").text) == "clover"
    unknown = api.get("/v1x/stripe.js")
    assert unknown.status_code == 404
    assert json.loads(unknown.text)["error"]["type"] == "invalid_request_error"
