"""Generic resources (every operation the fake does not model by hand): create, retrieve, update,
delete, list, expand, nested collections, events, parameters, idempotency, tenants, faults and
the clock. Each test runs in-process and over a socket, on the session's strict app: every
generic answer is checked against the recorded spec too."""

from __future__ import annotations

from typing import Any, cast

import httpx
import pytest

from fake_stripe.core.errors import StripeError
from fake_stripe.generic import filters
from fake_stripe.generic.catalog import Catalog
from fake_stripe.spec.rest import load_whole

from .helpers import assert_error

GENERIC = {"fake-stripe-model": "generic"}


def ok(resp: httpx.Response) -> dict[str, Any]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["fake-stripe-model"] == "generic"
    return dict(resp.json())


def product(api: httpx.Client, **values: str) -> dict[str, Any]:
    return ok(api.post("/v1/products", data={"name": "T-shirt", **values}))


def test_create_builds_from_the_example_with_the_request_values_an_id_and_now(
    api: httpx.Client,
) -> None:
    now = api.get("/v1/test_helpers/clock").json()["now"]
    made = product(api, description="Soft", **{"metadata[size]": "L"})
    assert made["object"] == "product"
    assert made["id"].startswith("prod_") and len(made["id"]) == len("prod_") + 14
    assert abs(made["created"] - now) <= 2
    assert made["livemode"] is False
    assert (made["name"], made["description"], made["metadata"]) == (
        "T-shirt",
        "Soft",
        {"size": "L"},
    )
    # A field the request does not name starts as a new object's: Stripe's default, else null.
    assert made["active"] is True
    assert (made["default_price"], made["url"], made["updated"]) == (None, None, made["created"])


def test_a_field_stripe_always_returns_is_null_when_the_request_does_not_set_it(
    api: httpx.Client,
) -> None:
    made = product(api)
    assert "description" in made and made["description"] is None
    customer = api.post("/v1/customers").json()["id"]
    made_invoice = ok(api.post("/v1/invoices", data={"customer": customer}))
    assert "description" in made_invoice and made_invoice["description"] is None


def test_a_new_price_takes_its_type_from_recurring_and_nothing_from_the_example(
    api: httpx.Client,
) -> None:
    once = price(api, currency="eur")
    assert (once["type"], once["recurring"], once["transform_quantity"]) == ("one_time", None, None)
    assert (once["unit_amount"], once["unit_amount_decimal"], once["nickname"]) == (
        500,
        "500",
        None,
    )
    monthly = price(api, **{"recurring[interval]": "month"})
    assert monthly["type"] == "recurring"
    assert (monthly["recurring"]["interval"], monthly["recurring"]["interval_count"]) == (
        "month",
        1,
    )
    listed = ok(api.get("/v1/prices", params={"type": "one_time"}))["data"]
    assert [p["id"] for p in listed] == [once["id"]]


def test_a_new_coupon_has_only_the_discount_it_was_given(api: httpx.Client) -> None:
    data = {"amount_off": "500", "currency": "usd", "duration": "once"}
    coupon = ok(api.post("/v1/coupons", data=data))
    assert (coupon["amount_off"], coupon["currency"], coupon["percent_off"]) == (500, "usd", None)
    assert (coupon["name"], coupon["duration_in_months"], coupon["redeem_by"]) == (None, None, None)
    assert ok(api.post("/v1/promotion_codes", data={"coupon": coupon["id"]}))["active"] is True


def test_a_new_subscription_is_not_canceled_or_paused_and_runs_one_interval(
    api: httpx.Client,
) -> None:
    customer = api.post("/v1/customers").json()["id"]
    yearly = price(api, **{"recurring[interval]": "year"})
    data = {"customer": customer, "items[0][price]": yearly["id"]}
    sub = ok(api.post("/v1/subscriptions", data=data))
    assert sub["cancel_at_period_end"] is False
    for name in ("cancel_at", "canceled_at", "ended_at", "pause_collection", "trial_end"):
        assert sub[name] is None, name
    start, end = sub["current_period_start"], sub["current_period_end"]
    assert start == sub["created"] and 365 * 86400 <= end - start <= 366 * 86400
    assert sub["items"]["data"][0]["plan"]["id"] == yearly["id"]


def test_a_new_checkout_session_expires_in_a_day_and_its_url_names_it(api: httpx.Client) -> None:
    data = {"mode": "payment", "success_url": "https://example.test/ok"}
    session = ok(api.post("/v1/checkout/sessions", data=data))
    assert session["expires_at"] == session["created"] + 86400
    assert session["id"] in session["url"]
    assert (session["payment_intent"], session["cancel_url"]) == (None, None)


def test_a_new_invoice_totals_nothing_and_has_no_finalization_error(api: httpx.Client) -> None:
    customer = api.post("/v1/customers").json()["id"]
    made = ok(api.post("/v1/invoices", data={"customer": customer}))
    assert (made["status"], made["amount_due"], made["total"], made["lines"]["data"]) == (
        "draft",
        0,
        0,
        [],
    )
    assert (made["last_finalization_error"], made["from_invoice"]) == (None, None)


def test_a_refund_is_of_the_whole_payment_unless_told_an_amount(api: httpx.Client) -> None:
    intent = api.post("/v1/payment_intents", data={"amount": "1500", "currency": "usd"}).json()
    refund = ok(api.post("/v1/refunds", data={"payment_intent": intent["id"]}))
    assert (refund["amount"], refund["currency"], refund["charge"]) == (1500, "usd", None)
    part = ok(api.post("/v1/refunds", data={"payment_intent": intent["id"], "amount": "200"}))
    assert part["amount"] == 200


def test_a_customers_subscription_has_its_items_and_lists_as_subscriptions_do(
    api: httpx.Client,
) -> None:
    customer = api.post("/v1/customers").json()["id"]
    path = f"/v1/customers/{customer}/subscriptions"
    monthly = price(api, **{"recurring[interval]": "month"})["id"]
    sub = ok(api.post(path, data={"items[0][price]": monthly}))
    assert [i["price"]["id"] for i in sub["items"]["data"]] == [monthly]
    gone = ok(api.post(path, data={"items[0][price]": monthly}))["id"]
    ok(api.delete(f"{path}/{gone}"))
    assert [s["id"] for s in ok(api.get(path))["data"]] == [sub["id"]]


def test_a_products_default_price_data_makes_its_default_price(api: httpx.Client) -> None:
    data = {"default_price_data[currency]": "usd", "default_price_data[unit_amount]": "700"}
    made = product(api, **data)
    default = ok(api.get(f"/v1/prices/{made['default_price']}"))
    assert (default["product"], default["unit_amount"], default["type"]) == (
        made["id"],
        700,
        "one_time",
    )
    types = [e["type"] for e in api.get("/v1/events", params={"limit": 2}).json()["data"]]
    assert types == ["price.created", "product.created"]


def test_a_products_updated_is_the_moment_it_last_changed(api: httpx.Client) -> None:
    made = product(api)
    api.post("/v1/test_helpers/clock/advance", data={"seconds": "60"})
    changed = ok(api.post(f"/v1/products/{made['id']}", data={"name": "Hoodie"}))
    assert 60 <= changed["updated"] - made["updated"] <= 62


def test_a_tax_ids_country_is_the_one_its_type_names(api: httpx.Client) -> None:
    customer = api.post("/v1/customers").json()["id"]
    data = {"type": "us_ein", "value": "12-3456789"}
    assert ok(api.post(f"/v1/customers/{customer}/tax_ids", data=data))["country"] == "US"


def test_retrieve_answers_what_was_stored_and_an_unknown_id_is_resource_missing(
    api: httpx.Client,
) -> None:
    made = product(api)
    assert ok(api.get(f"/v1/products/{made['id']}")) == made
    resp = api.get("/v1/products/prod_nope")
    err = assert_error(resp, 404, code="resource_missing", param="id")
    assert err["message"] == "No such product: 'prod_nope'"
    assert resp.headers["fake-stripe-model"] == "generic"


def test_update_merges_metadata_as_stripe_does_and_records_previous_attributes(
    api: httpx.Client,
) -> None:
    made = product(api, **{"metadata[a]": "1", "metadata[b]": "2"})
    updated = ok(
        api.post(
            f"/v1/products/{made['id']}",
            data={"metadata[b]": "", "metadata[c]": "3", "name": "Hoodie"},
        )
    )
    assert updated["metadata"] == {"a": "1", "c": "3"}
    assert updated["name"] == "Hoodie"
    assert ok(api.get(f"/v1/products/{made['id']}")) == updated
    cleared = ok(api.post(f"/v1/products/{made['id']}", data={"metadata": ""}))
    assert cleared["metadata"] == {}
    event = api.get("/v1/events", params={"type": "product.updated", "limit": 2}).json()["data"]
    assert event[1]["data"]["previous_attributes"] == {
        "metadata": {"a": "1", "b": "2"},
        "name": "T-shirt",
        "updated": made["updated"],
    }


def test_delete_answers_the_deleted_shape_and_the_object_is_gone(api: httpx.Client) -> None:
    made = product(api)
    gone = ok(api.delete(f"/v1/products/{made['id']}"))
    assert gone == {"id": made["id"], "object": "product", "deleted": True}
    assert_error(api.get(f"/v1/products/{made['id']}"), 404, code="resource_missing", param="id")
    assert_error(api.delete(f"/v1/products/{made['id']}"), 404, code="resource_missing", param="id")


def test_a_product_with_prices_cannot_be_deleted(api: httpx.Client) -> None:
    made = price(api)
    err = assert_error(api.delete(f"/v1/products/{made['product']}"), 400)
    assert err["message"] == (
        "This product cannot be deleted because it has one or more user-created prices."
    )
    assert ok(api.get(f"/v1/products/{made['product']}"))["id"] == made["product"]


def test_a_deleted_terminal_location_is_read_as_deleted_and_listed_no_more(
    api: httpx.Client,
) -> None:
    address = {"address[line1]": "1 Main St", "address[city]": "Springfield"}
    address |= {"address[country]": "US", "address[postal_code]": "12345"}
    made = ok(api.post("/v1/terminal/locations", data={"display_name": "Shop", **address}))
    path = f"/v1/terminal/locations/{made['id']}"
    gone = {"id": made["id"], "object": "terminal.location", "deleted": True}
    assert ok(api.delete(path)) == gone
    assert ok(api.get(path)) == gone
    assert ok(api.get("/v1/terminal/locations"))["data"] == []
    assert_error(
        api.post(path, data={"display_name": "X"}), 404, code="resource_missing", param="id"
    )
    assert_error(api.delete(path), 404, code="resource_missing", param="id")
    reader = {"registration_code": "simulated-wpe", "location": made["id"]}
    resp = api.post("/v1/terminal/readers", data=reader)
    assert_error(resp, 400, code="resource_missing", param="location")


def test_list_paginates_newest_first(api: httpx.Client) -> None:
    ids = [product(api)["id"] for _ in range(5)]
    first = ok(api.get("/v1/products", params={"limit": 2}))
    assert [p["id"] for p in first["data"]] == ids[::-1][:2]
    assert first["has_more"] is True and first["url"] == "/v1/products"
    rest = ok(api.get("/v1/products", params={"limit": 10, "starting_after": ids[3]}))
    assert [p["id"] for p in rest["data"]] == ids[::-1][2:]
    assert rest["has_more"] is False
    before = ok(api.get("/v1/products", params={"limit": 2, "ending_before": ids[1]}))
    assert [p["id"] for p in before["data"]] == [ids[3], ids[2]]


def test_list_cursor_that_does_not_exist_is_refused(api: httpx.Client) -> None:
    resp = api.get("/v1/products", params={"starting_after": "prod_nope"})
    assert_error(resp, 404, code="resource_missing", param="starting_after")


def test_list_filters_on_field_equality_and_created_ranges(api: httpx.Client) -> None:
    shirt, mug = product(api)["id"], product(api)["id"]
    for owner in (shirt, shirt, mug):
        ok(api.post("/v1/prices", data={"product": owner, "currency": "usd", "unit_amount": "5"}))
    listed = ok(api.get("/v1/prices", params={"product": shirt}))
    assert [p["product"] for p in listed["data"]] == [shirt, shirt]
    assert ok(api.get("/v1/prices", params={"product": mug, "currency": "eur"}))["data"] == []
    api.post("/v1/test_helpers/clock/advance", data={"seconds": "3600"})
    later = product(api)
    newer = ok(api.get("/v1/products", params={"created[gte]": str(later["created"])}))
    assert [p["id"] for p in newer["data"]] == [later["id"]]
    older = ok(api.get("/v1/products", params={"created[lt]": str(later["created"])}))
    assert {p["id"] for p in older["data"]} == {shirt, mug}


def test_list_filters_that_name_a_field_in_the_plural_or_its_parts_filter(
    api: httpx.Client,
) -> None:
    shirt, mug = product(api)["id"], product(api)["id"]
    assert [p["id"] for p in ok(api.get("/v1/products", params={"ids[]": shirt}))["data"]] == [
        shirt
    ]
    for owner, key, interval in ((shirt, "basic_monthly", "month"), (mug, "pro_yearly", "year")):
        data = {"product": owner, "currency": "usd", "unit_amount": "100", "lookup_key": key}
        ok(api.post("/v1/prices", data={**data, "recurring[interval]": interval}))
    by_key = ok(api.get("/v1/prices", params={"lookup_keys[]": "basic_monthly"}))["data"]
    assert [p["lookup_key"] for p in by_key] == ["basic_monthly"]
    yearly = ok(api.get("/v1/prices", params={"recurring[interval]": "year"}))["data"]
    assert [p["lookup_key"] for p in yearly] == ["pro_yearly"]


def test_list_filters_stripe_words_without_a_field_filter_too(api: httpx.Client) -> None:
    # No balance transaction of the fake is paid out by a payout.
    listed = ok(api.get("/v1/balance_transactions", params={"payout": "po_123"}))
    assert listed["data"] == []
    blocked = ok(api.post("/v1/radar/value_lists", data={"alias": "bl", "name": "Blocked"}))
    other = ok(api.post("/v1/radar/value_lists", data={"alias": "ot", "name": "Other"}))
    item = {"value_list": blocked["id"], "value": "1.2.3.4"}
    ok(api.post("/v1/radar/value_list_items", data=item))
    holding = ok(api.get("/v1/radar/value_lists", params={"contains": "1.2.3.4"}))["data"]
    assert [v["id"] for v in holding] == [blocked["id"]]
    assert other["id"] not in [v["id"] for v in holding]


def test_a_list_filter_the_fake_cannot_apply_is_refused_not_ignored() -> None:
    whole = load_whole()
    assert whole is not None
    operation = Catalog(whole).operation("GET", "/v1/prices")
    with pytest.raises(StripeError) as refused:
        filters.tests(cast(Any, None), operation, {}, {"not_a_filter": "x"})
    assert (refused.value.status, refused.value.type) == (400, "invalid_request_error")
    assert (refused.value.code, refused.value.param) == (None, "not_a_filter")


def test_subscriptions_list_leaves_out_canceled_ones_unless_asked(api: httpx.Client) -> None:
    customer = api.post("/v1/customers").json()["id"]
    keep = ok(api.post("/v1/subscriptions", data={"customer": customer}))["id"]
    gone = ok(api.post("/v1/subscriptions", data={"customer": customer}))["id"]
    ok(api.delete(f"/v1/subscriptions/{gone}"))

    def listed(**params: str) -> list[str]:
        answer = ok(api.get("/v1/subscriptions", params={"customer": customer, **params}))
        return [s["id"] for s in answer["data"]]

    assert listed() == [keep]
    assert listed(status="all") == [gone, keep]
    assert listed(status="ended") == [gone]
    assert listed(status="canceled") == [gone]
    assert listed(status="active") == [keep]


def price(api: httpx.Client, **values: str) -> dict[str, Any]:
    data = {"product": product(api)["id"], "currency": "usd", "unit_amount": "500", **values}
    return ok(api.post("/v1/prices", data=data))


def test_an_unknown_id_in_a_creates_body_is_resource_missing_naming_the_parameter(
    api: httpx.Client,
) -> None:
    customer = api.post("/v1/customers").json()["id"]
    cases = [
        ("/v1/invoices", {"customer": "cus_nope"}, "customer", "No such customer: 'cus_nope'"),
        ("/v1/prices", {"product": "prod_nope", "currency": "usd"}, "product", None),
        ("/v1/promotion_codes", {"coupon": "NOPE"}, "coupon", "No such coupon: 'NOPE'"),
        ("/v1/refunds", {"charge": "ch_nope"}, "charge", "No such charge: 'ch_nope'"),
        ("/v1/refunds", {"payment_intent": "pi_nope"}, "payment_intent", None),
        (
            "/v1/subscriptions",
            {"customer": customer, "items[0][price]": "price_nope"},
            "items[0][price]",
            "No such price: 'price_nope'",
        ),
    ]
    for path, data, param, message in cases:
        err = assert_error(api.post(path, data=data), 400, code="resource_missing", param=param)
        assert message is None or err["message"] == message
    assert ok(api.get("/v1/subscriptions", params={"customer": customer}))["data"] == []


def test_a_refund_without_a_charge_or_a_payment_intent_is_refused(api: httpx.Client) -> None:
    err = assert_error(api.post("/v1/refunds", data={"amount": "100"}), 400)
    assert err["message"] == (
        "One of the following params should be provided for this request: payment_intent or charge."
    )


def test_a_subscriptions_items_are_subscription_items_of_the_prices_given(
    api: httpx.Client,
) -> None:
    customer = api.post("/v1/customers").json()["id"]
    monthly, other = price(api)["id"], price(api)["id"]
    data = {"customer": customer, "items[0][price]": monthly, "items[0][quantity]": "2"}
    sub = ok(api.post("/v1/subscriptions", data=data))
    (item,) = sub["items"]["data"]
    assert (item["price"]["id"], item["quantity"], item["subscription"]) == (monthly, 2, sub["id"])
    listed = ok(api.get("/v1/subscription_items", params={"subscription": sub["id"]}))["data"]
    assert [i["id"] for i in listed] == [item["id"]]
    assert ok(api.get(f"/v1/subscription_items/{item['id']}")) == item
    added = ok(api.post("/v1/subscription_items", data={"subscription": sub["id"], "price": other}))
    assert added["price"]["id"] == other
    shown = ok(api.get(f"/v1/subscriptions/{sub['id']}"))["items"]["data"]
    assert [i["id"] for i in shown] == [item["id"], added["id"]]
    ok(api.delete(f"/v1/subscription_items/{added['id']}"))
    shown = ok(api.get(f"/v1/subscriptions/{sub['id']}"))["items"]["data"]
    assert [i["id"] for i in shown] == [item["id"]]
    by_price = ok(api.get("/v1/subscriptions", params={"price": monthly}))["data"]
    assert [s["id"] for s in by_price] == [sub["id"]]
    assert ok(api.get("/v1/subscriptions", params={"price": other}))["data"] == []


def test_an_id_given_for_a_field_shown_whole_is_the_stored_object(api: httpx.Client) -> None:
    coupon = ok(api.post("/v1/coupons", data={"id": "TENOFF", "percent_off": "10"}))
    code = ok(api.post("/v1/promotion_codes", data={"coupon": "TENOFF"}))
    assert code["coupon"] == coupon
    listed = ok(api.get("/v1/promotion_codes", params={"coupon": "TENOFF"}))["data"]
    assert [c["id"] for c in listed] == [code["id"]]


def test_expand_follows_ids_into_generic_and_modelled_objects(api: httpx.Client) -> None:
    customer = api.post("/v1/customers", data={"email": "jenny@example.com"}).json()
    item = product(api)
    price = ok(api.post("/v1/prices", data={"product": item["id"], "currency": "usd"}))
    expanded = ok(api.get(f"/v1/prices/{price['id']}", params={"expand[]": "product"}))
    assert expanded["product"] == item
    invoice = ok(api.post("/v1/invoices", data={"customer": customer["id"]}))
    shown = ok(api.get(f"/v1/invoices/{invoice['id']}", params={"expand[]": "customer"}))
    assert shown["customer"]["email"] == "jenny@example.com"
    listed = ok(api.get("/v1/prices", params={"expand[]": "data.product", "limit": 1}))
    assert listed["data"][0]["product"]["id"] == item["id"]


def test_expand_of_a_field_that_does_not_expand_is_refused(api: httpx.Client) -> None:
    made = product(api)
    resp = api.get(f"/v1/products/{made['id']}", params={"expand[]": "name"})
    err = assert_error(resp, 400)
    assert err["message"] == "This property cannot be expanded (name)."


def test_nested_objects_belong_to_their_parent(api: httpx.Client) -> None:
    jenny = api.post("/v1/customers").json()["id"]
    other = api.post("/v1/customers").json()["id"]
    tax_id = ok(api.post(f"/v1/customers/{jenny}/tax_ids", data={"type": "eu_vat", "value": "DE1"}))
    assert tax_id["customer"] == jenny and tax_id["id"].startswith("txi_")
    assert [t["id"] for t in ok(api.get(f"/v1/customers/{jenny}/tax_ids"))["data"]] == [
        tax_id["id"]
    ]
    assert ok(api.get(f"/v1/customers/{other}/tax_ids"))["data"] == []
    assert ok(api.get(f"/v1/customers/{jenny}/tax_ids/{tax_id['id']}")) == tax_id
    resp = api.get(f"/v1/customers/{other}/tax_ids/{tax_id['id']}")
    assert_error(resp, 404, code="resource_missing", param="id")


def test_a_nested_path_under_an_unknown_parent_is_resource_missing(api: httpx.Client) -> None:
    resp = api.post("/v1/customers/cus_nope/tax_ids", data={"type": "eu_vat", "value": "DE1"})
    err = assert_error(resp, 404, code="resource_missing", param="customer")
    assert err["message"] == "No such customer: 'cus_nope'"


def test_create_update_delete_record_events_the_spec_names(api: httpx.Client) -> None:
    made = product(api)
    ok(api.post(f"/v1/products/{made['id']}", data={"name": "Mug"}))
    ok(api.delete(f"/v1/products/{made['id']}"))
    events = api.get("/v1/events", params={"limit": 3}).json()["data"]
    assert [e["type"] for e in events] == ["product.deleted", "product.updated", "product.created"]
    assert events[2]["data"]["object"]["id"] == made["id"]
    assert events[1]["data"]["object"]["name"] == "Mug"
    assert all(e["request"]["id"] for e in events)
    one = api.get(f"/v1/events/{events[0]['id']}").json()
    assert one["data"]["object"]["id"] == made["id"]


def test_a_nested_create_records_the_event_of_its_collection(api: httpx.Client) -> None:
    jenny = api.post("/v1/customers").json()["id"]
    ok(api.post(f"/v1/customers/{jenny}/tax_ids", data={"type": "eu_vat", "value": "DE1"}))
    ok(api.post("/v1/subscriptions", data={"customer": jenny}))
    types = [e["type"] for e in api.get("/v1/events", params={"limit": 2}).json()["data"]]
    assert types == ["customer.subscription.created", "customer.tax_id.created"]


def test_an_object_without_an_event_type_records_none(api: httpx.Client) -> None:
    before = api.get("/v1/events", params={"limit": 1}).json()["data"]
    ok(api.post("/v1/terminal/locations", data=_location()))
    after = api.get("/v1/events", params={"limit": 1}).json()["data"]
    assert after == before


def _location() -> dict[str, str]:
    return {
        "display_name": "Shop",
        "address[country]": "US",
        "address[line1]": "1 Main St",
        "address[city]": "Springfield",
        "address[postal_code]": "12345",
        "address[state]": "IL",
    }


def test_unknown_parameter_is_refused_naming_it(api: httpx.Client) -> None:
    resp = api.post("/v1/products", data={"name": "x", "colour": "red"})
    err = assert_error(resp, 400, code="parameter_unknown", param="colour")
    assert err["message"] == "Received unknown parameter: colour"
    assert resp.headers["fake-stripe-model"] == "generic"
    nested = api.post("/v1/products", data={"name": "x", "package_dimensions[depth]": "1"})
    assert_error(nested, 400, code="parameter_unknown", param="package_dimensions[depth]")


def test_missing_required_parameter_is_refused_naming_it(api: httpx.Client) -> None:
    resp = api.post("/v1/prices", data={"unit_amount": "5"})
    err = assert_error(resp, 400, code="parameter_missing", param="currency")
    assert err["message"] == "Missing required param: currency."


def test_bad_types_are_refused_naming_the_parameter(api: httpx.Client) -> None:
    resp = api.post("/v1/prices", data={"currency": "usd", "unit_amount": "five"})
    assert_error(resp, 400, code="parameter_invalid_integer", param="unit_amount")
    resp = api.post("/v1/products", data={"name": "x", "shippable": "maybe"})
    err = assert_error(resp, 400, param="shippable")
    assert err["message"] == "Invalid boolean: maybe"
    resp = api.post(
        "/v1/tax_rates", data={"display_name": "VAT", "inclusive": "false"} | {"percentage": "lots"}
    )
    assert_error(resp, 400, param="percentage")
    resp = api.post("/v1/prices", data={"currency": "usd", "billing_scheme": "weekly"})
    err = assert_error(resp, 400, param="billing_scheme")
    assert err["message"].startswith("Invalid billing_scheme: must be one of per_unit")


def test_a_decimal_parameter_is_accepted(api: httpx.Client) -> None:
    rate = ok(
        api.post(
            "/v1/tax_rates",
            data={"display_name": "VAT", "inclusive": "false", "percentage": "19.5"},
        )
    )
    assert rate["percentage"] == 19.5


def test_idempotency_key_replays_the_same_object(api: httpx.Client) -> None:
    headers = {"Idempotency-Key": "make-one-product"}
    first = api.post("/v1/products", data={"name": "Once"}, headers=headers)
    again = api.post("/v1/products", data={"name": "Once"}, headers=headers)
    assert again.json() == ok(first)
    assert again.headers["idempotent-replayed"] == "true"
    assert len(ok(api.get("/v1/products"))["data"]) == 1
    other = api.post("/v1/products", data={"name": "Twice"}, headers=headers)
    assert_error(other, 400, type_="idempotency_error")


def test_tenants_do_not_see_each_others_objects(api: httpx.Client) -> None:
    made = product(api)
    stranger = {"Authorization": "Bearer sk_test_generic_stranger"}
    resp = api.get(f"/v1/products/{made['id']}", headers=stranger)
    assert_error(resp, 404, code="resource_missing", param="id")
    assert ok(api.get("/v1/products", headers=stranger))["data"] == []


def test_an_injected_fault_answers_a_generic_path(api: httpx.Client) -> None:
    fault = api.post(
        "/v1/test_helpers/faults", data={"path": "/v1/coupons", "status": "503", "method": "POST"}
    )
    assert fault.status_code == 200, fault.text
    resp = api.post("/v1/coupons", data={"percent_off": "10"})
    assert resp.status_code == 503
    assert ok(api.post("/v1/coupons", data={"percent_off": "10"}))["percent_off"] == 10


def test_an_error_leaves_the_store_untouched(api: httpx.Client) -> None:
    assert_error(
        api.post("/v1/products", data={"name": "x", "colour": "red"}),
        400,
        code="parameter_unknown",
        param="colour",
    )
    assert ok(api.get("/v1/products"))["data"] == []
    assert api.get("/v1/events").json()["data"] == []


def test_a_modelled_answer_carries_no_generic_header(api: httpx.Client) -> None:
    resp = api.post("/v1/customers")
    assert resp.status_code == 200
    assert "fake-stripe-model" not in resp.headers


def test_an_id_of_the_callers_choosing_never_replaces_another_object(api: httpx.Client) -> None:
    coupon = ok(api.post("/v1/coupons", data={"id": "SPRING", "percent_off": "10"}))
    assert coupon["id"] == "SPRING"
    again = api.post("/v1/coupons", data={"id": "SPRING", "percent_off": "50"})
    assert_error(again, 400, code="resource_already_exists", param="id")
    customer = api.post("/v1/customers").json()["id"]
    taken = api.post("/v1/coupons", data={"id": customer, "percent_off": "5"})
    assert_error(taken, 400, code="resource_already_exists", param="id")
    assert api.get(f"/v1/customers/{customer}").json()["object"] == "customer"
    assert ok(api.get("/v1/coupons/SPRING"))["percent_off"] == 10
