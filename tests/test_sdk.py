"""The official stripe SDK drives the fake unchanged, over a socket and in-process."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from fake_stripe.sdk import stripe_client


@pytest.fixture
def sdk(mode: str, app: Any, key: str, request: pytest.FixtureRequest) -> Any:
    if mode == "server":
        return stripe_client(request.getfixturevalue("server").url, key)
    return stripe_client(app, key)


def test_sdk_creates_lists_updates_and_deletes_customers(sdk: Any) -> None:
    cus = sdk.v1.customers.create(params={"email": "sdk@example.com", "metadata": {"a": "1"}})
    assert isinstance(cus, stripe.Customer)
    assert cus.id.startswith("cus_")
    assert cus.email == "sdk@example.com"
    assert cus.metadata["a"] == "1"
    assert cus.last_response.request_id.startswith("req_")
    got = sdk.v1.customers.retrieve(cus.id)
    assert got.created == cus.created
    upd = sdk.v1.customers.update(cus.id, params={"name": "Sdk"})
    assert upd.name == "Sdk"
    listed = sdk.v1.customers.list(params={"email": "sdk@example.com"})
    assert [c.id for c in listed.data] == [cus.id]
    gone = sdk.v1.customers.delete(cus.id)
    assert gone.deleted is True


def test_sdk_raises_stripes_error_classes(sdk: Any) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        sdk.v1.customers.retrieve("cus_missing")
    assert info.value.http_status == 404
    assert info.value.code == "resource_missing"
    assert info.value.param == "id"


def test_sdk_sends_an_idempotency_key_on_every_post_and_the_fake_accepts_it(
    sdk: Any,
) -> None:
    cus = sdk.v1.customers.create(options={"idempotency_key": "same"})
    again = sdk.v1.customers.create(options={"idempotency_key": "same"})
    assert again.id == cus.id
    assert again.last_response.headers.get("idempotent-replayed") == "true"
