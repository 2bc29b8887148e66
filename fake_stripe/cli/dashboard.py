"""`fake-stripe dashboard`: print the URL of a running fake's dashboard and open it in a browser."""

from __future__ import annotations

import argparse
import os
from urllib.parse import urlencode

from ..core.keys import tenant_of
from .common import add_base_url, fail, key_problem, no_fake


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("dashboard", help="open a running fake's dashboard (/_fake/dashboard)")
    add_base_url(p)
    p.add_argument(
        "--api-key",
        default=os.environ.get("FAKE_STRIPE_API_KEY"),
        metavar="KEY",
        help="open on this key's tenant (default: $FAKE_STRIPE_API_KEY, else pick one on the page)",
    )
    p.add_argument("--no-open", action="store_true", help="only print the URL")
    p.set_defaults(func=run)


def dashboard_url(base_url: str, api_key: str | None) -> str:
    url = base_url.rstrip("/") + "/_fake/dashboard"
    if api_key:
        url += "?" + urlencode({"tenant": tenant_of(api_key)})
    return url


def run(args: argparse.Namespace) -> int:
    import httpx  # not imported by the server: only this command uses it

    if args.api_key and (problem := key_problem(args.api_key)):
        return fail("dashboard", problem)
    url = dashboard_url(args.base_url, args.api_key)
    try:
        # Any answer will do (401 when the server wants a control token): it is up.
        httpx.get(args.base_url.rstrip("/") + "/_fake/health", timeout=5)
    except httpx.HTTPError as exc:
        return no_fake("dashboard", args.base_url, exc)
    print(url, flush=True)
    if not args.no_open:
        import webbrowser

        webbrowser.open(url)
    return 0
