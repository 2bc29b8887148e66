"""Webhook endpoints, signed delivery with retries, the journal, restarts and `fake-stripe listen`.

Deliveries go to a real HTTP receiver on a loopback port. Retry schedules are shortened per
tenant through `/_fake/webhooks/settings`, so each retry test takes well under a second.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx
import pytest
import stripe

from fake_stripe import create_app
from fake_stripe.app import App
from fake_stripe.core.events import Event, Recorded
from fake_stripe.core.objects import StripeObject
from fake_stripe.core.tenant import tenant_of
from fake_stripe.core.versions import PREVIEW_VERSION
from fake_stripe.http_server import ServerThread
from fake_stripe.inprocess import client as inprocess_client
from fake_stripe.resources.customer_object import Customer
from fake_stripe.webhooks import signing
from tests.helpers import assert_error

T = TypeVar("T")


# ---- the app under test ------------------------------------------------------------------------


def close_app(app: App) -> None:
    app.fake.close()


@pytest.fixture(scope="module")
def app() -> Iterator[App]:
    a = create_app(seed=424242, strict=True)
    yield a
    close_app(a)


@pytest.fixture(scope="module")
def server(app: App) -> Iterator[ServerThread]:
    s = ServerThread(app)
    yield s
    s.stop()


# ---- a webhook receiver ------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


class Receiver:
    """A loopback HTTP server that records every POST.

    `fail_first` answers 500 to the first N deliveries of each event, and `failing` to every
    delivery while it is set; `slow_first` sleeps that many seconds before answering the first
    delivery of each event; a `gate` holds every answer until it is set.
    """

    def __init__(
        self, fail_first: int = 0, slow_first: float = 0.0, gate: threading.Event | None = None
    ) -> None:
        self.fail_first = fail_first
        self.slow_first = slow_first
        self.gate = gate
        self.failing = False
        self.requests: list[Received] = []
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status, delay = receiver._record(Received(self.path, dict(self.headers), body))
                time.sleep(delay)
                if receiver.gate is not None:
                    receiver.gate.wait(10)
                reply = json.dumps({"received": status < 300}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a timed-out delivery's connection is gone when the slow reply is written

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def _record(self, r: Received) -> tuple[int, float]:
        event_id = r.event["id"]
        with self._lock:
            self.requests.append(r)
            n = self._seen[event_id] = self._seen.get(event_id, 0) + 1
        status = 500 if self.failing or n <= self.fail_first else 200
        return status, self.slow_first if n == 1 else 0.0

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        return eventually(lambda: len(self.requests) >= count and list(self.requests), timeout)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def eventually(check: Callable[[], T | None | bool], timeout: float = 5.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.005)


def create_endpoint(api: httpx.Client, url: str, *events: str, **extra: str) -> dict[str, Any]:
    data = {f"enabled_events[{i}]": e for i, e in enumerate(events or ("*",))}
    resp = api.post("/v1/webhook_endpoints", data={"url": url, **data, **extra})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def settings(api: httpx.Client, **values: Any) -> dict[str, Any]:
    resp = api.post("/_fake/webhooks/settings", data={k: str(v) for k, v in values.items()})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def journal(api: httpx.Client, **filters: Any) -> list[dict[str, Any]]:
    resp = api.get("/_fake/webhooks/deliveries", params=filters)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["data"])


def pending(api: httpx.Client, event_id: str) -> int:
    return int(api.get(f"/v1/events/{event_id}").json()["pending_webhooks"])


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- /v1/webhook_endpoints ---------------------------------------------------------------------


def test_endpoint_secret_is_returned_only_by_create(api: httpx.Client) -> None:
    created = create_endpoint(
        api,
        "https://example.com/hook",
        "customer.created",
        "financial_connections.account.deactivated",
        description="relink",
        **{"metadata[team]": "banking"},
    )
    assert created["id"].startswith("we_")
    assert created["secret"].startswith("whsec_")
    assert created["object"] == "webhook_endpoint"
    assert created["status"] == "enabled"
    assert created["enabled_events"] == [
        "customer.created",
        "financial_connections.account.deactivated",
    ]
    assert created["api_version"] is None
    assert created["application"] is None
    assert created["livemode"] is False
    assert created["description"] == "relink"
    assert created["metadata"] == {"team": "banking"}
    got = api.get(f"/v1/webhook_endpoints/{created['id']}").json()
    assert "secret" not in got
    assert got == {k: v for k, v in created.items() if k != "secret"}
    listed = api.get("/v1/webhook_endpoints").json()
    assert [e["id"] for e in listed["data"]] == [created["id"]]
    assert "secret" not in listed["data"][0]
    updated = api.post(f"/v1/webhook_endpoints/{created['id']}", data={"description": "x"})
    assert "secret" not in updated.json()


def test_endpoint_update_disables_replaces_events_and_merges_metadata(api: httpx.Client) -> None:
    ep = create_endpoint(api, "https://example.com/a", **{"metadata[a]": "1", "metadata[b]": "2"})
    upd = api.post(
        f"/v1/webhook_endpoints/{ep['id']}",
        data={
            "disabled": "true",
            "url": "https://example.com/b",
            "enabled_events[0]": "customer.updated",
            "metadata[a]": "",
            "metadata[c]": "3",
            "description": "",
        },
    ).json()
    assert upd["status"] == "disabled"
    assert upd["url"] == "https://example.com/b"
    assert upd["enabled_events"] == ["customer.updated"]
    assert upd["metadata"] == {"b": "2", "c": "3"}
    assert upd["description"] is None
    again = api.post(f"/v1/webhook_endpoints/{ep['id']}", data={"disabled": "false"}).json()
    assert again["status"] == "enabled"


def test_endpoint_api_version_is_kept(api: httpx.Client) -> None:
    ep = create_endpoint(api, "https://example.com/a", api_version=PREVIEW_VERSION)
    assert ep["api_version"] == PREVIEW_VERSION
    assert api.get(f"/v1/webhook_endpoints/{ep['id']}").json()["api_version"] == (PREVIEW_VERSION)


@pytest.mark.parametrize("version", ["2019-13-45", "0000-00-00.preview", "2024-02-30"])
def test_an_endpoint_api_version_on_no_real_date_is_a_400_naming_it(
    api: httpx.Client, version: str
) -> None:
    resp = api.post(
        "/v1/webhook_endpoints",
        data={"url": "https://example.com/a", "enabled_events[]": "*", "api_version": version},
    )
    err = assert_error(resp, 400, param="api_version")
    assert err["message"] == f"Invalid api_version: {version}"


def test_deleted_endpoint_returns_the_stub_and_is_gone(api: httpx.Client) -> None:
    ep = create_endpoint(api, "https://example.com/a")
    gone = api.delete(f"/v1/webhook_endpoints/{ep['id']}").json()
    assert gone == {"id": ep["id"], "object": "webhook_endpoint", "deleted": True}
    err = assert_error(
        api.get(f"/v1/webhook_endpoints/{ep['id']}"), 404, code="resource_missing", param="id"
    )
    assert err["message"] == f"No such webhook endpoint: '{ep['id']}'"
    assert api.get("/v1/webhook_endpoints").json()["data"] == []


def test_endpoint_list_paginates_newest_first(api: httpx.Client) -> None:
    ids = [create_endpoint(api, f"https://example.com/{i}")["id"] for i in range(3)]
    page = api.get("/v1/webhook_endpoints", params={"limit": 2}).json()
    assert [e["id"] for e in page["data"]] == ids[:0:-1]
    assert page["has_more"] is True
    rest = api.get("/v1/webhook_endpoints", params={"starting_after": ids[1]}).json()
    assert [e["id"] for e in rest["data"]] == [ids[0]]


def test_endpoint_create_requires_url_and_enabled_events(api: httpx.Client) -> None:
    assert_error(
        api.post("/v1/webhook_endpoints", data={"enabled_events[0]": "*"}),
        400,
        code="parameter_missing",
        param="url",
    )
    assert_error(
        api.post("/v1/webhook_endpoints", data={"url": "https://example.com"}),
        400,
        code="parameter_missing",
        param="enabled_events",
    )


def test_endpoint_create_rejects_bad_values_naming_the_param(api: httpx.Client) -> None:
    base = {"url": "https://example.com", "enabled_events[0]": "*"}
    cases = [
        ({"url": "example.com/hook"}, "url"),
        ({"enabled_events[1]": "not an event"}, "enabled_events[1]"),
        ({"api_version": "yesterday"}, "api_version"),
    ]
    for change, param in cases:
        assert_error(api.post("/v1/webhook_endpoints", data={**base, **change}), 400, param=param)
    assert_error(
        api.post("/v1/webhook_endpoints", data={**base, "colour": "red"}),
        400,
        code="parameter_unknown",
        param="colour",
    )
    ep = create_endpoint(api, "https://example.com")
    assert_error(
        api.post(f"/v1/webhook_endpoints/{ep['id']}", data={"api_version": PREVIEW_VERSION}),
        400,
        code="parameter_unknown",
        param="api_version",
    )
    assert_error(
        api.post("/v1/webhook_endpoints/we_missing", data={"disabled": "true"}),
        404,
        code="resource_missing",
        param="id",
    )


# ---- delivery ----------------------------------------------------------------------------------


def test_deliveries_verify_with_the_official_sdk(api: httpx.Client, receiver: Receiver) -> None:
    ep = create_endpoint(api, receiver.url)
    cus = [api.post("/v1/customers", data={"name": f"c{i}"}).json() for i in range(3)]
    api.post(f"/v1/customers/{cus[0]['id']}", data={"name": "renamed"})
    got = receiver.wait_for(4)
    events = [
        stripe.Webhook.construct_event(r.body, r.headers["Stripe-Signature"], ep["secret"])
        for r in got
    ]
    listed = api.get("/v1/events").json()["data"]
    assert [e.id for e in events] == [e["id"] for e in reversed(listed)]
    assert [e.type for e in events] == ["customer.created"] * 3 + ["customer.updated"]
    assert events[0].data.object.id == cus[0]["id"]
    assert events[3].data.previous_attributes.to_dict() == {"name": "c0"}
    for r in got:
        assert r.headers["Content-Type"] == "application/json; charset=utf-8"
        assert r.headers["User-Agent"] == "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
        assert r.event["pending_webhooks"] == 1
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(
                r.body.replace(b"customer", b"Customer"),
                r.headers["Stripe-Signature"],
                ep["secret"],
            )
    for e in listed:

        def delivered(event_id: str = e["id"]) -> bool:
            return pending(api, event_id) == 0

        eventually(delivered)


def test_signature_is_hmac_sha256_of_timestamp_dot_body(
    api: httpx.Client, receiver: Receiver
) -> None:
    ep = create_endpoint(api, receiver.url)
    api.post("/v1/customers")
    (r,) = receiver.wait_for(1)
    header = r.headers["Stripe-Signature"]
    t = int(header.split(",")[0].removeprefix("t="))
    assert abs(t - time.time()) < 5
    assert header == signing.sign(ep["secret"], t, r.body.decode())
    mac = hmac.new(ep["secret"].encode(), f"{t}.".encode() + r.body, hashlib.sha256)
    assert header == f"t={t},v1={mac.hexdigest()}"


def test_events_go_only_to_enabled_endpoints_whose_events_match(
    api: httpx.Client, receiver: Receiver
) -> None:
    every = create_endpoint(api, receiver.url + "?all")
    updates = create_endpoint(api, receiver.url + "?updates", "customer.updated")
    create_endpoint(api, receiver.url + "?deleted", "customer.deleted")
    off = create_endpoint(api, receiver.url + "?off")
    api.post(f"/v1/webhook_endpoints/{off['id']}", data={"disabled": "true"})
    cus = api.post("/v1/customers").json()
    api.post(f"/v1/customers/{cus['id']}", data={"name": "n"})
    got = receiver.wait_for(3)
    eventually(lambda: len(journal(api)) == 3)
    assert len(receiver.requests) == 3
    by_endpoint = {
        e["id"]: [a["type"] for a in journal(api, endpoint=e["id"])] for e in (every, updates)
    }
    assert by_endpoint == {
        every["id"]: ["customer.created", "customer.updated"],
        updates["id"]: ["customer.updated"],
    }
    created, updated = api.get("/v1/events").json()["data"][::-1]
    assert {r.event["id"] for r in got} == {created["id"], updated["id"]}
    # the count as it stands when each delivery is sent
    counts = [r.event["pending_webhooks"] for r in got if r.event["id"] == updated["id"]]
    assert counts in ([2, 2], [2, 1])
    eventually(lambda: pending(api, updated["id"]) == 0)


class Gadget(StripeObject):
    """A stand-in object with a preview-only field."""

    kind: ClassVar[str] = "test_webhooks_gadget"
    preview: ClassVar[frozenset[str]] = frozenset({"relink_hint"})

    object: str = "test_webhooks_gadget"
    relink_hint: str = "preview only"


def emit(app: App, key: str, version: str, type_: str, obj: StripeObject) -> Recorded:
    """Record an event as a request at `version` would (outside any request: delivered now)."""
    fake = app.fake
    tenant = fake.tenant(tenant_of(key))
    return fake.events.emit(tenant, type_, obj, version=version, request_id="req_test")


def test_endpoint_api_version_decides_the_payload_shape(
    app: App, key: str, receiver: Receiver
) -> None:
    with inprocess_client(app, headers={"Authorization": f"Bearer {key}"}) as api:
        preview = create_endpoint(api, receiver.url + "?preview", api_version=PREVIEW_VERSION)
        ga = create_endpoint(api, receiver.url + "?ga", api_version="2026-10-28.endive")
        create_endpoint(api, receiver.url + "?default")
    emit(app, key, "2025-06-30.basil", "test_webhooks_gadget.updated", Gadget(id="gad_1"))
    got = {r.path.rsplit("?", 1)[1]: r for r in receiver.wait_for(3)}
    assert got["preview"].event["api_version"] == PREVIEW_VERSION
    assert got["preview"].event["data"]["object"]["relink_hint"] == "preview only"
    assert got["ga"].event["api_version"] == "2026-10-28.endive"
    assert "relink_hint" not in got["ga"].event["data"]["object"]
    assert got["default"].event["api_version"] == "2025-06-30.basil"
    assert "relink_hint" not in got["default"].event["data"]["object"]
    for name, ep in (("preview", preview), ("ga", ga)):
        r = got[name]
        stripe.Webhook.construct_event(r.body, r.headers["Stripe-Signature"], ep["secret"])


def test_a_preview_event_without_an_endpoint_version_keeps_its_preview_fields(
    app: App, key: str, receiver: Receiver
) -> None:
    with inprocess_client(app, headers={"Authorization": f"Bearer {key}"}) as api:
        create_endpoint(api, receiver.url)
    emit(app, key, PREVIEW_VERSION, "test_webhooks_gadget.updated", Gadget(id="gad_2"))
    (r,) = receiver.wait_for(1)
    assert r.event["api_version"] == PREVIEW_VERSION
    assert r.event["data"]["object"]["relink_hint"] == "preview only"


def test_after_a_reset_the_same_requests_deliver_at_once_not_at_the_old_runs_retry(
    api: httpx.Client, key: str
) -> None:
    """A reset tenant numbers its ids from the start again, so a suite that resets its key
    between tests makes the same event and endpoint ids, and so the same delivery id, as the
    run before, whose failed attempt is still scheduled for a retry a minute later."""
    r = Receiver()
    try:
        settings(api, base_delay=60, max_attempts=4)
        create_endpoint(api, f"http://127.0.0.1:{dead_port()}/x")
        api.post("/v1/customers")
        (failed,) = eventually(lambda: journal(api))
        assert failed["outcome"] == "failed"
        assert api.post("/_fake/reset", data={"key": key}).status_code == 200
        create_endpoint(api, r.url)
        api.post("/v1/customers")
        (got,) = r.wait_for(1, timeout=5)
        assert got.event["id"] == failed["event"]  # the same ids again
    finally:
        r.close()


def test_an_endpoint_for_connected_accounts_gets_none_of_the_accounts_own_events(
    api: httpx.Client,
) -> None:
    r = Receiver()
    try:
        create_endpoint(api, r.url + "?connect", connect="true")
        create_endpoint(api, r.url + "?own")
        api.post("/v1/customers")
        (got,) = r.wait_for(1)
        time.sleep(0.2)
        assert [g.path.rpartition("?")[2] for g in r.requests] == ["own"]
        (event,) = api.get("/v1/events").json()["data"]
        assert got.event["id"] == event["id"]
        assert [a["url"].rpartition("?")[2] for a in journal(api)] == ["own"]
    finally:
        r.close()


def test_events_filter_by_whether_every_endpoint_they_were_owed_to_got_them(
    api: httpx.Client,
) -> None:
    settings(api, max_attempts=1)
    create_endpoint(api, f"http://127.0.0.1:{dead_port()}/x", "customer.created")
    cus = api.post("/v1/customers").json()
    api.post(f"/v1/customers/{cus['id']}", data={"name": "Jenny"})  # owed to no endpoint
    eventually(lambda: journal(api))

    def types(delivered: str) -> list[str]:
        resp = api.get("/v1/events", params={"delivery_success": delivered})
        assert resp.status_code == 200, resp.text
        return [e["type"] for e in resp.json()["data"]]

    assert types("true") == ["customer.updated"]
    assert types("false") == ["customer.created"]  # given up, still pending
    bad = api.get("/v1/events", params={"delivery_success": "maybe"})
    assert_error(bad, 400, param="delivery_success")


def test_a_receiver_failing_three_times_gets_the_event_on_the_fourth_attempt(
    api: httpx.Client,
) -> None:
    r = Receiver(fail_first=3)
    try:
        settings(api, base_delay=1, factor=2, time_scale=0.05)  # 50 ms, 100 ms, 200 ms
        ep = create_endpoint(api, r.url)
        started = time.monotonic()
        api.post("/v1/customers")
        (event,) = api.get("/v1/events").json()["data"]
        got = r.wait_for(4)
        elapsed = time.monotonic() - started
        assert {g.event["id"] for g in got} == {event["id"]}
        attempts = eventually(lambda: len(journal(api, event=event["id"])) == 4 and journal(api))
        assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]
        assert [a["outcome"] for a in attempts] == ["failed"] * 3 + ["succeeded"]
        assert [a["status_code"] for a in attempts] == [500, 500, 500, 200]
        assert all(a["url"] == r.url and a["endpoint"] == ep["id"] for a in attempts)
        assert attempts[0]["response"] == '{"received": false}'
        assert attempts[3]["next_attempt_at"] is None
        assert all(a["latency_ms"] >= 0 for a in attempts)
        gaps = [b["time"] - a["time"] for a, b in zip(attempts, attempts[1:], strict=False)]
        for gap, scheduled in zip(gaps, (0.05, 0.1, 0.2), strict=True):
            assert gap >= scheduled - 0.005, gaps
        assert elapsed < 2
        eventually(lambda: pending(api, event["id"]) == 0)
        assert journal(api, outcome="failed", event=event["id"]) == attempts[:3]
    finally:
        r.close()


def test_connection_errors_are_retried_then_given_up_keeping_the_event_pending(
    api: httpx.Client,
) -> None:
    settings(api, base_delay=0.02, max_attempts=3)
    ep = create_endpoint(api, f"http://127.0.0.1:{dead_port()}/hook")
    api.post("/v1/customers")
    (event,) = api.get("/v1/events").json()["data"]
    attempts = eventually(lambda: len(journal(api)) == 3 and journal(api))
    assert [a["outcome"] for a in attempts] == ["failed"] * 3
    assert all(a["status_code"] is None and "ConnectError" in a["error"] for a in attempts)
    assert attempts[2]["next_attempt_at"] is None
    assert attempts[0]["next_attempt_at"] is not None
    time.sleep(0.1)
    assert len(journal(api, endpoint=ep["id"])) == 3
    assert pending(api, event["id"]) == 1


def test_a_timed_out_attempt_is_retried(api: httpx.Client) -> None:
    r = Receiver(slow_first=1.0)
    try:
        settings(api, base_delay=0.02, timeout=0.3)
        create_endpoint(api, r.url)
        api.post("/v1/customers")
        eventually(lambda: journal(api, outcome="succeeded"))
        first = journal(api)[0]
        assert first["outcome"] == "failed"
        assert first["error"] == "timeout after 0.3s"
        assert first["status_code"] is None
        assert first["next_attempt_at"] is not None
    finally:
        r.close()


def test_delivery_never_blocks_the_request_that_caused_the_event(api: httpx.Client) -> None:
    answer = threading.Event()
    r = Receiver(gate=answer)
    try:
        create_endpoint(api, r.url)
        assert api.post("/v1/customers").status_code == 200
        # The receiver now holds the delivery unanswered; the request has already returned.
        r.wait_for(1)
        assert journal(api) == []
        answer.set()
        eventually(lambda: journal(api, outcome="succeeded"))
    finally:
        answer.set()
        r.close()


def test_deleting_or_disabling_the_endpoint_stops_its_retries(api: httpx.Client) -> None:
    r = Receiver(fail_first=100)
    try:
        settings(api, base_delay=0.1, factor=1)
        deleted = create_endpoint(api, r.url + "?deleted")
        disabled = create_endpoint(api, r.url + "?disabled")
        api.post("/v1/customers")
        eventually(lambda: len(journal(api, outcome="failed")) >= 2)
        api.delete(f"/v1/webhook_endpoints/{deleted['id']}")
        api.post(f"/v1/webhook_endpoints/{disabled['id']}", data={"disabled": "true"})
        stopped = time.time()
        time.sleep(0.35)
        assert [a for a in journal(api) if a["time"] > stopped] == []
        assert len(r.requests) == len(journal(api))
    finally:
        r.close()


def test_duplicate_mode_delivers_each_event_twice(api: httpx.Client, receiver: Receiver) -> None:
    assert settings(api, duplicate="true")["duplicate"] is True
    create_endpoint(api, receiver.url)
    api.post("/v1/customers")
    (event,) = api.get("/v1/events").json()["data"]
    got = receiver.wait_for(2)
    assert [g.event["id"] for g in got] == [event["id"]] * 2
    attempts = eventually(lambda: len(journal(api)) == 2 and journal(api))
    assert [a["duplicate"] for a in attempts] == [False, True]
    eventually(lambda: pending(api, event["id"]) == 0)


def test_shuffle_mode_changes_the_delivery_order(api: httpx.Client, receiver: Receiver) -> None:
    settings(api, shuffle="true", shuffle_window=0.3)
    create_endpoint(api, receiver.url)
    for _ in range(20):
        api.post("/v1/customers")
    emitted = [
        e["id"] for e in reversed(api.get("/v1/events", params={"limit": 20}).json()["data"])
    ]
    got = [g.event["id"] for g in receiver.wait_for(20)]
    assert sorted(got) == sorted(emitted)
    assert got != emitted


def test_settings_reset_to_the_server_default_with_an_empty_value(api: httpx.Client) -> None:
    changed = settings(api, max_attempts=2, time_scale=0.5, shuffle="true")
    assert changed["retry_schedule"]["max_attempts"] == 2
    assert changed["retry_schedule"]["time_scale"] == 0.5
    back = settings(api, max_attempts="", time_scale="", shuffle="false")
    assert back == api.get("/_fake/webhooks/settings").json()
    assert back["retry_schedule"]["max_attempts"] == 4
    assert back["shuffle"] is False
    assert_error(api.post("/_fake/webhooks/settings", data={"factor": "fast"}), 400, param="factor")


def test_journal_filters_and_needs_the_tenants_key(api: httpx.Client, receiver: Receiver) -> None:
    a = create_endpoint(api, receiver.url + "?a", "customer.created")
    b = create_endpoint(api, receiver.url + "?b")
    cus = api.post("/v1/customers").json()
    api.post(f"/v1/customers/{cus['id']}", data={"name": "n"})
    receiver.wait_for(3)
    everything = eventually(lambda: len(journal(api)) == 3 and journal(api))
    assert [x["seq"] for x in everything] == [1, 2, 3]
    updated = api.get("/v1/events", params={"type": "customer.updated"}).json()["data"][0]
    assert [x["endpoint"] for x in journal(api, event=updated["id"])] == [b["id"]]
    assert [x["type"] for x in journal(api, endpoint=a["id"])] == ["customer.created"]
    assert journal(api, outcome="failed") == []
    assert journal(api, after=2) == everything[2:]
    assert len(journal(api, limit=1)) == 1
    pages = [api.get("/_fake/webhooks/deliveries", params={"limit": n}).json() for n in (2, 3)]
    assert [(len(p["data"]), p["has_more"]) for p in pages] == [(2, True), (3, False)]
    assert_error(
        api.get("/_fake/webhooks/deliveries", params={"outcome": "maybe"}), 400, param="outcome"
    )
    denied = api.get("/_fake/webhooks/deliveries", headers={"Authorization": ""})
    assert denied.status_code == 401
    other = api.get(
        "/_fake/webhooks/deliveries", headers={"Authorization": "Bearer sk_test_nobody"}
    )
    assert other.json()["data"] == []


def test_thousand_events_to_a_healthy_receiver_arrive_exactly_once(
    app: App, key: str, receiver: Receiver
) -> None:
    fake = app.fake
    with inprocess_client(app, headers={"Authorization": f"Bearer {key}"}) as api:
        create_endpoint(api, receiver.url)

    started = time.monotonic()
    emitted = [
        emit(
            app, key, fake.api_version, "customer.created", Customer(id=f"cus_bulk{i}", created=0)
        ).id
        for i in range(1000)
    ]
    receiver.wait_for(1000, timeout=30)
    elapsed = time.monotonic() - started
    attempts = eventually(
        lambda: (
            len(fake.webhooks.journal(tenant_of(key))) == 1000
            and fake.webhooks.journal(tenant_of(key))
        )
    )
    time.sleep(0.1)
    ids = [r.event["id"] for r in receiver.requests]
    assert len(ids) == 1000
    assert ids == emitted  # one at a time per endpoint, in the order they happened
    assert {a.outcome for a in attempts} == {"succeeded"}
    assert [a.attempt for a in attempts] == [1] * 1000

    def all_delivered() -> bool:
        stored = [fake.tenant(tenant_of(key)).get(Event, i) for i in emitted]
        return all(e is not None and e.pending_webhooks == 0 for e in stored)

    eventually(all_delivered)
    print(f"\n1,000 deliveries in {elapsed:.2f}s")


# ---- redelivery and payloads (`/_fake/webhooks/redeliver`, `/_fake/webhooks/payload`) ---------


def test_the_journal_records_the_signature_header_each_attempt_sent(
    api: httpx.Client, receiver: Receiver
) -> None:
    create_endpoint(api, receiver.url)
    api.post("/v1/customers")
    (got,) = receiver.wait_for(1)
    (attempt,) = eventually(lambda: journal(api))
    assert attempt["signature"] == got.headers["Stripe-Signature"]
    assert attempt["redelivery"] is False


def test_payload_is_the_body_a_delivery_to_the_endpoint_sends(
    api: httpx.Client, receiver: Receiver
) -> None:
    ep = create_endpoint(api, receiver.url, api_version=PREVIEW_VERSION)
    api.post("/v1/customers")
    (got,) = receiver.wait_for(1)
    resp = api.get(
        "/_fake/webhooks/payload", params={"event": got.event["id"], "endpoint": ep["id"]}
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["object"] == "webhook_payload"
    assert body["api_version"] == PREVIEW_VERSION
    # Rendered now: the same body, but for `pending_webhooks`, which counts down once delivered.
    sent, now = json.loads(got.body), json.loads(body["payload"])
    assert {**now, "pending_webhooks": 1} == sent
    assert body["payload"] == json.dumps(now, indent=2, ensure_ascii=False)


def test_redeliver_sends_the_event_again_without_touching_pending_webhooks(
    api: httpx.Client, receiver: Receiver
) -> None:
    ep = create_endpoint(api, receiver.url)
    api.post("/v1/customers")
    (first,) = receiver.wait_for(1)
    event_id = first.event["id"]
    eventually(lambda: pending(api, event_id) == 0)
    resp = api.post("/_fake/webhooks/redeliver", data={"event": event_id, "endpoint": ep["id"]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["object"] == "webhook_redelivery"
    assert resp.json()["url"] == receiver.url
    again = receiver.wait_for(2)[1]
    assert again.event == {**first.event, "pending_webhooks": 0}
    attempts = eventually(lambda: len(journal(api)) == 2 and journal(api))
    assert [a["redelivery"] for a in attempts] == [False, True]
    assert [a["outcome"] for a in attempts] == ["succeeded", "succeeded"]
    assert attempts[1]["signature"] == again.headers["Stripe-Signature"]
    assert pending(api, event_id) == 0


def test_a_failed_redelivery_is_retried_like_any_delivery(api: httpx.Client) -> None:
    r = Receiver()
    try:
        settings(api, base_delay=0.02, factor=1)
        ep = create_endpoint(api, r.url)
        api.post("/v1/customers")
        (first,) = r.wait_for(1)
        r.failing = True
        api.post(
            "/_fake/webhooks/redeliver", data={"event": first.event["id"], "endpoint": ep["id"]}
        )
        eventually(lambda: len(journal(api, outcome="failed")) >= 2)
        r.failing = False
        done = eventually(lambda: [a for a in journal(api)[1:] if a["outcome"] == "succeeded"])
        assert done[0]["redelivery"] is True and done[0]["attempt"] >= 3
        assert pending(api, first.event["id"]) == 0
    finally:
        r.close()


def test_redeliver_names_the_missing_or_unusable_param(api: httpx.Client) -> None:
    ep = create_endpoint(api, "http://127.0.0.1:9/hook")
    api.post("/v1/customers")
    (event,) = api.get("/v1/events").json()["data"]
    redeliver = "/_fake/webhooks/redeliver"
    assert_error(
        api.post(redeliver, data={"endpoint": ep["id"]}),
        400,
        code="parameter_missing",
        param="event",
    )
    assert_error(
        api.post(redeliver, data={"event": "evt_nope", "endpoint": ep["id"]}),
        400,
        code="resource_missing",
        param="event",
    )
    assert_error(
        api.post(redeliver, data={"event": event["id"], "endpoint": "we_nope"}),
        400,
        code="resource_missing",
        param="endpoint",
    )
    api.post(f"/v1/webhook_endpoints/{ep['id']}", data={"disabled": "true"})
    assert_error(
        api.post(redeliver, data={"event": event["id"], "endpoint": ep["id"]}),
        400,
        param="endpoint",
    )
    assert_error(
        api.get(
            "/_fake/webhooks/payload", params={"event": event["id"], "endpoint": ep["id"], "x": "1"}
        ),
        400,
        code="parameter_unknown",
        param="x",
    )
    other = {"Authorization": f"Bearer {api.headers['Authorization'][7:]}other"}
    assert_error(
        api.post(redeliver, data={"event": event["id"], "endpoint": ep["id"]}, headers=other),
        400,
        code="resource_missing",
        param="event",
    )


# ---- at least once across restarts -------------------------------------------------------------


def test_pending_deliveries_survive_a_restart_with_the_sqlite_store(
    tmp_path: Path, key: str
) -> None:
    db = str(tmp_path / "webhooks.db")
    auth = {"Authorization": f"Bearer {key}"}
    r = Receiver()
    r.failing = True
    first = create_app(db=db, seed=7)
    try:
        with inprocess_client(first, headers=auth) as api:
            settings(api, base_delay=0.3, factor=1)
            create_endpoint(api, r.url)
            api.post("/v1/customers")
            (event,) = api.get("/v1/events").json()["data"]
            eventually(lambda: journal(api))
    finally:
        close_app(first)  # stopped with the delivery pending
    try:
        r.failing = False
        failed = len(r.requests)
        second = create_app(db=db, seed=7)
        try:
            got = r.wait_for(failed + 1)
            assert {g.event["id"] for g in got} == {event["id"]}
            with inprocess_client(second, headers=auth) as api:
                eventually(lambda: pending(api, event["id"]) == 0)
                (attempt,) = journal(api)
            assert attempt["attempt"] == failed + 1
            assert attempt["outcome"] == "succeeded"
        finally:
            close_app(second)
    finally:
        r.close()


def test_serve_restarted_with_the_same_db_delivers_what_was_pending(tmp_path: Path) -> None:
    from tests.test_serve import start, stop

    db = str(tmp_path / "serve.db")
    auth = {"Authorization": "Bearer sk_test_restart"}
    r = Receiver()
    r.failing = True
    try:
        proc, url = start("--db", db)
        try:
            with httpx.Client(base_url=url, headers=auth) as api:
                settings(api, base_delay=0.3, factor=1)
                create_endpoint(api, r.url)
                api.post("/v1/customers")
                (event,) = api.get("/v1/events").json()["data"]
                eventually(lambda: journal(api))
        finally:
            stop(proc)
        r.failing = False
        failed = len(r.requests)
        proc, url = start("--db", db)
        try:
            got = r.wait_for(failed + 1)
            assert {g.event["id"] for g in got} == {event["id"]}
            with httpx.Client(base_url=url, headers=auth) as api:
                eventually(lambda: pending(api, event["id"]) == 0)
        finally:
            stop(proc)
    finally:
        r.close()


# ---- fake-stripe listen ------------------------------------------------------------------------


def listen(*args: str) -> list[str]:
    # Through cli.main, as the console script runs it.
    main = "import sys; from fake_stripe.cli.main import main; sys.exit(main())"
    return [sys.executable, "-c", main, "listen", *args]


def test_listen_prints_the_secret_and_each_delivery_then_deletes_its_endpoint(
    server: ServerThread, key: str, receiver: Receiver
) -> None:
    proc = subprocess.Popen(
        listen(
            "--forward-to", receiver.url,
            "--api-key", key,
            "--base-url", server.url,
            "--events", "customer.created",
            "--print-secret",
            "--max-seconds", "30",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        secret = proc.stdout.readline().strip()
        assert secret.startswith("whsec_")
        httpx.post(f"{server.url}/v1/customers", auth=(key, ""))
        line = proc.stdout.readline()
        (r,) = receiver.wait_for(1)
        event = stripe.Webhook.construct_event(r.body, r.headers["Stripe-Signature"], secret)
        assert f"<-- [200] POST {receiver.url} customer.created [{event.id}] (attempt 1" in line
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert f"Your webhook signing secret is {secret}" in err
    listed = httpx.get(f"{server.url}/v1/webhook_endpoints", auth=(key, "")).json()
    assert listed["data"] == []


def test_listen_stops_by_itself_after_max_seconds(server: ServerThread, key: str) -> None:
    args = ("--forward-to", "http://127.0.0.1:9/x", "--api-key", key, "--base-url", server.url)
    done = subprocess.run(
        listen(*args, "--max-seconds", "0.2"), capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert "Ready!" in done.stderr
    listed = httpx.get(f"{server.url}/v1/webhook_endpoints", auth=(key, "")).json()
    assert listed["data"] == []


def test_listen_reports_a_server_it_cannot_reach() -> None:
    base = f"http://127.0.0.1:{dead_port()}"
    done = subprocess.run(
        listen(
            "--forward-to", "http://127.0.0.1:9/x", "--api-key", "sk_test_l", "--base-url", base
        ),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert f"no fake-stripe answers at {base}" in done.stderr
