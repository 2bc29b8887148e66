"""The authentication flow's own endpoints, without a browser: keys, CORS, Stripe-shaped errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import ServerThread
from merchant import USE_CASES

FLOW = "/_stripejs/v1"


@pytest.fixture
def api(fake: ServerThread, key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.url, headers={"Authorization": f"Bearer {key}"}) as c:
        yield c


@pytest.fixture
def js(fake: ServerThread, key: str) -> Iterator[httpx.Client]:
    """What the flow iframe sends: the publishable key of the same tenant."""
    with httpx.Client(base_url=fake.url, headers={"Authorization": f"Bearer pk_{key[3:]}"}) as c:
        yield c


def _error(resp: httpx.Response, status: int, code: str | None, param: str | None) -> Any:
    assert resp.status_code == status, resp.text
    assert resp.headers["request-id"].startswith("req_")
    assert resp.headers["access-control-allow-origin"] == "*"
    err = resp.json()["error"]
    assert (err["type"], err.get("code"), err.get("param")) == (
        "invalid_request_error",
        code,
        param,
    ), err
    return err


def _session(api: httpx.Client, **extra: Any) -> Any:
    cus = api.post("/v1/customers", data={"name": "Jenny Rosen"}).json()
    data = {
        "account_holder[type]": "customer",
        "account_holder[customer]": cus["id"],
        "permissions[]": USE_CASES["payments"]["permissions"],
        "filters[account_subcategories][]": ["checking", "savings"],
        **extra,
    }
    return api.post("/v1/financial_connections/sessions", data=data).json()


def test_v3_serves_stripe_js_that_knows_its_own_origin(fake: ServerThread) -> None:
    resp = httpx.get(fake.url + "/v3/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/javascript")
    assert f'var ORIGIN = "{fake.url}";' in resp.text
    assert "window.Stripe = Stripe" in resp.text


def test_flow_endpoints_answer_cors_preflights(fake: ServerThread) -> None:
    resp = httpx.options(
        fake.url + f"{FLOW}/session",
        headers={
            "Origin": "http://merchant.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert resp.status_code == 204
    assert resp.headers["access-control-allow-origin"] == "*"
    assert "authorization" in resp.headers["access-control-allow-headers"].lower()


def test_flow_endpoints_refuse_secret_keys(api: httpx.Client) -> None:
    secret = _session(api)["client_secret"]
    resp = api.post(f"{FLOW}/session", data={"client_secret": secret})
    assert resp.status_code == 401
    assert resp.json()["error"]["type"] == "invalid_request_error"


def test_missing_client_secret_is_a_missing_param(js: httpx.Client) -> None:
    _error(js.post(f"{FLOW}/session"), 400, "parameter_missing", "client_secret")


def test_selecting_accounts_before_signing_in_is_rejected(
    api: httpx.Client, js: httpx.Client
) -> None:
    secret = _session(api)["client_secret"]
    _error(js.post(f"{FLOW}/complete", data={"client_secret": secret}), 400, None, "accounts")


def test_selection_outside_the_offer_limit_or_filters_is_rejected_and_the_session_stays_open(
    api: httpx.Client, js: httpx.Client
) -> None:
    session = _session(api, **{"limits[accounts]": "1"})
    secret = session["client_secret"]
    login = js.post(
        f"{FLOW}/authenticate",
        data={"client_secret": secret, "institution": "fcinst_StripeBank", "username": "jenny"},
    )
    assert login.status_code == 200
    offers = {a["subcategory"]: a["key"] for a in login.json()["accounts"]}
    assert set(offers) == {"checking", "savings", "credit_card"}

    def pick(*keys: str) -> httpx.Response:
        return js.post(f"{FLOW}/complete", data={"client_secret": secret, "accounts[]": keys})

    _error(pick("new_9"), 400, None, "accounts[0]")
    err = _error(pick(offers["checking"], offers["savings"]), 400, None, "accounts")
    assert "limits[accounts]" in err["message"]
    err = _error(pick(offers["credit_card"]), 400, None, "accounts")
    assert "filters[account_subcategories]" in err["message"]
    got = api.get(f"/v1/financial_connections/sessions/{session['id']}").json()
    assert got["accounts"]["data"] == []
    assert pick(offers["savings"]).json()["accounts"][0]["subcategory"] == "savings"


def test_unknown_institution_is_resource_missing(api: httpx.Client, js: httpx.Client) -> None:
    secret = _session(api)["client_secret"]
    resp = js.post(
        f"{FLOW}/authenticate",
        data={"client_secret": secret, "institution": "fcinst_Nope", "username": "jenny"},
    )
    _error(resp, 400, "resource_missing", "institution")


def test_a_finished_session_cannot_be_opened_again(api: httpx.Client, js: httpx.Client) -> None:
    secret = _session(api)["client_secret"]
    cancelled = js.post(f"{FLOW}/cancel", data={"client_secret": secret})
    assert cancelled.status_code == 200
    assert cancelled.json()["accounts"] == []
    err = _error(
        js.post(f"{FLOW}/session", data={"client_secret": secret}), 400, None, "client_secret"
    )
    assert "already cancelled" in err["message"]
