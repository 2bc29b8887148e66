"""Per-request cost with no socket, in microseconds, each the median of --repeats timed rounds:

- `asgi GET` / `asgi POST`: the ASGI app called in a loop (`GET /v1/customers/{id}`, and
  `POST /v1/customers` with an email, a name and two metadata keys): the fake's own work;
- `generic GET` / `generic POST` (only when named in --only): the same for a generic resource
  (`GET /v1/products/{id}`, `POST /v1/products` with a name, a description and two metadata
  keys);
- `httpx GET`: `fake_stripe.inprocess.client(app).get(...)`, the plain httpx client in-process;
- `sdk canned`: the official SDK's `customers.retrieve` on an HTTP client that returns a fixed
  answer (the SDK's own floor), and `sdk in-process`: the same call through
  `fake_stripe.sdk.stripe_client(app, key)`; their ratio is what the in-process path adds.

Usage: .venv/bin/python bench/inprocess_bench.py [N] [STORED] [--repeats R] [--only NAMES]
STORED customers are created first, to show that the cost does not grow with the store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from common import timed

from fake_stripe import create_app
from fake_stripe.core.versions import PREVIEW_VERSION

KEY = "sk_test_bench"
POST_BODY = b"email=jenny%40example.com&name=Jenny+Rosen&metadata[order]=6735&metadata[plan]=gold"
GENERIC_BODY = b"name=T-shirt&description=Cotton&metadata[order]=6735&metadata[plan]=gold"


async def call(app: Any, method: str, path: str, body: bytes = b"") -> list[dict[str, Any]]:
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "scheme": "http",
        "root_path": "",
        "server": ("127.0.0.1", 1),
        "client": ("127.0.0.1", 2),
        "headers": [
            (b"authorization", b"Bearer " + KEY.encode()),
            (b"content-type", b"application/x-www-form-urlencoded"),
        ],
    }
    out: list[dict[str, Any]] = []
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        out.append(message)

    await app(scope, receive, send)
    return out


def canned_sdk(body: bytes) -> Any:
    """The SDK on an HTTP client that answers `body` at once. Its headers are a
    case-insensitive mapping, as the SDK's own clients return them (`requests` gives a
    `CaseInsensitiveDict`): the SDK looks up `Request-Id` to send its telemetry with the next
    request, work a plain dict of lower-case names would hide from the floor."""
    import stripe
    from requests.structures import CaseInsensitiveDict

    canned_headers = CaseInsensitiveDict(
        {"request-id": "req_canned", "stripe-version": PREVIEW_VERSION}
    )

    class Canned(stripe.HTTPClient):
        name = "canned"

        def request(self, method: str, url: str, headers: Any, post_data: Any = None, **kw: Any):  # type: ignore[no-untyped-def]
            return body, 200, canned_headers

    return stripe.StripeClient(KEY, http_client=Canned(), base_addresses={"api": "http://x"})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("n", type=int, nargs="?", default=5000, help="calls per timed round")
    ap.add_argument("stored", type=int, nargs="?", default=0, help="customers stored first")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--only",
        default="asgi-get,asgi-post,httpx-get,sdk-canned,sdk-inprocess",
        help="comma-separated subset",
    )
    args = ap.parse_args()
    only = set(args.only.split(","))
    app = create_app(seed=1)
    loop = asyncio.new_event_loop()
    for _ in range(args.stored):
        loop.run_until_complete(call(app, "POST", "/v1/customers", b"email=a@b.co"))
    first = loop.run_until_complete(call(app, "POST", "/v1/customers", POST_BODY))
    body = first[1]["body"]
    cid = json.loads(body)["id"]
    results: dict[str, float] = {}
    product = ""
    if "generic-get" in only or "generic-post" in only:
        # A generic resource (docs/generic.md): its first request reads the rest of the API.
        made = loop.run_until_complete(call(app, "POST", "/v1/products", b"name=T-shirt"))
        product = json.loads(made[1]["body"])["id"]
    asgi = {
        "asgi-get": ("asgi GET", "GET", f"/v1/customers/{cid}", b""),
        "asgi-post": ("asgi POST", "POST", "/v1/customers", POST_BODY),
        "generic-get": ("generic GET", "GET", f"/v1/products/{product}", b""),
        "generic-post": ("generic POST", "POST", "/v1/products", GENERIC_BODY),
    }
    for name, (label, method, path, sent) in asgi.items():
        if name in only:

            def asgi_call(m: str = method, p: str = path, b: bytes = sent) -> Any:
                return loop.run_until_complete(call(app, m, p, b))

            results[label] = timed(asgi_call, args.n, args.repeats)
    loop.close()
    if "httpx-get" in only:
        from fake_stripe.inprocess import client

        with client(app, headers={"Authorization": f"Bearer {KEY}"}) as http:
            results["httpx GET"] = timed(
                lambda: http.get(f"/v1/customers/{cid}"), args.n, args.repeats
            )
    if "sdk-canned" in only:
        canned = canned_sdk(body)
        results["sdk canned"] = timed(
            lambda: canned.v1.customers.retrieve(cid), args.n, args.repeats
        )
    if "sdk-inprocess" in only:
        from fake_stripe.sdk import stripe_client

        sdk = stripe_client(app, KEY)
        results["sdk in-process"] = timed(
            lambda: sdk.v1.customers.retrieve(cid), args.n, args.repeats
        )
    for name, us in results.items():
        print(f"{name:16s} {us:8.1f} us/call  ({1e6 / us:,.0f}/s)  [{args.stored} stored]")
    if "sdk canned" in results and "sdk in-process" in results:
        ratio = results["sdk in-process"] / results["sdk canned"]
        print(f"sdk in-process / sdk canned = {ratio:.2f}x")
    app.fake.close()


if __name__ == "__main__":
    main()
