"""A lazy start: a server imports a floor's modules (Financial Connections, payments, the
generic operations' handlers) on the first request that needs them, not before its first answer;
the model registry and the tenant clock's schedules find what is not imported yet by name."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from fake_stripe.app import create_app, routes_index, routes_table
from fake_stripe.core import kinds, objects
from fake_stripe.core.clock import Schedule
from fake_stripe.financial_connections import schedule as fc_schedule
from fake_stripe.inprocess import client
from fake_stripe.payments import ach, microdeposits
from fake_stripe.state import INDEXED, MODELS, SCHEDULES

KEY = "sk_test_lazy"
FLOORS = (
    "fake_stripe.financial_connections",
    "fake_stripe.payments",
    "fake_stripe.generic.handlers",
    "fake_stripe.generic.catalog",
)


def fresh(script: str, *args: str) -> Any:
    """Run `script` in a new interpreter (nothing of the fake imported yet); its last line of
    output, as JSON."""
    head = textwrap.dedent(
        f"""
        import json, sys
        from fake_stripe.app import create_app
        from fake_stripe.inprocess import client
        KEY = {KEY!r}
        FLOORS = {FLOORS!r}
        def floors():
            return sorted(m for m in sys.modules if m.startswith(FLOORS))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", head + textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_first_answer_loads_no_floor_then_each_floor_loads_on_its_first_request() -> None:
    got = fresh(
        """
        app = create_app()
        at_start = floors()
        with client(app) as c:
            auth = {"Authorization": f"Bearer {KEY}"}
            first = c.get("/v1/customers", headers=auth).status_code
            after_first = floors()
            fc = c.get("/v1/financial_connections/accounts", headers=auth).status_code
            after_fc = floors()
            pi = c.get("/v1/payment_intents", headers=auth).status_code
        print(json.dumps([at_start, first, after_first, fc, after_fc, pi, floors()]))
        """
    )
    at_start, first, after_first, fc, after_fc, pi, at_end = got
    assert (first, fc, pi) == (200, 200, 200)
    assert at_start == [] and after_first == [], after_first
    assert "fake_stripe.financial_connections.accounts" in after_fc
    assert not any(m.startswith("fake_stripe.payments.payment_intents") for m in after_fc)
    assert "fake_stripe.payments.payment_intents" in at_end


def test_pydantic_is_imported_by_the_first_request_that_builds_a_model() -> None:
    """A list that finds nothing renders no model: a server answers it without pydantic (a
    third of a start's instructions); the first write imports it, and a list then shows what
    was written."""
    got = fresh(
        """
        def pydantic():
            return sorted(m for m in sys.modules if m.split(".")[0].startswith("pydantic"))
        app = create_app()
        with client(app) as c:
            auth = {"Authorization": f"Bearer {KEY}"}
            empty = c.get("/v1/customers", headers=auth)
            before = pydantic()
            missing = c.get("/v1/customers/cus_nothere", headers=auth).status_code
            made = c.post("/v1/customers", headers=auth, data={"email": "jenny@example.com"})
            after = pydantic()
            listed = c.get("/v1/customers", headers=auth).json()
        print(json.dumps([empty.status_code, empty.content.decode(), missing, before,
                          made.status_code, "pydantic" in after, listed]))
        """
    )
    status, body, missing, before, made, after, listed = got
    assert (status, missing, made) == (200, 404, 200)
    assert body == '{"object":"list","data":[],"has_more":false,"url":"/v1/customers"}'
    assert before == []
    assert after
    assert [c["email"] for c in listed["data"]] == ["jenny@example.com"]
    assert listed["url"] == "/v1/customers" and listed["has_more"] is False


def test_a_sqlite_store_starts_and_answers_without_pydantic_or_webhook_delivery(
    tmp_path: Path,
) -> None:
    """A file that owes no delivery starts as the memory store does: neither the models (the
    fields they index are known without them) nor webhook delivery is imported, whether the
    file is new or holds a customer, and a read that finds nothing needs neither."""
    script = """
        def loaded():
            return sorted(m for m in sys.modules
                          if m.split(".")[0] == "pydantic" or m == "fake_stripe.webhooks.delivery")
        auth = {"Authorization": f"Bearer {KEY}"}
        app = create_app(db=sys.argv[1])
        at_start = loaded()
        with client(app) as c:
            if sys.argv[2:] == ["write"]:
                c.post("/v1/customers", headers=auth, data={"email": "jenny@example.com"})
            found = c.get("/v1/customers", headers=auth, params={"email": "x@example.com"})
        print(json.dumps([at_start, found.status_code, found.json()["data"], loaded()]))
        app.fake.close()
        """
    db = str(tmp_path / "f.sqlite")
    assert fresh(script, db) == [[], 200, [], []]  # a new file
    at_start, status, _data, after = fresh(script, db, "write")
    assert at_start == [] and status == 200 and "pydantic" in after
    assert fresh(script, db) == [[], 200, [], []]  # reopened, holding a customer


def test_a_model_asked_for_while_another_thread_imports_it_waits_for_it() -> None:
    """A module another thread is importing is in `sys.modules` already, half made: a second
    request asking for its model then waits for the import instead of finding no model."""
    got = fresh(
        """
        import importlib.abc, importlib.machinery, threading, time
        import fake_stripe.state
        from fake_stripe.core import kinds
        SLOW = "fake_stripe.resources.customer_object"
        class Slow(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name != SLOW:
                    return None
                spec = importlib.machinery.PathFinder.find_spec(name, path)
                real = spec.loader
                class Loader(importlib.abc.Loader):
                    def create_module(self, spec):
                        return None
                    def exec_module(self, module):
                        started.set()  # in sys.modules, not yet run
                        time.sleep(0.3)
                        real.exec_module(module)
                spec.loader = Loader()
                return spec
        sys.meta_path.insert(0, Slow())
        started = threading.Event()
        got = {}
        def first():
            got["first"] = kinds.model_for("customer").__name__
        thread = threading.Thread(target=first)
        thread.start()
        started.wait(30)
        half_made = SLOW in sys.modules
        try:
            got["second"] = kinds.model_for("customer").__name__
        except KeyError as exc:
            got["second"] = f"KeyError: {exc}"
        thread.join()
        print(json.dumps([half_made, got]))
        """
    )
    assert got == [True, {"first": "Customer", "second": "Customer"}]


def test_the_indexed_fields_known_without_the_models_are_the_models_own() -> None:
    routes_table()  # imports every model
    indexed = {
        k: m.indexed
        for k, m in objects.REGISTRY.items()
        if m.__module__.startswith("fake_") and m.indexed
    }
    assert indexed == INDEXED


def test_a_served_fake_imports_its_first_model_off_the_event_loop() -> None:
    """The first create on a served fake imports pydantic and the customer's model: a light
    write runs on the loop, but leaves it for a worker thread before the import, so no other
    request waits for it; its idempotency key's claim goes with it, and a retry replays it."""
    got = fresh(
        """
        import asyncio, urllib.request
        from fake_stripe.http_server import ServerThread
        watched = ("pydantic", "pydantic_core", "fake_stripe.resources.customer_object")
        on_loop = {}
        class Watch:
            def find_spec(self, name, path=None, target=None):
                if name in watched:
                    on_loop.setdefault(name, asyncio._get_running_loop() is not None)
                return None
        sys.meta_path.insert(0, Watch())
        answers = []
        with ServerThread(create_app()) as url:
            for method, data in [("GET", None)] + [("POST", b"email=jenny%40example.com")] * 2:
                req = urllib.request.Request(f"{url}/v1/customers", data=data, method=method)
                req.add_header("Authorization", f"Bearer {KEY}")
                if data:
                    req.add_header("Idempotency-Key", "first-create")
                with urllib.request.urlopen(req) as resp:
                    body = json.loads(resp.read())
                    replayed = resp.headers.get("Idempotent-Replayed")
                    answers.append([resp.status, body.get("id"), replayed])
        print(json.dumps([answers, on_loop]))
        """
    )
    answers, on_loop = got
    (listed, *_), (created, cid, replayed), (again, same, replay) = answers
    assert (listed, created, again) == (200, 200, 200)
    assert cid.startswith("cus_") and same == cid
    assert (replayed, replay) == (None, "true")
    assert on_loop == dict.fromkeys(
        ("pydantic", "pydantic_core", "fake_stripe.resources.customer_object"), False
    )


def test_a_served_fake_answers_without_importing_uvicorn() -> None:
    """The fake's own server (`http_server.Server`, as `serve` runs it) needs none of uvicorn,
    whose import was a tenth of `serve`'s time to its first answer."""
    got = fresh(
        """
        import urllib.request
        from fake_stripe.http_server import ServerThread
        with ServerThread(create_app()) as url:
            req = urllib.request.Request(f"{url}/v1/customers")
            req.add_header("Authorization", f"Bearer {KEY}")
            with urllib.request.urlopen(req) as resp:
                status, headers = resp.status, dict(resp.headers)
        print(json.dumps([status, headers, sorted(m for m in sys.modules if "uvicorn" in m)]))
        """
    )
    status, headers, imported = got
    assert status == 200
    assert headers["server"] == "fake-stripe" and headers["date"].endswith(" GMT")
    assert imported == []


def test_a_due_schedule_of_a_floor_not_loaded_yet_fires(tmp_path: Path) -> None:
    """A store holds an announced deactivation; a new server's first request advances the
    tenant clock past it: the clock imports the Financial Connections schedule to fire it."""
    db = str(tmp_path / "fake.db")
    app = create_app(db=db)
    try:
        with client(app) as c:
            auth = {"Authorization": f"Bearer {KEY}", "Stripe-Version": "2026-09-30.preview"}
            cus = c.post("/v1/customers", headers=auth).json()["id"]
            th = "/v1/test_helpers/financial_connections"
            session = c.post(
                "/v1/financial_connections/sessions",
                headers=auth,
                data={
                    "account_holder[type]": "customer",
                    "account_holder[customer]": cus,
                    "permissions[]": "payment_method",
                },
            ).json()["id"]
            done = c.post(
                f"{th}/sessions/{session}/complete", headers=auth, data={"outcome": "link"}
            )
            account = done.json()["accounts"]["data"][0]["id"]
            scheduled = c.post(
                f"{th}/accounts/{account}/schedule_deactivation", headers=auth, data={"days": 2}
            )
            assert scheduled.status_code == 200, scheduled.text
            assert scheduled.json()["status"] == "active"
    finally:
        app.fake.close()
    got = fresh(
        """
        app = create_app(db=sys.argv[1])
        auth = {"Authorization": f"Bearer {KEY}", "Stripe-Version": "2026-09-30.preview"}
        with client(app) as c:
            advance = {"seconds": 3 * 86400}
            moved = c.post("/v1/test_helpers/clock/advance", headers=auth, data=advance)
            loaded = floors()
            account = c.get(f"/v1/financial_connections/accounts/{sys.argv[2]}", headers=auth)
        app.fake.close()
        print(json.dumps([moved.status_code, loaded, account.json()["status"]]))
        """,
        db,
        account,
    )
    moved, loaded, status = got
    assert moved == 200
    assert "fake_stripe.financial_connections.schedule" in loaded
    assert status == "inactive"


def test_the_registry_lists_every_model_where_it_is_defined() -> None:
    routes_table()  # imports every handler module, and with them every model
    # (tests define models of their own)
    registered = {k: m for k, m in objects.REGISTRY.items() if m.__module__.startswith("fake_")}
    assert set(registered) == set(MODELS)
    for kind, model in registered.items():
        prefix, home = MODELS[kind]
        assert (model.prefix, model.__module__) == (prefix, home), kind
        assert kinds.model_for(kind) is model
        if prefix:
            assert kinds.model_for_id(f"{prefix}_123") is model
    assert kinds.model_for_id("in_123") is None  # a kind no model has


def test_the_server_schedules_are_the_floors_own() -> None:
    floors: list[Schedule[Any]] = [fc_schedule.SCHEDULE, ach.SCHEDULE, microdeposits.SCHEDULE]
    assert [(s.name, s.key) for s in SCHEDULES.values()] == [(s.name, s.key) for s in floors]
    for named, own in zip(SCHEDULES.values(), floors, strict=True):
        fire = named.fire
        if isinstance(fire, str):  # not due yet in this process
            module, function = fire.split(":")
            fire = getattr(importlib.import_module(module), function)
        assert fire is own.fire


def test_the_index_and_the_table_list_the_same_endpoints() -> None:
    index = routes_index()
    table = routes_table()
    assert [(op.method, op.path, op.light, op.keys) for op in index] == [
        (ep.method, ep.path, ep.light, ep.keys) for ep in table
    ]
    assert len({(op.method, op.path) for op in index}) == len(index)


def test_the_control_plane_loads_without_the_browsers_routes() -> None:
    got = fresh(
        """
        app = create_app()
        def loaded(prefix):
            return sorted(m for m in sys.modules if m.startswith(prefix))
        with client(app) as c:
            auth = {"Authorization": f"Bearer {KEY}"}
            journal = c.get("/_fake/webhooks/deliveries", headers=auth).status_code
            after_control = loaded("fake_stripe.stripejs.") + loaded("fake_stripe.control.dash")
            unknown = c.get("/_fake/no-such-thing", headers=auth).status_code
            js = c.get("/v3/").status_code
            after_js = loaded("fake_stripe.stripejs.")
        print(json.dumps([journal, after_control, unknown, js, after_js]))
        """
    )
    journal, after_control, unknown, js, after_js = got
    assert (journal, unknown, js) == (200, 404, 200)
    assert after_control == []
    assert "fake_stripe.stripejs.routes" in after_js


def test_a_lazy_kind_names_its_model_as_the_model_does() -> None:
    """A `Lazy` kind repeats its model's kind and noun (its module is not imported to read
    them): they must agree, or a missing object's error would name another noun."""
    from fake_stripe.core.kinds import Lazy
    from fake_stripe.resources import customers

    found = [v for v in vars(customers).values() if isinstance(v, Lazy)]
    assert found
    for lazy in found:
        model = lazy.model()
        assert (lazy.kind, lazy.noun) == (model.kind, model.noun)


def test_webhook_delivery_first_asked_for_after_close_starts_nothing() -> None:
    app = create_app()
    app.fake.close()
    assert app.fake.webhooks.engine.start() is None
