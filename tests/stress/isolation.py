"""The chaos suite's isolation phases: another tenant's GET latency, idle and while

- one tenant sends the largest requests the limits allow (one process, memory store): complete
  with 100 accounts and every prefetch, refresh with 100 features;
- a store lock is held by someone else: SQLite with two `serve` processes on one file (another
  connection holds the write lock), PostgreSQL with two instances on one database (another
  connection holds the writing tenant's lock);

and, in the lock phases, an audit of what the writing tenant was told: every acknowledged
write readable from the other process, one object per idempotency key across both.

The probe runs in a process of its own, so that the load this process makes is not counted in
the latency it measures. The PostgreSQL phase runs when FAKE_STRIPE_TEST_PG names a server.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from ..stores import PG_ENV, postgres_schema

PROBE = r"""
import json, sys, time, httpx
url, seconds, key = sys.argv[1], float(sys.argv[2]), sys.argv[3]
auth = {"Authorization": f"Bearer {key}"}
with httpx.Client(base_url=url, timeout=30) as http:
    cid = http.post("/v1/customers", headers=auth).json()["id"]
    for _ in range(20):
        http.get(f"/v1/customers/{cid}", headers=auth)
    out, bad = [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        r = http.get(f"/v1/customers/{cid}", headers=auth)
        out.append((time.perf_counter() - t0) * 1000)
        bad += r.status_code != 200
        time.sleep(0.002)
print(json.dumps({"ms": out, "not_200": bad}))
"""


class Probe:
    """GETs of one customer of tenant `key`, back to back, for `seconds`, in a child process."""

    def __init__(self, url: str, seconds: float, key: str = "sk_test_probe") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", PROBE, url, str(seconds), key],
            stdout=subprocess.PIPE,
            text=True,
        )

    def result(self) -> tuple[list[float], int]:
        out, _ = self.proc.communicate(timeout=120)
        found = json.loads(out)
        return list(found["ms"]), int(found["not_200"])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def compare(fig: Any, name: str, idle: list[float], during: list[float]) -> None:
    """Record idle and loaded latency of a phase, and how the p99s compare."""

    def shown(s: list[float]) -> str:
        return f"p50 {pct(s, 0.5):.2f} ms, p99 {pct(s, 0.99):.2f} ms, n={len(s)}"

    fig.extra[f"{name}: other tenant's GET, idle"] = shown(idle)
    fig.extra[f"{name}: other tenant's GET, during"] = shown(during)
    fig.extra[f"{name}: p99 during / idle"] = round(pct(during, 0.99) / pct(idle, 0.99), 2)
    fig.cases += len(idle) + len(during)
    fig.status[200] = fig.status.get(200, 0) + len(idle) + len(during)


def measured(fig: Any, name: str, url: str, seconds: float, load: Callable[[], None]) -> None:
    """Probe `url` idle, then while `load()` runs (it must last about `seconds`)."""
    idle, bad = Probe(url, seconds / 2).result()
    probe = Probe(url, seconds)
    load()
    during, bad_during = probe.result()
    for _ in range(bad + bad_during):
        fig.saw(f"{name}: probe GET not answered 200", 599)
    compare(fig, name, idle, during)


# ---- the largest requests the limits allow -----------------------------------------------------


async def _largest(url: str, seconds: float, fig: Any) -> None:
    auth = {"Authorization": "Bearer sk_test_largest"}
    accounts = {f"accounts[{i}][subcategory]": "checking" for i in range(100)}
    perms = ("payment_method", "balances", "ownership", "transactions")
    session = {
        "account_holder[type]": "customer",
        **{f"permissions[{i}]": p for i, p in enumerate(perms)},
        **{f"prefetch[{i}]": p for i, p in enumerate(perms[1:])},
    }
    features = {f"features[{i}]": "transactions" for i in range(100)}
    async with httpx.AsyncClient(base_url=url, timeout=60, headers=auth) as http:
        cus = (await http.post("/v1/customers")).json()["id"]
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            s = await http.post(
                "/v1/financial_connections/sessions",
                data={**session, "account_holder[customer]": cus},
            )
            fig.saw("largest: session", s.status_code)
            r = await http.post(
                f"/v1/test_helpers/financial_connections/sessions/{s.json()['id']}/complete",
                data={"outcome": "link", **accounts},
            )
            fig.saw("largest: complete with 100 accounts", r.status_code)
            account = r.json()["accounts"]["data"][0]["id"]
            r = await http.post(
                f"/v1/financial_connections/accounts/{account}/refresh", data=features
            )
            fig.saw("largest: refresh with 100 features", r.status_code)
            over = await http.post(
                f"/v1/financial_connections/accounts/{account}/refresh",
                data={**features, "features[100]": "balance"},
            )
            fig.saw("largest: refresh with 101 features (a 400)", over.status_code)
            if over.status_code != 400:
                fig.extra["largest: 101 features answered"] = over.status_code


def phase_largest(url: str, fig: Any, seconds: float) -> None:
    measured(fig, "largest arrays", url, seconds, lambda: asyncio.run(_largest(url, seconds, fig)))


# ---- a store lock held elsewhere, while a tenant writes on both processes ----------------------


class Holder:
    """Holds a store lock from outside, in turns of `hold` seconds, until stopped."""

    def __init__(self, take: Callable[[], object], give: Callable[[], object], hold: float) -> None:
        self.take, self.give, self.hold = take, give, hold
        self.turns = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.take()
            self.turns += 1
            self._stop.wait(self.hold)
            self.give()
            time.sleep(0.1)

    @contextmanager
    def holding(self) -> Iterator[None]:
        self._thread.start()
        try:
            yield
        finally:
            self._stop.set()
            self._thread.join()


async def _writes(urls: list[str], seconds: float, fig: Any) -> dict[str, Any]:
    """Tenant `x` creates customers on each process in turn, some with idempotency keys from a
    small pool (the same key goes to both processes), and retries a 429 with the same key."""
    auth = {"Authorization": "Bearer sk_test_x"}
    acked: dict[str, str] = {}
    by_key: dict[str, set[str]] = {}
    clients = [httpx.AsyncClient(base_url=u, timeout=30, headers=auth) for u in urls]

    async def one(i: int) -> None:
        http = clients[i % len(clients)]
        key = f"x-{i % 7}-{i // 40}" if i % 3 == 0 else None
        headers = {"Idempotency-Key": key} if key else {}
        n = key or str(i)  # a key is sent with the same parameters each time
        for _ in range(20):
            r = await http.post("/v1/customers", data={"metadata[n]": n}, headers=headers)
            fig.saw("writes under a held lock", r.status_code)
            if r.status_code != 429:
                break
            await asyncio.sleep(0.2)
        if r.status_code == 200:
            cid = r.json()["id"]
            if key is not None:
                by_key.setdefault(key, set()).add(cid)
            if "idempotent-replayed" not in r.headers:
                acked[cid] = n

    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        await asyncio.gather(*(one(i + j) for j in range(4)))
        i += 4
    for c in clients:
        await c.aclose()
    return {"acked": acked, "by_key": by_key}


async def _audit(urls: list[str], found: dict[str, Any], fig: Any) -> None:
    auth = {"Authorization": "Bearer sk_test_x"}
    async with httpx.AsyncClient(timeout=30, headers=auth) as http:
        for n, (cid, meta) in enumerate(found["acked"].items()):
            fig.acknowledged_writes += 1
            r = await http.get(f"{urls[n % len(urls)]}/v1/customers/{cid}")
            if r.status_code != 200 or r.json()["metadata"].get("n") != meta:
                fig.lost_writes += 1
    dupes = sum(len(ids) - 1 for ids in found["by_key"].values())
    key = "duplicate objects per idempotency key"
    fig.extra[key] = fig.extra.get(key, 0) + dupes


def held_lock_phase(fig: Any, name: str, urls: list[str], holder: Holder, seconds: float) -> None:
    """Tenant `x` writes on both processes while `holder` holds the lock; the probe's tenant
    reads on the second process."""
    found: dict[str, Any] = {}

    def load() -> None:
        with holder.holding():
            found.update(asyncio.run(_writes(urls, seconds, fig)))

    measured(fig, name, urls[1], seconds, load)
    asyncio.run(_audit(urls, found, fig))
    fig.extra[f"{name}: lock held"] = f"{holder.turns} times, {holder.hold} s each"
    fig.extra[f"{name}: writes acknowledged"] = len(found["acked"])


def phase_sqlite_lock(start: Callable[..., Any], fig: Any, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "chaos.db")
        servers = [start("--db", db), start("--db", db)]
        other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        holder = Holder(
            lambda: other.execute("BEGIN IMMEDIATE"), lambda: other.execute("COMMIT"), 1.5
        )
        try:
            held_lock_phase(fig, "SQLite, 2 processes", [s.url for s in servers], holder, seconds)
        finally:
            other.close()
            for s in servers:
                fig.extra.setdefault("lock phases: tracebacks logged", 0)
                fig.extra["lock phases: tracebacks logged"] += s.stop().count("Traceback")


def phase_postgres_lock(start: Callable[..., Any], fig: Any, seconds: float) -> None:
    if not os.environ.get(PG_ENV):
        fig.extra["PostgreSQL, 2 instances"] = f"not run: set {PG_ENV}"
        return
    import psycopg

    schema = postgres_schema()  # a schema of its own, dropped when the generator ends
    url = next(schema)
    try:
        servers = [start("--db", url), start("--db", url)]
        other = psycopg.connect(url)  # in a transaction until commit: the lock is held so long

        def take() -> None:
            other.execute("SELECT pg_advisory_xact_lock(hashtextextended('x', 0))")

        holder = Holder(take, other.commit, 1.5)
        try:
            urls = [s.url for s in servers]
            held_lock_phase(fig, "PostgreSQL, 2 instances", urls, holder, seconds)
        finally:
            other.close()
            for s in servers:
                fig.extra.setdefault("lock phases: tracebacks logged", 0)
                fig.extra["lock phases: tracebacks logged"] += s.stop().count("Traceback")
    finally:
        next(schema, None)


def main() -> None:
    """`python -m tests.stress.isolation [RUNS] [SECONDS] [alone|sqlite|postgres]`: the
    largest-requests phase alone, RUNS times (default 3) of SECONDS (default 10), each against
    a server of its own: another tenant's GET latency idle and during, the ratio of the p99s,
    and how many rounds of the largest requests the sending tenant got through (what the
    others' share cost it). With `alone`, the same load with no other tenant: the rounds only.
    With `sqlite` or `postgres`, a held-lock phase instead (`postgres` runs when
    FAKE_STRIPE_TEST_PG names a server)."""
    from .chaos import Figures, Server

    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    mode = sys.argv[3] if len(sys.argv) > 3 else ""
    alone = mode == "alone"
    print(f"load average {os.getloadavg()[0]:.2f}")
    if mode in ("sqlite", "postgres"):
        phase = phase_sqlite_lock if mode == "sqlite" else phase_postgres_lock
        name = "SQLite, 2 processes" if mode == "sqlite" else "PostgreSQL, 2 instances"
        for run in range(1, runs + 1):
            fig = Figures()
            phase(Server, fig, seconds)
            if name in fig.extra:  # the phase's only entry when it did not run
                print(f"run {run}: {fig.extra[name]}")
                continue
            idle = fig.extra[f"{name}: other tenant's GET, idle"]
            during = fig.extra[f"{name}: other tenant's GET, during"]
            ratio = fig.extra[f"{name}: p99 during / idle"]
            print(f"run {run}: idle {idle}; during {during}; p99 ratio {ratio}")
        return
    for run in range(1, runs + 1):
        fig, server = Figures(), Server()
        try:
            if alone:
                asyncio.run(_largest(server.url, seconds, fig))
            else:
                phase_largest(server.url, fig, seconds)
        finally:
            server.stop()
        if alone:
            print(f"run {run}: rounds {fig.status.get(400, 0)}, no other tenant")
            continue
        idle = fig.extra["largest arrays: other tenant's GET, idle"]
        during = fig.extra["largest arrays: other tenant's GET, during"]
        ratio = fig.extra["largest arrays: p99 during / idle"]
        rounds = fig.status.get(400, 0)  # one refused refresh per round
        print(f"run {run}: idle {idle}; during {during}; p99 ratio {ratio}; rounds {rounds}")


if __name__ == "__main__":
    main()
