"""A parameter sent empty (`metadata=`, `code=`) unsets it: never a 500, never read as given.

The decoder turns an empty value into the UNSET marker; each handler that meets one must treat
it as "no value" (or "remove the value"), whatever it does with it: `or`, a condition, a merge.
The sweep sends every parameter that may be empty, one at a time, to every POST endpoint that
declares one; the tests after it pin the right outcome where a handler once got it wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fake_stripe.app import routes_table
from fake_stripe.core.params import UNSET, Arr, Either, Hash, Param
from fake_stripe.financial_connections import sessions

BANK_ACCOUNT = {
    "type": "us_bank_account",
    "us_bank_account[routing_number]": "110000000",
    "us_bank_account[account_number]": "000123456789",
    "us_bank_account[account_holder_type]": "individual",
    "billing_details[name]": "Jenny Rosen",
}
PM_DATA = {
    "payment_method_data[type]": "us_bank_account",
    "payment_method_data[us_bank_account][routing_number]": "110000000",
    "payment_method_data[us_bank_account][account_number]": "000123456789",
    "payment_method_data[us_bank_account][account_holder_type]": "individual",
    "payment_method_data[billing_details][name]": "Jenny Rosen",
}
OFFLINE = {"mandate_data[customer_acceptance][type]": "offline"}

# A request each endpoint accepts; the sweep adds one empty parameter to it.
BASE: dict[str, dict[str, str]] = {
    "/v1/customers": {},
    "/v1/customers/{customer}": {},
    "/v1/payment_methods": BANK_ACCOUNT,
    "/v1/setup_intents": {},
    "/v1/setup_intents/{setup_intent}": {},
    "/v1/setup_intents/{setup_intent}/confirm": {**PM_DATA, **OFFLINE},
    "/v1/payment_intents": {"amount": "100", "currency": "usd"},
    "/v1/payment_intents/{intent}": {},
    "/v1/payment_intents/{intent}/confirm": {**PM_DATA, **OFFLINE},
    "/v1/financial_connections/sessions": {
        "permissions[0]": "payment_method",
        "account_holder[type]": "customer",
        "account_holder[customer]": "{customer}",
    },
}


def _emptyable(param: Param, name: str) -> Iterator[str]:
    """The bracket names under `param` that may be sent as an empty string."""
    if isinstance(param, Either):
        for option in param.options:
            yield from _emptyable(option, name)
        return
    if param.emptyable or isinstance(param, Arr):
        yield name
    if isinstance(param, Hash):
        for key, sub in param.fields.items():
            yield from _emptyable(sub, f"{name}[{key}]")


def _cases() -> Iterator[tuple[str, str]]:
    for ep in routes_table():
        path = ep.path.replace("setup_intents/{intent}", "setup_intents/{setup_intent}")
        if ep.method != "POST" or path not in BASE:
            continue
        fields = sessions.GA.fields if ep.params.open else ep.params.fields
        for key, param in fields.items():
            for name in dict.fromkeys(_emptyable(param, key)):
                yield path, name


CASES = sorted(set(_cases()))


def test_the_sweep_covers_every_endpoint_with_a_base_request() -> None:
    assert {path for path, _ in CASES} == set(BASE)
    assert ("/v1/payment_intents", "metadata") in CASES


def _objects(api: httpx.Client) -> dict[str, str]:
    cus = api.post("/v1/customers").json()["id"]
    pi = api.post("/v1/payment_intents", data={"amount": "100", "currency": "usd"}).json()["id"]
    si = api.post("/v1/setup_intents").json()["id"]
    return {"customer": cus, "intent": pi, "setup_intent": si}


@pytest.mark.parametrize(("path", "name"), CASES)
def test_every_parameter_sent_empty_is_answered_without_a_500(
    api: httpx.Client, path: str, name: str
) -> None:
    ids = _objects(api)
    data = {
        k: v.format(**ids)
        for k, v in BASE[path].items()
        if k != name and not k.startswith(name + "[")
    }
    data[name] = ""
    resp = api.post(path.format(**ids), data=data)
    assert resp.status_code < 500, resp.text
    if resp.status_code >= 400:
        assert resp.json()["error"]["type"] == "invalid_request_error", resp.text


def test_unset_reads_as_no_value() -> None:
    assert not UNSET
    assert (UNSET or {}) == {}


@pytest.mark.parametrize("confirm", [False, True])
def test_a_payment_intent_created_with_empty_metadata_has_none(
    api: httpx.Client, confirm: bool
) -> None:
    data = {"amount": "100", "currency": "usd", "metadata": ""}
    if confirm:
        data.update({"confirm": "true", **PM_DATA, **OFFLINE})
    resp = api.post("/v1/payment_intents", data=data)
    assert resp.status_code == 200, resp.text
    assert resp.json()["metadata"] == {}


def test_an_empty_settlement_speed_removes_the_one_set_before(api: httpx.Client) -> None:
    option = "payment_method_options[us_bank_account][preferred_settlement_speed]"
    pi = api.post(
        "/v1/payment_intents", data={"amount": "100", "currency": "usd", option: "fastest"}
    ).json()
    assert pi["payment_method_options"]["us_bank_account"]["preferred_settlement_speed"] == (
        "fastest"
    )
    resp = api.post(f"/v1/payment_intents/{pi['id']}", data={option: ""})
    assert resp.status_code == 200, resp.text
    assert (
        "preferred_settlement_speed" not in resp.json()["payment_method_options"]["us_bank_account"]
    )


def test_an_empty_collection_method_removes_the_one_set_before(api: httpx.Client) -> None:
    option = "payment_method_options[us_bank_account][mandate_options][collection_method]"
    si = api.post(
        "/v1/setup_intents", data={"payment_method_types[0]": "us_bank_account", option: "paper"}
    ).json()
    assert si["payment_method_options"]["us_bank_account"]["mandate_options"] == {
        "collection_method": "paper"
    }
    resp = api.post(f"/v1/setup_intents/{si['id']}", data={option: ""})
    assert resp.status_code == 200, resp.text
    assert resp.json()["payment_method_options"]["us_bank_account"]["mandate_options"] == {}


def test_an_empty_mfa_code_still_asks_for_the_code(base_client: httpx.Client, key: str) -> None:
    sk = {"Authorization": f"Bearer {key}"}
    pk = {"Authorization": f"Bearer {key.replace('sk_', 'pk_', 1)}"}
    cus = base_client.post("/v1/customers", headers=sk).json()["id"]
    session: dict[str, Any] = base_client.post(
        "/v1/financial_connections/sessions",
        data={
            "account_holder[type]": "customer",
            "account_holder[customer]": cus,
            "permissions[0]": "payment_method",
        },
        headers=sk,
    ).json()
    resp = base_client.post(
        "/_stripejs/v1/authenticate",
        data={
            "client_secret": session["client_secret"],
            "institution": "fcinst_StripeBank",
            "username": "mfa",
            "code": "",
        },
        headers=pk,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "mfa_required"
