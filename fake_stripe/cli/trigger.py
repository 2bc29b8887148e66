"""`fake-stripe trigger EVENT`: make a running fake produce an event, like `stripe trigger`.

The fake makes a real state change that emits the event (a freshly linked account is
deactivated for `financial_connections.account.deactivated`, and so on), through
`POST /v1/test_helpers/trigger`; webhook endpoints then receive it as usual.
"""

from __future__ import annotations

import argparse
import os

from ..financial_connections.test_helpers import TRIGGERS
from .serve import DEFAULT_PORT


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("trigger", help="make the fake emit an event through a real change")
    p.add_argument(
        "event", choices=TRIGGERS, metavar="EVENT", help="one of: " + ", ".join(TRIGGERS)
    )
    p.add_argument(
        "--api-key",
        default=os.environ.get("FAKE_STRIPE_API_KEY") or os.environ.get("STRIPE_API_KEY"),
        help="the tenant's test key (default: $FAKE_STRIPE_API_KEY, then $STRIPE_API_KEY)",
    )
    p.add_argument("--base-url", default=f"http://127.0.0.1:{DEFAULT_PORT}")
    p.add_argument(
        "--api-version",
        default="2026-01-28.preview",
        help="Stripe-Version of the request (default: a preview version)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import httpx  # not imported by the server: only this command uses it

    if not args.api_key:
        print("fake-stripe trigger: give --api-key (or set FAKE_STRIPE_API_KEY)")
        return 2
    resp = httpx.post(
        f"{args.base_url.rstrip('/')}/v1/test_helpers/trigger",
        data={"event": args.event},
        headers={"Authorization": f"Bearer {args.api_key}", "Stripe-Version": args.api_version},
        timeout=30,
    )
    body = resp.json()
    if resp.status_code != 200:
        print(f"fake-stripe trigger: {body.get('error', {}).get('message', resp.text)}")
        return 1
    print(
        f"Triggered {args.event}: "
        + ", ".join(body["events"])
        + f" (customer {body['customer']}, account {body['account']})"
    )
    return 0
