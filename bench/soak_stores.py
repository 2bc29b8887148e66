"""Soak of the shared stores: mixed load on 1 process, 2 processes on one SQLite file and 3
instances on one PostgreSQL database, then an audit.

Each run (bounded in time, loopback only) does:
1. a healthy phase: N client threads of mixed traffic (create customers, update the metadata of a
   few hot customers from every instance, read, list by email and by event type, replay
   idempotency keys) and rounds of one idempotency key raced from every instance at once;
2. kill -9 cycles: the same load while one instance at a time is killed and restarted;
3. the audit: every acknowledged write is present (customers, metadata keys), exactly one
   customer per raced idempotency key, every `customer.created` event delivered to the local
   receiver, none twice during the healthy phase (at least once across kills), no 5xx.

    .venv/bin/python bench/soak_stores.py                 # long form: all stores
    .venv/bin/python bench/soak_stores.py --short         # what CI runs (tests/test_soak.py)
    .venv/bin/python bench/soak_stores.py --throughput    # GET/POST req/s, 1-3 PG instances (wrk)

PostgreSQL comes from `--pg URL` or `FAKE_STRIPE_TEST_PG` (e.g. `scripts/throwaway-postgres
start DIR`); each run uses a fresh schema in it. Exits 1 if an audit fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

# The PostgreSQL schema helper is the tests' (tests/stores.py), read from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import read_wrk, wrk_command  # noqa: E402

from tests.stores import fresh_schema  # noqa: E402

KEY = "sk_test_soak"
HOT = 4  # customers whose metadata every instance updates at once


# ---- the fake's processes --------------------------------------------------------------------


@dataclass
class Instance:
    proc: subprocess.Popen[str]
    url: str
    log: Any


class Cluster:
    """`n` `fake-stripe serve` processes on one `--db`."""

    def __init__(self, db: str, n: int, lease: float, logdir: str) -> None:
        self.db, self.lease, self.logdir = db, lease, logdir
        self.lock = threading.Lock()
        self.instances: list[Instance | None] = [None] * n
        self.started = 0
        for i in range(n):
            self.instances[i] = self._start()

    def _start(self) -> Instance:
        self.started += 1
        log = open(os.path.join(self.logdir, f"serve-{self.started}.log"), "w")  # noqa: SIM115
        cmd = [sys.executable, "-m", "fake_stripe.cli.main", "serve", "--port", "0"]
        cmd += ["--db", self.db, "--lease-seconds", str(self.lease)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("fake-stripe listening on "):
            raise RuntimeError(f"serve did not start: {line!r} (see {log.name})")
        return Instance(proc, line.split()[-1], log)

    def urls(self) -> list[str]:
        with self.lock:
            return [i.url for i in self.instances if i is not None]

    def kill_and_restart(self, index: int) -> None:
        with self.lock:
            inst = self.instances[index]
            self.instances[index] = None
        assert inst is not None
        inst.proc.send_signal(signal.SIGKILL)
        inst.proc.wait(10)
        inst.log.close()
        fresh = self._start()
        with self.lock:
            self.instances[index] = fresh

    def stop(self) -> None:
        for inst in self.instances:
            if inst is None:
                continue
            inst.proc.send_signal(signal.SIGTERM)
            try:
                inst.proc.wait(15)
            except subprocess.TimeoutExpired:
                inst.proc.kill()
                inst.proc.wait(5)
            inst.log.close()

    def count_5xx_in_logs(self) -> int:
        n = 0
        for name in os.listdir(self.logdir):
            with open(os.path.join(self.logdir, name)) as f:
                n += f.read().count("fake_stripe internal error")
        return n


# ---- the webhook receiver --------------------------------------------------------------------


class Receiver:
    """A loopback endpoint that counts each event id it is sent."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    event_id = json.loads(body)["id"]
                except ValueError:
                    # Cut short: the sending instance was killed mid-request. Not a delivery.
                    self.send_response(400)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with receiver.lock:
                    receiver.counts[event_id] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a connection cut by a killed instance

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def snapshot(self) -> Counter[str]:
        with self.lock:
            return Counter(self.counts)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---- the load --------------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the fake acknowledged (2xx), and what the clients saw."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    customers: dict[str, str] = field(default_factory=dict)  # id -> email
    metadata: dict[str, set[str]] = field(default_factory=dict)  # hot id -> keys
    statuses: Counter[int] = field(default_factory=Counter)
    unreachable: int = 0  # connection errors (an instance being killed)
    replay_mismatches: int = 0
    list_misses: int = 0

    def status(self, code: int) -> None:
        with self.lock:
            self.statuses[code] += 1


def _client() -> httpx.Client:
    return httpx.Client(auth=(KEY, ""), timeout=15.0, trust_env=False)


def client_loop(
    n: int, phase: int, cluster: Cluster, ledger: Ledger, hot: list[str], stop: threading.Event
) -> None:
    rng = random.Random(n * 100 + phase)
    seq = 0
    with _client() as http:
        while not stop.is_set():
            urls = cluster.urls()
            if not urls:
                time.sleep(0.01)
                continue
            url = rng.choice(urls)
            seq += 1
            tag = f"{n}.{phase}.{seq}"  # unique across clients and phases
            op = rng.random()
            try:
                if op < 0.30:
                    email = f"c{tag}@soak.test"
                    r = http.post(f"{url}/v1/customers", data={"email": email})
                    ledger.status(r.status_code)
                    if r.status_code == 200:
                        with ledger.lock:
                            ledger.customers[r.json()["id"]] = email
                elif op < 0.55:
                    cid = rng.choice(hot)
                    mkey = f"k{tag}"
                    r = http.post(f"{url}/v1/customers/{cid}", data={f"metadata[{mkey}]": "1"})
                    ledger.status(r.status_code)
                    if r.status_code == 200:
                        with ledger.lock:
                            ledger.metadata[cid].add(mkey)
                elif op < 0.75:
                    with ledger.lock:
                        known = list(ledger.customers.items())[-50:]
                    if known:
                        r = http.get(f"{url}/v1/customers/{rng.choice(known)[0]}")
                        ledger.status(r.status_code)
                elif op < 0.85:
                    with ledger.lock:
                        known = list(ledger.customers.items())[-50:]
                    if known:
                        cid, email = rng.choice(known)
                        r = http.get(f"{url}/v1/customers", params={"email": email})
                        ledger.status(r.status_code)
                        if r.status_code == 200 and [c["id"] for c in r.json()["data"]] != [cid]:
                            with ledger.lock:
                                ledger.list_misses += 1
                elif op < 0.95:
                    r = http.get(
                        f"{url}/v1/events", params={"type": "customer.created", "limit": 10}
                    )
                    ledger.status(r.status_code)
                else:
                    key = f"replay-{tag}"
                    email = f"r{tag}@soak.test"
                    first = http.post(
                        f"{url}/v1/customers",
                        data={"email": email},
                        headers={"Idempotency-Key": key},
                    )
                    ledger.status(first.status_code)
                    if first.status_code != 200:
                        continue
                    with ledger.lock:
                        ledger.customers[first.json()["id"]] = email
                    again = http.post(
                        f"{rng.choice(cluster.urls() or [url])}/v1/customers",
                        data={"email": email},
                        headers={"Idempotency-Key": key},
                    )
                    ledger.status(again.status_code)
                    if again.status_code == 200 and again.json()["id"] != first.json()["id"]:
                        with ledger.lock:
                            ledger.replay_mismatches += 1
            except httpx.TransportError:
                with ledger.lock:
                    ledger.unreachable += 1


def race_keys(cluster: Cluster, ledger: Ledger, rounds: int, width: int) -> int:
    """`rounds` idempotency keys, each sent by `width` threads at once spread over every
    instance. Returns how many rounds got at least one 200."""
    won = 0
    with _client() as http:
        for r in range(rounds):
            urls = cluster.urls()
            barrier = threading.Barrier(width)
            codes: list[int] = []

            def one(
                i: int,
                r: int = r,
                urls: list[str] = urls,
                barrier: threading.Barrier = barrier,
                codes: list[int] = codes,
            ) -> None:
                barrier.wait()
                try:
                    resp = http.post(
                        f"{urls[i % len(urls)]}/v1/customers",
                        data={"email": f"race{r}@soak.test"},
                        headers={"Idempotency-Key": f"race-{r}"},
                    )
                    codes.append(resp.status_code)
                except httpx.TransportError:
                    codes.append(0)

            threads = [threading.Thread(target=one, args=(i,)) for i in range(width)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for c in codes:
                ledger.status(c)
            won += 200 in codes
    return won


# ---- the audit -------------------------------------------------------------------------------


def list_all(http: httpx.Client, url: str, path: str, **params: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor: dict[str, str] = {}
    while True:
        page = http.get(f"{url}{path}", params={"limit": "100", **params, **cursor}).json()
        out += page["data"]
        if not page["has_more"]:
            return out
        cursor = {"starting_after": out[-1]["id"]}


def wait_delivered(
    http: httpx.Client, url: str, receiver: Receiver, timeout: float
) -> tuple[set[str], Counter[str]]:
    deadline = time.monotonic() + timeout
    while True:
        events = {e["id"] for e in list_all(http, url, "/v1/events", type="customer.created")}
        got = receiver.snapshot()
        if events <= set(got) or time.monotonic() > deadline:
            return events, got
        time.sleep(0.25)


@dataclass
class Result:
    name: str
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    unreachable: int = 0
    acked_customers: int = 0
    acked_metadata: int = 0
    lost_customers: int = 0
    lost_metadata: int = 0
    list_misses: int = 0
    replay_mismatches: int = 0
    raced_keys: int = 0
    raced_duplicates: int = 0
    raced_missing: int = 0
    events: int = 0
    undelivered: int = 0
    healthy_duplicates: int = 0
    kill_phase_duplicates: int = 0
    kills: int = 0
    internal_errors: int = 0
    seconds: float = 0.0

    def ok(self) -> bool:
        return (
            self.lost_customers == 0
            and self.lost_metadata == 0
            and self.raced_duplicates == 0
            and self.raced_missing == 0
            and self.undelivered == 0
            and self.healthy_duplicates == 0
            and self.replay_mismatches == 0
            and self.list_misses == 0
            and self.internal_errors == 0
            and not any(500 <= s < 600 for s in self.statuses)
        )

    def report(self) -> str:
        five = sum(n for s, n in self.statuses.items() if 500 <= s < 600)
        return (
            f"{self.name}: {self.requests} requests in {self.seconds:.0f}s "
            f"(statuses {dict(sorted(self.statuses.items()))}, {self.unreachable} refused "
            f"while an instance was down), 5xx: {five}\n"
            f"  acknowledged writes: {self.acked_customers} customers, {self.acked_metadata} "
            f"metadata keys; lost: {self.lost_customers} customers, {self.lost_metadata} keys\n"
            f"  idempotency: {self.raced_keys} keys raced, {self.raced_duplicates} duplicate "
            f"objects, {self.raced_missing} keys without an object; {self.replay_mismatches} "
            f"replays naming another object\n"
            f"  webhooks: {self.events} customer.created events, {self.undelivered} "
            f"undelivered, {self.healthy_duplicates} delivered twice while healthy, "
            f"{self.kill_phase_duplicates} twice across kill -9 (at least once)\n"
            f"  kill -9 cycles: {self.kills}; list-by-email misses: {self.list_misses}; "
            f"internal errors logged: {self.internal_errors}\n"
            f"  audit: {'PASS' if self.ok() else 'FAIL'}"
        )


def soak(
    name: str,
    db: str,
    instances: int,
    *,
    clients: int,
    seconds: float,
    kills: int,
    kill_every: float,
    rounds: int,
    lease: float,
) -> Result:
    res = Result(name)
    started = time.monotonic()
    logdir = tempfile.mkdtemp(prefix="fake-stripe-soak-")
    receiver = Receiver()
    cluster = Cluster(db, instances, lease, logdir)
    ledger = Ledger()
    try:
        with _client() as http:
            url = cluster.urls()[0]
            http.post(f"{url}/_fake/webhooks/settings", data={"time_scale": "0.01"})
            ep = http.post(
                f"{url}/v1/webhook_endpoints",
                data={"url": receiver.url, "enabled_events[0]": "customer.created"},
            )
            assert ep.status_code == 200, ep.text
            hot = [http.post(f"{url}/v1/customers").json()["id"] for _ in range(HOT)]
            ledger.metadata = {h: set() for h in hot}

            # 1. healthy: mixed load, then raced keys while the load goes on
            stop = threading.Event()
            workers = [
                threading.Thread(target=client_loop, args=(n, 1, cluster, ledger, hot, stop))
                for n in range(clients)
            ]
            for w in workers:
                w.start()
            time.sleep(seconds / 2)
            won = race_keys(cluster, ledger, rounds, width=3 * instances)
            time.sleep(seconds / 2)
            stop.set()
            for w in workers:
                w.join()
            events, got = wait_delivered(http, url, receiver, timeout=60)
            res.healthy_duplicates = sum(1 for e in events if got[e] > 1)
            healthy_events = events

            # 2. kill -9 cycles under load
            stop = threading.Event()
            workers = [
                threading.Thread(target=client_loop, args=(n, 2, cluster, ledger, hot, stop))
                for n in range(clients)
            ]
            for w in workers:
                w.start()
            try:
                for k in range(kills):
                    time.sleep(kill_every)
                    cluster.kill_and_restart(k % instances)
                    res.kills += 1
                time.sleep(kill_every)
            finally:  # a restart that fails ends the run, not with clients left looping
                stop.set()
                for w in workers:
                    w.join()

            # 3. the audit, through the first instance
            url = cluster.urls()[0]
            stored = {c["id"]: c for c in list_all(http, url, "/v1/customers")}
            res.acked_customers = len(ledger.customers)
            res.lost_customers = sum(
                1
                for cid, email in ledger.customers.items()
                if cid not in stored or stored[cid]["email"] != email
            )
            for cid, keys in ledger.metadata.items():
                meta = http.get(f"{url}/v1/customers/{cid}").json()["metadata"]
                res.acked_metadata += len(keys)
                res.lost_metadata += len(keys - set(meta))
            res.raced_keys = rounds
            for r in range(rounds):
                n = len(list_all(http, url, "/v1/customers", email=f"race{r}@soak.test"))
                res.raced_duplicates += max(0, n - 1)
                res.raced_missing += n == 0
            assert won <= rounds
            events, got = wait_delivered(http, url, receiver, timeout=60)
            res.events = len(events)
            res.undelivered = len(events - set(got))
            res.kill_phase_duplicates = sum(1 for e in events - healthy_events if got.get(e, 0) > 1)
            # Still exactly once for what was delivered before the kills began.
            res.healthy_duplicates = sum(1 for e in healthy_events if got[e] > 1)
    finally:
        cluster.stop()
        receiver.close()
    res.statuses = dict(ledger.statuses)
    res.requests = sum(ledger.statuses.values()) + ledger.unreachable
    res.unreachable = ledger.unreachable
    res.list_misses = ledger.list_misses
    res.replay_mismatches = ledger.replay_mismatches
    res.internal_errors = cluster.count_5xx_in_logs()
    res.seconds = time.monotonic() - started
    shutil.rmtree(logdir, ignore_errors=True)
    return res


# ---- stores ----------------------------------------------------------------------------------


def run(stores: list[str], pg: str | None, short: bool) -> list[Result]:
    knobs: dict[str, Any] = (
        dict(clients=6, seconds=2.0, kills=2, kill_every=1.0, rounds=5, lease=3.0)
        if short
        else dict(clients=16, seconds=30.0, kills=5, kill_every=4.0, rounds=30, lease=5.0)
    )
    results = []
    for store in stores:
        tmp = tempfile.mkdtemp(prefix="fake-stripe-soak-db-")
        try:
            if store == "one":
                results.append(soak("1 process, SQLite", f"{tmp}/one.db", 1, **knobs))
            elif store == "sqlite2":
                results.append(soak("2 processes, one SQLite file", f"{tmp}/two.db", 2, **knobs))
            elif store == "pg3":
                if pg is None:
                    raise SystemExit("pg3 needs --pg URL or FAKE_STRIPE_TEST_PG")
                with fresh_schema(pg, "soak_") as db:
                    results.append(soak("3 instances, one PostgreSQL db", db, 3, **knobs))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(results[-1].report(), flush=True)
    return results


# ---- throughput ------------------------------------------------------------------------------

POST_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "email=wrk@soak.test"
"""


def wrk(urls: list[str], seconds: int, conns: int, script: str | None) -> float:
    """Requests/s summed over one wrk per instance, run at once."""
    procs = [
        subprocess.Popen(
            wrk_command(url, seconds, conns, KEY, script), stdout=subprocess.PIPE, text=True
        )
        for url in urls
    ]
    total = 0.0
    for p in procs:
        out, _ = p.communicate(timeout=seconds + 60)
        found = read_wrk(out)
        total += found["rps"]
        if found["non2xx"]:
            print(f"   wrk: Non-2xx or 3xx responses: {found['non2xx']:.0f}")
    return total


def throughput(pg: str, seconds: int, conns: int) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("--throughput needs wrk (Debian: apt-get install -y wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(POST_LUA)
        post_lua = f.name
    print(f"wrk, {seconds}s per run, {conns} connections per instance, loopback")
    for n in (1, 2, 3):
        with fresh_schema(pg, "soak_") as db:
            logdir = tempfile.mkdtemp(prefix="fake-stripe-tp-")
            cluster = Cluster(db, n, 30.0, logdir)
            try:
                urls = cluster.urls()
                with _client() as http:
                    cid = http.post(f"{urls[0]}/v1/customers").json()["id"]
                get = wrk([f"{u}/v1/customers/{cid}" for u in urls], seconds, conns, None)
                post = wrk([f"{u}/v1/customers" for u in urls], seconds, conns, post_lua)
                print(
                    f"PostgreSQL, {n} instance(s): GET /v1/customers/{{id}} {get:.0f} req/s, "
                    f"POST /v1/customers {post:.0f} req/s",
                    flush=True,
                )
            finally:
                cluster.stop()
                shutil.rmtree(logdir, ignore_errors=True)
    os.unlink(post_lua)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--short", action="store_true", help="the CI form (tens of seconds)")
    ap.add_argument(
        "--stores",
        default="one,sqlite2,pg3",
        help="comma-separated: one (1 process, SQLite), sqlite2, pg3 (default: all)",
    )
    ap.add_argument("--pg", default=os.environ.get("FAKE_STRIPE_TEST_PG"))
    ap.add_argument("--throughput", action="store_true", help="measure req/s with wrk instead")
    ap.add_argument("--seconds", type=int, default=10, help="per wrk run (--throughput)")
    ap.add_argument("--connections", type=int, default=16, help="per instance (--throughput)")
    args = ap.parse_args()
    if args.throughput:
        if not args.pg:
            raise SystemExit("--throughput needs --pg URL or FAKE_STRIPE_TEST_PG")
        throughput(args.pg, args.seconds, args.connections)
        return 0
    results = run(args.stores.split(","), args.pg, args.short)
    return 0 if all(r.ok() for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
