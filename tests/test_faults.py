"""Fault injection per tenant: failures before the endpoint, lost responses after it, delays."""

from __future__ import annotations

import time

import httpx

from tests.helpers import assert_error


def test_before_fault_fails_the_next_matching_request_and_creates_nothing(
    api: httpx.Client,
) -> None:
    rule = api.post(
        "/v1/test_helpers/faults", data={"path": "/v1/customers", "method": "POST", "status": "500"}
    )
    assert rule.json()["when"] == "before"
    failed = api.post("/v1/customers")
    err = assert_error(failed, 500, type_="api_error")
    assert "injected" in err["message"]
    assert failed.headers["stripe-should-retry"] == "true"
    assert api.get("/v1/customers").json()["data"] == []
    assert api.post("/v1/customers").status_code == 200


def test_after_fault_loses_the_response_but_the_idempotent_retry_replays_it(
    api: httpx.Client,
) -> None:
    api.post(
        "/v1/test_helpers/faults",
        data={"path": "/v1/customers", "method": "POST", "status": "502", "when": "after"},
    )
    h = {"Idempotency-Key": "lost"}
    assert api.post("/v1/customers", headers=h).status_code == 502
    again = api.post("/v1/customers", headers=h)
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert [c["id"] for c in api.get("/v1/customers").json()["data"]] == [again.json()["id"]]


def test_rate_limit_fault_carries_stripes_code_and_headers(api: httpx.Client) -> None:
    api.post(
        "/v1/test_helpers/faults", data={"path": "/v1/customers*", "status": "429", "count": "2"}
    )
    for _ in range(2):
        assert_error(api.get("/v1/customers"), 429, code="rate_limit")
    assert api.get("/v1/customers").status_code == 200


def test_delay_fault_slows_the_matching_request(api: httpx.Client) -> None:
    api.post("/v1/test_helpers/faults", data={"path": "/v1/customers", "delay_ms": "200"})
    t = time.monotonic()
    assert api.get("/v1/customers").status_code == 200
    assert time.monotonic() - t >= 0.2


def test_fault_rules_are_per_tenant(api: httpx.Client, key: str) -> None:
    api.post("/v1/test_helpers/faults", data={"path": "/v1/customers", "status": "500"})
    other = api.get("/v1/customers", headers={"Authorization": f"Bearer {key}other"})
    assert other.status_code == 200
    assert api.get("/v1/customers").status_code == 500


def test_fault_needs_a_status_or_a_delay(api: httpx.Client) -> None:
    assert_error(api.post("/v1/test_helpers/faults", data={"path": "/v1/x"}), 400, param="status")
    assert_error(
        api.post("/v1/test_helpers/faults", data={"status": "500"}),
        400,
        code="parameter_missing",
        param="path",
    )
