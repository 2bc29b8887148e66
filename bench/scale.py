"""Per-request cost as the store grows: empty, 100,000 stored objects of mixed kinds in the
tenant that is asked, and 100,000 objects spread over 1,000 tenants; in memory and on SQLite.

The "empty" store holds only what the requests need (13 customers, one FC session and its
account). The objects added are copies, with new ids, of real ones the API made first: 4
customers (with metadata), 4 `customer.created` events, 1 Financial Connections session and 1
account in every ten. They are written straight into the store: through the API, 100,000
writes would take minutes and measure the writes. Then, in-process (the ASGI app called in a
loop, no socket), the median of `--repeats` rounds of:

- `GET /v1/customers/{id}` and, last (it adds customers), `POST /v1/customers`;
- `GET /v1/customers?limit=10` (a list: walks the per-kind index from its newest end);
- `GET /v1/customers?email=...` for an email one stored customer in sixteen has (a filter
  that matches densely), and `GET /v1/financial_connections/accounts?session=...`;
- `GET /v1/customers?email=nobody@...` (a filter that matches nothing: walks every customer).

Usage: .venv/bin/python bench/scale.py [--objects 100000] [--tenants 1000] [--n 500] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import timed  # noqa: E402
from inprocess_bench import call  # noqa: E402

from fake_stripe import create_app  # noqa: E402
from fake_stripe.core.versions import PREVIEW_VERSION

KEY = "sk_test_bench"
PREVIEW = PREVIEW_VERSION


def rows_to_copy(app: Any, loop: asyncio.AbstractEventLoop) -> tuple[dict[str, Any], list[Any]]:
    """Make one of each kind through the API; return ids and the stored rows to copy."""

    def api(method: str, path: str, body: bytes = b"") -> dict[str, Any]:
        out = loop.run_until_complete(call(app, method, path, body))
        assert out[0]["status"] == 200, out[1]["body"]
        return dict(json.loads(out[1]["body"]))

    # A full page in every layout: the empty store lists and filters 10 objects, as the others.
    for _ in range(12):
        api("POST", "/v1/customers", b"email=tenth%40example.com&metadata[plan]=gold")
    cus = api("POST", "/v1/customers", b"email=jenny%40example.com&metadata[plan]=gold")
    sess = api(
        "POST",
        "/v1/financial_connections/sessions",
        f"account_holder[type]=customer&account_holder[customer]={cus['id']}"
        "&permissions[]=payment_method".encode(),
    )
    done = api(
        "POST",
        f"/v1/test_helpers/financial_connections/sessions/{sess['id']}/complete",
        b"outcome=link",
    )
    fca = done["accounts"]["data"][0]["id"]
    backend = app.fake.backend
    tenant = KEY.split("_", 2)[2]
    rows = {}
    for kind in (
        "customer",
        "event",
        "financial_connections.session",
        "financial_connections.account",
    ):
        for oid, data in backend.iter_desc(tenant, kind, None, None):
            rows[kind] = (oid, data)
            break
    ids = {"customer": cus["id"], "session": sess["id"], "account": fca}
    return ids, list(rows.items())


def fill(app: Any, rows: list[Any], tenants: list[str], objects: int) -> float:
    """Write `objects` copies, round-robin over `tenants`; returns the seconds it took."""
    backend = app.fake.backend
    plan = (
        ["customer"] * 4
        + ["event"] * 4
        + [
            "financial_connections.session",
            "financial_connections.account",
        ]
    )
    by_kind = dict(rows)
    t = time.perf_counter()
    for i in range(objects):
        kind = plan[i % len(plan)]
        oid, data = by_kind[kind]
        new_id = f"{oid.split('_')[0]}_bulk{i:09d}"
        body = data.replace(oid, new_id, 1)
        if kind == "customer" and i % 40 == 0:
            body = body.replace("jenny@example.com", "tenth@example.com")
        backend.put(tenants[i % len(tenants)], kind, new_id, body)
    return time.perf_counter() - t


def measure(app: Any, ids: dict[str, str], n: int, repeats: int) -> dict[str, float]:
    loop = asyncio.new_event_loop()

    def req(method: str, path: str, body: bytes = b"") -> Callable[[], Any]:
        def go() -> None:
            out = loop.run_until_complete(call(app, method, path, body))
            assert out[0]["status"] == 200, (path, out[1]["body"][:300])

        return go

    cid, sess = ids["customer"], ids["session"]
    cases = {
        "GET customer": (req("GET", f"/v1/customers/{cid}"), n),
        "list customers": (req("GET", "/v1/customers?limit=10"), n),
        "filter email (1 in 16)": (req("GET", "/v1/customers?email=tenth%40example.com"), n),
        "FC accounts of a session": (
            req("GET", f"/v1/financial_connections/accounts?session={sess}"),
            n,
        ),
        "filter email (no match)": (req("GET", "/v1/customers?email=nobody%40example.com"), n),
        # last: it adds customers
        "POST customer": (req("POST", "/v1/customers", b"email=a%40b.co&metadata[k]=v"), n),
    }
    # A round takes about a second at most: a filter that walks 25,000 objects takes a
    # fraction of a second a call.
    out = {
        name: timed(fn, count, repeats, warm=50, round_seconds=1.0)
        for name, (fn, count) in cases.items()
    }
    loop.close()
    return out


def run(backend: str, layout: str, objects: int, tenants: int, n: int, repeats: int) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "scale.db") if backend == "SQLite" else None
        app = create_app(seed=1, db=db)
        loop = asyncio.new_event_loop()
        ids, rows = rows_to_copy(app, loop)
        loop.close()
        me = KEY.split("_", 2)[2]
        fill_s = 0.0
        if layout == "one tenant":
            fill_s = fill(app, rows, [me], objects)
        elif layout == "many tenants":
            others = [f"other{i}" for i in range(tenants - 1)]
            fill_s = fill(app, rows, [me, *others], objects)
        result = measure(app, ids, n, repeats)
        app.fake.close()
        app.fake.backend.close()
        return result, fill_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--tenants", type=int, default=1_000)
    ap.add_argument("--n", type=int, default=500, help="calls per timed round")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="10,000 objects, 100 tenants, n=100")
    args = ap.parse_args()
    if args.quick:
        args.objects, args.tenants, args.n, args.repeats = 10_000, 100, 100, 3
    layouts = ("empty", "one tenant", "many tenants")
    print(
        f"`.venv/bin/python bench/scale.py {' '.join(sys.argv[1:])}`: µs per request in-process, "
        f"median of {args.repeats} rounds; {args.objects:,} objects in the tenant asked, or over "
        f"{args.tenants:,} tenants; ratio to the empty store in brackets."
    )
    print()
    for backend in ("memory", "SQLite"):
        results = {}
        for layout in layouts:
            res, fill_s = run(backend, layout, args.objects, args.tenants, args.n, args.repeats)
            results[layout] = res
            if fill_s:
                print(
                    f"({backend}, {layout}: stored {args.objects:,} objects in {fill_s:.1f} s)",
                    file=sys.stderr,
                )
        cols = f"{args.objects:,} in one tenant | over {args.tenants:,} tenants"
        print(f"| {backend} | empty | {cols} |")
        print("|---|---|---|---|")
        for case in results["empty"]:
            base = results["empty"][case]
            cells = [f"{base:,.0f}"] + [
                f"{results[lay][case]:,.0f} ({results[lay][case] / base:.2f}×)"
                for lay in layouts[1:]
            ]
            print(f"| {case} | " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    main()
