"""A write does each thing once: the request's changes reach the store in one `write` (SQL: a
statement per table), and an idempotent answer is encoded once, for the response and for the
record a retry replays.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fake_stripe import create_app
from fake_stripe.inprocess import client as inprocess_client
from tests.helpers import Counting
from tests.test_store_backends import Store, store

__all__ = ["store"]  # the fixture, shared with the store tests


@pytest.fixture
def counted(store: Store) -> Iterator[tuple[Counting, httpx.Client]]:
    backend = Counting(store.open())
    app = create_app(backend=backend, seed=1)
    with inprocess_client(app, auth=("sk_test_writes", "")) as api:
        assert api.post("/v1/customers", data={"email": "warm@example.com"}).status_code == 200
        yield backend, api
    app.fake.close()


def test_a_post_writes_the_store_once(counted: tuple[Counting, httpx.Client]) -> None:
    backend, api = counted
    backend.calls.clear()
    made = api.post("/v1/customers", data={"email": "a@example.com", "metadata[k]": "v"})
    assert made.status_code == 200
    # The customer, its event and the id counter: one write, no write one by one.
    assert backend.calls["write"] == 1
    assert not {"put", "delete", "meta_set"} & set(backend.calls)
    cid = made.json()["id"]
    assert (
        api.get("/v1/customers", params={"email": "a@example.com"}).json()["data"][0]["id"] == cid
    )
    events = api.get("/v1/events", params={"type": "customer.created"}).json()["data"]
    assert events[0]["data"]["object"]["id"] == cid


def test_an_event_walks_the_webhook_endpoints_only_where_the_tenant_may_have_one(
    counted: tuple[Counting, httpx.Client],
) -> None:
    """Every event asks for the tenant's webhook endpoints. A tenant that has never had one is
    not walked: the memory store knows its kinds, a SQL store reads its marker with the
    request's other meta, in the one query for them. Once the tenant has had an endpoint,
    every store walks."""
    backend, api = counted
    assert backend.may_hold("writes", "webhook_endpoint") is False
    backend.calls.clear()
    assert api.post("/v1/customers", data={"email": "a@example.com"}).status_code == 200
    assert backend.calls["iter_desc"] == 0
    assert "meta_get" not in backend.calls
    assert backend.calls["may_hold"] == (0 if backend.marked else 1)  # memory: asks its kinds
    assert backend.calls["meta_many"] <= 1
    endpoint = api.post(
        "/v1/webhook_endpoints",
        data={"url": "https://example.com/hook", "enabled_events[0]": "customer.created"},
    )
    assert endpoint.status_code == 200, endpoint.text
    assert backend.may_hold("writes", "webhook_endpoint") is True
    api.post(f"/v1/webhook_endpoints/{endpoint.json()['id']}", data={"disabled": "true"})
    backend.calls.clear()
    assert api.post("/v1/customers", data={"email": "b@example.com"}).status_code == 200
    assert backend.calls["iter_desc"] == 1
    events = api.get("/v1/events", params={"type": "customer.created"}).json()["data"]
    assert [e["pending_webhooks"] for e in events[:2]] == [0, 0]  # the endpoint is disabled


def test_an_idempotent_answer_is_replayed_byte_for_byte(api: httpx.Client) -> None:
    headers = {"Idempotency-Key": "once-only"}
    first = api.post("/v1/customers", data={"email": "i@example.com"}, headers=headers)
    again = api.post("/v1/customers", data={"email": "i@example.com"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert json.loads(first.content)["email"] == "i@example.com"


def test_a_fresh_idempotency_key_is_claimed_without_reading_its_record_first(
    counted: tuple[Counting, httpx.Client],
) -> None:
    backend, api = counted
    headers = {"Idempotency-Key": "fresh-key"}
    record = "idem:fresh-key"

    def reads_of_the_record() -> int:
        return sum(1 for name, args in backend.log if name == "meta_get" and record in args)

    backend.log.clear()
    first = api.post("/v1/customers", data={"email": "k@example.com"}, headers=headers)
    assert first.status_code == 200
    assert reads_of_the_record() == 0  # the claim is the insert of a record that is not there
    assert ("meta_swap", ("writes", record, None)) in [(n, a[:3]) for n, a in backend.log]
    backend.log.clear()
    again = api.post("/v1/customers", data={"email": "k@example.com"}, headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert reads_of_the_record() == 1  # the insert failed: the record is read and replayed


def test_only_an_object_already_stored_has_its_index_entries_deleted(tmp_path: Path) -> None:
    """A new object has no lookup rows yet (they are written and deleted with their object):
    its write sends no DELETE for them; an update replaces them."""
    from fake_stripe.core.store.sqlite import SQLiteBackend

    backend = SQLiteBackend(str(tmp_path / "w.db"))
    app = create_app(backend=backend, seed=1)
    sent: list[str] = []
    try:
        with inprocess_client(app, auth=("sk_test_lookup", "")) as api:
            api.get("/v1/customers")  # this thread's connection opened
            backend._threads.slot().conn.set_trace_callback(sent.append)
            cid = api.post("/v1/customers", data={"email": "old@example.com"}).json()["id"]
            assert not [s for s in sent if s.startswith("DELETE FROM lookup")]
            sent.clear()
            assert api.post(f"/v1/customers/{cid}", data={"email": "new@example.com"}).is_success
            assert [s for s in sent if s.startswith("DELETE FROM lookup")]
            backend._threads.slot().conn.set_trace_callback(None)
            for email, found in (("old@example.com", []), ("new@example.com", [cid])):
                listed = api.get("/v1/customers", params={"email": email}).json()["data"]
                assert [c["id"] for c in listed] == found
    finally:
        app.fake.close()
