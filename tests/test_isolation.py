"""One tenant's slow or blocked request never holds up another tenant's.

Under a server, a request's store work runs on a worker thread (`core.lanes`), a few lanes per
tenant, and the SQL stores give each thread its own connection; so the event loop goes on
serving while a handler computes or waits for a store lock. Each test blocks one tenant for
certain (a handler held on an event, a store lock held from outside) and checks that another
tenant's GET is answered meanwhile, well before the blocked request ends. In-process, a request
stepped by hand still runs on the caller's own thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from fake_stripe import create_app, wire
from fake_stripe.core.context import Ctx
from fake_stripe.core.lanes import Lanes
from fake_stripe.core.store import SQLiteBackend, WouldWait
from fake_stripe.http_server import ServerThread
from fake_stripe.inprocess import client as inprocess_client

from .helpers import ACH_PAYMENT, VERIFY_AMOUNTS
from .stores import postgres_schema

# How long the other tenant may take: far below the time the blocked tenant is held.
PROMPT = 2.0
HELD = 8.0
# A request that always runs on a worker thread: a webhook endpoint's create (its URL may be
# resolved, which no rollback undoes; `Endpoint.worker`).
HEAVY = "/v1/webhook_endpoints"
HEAVY_DATA = {"url": "https://example.com/hooks", "enabled_events[]": "*"}


class Gate:
    """A due-work hook (run before every handler) that holds the requests of one tenant until
    the gate opens, counting those it holds. The tests send it requests that are not `light`
    (`POST /v1/setup_intents`): light ones may run on the event loop, and a handler held there
    would hold everything (a light handler holds nothing up in real life)."""

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.open = threading.Event()
        self.held = 0
        self.threads: set[int] = set()
        self._lock = threading.Lock()

    def __call__(self, ctx: Ctx) -> None:
        self.threads.add(threading.get_ident())
        if ctx.tenant.name != self.tenant:
            return
        with self._lock:
            self.held += 1
        self.open.wait(HELD)

    def wait_held(self, n: int) -> None:
        deadline = time.monotonic() + PROMPT * 2
        while self.held < n and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.held >= n, f"{self.held} of {n} requests reached the handler"


@pytest.fixture
def gated() -> Iterator[tuple[Any, str, Gate]]:
    app = create_app(seed=21)
    gate = Gate("slow")
    app.fake.due.append(gate)
    with ServerThread(app) as url:
        yield app, url, gate
        gate.open.set()
    app.fake.close()


def _get(url: str, key: str, path: str = "/v1/customers") -> httpx.Response:
    return httpx.get(f"{url}{path}", auth=(key, ""), timeout=PROMPT)


def test_a_tenant_whose_handler_is_held_does_not_hold_up_another_tenant(
    gated: tuple[Any, str, Gate],
) -> None:
    _app, url, gate = gated
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(
            httpx.post, f"{url}{HEAVY}", data=HEAVY_DATA, auth=("sk_test_slow", ""), timeout=30
        )
        gate.wait_held(1)
        t0 = time.monotonic()
        other = _get(url, "sk_test_quick")
        waited = time.monotonic() - t0
        assert other.status_code == 200
        assert not slow.done(), "the held request ended early: the test proved nothing"
        gate.open.set()
        assert slow.result().status_code == 200
    assert waited < PROMPT


def test_a_tenant_with_more_held_requests_than_lanes_leaves_workers_for_the_others(
    gated: tuple[Any, str, Gate],
) -> None:
    app, url, gate = gated
    lanes: Lanes = app.fake.lanes
    n = lanes.per_tenant + 3
    with ThreadPoolExecutor(n) as pool:
        held = [
            pool.submit(
                httpx.post, f"{url}{HEAVY}", data=HEAVY_DATA, auth=("sk_test_slow", ""), timeout=30
            )
            for _ in range(n)
        ]
        gate.wait_held(1)  # the others wait for its tenant's lock, or for a lane
        time.sleep(0.3)
        # per_tenant of them hold a worker; the rest wait on the loop, holding no thread
        assert lanes.busy() == {"slow": lanes.per_tenant}
        others = [_get(url, f"sk_test_quick{i}") for i in range(3)]
        assert [r.status_code for r in others] == [200, 200, 200]
        gate.open.set()
        assert [f.result().status_code for f in held] == [200] * n
    assert lanes.busy() == {}


def test_in_process_a_request_runs_on_the_callers_thread() -> None:
    app = create_app(seed=22)
    gate = Gate("nobody")
    app.fake.due.append(gate)
    with inprocess_client(app) as api:
        assert api.get("/v1/customers", auth=("sk_test_inline", "")).status_code == 200
    assert gate.threads == {threading.get_ident()}
    app.fake.close()


# ---- a store lock held by another process ------------------------------------------------------


def _blocked_writer_and_a_reader(
    url: str, release: Any, path: str = "/v1/customers", data: dict[str, str] | None = None
) -> None:
    """Tenant `x` writes while its lock is held elsewhere; tenant `y` reads meanwhile."""
    with ThreadPoolExecutor(1) as pool:
        write = pool.submit(
            httpx.post, f"{url}{path}", data=data, auth=("sk_test_x", ""), timeout=30
        )
        time.sleep(0.3)  # x's request is waiting for the lock by now
        t0 = time.monotonic()
        read = _get(url, "sk_test_y")
        waited = time.monotonic() - t0
        assert read.status_code == 200
        assert not write.done(), "x was not held: the test proved nothing"
        release()
        assert write.result().status_code == 200
    assert waited < PROMPT


@contextmanager
def _sqlite_lock_held_elsewhere(tmp_path: Path) -> Iterator[tuple[str, sqlite3.Connection]]:
    """A server on a SQLite file, and another process's connection holding its write lock."""
    db = str(tmp_path / "store.db")
    app = create_app(seed=23, db=db)
    try:
        with ServerThread(app) as url:
            assert _get(url, "sk_test_y").status_code == 200
            other = sqlite3.connect(db, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            try:
                yield url, other
            finally:
                if other.in_transaction:
                    other.execute("ROLLBACK")
                other.close()
    finally:
        app.fake.close()


def test_sqlite_a_write_lock_held_by_another_process_holds_up_no_reader(tmp_path: Path) -> None:
    with _sqlite_lock_held_elsewhere(tmp_path) as (url, other):
        _blocked_writer_and_a_reader(url, lambda: other.execute("COMMIT"))


@pytest.mark.parametrize(
    "path, data",
    [
        ("/_fake/payments/settings", {"settlement_business_days": "3"}),
        ("/_fake/webhooks/settings", {"max_attempts": "2"}),
    ],
)
def test_sqlite_a_control_route_waiting_for_the_write_lock_holds_up_no_reader(
    tmp_path: Path, path: str, data: dict[str, str]
) -> None:
    """`/_fake/` routes write to the store too: their wait for a lock happens off the loop."""
    with _sqlite_lock_held_elsewhere(tmp_path) as (url, other):
        _blocked_writer_and_a_reader(url, lambda: other.execute("COMMIT"), path, data)


def test_postgres_a_tenant_lock_held_by_another_instance_holds_up_no_other_tenant() -> None:
    for url in postgres_schema():
        import psycopg

        app = create_app(seed=24, db=url)
        other = psycopg.connect(url)  # another instance's connection, in a transaction
        try:
            with ServerThread(app) as served:
                assert _get(served, "sk_test_y").status_code == 200
                other.execute("SELECT pg_advisory_xact_lock(hashtextextended('x', 0))")
                _blocked_writer_and_a_reader(served, other.commit)
        finally:
            other.close()
            app.fake.close()


# ---- the lanes themselves ----------------------------------------------------------------------


def test_lanes_serve_a_tenant_in_order_and_free_the_lane_of_a_cancelled_request() -> None:
    lanes = Lanes(workers=4, per_tenant=1)
    release = threading.Event()
    order: list[str] = []

    def work(name: str) -> str:
        if name == "first":
            release.wait(5)
        order.append(name)
        return name

    async def scenario() -> None:
        first = asyncio.ensure_future(lanes.run("t", work, "first"))
        await asyncio.sleep(0.05)
        cancelled = asyncio.ensure_future(lanes.run("t", work, "cancelled"))
        second = asyncio.ensure_future(lanes.run("t", work, "second"))
        other = await lanes.run("u", work, "other tenant")  # not behind t's lane
        assert other == "other tenant"
        await asyncio.sleep(0.05)
        cancelled.cancel()
        release.set()
        assert await first == "first"
        assert await second == "second"
        with pytest.raises(asyncio.CancelledError):
            await cancelled

    asyncio.run(scenario())
    lanes.close()
    assert order == ["other tenant", "first", "second"]
    assert lanes.busy() == {}


# ---- light requests run on the event loop ------------------------------------------------------


class Where:
    """A due-work hook noting the thread each request of a tenant runs on."""

    def __init__(self) -> None:
        self.threads: dict[str, list[int]] = {}

    def __call__(self, ctx: Ctx) -> None:
        self.threads.setdefault(ctx.tenant.name, []).append(threading.get_ident())


@contextmanager
def _watched(**kw: Any) -> Iterator[tuple[Any, Where, str, int | None]]:
    """A served app whose due-work hook notes the thread of each request: the app, the hook,
    the base URL and the event loop's thread."""
    app = create_app(**kw)
    where = Where()
    app.fake.due.append(where)
    srv = ServerThread(app)
    try:
        yield app, where, srv.url, srv.thread.ident
    finally:
        srv.stop()
        app.fake.close()


def _light_and_heavy(url: str, auth: tuple[str, str]) -> None:
    """A customer created and read (light), the customers listed and a webhook endpoint
    created (on a worker thread), in that order."""
    cid = httpx.post(f"{url}/v1/customers", auth=auth).json()["id"]
    assert httpx.get(f"{url}/v1/customers/{cid}", auth=auth).status_code == 200
    assert httpx.get(f"{url}/v1/customers", auth=auth).status_code == 200
    assert httpx.post(f"{url}{HEAVY}", data=HEAVY_DATA, auth=auth).status_code == 200


def test_a_light_get_runs_on_the_loop_unless_work_is_due_or_the_tenant_is_busy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(wire, "LOOP_BUDGET", 60.0)  # the list below, whatever the machine runs
    app = create_app(seed=25)
    where = Where()
    gate = Gate("nobody yet")
    app.fake.due.extend([where, gate])
    srv = ServerThread(app)
    url, loop = srv.url, srv.thread.ident
    try:
        auth = ("sk_test_light", "")
        _light_and_heavy(url, auth)
        create, retrieve, listed, heavy = where.threads["light"]
        assert create == loop and retrieve == loop
        assert listed == loop  # a short list: within the loop's budget
        assert heavy != loop  # a webhook endpoint: always on a worker
        # A debit settling at the next request: that GET goes to a worker, which settles it.
        days = {"settlement_business_days": "0"}
        assert httpx.post(f"{url}/_fake/payments/settings", data=days, auth=auth).is_success
        pi = httpx.post(f"{url}/v1/payment_intents", data=ACH_PAYMENT, auth=auth).json()
        assert pi["status"] == "requires_action"  # a typed-in account: microdeposits first
        verify = f"{url}/v1/payment_intents/{pi['id']}/verify_microdeposits"
        pi = httpx.post(verify, data=VERIFY_AMOUNTS, auth=auth).json()
        assert pi["status"] == "processing"
        before = len(where.threads["light"])
        settled = httpx.get(f"{url}/v1/payment_intents/{pi['id']}", auth=auth).json()
        assert settled["status"] == "succeeded"
        assert where.threads["light"][before] != loop
        # A tenant with a request in its lanes: its light GET waits its turn in the pool.
        busy = ("sk_test_busy", "")
        busy_cid = httpx.post(f"{url}/v1/customers", auth=busy).json()["id"]
        gate.tenant = "busy"
        with ThreadPoolExecutor(2) as pool:
            held = pool.submit(httpx.post, f"{url}{HEAVY}", data=HEAVY_DATA, auth=busy, timeout=30)
            gate.wait_held(1)
            get = pool.submit(httpx.get, f"{url}/v1/customers/{busy_cid}", auth=busy)
            time.sleep(0.2)
            assert not get.done()
            gate.open.set()
            assert held.result().status_code == 200
            assert get.result().status_code == 200
        assert where.threads["busy"][-1] != loop
    finally:
        gate.open.set()
        srv.stop()
        app.fake.close()


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_a_read_past_its_budget_on_the_loop_moves_to_a_worker_thread(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store: str
) -> None:
    """A list tried on the event loop stops at its first checkpoint past `LOOP_BUDGET`, and
    runs again, whole, on a worker thread: the same answer, nothing of the first try kept."""
    db = str(tmp_path / "store.db") if store == "sqlite" else None
    with _watched(seed=28, db=db) as (app, where, url, loop):
        auth = ("sk_test_budget", "")
        made = [httpx.post(f"{url}/v1/customers", auth=auth).json()["id"] for _ in range(12)]
        monkeypatch.setattr(wire, "LOOP_BUDGET", 60.0)  # whatever else the machine runs
        within = httpx.get(f"{url}/v1/customers", params={"limit": 12}, auth=auth)
        assert where.threads["budget"][-1] == loop
        # A longer query (over 512 bytes) is decoded, and the read run, on a worker thread.
        before = len(where.threads["budget"])
        long = httpx.get(f"{url}/v1/customers?" + "&".join(["limit=12"] * 150), auth=auth)
        assert long.json() == within.json()
        assert len(where.threads["budget"]) == before + 1
        assert where.threads["budget"][-1] != loop
        monkeypatch.setattr(wire, "LOOP_BUDGET", 0.0)
        before = len(where.threads["budget"])
        past = httpx.get(f"{url}/v1/customers", params={"limit": 12}, auth=auth)
        first, again = where.threads["budget"][before:]
        assert first == loop and again != loop
        # A single object read with no parameters is not bounded: it stays on the loop.
        assert httpx.get(f"{url}/v1/customers/{made[0]}", auth=auth).status_code == 200
        assert where.threads["budget"][-1] == loop
        # The store serves on: a write, and the list again, from the loop's own connection.
        newest = httpx.post(f"{url}/v1/customers", auth=auth).json()["id"]
        after = httpx.get(f"{url}/v1/customers", params={"limit": 13}, auth=auth)
        assert [c["id"] for c in after.json()["data"]] == [newest, *made[::-1]]
    assert within.status_code == past.status_code == 200
    assert [c["id"] for c in past.json()["data"]] == made[::-1]
    assert past.json() == within.json()


def test_a_light_write_with_a_long_body_runs_on_a_worker_thread() -> None:
    """A customer's create runs on the loop with a body up to `WRITE_INLINE_MAX`; past it the
    body is decoded, and the write run, on a worker thread (nothing cuts a write short on the
    loop). Both answer the same way."""
    with _watched(seed=31) as (_app, where, url, loop):
        auth = ("sk_test_wbody", "")

        def create(size: int) -> int:
            head = "name=Jenny&description="
            body = head + "x" * (size - len(head))  # exactly `size` bytes
            resp = httpx.post(
                f"{url}/v1/customers",
                content=body.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                auth=auth,
            )
            assert resp.json()["description"] == body[len(head) :]
            return resp.status_code

        assert create(wire.WRITE_INLINE_MAX) == 200
        assert where.threads["wbody"][-1] == loop
        assert create(wire.WRITE_INLINE_MAX + 1) == 200
        assert where.threads["wbody"][-1] != loop


def test_a_server_without_worker_threads_does_all_its_work_on_the_loop() -> None:
    """`create_app(worker_threads=False)` (the scenario runner's own server): lists, heavy
    writes, control routes and a request that finds work due all run on the event loop, and no
    worker thread is ever started."""
    with _watched(seed=26, worker_threads=False) as (app, where, url, loop):
        auth = ("sk_test_inline", "")
        _light_and_heavy(url, auth)
        days = {"settlement_business_days": "0"}
        assert httpx.post(f"{url}/_fake/payments/settings", data=days, auth=auth).is_success
        pi = httpx.post(f"{url}/v1/payment_intents", data=ACH_PAYMENT, auth=auth).json()
        verify = f"{url}/v1/payment_intents/{pi['id']}/verify_microdeposits"
        assert httpx.post(verify, data=VERIFY_AMOUNTS, auth=auth).json()["status"] == "processing"
        # The debit settles at the next request, whose due work runs on the loop too.
        settled = httpx.get(f"{url}/v1/payment_intents/{pi['id']}", auth=auth).json()
        assert settled["status"] == "succeeded"
        assert len(where.threads["inline"]) >= 7
        assert set(where.threads["inline"]) == {loop}
        assert app.fake.lanes._pool is None


def _session(url: str, auth: tuple[str, str], customer: str) -> str:
    data = {
        "account_holder[type]": "customer",
        "account_holder[customer]": customer,
        "permissions[]": "payment_method",
    }
    session = httpx.post(f"{url}/v1/financial_connections/sessions", data=data, auth=auth)
    assert session.status_code == 200, session.text
    return str(session.json()["id"])


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_a_write_that_is_not_light_is_tried_on_the_loop_then_run_once_on_a_worker(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session's create writes one small object: light, on the loop. The test helper that
    completes it (as many accounts as the request names) is tried on the loop within
    `LOOP_BUDGET` (on SQLite, inside the write transaction it takes there without waiting);
    past it, what it staged is dropped and it runs again on a worker thread, once: its accounts
    and events are made once, and a retry with its idempotency key replays the answer."""
    db = str(tmp_path / "store.db") if store == "sqlite" else None
    with _watched(seed=29, db=db) as (_app, where, url, loop):
        auth = ("sk_test_sessions", "")
        cid = httpx.post(f"{url}/v1/customers", auth=auth).json()["id"]

        def complete(session: str, key: str | None = None) -> httpx.Response:
            helper = f"{url}/v1/test_helpers/financial_connections/sessions/{session}/complete"
            headers = {"Idempotency-Key": key} if key else {}
            found = httpx.post(helper, data={"outcome": "link"}, auth=auth, headers=headers)
            assert found.status_code == 200, found.text
            return found

        monkeypatch.setattr(wire, "LOOP_BUDGET", 60.0)
        first = _session(url, auth, cid)
        complete(first)
        assert where.threads["sessions"][1:] == [loop, loop]  # the create, the complete
        monkeypatch.setattr(wire, "LOOP_BUDGET", 0.0)
        second = _session(url, auth, cid)
        answer = complete(second, key="complete-once")
        created, tried, ran = where.threads["sessions"][3:]
        assert created == loop and tried == loop and ran != loop
        replayed = complete(second, key="complete-once")
        assert replayed.headers["idempotent-replayed"] == "true"
        assert replayed.json() == answer.json()
        accounts = [
            len(
                httpx.get(f"{url}/v1/financial_connections/sessions/{s}", auth=auth).json()[
                    "accounts"
                ]["data"]
            )
            for s in (first, second)
        ]
        assert accounts[0] >= 1 and accounts[1] == accounts[0]
        events = httpx.get(f"{url}/v1/events", params={"limit": 100}, auth=auth).json()["data"]
        made = [e["type"] for e in events if e["type"].startswith("financial_connections.")]
        assert Counter(made) == {  # one of each per complete, the one run again included
            "financial_connections.session.updated": 2,
            "financial_connections.account.created": 2 * accounts[0],
        }, made


def _checkpoints_counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The threads the SQLite store's checkpoints run on, one entry a checkpoint, as they run."""
    checkpoints: list[int] = []
    checkpoint = SQLiteBackend._checkpoint

    def counted(self: SQLiteBackend) -> None:
        checkpoints.append(threading.get_ident())
        checkpoint(self)

    monkeypatch.setattr(SQLiteBackend, "_checkpoint", counted)
    return checkpoints


def test_sqlite_a_light_write_runs_on_the_loop_while_the_lock_is_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small write to a SQLite store runs on the event loop when the file's write lock is
    free that instant, its WAL checkpoints left to a thread; when another process holds the
    lock, it waits for it on a worker thread (the loop never waits)."""
    monkeypatch.setattr(SQLiteBackend, "CHECKPOINT_EVERY", 5)
    checkpoints = _checkpoints_counted(monkeypatch)
    db = str(tmp_path / "store.db")
    with _watched(seed=27, db=db) as (_app, where, url, loop):
        auth = ("sk_test_w", "")
        for _ in range(12):
            assert httpx.post(f"{url}/v1/customers", auth=auth).status_code == 200
        assert set(where.threads["w"]) == {loop}
        deadline = time.monotonic() + PROMPT
        while len(checkpoints) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(checkpoints) >= 2 and loop not in checkpoints
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with ThreadPoolExecutor(1) as pool:
                write = pool.submit(httpx.post, f"{url}/v1/customers", auth=auth, timeout=30)
                time.sleep(0.3)
                assert _get(url, "sk_test_y").status_code == 200  # the loop is not held
                assert not write.done()
                other.execute("COMMIT")
                assert write.result().status_code == 200
        finally:
            other.close()
        assert where.threads["w"][-1] != loop


def test_sqlite_a_write_that_would_wait_for_another_process_says_so(tmp_path: Path) -> None:
    """A light write finding the process's write lock held waits for it on the loop only when
    its holder is writing; when the holder is itself waiting for another process's lock, the
    write is told so (`here` false) and waits on a worker thread: queued on the loop, such
    writes doubled another tenant's GET p99 while another process held the lock."""
    db = str(tmp_path / "store.db")
    backend = SQLiteBackend(db)
    other = sqlite3.connect(db, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        entered = threading.Event()

        def waiting_writer() -> None:
            with backend.transaction("x", True):
                entered.set()

        with ThreadPoolExecutor(1) as pool:
            done = pool.submit(waiting_writer)
            deadline = time.monotonic() + PROMPT
            while not backend._writer.locked() and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(0.05)  # it holds the process's lock and waits for the file's
            with pytest.raises(WouldWait) as busy:
                with backend.transaction("y", True, wait=False):
                    pass
            assert busy.value.here is False
            assert not entered.is_set()
            other.execute("COMMIT")
            done.result(timeout=PROMPT)
        with backend.transaction("y", True, wait=False):
            pass  # free now: taken at once
    finally:
        other.close()
        backend.close()


def test_sqlite_writes_on_the_loop_keep_the_wal_small(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The WAL starts over only after a checkpoint that caught up with it: the checkpoint thread
    holds the process's write lock for its last pass (those before copy beside the writes), so
    the loop's writes do not outrun it and the file stays near the size of the writes between
    two checkpoints (60 here: about 1,000 pages; it grew by some 70 KB a write while they did)."""
    monkeypatch.setattr(SQLiteBackend, "CHECKPOINT_EVERY", 60)
    db = tmp_path / "store.db"
    app = create_app(seed=28, db=str(db))
    try:
        with ServerThread(app) as url, httpx.Client(base_url=url, auth=("sk_test_wal", "")) as c:
            for n in range(400):
                r = c.post("/v1/customers", data={"email": f"c{n}@example.com"})
                assert r.status_code == 200
            wal = Path(f"{db}-wal").stat().st_size
        assert wal < 12 * 1024 * 1024, wal
    finally:
        app.fake.close()


def test_sqlite_no_commit_checkpoints_the_wal_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No connection checkpoints in its commit (SQLite's own would copy the whole WAL there,
    holding every other write of the process): writes on any thread, not only the event
    loop's, are counted for the checkpoint thread, which keeps the WAL from growing."""
    checkpoints = _checkpoints_counted(monkeypatch)

    def wal_after_writes(db: Path, every: int) -> int:
        monkeypatch.setattr(SQLiteBackend, "CHECKPOINT_EVERY", every)
        backend = SQLiteBackend(str(db))
        try:

            def write(n: int) -> None:  # waiting for the lock, as a worker thread's write does
                with backend.transaction("t", True):
                    backend.put("t", "customer", f"cus_{n}", "x" * 3000, {"email": f"{n}@x.io"})

            with ThreadPoolExecutor(2) as pool:
                list(pool.map(write, range(300)))
                (auto,) = pool.submit(
                    lambda: backend._db.execute("PRAGMA wal_autocheckpoint").fetchone()
                ).result()
            assert auto == 0
            deadline = time.monotonic() + PROMPT
            while len(checkpoints) < 300 // every and time.monotonic() < deadline:
                time.sleep(0.01)
            return Path(f"{db}-wal").stat().st_size
        finally:
            backend.close()

    unchecked = wal_after_writes(tmp_path / "never.db", 10**9)
    assert checkpoints == []  # no commit checkpointed either: the WAL holds every write
    checked = wal_after_writes(tmp_path / "store.db", 20)
    # Counted from the writers' threads: at least one ran (a checkpoint starts only when none
    # runs, so a slow machine sees fewer than the 15 a quiet one does), none in a commit.
    assert checkpoints and threading.get_ident() not in checkpoints
    # The WAL starts over once a checkpoint has copied all of it: about a third of the
    # unchecked size on a quiet machine, more when the checkpoint thread gets less of the CPU
    # (0.35 under a parallel test run, 0.54-0.66 beside two busy processes on 2 cores).
    assert checked < unchecked, (checked, unchecked)


def test_sqlite_close_waits_for_a_checkpoint_under_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A closed store leaves its file alone: `close` lets a checkpoint under way finish (a
    thread still copying the WAL after it could meet a file moved, cut or read by the next
    process) and starts none; the last connection's close then removes the WAL."""
    monkeypatch.setattr(SQLiteBackend, "CHECKPOINT_EVERY", 5)
    began, ended = threading.Event(), threading.Event()
    checkpoint, connect = SQLiteBackend._checkpoint, sqlite3.connect

    def watched(self: SQLiteBackend) -> None:
        checkpoint(self)
        ended.set()

    def slow_connect(*args: Any, **kw: Any) -> sqlite3.Connection:
        if threading.current_thread().name == "fake-stripe-checkpoint":
            began.set()  # the checkpoint's lock is held from here to its end
            time.sleep(0.3)
        made: sqlite3.Connection = connect(*args, **kw)
        return made

    monkeypatch.setattr(SQLiteBackend, "_checkpoint", watched)
    monkeypatch.setattr(sqlite3, "connect", slow_connect)
    db = tmp_path / "store.db"
    backend = SQLiteBackend(str(db))
    for n in range(5):
        backend.put("t", "customer", f"cus_{n}", "{}")
    assert began.wait(PROMPT)
    backend.close()
    assert ended.is_set()
    assert not Path(f"{db}-wal").exists()


def test_a_tenants_stored_objects_give_the_garbage_collector_nothing_to_walk() -> None:
    """A full collection stops every thread; had the memory store kept tuples or lists, one
    tenant's 100,000 objects would lengthen every other tenant's pause (about 16 ms at 130,000
    objects). Its containers hold only what the collector does not track."""
    import gc
    import json

    from fake_stripe.core.store import MemoryBackend

    store = MemoryBackend()
    store.put("t", "customer", "cus_0", "{}")  # the tenant's own structures exist now
    gc.collect()
    before = len(gc.get_objects())
    n = 5000
    for i in range(n):
        index = {"customer": f"cus_{i % 50}", "session": f"fcsess_{i}"}
        store.write("t", {"m": str(i)}, [(f"fca_{i}", ("account", json.dumps({"i": i}), index))])
    for i in range(0, n, 7):  # re-indexed (a value with a NUL in it too), and some deleted
        store.put("t", "account", f"fca_{i}", "{}", {"customer": "cus_x", "email": "a\0b"})
        if i % 2:
            store.delete("t", f"fca_{i}")
    gc.collect()
    assert len(gc.get_objects()) - before < 50
    tenant = store._tenants["t"]
    walked = [name for name in tenant.__slots__ if gc.is_tracked(getattr(tenant, name))]
    assert walked == ["lock"]
    # and it still answers as a store does
    found = [oid for oid, _ in store.iter_desc("t", "account", None, None, ("customer", "cus_3"))]
    assert found == [f"fca_{i}" for i in reversed(range(3, n, 50)) if i % 7]
    cus_x = ("customer", "cus_x")
    nul = [oid for oid, _ in store.iter_desc("t", "account", None, None, ("email", "a\0b"))]
    assert nul == [f"fca_{i}" for i in reversed(range(0, n, 14))]
    store.put("t", "account", "fca_0", "{}", {})  # unindexed from both entries
    left = [oid for oid, _ in store.iter_desc("t", "account", None, None, ("email", "a\0b"))]
    assert left == nul[:-1]
    assert "fca_0" not in [oid for oid, _ in store.iter_desc("t", "account", None, None, cus_x)]


def test_sqlite_a_control_route_that_never_gets_the_lock_is_a_429_not_a_500(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fake_stripe.core.store import sqlite as sqlite_store

    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_MS", 300)
    with _sqlite_lock_held_elsewhere(tmp_path) as (url, other):
        for path, data in [
            ("/_fake/payments/settings", {"settlement_business_days": "3"}),
            ("/_fake/reset", {"key": "sk_test_x"}),
        ]:
            r = httpx.post(f"{url}{path}", data=data, auth=("sk_test_x", ""), timeout=10)
            assert r.status_code == 429, (path, r.text)
            assert r.json()["error"]["code"] == "lock_timeout"
        other.execute("ROLLBACK")
        r = httpx.post(f"{url}/_fake/reset", data={"key": "sk_test_x"}, timeout=10)
        assert r.status_code == 200


def test_a_request_leaves_no_cycles_of_the_fakes_own_for_the_collector() -> None:
    """A request's staged state (its objects, rows, ids) is freed as the request ends, not
    left to the cyclic collector, whose collections stop every tenant's requests."""
    import gc

    app = create_app(seed=24)
    http = inprocess_client(app, headers={"Authorization": "Bearer sk_test_cycles"})
    cid = http.post("/v1/customers", data={"email": "jenny@example.com"}).json()["id"]
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(20):
            assert http.get(f"/v1/customers/{cid}").status_code == 200
            assert http.post("/v1/customers", data={"name": "J"}).status_code == 200
        gc.collect()
        ours = {type(o).__qualname__ for o in gc.garbage if type(o).__module__.startswith("fake_")}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
        app.fake.close()
    assert ours == set()


def test_sqlite_the_wal_is_copied_once_large_whatever_the_number_of_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tenant writing large objects grows the WAL by their size each commit: it is copied
    into the file once past `WAL_HIGH` (not only every `CHECKPOINT_EVERY` commits) and cut back
    to `JOURNAL_LIMIT` when it starts over, so it stays bounded whatever one tenant writes."""
    monkeypatch.setattr(SQLiteBackend, "CHECKPOINT_EVERY", 1_000_000)
    monkeypatch.setattr(SQLiteBackend, "WAL_HIGH", 512 * 1024)
    monkeypatch.setattr(SQLiteBackend, "JOURNAL_LIMIT", 256 * 1024)
    db = str(tmp_path / "store.db")
    wal = Path(db + "-wal")
    big = {f"metadata[k{i}]": "x" * 500 for i in range(50)}  # about 25 KB a customer
    app = create_app(db=db)
    largest = 0
    try:
        with inprocess_client(app) as c:
            for _ in range(200):  # some 5 MB of objects
                made = c.post("/v1/customers", data=big, auth=("sk_test_wal", ""))
                assert made.status_code == 200, made.text
                largest = max(largest, wal.stat().st_size)
    finally:
        app.fake.close()
    # One checkpoint's worth of writes may land before it catches up: a few times WAL_HIGH.
    assert largest < 4 * 512 * 1024, largest
