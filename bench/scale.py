"""Per-request cost as the store grows: empty, 100,000 stored objects of mixed kinds in the
tenant that is asked, and 100,000 objects spread over 1,000 tenants; in memory, on SQLite and on
PostgreSQL (the server `FAKE_STRIPE_TEST_PG` names, or a throwaway cluster as the tests start).

The "empty" store holds only what the requests need: 13 customers, two customers' linked
accounts, PaymentMethods, SetupIntents, mandates, PaymentIntents and charges, a session of two
accounts and one account's transactions, and their events. The objects added are copies, with
new ids, of real ones the API made first (of every kind above, in the proportions of `PLAN`),
indexed as the API indexes them, written straight into the store: through the API, 100,000
writes would take minutes and measure the writes. Then, in-process (the ASGI app called in a
loop, no socket), the fastest of `--repeats` rounds (the three layouts' rounds in turn) of
every lookup (a GET of one object of each kind), every list filter the modelled API has, and
last (it adds customers) `POST /v1/customers`.
A customer copy in forty has the email the dense filter asks for. Each request is stepped by hand
on the bench's thread (as `fake_stripe.inprocess` does), and each figure is that thread's CPU
time per request: what other threads and processes do counts little (wall time for PostgreSQL,
whose server works in a process of its own).

With `--instructions`, the same requests counted in instructions rather than timed: the script
runs itself under valgrind's callgrind, which counts only inside `sys.call_tracing` (each case
on each layout is one such call of `--n` requests, after a warm-up) and writes a profile as each
ends; the figure is that profile's total over the requests. A machine whose CPU time per request
moves by a fifth from one process to the next (the layout of the heap, the other tenants of a
virtual machine's host) moves no instruction count. On PostgreSQL a request's work is done in
two processes, this one and the server's backend, and both are counted (`counted_pg`): the
layouts are made first with nothing counted, then the server runs under callgrind too, always
on a throwaway cluster of the script's own (it restarts it), never `FAKE_STRIPE_TEST_PG`'s.

Usage: .venv/bin/python bench/scale.py [--objects 100000] [--tenants 1000] [--n 500] [--quick]
       [--stores memory,SQLite,PostgreSQL] [--only CASE,...] [--instructions [--n 20]
       [--pg-set NAME=VALUE] [--keep-profiles DIR]]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inprocess_bench import call  # noqa: E402

from fake_stripe import create_app  # noqa: E402
from fake_stripe.core.kinds import model_for  # noqa: E402
from fake_stripe.inprocess import ASGIDriver  # noqa: E402

KEY = "sk_test_bench"
TENANT = KEY.split("_", 2)[2]
FC = "/v1/financial_connections"
# What 20 stored objects are made of, in the copies.
PLAN = (
    ["customer"] * 4
    + ["event"] * 6
    + ["financial_connections.session", "financial_connections.account"]
    + ["financial_connections.transaction"] * 2
    + ["payment_method", "setup_intent", "mandate", "payment_intent", "charge", "customer"]
)


def world(app: Any, loop: asyncio.AbstractEventLoop) -> tuple[dict[str, str], dict[str, Any]]:
    """Make what the requests ask for through the API; return ids and, per kind, a stored row
    to copy (events: every stored one, so the copies keep the mix of types)."""

    def api(method: str, path: str, body: str = "") -> dict[str, Any]:
        out = loop.run_until_complete(call(app, method, path, body.encode()))
        assert out[0]["status"] == 200, (path, out[1]["body"][:300])
        return dict(json.loads(out[1]["body"]))

    # A full page in every layout: the empty store lists and filters 10 objects, as the others.
    for _ in range(12):
        api("POST", "/v1/customers", "email=tenth%40example.com&metadata[plan]=gold")
    ids: dict[str, str] = {}
    for who in ("a", "b"):
        cus = api("POST", "/v1/customers", "email=jenny%40example.com&metadata[plan]=gold")["id"]
        holder = f"account_holder[type]=customer&account_holder[customer]={cus}"
        sess = api("POST", f"{FC}/sessions", holder + "&permissions[]=payment_method")
        path = f"/v1/test_helpers/financial_connections/sessions/{sess['id']}/complete"
        fca = api("POST", path, "outcome=link")["accounts"]["data"][0]["id"]
        pm = api(
            "POST",
            "/v1/payment_methods",
            f"type=us_bank_account&us_bank_account[financial_connections_account]={fca}"
            "&billing_details[name]=Jenny",
        )["id"]
        accept = (
            "mandate_data[customer_acceptance][type]=online&mandate_data[customer_acceptance]"
            "[online][ip_address]=127.0.0.1&mandate_data[customer_acceptance][online]"
            "[user_agent]=bench"
        )
        api(
            "POST",
            "/v1/setup_intents",
            f"customer={cus}&payment_method={pm}&payment_method_types[]=us_bank_account"
            f"&confirm=true&{accept}",
        )
        for _ in range(1 if who == "a" else 6):  # b: a page of payment_intent.* events
            pi = api(
                "POST",
                "/v1/payment_intents",
                f"amount=1000&currency=usd&customer={cus}&payment_method={pm}"
                "&payment_method_types[]=us_bank_account&confirm=true&off_session=true",
            )["id"]
        ids.update({f"customer_{who}": cus, f"fca_{who}": fca, f"pm_{who}": pm, f"pi_{who}": pi})
    for _ in range(9):  # a page of PaymentMethods of one type
        api(
            "POST",
            "/v1/payment_methods",
            f"type=us_bank_account&us_bank_account[financial_connections_account]={fca}"
            "&billing_details[name]=Jenny",
        )
    holder = f"account_holder[type]=customer&account_holder[customer]={ids['customer_a']}"
    sess = api("POST", f"{FC}/sessions", holder + "&permissions[]=transactions")
    path = f"/v1/test_helpers/financial_connections/sessions/{sess['id']}/complete"
    two = api(
        "POST",
        path,
        "outcome=link&accounts[0][subcategory]=checking&accounts[1][subcategory]=savings",
    )["accounts"]["data"]
    api("POST", f"{FC}/accounts/{two[0]['id']}/refresh", "features[]=transactions")
    # The clock is frozen (see `run`): a day on, what the requests above scheduled (the refresh,
    # the debits) is done, and nothing falls due while the cases run.
    api("POST", "/v1/test_helpers/clock/advance", "seconds=86400")
    ids.update({"session": sess["id"], "fca_txn": two[0]["id"]})
    backend = app.fake.backend
    rows: dict[str, Any] = {}
    for kind in set(PLAN):
        found = list(backend.iter_desc(TENANT, kind, None, None))
        assert found, kind
        rows[kind] = found if kind == "event" else found[:1]
        if kind == "charge":
            ids["charge"] = found[0][0]
    ids["event"] = rows["event"][0][0]
    return ids, rows


def fill(
    app: Any, ids: dict[str, str], rows: dict[str, Any], tenants: list[str], objects: int
) -> float:
    """Write `objects` copies, round-robin over `tenants`, each with the index values the API
    gives it; returns the seconds it took. A copy names none of the objects the filters ask
    for (only the dense email filter and the event types match copies), so each filter answers
    the same page at every size."""
    backend = app.fake.backend
    mine: dict[str, list[tuple[str, str, str, dict[str, str] | None]]] = {t: [] for t in tenants}
    for i in range(objects):
        kind = PLAN[i % len(PLAN)]
        choices = rows[kind]
        oid, data = choices[(i // len(PLAN)) % len(choices)]
        new_id = f"{oid.split('_')[0]}_bulk{i:09d}"
        body = data.replace(oid, new_id)
        for named in ids.values():
            body = body.replace(named, "x_elsewhere")
        if kind == "customer" and i % 40 == 0:
            body = body.replace("jenny@example.com", "tenth@example.com")
        index = model_for(kind).model_validate_json(body).index_values()
        mine[tenants[i % len(tenants)]].append((kind, new_id, body, index))
    t = time.perf_counter()
    for tenant, objs in mine.items():
        for at in range(0, len(objs), 2000):
            with backend.transaction(tenant, True):
                for kind, new_id, body, index in objs[at : at + 2000]:
                    backend.put(tenant, kind, new_id, body, index)
    return time.perf_counter() - t


def cases(app: Any, ids: dict[str, str]) -> dict[str, Any]:
    """Every request measured, as a call on `app`; the POST last (it adds customers). A call is
    stepped by hand on this thread, as the in-process client does: all its work runs here."""
    driver = ASGIDriver(app)
    headers = [
        (b"authorization", b"Bearer " + KEY.encode()),
        (b"content-type", b"application/x-www-form-urlencoded"),
    ]

    def req(method: str, path: str, body: bytes = b"") -> Callable[[], None]:
        url = "http://127.0.0.1" + path

        def go() -> None:
            status, _headers, out = driver.request(method, url, headers, body)
            assert status == 200, (path, out[:300])

        return go

    a, b = ids["customer_a"], ids["customer_b"]
    gets = {
        "GET customer": f"/v1/customers/{a}",
        "GET FC account": f"{FC}/accounts/{ids['fca_a']}",
        "GET payment method": f"/v1/payment_methods/{ids['pm_a']}",
        "GET payment intent": f"/v1/payment_intents/{ids['pi_a']}",
        "GET charge": f"/v1/charges/{ids['charge']}",
        "GET event": f"/v1/events/{ids['event']}",
        "list customers": "/v1/customers?limit=10",
        "customers?email= (1 in 16)": "/v1/customers?email=tenth%40example.com",
        "customers?email= (no match)": "/v1/customers?email=nobody%40example.com",
        "FC accounts?session=": f"{FC}/accounts?session={ids['session']}",
        "FC accounts?account_holder[customer]=": f"{FC}/accounts?account_holder[customer]={b}",
        "FC transactions?account=": f"{FC}/transactions?account={ids['fca_txn']}",
        "payment_methods?customer=": f"/v1/payment_methods?customer={b}",
        "payment_methods?type=": "/v1/payment_methods?type=us_bank_account",
        "payment_intents?customer=": f"/v1/payment_intents?customer={b}",
        "charges?customer=": f"/v1/charges?customer={b}",
        "charges?payment_intent=": f"/v1/charges?payment_intent={ids['pi_b']}",
        "events?type=": "/v1/events?type=customer.created",
        "events?type=group.*": "/v1/events?type=payment_intent.*",
        "events?types[]= (one)": "/v1/events?types[]=customer.created",
        "events?types[]= (three)": "/v1/events?types[]=customer.created&types[]=charge.pending"
        "&types[]=payment_intent.*",
    }
    found: dict[str, Any] = {name: req("GET", path) for name, path in gets.items()}
    found["POST customer"] = req("POST", "/v1/customers", b"email=a%40b.co&metadata[k]=v")
    return found


@contextmanager
def database(store: str, tmp: str, layout: str) -> Iterator[str | None]:
    if store == "memory":
        yield None
    elif store == "SQLite":
        yield str(Path(tmp) / f"scale-{layout.replace(' ', '-')}.db")
    else:
        from tests.stores import postgres_schema

        yield from postgres_schema()


LAYOUTS = ("empty", "one tenant", "many tenants")
FROZEN_AT = 1_780_000_000  # every layout's tenant clock, so no layout has work fall due alone
# A SQL store's webhook leases are looked at every third of this by a thread of each app: a day,
# so that no such look runs among a case's requests, timed or counted.
LEASE = 86_400.0


def build(
    store: str, layout: str, db: str | None, objects: int, tenants: int
) -> tuple[Any, dict[str, str]]:
    """A layout's app, its world made through the API and its copies written; and the ids."""
    app = create_app(seed=1, db=db, frozen_at=FROZEN_AT, webhook_lease_seconds=LEASE)
    loop = asyncio.new_event_loop()
    try:
        ids, rows = world(app, loop)
    finally:
        loop.close()
    lay = {"one tenant": [TENANT], "many tenants": [TENANT]}.get(layout)
    if lay is not None:
        if layout == "many tenants":
            lay += [f"other{i}" for i in range(tenants - 1)]
        took = fill(app, ids, rows, lay, objects)
        print(f"({store}, {layout}: stored {objects:,} objects in {took:.1f} s)", file=sys.stderr)
    if store == "PostgreSQL" and db is not None:
        # The statistics and visibility a server's autovacuum gets to in time, now: without,
        # each layout's plans and page visits would follow wherever autovacuum happened to be.
        import psycopg

        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE objects, lookup, meta, seqs, leases")
    return app, ids


def run(
    store: str,
    objects: int,
    tenants: int,
    n: int,
    repeats: int,
    counted: bool = False,
    only: str = "",
    saved: dict[str, Any] | None = None,
) -> dict[str, list[float]]:
    """Each case on the three layouts, their rounds in turn (empty, one tenant, many tenants,
    empty, ...), so that a burst of other work on the machine slows all three alike; the
    fastest round of each. `counted` (under callgrind, `--instructions`): each case on each
    layout once, `n` requests inside one `sys.call_tracing` after a warm-up, and no figures
    (the profiles written as each ends hold them). `only`: the cases whose names hold one of
    these comma-separated words (all when empty). `saved` (PostgreSQL under `--instructions`):
    the layouts are those stores, made by another process (`counted_pg`), and the server's
    backend of each has its profile zeroed before a case's requests and written after them."""
    clock = time.perf_counter if store == "PostgreSQL" else time.thread_time
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        calls = []
        marks: list[tuple[Callable[[], None], Callable[[], None]] | None] = []
        for layout in LAYOUTS:
            if saved is None:
                db = stack.enter_context(database(store, tmp, layout))
                app, ids = build(store, layout, db, objects, tenants)
            else:
                app = create_app(
                    seed=2, db=saved[layout]["db"], frozen_at=FROZEN_AT, webhook_lease_seconds=LEASE
                )
                ids = saved[layout]["ids"]
            stack.callback(app.fake.close)
            calls.append(cases(app, ids))
            marks.append(None if saved is None else server_marks(app.fake.backend))
        # What is stored is long-lived: out of the collector, as `serve` does with its start-up
        # objects, so a collection walking every stored object does not land in one case.
        gc.collect()
        gc.freeze()
        try:
            out = {}
            words = [w for w in only.split(",") if w]
            # PostgreSQL: psycopg prepares a statement at its 5th run on a connection, and the
            # server plans a prepared one afresh for its first 5 runs before it may keep a
            # generic plan; warmed past both, the counted requests run as a long-lived
            # server's do.
            warm = 5 if saved is None else 15
            for name in calls[0]:
                if words and not any(w in name for w in words):
                    continue
                fns = [c[name] for c in calls]
                if counted:
                    for fn, mark in zip(fns, marks, strict=True):
                        for _ in range(warm):
                            fn()
                        if mark is not None:
                            mark[0]()
                        sys.call_tracing(_repeat, (fn, n))
                        if mark is not None:
                            mark[1]()
                    out[name] = [0.0] * len(fns)
                    continue
                counts = []
                for fn in fns:  # calls per round: about a second's worth, for each layout
                    t = clock()
                    fn()
                    counts.append(max(3, min(n, int(1.0 / max(clock() - t, 1e-6)))))
                    for _ in range(min(counts[-1], 50)):
                        fn()
                best = [float("inf")] * len(fns)
                for _ in range(repeats):
                    for i, fn in enumerate(fns):
                        t = clock()
                        for _ in range(counts[i]):
                            fn()
                        best[i] = min(best[i], (clock() - t) / counts[i] * 1e6)
                out[name] = best
            return out
        finally:
            gc.unfreeze()


# The PostgreSQL server under callgrind (`counted_pg`) zeroes a backend's profile as it enters
# ZERO and writes it as it leaves DUMP: two functions of the server's that SQL can call and no
# request of the fake's does.
ZERO, DUMP = "pg_notification_queue_usage", "pg_sleep"


def server_marks(backend: Any) -> tuple[Callable[[], None], Callable[[], None]]:
    """Zero and dump the profile of the server's backend that this thread's connection talks
    to (the connection each request stepped on this thread uses); the first dump of each
    backend, with no request between, is what the two marks cost themselves."""

    def zero() -> None:
        backend._one(f"SELECT {ZERO}()", ())

    def dump() -> None:
        backend._one(f"SELECT {DUMP}(0)", ())

    print(json.dumps({"backend": backend._one("SELECT pg_backend_pid()", ())[0]}), flush=True)
    zero()
    dump()
    return zero, dump


def _repeat(fn: Callable[[], None], n: int) -> None:
    for _ in range(n):
        fn()


def counted(args: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    """`--instructions`: this script again under callgrind (`run(counted=True)`), each store
    in a process of its own; instructions per request for each case and layout."""
    out: dict[str, dict[str, list[float]]] = {}
    for store in args.stores.split(","):
        with tempfile.TemporaryDirectory(prefix="scale-cg-") as tmp:
            child = ["--counted", "--stores", store, "--n", str(args.n), "--only", args.only]
            child += ["--objects", str(args.objects), "--tenants", str(args.tenants)]
            if store != "PostgreSQL":
                names, _said = under_callgrind(child, tmp)
                out[store] = per_request(names, sorted_dumps(Path(tmp), "cg"), args.n, store)
                keep(args, store, names, Path(tmp).glob("cg.*"))
            else:
                both, server = counted_pg(args, child, tmp)
                out["PostgreSQL (fake-stripe's process and the server's backend)"] = both
                out["PostgreSQL (the server's backend alone)"] = server
        print(f"({store}: counted)", file=sys.stderr, flush=True)
    return out


def keep(args: argparse.Namespace, store: str, names: list[str], profiles: Any) -> None:
    """`--keep-profiles DIR`: a store's profiles copied to DIR/store, to read with
    `callgrind_annotate` (`cg.K`: this process's K-th, one per case and layout in turn, in the
    order of `cases.json`; `server.PID.K`: a backend's, the first of each the marks' own)."""
    if args.keep_profiles:
        into = Path(args.keep_profiles) / store
        into.mkdir(parents=True, exist_ok=True)
        for f in profiles:
            shutil.copy(f, into / f.name)
        (into / "cases.json").write_text(json.dumps({"cases": names, "layouts": LAYOUTS}))


def under_callgrind(child: list[str], tmp: str) -> tuple[list[str], list[str]]:
    """This script with `child`'s arguments under callgrind, its profiles in `tmp`: the cases'
    names in the order they were counted, and every line it printed."""
    cmd = [
        *("valgrind", "--tool=callgrind", "--collect-atstart=no"),
        *("--toggle-collect=sys_call_tracing", "--dump-after=sys_call_tracing"),
        f"--callgrind-out-file={tmp}/cg",
        *(sys.executable, __file__, *child),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{child} under callgrind failed:\n{done.stderr[-3000:]}")
    said = done.stdout.strip().splitlines()
    return json.loads(said[-1]), said


def sorted_dumps(folder: Path, prefix: str) -> list[int]:
    """The totals of the profiles `prefix.1`, `prefix.2`, ... in the order they were written."""
    dumps = sorted(folder.glob(f"{prefix}.*"), key=lambda f: int(f.name.rsplit(".", 1)[1]))
    totals = []
    for f in dumps:
        m = re.search(r"^totals: (\d+)", f.read_text(), re.M)
        totals.append(int(m.group(1)) if m else 0)
    return totals


def per_request(names: list[str], totals: list[int], n: int, what: str) -> dict[str, list[float]]:
    """Instructions per request, case by case, from one profile per case and layout in turn."""
    if len(totals) != len(names) * len(LAYOUTS):
        raise SystemExit(
            f"{what}: {len(totals)} profiles for {len(names)} cases on {len(LAYOUTS)} layouts"
        )
    it = iter(totals)
    return {name: [next(it) / n for _ in LAYOUTS] for name in names}


def counted_pg(
    args: argparse.Namespace, child: list[str], tmp: str
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """PostgreSQL under `--instructions`, where a request's work is done in two processes:
    this script's and the server's backend. The three layouts are made on a throwaway cluster
    by this process, not counted (under callgrind, 100,000 objects would take hours to write);
    then the cluster starts again on the same data with its server under callgrind, whose
    backends count from their start (`ZERO` and `DUMP` mark out each case's requests, see
    `server_marks`), and this script runs again under callgrind on the stored layouts. The
    server's figure is each case's profile less the marks' own (the backend's first profile)."""
    from tests.stores import SCRIPT, fresh_schema

    folder = Path(tmp) / "pg"
    os.chmod(tmp, 0o755)  # as root, the cluster's user (postgres) must reach `folder`
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    url = subprocess.run(
        [str(SCRIPT), "start", str(folder), port], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        saved: dict[str, Any] = {}
        with contextlib.ExitStack() as schemas:
            for layout in LAYOUTS:
                db = schemas.enter_context(fresh_schema(url, "scale_"))
                app, ids = build("PostgreSQL", layout, db, args.objects, args.tenants)
                app.fake.close()
                saved[layout] = {"db": db, "ids": ids}
            (Path(tmp) / "saved.json").write_text(json.dumps(saved))
            if args.pg_set:  # settings of every connection from now on, e.g. enable_seqscan=off
                import psycopg
                import psycopg.sql

                with psycopg.connect(url, autocommit=True) as conn:
                    for setting in args.pg_set:
                        name, _, value = setting.partition("=")
                        if not re.fullmatch(r"[a-z_.]+", name) or not value:
                            raise SystemExit(f"--pg-set {setting!r}: expected NAME=VALUE")
                        conn.execute(
                            psycopg.sql.SQL("ALTER DATABASE postgres SET {} = {}").format(
                                psycopg.sql.Identifier(name), psycopg.sql.Literal(value)
                            )
                        )
            wrapper = folder / "postgres-under-callgrind"
            postgres = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))[-1]
            wrapper.write_text(
                "#!/bin/sh\nexec valgrind --tool=callgrind "
                f"--zero-before={ZERO} --dump-after={DUMP} "
                f'--callgrind-out-file={folder}/server.%p {postgres} "$@"\n'
            )
            wrapper.chmod(0o755)
            subprocess.run(
                [str(SCRIPT), "restart", str(folder), port],
                capture_output=True,
                check=True,
                env={**os.environ, "THROWAWAY_PG_EXEC": str(wrapper)},
            )
            names, said = under_callgrind([*child, "--saved", f"{tmp}/saved.json"], tmp)
            mine = per_request(names, sorted_dumps(Path(tmp), "cg"), args.n, "this process")
            pids = [json.loads(line)["backend"] for line in said if line.startswith('{"backend"')]
            server: dict[str, list[float]] = {name: [] for name in names}
            for pid in pids:  # one backend per layout, in the layouts' order
                marks, *each = sorted_dumps(folder, f"server.{pid}")
                if len(each) != len(names):
                    raise SystemExit(f"backend {pid}: {len(each)} profiles, {len(names)} cases")
                for name, total in zip(names, each, strict=True):
                    server[name].append((total - marks) / args.n)
            both = {
                name: [a + b for a, b in zip(mine[name], server[name], strict=True)]
                for name in names
            }
            keep(args, "PostgreSQL", names, [*Path(tmp).glob("cg.*"), *folder.glob("server.*")])
            return both, server
    finally:
        subprocess.run([str(SCRIPT), "stop", str(folder)], capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--tenants", type=int, default=1_000)
    ap.add_argument(
        "--n", type=int, default=None, help="calls per timed round (500; --instructions: 20)"
    )
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--stores", default="memory,SQLite,PostgreSQL", help="memory,SQLite,PostgreSQL")
    ap.add_argument("--quick", action="store_true", help="10,000 objects, 100 tenants, n=100")
    ap.add_argument(
        "--instructions",
        action="store_true",
        help="instructions per request under callgrind (default --n 20)",
    )
    ap.add_argument(
        "--pg-set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="--instructions: a PostgreSQL setting for the counted requests (repeatable)",
    )
    ap.add_argument(
        "--only", default="", help="the cases whose names hold one of these words (a,b,...)"
    )
    ap.add_argument(
        "--keep-profiles", default="", metavar="DIR", help="--instructions: copy the profiles here"
    )
    ap.add_argument("--counted", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--saved", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.objects, args.tenants, args.repeats = 10_000, 100, 3
    if args.n is None:
        args.n = 20 if args.instructions else 100 if args.quick else 500
    given = " ".join(sys.argv[1:])
    if args.counted:  # under callgrind: the cases' names, in the order they were counted
        saved = None if args.saved is None else json.loads(Path(args.saved).read_text())
        found = run(
            args.stores,
            args.objects,
            args.tenants,
            args.n,
            1,
            counted=True,
            only=args.only,
            saved=saved,
        )
        print(json.dumps(list(found)))
        return
    if args.instructions:
        print(
            f"`PYTHONHASHSEED=0 .venv/bin/python bench/scale.py {given}`: instructions per "
            f"request in-process (callgrind, {args.n} requests after 5 of warm-up, 15 on "
            f"PostgreSQL, PYTHONHASHSEED=0); {args.objects:,} objects in the tenant asked, or over "
            f"{args.tenants:,} tenants; ratio to the empty store in brackets."
        )
        print()
        for store, results in counted(args).items():
            table(store, args, results)
        return
    print(
        f"`.venv/bin/python bench/scale.py {given}`: µs per request in-process "
        "(CPU time of the thread; PostgreSQL: wall time), "
        f"fastest of {args.repeats} rounds; {args.objects:,} objects in the tenant asked, or over "
        f"{args.tenants:,} tenants; ratio to the empty store in brackets."
    )
    print()
    for store in args.stores.split(","):
        found = run(store, args.objects, args.tenants, args.n, args.repeats, only=args.only)
        table(store, args, found)


def table(store: str, args: argparse.Namespace, results: dict[str, list[float]]) -> None:
    cols = f"{args.objects:,} in one tenant | over {args.tenants:,} tenants"
    print(f"| {store} | empty | {cols} |")
    print("|---|---|---|---|")
    for case, (base, *others) in results.items():
        cells = [f"{base:,.0f}"] + [f"{v:,.0f} ({v / base:.2f}×)" for v in others]
        print(f"| {case} | " + " | ".join(cells) + " |", flush=True)
    print()


if __name__ == "__main__":
    main()
