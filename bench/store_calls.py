"""Store calls per request: how often one API request talks to the store, by method.

Wraps the store (`--db` as `fake-stripe serve` takes it; memory by default) in a counter and
sends, in-process, each request below once after a setup that gives it something to work on
(a customer; a linked account, its PaymentMethod and a PaymentIntent; one webhook endpoint at
a closed port, so every event is owed to it):

- `GET /v1/customers/{id}`
- `POST /v1/customers` (an email, a name and two metadata keys)
- `POST /v1/payment_intents/{id}/confirm` (us_bank_account, with a mandate)

Usage: .venv/bin/python bench/store_calls.py [--db FILE_OR_URL]
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fake_stripe import create_app  # noqa: E402
from fake_stripe.core.store import open_backend  # noqa: E402
from fake_stripe.inprocess import client  # noqa: E402
from tests.helpers import Counting  # noqa: E402

KEY = "sk_test_storecalls"
PREVIEW = {"Stripe-Version": "2026-09-30.preview"}
ACCEPT = {
    "mandate_data[customer_acceptance][type]": "online",
    "mandate_data[customer_acceptance][online][ip_address]": "127.0.0.1",
    "mandate_data[customer_acceptance][online][user_agent]": "bench",
}
TH = "/v1/test_helpers/financial_connections"


def ok(resp: Any) -> Any:
    if resp.status_code != 200:
        sys.exit(f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}")
    return resp.json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    store = Counting(open_backend(args.db))
    app = create_app(seed=7, backend=store)
    fake = app.fake
    api = client(app)
    api.headers["Authorization"] = f"Bearer {KEY}"
    api.headers.update(PREVIEW)
    ok(
        api.post(
            "/v1/webhook_endpoints",
            data={"url": "http://127.0.0.1:9/hook", "enabled_events[]": "*"},
        )
    )
    cus = ok(api.post("/v1/customers", data={"name": "Jenny Rosen"}))["id"]
    session = ok(
        api.post(
            "/v1/financial_connections/sessions",
            data={
                "account_holder[type]": "customer",
                "account_holder[customer]": cus,
                "permissions[0]": "payment_method",
            },
        )
    )
    done = ok(
        api.post(
            f"{TH}/sessions/{session['id']}/complete",
            data={"outcome": "link", "accounts[0][subcategory]": "checking"},
        )
    )
    account = done["accounts"]["data"][0]["id"]
    pm = ok(
        api.post(
            "/v1/payment_methods",
            data={
                "type": "us_bank_account",
                "us_bank_account[financial_connections_account]": account,
                "billing_details[name]": "Jenny Rosen",
            },
        )
    )["id"]
    pi = ok(
        api.post(
            "/v1/payment_intents",
            data={
                "amount": "1000",
                "currency": "usd",
                "customer": cus,
                "payment_method": pm,
                "payment_method_types[0]": "us_bank_account",
            },
        )
    )["id"]
    requests = [
        ("GET /v1/customers/{id}", "GET", f"/v1/customers/{cus}", None),
        (
            "POST /v1/customers",
            "POST",
            "/v1/customers",
            {
                "email": "jenny@example.com",
                "name": "Jenny Rosen",
                "metadata[order]": "6735",
                "metadata[plan]": "gold",
            },
        ),
        (
            "POST /v1/payment_intents/{id}/confirm",
            "POST",
            f"/v1/payment_intents/{pi}/confirm",
            ACCEPT,
        ),
    ]
    names = sorted(
        {
            "transaction",
            "transaction (nested)",
            "get",
            "put",
            "delete",
            "iter_desc",
            "iter_desc rows",
            "meta_get",
            "meta_set",
            "meta_swap",
            "increment",
            "lease",
        }
    )
    results: dict[str, collections.Counter[str]] = {}
    for label, method, path, data in requests:
        store.calls.clear()
        ok(api.request(method, path, data=data))
        results[label] = collections.Counter(store.calls)
    seen = [n for n in names if any(r[n] for r in results.values())]
    extra = sorted({n for r in results.values() for n in r} - set(names))
    cols = seen + extra
    print(f"store calls per request ({args.db or 'memory'}):\n")
    print("| request | " + " | ".join(cols) + " | total |")
    print("|---|" + "---|" * (len(cols) + 1))
    for label, counts in results.items():
        total = sum(v for k, v in counts.items() if k != "iter_desc rows")
        print(f"| `{label}` | " + " | ".join(str(counts[c]) for c in cols) + f" | {total} |")
    api.close()
    fake.close()


if __name__ == "__main__":
    main()
