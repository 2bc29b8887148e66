"""Generic objects in every store (memory, SQLite, PostgreSQL when `FAKE_STRIPE_TEST_PG` is set):
the same answers, filtered lists read through the store's index, and a second app on a shared
store sees what the first made."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fake_stripe import create_app
from fake_stripe.core.raw import RawKind
from fake_stripe.core.store import open_backend
from fake_stripe.inprocess import client as inprocess_client

from .stores import db_for


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    dbs = db_for(request.param, tmp_path)
    yield next(dbs)
    for _ in dbs:  # drops the PostgreSQL schema
        pass


def _app(db: str | None) -> Any:
    return create_app(backend=open_backend(db), seed=5, strict=True)


def _close(app: Any) -> None:
    app.fake.close()


def test_generic_objects_answer_alike_in_every_store(db: str | None) -> None:
    app = _app(db)
    try:
        with inprocess_client(app, auth=("sk_test_stores", "")) as api:
            shirt = api.post("/v1/products", data={"name": "Shirt"}).json()
            price = api.post(
                "/v1/prices", data={"product": shirt["id"], "currency": "usd", "unit_amount": "9"}
            ).json()
            customer = api.post("/v1/customers").json()["id"]
            tax_id = api.post(
                f"/v1/customers/{customer}/tax_ids", data={"type": "eu_vat", "value": "DE1"}
            ).json()
            assert api.get(f"/v1/prices/{price['id']}").json() == price
            listed = api.get("/v1/prices", params={"product": shirt["id"]}).json()
            assert [p["id"] for p in listed["data"]] == [price["id"]]
            nested = api.get(f"/v1/customers/{customer}/tax_ids").json()
            assert [t["id"] for t in nested["data"]] == [tax_id["id"]]
            # A product with prices cannot be deleted; one without can.
            mug = api.post("/v1/products", data={"name": "Mug"}).json()
            gone = api.delete(f"/v1/products/{mug['id']}").json()
            assert gone["deleted"] is True
            assert api.get(f"/v1/products/{mug['id']}").status_code == 404
        assert not app.fake.violations
    finally:
        _close(app)


def test_an_id_of_the_caller_s_choosing_is_held_up_to_its_limit_on_every_store(
    db: str | None,
) -> None:
    # Random text does not compress: on PostgreSQL a longer id overflowed an index entry (500).
    rng = random.Random(7)
    longest = "".join(
        rng.choice("abcdefghijklmnopqrstuvwxyz\u00e9\u4e2d\U0001f600") for _ in range(500)
    )
    app = _app(db)
    try:
        with inprocess_client(app, auth=("sk_test_ids", "")) as api:
            made = api.post("/v1/products", data={"name": "Long", "id": longest})
            assert made.status_code == 200, made.text
            price = api.post(
                "/v1/prices", data={"product": longest, "currency": "usd", "unit_amount": "5"}
            ).json()
            listed = api.get("/v1/prices", params={"product": longest}).json()["data"]
            assert [p["id"] for p in listed] == [price["id"]]
            refused = api.post("/v1/coupons", data={"percent_off": "5", "id": longest + "x"})
            assert refused.status_code == 400, refused.text
            assert refused.json()["error"]["param"] == "id"
            assert "at most 500 characters" in refused.json()["error"]["message"]
            assert api.get("/v1/coupons").json()["data"] == []
    finally:
        _close(app)


def test_a_filtered_generic_list_decodes_only_the_matches(
    db: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(db)
    try:
        with inprocess_client(app, auth=("sk_test_index", "")) as api:
            products = [api.post("/v1/products", data={"name": "p"}).json()["id"] for _ in range(3)]
            for i in range(30):
                api.post(
                    "/v1/prices",
                    data={"product": products[i % 3], "currency": "usd", "unit_amount": "1"},
                )
            decoded = 0
            real = RawKind.model_validate_json

            def counting(self: RawKind, data: Any) -> Any:
                nonlocal decoded
                decoded += 1
                return real(self, data)

            monkeypatch.setattr(RawKind, "model_validate_json", counting)
            page = api.get("/v1/prices", params={"product": products[1], "limit": 100}).json()
            assert len(page["data"]) == 10
            assert decoded == 10
    finally:
        _close(app)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_second_app_on_a_shared_store_sees_the_generic_objects(kind: str, tmp_path: Path) -> None:
    dbs = db_for(kind, tmp_path)
    db = next(dbs)
    first, second = _app(db), _app(db)
    try:
        with inprocess_client(first, auth=("sk_test_shared", "")) as one:
            made = one.post("/v1/coupons", data={"percent_off": "15"}).json()
        with inprocess_client(second, auth=("sk_test_shared", "")) as two:
            assert two.get(f"/v1/coupons/{made['id']}").json() == made
            updated = two.post(f"/v1/coupons/{made['id']}", data={"name": "Spring"}).json()
        with inprocess_client(first, auth=("sk_test_shared", "")) as one:
            assert one.get(f"/v1/coupons/{made['id']}").json()["name"] == updated["name"]
    finally:
        _close(first)
        _close(second)
        for _ in dbs:
            pass
