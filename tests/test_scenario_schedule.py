"""How `run_all` schedules scenarios, and what a `Target` at a URL keeps between them."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import scenarios
import scenarios.runner as runner
from client import PREVIEW_VERSION
from fake_stripe import create_app
from fake_stripe.http_server import ServerThread
from scenarios import Scenario, Target, discover, load, run_all
from scenarios.observer import Observer

CATALOG = [load(p) for p in discover()]


def _record_starts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    started: list[str] = []
    lock = threading.Lock()

    def fake_run(s: Scenario, target: Target, **_: Any) -> runner.Result:
        with lock:
            started.append(s.name)
        return runner.Result(s, "pass", 0.0)

    monkeypatch.setattr(runner, "run_scenario", fake_run)
    return started


def test_scenarios_waiting_on_deliveries_start_first_and_results_keep_their_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = _record_starts(monkeypatch)
    delivered = [s.name for s in CATALOG if s.given.webhooks == "delivered"]
    assert delivered and CATALOG[0].name not in delivered
    results = run_all(CATALOG, Target(), workers=2)
    assert [r.scenario.name for r in results] == [s.name for s in CATALOG]
    assert sorted(started[: len(delivered)]) == sorted(delivered)


def test_one_worker_plays_the_scenarios_in_the_order_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = _record_starts(monkeypatch)
    run_all(CATALOG, Target(), workers=1)
    assert started == [s.name for s in CATALOG]


def test_a_loopback_target_keeps_one_http_client_per_thread(server: ServerThread) -> None:
    target = Target(url=server.url)
    clients = []
    try:
        for key in ("sk_test_sched_a", "sk_test_sched_b"):
            c = target.connect(key, PREVIEW_VERSION)
            clients.append(c.stripe._requestor._client.inner)  # type: ignore[union-attr]
            c.close()
        other: list[Any] = []
        t = threading.Thread(target=lambda: other.append(target._thread_client()))
        t.start()
        t.join()
        assert clients[0] is clients[1]
        assert other[0] is not clients[0]
    finally:
        target.close()
    assert target._per_thread == []


@pytest.mark.parametrize("mode", ["inprocess", "server"])
def test_the_observer_reads_only_the_events_after_a_given_one(
    mode: str, app: Any, request: pytest.FixtureRequest, key: str
) -> None:
    url = request.getfixturevalue("server").url if mode == "server" else None
    target = Target(url=url) if url else Target.in_process(app)
    observer = Observer(target, key)
    try:
        for i in range(103):  # past one page of 100
            observer.call("post", "/v1/customers", "given", name=f"c{i}")
        every = observer.events()
        assert len(every) == 103
        assert [e["id"] for e in observer.events(newer_than=every[0]["id"])] == [
            e["id"] for e in every[1:]
        ]
        assert observer.events(newer_than=every[-1]["id"]) == []
    finally:
        observer.close()
        target.close()


GIVEN_UP = """
description = "the receiver fails every attempt of one event: it is given up; the next is delivered"

[given]
accounts = { checking = "checking" }
payment_methods = ["checking"]
webhooks = "delivered"

[[happens]]
webhook_receiver = { count = 4, status = 500 }

[[happens]]
deactivate = "checking"
reason = "token_expired"

[happens.expect.webhooks]
journal = { "financial_connections.account.deactivated" = [500, 500, 500, 500] }

[flow]
account = "checking"
user = "relink_same"

[expect]
resolution = "reauthorized"

[expect.webhooks]
delivered = { "financial_connections.account.reactivated" = 1 }
[expect.webhooks.journal]
"financial_connections.account.deactivated" = [500, 500, 500, 500]
"financial_connections.account.reactivated" = [200]
"""


def test_settling_ends_once_every_delivery_is_done_or_given_up(tmp_path: Any) -> None:
    """`settle` reads only the attempts journaled since its last look: a delivery given up in
    one step still counts as given up in the next, whose own delivery is waited for. A settle
    that missed either would report the event still pending after its timeout."""
    path = tmp_path / "given-up.toml"
    path.write_text(GIVEN_UP)
    app = create_app(seed=5)
    target = Target.in_process(app)
    try:
        result = runner.run_scenario(load(path), target)
    finally:
        target.close()
        app.fake.close()
    assert result.passed, [str(m) for m in result.mismatches] or result.error


def test_settling_reads_only_the_events_since_its_last_look(monkeypatch: Any) -> None:
    """Each look of `settle` lists only the events after the newest it has listed (and reads
    again only those an attempt has answered): the tenant's whole list, each event with its
    object, is read a fixed number of times per scenario, not at every look."""
    full: list[dict[str, Any]] = []
    newer: list[dict[str, Any]] = []
    get = Observer.get

    def counted(self: Observer, path: str, where: str = "observe", /, **params: Any) -> Any:
        if path == "/v1/events":
            (newer if "ending_before" in params else full).append(params)
        return get(self, path, where, **params)

    monkeypatch.setattr(Observer, "get", counted)
    path = Path(scenarios.__file__).parent / "catalog"
    scenario = load(path / "webhook-payment-failed-connect-new-account.toml")
    app = create_app(seed=5)
    target = Target.in_process(app)
    try:
        result = runner.run_scenario(scenario, target)
    finally:
        target.close()
        app.fake.close()
    assert result.passed, [str(m) for m in result.mismatches] or result.error
    # [given], the endpoint's registration, and each `[expect] webhooks` (the events listed to
    # check `pending_webhooks`); the looks of `settle` list only the newer events.
    assert len(full) <= 5, len(full)
    assert len(newer) > len(full)
