"""The three stores behind one interface: memory, SQLite and PostgreSQL give the same answers,
and the shared ones (SQLite, PostgreSQL) keep their promises across processes: atomic request
transactions, one winner per idempotency key, one holder per delivery lease.

One fixture (`store`) serves every case; `store.open()` opens another handle on the same store
(for SQLite and PostgreSQL another connection, as a second process would have). The cases that
run real `fake-stripe serve` processes use the same fixture with the shared stores only.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from fake_stripe import create_app
from fake_stripe.core.store import Backend, Conflict, MemoryBackend, SQLiteBackend
from fake_stripe.core.store.base import Busy
from fake_stripe.core.store.sql import SCHEMA_VERSION
from fake_stripe.core.store.threads import Writers
from fake_stripe.core.tenant import StagedTenant, Tenant
from fake_stripe.inprocess import client as inprocess_client
from fake_stripe.resources.customer_object import Customer
from tests.stores import db_for
from tests.test_serve import start, stop
from tests.test_webhooks import Receiver, create_endpoint, eventually, journal, settings

SHARED = ["sqlite", "postgres"]


@dataclass
class Store:
    kind: str
    db: str | None
    handles: list[Backend] = field(default_factory=list)

    def open(self, schema_version: int | None = None) -> Backend:
        """Another handle on this store (the same one for memory: it lives in one process)."""
        if self.kind == "memory":
            if not self.handles:
                self.handles.append(MemoryBackend())
            return self.handles[0]
        assert self.db is not None
        backend: Backend
        if self.kind == "sqlite":
            backend = (
                SQLiteBackend(self.db)
                if schema_version is None
                else SQLiteBackend(self.db, schema_version)
            )
        else:
            from fake_stripe.core.store.postgres import PostgresBackend

            backend = (
                PostgresBackend(self.db)
                if schema_version is None
                else PostgresBackend(self.db, schema_version)
            )
        self.handles.append(backend)
        return backend


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    dbs = db_for(request.param, tmp_path)
    s = Store(request.param, next(dbs))
    yield s
    for h in s.handles:
        h.close()
    for _ in dbs:  # drops the PostgreSQL schema
        pass


# ---- the same answers from every store -------------------------------------------------------


def test_objects_are_listed_newest_first_and_paged_from_a_cursor(store: Store) -> None:
    b = store.open()
    for i in range(5):
        b.put("t", "customer", f"cus_{i}", json.dumps({"n": i}))
    b.put("t", "event", "evt_x", "{}")
    b.put("other", "customer", "cus_other", "{}")
    ids = [oid for oid, _ in b.iter_desc("t", "customer", None, None)]
    assert ids == ["cus_4", "cus_3", "cus_2", "cus_1", "cus_0"]
    assert [o for o, _ in b.iter_desc("t", "customer", "cus_2", None)] == ["cus_1", "cus_0"]
    assert [o for o, _ in b.iter_desc("t", "customer", None, "cus_2")] == ["cus_3", "cus_4"]
    b.put("t", "customer", "cus_1", json.dumps({"n": 10}))  # an update keeps its place
    b.delete("t", "cus_3")
    assert [o for o, _ in b.iter_desc("t", "customer", None, None)] == [
        "cus_4",
        "cus_2",
        "cus_1",
        "cus_0",
    ]
    assert b.get("t", "cus_1") == ("customer", json.dumps({"n": 10}))
    assert b.get("t", "cus_3") is None
    assert b.get("other", "cus_1") is None


def test_a_filtered_list_reads_only_the_objects_whose_indexed_field_matches(
    store: Store,
) -> None:
    b = store.open()
    for i in range(200):
        email = "me@example.com" if i % 50 == 0 else f"u{i}@example.com"
        b.put("t", "customer", f"cus_{i:03}", "{}", {"email": email})
    found = [o for o, _ in b.iter_desc("t", "customer", None, None, ("email", "me@example.com"))]
    assert found == ["cus_150", "cus_100", "cus_050", "cus_000"]
    after = b.iter_desc("t", "customer", "cus_100", None, ("email", "me@example.com"))
    assert [o for o, _ in after] == ["cus_050", "cus_000"]
    before = b.iter_desc("t", "customer", None, "cus_050", ("email", "me@example.com"))
    assert [o for o, _ in before] == ["cus_100", "cus_150"]
    # A changed value moves the object; a deleted object leaves the index; {} clears it.
    b.put("t", "customer", "cus_100", "{}", {"email": "else@example.com"})
    b.delete("t", "cus_000")
    b.put("t", "customer", "cus_050", "{}", {})
    found = [o for o, _ in b.iter_desc("t", "customer", None, None, ("email", "me@example.com"))]
    assert found == ["cus_150"]
    assert [o for o, _ in b.iter_desc("t", "customer", None, None, ("email", "else@example.com"))]
    assert not list(b.iter_desc("other", "customer", None, None, ("email", "me@example.com")))


def test_a_filter_reads_its_own_entry_only_where_tenants_fields_and_values_share_a_start(
    store: Store,
) -> None:
    # PostgreSQL walks one byte string per row (`sql.lookup_key`): an entry whose parts begin
    # another's, or end one byte past it, is not walked with it.
    b = store.open()
    near = [
        ("t", "customer", "email", "a"),
        ("t", "customer", "email", "ab"),
        ("t", "customer", "email", "a\x01"),
        ("t", "customer", "emails", "a"),
        ("t", "customers", "email", "a"),
        ("tt", "customer", "email", "a"),
        ("t", "customer", "email", "é"),
    ]
    mine = []
    for i in range(30):
        tenant, kind, field, value = near[i % len(near)]
        oid = f"obj_{i:02}"
        b.put(tenant, kind, oid, "{}", {field: value})
        if i % len(near) == 0:
            mine.append(oid)
    newest = mine[::-1]

    def walk(after: str | None, before: str | None, value: str = "a") -> list[str]:
        return [o for o, _ in b.iter_desc("t", "customer", after, before, ("email", value))]

    assert walk(None, None) == newest
    assert walk(newest[1], None) == newest[2:]
    assert walk(None, newest[2]) == newest[:2][::-1]
    assert walk(newest[-1], None) == [] and walk(None, newest[0]) == []
    assert walk(None, None, "é") == ["obj_27", "obj_20", "obj_13", "obj_06"]
    assert walk(None, None, "a\x01") == ["obj_23", "obj_16", "obj_09", "obj_02"]
    many = b.iter_desc("t", "customer", None, None, [("email", "a"), ("email", "ab")])
    assert [o for o, _ in many] == sorted(
        mine + ["obj_01", "obj_08", "obj_15", "obj_22", "obj_29"], reverse=True
    )


def test_objects_a_request_numbered_are_written_as_new_and_updated_by_the_next_commit(
    store: Store,
) -> None:
    """A request's new objects (ids it numbered) are written without looking for them in the
    store; the same staged tenant's next commit finds them stored: an update of one keeps its
    place and moves its index entry."""
    b = store.open()
    tenant = StagedTenant(Tenant(b, "t", seed=3))
    with b.transaction("t", True):
        tenant.begin()
        first, second = tenant.new_id("cus"), tenant.new_id("cus")
        for oid in (first, second):
            tenant.put_row("customer", oid, json.dumps({"id": oid}), {"email": f"{oid}@x.io"})
        tenant.commit()
        tenant.put_row("customer", first, '{"v": 2}', {"email": "moved@x.io"})
        tenant.commit()
    assert [o for o, _ in b.iter_desc("t", "customer", None, None)] == [second, first]
    assert b.get("t", first) == ("customer", '{"v": 2}')
    moved = b.iter_desc("t", "customer", None, None, ("email", "moved@x.io"))
    assert [o for o, _ in moved] == [first]
    assert not list(b.iter_desc("t", "customer", None, None, ("email", f"{first}@x.io")))


def test_a_sqlite_write_of_new_objects_only_looks_for_none_of_them(tmp_path: Path) -> None:
    b = SQLiteBackend(str(tmp_path / "s.db"))
    statements: list[str] = []
    try:
        b.put("t", "customer", "cus_old", "{}", {"email": "a@x.io"})
        b._db.set_trace_callback(statements.append)
        b.write("t", {}, [("cus_new", ("customer", "{}", {"email": "b@x.io"}))], {"cus_new"})
        assert not [s for s in statements if s.startswith("SELECT")]
        b.write("t", {}, [("cus_old", ("customer", '{"v": 2}', {"email": "c@x.io"}))])
        assert [s for s in statements if s.startswith("SELECT")]  # an update looks it up
        assert [o for o, _ in b.iter_desc("t", "customer", None, None)] == ["cus_new", "cus_old"]
    finally:
        b._db.set_trace_callback(None)
        b.close()


def test_a_tenant_may_hold_a_kind_once_a_write_stored_one_of_it(store: Store) -> None:
    """`may_hold` is False only while the tenant has never held the kind: the SQL stores mark
    it (`Backend.marked`) in the write that stores the first, and keep the mark after a
    delete (the walk then finds nothing)."""
    b = store.open()
    assert not b.may_hold("t", "webhook_endpoint")
    b.write("t", {}, [("cus_1", ("customer", "{}", None))], {"cus_1"})
    assert not b.may_hold("t", "webhook_endpoint")
    b.write("t", {"k": "v"}, [("we_1", ("webhook_endpoint", "{}", None))], {"we_1"})
    assert b.may_hold("t", "webhook_endpoint")
    assert b.meta_get("t", "k") == "v"
    assert not b.may_hold("u", "webhook_endpoint")
    b.write("t", {}, [("we_1", None)])
    assert b.may_hold("t", "webhook_endpoint")
    assert not list(b.iter_desc("t", "webhook_endpoint", None, None))


def test_several_names_are_read_in_one_call_and_only_those_set_come_back(store: Store) -> None:
    b = store.open()
    b.meta_set("t", "a", "1")
    b.meta_set("t", "b", "2")
    b.meta_set("other", "c", "3")
    assert b.meta_many("t", ("a", "b", "c", "missing")) == {"a": "1", "b": "2"}
    assert b.meta_many("t", ()) == {}
    assert b.meta_many("nobody", ("a",)) == {}


def test_meta_swap_lets_exactly_one_caller_claim_a_name(store: Store) -> None:
    b = store.open()
    assert b.meta_swap("t", "idem:k", None, "first")
    assert not b.meta_swap("t", "idem:k", None, "second")
    assert not b.meta_swap("t", "idem:k", "stale", "third")
    assert b.meta_swap("t", "idem:k", "first", "fourth")
    assert b.meta_get("t", "idem:k") == "fourth"


def test_concurrent_claims_of_one_key_from_two_handles_have_one_winner(store: Store) -> None:
    a, b = store.open(), store.open()
    rounds = 40
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        wins = list(
            pool.map(
                lambda i: (a if i % 2 else b).meta_swap("t", f"k{i // 8}", None, str(i)),
                range(rounds * 8),
            )
        )
    assert sum(wins) == rounds


def test_increment_never_hands_out_a_number_twice_across_handles(store: Store) -> None:
    a, b = store.open(), store.open()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda i: (a if i % 2 else b).increment("t", "n"), range(400)))
    assert sorted(got) == list(range(1, 401))


def test_read_modify_write_in_write_transactions_loses_no_update(store: Store) -> None:
    handles = [store.open(), store.open()]

    def add_one(i: int) -> None:
        b = handles[i % 2]
        with b.transaction("t", write=True):
            n = int(b.meta_get("t", "count") or 0)
            time.sleep(0.0005)  # widen the window a lost update needs
            b.meta_set("t", "count", str(n + 1))

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(add_one, range(200)))
    assert handles[0].meta_get("t", "count") == "200"


# Shared stores only: the memory store has no rollback (requests stage their writes instead).
@pytest.mark.parametrize("store", SHARED, indirect=True)
def test_a_transaction_that_fails_leaves_nothing_behind(store: Store) -> None:
    b = store.open()
    with pytest.raises(RuntimeError), b.transaction("t", write=True):
        b.put("t", "customer", "cus_1", "{}")
        b.meta_set("t", "x", "1")
        raise RuntimeError("handler failed")
    assert b.get("t", "cus_1") is None
    assert b.meta_get("t", "x") is None


# Shared stores only: in one process nobody else writes.
@pytest.mark.parametrize("store", SHARED, indirect=True)
def test_a_read_transaction_that_must_write_after_another_writer_conflicts(
    store: Store,
) -> None:
    a, b = store.open(), store.open()
    a.meta_set("t", "x", "0")
    with pytest.raises(Conflict), a.transaction("t", write=False):
        assert a.meta_get("t", "x") == "0"
        b.meta_set("t", "x", "1")
        a.meta_set("t", "x", "2")
    assert a.meta_get("t", "x") == "1"


# Shared stores only: in one process nobody else holds the lock.
@pytest.mark.parametrize("store", SHARED, indirect=True)
def test_a_write_lock_held_too_long_is_reported_as_busy(store: Store, monkeypatch: Any) -> None:
    a, b = store.open(), store.open()
    if store.kind == "sqlite":
        b._db.execute("PRAGMA busy_timeout=100")  # type: ignore[attr-defined]
    else:
        b._conn.execute("SET lock_timeout = '100ms'")  # type: ignore[attr-defined]
    with a.transaction("t", write=True):
        a.meta_set("t", "x", "1")
        with pytest.raises(Busy), b.transaction("t", write=True):
            pass


# ---- leases ----------------------------------------------------------------------------------


def test_a_lease_is_held_by_one_owner_until_it_expires(store: Store) -> None:
    a, b = store.open(), store.open()
    now = time.time()
    assert a.lease("t", "whdel_1", "A", now + 30, now)
    assert a.lease("t", "whdel_1", "A", now + 60, now)  # its owner renews it
    assert not b.lease("t", "whdel_1", "B", now + 30, now)
    assert b.claim_expired("B", now + 30, now, 10) == []
    later = now + 61
    assert b.claim_expired("B", later + 30, later, 10) == [("t", "whdel_1")]
    assert not a.lease("t", "whdel_1", "A", later + 30, later)
    assert b.renew("B", later + 90) == 1
    b.release_all("B")
    assert a.lease("t", "whdel_1", "A", later + 30, later)
    a.put("t", "webhook_delivery", "whdel_1", "{}")
    a.delete("t", "whdel_1")  # the lease goes with the object
    assert b.lease("t", "whdel_1", "B", later + 30, later)


def test_any_expired_sees_a_lease_once_it_lapses_without_taking_it(store: Store) -> None:
    a = store.open()
    now = time.time()
    assert not a.any_expired(now)
    a.lease("t", "whdel_1", "A", now + 30, now)
    assert not a.any_expired(now)
    assert a.any_expired(now + 31)
    assert a.any_expired(now + 31)  # looking takes nothing
    assert a.claim_expired("B", now + 90, now + 31, 10) == [("t", "whdel_1")]
    assert not a.any_expired(now + 31)


@pytest.mark.parametrize("store", SHARED, indirect=True)
def test_a_lease_that_lapses_after_the_start_is_taken_over_before_any_delivery(
    store: Store,
) -> None:
    """A process with nothing to deliver starts no delivery, but keeps looking for leases
    that lapse (another process that shared the store died owing deliveries): delivery
    starts with the first it finds, and takes it over."""
    app = create_app(backend=store.open(), seed=1, webhook_lease_seconds=0.3)
    try:
        assert app.fake._webhooks is None  # nothing owed: delivery not started
        # Another process's lease, made after this one started, lapsing half a second later.
        now = time.time()
        store.open().lease("t", "whdel_gone", "a process that died", now + 0.5, now)
        eventually(lambda: app.fake._webhooks is not None)
        other = store.open()
        # Delivery starts, then claims what lapsed: once it has, no lease has lapsed.
        eventually(lambda: not other.any_expired(time.time()))
        assert not other.lease("t", "whdel_gone", "a process that died", time.time() + 9, 0.0)
        assert not other.lease("t", "whdel_gone", "another", time.time() + 9, time.time())
    finally:
        app.fake.close()


@pytest.mark.parametrize("store", SHARED, indirect=True)
def test_a_close_while_a_lapsed_lease_is_taken_over_leaves_it_released(
    store: Store, monkeypatch: Any
) -> None:
    """`close` waits for a takeover under way, then releases what it claimed: a lease claimed
    after the close would be held from every other process until it lapsed again."""
    from fake_stripe.webhooks.delivery import Deliveries

    resume = Deliveries.resume_pending
    entered = threading.Event()

    def slow_resume(self: Deliveries) -> int:
        entered.set()
        time.sleep(0.3)  # the close comes now
        return resume(self)

    monkeypatch.setattr(Deliveries, "resume_pending", slow_resume)
    app = create_app(backend=store.open(), seed=1, webhook_lease_seconds=3)
    now = time.time()
    store.open().lease("t", "whdel_gone", "a process that died", now + 0.2, now)
    assert entered.wait(10)
    app.fake.close()
    now = time.time()
    assert store.open().lease("t", "whdel_gone", "another", now + 9, now)


def test_expired_leases_are_claimed_by_exactly_one_of_two_handles(store: Store) -> None:
    a, b = store.open(), store.open()
    for i in range(300):
        a.lease("t", f"whdel_{i}", "dead", 1.0, 0.0)
    now = time.time()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        batches = list(
            pool.map(
                lambda i: (a if i % 2 else b).claim_expired(f"o{i}", now + 30, now, 25),
                range(24),
            )
        )
    claimed = [pair for batch in batches for pair in batch]
    assert len(claimed) == len(set(claimed)) == 300


# ---- schema versions -------------------------------------------------------------------------


# Shared stores only: the memory store has no schema.
@pytest.mark.parametrize("store", SHARED, indirect=True)
def test_an_old_schema_is_migrated_keeping_every_row(store: Store) -> None:
    old = store.open(schema_version=1)
    assert old.schema_version() == 1  # type: ignore[attr-defined]
    # (not ASCII: PostgreSQL's migration writes the key Python writes, in UTF-8)
    cus = Customer(id="cus_old", created=1, email="këpt@example.com").model_dump_json()
    old.put("t", "customer", "cus_old", cus)  # version 1 had no lookup table: index=None
    old.put("t", "event", "evt_old", json.dumps({"id": "evt_old", "type": "customer.created"}))
    old.put("t", "webhook_delivery", "whdel_old", "{}")
    old.meta_set("t", "id_counter", "41")
    old.marked = {}  # as a fake-stripe before markers wrote it
    old.put("t", "webhook_endpoint", "we_old", "{}")
    old.put("u", "customer", "cus_u", cus)
    old.close()
    store.handles.remove(old)
    new = store.open()
    assert new.schema_version() == SCHEMA_VERSION  # type: ignore[attr-defined]
    # The tenant that held a webhook endpoint is marked as holding one; the other is not.
    assert new.may_hold("t", "webhook_endpoint")
    assert not new.may_hold("u", "webhook_endpoint")
    assert new.get("t", "cus_old") == ("customer", cus)
    assert new.increment("t", "id_counter") == 42
    by_email = new.iter_desc("t", "customer", None, None, ("email", "këpt@example.com"))
    assert [o for o, _ in by_email] == ["cus_old"]
    by_type = new.iter_desc("t", "event", None, None, ("type", "customer.created"))
    assert [o for o, _ in by_type] == ["evt_old"]
    # A delivery stored before leases existed is anyone's to take.
    now = time.time()
    assert new.claim_expired("me", now + 30, now, 10) == [("t", "whdel_old")]
    # Opening it again migrates nothing twice.
    assert store.open().schema_version() == SCHEMA_VERSION  # type: ignore[attr-defined]


# ---- through the API -------------------------------------------------------------------------


def test_listing_customers_by_email_decodes_only_the_matches(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(backend=store.open(), seed=1)
    with inprocess_client(app, auth=("sk_test_idx", "")) as api:
        for i in range(60):
            email = "find@example.com" if i % 20 == 0 else f"c{i}@example.com"
            assert api.post("/v1/customers", data={"email": email}).status_code == 200
        decoded = 0
        real = Customer.model_validate_json

        def counting(data: Any, *args: Any, **kw: Any) -> Customer:
            nonlocal decoded
            decoded += 1
            return real(data, *args, **kw)

        monkeypatch.setattr(Customer, "model_validate_json", counting)
        page = api.get("/v1/customers", params={"email": "find@example.com"}).json()
        assert len(page["data"]) == 3
        assert decoded == 3
        events = api.get("/v1/events", params={"type": "customer.created", "limit": 100})
        assert len(events.json()["data"]) == 60
    app.fake.close()


def test_a_null_byte_anywhere_in_a_request_is_a_400_naming_its_parameter(store: Store) -> None:
    # PostgreSQL's text holds no NUL: sent on, one was a 500 there and stored elsewhere.
    app = create_app(backend=store.open(), seed=1)
    with inprocess_client(app, auth=("sk_test_nul", "")) as api:
        cus = api.post("/v1/customers", data={"email": "a@example.com"}).json()["id"]
        refused = [
            (api.get("/v1/customers", params={"email": "a\0b"}), "email"),
            (api.get("/v1/customers", params={"starting_after": "cus_\0"}), "starting_after"),
            (api.get("/v1/events", params={"type": "customer.created\0"}), "type"),
            (api.post("/v1/customers", content=b"email=a%00b"), "email"),
            (api.post("/v1/customers", content=b"name=a\x00b"), "name"),
            (api.post("/v1/customers", content=b"metadata[k%00]=v"), "metadata[k\0]"),
            (api.post(f"/v1/customers/{cus}", data={"email": "x\0"}), "email"),
            (api.get(f"/v1/customers/{cus}%00"), None),
        ]
        for response, param in refused:
            assert response.status_code == 400, response.text
            error = response.json()["error"]
            assert error["type"] == "invalid_request_error"
            assert error.get("param") == param
            assert "null byte" in error["message"]
        kept = api.get(f"/v1/customers/{cus}").json()
        assert kept["email"] == "a@example.com" and kept["metadata"] == {}
        assert len(api.get("/v1/customers").json()["data"]) == 1
    app.fake.close()


# Shared stores only: nothing survives a memory store's restart.
@pytest.mark.parametrize("store", SHARED, indirect=True)
def test_a_stored_delivery_that_cannot_be_resumed_is_skipped_and_the_app_starts(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    b = store.open()
    good = {
        "id": "whdel_good",
        "object": "webhook_delivery",
        "event": "evt_1",
        "endpoint": "we_1",
        "next_at": time.time() + 3600,
    }
    b.put("t", "webhook_delivery", "whdel_good", json.dumps(good))
    b.put(
        "t",
        "webhook_delivery",
        "whdel_null",
        json.dumps({**good, "id": "whdel_null", "next_at": None}),
    )
    b.put("t", "webhook_delivery", "whdel_junk", "not json at all")
    for oid in ("whdel_good", "whdel_null", "whdel_junk"):
        b.lease("t", oid, "", 0.0, 0.0)
    with caplog.at_level(logging.WARNING, logger="fake_stripe"):
        app = create_app(backend=store.open(), seed=1)
    try:
        assert "skipping stored webhook delivery whdel_null of tenant t" in caplog.text
        assert "skipping stored webhook delivery whdel_junk of tenant t" in caplog.text
        with inprocess_client(app) as api:
            assert api.get("/_fake/health").status_code == 200
    finally:
        app.fake.close()


# ---- real processes on one store -------------------------------------------------------------


def _serve(store: Store, *extra: str) -> tuple[Any, str]:
    assert store.db is not None
    return start("--db", store.db, *extra)


@pytest.mark.parametrize("store", SHARED, indirect=True)
def test_two_processes_updating_one_customer_lose_no_acknowledged_update(
    store: Store,
) -> None:
    a, url_a = _serve(store)
    b, url_b = _serve(store)
    try:
        auth = ("sk_test_race", "")
        clients = [httpx.Client(base_url=u, auth=auth) for u in (url_a, url_b)]
        cid = clients[0].post("/v1/customers").json()["id"]
        acked: list[str] = []
        refused: list[str] = []

        def update(i: int) -> None:
            r = clients[i % 2].post(f"/v1/customers/{cid}", data={f"metadata[k{i}]": str(i)})
            if r.status_code == 200:
                acked.append(f"k{i}")
            else:
                refused.append(r.text)

        with concurrent.futures.ThreadPoolExecutor(40) as pool:
            list(pool.map(update, range(200)))
        for c in clients:
            c.close()
        assert refused == []
        assert len(acked) == 200
        stored = httpx.get(f"{url_b}/v1/customers/{cid}", auth=auth).json()["metadata"]
        lost = sorted(set(acked) - set(stored))
        assert lost == []
    finally:
        stop(a)
        stop(b)


@pytest.mark.parametrize("store", SHARED, indirect=True)
def test_one_idempotency_key_raced_from_two_processes_makes_one_object(store: Store) -> None:
    a, url_a = _serve(store)
    b, url_b = _serve(store)
    try:
        auth = ("sk_test_idem", "")
        clients = [httpx.Client(base_url=u, auth=auth) for u in (url_a, url_b)]
        rounds = 30

        def create(i: int) -> int:
            r = clients[i % 2].post(
                "/v1/customers",
                data={"description": f"round {i // 6}"},
                headers={"Idempotency-Key": f"race-{i // 6}"},
            )
            return r.status_code

        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            statuses = list(pool.map(create, range(rounds * 6)))
        for c in clients:
            c.close()
        assert set(statuses) <= {200, 409}
        listed = httpx.get(f"{url_a}/v1/customers", params={"limit": 100}, auth=auth).json()
        per_round: dict[str, int] = {}
        for c in listed["data"]:
            per_round[c["description"]] = per_round.get(c["description"], 0) + 1
        assert per_round == {f"round {r}": 1 for r in range(rounds)}
    finally:
        stop(a)
        stop(b)


@pytest.mark.parametrize("store", SHARED, indirect=True)
def test_a_second_process_does_not_redeliver_the_first_ones_pending_webhooks(
    store: Store,
) -> None:
    r = Receiver()
    r.failing = True
    a, url_a = _serve(store)
    b = None
    try:
        auth = {"Authorization": "Bearer sk_test_lease"}
        with httpx.Client(base_url=url_a, headers=auth) as api:
            settings(api, base_delay=0.2, factor=1, max_attempts=50)
            create_endpoint(api, r.url)
            api.post("/v1/customers")
            eventually(lambda: journal(api))
        b, url_b = _serve(store)
        time.sleep(1.0)  # b has started and looked for deliveries to resume
        r.failing = False
        got = r.wait_for(len(r.requests) + 1)
        time.sleep(0.5)
        with httpx.Client(base_url=url_b, headers=auth) as api:
            assert journal(api) == []
        ok = [g for g in r.requests if g.event["type"] == "customer.created"]
        assert got and len({g.event["id"] for g in ok}) == 1
        with httpx.Client(base_url=url_a, headers=auth) as api:
            assert [j["outcome"] for j in journal(api)].count("succeeded") == 1
    finally:
        stop(a)
        if b is not None:
            stop(b)
        r.close()


@pytest.mark.parametrize("store", SHARED, indirect=True)
def test_a_killed_process_s_pending_webhooks_are_taken_over(store: Store) -> None:
    import signal

    r = Receiver()
    r.failing = True
    a, url_a = _serve(store, "--lease-seconds", "1")
    b, url_b = _serve(store, "--lease-seconds", "1")
    try:
        auth = {"Authorization": "Bearer sk_test_takeover"}
        with httpx.Client(base_url=url_a, headers=auth) as api:
            settings(api, base_delay=0.2, factor=1, max_attempts=100)
            create_endpoint(api, r.url)
            event = api.post("/v1/customers").json()
            eventually(lambda: journal(api))
        a.send_signal(signal.SIGKILL)
        a.communicate(timeout=10)
        r.failing = False
        with httpx.Client(base_url=url_b, headers=auth) as api:
            attempts = eventually(
                lambda: [j for j in journal(api) if j["outcome"] == "succeeded"], timeout=10
            )
        assert len(attempts) == 1
        assert event["id"].startswith("cus_")
    finally:
        if a.poll() is None:
            stop(a)
        stop(b)
        r.close()


def test_serve_starts_on_a_sqlite_db_holding_a_delivery_it_cannot_resume(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "broken.db")
    SQLiteBackend(db).close()
    con = sqlite3.connect(db)
    bad = json.dumps(
        {
            "id": "whdel_x",
            "object": "webhook_delivery",
            "event": "evt_1",
            "endpoint": "we_1",
            "next_at": None,
        }
    )
    con.execute("INSERT INTO objects VALUES ('t', 'whdel_x', 'webhook_delivery', 1, ?)", (bad,))
    con.execute("INSERT INTO leases VALUES ('t', 'whdel_x', '', 0)")
    con.commit()
    con.close()
    proc, url = start("--db", db)
    try:
        assert httpx.get(f"{url}/_fake/health").status_code == 200
    finally:
        err = stop(proc)
    assert "skipping stored webhook delivery whdel_x of tenant t" in err


def test_threads_share_one_sqlite_handle_safely(tmp_path: Path) -> None:
    b = SQLiteBackend(str(tmp_path / "t.db"))
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                with b.transaction("t", write=True):
                    b.put("t", "customer", f"cus_{n}_{i}", "{}", {"email": f"{n}@x"})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(list(b.iter_desc("t", "customer", None, None))) == 200
    b.close()


def test_a_request_that_cannot_get_the_write_lock_is_a_429_lock_timeout_and_frees_its_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import contextlib

    backend = MemoryBackend()
    app = create_app(backend=backend, seed=1)
    busy = True
    real = backend.transaction

    @contextlib.contextmanager
    def transaction(tenant: str, write: bool) -> Iterator[None]:
        if busy and write:
            raise Busy("database is locked")
        with real(tenant, write):
            yield

    monkeypatch.setattr(backend, "transaction", transaction)
    with inprocess_client(app, auth=("sk_test_busy", "")) as api:
        r = api.post("/v1/customers", headers={"Idempotency-Key": "k1"})
        assert r.status_code == 429
        err = r.json()["error"]
        assert (err["type"], err["code"]) == ("invalid_request_error", "lock_timeout")
        assert "param" not in err
        busy = False
        again = api.post("/v1/customers", headers={"Idempotency-Key": "k1"})
        assert again.status_code == 200
        assert "Idempotent-Replayed" not in again.headers


def test_packed_sequences_keep_order_through_adds_and_removes() -> None:
    """The memory store's index (`core/store/seqs.py`) against a sorted list, across the
    slices its walks read (128 entries each)."""
    import bisect
    import random

    from fake_stripe.core.store import seqs

    rng = random.Random(7)
    packed = bytearray()
    model: list[int] = []
    for _ in range(3000):
        seq = rng.randrange(1, 800)
        if rng.random() < 0.3:
            seqs.remove(packed, seq)
            if seq in model:
                model.remove(seq)
        else:
            seqs.add(packed, seq)
            if seq not in model:
                bisect.insort(model, seq)
    assert seqs.count(packed) == len(model) > 300
    assert list(seqs.ascending(packed, 0)) == model
    assert list(seqs.descending(packed, len(model))) == model[::-1]
    for probe in (0, 1, 250, 799, 900):
        assert seqs.bisect_left(packed, probe) == bisect.bisect_left(model, probe)
        assert seqs.bisect_right(packed, probe) == bisect.bisect_right(model, probe)
    assert list(seqs.descending(packed, 200)) == model[:200][::-1]
    assert list(seqs.ascending(packed, 150)) == model[150:]
    assert seqs.at(packed, len(model)) is None


def test_settle_waits_for_the_transactions_other_threads_hold_and_only_those() -> None:
    writers = Writers()
    own = writers.begin("t")
    started = time.monotonic()
    writers.settle("t", 5.0)  # only this thread's own: nothing to wait for
    writers.settle("other", 5.0)
    assert time.monotonic() - started < 1.0
    writers.end("t", own)

    held = threading.Event()
    release = threading.Event()

    def hold(tenant: str) -> None:
        mine = writers.begin(tenant)
        held.set()
        release.wait(5.0)
        writers.end(tenant, mine)

    # A transaction another thread holds is waited for until it ends, not longer.
    thread = threading.Thread(target=hold, args=("t",))
    thread.start()
    assert held.wait(5.0)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    writers.settle("t", 5.0)
    waited = time.monotonic() - started
    thread.join(5.0)
    assert 0.2 < waited < 4.0

    # One that never ends within the timeout is waited for that long.
    held.clear()
    release.clear()
    thread = threading.Thread(target=hold, args=("t",))
    thread.start()
    assert held.wait(5.0)
    started = time.monotonic()
    writers.settle("t", 0.2)
    assert 0.15 < time.monotonic() - started < 2.0
    release.set()
    thread.join(5.0)
    # All ended: nothing is left to wait for.
    started = time.monotonic()
    writers.settle("t", 5.0)
    assert time.monotonic() - started < 1.0
