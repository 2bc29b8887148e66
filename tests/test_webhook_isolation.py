"""One tenant cannot stall, starve or exhaust webhook delivery for the others, and a webhook
endpoint cannot be turned against the network the fake runs in.

Receivers that misbehave on purpose (`tests/hostile.py`) hang, stream an endless body or drip
their answer; endpoints beyond the API's cap are put straight into the store, as a store written
before the cap would hold them. Retry schedules are shortened per tenant, so nothing here waits
long.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fake_stripe import create_app
from fake_stripe.core.tenant import tenant_of
from fake_stripe.inprocess import client as inprocess_client
from fake_stripe.resources.webhook_endpoints import WebhookEndpoint
from fake_stripe.webhooks.slots import Slots
from tests.helpers import assert_error
from tests.hostile import Hostile
from tests.test_webhooks import create_endpoint, dead_port, eventually, journal, settings


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    with Hostile() as h:
        yield h


def other(api: httpx.Client, key: str) -> httpx.Client:
    """A client of another tenant on the same server and transport as `api`."""
    c = httpx.Client(transport=api._transport, base_url=api.base_url)
    c.headers["Authorization"] = f"Bearer {key}"
    return c


def seed_endpoints(app: Any, key: str, url: str, n: int) -> None:
    """`n` endpoints for all events, stored directly (past the API's cap of 16)."""
    fake = app.fake
    name = tenant_of(key)
    tenant = fake.tenant(name)
    with fake.backend.transaction(name, True):
        for _ in range(n):
            ep_id = tenant.new_id("we")
            tenant.put(
                WebhookEndpoint(
                    id=ep_id, created=1, url=url, enabled_events=["*"], secret=f"whsec_{ep_id}"
                )
            )


# ---- finding 2: a receiver cannot hold an attempt or the fake's memory -------------------------


def only_attempt(api: httpx.Client, url: str, wait: float, timeout: float) -> dict[str, Any]:
    """The one attempt of one event sent to `url`, with this timeout and no retry."""
    settings(api, timeout=timeout, max_attempts=1)
    create_endpoint(api, url)
    api.post("/v1/customers")
    (attempt,) = eventually(lambda: journal(api), timeout=wait)
    return attempt


def test_an_endless_response_body_is_cut_off_and_the_attempt_recorded(
    api: httpx.Client, hostile: Hostile
) -> None:
    attempt = only_attempt(api, hostile.url("/endless"), wait=8, timeout=5)
    assert attempt["outcome"] == "succeeded"
    assert attempt["status_code"] == 200
    assert attempt["response"] == "x" * 200  # the journal keeps 200 characters
    assert attempt["latency_ms"] < 2000
    # The fake stopped reading after the first bytes: the receiver's writes soon fail.
    time.sleep(0.3)
    sent = hostile.sent
    time.sleep(0.3)
    assert hostile.sent == sent < 64 * 1024 * 1024


def test_a_receiver_dripping_its_answer_is_cut_at_the_timeout(
    api: httpx.Client, hostile: Hostile
) -> None:
    # 100 bytes, one per 0.2 s: 20 s in all, while no single read waits more than 0.2 s.
    attempt = only_attempt(api, hostile.url("/drip"), wait=25, timeout=0.5)
    assert attempt["outcome"] == "failed"
    assert attempt["error"] == "timeout after 0.5s"
    assert attempt["status_code"] is None
    assert attempt["latency_ms"] < 1500


# ---- finding 3: one tenant's receivers cannot starve another's deliveries ----------------------


def test_a_seventeenth_endpoint_is_refused_as_stripe_refuses_it(api: httpx.Client) -> None:
    made = [create_endpoint(api, f"https://example.com/{i}") for i in range(16)]
    api.post(f"/v1/webhook_endpoints/{made[0]['id']}", data={"disabled": "true"})
    err = assert_error(
        api.post(
            "/v1/webhook_endpoints", data={"url": "https://example.com/x", "enabled_events[]": "*"}
        ),
        400,
    )
    assert err["message"] == "You have reached the maximum of 16 test webhook endpoints."
    api.delete(f"/v1/webhook_endpoints/{made[1]['id']}")
    create_endpoint(api, "https://example.com/again")


def test_other_tenants_hanging_receivers_do_not_delay_a_tenants_delivery(
    api: httpx.Client, key: str, hostile: Hostile
) -> None:
    # 120 receivers that never answer, 15 for each of 8 tenants, with the longest timeout.
    attackers = [other(api, f"{key}att{n}") for n in range(8)]
    for att in attackers:
        settings(att, timeout=300, max_attempts=1)
        for _ in range(15):
            create_endpoint(att, hostile.url("/hang"))
        att.post("/v1/customers")
    eventually(lambda: hostile.hanging >= 100, timeout=10)
    ok = Hostile()
    try:
        create_endpoint(api, ok.url("/ok"))
        api.post("/v1/customers")
        (attempt,) = eventually(lambda: journal(api), timeout=5)
        assert attempt["outcome"] == "succeeded", attempt
        assert attempt["latency_ms"] < 2000
    finally:
        ok.close()
        for att in attackers:
            att.close()


def test_one_tenant_never_has_more_than_16_attempts_in_flight(
    app: Any, api: httpx.Client, key: str, hostile: Hostile
) -> None:
    settings(api, timeout=300, max_attempts=1)
    seed_endpoints(app, key, hostile.url("/hang"), 40)
    api.post("/v1/customers")
    eventually(lambda: hostile.hanging >= 16, timeout=10)
    time.sleep(0.3)
    assert hostile.most_hanging == 16


def test_when_invented_keys_take_every_turn_a_waiting_tenant_gets_one_within_seconds(
    monkeypatch: pytest.MonkeyPatch, hostile: Hostile
) -> None:
    """Keys cost nothing: enough tenants with receivers that never answer take every one of
    the process's turns (here 8 rather than 256). The oldest attempts of the busiest of them
    are cut short once they have run `CUT_AFTER`, so a tenant waiting for a turn waits that
    long at most, not the 300 s the attackers set."""
    from fake_stripe.webhooks import engine

    monkeypatch.setattr(engine, "TENANT_IN_FLIGHT", 4)
    monkeypatch.setattr(engine, "IN_FLIGHT", 8)
    monkeypatch.setattr(engine, "CUT_AFTER", 0.5)
    app = create_app(seed=11)
    try:
        with inprocess_client(app, headers={"Authorization": "Bearer sk_test_cut"}) as api:
            attackers = [other(api, f"sk_test_cut_att{n}") for n in range(2)]
            for att in attackers:
                settings(att, timeout=300, max_attempts=1)
                for _ in range(4):
                    create_endpoint(att, hostile.url("/hang"))
                att.post("/v1/customers")
            eventually(lambda: hostile.hanging == 8, timeout=10)
            with Hostile() as ok:
                create_endpoint(api, ok.url("/ok"))
                started = time.monotonic()
                api.post("/v1/customers")
                (attempt,) = eventually(lambda: journal(api), timeout=10)
                waited = time.monotonic() - started
            assert attempt["outcome"] == "succeeded", attempt
            assert waited < 5
            (cut,) = [a for att in attackers for a in journal(att)]
            assert cut["outcome"] == "failed"
            assert cut["error"].startswith("cut short after ")
            assert hostile.hanging == 7  # one attempt cut, for the one tenant that waited
            for att in attackers:
                att.close()
    finally:
        app.fake.close()


def test_a_lookup_that_hangs_keeps_its_tenants_turn_after_the_attempt_gives_up(
    api: httpx.Client, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resolver that never answers for one tenant's names: its attempts time out, but their
    threads stay in the lookup, and so do the tenant's two turns; the other threads (8 in
    all) stay free for the others."""
    real = socket.getaddrinfo
    release = threading.Event()
    stuck = []

    def lookup(host: str, *args: Any, **kwargs: Any) -> Any:
        if host.endswith(".hang.test"):
            stuck.append(host)
            release.wait(20)
        return real("127.0.0.1" if host.endswith(".test") else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    attacker = other(api, f"{key}dns")
    try:
        settings(attacker, timeout=0.1, base_delay=0, max_attempts=100)
        for n in range(8):
            create_endpoint(attacker, f"http://n{n}.hang.test:9/x")
        attacker.post("/v1/customers")
        eventually(lambda: len(journal(attacker)) >= 16, timeout=10)
        assert len(stuck) == 2  # the tenant's two turns, held by the threads still looking up
        with Hostile() as ok:
            create_endpoint(api, ok.url("/ok").replace("127.0.0.1", "ok.test"))
            api.post("/v1/customers")
            (attempt,) = eventually(lambda: journal(api), timeout=5)
        assert attempt["outcome"] == "succeeded", attempt
    finally:
        release.set()
        attacker.post("/_fake/reset", data={"key": f"{key}dns"})
        attacker.close()


def test_a_storm_of_failing_attempts_does_not_delay_another_tenants_webhook(
    app: Any, api: httpx.Client, key: str, hostile: Hostile
) -> None:
    attacker = other(api, f"{key}storm")
    try:
        settings(attacker, base_delay=0, max_attempts=100)
        seed_endpoints(app, f"{key}storm", f"http://127.0.0.1:{dead_port()}/x", 1000)
        attacker.post("/v1/customers")
        time.sleep(0.5)  # the storm is under way
        create_endpoint(api, hostile.url("/ok"))
        started = time.monotonic()
        api.post("/v1/customers")
        (attempt,) = eventually(lambda: journal(api), timeout=5)
        assert attempt["outcome"] == "succeeded", attempt
        assert time.monotonic() - started < 3
    finally:
        attacker.post("/_fake/reset", data={"key": f"{key}storm"})
        attacker.close()


# ---- finding 5: a URL Stripe would refuse is refused, and no attempt loops -----------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:99999/x",
        "http://127.0.0.1:0/x",
        "http://127.0.0.1:port/x",
        "https://example.com/a b",
        "https://example.com/\x7f",
    ],
)
def test_a_webhook_url_stripe_would_refuse_is_a_400_naming_url(api: httpx.Client, url: str) -> None:
    resp = api.post("/v1/webhook_endpoints", data={"url": url, "enabled_events[]": "*"})
    assert_error(resp, 400, param="url")
    ep = create_endpoint(api, "https://example.com/ok")
    resp = api.post(f"/v1/webhook_endpoints/{ep['id']}", data={"url": url})
    assert_error(resp, 400, param="url")


def test_a_stored_url_that_cannot_be_sent_to_is_a_failed_attempt_not_a_loop(
    app: Any, api: httpx.Client, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings(api, base_delay=0.02, factor=1, max_attempts=3)
    seed_endpoints(app, key, "http://127.0.0.1:99999/x", 1)
    with caplog.at_level(logging.INFO, logger="fake_stripe"):
        api.post("/v1/customers")
        attempts = eventually(lambda: len(journal(api)) == 3 and journal(api))
        time.sleep(0.1)
    assert [a["outcome"] for a in attempts] == ["failed"] * 3
    assert all(a["status_code"] is None and a["error"] for a in attempts)
    assert attempts[-1]["next_attempt_at"] is None
    assert len(journal(api)) == 3
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


# ---- finding 6: DNS rebinding and SSRF ----------------------------------------------------------


def test_a_loopback_server_refuses_v1_and_stripejs_under_a_foreign_host(
    server: Any, key: str
) -> None:
    port = server.url.rsplit(":", 1)[1]
    auth = {"Authorization": f"Bearer {key}"}
    evil = {"Host": f"evil.example:{port}"}
    with httpx.Client(base_url=server.url) as c:
        assert_error(c.get("/v1/customers", headers={**auth, **evil}), 403)
        hook = {"url": "http://192.168.1.1/admin", "enabled_events[]": "*"}
        assert_error(c.post("/v1/webhook_endpoints", data=hook, headers={**auth, **evil}), 403)
        assert c.get("/v1/webhook_endpoints", headers=auth).json()["data"] == []
        js = c.get("/v3/", headers=evil)
        assert_error(js, 403)
        assert js.headers["access-control-allow-origin"] == "*"
        assert c.get("/v1/customers", headers={**auth, "Host": f"localhost:{port}"}).is_success
        assert c.get("/v1/customers", headers={**auth, "Host": "localhost"}).is_success
        assert c.get("/v1/customers", headers={**auth, "Host": f"[::1]:{port}"}).is_success
        for odd in (f"localhost:{port}@evil.example", "localhost:x", f"127.0.0.1:{port}/x"):
            assert_error(c.get("/v1/customers", headers={**auth, "Host": odd}), 403)
        assert c.get("/v3/", headers={"Origin": "http://merchant.example"}).is_success


@pytest.fixture
def open_app() -> Iterator[Any]:
    """A server as one bound beyond loopback runs it (no --allow-private-webhooks)."""
    app = create_app(seed=9, allow_private_webhooks=False)
    yield app
    app.fake.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://192.168.0.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/x",
        "http://[fd00::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://2130706433/x",
        "http://0.0.0.0/x",
    ],
)
def test_a_server_open_beyond_loopback_refuses_private_webhook_targets(
    open_app: Any, url: str
) -> None:
    with inprocess_client(open_app, headers={"Authorization": "Bearer sk_test_open"}) as c:
        resp = c.post("/v1/webhook_endpoints", data={"url": url, "enabled_events[]": "*"})
        err = assert_error(resp, 400, param="url")
        assert "--allow-private-webhooks" in err["message"]
        ok = c.post(
            "/v1/webhook_endpoints",
            data={"url": "https://93.184.215.14/x", "enabled_events[]": "*"},
        )
        assert ok.status_code == 200, ok.text


def test_a_name_that_resolves_privately_later_is_refused_at_delivery(
    open_app: Any, hostile: Hostile, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = socket.getaddrinfo
    answers = iter(["93.184.215.14"])  # public when registered, the receiver's address after

    def rebinding(host: Any, port: Any, *args: Any, **kw: Any) -> Any:
        if host != "rebind.example":
            return real(host, port, *args, **kw)
        return real(next(answers, "127.0.0.1"), port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = f"http://rebind.example:{hostile.port}/ok"
    with inprocess_client(open_app, headers={"Authorization": "Bearer sk_test_rebind"}) as c:
        settings(c, max_attempts=1)
        create_endpoint(c, url)
        c.post("/v1/customers")
        (attempt,) = eventually(lambda: journal(c))
    assert attempt["outcome"] == "failed"
    assert attempt["error"].startswith("refused: rebind.example (127.0.0.1) is a private")
    assert hostile.requests == []


def test_serve_on_loopback_sends_to_local_receivers_with_or_without_the_flag(
    hostile: Hostile,
) -> None:
    from tests.test_serve import start, stop

    for flags in ((), ("--allow-private-webhooks",)):
        proc, url = start(*flags)
        try:
            with httpx.Client(base_url=url, headers={"Authorization": "Bearer sk_test_lo"}) as c:
                create_endpoint(c, hostile.url("/ok"))
                c.post("/v1/customers")
                (attempt,) = eventually(lambda: journal(c))
                assert attempt["outcome"] == "succeeded"
        finally:
            stop(proc)


# ---- fair turns ----------------------------------------------------------------------------------


def test_a_freed_turn_goes_to_the_waiting_tenant_holding_the_fewest() -> None:
    async def run() -> list[str]:
        slots = Slots(per_key=3, total=2)
        order: list[str] = []
        done = [asyncio.Event() for _ in range(6)]

        async def work(n: int, key: str) -> None:
            async with slots.turn(key):
                order.append(key)
                await done[n].wait()

        keys = ("a", "a", "a", "a", "b", "c")
        tasks = [asyncio.create_task(work(n, k)) for n, k in enumerate(keys)]
        await asyncio.sleep(0)
        assert order == ["a", "a"]
        tasks[3].cancel()  # a waiter that gives up leaves no turn behind
        for n in (0, 4, 5, 1, 2):  # a keeps one turn until b and c have had theirs
            done[n].set()
            await asyncio.sleep(0.01)
        await asyncio.gather(*tasks, return_exceptions=True)
        assert slots.busy == {}
        return order

    # b and c waited behind a's two turns; a's third request goes after both.
    assert asyncio.run(run()) == ["a", "a", "b", "c", "a"]


def _attempt(n: int) -> Any:
    from fake_stripe.webhooks.journal import Attempt

    return Attempt(
        time=float(n),
        event=f"evt_{n}",
        type="customer.created",
        endpoint="we_1",
        url="https://example.com/hook",
        attempt=1,
        duplicate=False,
        status_code=500,
        latency_ms=1.0,
        response="x" * 200,
        error=None,
        outcome="failed",
        next_attempt_at=None,
    )


def test_the_journal_keeps_a_bounded_total_however_many_keys_an_attacker_invents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Keys cost nothing: the journal is bounded for the process, each tenant keeps an equal
    share of the total, and those that wrote least recently give theirs up first."""
    import gc

    from fake_stripe.webhooks import journal as module

    monkeypatch.setattr(module, "KEEP_TOTAL", 5000, raising=False)
    assert getattr(module, "KEEP_LEAST", 0) < 30
    journal = module.Journal(keep=1000)
    for n in range(3000):
        journal.record("victim", _attempt(n))
    assert [a.seq for a in journal.read("victim")] == list(range(2001, 3001))
    for t in range(400):  # invented keys, each with a few failed attempts
        for n in range(30):
            journal.record(f"attacker{t}", _attempt(n))
    total = sum(len(journal.read(f"attacker{t}")) for t in range(400))
    total += len(journal.read("victim"))
    assert total <= 5000
    assert len(journal.read("attacker399")) == 30  # the newest keep their share
    first = journal.read("attacker399", limit=5)
    assert [a.seq for a in first] == [a.seq for a in journal.read("attacker399")][:5]
    assert len(journal.read("attacker0")) == 0  # the oldest theirs
    assert journal.read("victim") == []  # the least recent writer gave its share up first
    journal.record("victim", _attempt(1))
    assert [a.seq for a in journal.read("victim")] == [3001]
    assert [a.seq for a in journal.read("victim", after=3000)] == [3001]
    assert not gc.is_tracked(journal._attempts["victim"])
