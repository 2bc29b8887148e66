"""Every list filter reads the store's index (or, for a session's accounts, the session's account
ids) instead of walking every object of the kind: the same answer as the walk, and only the
objects shown are decoded. Stores opened by an older fake (objects stored without the newer
index fields) are indexed again when opened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fake_stripe import create_app
from fake_stripe.core.events import Event, type_group
from fake_stripe.core.objects import StripeObject
from fake_stripe.core.tenant import StagedTenant
from fake_stripe.financial_connections.objects import Account, Transaction
from fake_stripe.inprocess import client as inprocess_client
from fake_stripe.payments.objects import Charge, PaymentIntent
from fake_stripe.resources.payment_methods import PaymentMethod
from tests.test_payment_intents import TH, charge, customer, get, linked_pm, ok, post
from tests.test_store_backends import SHARED, Store, store

__all__ = ["store"]  # the fixture, shared with the store tests


class Decodes:
    """Counts the stored objects of some kinds a list reads while a request runs (each read is
    decoded, or rendered from its JSON), for each run of the request: a read tried on the
    server's event loop that outlasts its budget there (`wire.LOOP_BUDGET`, which a slow
    machine makes a list of a few objects do) or meets a module's first import runs again on a
    worker thread, with a staged tenant of its own."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *models: type[StripeObject]) -> None:
        self.runs: dict[str, list[int]] = {}  # kind -> the objects each run read
        self._last: dict[str, StagedTenant] = {}  # kind -> the tenant of its latest run
        kinds = {model.kind for model in models}
        real = StagedTenant.stored_json

        def counting(tenant: StagedTenant, cls: Any, *a: Any, **kw: Any) -> Iterator[str]:
            kind = cls.kind
            if kind in kinds and self._last.get(kind) is not tenant:
                self._last[kind] = tenant
                self.runs.setdefault(kind, []).append(0)
            for data in real(tenant, cls, *a, **kw):
                if kind in kinds:
                    self.runs[kind][-1] += 1
                yield data

        monkeypatch.setattr(StagedTenant, "stored_json", counting)

    def of(self, model: type[StripeObject]) -> int:
        """The most objects of `model` one run read since the last call."""
        self._last.pop(model.kind, None)
        return max(self.runs.pop(model.kind, [0]))


def _ids(page: dict[str, Any]) -> list[str]:
    return [o["id"] for o in page["data"]]


def _world(api: httpx.Client) -> dict[str, Any]:
    """Two customers with a linked account, a PaymentMethod and a charge each; the first has a
    second session of two accounts and an account with transactions."""
    a, b = customer(api), customer(api)
    fca_a, pm_a = linked_pm(api, a)
    fca_b, pm_b = linked_pm(api, b)
    pi_a = ok(charge(api, a, pm_a))["id"]
    ok(charge(api, b, pm_b))
    session = ok(
        post(
            api,
            "/v1/financial_connections/sessions",
            {
                "account_holder[type]": "customer",
                "account_holder[customer]": a,
                "permissions[0]": "transactions",
            },
        )
    )
    done = ok(
        post(
            api,
            f"{TH}/sessions/{session['id']}/complete",
            {
                "outcome": "link",
                "accounts[0][subcategory]": "checking",
                "accounts[1][subcategory]": "savings",
            },
        )
    )
    two = _ids(done["accounts"])
    refresh = f"/v1/financial_connections/accounts/{two[0]}/refresh"
    ok(post(api, refresh, {"features[]": "transactions"}))
    return {"a": a, "b": b, "pi_a": pi_a, "session": session["id"], "two": two, "fca_a": fca_a}


def test_every_list_filter_answers_as_a_walk_and_decodes_only_what_it_shows(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = _world(api)
    walked = {
        path: get(api, path, limit=100)["data"]
        for path in (
            "/v1/financial_connections/accounts",
            "/v1/payment_methods",
            "/v1/payment_intents",
            "/v1/charges",
            "/v1/events",
        )
    }
    d = Decodes(monkeypatch, Account, Transaction, PaymentMethod, PaymentIntent, Charge, Event)
    accounts = "/v1/financial_connections/accounts"
    a, b, created = w["a"], w["b"], "customer.created"
    cases: list[tuple[type[StripeObject], str, dict[str, Any], Any]] = [
        (Account, accounts, {"session": w["session"]}, lambda o: o["id"] in w["two"]),
        (
            Account,
            accounts,
            {"account_holder[customer]": w["a"]},
            lambda o: o["account_holder"]["customer"] == w["a"],
        ),
        (PaymentMethod, "/v1/payment_methods", {"customer": w["b"]}, lambda o: o["customer"] == b),
        (
            PaymentMethod,
            "/v1/payment_methods",
            {"type": "us_bank_account"},
            lambda o: o["type"] == "us_bank_account",
        ),
        (PaymentIntent, "/v1/payment_intents", {"customer": a}, lambda o: o["customer"] == a),
        (Charge, "/v1/charges", {"customer": w["b"]}, lambda o: o["customer"] == w["b"]),
        (
            Charge,
            "/v1/charges",
            {"payment_intent": w["pi_a"]},
            lambda o: o["payment_intent"] == w["pi_a"],
        ),
        (Event, "/v1/events", {"type": created}, lambda o: o["type"] == created),
        (
            Event,
            "/v1/events",
            {"type": "financial_connections.*"},
            lambda o: o["type"].startswith("financial_connections."),
        ),
        (
            Event,
            "/v1/events",
            {"types[]": "payment_intent.*"},
            lambda o: o["type"].startswith("payment_intent."),
        ),
        (
            Event,
            "/v1/events",
            {"types[]": ["customer.created", "financial_connections.*", "charge.pending"]},
            lambda o: (
                o["type"] in ("customer.created", "charge.pending")
                or o["type"].startswith("financial_connections.")
            ),
        ),
    ]
    for model, path, params, keep in cases:
        d.of(model)
        got = get(api, path, limit=100, **params)["data"]
        expected = [o for o in walked[path] if keep(o)]
        assert got == expected and got, (path, params)
        assert d.of(model) == len(got), (path, params)
    # Transactions are listed per account: only that account's are read.
    txns = get(api, "/v1/financial_connections/transactions", account=w["two"][0], limit=100)
    assert txns["data"] and all(t["account"] == w["two"][0] for t in txns["data"])
    assert d.of(Transaction) == len(txns["data"])
    assert not get(api, "/v1/financial_connections/transactions", account=w["fca_a"])["data"]
    assert d.of(Transaction) == 0


def test_a_sessions_accounts_page_from_either_cursor_as_the_whole_list_does(
    api: httpx.Client,
) -> None:
    w = _world(api)
    accounts = "/v1/financial_connections/accounts"
    both = _ids(get(api, accounts, session=w["session"]))
    assert sorted(both) == sorted(w["two"]) and len(both) == 2
    whole = _ids(get(api, accounts, limit=100))
    assert both == [i for i in whole if i in both]  # the same order as the unfiltered list
    first = get(api, accounts, session=w["session"], limit=1)
    assert _ids(first) == both[:1] and first["has_more"] is True
    rest = get(api, accounts, session=w["session"], starting_after=both[0])
    assert _ids(rest) == both[1:] and rest["has_more"] is False
    back = get(api, accounts, session=w["session"], ending_before=both[1])
    assert _ids(back) == both[:1]
    # A cursor outside the session: what is older (or newer) than it, of the session's.
    older = get(api, accounts, session=w["session"], starting_after=w["fca_a"])
    assert _ids(older) == []
    newer = get(api, accounts, session=w["session"], ending_before=w["fca_a"])
    assert _ids(newer) == both


@pytest.mark.parametrize(
    ("pattern", "entry"),
    [
        ("customer.*", ("type.1", "customer.")),
        ("customer.subscription.*", ("type.2", "customer.subscription.")),
        ("cust*", None),
        ("*", None),
        ("customer.*.created", None),
    ],
)
def test_an_event_type_group_reads_the_entry_its_events_are_indexed_under(
    pattern: str, entry: tuple[str, str] | None
) -> None:
    assert type_group(pattern) == entry
    ev = Event.model_validate(
        {
            "id": "evt_1",
            "api_version": None,
            "created": 1,
            "data": {"object": {}},
            "request": None,
            "type": "customer.subscription.created",
            "snapshot_kind": "customer",
        }
    )
    index = ev.index_values() or {}
    assert index["type"] == "customer.subscription.created"
    if entry is not None:
        assert index[entry[0]] == entry[1]


def test_newest_first_orders_known_ids_as_the_walk_does(store: Store) -> None:
    b = store.open()
    for i in range(5):
        b.put("t", "customer", f"cus_{i}", "{}")
    b.put("other", "customer", "cus_9", "{}")
    b.put("t", "customer", "cus_1", '{"n": 1}')  # an update keeps its place
    assert b.newest_first("t", ["cus_1", "cus_3", "cus_0", "cus_9", "cus_x"]) == [
        "cus_3",
        "cus_1",
        "cus_0",
    ]
    assert b.newest_first("t", []) == []
    assert b.newest_first("nobody", ["cus_1"]) == []
    many = [f"cus_{i}" for i in range(5)] + [f"missing_{i}" for i in range(200)]
    assert b.newest_first("t", many) == [f"cus_{i}" for i in (4, 3, 2, 1, 0)]


@pytest.mark.parametrize("store", SHARED, indirect=True)
def test_a_store_indexed_by_an_older_fake_is_indexed_again_when_opened(
    store: Store, tmp_path: Path
) -> None:
    key = ("sk_test_reindex", "")
    app = create_app(backend=store.open(), seed=1)
    with inprocess_client(app, auth=key) as api:
        w = _world(api)
    app.fake.close()
    old = store.open()
    # What an older fake left: the lookups of the fields it indexed only, no record of them.
    old._q("DELETE FROM lookup WHERE name NOT IN ('email', 'type')", ())  # type: ignore[attr-defined]
    old._q("DELETE FROM meta WHERE tenant='' AND name='indexed fields'", ())  # type: ignore[attr-defined]
    app = create_app(backend=store.open(), seed=1)
    with inprocess_client(app, auth=key) as api:
        found = get(api, "/v1/payment_methods", customer=w["b"])["data"]
        assert len(found) == 1 and found[0]["customer"] == w["b"]
        holder = {"account_holder[customer]": w["a"]}
        mine = get(api, "/v1/financial_connections/accounts", **holder)
        assert len(mine["data"]) == 3
        groups = get(api, "/v1/events", type="payment_intent.*", limit=100)["data"]
        assert groups and all(e["type"].startswith("payment_intent.") for e in groups)
    app.fake.close()
    marker = store.open().meta_get("", "indexed fields")
    assert marker is not None and "payment_method" in json.loads(marker)


def test_a_requests_writes_at_once_leave_what_they_leave_one_by_one(store: Store) -> None:
    b = store.open()
    b.put("t", "customer", "cus_a", "{}", {"email": "a@example.com"})
    b.put("t", "customer", "cus_gone", "{}", {"email": "a@example.com"})
    b.meta_set("t", "kept", "1")
    with b.transaction("t", True):
        b.write(
            "t",
            {"id_counter": "7", "kept": "2"},
            [
                ("cus_new1", ("customer", '{"n": 1}', {"email": "a@example.com"})),
                ("cus_a", ("customer", '{"n": 0}', {"email": "b@example.com"})),
                ("cus_gone", None),
                ("evt_1", ("event", "{}", {"type": "customer.created", "type.1": "customer."})),
                ("cus_new2", ("customer", '{"n": 2}', None)),
            ],
        )
    assert b.meta_many("t", ("id_counter", "kept")) == {"id_counter": "7", "kept": "2"}
    # An update keeps its place; new objects are the newest, in the order given.
    ids = [oid for oid, _ in b.iter_desc("t", "customer", None, None)]
    assert ids == ["cus_new2", "cus_new1", "cus_a"]
    assert b.get("t", "cus_a") == ("customer", '{"n": 0}')
    assert b.get("t", "cus_gone") is None
    by = b.iter_desc("t", "customer", None, None, ("email", "a@example.com"))
    assert [o for o, _ in by] == ["cus_new1"]
    by = b.iter_desc("t", "customer", None, None, ("email", "b@example.com"))
    assert [o for o, _ in by] == ["cus_a"]
    assert [o for o, _ in b.iter_desc("t", "event", None, None, ("type.1", "customer."))] == [
        "evt_1"
    ]
    b.put("t", "customer", "cus_later", "{}")  # numbering goes on after the batch
    assert next(b.iter_desc("t", "customer", None, None))[0] == "cus_later"
    with b.transaction("t", True):
        b.write("t", {}, [])  # nothing to write


def test_a_walk_over_several_entries_merges_them_newest_first_each_object_once(
    store: Store,
) -> None:
    b = store.open()
    for i in range(300):
        kind = ("customer.created", "charge.pending", "invoice.paid")[i % 3]
        index = {"type": kind, "type.1": kind.split(".")[0] + "."}
        b.put("t", "event", f"evt_{i:03}", "{}", index)
    both = [("type", "customer.created"), ("type.1", "charge."), ("type", "charge.pending")]
    found = [o for o, _ in b.iter_desc("t", "event", None, None, both)]
    expected = [f"evt_{i:03}" for i in range(299, -1, -1) if i % 3 != 2]
    assert found == expected  # charge.pending matched twice, listed once
    after = [o for o, _ in b.iter_desc("t", "event", "evt_150", None, both)]
    assert after == [o for o in expected if o < "evt_150"]
    before = [o for o, _ in b.iter_desc("t", "event", None, "evt_150", both)]
    assert before == sorted(o for o in expected if o > "evt_150")
    assert not list(b.iter_desc("t", "event", "evt_missing", None, both))
    assert not list(b.iter_desc("t", "event", None, None, [("type", "nothing.here")]))


def test_a_sql_walk_reads_first_what_its_page_shows_and_one_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rows a list's first statement reads: a page and one more, whatever the store holds
    # beyond them (each row read costs more in a larger store); a walk whose caller says
    # nothing reads 16 at first, and every walk 64 at a time after its first statement.
    from fake_stripe.core.store import sqlite

    asked: list[object] = []
    real = sqlite.SQLiteBackend._q

    def recording(self: Any, sql: str, args: tuple[Any, ...]) -> Any:
        if "ORDER BY" in sql and "seq" in sql and sql.rstrip().endswith("LIMIT ?"):
            asked.append(int(args[-1]))
        elif " UNION " in sql:  # several entries: each entry's LIMIT, then the statement's
            asked.append((*args[5:-2:6], args[-2]))
        return real(self, sql, args)

    app = create_app(seed=1, db=str(tmp_path / "f.db"))
    with inprocess_client(app, auth=("sk_test_walk", "")) as api:
        for i in range(30):
            ok(post(api, "/v1/customers", {"email": f"c{i}@example.com"}))
        monkeypatch.setattr(sqlite.SQLiteBackend, "_q", recording)
        for limit, first in ((3, [4]), (None, [11]), (20, [21]), (100, [64])):
            asked.clear()
            page = get(api, "/v1/customers", **({} if limit is None else {"limit": limit}))
            assert len(page["data"]) == min(limit or 10, 30)
            assert asked[:1] == first, (limit, asked)
        asked.clear()  # several entries: one statement, a page and one more of each entry's
        # ids and of them all
        events = "/v1/events?types[]=customer.created&types[]=customer.updated&limit=5"
        assert len(api.get(events).json()["data"]) == 5
        assert asked == [(6, 6, 6)], asked
        asked.clear()  # a walk of every object, not a page: the store's own first batch
        assert len(list(app.fake.backend.iter_desc("walk", "customer", None, None))) == 30
        assert asked == [16, 64], asked
    app.fake.close()


def test_postgresql_runs_a_lists_statements_on_generic_plans() -> None:
    # psycopg prepares a statement at its fifth run; the server would then plan a list's
    # statement again at each run where a custom plan looks cheaper, as it does in a large
    # tenant: every run of a request's statements here uses the one generic plan.
    from tests.stores import postgres_schema

    for url in postgres_schema():
        app = create_app(seed=1, db=url)
        with inprocess_client(app, auth=("sk_test_plans", "")) as api:
            for i in range(3):
                ok(post(api, "/v1/customers", {"email": f"c{i}@example.com"}))
            for _ in range(12):
                assert len(get(api, "/v1/customers", limit=2)["data"]) == 2
                assert len(get(api, "/v1/customers", email="c1@example.com")["data"]) == 1
            backend: Any = app.fake.backend
            plans = (
                backend._threads.slot()
                .conn.execute(
                    "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
                )
                .fetchall()
            )
        app.fake.close()
        lists = [p for p in plans if "ORDER BY" in p[0]]
        assert len(lists) >= 2, plans
        assert all(p[1] > 0 and p[2] == 0 for p in plans), plans


def test_postgresql_walks_a_filter_down_its_index_and_stops_at_the_page() -> None:
    # The generic plans of a filtered walk and of a walk of two entries, in a tenant of a few
    # thousand analyzed rows (as autovacuum leaves them): down `lookup_by_key` in sequence
    # order, stopping at the page; never a scan of every match and a sort.
    import itertools

    import psycopg

    from fake_stripe.core.store.postgres import PostgresBackend
    from tests.stores import postgres_schema

    for url in postgres_schema():
        b = PostgresBackend(url)
        with b.transaction("t", True):
            for i in range(3000):
                kind = ("customer.created", "charge.pending", "invoice.paid")[i % 3]
                b.put("t", "event", f"evt_{i:05}", "{}", {"type": kind})
        b._q("ANALYZE lookup", ())
        b._q("ANALYZE objects", ())
        asked: list[tuple[str, tuple[Any, ...]]] = []
        real = b._q

        def recording(sql: str, args: tuple[Any, ...], asked: Any = asked, real: Any = real) -> Any:
            if "lookup" in sql:
                asked.append((sql, args))
            return real(sql, args)

        b._q = recording  # type: ignore[method-assign]
        for match in (("type", "charge.pending"), [("type", "customer.created"), ("type", "x")]):
            page = list(itertools.islice(b.iter_desc("t", "event", None, None, match, 11), 11))
            assert len(page) == 11
        b._q = real  # type: ignore[method-assign]
        assert len(asked) == 2, asked
        for n, (sql, args) in enumerate(asked):
            numbered = sql
            for i in range(1, len(args) + 1):
                numbered = numbered.replace("?", f"${i}", 1)
            types = ", ".join({str: "text", bytes: "bytea", int: "bigint"}[type(a)] for a in args)
            real(f"PREPARE walk{n} ({types}) AS {numbered}", ())
            values = ", ".join("%s" for _ in args)  # bound here: EXECUTE's are untyped
            client = psycopg.ClientCursor(b._threads.slot().conn)
            client.execute(f"EXPLAIN EXECUTE walk{n}({values})", args)
            plan = "\n".join(r[0] for r in client.fetchall())
            assert "Seq Scan" not in plan and "Bitmap" not in plan, plan
            lines = plan.splitlines()
            walks = [
                i for i, line in enumerate(lines) if "Scan Backward using lookup_by_key" in line
            ]
            assert len(walks) == n + 1, plan
            if n == 0:  # in the key's order, which is the page's: nothing sorted
                assert "Sort" not in plan, plan
            else:  # each entry's walk cut at the page by a `Limit` right above it
                assert all("->  Limit" in lines[i - 1] for i in walks), plan
        b.close()
