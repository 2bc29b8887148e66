"""The caps of docs/limits.md: arrays, fault rules, idempotency records, the tenant clock.

Each cap bounds what one request costs or what one tenant may keep; past it, the request is a
400 naming the parameter and nothing is stored.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from fake_stripe.app import routes_table
from fake_stripe.core.clock import MAX_CLOCK_OFFSET
from fake_stripe.core.idempotency import PURGE_BATCH
from fake_stripe.core.params import DEFAULT_MAX_ITEMS, Arr, Either, Hash, Param
from fake_stripe.core.tenant import tenant_of
from fake_stripe.financial_connections import sessions
from fake_stripe.spec.params import to_param
from fake_stripe.stripejs.routes import endpoints as stripejs_endpoints

from .helpers import ACH_PAYMENT, VERIFY_AMOUNTS, assert_error


def new_session(api: httpx.Client, *permissions: str) -> dict[str, Any]:
    """A pending session of a new customer, collecting `permissions`."""
    cus = api.post("/v1/customers").json()["id"]
    session: dict[str, Any] = api.post(
        "/v1/financial_connections/sessions",
        data={
            "account_holder[type]": "customer",
            "account_holder[customer]": cus,
            **{f"permissions[{i}]": p for i, p in enumerate(permissions)},
        },
    ).json()
    return session


def link(api: httpx.Client, *permissions: str) -> dict[str, Any]:
    """A linked account with `permissions` (its session completed)."""
    session = new_session(api, *permissions)
    done = api.post(
        f"/v1/test_helpers/financial_connections/sessions/{session['id']}/complete",
        data={"outcome": "link"},
    )
    assert done.status_code == 200, done.text
    account: dict[str, Any] = done.json()["accounts"]["data"][0]
    return account


# ---- arrays ------------------------------------------------------------------------------------


def _arrays(param: Param, name: str) -> list[tuple[str, Arr]]:
    if isinstance(param, Either):
        return [found for option in param.options for found in _arrays(option, name)]
    if isinstance(param, Hash):
        return [f for k, sub in param.fields.items() for f in _arrays(sub, f"{name}[{k}]")]
    if isinstance(param, Arr):
        return [(name, param), *_arrays(param.item, f"{name}[]")]
    return []


def test_every_declared_array_is_capped_at_most_at_the_default() -> None:
    found = []
    for ep in [*routes_table(), *stripejs_endpoints()]:
        fields = dict(ep.params.fields)
        if ep.params.open:
            fields = {**sessions.GA.fields, **sessions.PREVIEW.fields}
        for key, param in fields.items():
            found += [(f"{ep.path} {n}", a.max_items) for n, a in _arrays(param, key)]
    assert len(found) > 30
    # A webhook endpoint may name every event type Stripe has (about 250) once.
    wider = {
        "/v1/webhook_endpoints enabled_events",
        "/v1/webhook_endpoints/{webhook_endpoint} enabled_events",
    }
    assert all(0 < cap <= DEFAULT_MAX_ITEMS for name, cap in found if name not in wider), found
    assert all(cap == 500 for name, cap in found if name in wider), found


def test_a_webhook_endpoint_may_name_250_event_types_but_not_501(api: httpx.Client) -> None:
    types = [f"fake.event_{i}.created" for i in range(501)]
    ok = api.post(
        "/v1/webhook_endpoints",
        data={"url": "http://127.0.0.1:9/hook", "enabled_events[]": types[:250] + types[:3]},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["enabled_events"] == types[:250]  # a type named twice counts once
    resp = api.post(
        "/v1/webhook_endpoints",
        data={"url": "http://127.0.0.1:9/hook", "enabled_events[]": types},
    )
    err = assert_error(resp, 400, param="enabled_events")
    assert err["message"] == "Array enabled_events exceeded maximum 500 allowed elements."


def test_an_array_from_the_spec_without_max_items_gets_the_default_cap() -> None:
    param = to_param({"type": "array", "items": {"type": "string"}})
    assert isinstance(param, Arr) and param.max_items == DEFAULT_MAX_ITEMS
    capped = to_param({"type": "array", "items": {"type": "string"}, "maxItems": 20})
    assert isinstance(capped, Arr) and capped.max_items == 20


@pytest.mark.parametrize("form", ["features[]", "features[{i}]"])
def test_an_array_over_its_cap_is_a_400_naming_it(api: httpx.Client, form: str) -> None:
    account = link(api, "payment_method", "transactions")
    body = (
        "&".join(f"{form.format(i=i)}=transactions" for i in range(101))
        .replace("[", "%5B")
        .replace("]", "%5D")
    )
    resp = api.post(
        f"/v1/financial_connections/accounts/{account['id']}/refresh",
        content=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    err = assert_error(resp, 400, param="features")
    assert err["message"] == "Array features exceeded maximum 100 allowed elements."
    after = api.get(f"/v1/financial_connections/accounts/{account['id']}").json()
    assert after["transaction_refresh"] == account["transaction_refresh"]


def test_a_feature_named_many_times_is_refreshed_once(api: httpx.Client) -> None:
    account = link(api, "payment_method", "transactions")
    resp = api.post(
        f"/v1/financial_connections/accounts/{account['id']}/refresh",
        data={"features[]": ["transactions"] * 100},
    )
    assert resp.status_code == 200, resp.text
    refresh = resp.json()["transaction_refresh"]["id"]
    txns = api.get(
        "/v1/financial_connections/transactions",
        params={"account": account["id"], "limit": 100},
    ).json()["data"]
    # one refresh collects 3 to 8 transactions (financial_connections.domain.make_transactions)
    assert 3 <= len([t for t in txns if t["transaction_refresh"] == refresh]) <= 8
    events = api.get(
        "/v1/events", params={"type": "financial_connections.account.refreshed_transactions"}
    ).json()["data"]
    assert len(events) == 1


def test_complete_with_more_accounts_than_the_cap_is_a_400_and_creates_none(
    api: httpx.Client,
) -> None:
    session = new_session(api, "payment_method")
    accounts = {f"accounts[{i}][subcategory]": "checking" for i in range(101)}
    resp = api.post(
        f"/v1/test_helpers/financial_connections/sessions/{session['id']}/complete",
        data={"outcome": "link", **accounts},
    )
    assert_error(resp, 400, param="accounts")
    listed = api.get("/v1/financial_connections/accounts", params={"session": session["id"]}).json()
    assert listed["data"] == []


# ---- fault rules -------------------------------------------------------------------------------


def test_a_tenant_may_arm_at_most_200_fault_rules(api: httpx.Client) -> None:
    rule = {"path": "/v1/never/*", "status": "500"}
    for _ in range(200):
        assert api.post("/v1/test_helpers/faults", data=rule).status_code == 200
    resp = api.post("/v1/test_helpers/faults", data=rule)
    assert_error(resp, 400, param="path")
    assert len(api.get("/_fake/faults").json()["data"]) == 200
    assert api.get("/v1/customers").status_code == 200  # none of them matches
    api.delete("/_fake/faults")
    assert api.post("/v1/test_helpers/faults", data=rule).status_code == 200
    api.delete("/_fake/faults")


def test_a_fault_glob_over_500_characters_is_refused(api: httpx.Client) -> None:
    resp = api.post("/v1/test_helpers/faults", data={"path": "/v1/" + "*a" * 250, "status": "500"})
    assert_error(resp, 400, param="path")
    assert api.get("/_fake/faults").json()["data"] == []


# ---- idempotency records -----------------------------------------------------------------------

DAY = 24 * 3600


def _records(app: Any, key: str, names: list[str]) -> list[str]:
    """Which of the idempotency keys `names` the tenant of `key` still has a record of."""
    tenant = tenant_of(key)
    backend = app.fake.backend
    return [n for n in names if backend.meta_get(tenant, f"idem:{n}") is not None]


def test_idempotency_records_are_purged_a_few_per_request_once_a_day_old(
    api: httpx.Client, app: Any, key: str
) -> None:
    old = [f"old-{i}" for i in range(10)]
    for i, name in enumerate(old):
        if i % 2:  # a failed request's record too
            resp = api.post("/v1/customers/cus_missing", headers={"Idempotency-Key": name})
            assert resp.status_code == 404
        else:
            api.post("/v1/customers", headers={"Idempotency-Key": name})
    assert _records(app, key, old) == old
    api.post("/v1/test_helpers/clock/advance", data={"seconds": str(DAY - 60)})
    api.post("/v1/customers", headers={"Idempotency-Key": "young-0"})
    assert _records(app, key, old) == old  # not a day old yet
    api.post("/v1/test_helpers/clock/advance", data={"seconds": "120"})
    api.post("/v1/customers", headers={"Idempotency-Key": "young-1"})
    assert len(_records(app, key, old)) == len(old) - PURGE_BATCH  # a bounded number at once
    for i in range(2, 5):
        api.post("/v1/customers", headers={"Idempotency-Key": f"young-{i}"})
    assert _records(app, key, old) == []
    young = [f"young-{i}" for i in range(5)]
    assert _records(app, key, young) == young
    replay = api.post("/v1/customers", headers={"Idempotency-Key": "young-4"})
    assert replay.headers["idempotent-replayed"] == "true"
    again = api.post("/v1/customers", headers={"Idempotency-Key": "old-0"})
    assert "idempotent-replayed" not in again.headers  # forgotten: the request runs again


# ---- the tenant clock --------------------------------------------------------------------------


def test_the_clock_stops_100_years_ahead_and_payments_still_work_there(
    api: httpx.Client,
) -> None:
    ten_years = str(10 * 365 * 86_400)
    started = time.time()
    start = api.get("/v1/test_helpers/clock").json()["now"]
    refused = None
    for _ in range(1000):  # the finding: 798 steps of 10 years passed year 9999
        resp = api.post("/v1/test_helpers/clock/advance", data={"seconds": ten_years})
        if resp.status_code != 200:
            refused = resp
            break
    assert refused is not None
    assert_error(refused, 400, param="seconds")
    now = api.get("/v1/test_helpers/clock").json()["now"]
    # The tenant's time runs on with the wall clock's: a second may have passed meanwhile.
    assert 0 <= now - start - MAX_CLOCK_OFFSET <= time.time() - started + 1
    pi = api.post("/v1/payment_intents", data=ACH_PAYMENT)
    assert pi.status_code == 200, pi.text
    assert pi.json()["next_action"]["type"] == "verify_with_microdeposits"
    path = f"/v1/payment_intents/{pi.json()['id']}/verify_microdeposits"
    pi = api.post(path, data=VERIFY_AMOUNTS)
    assert pi.status_code == 200, pi.text
    assert pi.json()["status"] == "processing"
    settled = api.post(f"/v1/test_helpers/payment_intents/{pi.json()['id']}/settle")
    assert settled.status_code == 200, settled.text
    assert settled.json()["status"] == "succeeded"
