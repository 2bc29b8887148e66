"""Customers over HTTP, in both modes."""

from __future__ import annotations

import httpx

from tests.helpers import assert_error


def test_customer_create_retrieve_update_and_metadata(api: httpx.Client) -> None:
    cus = api.post(
        "/v1/customers",
        data={
            "email": "jane@example.com",
            "name": "Jane",
            "metadata[plan]": "gold",
            "address[city]": "Lyon",
            "preferred_locales[0]": "fr",
        },
    ).json()
    assert cus["id"].startswith("cus_")
    assert cus["object"] == "customer"
    assert cus["metadata"] == {"plan": "gold"}
    assert cus["address"]["city"] == "Lyon"
    assert cus["address"]["line1"] is None
    assert cus["preferred_locales"] == ["fr"]
    got = api.get(f"/v1/customers/{cus['id']}").json()
    assert got == cus
    upd = api.post(
        f"/v1/customers/{cus['id']}",
        data={"name": "Jane D", "metadata[plan]": "", "metadata[tier]": "1", "description": ""},
    ).json()
    assert upd["name"] == "Jane D"
    assert upd["metadata"] == {"tier": "1"}
    assert upd["email"] == "jane@example.com"


def test_customer_list_filters_by_email(api: httpx.Client) -> None:
    a = api.post("/v1/customers", data={"email": "a@x.co"}).json()
    api.post("/v1/customers", data={"email": "b@x.co"})
    got = api.get("/v1/customers", params={"email": "a@x.co"}).json()
    assert [c["id"] for c in got["data"]] == [a["id"]]


def test_customer_list_filters_by_created_range(api: httpx.Client) -> None:
    first = api.post("/v1/customers").json()
    api.post("/v1/test_helpers/clock/advance", data={"seconds": "100"})
    second = api.post("/v1/customers").json()
    since = api.get("/v1/customers", params={"created[gt]": first["created"]}).json()["data"]
    until = api.get("/v1/customers", params={"created[lte]": first["created"]}).json()["data"]
    exact = api.get("/v1/customers", params={"created": second["created"]}).json()["data"]
    assert [c["id"] for c in since] == [second["id"]]
    assert [c["id"] for c in until] == [first["id"]]
    assert exact == since
    assert_error(
        api.get("/v1/customers", params={"created[after]": "1"}),
        400,
        code="parameter_unknown",
        param="created[after]",
    )


def test_deleted_customer_returns_the_stub_and_leaves_the_list(api: httpx.Client) -> None:
    cus = api.post("/v1/customers").json()
    gone = api.delete(f"/v1/customers/{cus['id']}").json()
    assert gone == {"id": cus["id"], "object": "customer", "deleted": True}
    assert api.get(f"/v1/customers/{cus['id']}").json() == gone
    assert api.get("/v1/customers").json()["data"] == []
    assert_error(
        api.post(f"/v1/customers/{cus['id']}", data={"name": "x"}),
        404,
        code="resource_missing",
        param="id",
    )


def test_another_key_cannot_see_the_customer(api: httpx.Client, key: str) -> None:
    cus = api.post("/v1/customers", data={"email": "a@b.co"}).json()
    other = api.get(f"/v1/customers/{cus['id']}", headers={"Authorization": f"Bearer {key}other"})
    err = assert_error(other, 404, code="resource_missing", param="id")
    assert err["message"] == f"No such customer: '{cus['id']}'"


def test_restricted_and_publishable_keys_share_the_secret_keys_tenant(
    api: httpx.Client, key: str
) -> None:
    cus = api.post("/v1/customers").json()
    rk = "rk_" + key[3:]
    got = api.get(f"/v1/customers/{cus['id']}", headers={"Authorization": f"Bearer {rk}"})
    assert got.status_code == 200


def test_customer_events_are_recorded(api: httpx.Client) -> None:
    cus = api.post("/v1/customers", data={"email": "e@x.co"}).json()
    api.post(f"/v1/customers/{cus['id']}", data={"name": "N"})
    evs = api.get("/v1/events").json()["data"]
    assert [e["type"] for e in evs] == ["customer.updated", "customer.created"]
    assert evs[0]["data"]["previous_attributes"] == {"name": None}
    assert evs[1]["data"]["object"]["id"] == cus["id"]
    one = api.get(f"/v1/events/{evs[1]['id']}").json()
    assert one == evs[1]
    only = api.get("/v1/events", params={"type": "customer.created"}).json()["data"]
    assert [e["id"] for e in only] == [evs[1]["id"]]


def test_events_filter_by_created_range(api: httpx.Client) -> None:
    api.post("/v1/customers")
    now = api.get("/v1/test_helpers/clock").json()["now"]
    api.post("/v1/test_helpers/clock/advance", data={"seconds": "100"})
    api.post("/v1/customers")
    later = api.get("/v1/events", params={"created[gte]": now + 100}).json()["data"]
    earlier = api.get("/v1/events", params={"created[lt]": now + 100}).json()["data"]
    assert len(later) == 1 and len(earlier) == 1
    # The clock runs on: the second create may come a second or more after `now + 100`.
    exact = api.get("/v1/events", params={"created": later[0]["created"]}).json()["data"]
    assert exact == later


def test_a_create_with_every_field_stores_what_an_update_with_them_stores(
    api: httpx.Client,
) -> None:
    """A create validates its fields as one model; an update sets them on the model one by
    one. The same parameters, emptied ones included, give the same customer either way."""
    fields = {
        "address[city]": "Lyon",
        "address[line1]": "",
        "balance": "-250",
        "description": "",
        "email": "jane@example.com",
        "invoice_prefix": "JANE",
        "invoice_settings[footer]": "Thanks",
        "invoice_settings[default_payment_method]": "",
        "metadata[plan]": "gold",
        "metadata[gone]": "",
        "name": "Jane",
        "next_invoice_sequence": "7",
        "phone": "",
        "preferred_locales[0]": "fr",
        "shipping[name]": "Jane",
        "shipping[address][city]": "Lyon",
        "shipping[phone]": "",
        "tax_exempt": "",
    }
    made = api.post("/v1/customers", data=fields).json()
    assert api.get(f"/v1/customers/{made['id']}").json() == made
    other = api.post("/v1/customers").json()
    updated = api.post(f"/v1/customers/{other['id']}", data=fields).json()
    assert made["balance"] == -250 and made["tax_exempt"] == "none"
    assert made["metadata"] == {"plan": "gold"}
    assert made["shipping"]["address"]["city"] == "Lyon"
    for cus in (made, updated):
        del cus["id"], cus["created"]
    assert made == updated


def test_a_write_answers_the_bytes_a_read_of_the_object_answers(api: httpx.Client) -> None:
    """A write's answer is written by the model's serializer in one step (`api_json`); a
    read renders through `to_api`. Both give the same bytes, at a GA and a preview version."""
    for version in ("2026-10-28.endive", "2026-09-30.preview"):
        headers = {"Stripe-Version": version}
        made = api.post(
            "/v1/customers",
            data={"email": "bytes@example.com", "metadata[é]": '✓ "q"', "address[city]": "Lyon"},
            headers=headers,
        )
        path = f"/v1/customers/{made.json()['id']}"
        assert made.content == api.get(path, headers=headers).content
        updated = api.post(path, data={"name": "Zoë"}, headers=headers)
        assert updated.content == api.get(path, headers=headers).content
        assert "deleted" not in updated.json()
        gone = api.delete(path, headers=headers)
        assert gone.json() == {"id": made.json()["id"], "object": "customer", "deleted": True}


def _bank_pm(api: httpx.Client, customer: str | None = None) -> str:
    data = {
        "type": "us_bank_account",
        "billing_details[name]": "Jenny Rosen",
        "us_bank_account[routing_number]": "110000000",
        "us_bank_account[account_number]": "000123456789",
    }
    if customer is not None:
        data["customer"] = customer
    resp = api.post("/v1/payment_methods", data=data)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["id"])


def test_default_payment_method_must_be_one_the_customer_holds(api: httpx.Client) -> None:
    cus = api.post("/v1/customers").json()["id"]
    theirs = _bank_pm(api, api.post("/v1/customers").json()["id"])
    param = "invoice_settings[default_payment_method]"
    for pm in ("pm_doesnotexist", _bank_pm(api), theirs, "pm_card_visa"):
        resp = api.post(f"/v1/customers/{cus}", data={param: pm})
        err = assert_error(resp, 400, param=param)
        assert err["message"] == (
            f"The customer does not have a payment method with the ID {pm}. The payment method "
            "must be attached to the customer."
        )
        assert_error(api.post("/v1/customers", data={param: pm}), 400, param=param)
    assert (
        api.get(f"/v1/customers/{cus}").json()["invoice_settings"]["default_payment_method"] is None
    )
    mine = _bank_pm(api, cus)
    made = api.post(f"/v1/customers/{cus}", data={param: mine}).json()
    assert made["invoice_settings"]["default_payment_method"] == mine
    shown = api.get(
        f"/v1/customers/{cus}", params={"expand[]": "invoice_settings.default_payment_method"}
    )
    assert shown.json()["invoice_settings"]["default_payment_method"]["customer"] == cus
    cleared = api.post(f"/v1/customers/{cus}", data={param: ""}).json()
    assert cleared["invoice_settings"]["default_payment_method"] is None
