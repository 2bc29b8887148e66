"""Routing to the generic operations: the segment trie, the literal paths the modelled routes
leave alone, reading the whole spec only when a generic request comes, and
`--fixtures-on-miss` (each HTTP behaviour in-process and over a socket)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest

from fake_stripe import create_app
from fake_stripe.app import Shadows
from fake_stripe.core.context import Endpoint
from fake_stripe.core.store import MemoryBackend
from fake_stripe.generic.routes import GenericRoutes
from fake_stripe.inprocess import client as inprocess_client

from .helpers import Served, assert_error
from .test_generic import ok

THINGS = [
    ("GET", "/v1/things/{thing}"),
    ("GET", "/v1/things/search"),
    ("POST", "/v1/things/{thing}/archive"),
    ("GET", "/v1/things/{thing}/parts/{part}"),
]


def _never(ctx: Any, p: dict[str, Any]) -> None:
    raise AssertionError("not called")


def test_a_literal_segment_wins_over_a_parameter() -> None:
    routes = GenericRoutes([], operations=THINGS)
    assert routes.match("GET", "/v1/things/search") == ("/v1/things/search", {})
    assert routes.match("GET", "/v1/things/th_1") == ("/v1/things/{thing}", {"thing": "th_1"})
    # `search` has no POST: the parameter's branch answers it.
    assert routes.match("POST", "/v1/things/search/archive") == (
        "/v1/things/{thing}/archive",
        {"thing": "search"},
    )
    assert routes.match("GET", "/v1/things/t/parts/p") == (
        "/v1/things/{thing}/parts/{part}",
        {"thing": "t", "part": "p"},
    )


def test_what_no_operation_has_is_no_match() -> None:
    routes = GenericRoutes([], operations=THINGS)
    assert routes.match("DELETE", "/v1/things/th_1") is None
    assert routes.match("GET", "/v1/things") is None
    assert routes.match("GET", "/v1/things//parts/p") is None
    assert routes.match("GET", "/v1/things/t/parts/p/more") is None


def test_modelled_operations_are_left_out_and_their_literal_neighbours_shadow_them() -> None:
    modelled = [Endpoint("GET", "/v1/things/{id}", _never)]
    routes = GenericRoutes(modelled, operations=THINGS)
    assert routes.match("GET", "/v1/things/th_1") is None
    assert routes.shadowing("/v1/things/{id}") == {"/v1/things/search": {"GET"}}
    assert routes.shadowing("/v1/things/{thing}/parts/{part}") == {}
    shadows = Shadows(
        {"/v1/things/search": frozenset({"GET"}), "/v1/things/{t}/x": frozenset({"POST"})}
    )
    assert shadows.take("GET", "/v1/things/search")
    assert not shadows.take("POST", "/v1/things/search")
    assert shadows.take("POST", "/v1/things/th_1/x") and not shadows.take("GET", "/v1/things/t/x")


def test_the_packaged_index_routes_every_operation_of_the_whole_api() -> None:
    routes = GenericRoutes([])
    assert ("POST", "/v1/refunds/{refund}/cancel") in routes.operations
    assert routes.match("POST", "/v1/refunds/re_1/cancel") == (
        "/v1/refunds/{refund}/cancel",
        {"refund": "re_1"},
    )
    assert routes.match("GET", "/v1/customers/search") == ("/v1/customers/search", {})
    assert not routes.loaded


def test_modelled_requests_and_unknown_urls_never_read_the_whole_spec() -> None:
    app = create_app(seed=3)
    generic = cast(GenericRoutes, app.fake.expansions)
    try:
        with inprocess_client(app, headers={"Authorization": "Bearer sk_test_cold"}) as http:
            customer = http.post("/v1/customers", data={"email": "a@b.co"}).json()
            assert http.get(f"/v1/customers/{customer['id']}").status_code == 200
            assert (
                http.get(
                    f"/v1/customers/{customer['id']}", params={"expand[]": "email"}
                ).status_code
                == 400
            )
            assert http.get("/v1/nothing_here").status_code == 404
            assert not generic.loaded
            assert http.get("/v1/balance").status_code == 200
            assert generic.loaded
    finally:
        app.fake.close()


def test_an_unknown_url_is_answered_on_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over a socket (worker threads on), a `/v1` URL no route knows and a method a known URL
    lacks are answered with no hand-off to a worker thread and without reading the whole spec:
    the paths' tree (built once, off the loop) says that nothing matches."""
    served = Served(seed=4)
    generic = cast(GenericRoutes, served.app.fake.expansions)
    handed: list[str] = []
    lanes = served.app.fake.lanes
    run, aside = lanes.run, lanes.aside

    async def counted_run(tenant: str, fn: Any, *args: Any, light: bool = False) -> Any:
        if not lanes.inline(tenant, light):
            handed.append(f"run {fn.__name__}")
        return await run(tenant, fn, *args, light=light)

    async def counted_aside(fn: Any, *args: Any) -> Any:
        handed.append(f"aside {fn.__name__}")
        return await aside(fn, *args)

    monkeypatch.setattr(lanes, "run", counted_run)
    monkeypatch.setattr(lanes, "aside", counted_aside)
    try:
        with served.client("server", "sk_test_unknown") as http:
            assert_error(http.get("/v1/nothing_here"), 404)  # the tree is built: once
            assert handed == ["aside index"]
            handed.clear()
            for _ in range(3):
                assert_error(http.get("/v1/nothing_here"), 404)
                assert_error(http.post("/v1/nothing/here", data={"a": "b"}), 404)
                assert_error(http.put("/v1/customers"), 404)
                assert_error(http.delete("/v1/events"), 404)
            assert handed == []
            assert not generic.loaded
            assert http.get("/v1/balance").status_code == 200  # a generic one reads the spec
            assert handed == ["aside endpoints"] and generic.loaded
    finally:
        served.close()


def test_an_unknown_url_waits_for_a_remote_store_on_a_worker_thread() -> None:
    """Where the store's reads are round trips (PostgreSQL: `inline_reads` false), the 404's
    one read, of the tenant's clock, is not made on the event loop."""

    class Remote(MemoryBackend):
        inline_reads = False

    served = Served(seed=5, backend=Remote())
    lanes = served.app.fake.lanes
    handed: list[str] = []
    run = lanes.run

    async def counted_run(tenant: str, fn: Any, *args: Any, light: bool = False) -> Any:
        if not lanes.inline(tenant, light):
            handed.append(fn.__name__)
        return await run(tenant, fn, *args, light=light)

    lanes.run = counted_run  # type: ignore[method-assign]
    try:
        with served.client("server", "sk_test_remote") as http:
            assert_error(http.get("/v1/nothing_here"), 404)
        assert handed == ["_serve"]
    finally:
        served.close()


def test_the_search_of_a_modelled_resource_is_not_taken_for_an_id(api: httpx.Client) -> None:
    found = ok(api.get("/v1/customers/search", params={"query": "email:'x@y.z'"}))
    assert found == {
        "object": "search_result",
        "data": [],
        "has_more": False,
        "next_page": None,
        "url": "/v1/customers/search",
    }


@pytest.fixture(scope="module")
def missing() -> Iterator[Served]:
    served = Served(seed=11, strict=True, fixtures_on_miss=True)
    yield served
    served.close()


@pytest.fixture
def mock(mode: str, missing: Served, key: str) -> Iterator[httpx.Client]:
    """A client of a `--fixtures-on-miss` app, in-process or over its socket, own tenant."""
    with missing.client(mode, key) as http:
        yield http
    assert not missing.app.fake.violations


def test_fixtures_on_miss_answers_the_example_with_the_id_asked(mock: httpx.Client) -> None:
    found = ok(mock.get("/v1/refunds/re_xxxxxxxxxxxxx"))
    assert found["id"] == "re_xxxxxxxxxxxxx" and found["object"] == "refund"
    updated = ok(mock.post("/v1/refunds/re_xxxxxxxxxxxxx", data={"metadata[a]": "b"}))
    assert updated["metadata"] == {"a": "b"}
    assert ok(mock.get("/v1/refunds"))["data"] == []
    voided = ok(mock.post("/v1/invoices/in_xxxxxxxxxxxxx/void"))
    assert voided["id"] == "in_xxxxxxxxxxxxx"
    gone = ok(mock.delete("/v1/products/prod_xxxxxxxxxxxxx"))
    assert gone == {"id": "prod_xxxxxxxxxxxxx", "object": "product", "deleted": True}


def test_fixtures_on_miss_takes_an_unknown_parent_as_it_comes(mock: httpx.Client) -> None:
    path = "/v1/customers/cus_xxxxxxxxxxxxx/tax_ids"
    assert ok(mock.get(path))["data"] == []
    made = ok(mock.post(path, data={"type": "eu_vat", "value": "DE1"}))
    assert made["customer"] == "cus_xxxxxxxxxxxxx"
    assert [t["id"] for t in ok(mock.get(path))["data"]] == [made["id"]]


def modelled(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_fixtures_on_miss_leaves_stored_objects_alone(mock: httpx.Client) -> None:
    made = ok(mock.post("/v1/products", data={"name": "Real"}))
    assert ok(mock.get(f"/v1/products/{made['id']}"))["name"] == "Real"
    customer = modelled(mock.post("/v1/customers", data={"name": "Jenny Rosen"}))
    assert modelled(mock.get(f"/v1/customers/{customer['id']}")) == customer


def test_fixtures_on_miss_answers_hand_modelled_misses_too(mock: httpx.Client) -> None:
    found = modelled(mock.get("/v1/customers/cus_xxxxxxxxxxxxx"))
    assert found["id"] == "cus_xxxxxxxxxxxxx" and found["object"] == "customer"
    intent = modelled(mock.post("/v1/payment_intents/pi_xxxxxxxxxxxxx/cancel"))
    assert intent["id"] == "pi_xxxxxxxxxxxxx" and intent["object"] == "payment_intent"
    verified = modelled(
        mock.post(
            "/v1/setup_intents/seti_xxxxxxxxxxxxx/verify_microdeposits",
            data={"amounts[]": ["32", "45"]},
        )
    )
    assert verified["object"] == "setup_intent"
    assert modelled(mock.get("/v1/customers"))["data"] == []  # a miss stores nothing
    filtered = modelled(mock.get("/v1/payment_methods", params={"customer": "cus_xxxxxxxxxxxxx"}))
    assert filtered["data"] == [] and filtered["url"] == "/v1/payment_methods"
    # A miss named in the body is still Stripe's error.
    body_ref = mock.post("/v1/setup_intents", data={"customer": "cus_xxxxxxxxxxxxx"})
    assert_error(body_ref, 400, code="resource_missing", param="customer")


def test_without_the_flag_a_hand_modelled_miss_is_a_404(api: httpx.Client) -> None:
    resp = api.get("/v1/customers/cus_xxxxxxxxxxxxx")
    assert_error(resp, 404, code="resource_missing", param="id")
