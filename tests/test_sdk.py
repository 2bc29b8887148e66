"""The official stripe SDK drives the fake unchanged, over a socket and in-process."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from fake_stripe.sdk import ResponseHeaders, stripe_client


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


def test_in_process_response_headers_read_in_any_case_as_an_http_clients_do() -> None:
    # The SDK asks for `Request-Id` (telemetry) and `request-id` (`last_response`) alike.
    headers = ResponseHeaders(
        [(b"Request-Id", b"req_1"), (b"vary", b"Origin"), (b"Vary", b"Accept-Encoding")]
    )
    assert headers["Request-Id"] == headers["request-id"] == "req_1"
    assert "REQUEST-ID" in headers and "stripe-version" not in headers
    assert headers.get("Stripe-Version", "none") == "none"
    assert headers["vary"] == "Origin, Accept-Encoding"  # repeated: joined, as HTTP allows
    with pytest.raises(KeyError):
        headers["Stripe-Version"]


def test_the_sdk_sends_telemetry_of_the_previous_request_in_process(app: Any, key: str) -> None:
    seen: list[str] = []
    inner = app.middleware_stack or app.build_middleware_stack()

    async def spy(scope: Any, receive: Any, send: Any) -> None:
        found = dict(scope["headers"]).get(b"x-stripe-client-telemetry")
        seen.append(found.decode() if found else "")
        await inner(scope, receive, send)

    sdk = stripe_client(spy, key)
    first = sdk.v1.customers.create()
    sdk.v1.customers.retrieve(first.id)
    assert seen[0] == ""
    assert first.last_response.request_id in seen[1]
