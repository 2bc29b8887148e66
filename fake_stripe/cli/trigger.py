"""`fake-stripe trigger EVENT`: make a running fake produce an event, like `stripe trigger`.

The fake makes a real state change that emits the event (a freshly linked account is
deactivated for `financial_connections.account.deactivated`, and so on), through
`POST /v1/test_helpers/trigger`; webhook endpoints then receive it as usual.
"""

from __future__ import annotations

import argparse
import difflib

from ..core.versions import PREVIEW_VERSION
from ..financial_connections.triggers import TRIGGERS
from .common import add_api_key, add_base_url, fail, key_problem, no_fake


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "trigger",
        help="make the fake emit an event through a real change",
        description="Make a running fake emit EVENT through the state change that causes it "
        "(as `stripe trigger` does against Stripe).\n\nEVENT is one of:\n  "
        + "\n  ".join(TRIGGERS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("event", metavar="EVENT", help="the event type (see above)")
    add_api_key(p)
    add_base_url(p)
    p.add_argument(
        "--api-version",
        default=PREVIEW_VERSION,
        help="Stripe-Version of the request (default: a preview version)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import httpx  # not imported by the server: only this command uses it

    if args.event not in TRIGGERS:
        close = difflib.get_close_matches(args.event, TRIGGERS, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        return fail(
            "trigger",
            f"no trigger for {args.event!r}: {hint}`fake-stripe trigger --help` lists the "
            f"{len(TRIGGERS)} events it can cause",
        )
    if problem := key_problem(args.api_key):
        return fail("trigger", problem)
    try:
        resp = httpx.post(
            f"{args.base_url.rstrip('/')}/v1/test_helpers/trigger",
            data={"event": args.event},
            headers={"Authorization": f"Bearer {args.api_key}", "Stripe-Version": args.api_version},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        return no_fake("trigger", args.base_url, exc)
    try:
        body = resp.json()
    except ValueError:
        return fail("trigger", f"{args.base_url} is not a fake-stripe (HTTP {resp.status_code})")
    if resp.status_code != 200:
        message = body.get("error", {}).get("message") if isinstance(body, dict) else None
        return fail("trigger", " ".join(str(message or resp.text).split()))
    made = f"customer {body['customer']}"
    if body.get("account"):
        made += f", account {body['account']}"
    print(f"Triggered {args.event}: " + ", ".join(body["events"]) + f" ({made})")
    return 0
