"""A request's work on a worker thread pauses for the event loop while other tenants are served
(`core.turns`), and only then. The pauses are counted, never timed: how much they give the
other tenants is measured by the chaos suite's largest-requests phase (`docs/benchmarks.md`)."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from fake_stripe import create_app
from fake_stripe.core import turns
from fake_stripe.http_server import ServerThread


class Pauses:
    """Each pause: the thread that paused, and the tenant whose work it was."""

    def __init__(self) -> None:
        self.threads: list[str] = []
        self.tenants: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        work = turns._local.work
        with self._lock:
            self.threads.append(threading.current_thread().name)
            self.tenants.append(work.tenant if work is not None else "")


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> Pauses:
    counted = Pauses()
    monkeypatch.setattr(turns, "_pause", counted)
    return counted


def _compute(seconds: float) -> int:
    """Work that reaches a checkpoint every few microseconds, for `seconds`."""
    n = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        turns.checkpoint()
        n += 1
    return n


def test_work_pauses_only_while_another_tenant_was_seen_lately(
    pauses: Pauses, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(turns, "WINDOW", 60.0)  # "lately", however loaded the machine
    recent = turns.Recent()
    work = turns.taking_turns("a", recent, _compute)
    recent.saw("a")
    work(0.01)  # alone on the server
    assert pauses.threads == []
    recent.saw("b")
    recent.saw("a")  # b is still recent: the one seen before a
    work(0.01)
    assert len(pauses.threads) >= 5  # one per BUDGET of work, at most
    assert recent.others("a") <= recent.others("b") < float("inf")  # b's time, then a's


def test_decoding_a_long_body_on_a_worker_thread_pauses_for_other_tenants(
    pauses: Pauses, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body past what a light write decodes on the loop is decoded on a worker thread, one
    C-free loop over its pairs: it reaches a checkpoint every 128 pairs."""
    from fake_stripe.core import formdata

    monkeypatch.setattr(turns, "WINDOW", 60.0)
    monkeypatch.setattr(turns, "BUDGET", 0.0)  # every checkpoint is past the budget
    recent = turns.Recent()
    recent.saw("b")
    recent.saw("a")
    body = "&".join(["a=b"] * 1000).encode()  # one key repeated: the decoder's slowest shape
    decoded = turns.taking_turns("a", recent, formdata.decode)(body)
    assert len(decoded["a"]) == 1000
    assert len(pauses.threads) == 1000 // 128


def test_another_tenant_seen_longer_ago_than_the_window_does_not_count(
    pauses: Pauses, monkeypatch: pytest.MonkeyPatch
) -> None:
    recent = turns.Recent()
    recent.saw("b")
    monkeypatch.setattr(turns, "WINDOW", 0.0)
    turns.taking_turns("a", recent, _compute)(0.005)
    assert pauses.threads == []


def test_work_not_handed_to_a_worker_never_pauses(pauses: Pauses) -> None:
    # In-process, and on the event loop's own thread, the work runs as it is.
    recent = turns.Recent()
    recent.saw("b")
    _compute(0.005)
    assert pauses.threads == []


def test_bounded_work_on_the_loop_stops_at_the_first_checkpoint_past_its_budget() -> None:
    with turns.on_loop(60):
        turns.checkpoint()  # within the budget
    stopped = []
    with turns.on_loop(0.001):
        time.sleep(0.002)
        # Another thread's checkpoints are not bounded by this one's budget.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(turns.checkpoint).result()
        with pytest.raises(turns.OutOfTurn):
            turns.checkpoint()
        stopped.append(True)
        turns.unbounded()  # a commit begun: it runs whole
        turns.checkpoint()
    assert stopped
    turns.checkpoint()  # once the block has ended, nothing is bounded
    assert turns._bounded == set()


@pytest.fixture
def served() -> Iterator[str]:
    app = create_app(seed=31)
    with ServerThread(app) as url:
        yield url
    app.fake.close()


LINK = {"outcome": "link", **{f"accounts[{i}][subcategory]": "checking" for i in range(30)}}
SESSION = {
    "account_holder[type]": "customer",
    "permissions[0]": "payment_method",
    "permissions[1]": "transactions",
    "prefetch[0]": "transactions",
}


def _complete(url: str, key: str) -> int:
    auth = (key, "")
    cus = httpx.post(f"{url}/v1/customers", auth=auth).json()["id"]
    session = httpx.post(
        f"{url}/v1/financial_connections/sessions",
        data={**SESSION, "account_holder[customer]": cus},
        auth=auth,
    ).json()["id"]
    done = httpx.post(
        f"{url}/v1/test_helpers/financial_connections/sessions/{session}/complete",
        data=LINK,
        auth=auth,
        timeout=30,
    )
    return done.status_code


def test_a_large_request_pauses_for_another_tenants_requests_under_a_server(
    served: str, pauses: Pauses, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "Being served" for the whole test, however slow a loaded machine makes the other GETs.
    monkeypatch.setattr(turns, "WINDOW", 60.0)
    assert _complete(served, "sk_test_alone") == 200
    assert pauses.threads == []  # nobody else was served

    stop, first = threading.Event(), threading.Event()

    def other_tenant() -> int:
        n = 0
        with httpx.Client(base_url=served, auth=("sk_test_other", "")) as http:
            while not stop.is_set():
                assert http.get("/v1/customers").is_success
                n += 1
                first.set()
        return n

    with ThreadPoolExecutor(1) as pool:
        gets = pool.submit(other_tenant)
        try:
            assert first.wait(10), "the other tenant was never served"
            assert _complete(served, "sk_test_large") == 200
        finally:
            stop.set()
        assert gets.result() > 0
    assert "large" in pauses.tenants  # the large request's own work paused
    assert all(name.startswith("fake-stripe-request") for name in pauses.threads)


def test_work_holding_sqlites_write_lock_does_not_pause(
    pauses: Pauses, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite has one write lock for every tenant: a pause inside a write transaction would
    lengthen every other tenant's wait for it. A read transaction pauses as any work does."""
    from fake_stripe.core.store.sqlite import SQLiteBackend

    monkeypatch.setattr(turns, "WINDOW", 60.0)  # b stays recent, however loaded the machine

    backend = SQLiteBackend(str(tmp_path / "t.db"))
    recent = turns.Recent()
    recent.saw("b")

    def work(write: bool, after: float = 0.0) -> None:
        with backend.transaction("a", write):
            _compute(0.005)
        _compute(after)

    try:
        turns.taking_turns("a", recent, work)(True)
        assert pauses.threads == []
        turns.taking_turns("a", recent, work)(True, 0.005)  # the lock given back: pauses again
        assert pauses.threads
        pauses.threads.clear()
        turns.taking_turns("a", recent, work)(False)
        assert pauses.threads
    finally:
        backend.close()


def test_time_spent_waiting_for_the_store_is_not_work(pauses: Pauses) -> None:
    """A request whose time goes on store round trips (PostgreSQL) gives the loop the GIL at
    each of them: the budget starts again after a wait, so such work does not pause too."""
    recent = turns.Recent()
    recent.saw("b")
    recent.saw("a")

    def round_trips(n: int, noted: bool) -> None:
        for _ in range(n):
            time.sleep(2 * turns.BUDGET)  # a wait, longer than the budget
            if noted:
                turns.waited()
            turns.checkpoint()

    work = turns.taking_turns("a", recent, round_trips)
    work(20, False)
    assert len(pauses.threads) == 20  # each wait counted as work: a pause after every one
    pauses.threads.clear()
    work(20, True)
    assert len(pauses.threads) <= 2  # (a thread descheduled right after a wait may pause)


def test_postgres_reads_are_snapshots_and_writes_are_not_on_one_connection() -> None:
    """The isolation level is named in BEGIN (one round trip), so a connection that served a
    read must not carry REPEATABLE READ into the next write, nor the other way round."""
    from fake_stripe.core.store.postgres import PostgresBackend

    from .stores import postgres_schema

    for url in postgres_schema():
        backend = PostgresBackend(url)
        try:
            seen = []
            for write in (False, True, False, True):
                with backend.transaction("a", write):
                    row = backend._q("SHOW transaction_isolation", ()).fetchone()
                    seen.append(row[0] if row else None)
            assert seen == ["repeatable read", "read committed"] * 2
        finally:
            backend.close()


def _round_trips(conn: Any, call: Callable[[], object]) -> list[str]:
    """What a PostgreSQL connection sent during `call()`, one entry per round trip (libpq's
    protocol trace: the statements up to each `ReadyForQuery`)."""
    import psycopg

    with tempfile.TemporaryFile() as f:
        conn.pgconn.trace(f.fileno())
        conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            call()
        finally:
            conn.pgconn.untrace()
        f.seek(0)
        lines = f.read().decode().splitlines()
    trips, sent = [], []
    for line in lines:
        direction, _, message, *rest = line.split("\t") + [""]
        if direction == "F" and message in ("Query", "Parse"):
            sent.append(rest[0].split('"')[1][:60])
        elif direction == "B" and message == "ReadyForQuery":
            trips.append(" | ".join(sent))
            sent = []
    return trips


def test_postgres_begin_travels_with_the_next_statement() -> None:
    """A read's `BEGIN` goes with its first read, a write's with the tenant's lock: a GET of one
    object is three round trips (BEGIN and the tenant's clock, the object, COMMIT)."""
    from .stores import postgres_schema

    for url in postgres_schema():
        _check_round_trips(url)


def _check_round_trips(url: str) -> None:
    from fake_stripe.core.store.postgres import PostgresBackend
    from fake_stripe.inprocess import client

    backend = PostgresBackend(url)
    app = create_app(seed=7, backend=backend)
    try:
        api = client(app)
        api.headers["Authorization"] = "Bearer sk_test_trips"
        cid = api.post("/v1/customers").json()["id"]
        conn = backend._threads.slot().conn
        trips = _round_trips(conn, lambda: api.get(f"/v1/customers/{cid}"))
        assert len(trips) == 3, trips
        assert trips[0].startswith("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT")
        assert trips[-1] == "COMMIT"
        trips = _round_trips(conn, lambda: api.post("/v1/customers"))
        assert trips[0].startswith("BEGIN; SELECT pg_advisory_xact_lock"), trips
        assert trips[-1] == "COMMIT"

        def read_nothing() -> None:
            with backend.transaction("trips", False):
                pass

        assert _round_trips(conn, read_nothing) == []  # a read that reads nothing sends nothing
    finally:
        app.fake.close()  # its webhook delivery (which renews leases in the store), then the store
