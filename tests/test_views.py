"""A GET of one object renders from the stored JSON, building the model only the first time that
JSON is rendered at a version (`core/views.py`): the same answer as the model's rendering for
every stored object of every kind at every version, and a write is seen at once.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic_core import to_json

from fake_stripe import create_app
from fake_stripe.core import views
from fake_stripe.core.kinds import model_for
from fake_stripe.core.versions import DEFAULT_API_VERSION, NEWEST_PREVIEW, PREVIEW_VERSION
from fake_stripe.financial_connections.objects import STATUS_DETAILS_GA
from fake_stripe.inprocess import client as inprocess_client
from fake_stripe.payments.objects import ALLOWED_TYPES_GA
from fake_stripe.resources.customer_object import Customer
from tests.test_indexes import _world
from tests.test_payment_intents import PV, get, ok, post

# GA before and on each date a preview field reached GA, the account's default, and previews.
VERSIONS = [
    "2020-08-27",
    f"{STATUS_DETAILS_GA[:8]}01",
    f"{STATUS_DETAILS_GA}.acacia",
    f"{ALLOWED_TYPES_GA}.basil",
    DEFAULT_API_VERSION,
    PREVIEW_VERSION,
    NEWEST_PREVIEW,
]


def _stored_world() -> tuple[Any, list[tuple[str, str]]]:
    """An app whose tenant holds objects of every modelled kind the API makes, as (kind, JSON)."""
    app = create_app(seed=3)
    with inprocess_client(app, auth=("sk_test_views", "")) as api:
        api.headers.update(PV)
        w = _world(api)
        ok(post(api, f"/v1/customers/{w['b']}", {"email": "b@example.com"}))
        gone = ok(post(api, "/v1/customers", {"name": "Gone"}))["id"]
        assert api.delete(f"/v1/customers/{gone}").status_code == 200
        ok(
            post(
                api,
                "/v1/webhook_endpoints",
                {"url": "https://example.com/h", "enabled_events[]": "*"},
            )
        )
        ok(post(api, "/v1/financial_connections/accounts/" + w["fca_a"] + "/disconnect"))
    backend = app.fake.backend
    rows = []
    for tenant in backend.tenants():
        for kind in sorted({k for k in _kinds()}):
            rows += [(kind, data) for _oid, data in backend.iter_desc(tenant, kind, None, None)]
    return app, rows


def _kinds() -> list[str]:
    from fake_stripe.core.kinds import models

    return [m.kind for m in models()]


@pytest.fixture(scope="module")
def stored() -> Any:
    app, rows = _stored_world()
    yield rows
    app.fake.close()


def test_the_world_holds_every_kind_the_gets_render(stored: list[tuple[str, str]]) -> None:
    kinds = {k for k, _ in stored}
    for kind in (
        "customer",
        "event",
        "financial_connections.account",
        "financial_connections.transaction",
        "payment_method",
        "charge",
        "mandate",
        "payment_intent",
        "setup_intent",
        "webhook_endpoint",
    ):
        assert kind in kinds


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_kept_rendering_is_the_models_rendering(stored: list[tuple[str, str]], data: Any) -> None:
    kind, body = data.draw(st.sampled_from(stored))
    version = data.draw(st.sampled_from(VERSIONS))
    model = model_for(kind)
    expected = model.model_validate_json(body).to_api(version)
    view = views.View(model, body)
    assert view.to_api(version) == expected  # first: rendered and kept
    assert view.to_api(version) == expected  # then: the kept one
    assert json.dumps(view.to_api(version)) == json.dumps(expected)  # the same key order


def test_an_answer_written_in_one_step_is_the_rendering(stored: list[tuple[str, str]]) -> None:
    """`api_json` (a write's answer, by the model's serializer in one step) is the compact JSON
    of `to_api`, byte for byte, for every stored object at every version; a model that adjusts,
    omits or renders apart leaves it to `to_api` (None)."""
    plain = 0
    for kind, body in stored:
        obj = model_for(kind).model_validate_json(body)
        for version in VERSIONS:
            encoded = obj.api_json(version)
            if encoded is not None:
                plain += 1
                assert encoded == to_json(obj.to_api(version)), (kind, version)
    assert plain  # customers, PaymentMethods, webhook endpoints among others


def test_an_answer_cut_from_the_stored_json_is_the_rendering(
    stored: list[tuple[str, str]],
) -> None:
    """`api_json_from` (a create's answer, cut from the JSON the request staged) is `api_json`
    byte for byte wherever it answers, for every stored object at every version; it answers for
    every customer not deleted, and leaves the rest to the model (None)."""
    cut = 0
    for kind, body in stored:
        obj = model_for(kind).model_validate_json(body)
        written = obj.model_dump_json()  # as `StagedTenant.put` writes it
        for version in VERSIONS:
            found = obj.api_json_from(written, version)
            if found is not None:
                cut += 1
                assert found == obj.api_json(version), (kind, version)
            elif isinstance(obj, Customer) and not obj.deleted:
                raise AssertionError(f"a customer's answer not cut at {version}")
    assert cut


def test_an_answer_is_not_cut_where_the_hidden_tail_is_not_its_default() -> None:
    c = Customer.model_validate({"id": "cus_x", "created": 1, "email": "a@example.com"})
    c.deleted = True  # (a deleted customer is rendered as a stub by `to_api`)
    assert c.api_json_from(c.model_dump_json(), DEFAULT_API_VERSION) is None
    c.deleted = False
    written = c.model_dump_json()
    assert c.api_json_from(written, DEFAULT_API_VERSION) == c.api_json(DEFAULT_API_VERSION)
    # JSON that does not end as the model writes it (not `put`'s): left to the model
    assert c.api_json_from(written[:-1] + ',"x":1}', DEFAULT_API_VERSION) is None


def test_an_answer_is_not_cut_where_a_hidden_field_is_not_last() -> None:
    from fake_stripe.core.objects import StripeObject

    class Middle(StripeObject):
        kind = ""  # not registered
        internal = frozenset({"secret"})
        id: str
        secret: bool = False
        name: str = "n"

    m = Middle(id="x")
    assert m.api_json(DEFAULT_API_VERSION) == b'{"id":"x","name":"n"}'
    assert m.api_json_from(m.model_dump_json(), DEFAULT_API_VERSION) is None


def test_a_customers_create_answers_what_its_get_answers(api: httpx.Client) -> None:
    """The create's answer is cut from its stored JSON: the same bytes as the GET that follows,
    at the account's version and at a preview; expanding renders from the model."""
    for version in (DEFAULT_API_VERSION, PREVIEW_VERSION):
        made = api.post(
            "/v1/customers",
            data={"email": "cut@example.com", "metadata[a]": "1"},
            headers={"Stripe-Version": version},
        )
        assert made.status_code == 200, made.text
        again = api.get(f"/v1/customers/{made.json()['id']}", headers={"Stripe-Version": version})
        assert made.content == again.content
        assert "deleted" not in made.json()
    expanded = api.post(
        "/v1/customers", data={"name": "E", "expand[]": "default_source"}, headers=PV
    )
    assert expanded.status_code == 200, expanded.text
    assert expanded.json()["name"] == "E" and "deleted" not in expanded.json()


def test_a_write_is_seen_by_the_next_get_and_expand_gets_a_copy(api: httpx.Client) -> None:
    cus = ok(post(api, "/v1/customers", {"email": "one@example.com"}))
    assert get(api, f"/v1/customers/{cus['id']}")["email"] == "one@example.com"
    ok(post(api, f"/v1/customers/{cus['id']}", {"email": "two@example.com"}))
    assert get(api, f"/v1/customers/{cus['id']}")["email"] == "two@example.com"
    assert api.delete(f"/v1/customers/{cus['id']}").status_code == 200
    assert get(api, f"/v1/customers/{cus['id']}") == {
        "id": cus["id"],
        "object": "customer",
        "deleted": True,
    }
    # Expanding renders into a copy: the kept rendering still holds the id.
    w = _world(api)
    path = f"/v1/financial_connections/accounts/{w['fca_a']}"
    plain = get(api, path)
    expanded = get(api, path, **{"expand[]": "account_holder.customer"})
    assert expanded["account_holder"]["customer"]["id"] == w["a"]
    assert get(api, path) == plain and plain["account_holder"]["customer"] == w["a"]


def test_only_the_newest_renderings_are_kept() -> None:
    views.forget()
    for i in range(views.RENDERINGS + 10):
        body = Customer(id=f"cus_{i}", created=1).model_dump_json()
        views.View(Customer, body).to_api(DEFAULT_API_VERSION)
    assert len(views._kept) == views.RENDERINGS
    views.forget()
    assert not views._kept


def test_the_kept_renderings_stay_within_their_json_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # Customers of 50 metadata values of 500 characters: about 26,000 characters of JSON each.
    views.forget()
    monkeypatch.setattr(views, "RENDERED_JSON", 200_000)
    metadata = {f"k{i:02d}": "v" * 500 for i in range(50)}
    big = [Customer(id=f"cus_big{i}", created=1, metadata=metadata) for i in range(20)]
    bodies = [c.model_dump_json() for c in big]
    for body in bodies:
        views.View(Customer, body).to_api(DEFAULT_API_VERSION)
    held = sum(len(key[2]) for key in views._kept)
    assert held == views._kept_json <= 200_000
    assert len(views._kept) == 200_000 // len(bodies[0])  # the newest that fit
    assert (Customer.kind, DEFAULT_API_VERSION, bodies[-1]) in views._kept
    # One larger than the whole budget is rendered, and kept out.
    monkeypatch.setattr(views, "RENDERED_JSON", 1000)
    rendered = views.View(Customer, bodies[0]).to_api(DEFAULT_API_VERSION)
    assert rendered["metadata"] == metadata
    assert views._kept_json <= 200_000 and len(views._kept) == 200_000 // len(bodies[0])
    views.forget()
    assert views._kept_json == 0


@pytest.mark.parametrize(
    "url", ["/v1/customers", '/v1/customers/cus_"q\\/sources', "/v1/customers/cus_é\u2028/x"]
)
@pytest.mark.parametrize("has_more", [False, True])
def test_a_list_page_is_its_renderings_json_byte_for_byte(url: str, has_more: bool) -> None:
    """A page without `expand[]` is written from its items' encodings (`core.render`): the same
    bytes as the JSON of the whole list object, whatever its URL (a generic list's holds the
    id the request's path gave)."""
    from types import SimpleNamespace

    from fake_stripe.core.render import Encoded, Page, render
    from fake_stripe.core.views import View

    ctx: Any = SimpleNamespace(version=DEFAULT_API_VERSION)
    stored = Customer(id="cus_1", created=1, name='Zoë "Q" \u2028', metadata={"a": "b"})
    items: list[Any] = [
        View(Customer, stored.model_dump_json()),
        View(Customer, stored.model_copy(update={"id": "cus_2"}).model_dump_json()),
        {"id": "x_1", "object": "x", "note": "tab\there"},
    ]
    page = Page(items, has_more, url)
    written = render(ctx, page, [])
    assert isinstance(written, Encoded)
    whole = {
        "object": "list",
        "data": [x.to_api(ctx.version) if isinstance(x, View) else x for x in items],
        "has_more": has_more,
        "url": url,
    }
    assert written.json == to_json(whole)
    assert json.loads(written.json) == whole
