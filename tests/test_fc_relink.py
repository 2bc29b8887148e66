"""Stripe's relink guide end to end through the public-preview SDK: link, pay, deactivate, relink.

Runs in both modes against the strict app (every response validated against the recorded spec).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import stripe

from fake_stripe.core.versions import PREVIEW_VERSION
from fake_stripe.sdk import stripe_client

PREVIEW = PREVIEW_VERSION
TH = "/v1/test_helpers/financial_connections"

# reason -> (account cause, account action, authorization status, authorization action)
SIX_REASONS = {
    "token_expired": ("access_expired", "relink_required", "inactive", "relink_required"),
    "mfa_changed": ("institution_requirement", "relink_required", "inactive", "relink_required"),
    "account_locked": ("account_unavailable", "relink_required", "inactive", "relink_required"),
    "credentials_changed": ("access_expired", "relink_required", "inactive", "relink_required"),
    "access_revoked": ("access_denied", "relink_required", "inactive", "relink_required"),
}


@pytest.fixture
def sdk(mode: str, app: Any, key: str, request: pytest.FixtureRequest) -> Any:
    target = request.getfixturevalue("server").url if mode == "server" else app
    return stripe_client(target, key, stripe_version=PREVIEW)


def helper(sdk: Any, path: str, **params: Any) -> Any:
    resp = sdk.raw_request("post", path, **params)
    return sdk.deserialize(resp, api_mode="V1")


def link(sdk: Any, institution: str = "fcinst_StripeBank", **complete: Any) -> tuple[Any, Any]:
    """A customer with one linked checking account: (customer, account)."""
    cus = sdk.v1.customers.create(params={"email": "jane@example.com"})
    session = sdk.v1.financial_connections.sessions.create(
        params={
            "account_holder": {"type": "customer", "customer": cus.id},
            "permissions": ["payment_method", "balances"],
            "filters": {"account_subcategories": ["checking", "savings"]},
        }
    )
    assert session.status == "pending"
    done = helper(
        sdk,
        f"{TH}/sessions/{session.id}/complete",
        outcome="link",
        institution=institution,
        **complete,
    )
    assert done.status == "succeeded"
    accounts = done.accounts.data
    assert isinstance(accounts, list) and len(accounts) >= 1
    return cus, accounts[0]


def pay(sdk: Any, cus: Any, account: Any) -> tuple[Any, Any]:
    """PaymentMethod from the account, and a SetupIntent confirmed with a mandate."""
    pm = sdk.v1.payment_methods.create(
        params={
            "type": "us_bank_account",
            "us_bank_account": {"financial_connections_account": account.id},
            "billing_details": {"name": "Jane Doe"},
        }
    )
    si = sdk.v1.setup_intents.create(
        params={
            "customer": cus.id,
            "payment_method": pm.id,
            "payment_method_types": ["us_bank_account"],
            "confirm": True,
            "mandate_data": {
                "customer_acceptance": {
                    "type": "online",
                    "online": {"ip_address": "127.0.0.1", "user_agent": "pytest"},
                }
            },
        }
    )
    assert si.status == "succeeded"
    mandate = sdk.v1.mandates.retrieve(si.mandate)
    assert mandate.payment_method == pm.id
    assert mandate.status == "active"
    return pm, si


def relink_session(sdk: Any, cus: Any, authorization: str, use_case: str, **extra: Any) -> Any:
    """Exactly as the relink guide creates it."""
    params: dict[str, Any] = {
        "account_holder": {"type": "customer", "customer": cus.id},
        "relink_options": {"authorization": authorization, **extra},
    }
    if use_case == "payments":
        params.update(
            permissions=["payment_method", "balances"],
            filters={"account_subcategories": ["checking", "savings"]},
            limits={"accounts": 1},
        )
    else:
        params.update(permissions=["balances", "transactions"])
    return sdk.v1.financial_connections.sessions.create(params=params)


@pytest.mark.parametrize("use_case", ["payments", "data"])
@pytest.mark.parametrize("reason", list(SIX_REASONS))
def test_each_relinkable_reason_is_relinked_with_the_same_account(
    sdk: Any, reason: str, use_case: str
) -> None:
    cus, account = link(sdk)
    pm, _si = pay(sdk, cus, account)
    helper(sdk, f"{TH}/accounts/{account.id}/deactivate", reason=reason)

    cause, action, auth_status, auth_action = SIX_REASONS[reason]
    got = sdk.v1.financial_connections.accounts.retrieve(account.id)
    assert got.status == "inactive"
    assert got.status_details.inactive.cause == cause
    assert got.status_details.inactive.action == action
    auth = sdk.v1.financial_connections.authorizations.retrieve(got.authorization)
    assert isinstance(auth, stripe.financial_connections.Authorization)
    assert auth.status == auth_status
    assert auth.status_details.inactive.action == auth_action

    session = relink_session(sdk, cus, auth.id, use_case)
    assert session.relink_options.authorization == auth.id
    assert session.relink_options.account is None
    done = helper(sdk, f"{TH}/sessions/{session.id}/complete", outcome="relink_same")
    assert done.status == "succeeded"
    assert [a.id for a in done.accounts.data] == [account.id]
    assert done.relink_result.authorization == auth.id
    assert done.relink_result.failure_reason is None

    again = sdk.v1.financial_connections.accounts.retrieve(account.id)
    assert again.status == "active"
    assert "inactive" not in again.status_details
    assert sdk.v1.financial_connections.authorizations.retrieve(auth.id).status == "active"
    assert sdk.v1.payment_methods.retrieve(pm.id).us_bank_account.last4 == pm.us_bank_account.last4
    types = [e.type for e in sdk.v1.events.list(params={"limit": 100}).data]
    assert "financial_connections.account.deactivated" in types
    assert "financial_connections.account.reactivated" in types


def test_closed_account_stays_inactive_under_an_active_authorization(sdk: Any) -> None:
    cus, account = link(sdk)
    helper(sdk, f"{TH}/accounts/{account.id}/deactivate", reason="account_closed")
    got = sdk.v1.financial_connections.accounts.retrieve(account.id)
    assert got.status == "inactive"
    assert got.status_details.inactive.cause == "account_closed"
    assert got.status_details.inactive.action == "none"
    auth = sdk.v1.financial_connections.authorizations.retrieve(got.authorization)
    assert auth.status == "active"
    # Connect from scratch: a relink restores nothing for a closed account.
    session = relink_session(sdk, cus, auth.id, "payments")
    done = helper(sdk, f"{TH}/sessions/{session.id}/complete", outcome="relink_same")
    assert done.status == "failed"
    assert done.relink_result.failure_reason == "no_authorization"
    assert sdk.v1.financial_connections.accounts.retrieve(account.id).status == "inactive"


def test_permanent_loss_refuses_relink_so_the_user_connects_from_scratch(sdk: Any) -> None:
    cus, account = link(sdk)
    helper(sdk, f"{TH}/accounts/{account.id}/deactivate", reason="permanent")
    got = sdk.v1.financial_connections.accounts.retrieve(account.id)
    auth = sdk.v1.financial_connections.authorizations.retrieve(got.authorization)
    assert auth.status == "inactive"
    assert auth.status_details.inactive.action == "none"
    with pytest.raises(stripe.InvalidRequestError) as info:
        relink_session(sdk, cus, auth.id, "payments")
    assert info.value.param == "relink_options[authorization]"
    fresh = sdk.v1.financial_connections.sessions.create(
        params={
            "account_holder": {"type": "customer", "customer": cus.id},
            "permissions": ["payment_method"],
        }
    )
    done = helper(sdk, f"{TH}/sessions/{fresh.id}/complete", outcome="link")
    assert done.accounts.data[0].authorization != auth.id


def test_relink_picking_another_account_creates_a_new_account_for_a_new_mandate(
    sdk: Any,
) -> None:
    cus, account = link(sdk)
    helper(sdk, f"{TH}/accounts/{account.id}/deactivate", reason="token_expired")
    session = relink_session(sdk, cus, account.authorization, "payments")
    done = helper(sdk, f"{TH}/sessions/{session.id}/complete", outcome="relink_new")
    assert done.status == "succeeded"
    (new,) = done.accounts.data
    assert new.id != account.id
    assert new.authorization == account.authorization
    pm, _ = pay(sdk, cus, new)
    assert pm.us_bank_account.financial_connections_account == new.id
    types = [e.type for e in sdk.v1.events.list(params={"limit": 100}).data]
    assert types.count("financial_connections.account.created") == 2


def test_required_account_not_chosen_fails_with_no_account(sdk: Any) -> None:
    cus, account = link(sdk)
    helper(sdk, f"{TH}/accounts/{account.id}/deactivate", reason="token_expired")
    session = relink_session(sdk, cus, account.authorization, "data", account=account.id)
    assert session.relink_options.account == account.id
    done = helper(sdk, f"{TH}/sessions/{session.id}/complete", outcome="relink_new")
    assert done.status == "failed"
    assert done.relink_result.failure_reason == "no_account"
    assert done.accounts.data == []


@pytest.mark.parametrize(
    ("outcome", "status", "reason"),
    [
        ("no_accounts", "failed", "no_authorization"),
        ("failure", "failed", "other"),
        ("cancel", "cancelled", "no_authorization"),
    ],
)
def test_unsuccessful_relinks_leave_the_account_inactive(
    sdk: Any, outcome: str, status: str, reason: str
) -> None:
    cus, account = link(sdk)
    helper(sdk, f"{TH}/accounts/{account.id}/deactivate", reason="token_expired")
    session = relink_session(sdk, cus, account.authorization, "payments")
    done = helper(sdk, f"{TH}/sessions/{session.id}/complete", outcome=outcome)
    assert done.status == status
    assert done.relink_result.failure_reason == reason
    assert done.relink_result.authorization is None
    assert done.accounts.data == []
    assert sdk.v1.financial_connections.accounts.retrieve(account.id).status == "inactive"
    if outcome == "cancel":
        assert done.status_details.cancelled.reason == "other"


@pytest.mark.parametrize("institution", ["fcinst_Chase", "fcinst_PNCBank"])
def test_tan_relink_updates_the_payment_method_in_place(sdk: Any, institution: str) -> None:
    cus, account = link(sdk, institution)
    assert account.account_numbers[0].identifier_type == "tokenized_account_number"
    pm, _ = pay(sdk, cus, account)
    helper(sdk, f"{TH}/accounts/{account.id}/deactivate", reason="token_expired")
    session = relink_session(sdk, cus, account.authorization, "payments")
    helper(sdk, f"{TH}/sessions/{session.id}/complete", outcome="relink_same")
    after = sdk.v1.payment_methods.retrieve(pm.id)
    assert after.id == pm.id
    assert after.us_bank_account.last4 != pm.us_bank_account.last4
    assert after.us_bank_account.fingerprint != pm.us_bank_account.fingerprint
    types = [e.type for e in sdk.v1.events.list(params={"limit": 100}).data]
    assert "financial_connections.account.account_numbers_updated" in types
    (updated,) = sdk.v1.events.list(params={"type": "payment_method.automatically_updated"}).data
    # What was before, truly: the numbers changed, the bank and the account did not.
    was = updated.data.previous_attributes.us_bank_account
    assert was.last4 == pm.us_bank_account.last4
    assert was.bank_name == pm.us_bank_account.bank_name == after.us_bank_account.bank_name
    assert was.financial_connections_account == account.id


def test_tan_expiry_blocks_the_payment_method_until_relink(sdk: Any) -> None:
    cus, account = link(sdk, "fcinst_Chase")
    pm, _ = pay(sdk, cus, account)
    expiry = account.account_numbers[0].expected_expiry_date
    now = helper(sdk, "/v1/test_helpers/clock/advance", seconds=0).now
    warn_at = expiry - 30 * 86400
    helper(sdk, "/v1/test_helpers/clock/advance", seconds=warn_at - now)
    types = [e.type for e in sdk.v1.events.list(params={"limit": 100}).data]
    assert "financial_connections.account.upcoming_account_number_expiry" in types
    assert sdk.v1.payment_methods.retrieve(pm.id).us_bank_account.status_details is None
    helper(sdk, "/v1/test_helpers/clock/advance", seconds=expiry - warn_at)
    blocked = sdk.v1.payment_methods.retrieve(pm.id).us_bank_account.status_details.blocked
    assert blocked.reason == "tokenized_account_number_deactivated"
    got = sdk.v1.financial_connections.accounts.retrieve(account.id)
    assert got.account_numbers[0].status == "deactivated"
    session = relink_session(sdk, cus, account.authorization, "payments")
    helper(sdk, f"{TH}/sessions/{session.id}/complete", outcome="relink_same")
    assert sdk.v1.payment_methods.retrieve(pm.id).us_bank_account.status_details is None


def test_upcoming_deactivation_warns_then_deactivates_when_the_clock_passes(sdk: Any) -> None:
    cus, account = link(sdk)
    got = helper(sdk, f"{TH}/accounts/{account.id}/schedule_deactivation", days=7)
    assert got.status == "active"
    assert got.status_details.active.action == "relink_required"
    assert got.status_details.active.cause == "access_expired"
    auth = sdk.v1.financial_connections.authorizations.retrieve(account.authorization)
    assert auth.status_details.active.expected_deactivation_date == (
        got.status_details.active.expected_deactivation_date
    )
    types = [e.type for e in sdk.v1.events.list(params={"limit": 100}).data]
    assert "financial_connections.account.upcoming_deactivation" in types
    assert "financial_connections.authorization.upcoming_deactivation" in types
    helper(sdk, "/v1/test_helpers/clock/advance", seconds=8 * 86400)
    after = sdk.v1.financial_connections.accounts.retrieve(account.id)
    assert after.status == "inactive"
    assert after.status_details.inactive.cause == "access_expired"


def test_proactive_relink_before_the_date_cancels_the_deactivation(sdk: Any) -> None:
    cus, account = link(sdk)
    helper(sdk, f"{TH}/accounts/{account.id}/schedule_deactivation", days=7)
    session = relink_session(sdk, cus, account.authorization, "payments")
    helper(sdk, f"{TH}/sessions/{session.id}/complete", outcome="relink_same")
    helper(sdk, "/v1/test_helpers/clock/advance", seconds=30 * 86400)
    after = sdk.v1.financial_connections.accounts.retrieve(account.id)
    assert after.status == "active"
    assert "active" not in after.status_details


def test_two_accounts_one_closed_relinks_only_the_open_one(sdk: Any) -> None:
    cus, first = link(
        sdk, **{"accounts[0][subcategory]": "checking", "accounts[1][subcategory]": "savings"}
    )
    accounts = sdk.v1.financial_connections.accounts.list(
        params={"account_holder": {"customer": cus.id}}
    ).data
    assert len(accounts) == 2
    closed, open_ = accounts[0], accounts[1]
    helper(sdk, f"{TH}/accounts/{closed.id}/deactivate", reason="account_closed")
    helper(sdk, f"{TH}/authorizations/{first.authorization}/deactivate", cause="access_expired")
    still = sdk.v1.financial_connections.accounts.retrieve(closed.id)
    assert still.status_details.inactive.cause == "account_closed"
    session = relink_session(sdk, cus, first.authorization, "data")
    done = helper(sdk, f"{TH}/sessions/{session.id}/complete", outcome="relink_same")
    assert [a.id for a in done.accounts.data] == [open_.id]
    assert sdk.v1.financial_connections.accounts.retrieve(closed.id).status == "inactive"


def two_accounts(sdk: Any) -> tuple[Any, Any, Any]:
    """A customer with a checking and a savings account of one authorization."""
    cus, _first = link(
        sdk, **{"accounts[0][subcategory]": "checking", "accounts[1][subcategory]": "savings"}
    )
    listed = sdk.v1.financial_connections.accounts.list(
        params={"account_holder": {"customer": cus.id}}
    ).data
    by_kind = {a.subcategory: a for a in listed}
    return cus, by_kind["checking"], by_kind["savings"]


def test_a_relink_of_one_account_brings_back_every_account_the_login_outage_took_down(
    sdk: Any,
) -> None:
    """The payments recipe relinks one account (`limits[accounts]=1`); the authorization's
    login is renewed, so its other account, down for the same cause, comes back with it:
    the authorization never says active while an account still asks for a relink."""
    cus, checking, savings = two_accounts(sdk)
    helper(sdk, f"{TH}/accounts/{checking.id}/deactivate", reason="token_expired")
    session = relink_session(sdk, cus, checking.authorization, "payments")
    done = helper(sdk, f"{TH}/sessions/{session.id}/complete", outcome="relink_same")
    assert done.status == "succeeded"
    assert len(done.accounts.data) == 1
    for account in (checking, savings):
        again = sdk.v1.financial_connections.accounts.retrieve(account.id)
        assert again.status == "active"
        assert "inactive" not in again.status_details
    auth = sdk.v1.financial_connections.authorizations.retrieve(checking.authorization)
    assert auth.status == "active"
    reactivated = sdk.v1.events.list(
        params={"type": "financial_connections.account.reactivated"}
    ).data
    assert {e.data.object.id for e in reactivated} == {checking.id, savings.id}
    # As a preview endpoint gets it: what `status_details` was too.
    ep = sdk.v1.webhook_endpoints.create(
        params={"url": "https://example.com/h", "enabled_events": ["*"], "api_version": PREVIEW}
    )
    sdk.v1.webhook_endpoints.update(ep.id, params={"disabled": True})
    shown = sdk.raw_request(
        "get", "/_fake/webhooks/payload", event=reactivated[0].id, endpoint=ep.id
    )
    previous = json.loads(json.loads(shown.body)["payload"])["data"]["previous_attributes"]
    assert previous == {
        "status": "inactive",
        "status_details": {"inactive": {"action": "relink_required", "cause": "access_expired"}},
    }


def test_a_locked_account_not_chosen_keeps_the_authorization_asking_for_a_relink(
    sdk: Any,
) -> None:
    cus, checking, savings = two_accounts(sdk)
    helper(sdk, f"{TH}/accounts/{savings.id}/deactivate", reason="account_locked")
    session = relink_session(sdk, cus, checking.authorization, "payments", account=checking.id)
    done = helper(sdk, f"{TH}/sessions/{session.id}/complete", outcome="relink_same")
    assert [a.id for a in done.accounts.data] == [checking.id]
    locked = sdk.v1.financial_connections.accounts.retrieve(savings.id)
    assert locked.status == "inactive"
    assert locked.status_details.inactive.action == "relink_required"
    auth = sdk.v1.financial_connections.authorizations.retrieve(checking.authorization)
    assert auth.status == "inactive"
    assert auth.status_details.inactive.action == "relink_required"


def test_a_proactive_relink_of_one_account_ends_the_announced_deactivation_of_all(
    sdk: Any,
) -> None:
    cus, checking, savings = two_accounts(sdk)
    helper(sdk, f"{TH}/accounts/{checking.id}/schedule_deactivation", days=3)
    session = relink_session(sdk, cus, checking.authorization, "payments")
    helper(sdk, f"{TH}/sessions/{session.id}/complete", outcome="relink_same")
    for account in (checking, savings):
        after = sdk.v1.financial_connections.accounts.retrieve(account.id)
        assert "active" not in after.status_details
    helper(sdk, "/v1/test_helpers/clock/advance", seconds=4 * 86400)
    for account in (checking, savings):
        assert sdk.v1.financial_connections.accounts.retrieve(account.id).status == "active"


def test_a_session_shows_its_country_filter_both_ways(sdk: Any) -> None:
    cus = sdk.v1.customers.create()
    session = sdk.v1.financial_connections.sessions.create(
        params={
            "account_holder": {"type": "customer", "customer": cus.id},
            "permissions": ["balances"],
            "filters": {"country": "US"},
        }
    )
    assert session.filters.country == "US"
    assert session.filters.countries == ["US"]


def test_ga_sdk_version_sees_no_preview_fields(app: Any, key: str) -> None:
    ga = stripe_client(app, key, stripe_version="2026-10-28.endive")
    pv = stripe_client(app, key, stripe_version=PREVIEW)
    cus, account = link(pv)
    got = ga.v1.financial_connections.accounts.retrieve(account.id)
    assert "authorization" not in got
    # GA accounts carry status_details from 2026-06-24 (stripe-node 22.3.0), `active` part only.
    assert got.status_details.to_dict() == {}
    older = stripe_client(app, key, stripe_version="2026-03-25.dahlia")
    assert "status_details" not in older.v1.financial_connections.accounts.retrieve(account.id)
    with pytest.raises(stripe.InvalidRequestError) as info:
        ga.v1.financial_connections.sessions.create(
            params={
                "account_holder": {"type": "customer", "customer": cus.id},
                "permissions": ["balances"],
                "relink_options": {"authorization": account.authorization},
            }
        )
    assert info.value.code == "parameter_unknown"
    assert info.value.param == "relink_options"
