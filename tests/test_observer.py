"""The scenario runner's own requests (`scenarios.observer`): straight to the HTTP client the
client under test uses, in-process and on a loopback URL, encoded as the SDK encodes them, and
retried as the SDK retries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from stripe._encode import _api_encode

from fake_stripe.app import create_app
from scenarios.observer import Observer, SetupError, _form
from scenarios.target import Target, served

KEY = "sk_test_observer"


def test_the_form_is_the_sdks() -> None:
    params: dict[str, Any] = {
        "account_holder": {"type": "customer", "customer": "cus_1"},
        "permissions": ["payment_method", "balances"],
        "filters": {"account_subcategories": ["checking"], "countries": None},
        "items": [{"price": "p_1", "quantity": 2}, {"price": "p_2"}],
        "capture": False,
        "livemode": True,
        "amount": 1000,
        "skip": None,
        "metadata": {"a b": "c&d=e"},
    }
    assert list(_form(params)) == [(k, str(v)) for k, v in _api_encode(params)]


@pytest.fixture(params=["in-process", "loopback"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    app = create_app()
    try:
        if request.param == "in-process":
            t = Target.in_process(app)
            yield t
            t.close()
        else:
            with served(app) as url:
                t = Target(url=url)
                yield t
                t.close()
    finally:
        app.fake.close()


def test_the_runner_goes_straight_to_the_http_client(target: Target) -> None:
    observer = Observer(target, KEY)
    try:
        assert observer.direct is not None
        cus = observer.call("post", "/v1/customers", "set up", email="a@example.com")
        session = observer.call(
            "post",
            "/v1/financial_connections/sessions",
            "set up",
            account_holder={"type": "customer", "customer": cus["id"]},
            permissions=["payment_method"],
        )
        assert session["account_holder"]["customer"] == cus["id"]
        assert observer.get(f"/v1/customers/{cus['id']}")["email"] == "a@example.com"
        listed = observer.get("/v1/customers", "list", limit=1, email="a@example.com")
        assert [c["id"] for c in listed["data"]] == [cus["id"]]
    finally:
        observer.close()


def test_a_retryable_failure_is_retried_and_a_final_one_names_the_step(target: Target) -> None:
    observer = Observer(target, KEY)
    try:
        observer.call(
            "post", "/v1/test_helpers/faults", "set up", path="/v1/customers", count=2, status=500
        )
        # Two injected 500s, then the answer: the SDK's two retries.
        assert observer.get("/v1/customers", "list")["object"] == "list"
        observer.call(
            "post", "/v1/test_helpers/faults", "set up", path="/v1/customers", count=3, status=500
        )
        with pytest.raises(SetupError) as failed:
            observer.get("/v1/customers", "list customers")
        assert str(failed.value).startswith("list customers: GET /v1/customers failed: ")
        assert "[req_" in str(failed.value)
        with pytest.raises(SetupError, match=r"No such customer: 'cus_missing' \[req_"):
            observer.get("/v1/customers/cus_missing", "read")
    finally:
        observer.close()
