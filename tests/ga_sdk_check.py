"""The GA SDK (`stripe==16.1.0`, `2026-10-28.endive`) reads what it types, and walks an ACH
Direct Debit through its whole life (`payments_walkthrough`, also run with the public-preview
build by tests/test_sdk_payments.py), in both modes.

The GA and public-preview SDK builds cannot share a virtual environment, so `.ci/run` runs this
script in its own venv (`.venv-ga`). It drives the strict app in-process and over a loopback
socket, and exits non-zero on any mismatch. It covers what a GA reader sees: `status_details`
(active only) on accounts and in the upcoming-deactivation event, the GA authorization's fields,
`last4`, prefetch, event versions and `previous_attributes`, PaymentMethod and SetupIntent
shapes.
"""

from __future__ import annotations

import sys
from typing import Any, cast

import stripe

from fake_stripe import create_app
from fake_stripe.core.versions import PREVIEW_VERSION
from fake_stripe.http_server import ServerThread
from fake_stripe.sdk import stripe_client

TH = "/v1/test_helpers/financial_connections"
GA_AUTHORIZATION_FIELDS = {
    "id",
    "object",
    "institution_name",
    "livemode",
    "status",
    "status_details",
}


def helper(client: Any, path: str, **params: Any) -> Any:
    return client.deserialize(client.raw_request("post", path, **params), api_mode="V1")


def check(ga: Any, mode: str) -> None:
    cus = ga.v1.customers.create(params={"email": "ga@example.com"})
    session = ga.v1.financial_connections.sessions.create(
        params={
            "account_holder": {"type": "customer", "customer": cus.id},
            "permissions": ["payment_method", "balances", "ownership", "transactions"],
            "prefetch": ["ownership", "transactions"],
        }
    )
    assert isinstance(session, stripe.financial_connections.Session)
    for preview_only in ("relink_options", "relink_result", "status"):
        assert preview_only not in session, preview_only
    done = helper(ga, f"{TH}/sessions/{session.id}/complete", outcome="link")
    account_id = done.accounts.data[0].id
    account = ga.v1.financial_connections.accounts.retrieve(account_id)
    assert isinstance(account, stripe.financial_connections.Account)
    assert account.status == "active"
    assert "authorization" not in account
    assert account.status_details.to_dict() == {}, account.status_details
    # prefetch[]=ownership/transactions
    assert account.ownership is not None and account.ownership.startswith("fcaowns_")
    assert account.ownership_refresh.status == "succeeded"
    assert account.transaction_refresh.id.startswith("fctxnref_")
    listed = ga.v1.financial_connections.accounts.list(
        params={"account_holder": {"customer": cus.id}}
    )
    assert [a.id for a in listed.data] == [account_id]
    again = ga.v1.financial_connections.sessions.retrieve(session.id)
    assert [a.id for a in again.accounts.data] == [account_id]

    # status_details.active for GA, in the object and in the event
    helper(ga, f"{TH}/accounts/{account_id}/schedule_deactivation", days=10)
    scheduled = ga.v1.financial_connections.accounts.retrieve(account_id)
    active = scheduled.status_details.active
    assert isinstance(active, stripe.financial_connections.Account.StatusDetails.Active)
    assert active.action == "relink_required" and active.cause == "access_expired"
    events = ga.v1.events.list(params={"limit": 100}).data
    by_type = {ev.type: ev for ev in events}
    upcoming = by_type["financial_connections.account.upcoming_deactivation"]
    assert upcoming.api_version == stripe.api_version == "2026-10-28.endive"
    got = upcoming.data.object.status_details.active.expected_deactivation_date
    assert got == active.expected_deactivation_date
    auth = by_type["financial_connections.authorization.upcoming_deactivation"].data.object
    assert set(auth.to_dict()) == GA_AUTHORIZATION_FIELDS, auth

    # PaymentMethod: last4 is the account's (Stripe Bank has plain numbers), billing details
    pm = ga.v1.payment_methods.create(
        params={
            "type": "us_bank_account",
            "us_bank_account": {"financial_connections_account": account_id},
            "billing_details": {"name": "Jane Doe"},
        }
    )
    assert pm.us_bank_account.last4 == account.last4
    assert pm.billing_details.address.to_dict() == dict.fromkeys(
        ("city", "country", "line1", "line2", "postal_code", "state")
    )
    assert pm.billing_details.tax_id is None

    # SetupIntent: allowed_payment_method_types, options defaults, latest_attempt
    si = ga.v1.setup_intents.create(
        params={"customer": cus.id, "allowed_payment_method_types": ["us_bank_account"]}
    )
    si = ga.v1.setup_intents.update(si.id, params={"payment_method": pm.id})
    si = ga.v1.setup_intents.confirm(
        si.id,
        params={
            "allowed_payment_method_types": ["us_bank_account"],
            "mandate_data": {"customer_acceptance": {"type": "offline", "offline": {}}},
        },
    )
    assert si.status == "succeeded"
    assert si.allowed_payment_method_types == ["us_bank_account"]
    options = si.payment_method_options.us_bank_account
    assert options.verification_method == "automatic"
    assert options.financial_connections.permissions == ["payment_method"]
    assert options.mandate_options.to_dict() == {}
    expanded = ga.v1.setup_intents.retrieve(si.id, params={"expand": ["latest_attempt"]})
    assert isinstance(expanded.latest_attempt, stripe.SetupAttempt)
    assert expanded.latest_attempt.id.startswith("setatt_")

    # Deactivation: GA sees no inactive details and no status_details in previous_attributes
    helper(ga, f"{TH}/accounts/{account_id}/deactivate", reason="token_expired")
    inactive = ga.v1.financial_connections.accounts.retrieve(account_id)
    assert inactive.status == "inactive" and inactive.status_details.to_dict() == {}
    (deactivated,) = ga.v1.events.list(
        params={"type": "financial_connections.account.deactivated"}
    ).data
    assert deactivated.data.previous_attributes.to_dict() == {
        "status": "active",
        "status_details": {"active": active.to_dict()},
    }, deactivated.data.previous_attributes
    print(f"  {mode}: status_details, authorization, last4, prefetch, events, PM, SI: ok")


PREVIEW = PREVIEW_VERSION
WEEK = 7 * 86_400
ACCEPTANCE = {
    "customer_acceptance": {
        "type": "online",
        "online": {"ip_address": "127.0.0.1", "user_agent": "sdk-walkthrough"},
    }
}


def _linked_payment_method(client: Any, customer: str, institution: str) -> tuple[str, str]:
    """A linked checking account at `institution` and a PaymentMethod from it with a mandate."""
    session = client.v1.financial_connections.sessions.create(
        params={
            "account_holder": {"type": "customer", "customer": customer},
            "permissions": ["payment_method"],
        }
    )
    done = helper(
        client, f"{TH}/sessions/{session.id}/complete", outcome="link", institution=institution
    )
    account = done.accounts.data[0].id
    pm = client.v1.payment_methods.create(
        params={
            "type": "us_bank_account",
            "us_bank_account": {"financial_connections_account": account},
            "billing_details": {"name": "Jenny Rosen"},
        }
    )
    client.v1.setup_intents.create(
        params={
            "customer": customer,
            "payment_method": pm.id,
            "payment_method_types": ["us_bank_account"],
            "confirm": True,
            "mandate_data": ACCEPTANCE,
        }
    )
    return account, pm.id


def _charge(client: Any, customer: str, pm: str) -> Any:
    return client.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "customer": customer,
            "payment_method": pm,
            "payment_method_types": ["us_bank_account"],
            "confirm": True,
            "off_session": True,
        }
    )


def payments_walkthrough(client: Any) -> None:
    """Create, confirm, settle by clock and by helper, fail by the account's state, relink,
    charge again: with whichever `stripe` build is installed."""
    v1 = client.v1
    cus = v1.customers.create(params={"name": "Jenny Rosen"})
    account, pm = _linked_payment_method(client, cus.id, "fcinst_Chase")
    # Create, then confirm: processing until the clock passes the settlement time.
    pi = v1.payment_intents.create(
        params={"amount": 1000, "currency": "usd", "customer": cus.id, "payment_method": pm}
    )
    assert isinstance(pi, stripe.PaymentIntent) and pi.status == "requires_confirmation"
    pi = v1.payment_intents.confirm(pi.id, params={"off_session": True})
    assert pi.status == "processing", pi.status
    charge = v1.charges.retrieve(pi.latest_charge)
    assert isinstance(charge, stripe.Charge) and charge.status == "pending"
    helper(client, "/v1/test_helpers/clock/advance", seconds=WEEK)
    pi = v1.payment_intents.retrieve(pi.id, params={"expand": ["latest_charge"]})
    assert pi.status == "succeeded" and pi.latest_charge.status == "succeeded"
    first_last4 = pi.latest_charge.payment_method_details.us_bank_account.last4
    # Settled by the helper, with a failure the bank chose.
    pi = _charge(client, cus.id, pm)
    pi = helper(
        client, f"/v1/test_helpers/payment_intents/{pi.id}/settle", outcome="insufficient_funds"
    )
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error.code == "insufficient_funds"
    # The TAN expires: the same PaymentMethod is refused at confirm.
    helper(client, f"{TH}/accounts/{account}/expire_account_numbers")
    try:
        _charge(client, cus.id, pm)
        raise AssertionError("a blocked PaymentMethod was charged")
    except stripe.StripeError as err:
        assert err.http_status == 402 and err.code == "bank_account_unusable", err
        refused = cast(dict[str, Any], err.json_body)["error"]["payment_intent"]["id"]
    # Relink (a preview-version request): the same pm_ charges again, with the new last4.
    auth = v1.financial_connections.accounts.retrieve(account, options={"stripe_version": PREVIEW})
    relink = client.raw_request(
        "post",
        "/v1/financial_connections/sessions",
        stripe_version=PREVIEW,
        account_holder={"type": "customer", "customer": cus.id},
        permissions=["payment_method"],
        relink_options={"authorization": auth.authorization},
    )
    relink_id = client.deserialize(relink, api_mode="V1").id
    helper(
        client,
        f"{TH}/sessions/{relink_id}/complete",
        outcome="relink_same",
        stripe_version=PREVIEW,
    )
    pi = v1.payment_intents.confirm(refused, params={"payment_method": pm})
    assert pi.status == "processing"
    pi = helper(client, f"/v1/test_helpers/payment_intents/{pi.id}/settle")
    assert pi.status == "succeeded", pi.status
    charge = v1.charges.retrieve(pi.latest_charge)
    new_last4 = charge.payment_method_details.us_bank_account.last4
    assert charge.payment_method == pm and new_last4 != first_last4
    assert v1.payment_methods.retrieve(pm).us_bank_account.last4 == new_last4
    # A closed account: the debit is returned at settlement, and the client must start over.
    account2, pm2 = _linked_payment_method(client, cus.id, "fcinst_StripeBank")
    helper(client, f"{TH}/accounts/{account2}/deactivate", reason="account_closed")
    pi = _charge(client, cus.id, pm2)
    assert pi.status == "processing"
    helper(client, "/v1/test_helpers/clock/advance", seconds=WEEK)
    pi = v1.payment_intents.retrieve(pi.id)
    assert pi.last_payment_error.code == "account_closed"
    listed = v1.payment_intents.list(params={"customer": cus.id, "limit": 100})
    assert len(listed.data) == 4  # the refused intent was confirmed again
    charges = v1.charges.list(params={"payment_intent": refused})
    assert [c.status for c in charges.data] == ["succeeded", "failed"]
    canceled = v1.payment_intents.cancel(
        v1.payment_intents.create(params={"amount": 700, "currency": "usd"}).id
    )
    assert canceled.status == "canceled"


def main() -> int:
    assert stripe.VERSION.startswith("16.1.0") and "b" not in stripe.VERSION, stripe.VERSION
    app = create_app(seed=1, strict=True)
    server = ServerThread(app)
    try:
        check(stripe_client(app, "sk_test_gainprocess"), "in-process")
        check(stripe_client(server.url, "sk_test_gaserver"), "server")
        payments_walkthrough(stripe_client(app, "sk_test_gapayments"))
        payments_walkthrough(stripe_client(server.url, "sk_test_gapayments_socket"))
    finally:
        server.stop()
        app.fake.close()
    violations = app.fake.violations
    assert not violations, violations
    print(
        f"GA SDK {stripe.VERSION} ({stripe.api_version}): the GA view holds and ACH payments "
        "walk through, in both modes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
