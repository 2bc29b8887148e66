"""The GA SDK (`stripe==16.1.0`, `2026-10-28.endive`) reads accounts and sessions unchanged,
and walks an ACH Direct Debit through its whole life (`payments_walkthrough`), in-process and
over a socket.

The GA and public-preview SDK builds cannot share a virtual environment, so `.ci/run` runs this
script in its own venv (`.venv-ga`). It exits non-zero on any mismatch. The walkthrough is also
run with the public-preview build by tests/test_sdk_payments.py.
"""

from __future__ import annotations

import sys
from typing import Any

import stripe

from fake_stripe import create_app
from fake_stripe.sdk import stripe_client
from fake_stripe.serving import ServerThread

PREVIEW = "2026-01-28.preview"
TH = "/v1/test_helpers/financial_connections"
WEEK = 7 * 86_400
ACCEPTANCE = {
    "customer_acceptance": {
        "type": "online",
        "online": {"ip_address": "127.0.0.1", "user_agent": "sdk-walkthrough"},
    }
}


def _helper(client: Any, path: str, **params: Any) -> Any:
    return client.deserialize(client.raw_request("post", path, **params), api_mode="V1")


def _linked_payment_method(client: Any, customer: str, institution: str) -> tuple[str, str]:
    """A linked checking account at `institution` and a PaymentMethod from it with a mandate."""
    session = client.v1.financial_connections.sessions.create(
        params={
            "account_holder": {"type": "customer", "customer": customer},
            "permissions": ["payment_method"],
        }
    )
    done = _helper(
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
    _helper(client, "/v1/test_helpers/clock/advance", seconds=WEEK)
    pi = v1.payment_intents.retrieve(pi.id, params={"expand": ["latest_charge"]})
    assert pi.status == "succeeded" and pi.latest_charge.status == "succeeded"
    first_last4 = pi.latest_charge.payment_method_details.us_bank_account.last4
    # Settled by the helper, with a failure the bank chose.
    pi = _charge(client, cus.id, pm)
    pi = _helper(
        client, f"/v1/test_helpers/payment_intents/{pi.id}/settle", outcome="insufficient_funds"
    )
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error.code == "insufficient_funds"
    # The TAN expires: the same PaymentMethod is refused at confirm.
    _helper(client, f"{TH}/accounts/{account}/expire_account_numbers")
    try:
        _charge(client, cus.id, pm)
        raise AssertionError("a blocked PaymentMethod was charged")
    except stripe.StripeError as err:
        assert err.http_status == 402 and err.code == "bank_account_unusable", err
        refused = err.json_body["error"]["payment_intent"]["id"]
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
    _helper(
        client,
        f"{TH}/sessions/{relink_id}/complete",
        outcome="relink_same",
        stripe_version=PREVIEW,
    )
    pi = v1.payment_intents.confirm(refused, params={"payment_method": pm})
    assert pi.status == "processing"
    pi = _helper(client, f"/v1/test_helpers/payment_intents/{pi.id}/settle")
    assert pi.status == "succeeded", pi.status
    charge = v1.charges.retrieve(pi.latest_charge)
    new_last4 = charge.payment_method_details.us_bank_account.last4
    assert charge.payment_method == pm and new_last4 != first_last4
    assert v1.payment_methods.retrieve(pm).us_bank_account.last4 == new_last4
    # A closed account: the debit is returned at settlement, and the client must start over.
    account2, pm2 = _linked_payment_method(client, cus.id, "fcinst_StripeBank")
    _helper(client, f"{TH}/accounts/{account2}/deactivate", reason="account_closed")
    pi = _charge(client, cus.id, pm2)
    assert pi.status == "processing"
    _helper(client, "/v1/test_helpers/clock/advance", seconds=WEEK)
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
    ga = stripe_client(app, "sk_test_ga")
    cus = ga.v1.customers.create(params={"email": "ga@example.com"})
    session = ga.v1.financial_connections.sessions.create(
        params={
            "account_holder": {"type": "customer", "customer": cus.id},
            "permissions": ["payment_method", "balances"],
        }
    )
    assert isinstance(session, stripe.financial_connections.Session)
    for preview_only in ("relink_options", "relink_result", "status"):
        assert preview_only not in session, preview_only
    done = ga.raw_request(
        "post",
        f"/v1/test_helpers/financial_connections/sessions/{session.id}/complete",
        outcome="link",
    )
    account_id = ga.deserialize(done, api_mode="V1").accounts.data[0].id
    account = ga.v1.financial_connections.accounts.retrieve(account_id)
    assert isinstance(account, stripe.financial_connections.Account)
    assert account.status == "active"
    assert "authorization" not in account and "status_details" not in account
    listed = ga.v1.financial_connections.accounts.list(
        params={"account_holder": {"customer": cus.id}}
    )
    assert [a.id for a in listed.data] == [account_id]
    again = ga.v1.financial_connections.sessions.retrieve(session.id)
    assert [a.id for a in again.accounts.data] == [account_id]
    payments_walkthrough(ga)
    server = ServerThread(app)
    try:
        payments_walkthrough(stripe_client(server.url, "sk_test_ga_socket"))
    finally:
        server.stop()
    violations = app.state.fake.violations
    assert not violations, violations
    print(
        f"GA SDK {stripe.VERSION} ({stripe.api_version}): accounts and sessions read, no "
        "preview fields; ACH payments walked through in-process and over a socket"
    )
    app.state.fake.webhooks.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
