"""`POST /v1/test_helpers/trigger` (and `fake-stripe trigger`) emits each event by a real change."""

from __future__ import annotations

import httpx
import pytest

from fake_stripe.core.versions import PREVIEW_VERSION
from fake_stripe.financial_connections.triggers import TRIGGERS
from tests.helpers import assert_error

PV = {"Stripe-Version": PREVIEW_VERSION}


@pytest.mark.parametrize("event", TRIGGERS)
def test_trigger_emits_the_event_through_a_real_state_change(api: httpx.Client, event: str) -> None:
    got = api.post("/v1/test_helpers/trigger", data={"event": event}, headers=PV)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["events"], body
    listed = api.get("/v1/events", params={"type": event}, headers=PV).json()["data"]
    assert {e["id"] for e in listed} >= set(body["events"])
    if event == "financial_connections.account.deactivated":
        account = api.get(
            f"/v1/financial_connections/accounts/{body['account']}", headers=PV
        ).json()
        assert account["status"] == "inactive"


def test_trigger_rejects_an_event_it_cannot_produce(api: httpx.Client) -> None:
    assert_error(
        api.post("/v1/test_helpers/trigger", data={"event": "charge.succeeded"}), 400, param="event"
    )


def test_trigger_reactivation_needs_a_preview_version(api: httpx.Client) -> None:
    resp = api.post(
        "/v1/test_helpers/trigger", data={"event": "financial_connections.account.reactivated"}
    )
    assert_error(resp, 400, param="event")


def test_a_refused_trigger_changes_nothing(api: httpx.Client) -> None:
    api.post(
        "/v1/test_helpers/trigger", data={"event": "financial_connections.account.reactivated"}
    )
    assert api.get("/v1/customers").json()["data"] == []
    assert api.get("/v1/events").json()["data"] == []


def test_trigger_customer_created_makes_one_customer_and_nothing_else(api: httpx.Client) -> None:
    """As Stripe CLI's fixture for it: one `POST /v1/customers` with a description."""
    got = api.post("/v1/test_helpers/trigger", data={"event": "customer.created"}, headers=PV)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["account"] is None
    (customer,) = api.get("/v1/customers").json()["data"]
    assert customer["id"] == body["customer"]
    assert customer["description"] == "(created by fake-stripe trigger)"
    assert customer["email"] is None
    events = api.get("/v1/events", headers=PV).json()["data"]
    assert [e["type"] for e in events] == ["customer.created"]
    assert [e["id"] for e in events] == body["events"]
    assert api.get("/v1/financial_connections/accounts", headers=PV).json()["data"] == []
