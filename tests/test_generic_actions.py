"""Generic actions, singletons, collections of several shapes, search, file uploads and PDFs, the
operations Stripe's spec has on resources the fake models by hand, and webhook delivery of
generic events. Each test runs in-process and over a socket, on the strict app."""

from __future__ import annotations

from typing import Any

import httpx
import stripe

from .helpers import assert_error
from .test_generic import ok, product
from .test_webhooks import Receiver, create_endpoint


def invoice(api: httpx.Client) -> dict[str, Any]:
    customer = api.post("/v1/customers").json()["id"]
    return ok(api.post("/v1/invoices", data={"customer": customer}))


def test_an_action_sets_the_status_it_leads_to_and_records_its_events(api: httpx.Client) -> None:
    made = invoice(api)
    finalized = ok(api.post(f"/v1/invoices/{made['id']}/finalize"))
    assert finalized["status"] == "open"
    assert ok(api.get(f"/v1/invoices/{made['id']}"))["status"] == "open"
    voided = ok(api.post(f"/v1/invoices/{made['id']}/void"))
    assert voided["status"] == "void"
    types = [e["type"] for e in api.get("/v1/events", params={"limit": 4}).json()["data"]]
    assert types == ["invoice.voided", "invoice.updated", "invoice.finalized", "invoice.updated"]


def test_only_updated_events_carry_previous_attributes(api: httpx.Client) -> None:
    made = invoice(api)
    ok(api.post(f"/v1/invoices/{made['id']}/finalize"))
    events = api.get("/v1/events", params={"limit": 2}).json()["data"]
    assert [e["type"] for e in events] == ["invoice.finalized", "invoice.updated"]
    assert events[0]["data"].get("previous_attributes") is None
    assert events[1]["data"]["previous_attributes"] == {"status": "draft"}
    customer = api.post("/v1/customers").json()["id"]
    sub = ok(api.post("/v1/subscriptions", data={"customer": customer}))
    ok(api.delete(f"/v1/subscriptions/{sub['id']}"))
    deleted = api.get("/v1/events", params={"type": "customer.subscription.deleted"}).json()
    assert deleted["data"][0]["data"].get("previous_attributes") is None


def test_an_action_takes_the_parameters_that_name_fields_its_update_takes(
    api: httpx.Client,
) -> None:
    made = invoice(api)
    done = ok(api.post(f"/v1/invoices/{made['id']}/finalize", data={"auto_advance": "true"}))
    assert done["auto_advance"] is True


def test_an_action_with_no_status_to_set_changes_nothing(api: httpx.Client) -> None:
    made = invoice(api)
    before = api.get("/v1/events", params={"limit": 1}).json()["data"]
    assert ok(api.post(f"/v1/invoices/{made['id']}/send")) == made
    assert api.get("/v1/events", params={"limit": 1}).json()["data"] == before


def test_an_action_on_an_unknown_id_is_resource_missing(api: httpx.Client) -> None:
    resp = api.post("/v1/invoices/in_nope/finalize")
    assert_error(resp, 404, code="resource_missing", param="id")


def test_a_delete_that_cancels_keeps_the_object(api: httpx.Client) -> None:
    customer = api.post("/v1/customers").json()["id"]
    sub = ok(api.post("/v1/subscriptions", data={"customer": customer}))
    canceled = ok(api.delete(f"/v1/subscriptions/{sub['id']}"))
    assert canceled["id"] == sub["id"] and canceled["status"] == "canceled"
    assert ok(api.get(f"/v1/subscriptions/{sub['id']}"))["status"] == "canceled"
    event = api.get("/v1/events", params={"limit": 2}).json()["data"]
    assert [e["type"] for e in event] == [
        "customer.subscription.deleted",
        "customer.subscription.updated",
    ]


def test_a_singleton_starts_as_its_example_and_remembers_a_change(api: httpx.Client) -> None:
    assert ok(api.get("/v1/balance"))["object"] == "balance"
    customer = api.post("/v1/customers").json()["id"]
    path = f"/v1/customers/{customer}/cash_balance"
    first = ok(api.get(path))
    assert first["customer"] == customer
    changed = ok(api.post(path, data={"settings[reconciliation_mode]": "manual"}))
    assert changed["settings"]["reconciliation_mode"] == "manual"
    assert ok(api.get(path)) == changed
    other = api.post("/v1/customers").json()["id"]
    assert ok(api.get(f"/v1/customers/{other}/cash_balance"))["customer"] == other


def test_a_customers_sources_hold_cards_and_bank_accounts(api: httpx.Client) -> None:
    customer = api.post("/v1/customers").json()["id"]
    card = ok(api.post(f"/v1/customers/{customer}/sources", data={"source": "tok_visa"}))
    assert card["object"] == "card" and card["customer"] == customer
    bank = ok(
        api.post(f"/v1/customers/{customer}/bank_accounts", data={"source": "btok_us_verified"})
    )
    assert bank["object"] == "bank_account"
    both = ok(api.get(f"/v1/customers/{customer}/sources"))
    assert [s["id"] for s in both["data"]] == [bank["id"], card["id"]]
    cards = ok(api.get(f"/v1/customers/{customer}/cards"))
    assert [c["id"] for c in cards["data"]] == [card["id"]]
    named = ok(api.get(f"/v1/customers/{customer}/sources", params={"object": "bank_account"}))
    assert [s["id"] for s in named["data"]] == [bank["id"]]
    gone = ok(api.delete(f"/v1/customers/{customer}/sources/{card['id']}"))
    assert gone == {"id": card["id"], "object": "card", "deleted": True}
    event = api.get("/v1/events", params={"limit": 1}).json()["data"][0]
    assert event["type"] == "customer.source.deleted"


def test_search_finds_by_field_metadata_and_numbers(api: httpx.Client) -> None:
    shirt = product(api, **{"metadata[sku]": "A1"})
    product(api, name="Mug", **{"metadata[sku]": "B2"})
    found = ok(api.get("/v1/products/search", params={"query": "metadata['sku']:'A1'"}))
    assert found["object"] == "search_result"
    assert [p["id"] for p in found["data"]] == [shirt["id"]]
    both = ok(api.get("/v1/products/search", params={"query": "name:'mug' OR name:'t-shirt'"}))
    assert len(both["data"]) == 2
    none = ok(api.get("/v1/products/search", params={"query": "name:'Mug' AND -active:'true'"}))
    assert none["data"] == []
    customer = api.post("/v1/customers", data={"email": "jane@example.com"}).json()
    people = ok(api.get("/v1/customers/search", params={"query": "email:'jane@example.com'"}))
    assert [c["id"] for c in people["data"]] == [customer["id"]]


def test_search_values_take_backslash_escaped_quotes(api: httpx.Client) -> None:
    """Stripe's search syntax: a quote inside a quoted value is escaped with a backslash; an
    unterminated value is a 400 naming `query`."""
    obrien = product(api, name='O\'Brien "Jr"')
    for query in ("name:'O\\'Brien \"Jr\"'", 'name:"O\'Brien \\"Jr\\""'):
        found = ok(api.get("/v1/products/search", params={"query": query}))
        assert [p["id"] for p in found["data"]] == [obrien["id"]], query
    broken = api.get("/v1/products/search", params={"query": "name:'x\\'"})
    assert_error(broken, 400, param="query")


def test_search_page_is_ascii_digits(api: httpx.Client) -> None:
    product(api)
    for page in ("\u0967", "\uff11", "-1", "x"):
        refused = api.get("/v1/products/search", params={"query": "active:'true'", "page": page})
        assert_error(refused, 400, param="page")


def test_search_pages_with_next_page(api: httpx.Client) -> None:
    ids = [product(api)["id"] for _ in range(3)]
    first = ok(api.get("/v1/products/search", params={"query": "active:'true'", "limit": 2}))
    assert first["has_more"] is True and [p["id"] for p in first["data"]] == ids[::-1][:2]
    rest = ok(
        api.get(
            "/v1/products/search",
            params={"query": "active:'true'", "limit": 2, "page": first["next_page"]},
        )
    )
    assert [p["id"] for p in rest["data"]] == [ids[0]] and rest["next_page"] is None


def test_search_results_expand_data_fields_as_lists_do(api: httpx.Client) -> None:
    made = product(api, name="Expandable")
    ok(api.post("/v1/prices", data={"product": made["id"], "currency": "usd", "unit_amount": "5"}))
    query = {"query": "currency:'usd'", "expand[]": "data.product"}
    found = ok(api.get("/v1/prices/search", params=query))
    assert found["data"][0]["product"]["id"] == made["id"]
    assert found["data"][0]["product"]["name"] == "Expandable"
    resp = api.get("/v1/prices/search", params={**query, "expand[]": "product"})
    err = assert_error(resp, 400, param=None)
    assert "data.product" in err["message"]


def test_a_query_it_cannot_read_is_refused_naming_query(api: httpx.Client) -> None:
    resp = api.get("/v1/products/search", params={"query": "name:'a' AND x:'b' OR y:'c'"})
    assert_error(resp, 400, param="query")
    resp = api.get("/v1/products/search", params={"query": "name"})
    assert_error(resp, 400, param="query")
    resp = api.get("/v1/products/search")
    assert_error(resp, 400, code="parameter_missing", param="query")
    eleven = " AND ".join(f"name:'{n}'" for n in range(11))
    err = assert_error(api.get("/v1/products/search", params={"query": eleven}), 400, param="query")
    assert "at most 10 clauses" in err["message"]


def test_a_file_upload_is_a_multipart_body(api: httpx.Client) -> None:
    uploaded = api.post(
        "/v1/files",
        data={"purpose": "dispute_evidence"},
        files={"file": ("evidence.txt", b"hello", "text/plain")},
    )
    made = ok(uploaded)
    assert made["object"] == "file" and made["purpose"] == "dispute_evidence"
    assert ok(api.get(f"/v1/files/{made['id']}")) == made
    wrong = api.post(
        "/v1/files", data={"purpose": "nope"}, files={"file": ("a.txt", b"x", "text/plain")}
    )
    assert_error(wrong, 400, param="purpose")


def test_a_quotes_pdf_is_a_pdf(api: httpx.Client) -> None:
    customer = api.post("/v1/customers").json()["id"]
    quote = ok(api.post("/v1/quotes", data={"customer": customer}))
    pdf = api.get(f"/v1/quotes/{quote['id']}/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-1.4") and quote["id"].encode() in pdf.content
    assert_error(api.get("/v1/quotes/qt_nope/pdf"), 404, code="resource_missing", param="id")


def test_a_create_of_a_modelled_resource_answers_but_stores_nothing(api: httpx.Client) -> None:
    charge = ok(api.post("/v1/charges", data={"amount": "500", "currency": "usd"}))
    assert charge["object"] == "charge" and charge["amount"] == 500
    resp = api.get(f"/v1/charges/{charge['id']}")
    assert_error(resp, 404, code="resource_missing", param="id")
    assert api.get("/v1/charges").json()["data"] == []


def test_a_modelled_resource_is_listed_by_a_generic_list(api: httpx.Client) -> None:
    customer = api.post("/v1/customers").json()["id"]
    pm = api.post(
        "/v1/payment_methods",
        data={"type": "card", "card[token]": "tok_visa", "customer": customer},
    )
    assert pm.status_code == 200, pm.text
    listed = ok(api.get(f"/v1/customers/{customer}/payment_methods"))
    assert listed.get("data") is not None
    assert [p["id"] for p in listed["data"]] == [pm.json()["id"]]


def test_an_action_on_a_modelled_object_changes_nothing(api: httpx.Client) -> None:
    intent = api.post(
        "/v1/payment_intents",
        data={"amount": "1000", "currency": "usd", "payment_method_types[]": "us_bank_account"},
    ).json()
    answered = ok(api.post(f"/v1/payment_intents/{intent['id']}/capture"))
    assert answered["status"] == intent["status"]
    assert api.get(f"/v1/payment_intents/{intent['id']}").json()["status"] == intent["status"]


def test_generic_events_are_delivered_to_webhook_endpoints(api: httpx.Client) -> None:
    receiver = Receiver()
    try:
        endpoint = create_endpoint(api, receiver.url, "product.created")
        made = product(api)
        (delivered,) = receiver.wait_for(1)
        event = delivered.event
        assert event["type"] == "product.created"
        assert event["data"]["object"] == made
        verified = stripe.Webhook.construct_event(
            delivered.body.decode(), delivered.headers["Stripe-Signature"], endpoint["secret"]
        )
        assert verified["id"] == event["id"]
    finally:
        receiver.close()
