"""`fake-stripe listen`: forward one tenant's events to a local URL, like `stripe listen`.

It registers a webhook endpoint for the tenant's key on a running fake (the fake itself POSTs
the signed events to `--forward-to`), prints the signing secret, tails the delivery journal
with one line per attempt until it is stopped (Ctrl-C, SIGTERM or `--max-seconds`), and then
deletes its endpoint.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

from .common import add_api_key, add_base_url, fail, key_problem, no_fake

ENDPOINT_DESCRIPTION = "fake-stripe listen"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "listen",
        help="forward a tenant's webhook events to a local URL",
        description="Register a webhook endpoint on a running fake for --api-key's tenant, "
        "print one line per delivery attempt until stopped, then delete the endpoint.",
    )
    p.add_argument("--forward-to", required=True, help="URL the events are POSTed to")
    p.add_argument(
        "--events", default="*", help="comma-separated event types to forward (default: all)"
    )
    add_api_key(p)
    add_base_url(p)
    p.add_argument(
        "--api-version",
        default=None,
        help="render payloads for this Stripe-Version (a .preview version shows preview fields)",
    )
    p.add_argument(
        "--print-secret",
        action="store_true",
        help="print the endpoint's signing secret alone on the first line of stdout",
    )
    p.add_argument(
        "--max-seconds", type=float, default=None, help="stop by itself after this many seconds"
    )
    p.add_argument("--poll-interval", type=float, default=0.2, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def format_attempt(a: dict[str, Any]) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(a["time"]))
    status = "ERR" if a["status_code"] is None else str(a["status_code"])
    notes = [f"attempt {a['attempt']}", f"{a['latency_ms']:.0f} ms"]
    if a["duplicate"]:
        notes.append("duplicate")
    if a["error"]:
        notes.append(a["error"])
    if a["next_attempt_at"] is not None:
        notes.append("retry at " + time.strftime("%H:%M:%S", time.localtime(a["next_attempt_at"])))
    elif a["outcome"] == "failed":
        notes.append("gave up")
    return f"{when}  <-- [{status}] POST {a['url']} {a['type']} [{a['event']}] ({', '.join(notes)})"


def _error(resp: httpx.Response) -> str:
    try:
        message = str(resp.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = f"HTTP {resp.status_code}: {resp.text[:200]}"
    return " ".join(message.split())


def run(args: argparse.Namespace) -> int:
    import httpx  # not imported by the server: only these commands use it

    if problem := key_problem(args.api_key):
        return fail("listen", problem)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    client = httpx.Client(
        base_url=args.base_url.rstrip("/"),
        headers={"Authorization": f"Bearer {args.api_key}"},
        timeout=10,
        trust_env=False,
    )
    try:
        return _listen(client, args, stop)
    finally:
        client.close()
        signal.signal(signal.SIGTERM, previous)


def _listen(client: httpx.Client, args: argparse.Namespace, stop: threading.Event) -> int:
    import httpx  # not imported by the server: only these commands use it

    form: dict[str, str] = {"url": args.forward_to, "description": ENDPOINT_DESCRIPTION}
    for i, name in enumerate(e.strip() for e in args.events.split(",") if e.strip()):
        form[f"enabled_events[{i}]"] = name
    if args.api_version:
        form["api_version"] = args.api_version
    try:
        resp = client.post("/v1/webhook_endpoints", data=form)
    except httpx.HTTPError as exc:
        return no_fake("listen", args.base_url, exc)
    if resp.status_code != 200:
        return fail("listen", _error(resp))
    endpoint = resp.json()
    try:
        if args.print_secret:
            print(endpoint["secret"], flush=True)
        print(
            f"> Ready! Forwarding {args.events} to {args.forward_to} as {endpoint['id']}. "
            f"Your webhook signing secret is {endpoint['secret']} (^C to quit)",
            file=sys.stderr,
            flush=True,
        )
        deadline = None if args.max_seconds is None else time.monotonic() + args.max_seconds
        after = 0
        while True:
            done = stop.is_set() or (deadline is not None and time.monotonic() >= deadline)
            after, failure = _print_new(client, endpoint["id"], after)
            if failure:
                print(f"fake-stripe listen: {failure}", file=sys.stderr)
                return 1
            if done:
                return 0
            stop.wait(args.poll_interval)
    except KeyboardInterrupt:
        return 0
    finally:
        try:
            client.delete(f"/v1/webhook_endpoints/{endpoint['id']}")
        except httpx.HTTPError:
            pass


def _print_new(client: httpx.Client, endpoint_id: str, after: int) -> tuple[int, str | None]:
    """Print attempts newer than `after`; returns the new cursor and a fatal error, if any."""
    import httpx  # not imported by the server: only these commands use it

    while True:
        try:
            resp = client.get(
                "/_fake/webhooks/deliveries",
                params={"endpoint": endpoint_id, "after": after, "limit": 1000},
            )
        except httpx.HTTPError:
            return after, None  # the server may be restarting; keep polling
        if resp.status_code != 200:
            return after, _error(resp)
        page = resp.json()
        for attempt in page["data"]:
            print(format_attempt(attempt), flush=True)
            after = attempt["seq"]
        if not page["has_more"]:
            return after, None
