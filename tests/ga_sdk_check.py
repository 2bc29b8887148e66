"""The GA SDK (`stripe==16.1.0`, `2026-10-28.endive`) reads accounts and sessions unchanged.

The GA and public-preview SDK builds cannot share a virtual environment, so `.ci/run` runs this
script in its own venv (`.venv-ga`). It exits non-zero on any mismatch.
"""

from __future__ import annotations

import sys

import stripe

from fake_stripe import create_app
from fake_stripe.sdk import stripe_client


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
    violations = app.state.fake.violations
    assert not violations, violations
    print(
        f"GA SDK {stripe.VERSION} ({stripe.api_version}): accounts and sessions read, no "
        "preview fields"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
