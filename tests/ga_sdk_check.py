"""The GA SDK (`stripe==16.1.0`, `2026-10-28.endive`) reads what it types, in both modes.

The GA and public-preview SDK builds cannot share a virtual environment, so `.ci/run` runs this
script in its own venv (`.venv-ga`). It drives the strict app in-process and over a loopback
socket, and exits non-zero on any mismatch. It covers the GA view of issue 12: `status_details`
(active only) on accounts and in the upcoming-deactivation event, the GA authorization's fields,
`last4`, prefetch, event versions and `previous_attributes`, PaymentMethod and SetupIntent
shapes.
"""

from __future__ import annotations

import sys
from typing import Any

import stripe

from fake_stripe import create_app
from fake_stripe.sdk import stripe_client
from fake_stripe.serving import ServerThread

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


def main() -> int:
    assert stripe.VERSION.startswith("16.1.0") and "b" not in stripe.VERSION, stripe.VERSION
    app = create_app(seed=1, strict=True)
    server = ServerThread(app)
    try:
        check(stripe_client(app, "sk_test_gainprocess"), "in-process")
        check(stripe_client(server.url, "sk_test_gaserver"), "server")
    finally:
        server.stop()
        app.state.fake.webhooks.close()
    violations = app.state.fake.violations
    assert not violations, violations
    print(f"GA SDK {stripe.VERSION} ({stripe.api_version}): the GA view holds in both modes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
