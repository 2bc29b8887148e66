"""`/_fake/dashboard`: the page and its assets, the tenants list, a tenant's snapshot, the fault
rules' list and clear, `fake-stripe dashboard`, and `scenarios run --serve --keep`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fake_stripe import create_app
from fake_stripe.core.keys import mask_key
from fake_stripe.core.versions import PREVIEW_VERSION
from fake_stripe.inprocess import client as inprocess_client
from tests.helpers import assert_error
from tests.test_payment_intents import charge, customer, linked_pm

TH = "/v1/test_helpers/financial_connections"
PREVIEW = {"Stripe-Version": PREVIEW_VERSION}


def linked_account(api: httpx.Client, display_name: str = "Everyday Checking") -> dict[str, Any]:
    """A customer with one account linked through a completed session."""
    customer = api.post("/v1/customers", data={"name": "Jenny Rosen"}).json()
    session = api.post(
        "/v1/financial_connections/sessions",
        data={
            "account_holder[type]": "customer",
            "account_holder[customer]": customer["id"],
            "permissions[0]": "payment_method",
        },
    ).json()
    done = api.post(
        f"{TH}/sessions/{session['id']}/complete",
        data={"outcome": "link", "accounts[0][display_name]": display_name},
        headers=PREVIEW,
    )
    assert done.status_code == 200, done.text
    return dict(done.json()["accounts"]["data"][0])


# ---- the page ----------------------------------------------------------------------------------


def test_dashboard_page_and_assets_are_served_from_the_fake_itself(
    base_client: httpx.Client,
) -> None:
    page = base_client.get("/_fake/dashboard")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["request-id"].startswith("req_")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    # Nothing is fetched from elsewhere: every src/href is on this origin (or a fragment).
    refs = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert refs and all(r.startswith(("/_fake/dashboard/", "#", "data:")) for r in refs), refs
    for name, media in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
        asset = base_client.get(f"/_fake/dashboard/{name}")
        assert asset.status_code == 200
        assert asset.headers["content-type"].startswith(media)
        assert "http://" not in asset.text and "https://" not in asset.text
    # The script never parses data as markup.
    js = base_client.get("/_fake/dashboard/dashboard.js").text
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "eval(" not in js


def test_dashboard_and_tenants_list_need_the_control_token_when_the_server_has_one() -> None:
    app = create_app(seed=1, control_token="s3cret")
    try:
        with inprocess_client(app) as c:
            for path in ("/_fake/dashboard", "/_fake/dashboard/dashboard.js", "/_fake/tenants"):
                assert_error(c.get(path), 401)
                ok = c.get(path, headers={"Authorization": "Bearer s3cret"})
                assert ok.status_code == 200, path
    finally:
        app.fake.close()


# ---- /_fake/tenants ----------------------------------------------------------------------------


def test_tenants_lists_each_tenant_seen_newest_first_by_an_opaque_id_and_a_fingerprint(
    base_client: httpx.Client, key: str
) -> None:
    other = key + "b"
    for k in (key, other):
        base_client.post("/v1/customers", headers={"Authorization": f"Bearer {k}"})
    resp = base_client.get("/_fake/tenants")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["object"] == "list"
    name, other_name = key.split("_", 2)[2], other.split("_", 2)[2]
    # Nothing in the list is the key, a part of it, or its masked form.
    assert name not in resp.text and other_name not in resp.text
    assert mask_key(key) not in resp.text
    refs = {t["id"]: t for t in body["data"]}
    mine = [
        t
        for k in (key, other)
        for t in body["data"]
        if t["id"]
        == base_client.get(
            "/_fake/dashboard/tenant", headers={"Authorization": f"Bearer {k}"}
        ).json()["tenant"]["id"]
    ]
    assert len(mine) == 2 and mine[0] != mine[1]
    ids = [t["id"] for t in body["data"]]
    assert ids.index(mine[1]["id"]) < ids.index(mine[0]["id"])  # newest first
    for t in mine:
        assert re.fullmatch(r"tn_[0-9a-f]{16}", t["id"])
        assert re.fullmatch(r"#[0-9a-f]{8}", t["label"])
    # The same tenant keeps its id from one listing to the next.
    again = {t["id"] for t in base_client.get("/_fake/tenants").json()["data"]}
    assert set(refs) <= again


def test_tenants_that_mask_alike_get_distinct_labels(base_client: httpx.Client) -> None:
    """`sk_test_demo` and `sk_test_123` mask to stars alone; their labels still differ."""
    keys = ["sk_test_demo", "sk_test_123"]
    labels = [
        base_client.get("/_fake/dashboard/tenant", headers={"Authorization": f"Bearer {k}"}).json()[
            "tenant"
        ]["label"]
        for k in keys
    ]
    assert labels[0] != labels[1]
    assert "demo" not in labels[0] and "123" not in labels[1]


def test_tenants_rejects_unknown_params(base_client: httpx.Client) -> None:
    assert_error(base_client.get("/_fake/tenants?x=1"), 400, code="parameter_unknown", param="x")


# ---- /_fake/dashboard/tenant -------------------------------------------------------------------


def test_snapshot_shows_the_tenants_world_in_stripes_preview_shapes(
    api: httpx.Client, key: str
) -> None:
    account = linked_account(api)
    api.post(f"{TH}/accounts/{account['id']}/deactivate", data={"reason": "token_expired"})
    # The tenant clock runs with the wall clock: the snapshot's `now` is read between two
    # readings of it (equal to both unless a second passes meanwhile).
    before = api.get("/v1/test_helpers/clock").json()["now"]
    resp = api.get("/_fake/dashboard/tenant")
    after = api.get("/v1/test_helpers/clock").json()["now"]
    assert resp.status_code == 200, resp.text
    snap = resp.json()
    assert snap["object"] == "dashboard.tenant"
    assert snap["tenant"]["label"].startswith("#")
    assert before <= snap["now"] <= after
    (customer,) = snap["customers"]
    assert customer["name"] == "Jenny Rosen"
    (shown,) = snap["accounts"]
    assert shown["status"] == "inactive"
    assert shown["status_details"]["inactive"] == {
        "action": "relink_required",
        "cause": "access_expired",
    }
    assert (
        shown
        == api.get(f"/v1/financial_connections/accounts/{account['id']}", headers=PREVIEW).json()
    )
    (auth,) = snap["authorizations"]
    assert auth["id"] == account["authorization"]
    assert auth["accounts"] == [account["id"]]
    assert auth["status"] == "inactive"
    (session,) = snap["sessions"]
    assert session["status"] == "succeeded"
    types = [e["type"] for e in snap["events"]]
    assert types[0] == "financial_connections.account.deactivated"
    assert types[-1] == "customer.created"
    assert snap["faults"]["data"] == []
    assert snap["payment_methods"] == [] and snap["webhook_endpoints"] == []
    assert snap["payment_intents"] == [] and snap["charges"] == []


def test_snapshot_shows_user_input_as_given(api: httpx.Client) -> None:
    """The page escapes; the JSON carries display names exactly as the user gave them."""
    name = '<img src=x onerror=alert(1)> & "quotes"'
    linked_account(api, display_name=name)
    (shown,) = api.get("/_fake/dashboard/tenant").json()["accounts"]
    assert shown["display_name"] == name


def test_snapshot_shows_payment_intents_with_their_latest_charges(api: httpx.Client) -> None:
    cus = customer(api)
    _, pm = linked_pm(api, cus)
    settled = charge(api, cus, pm, amount=2500).json()
    processing = charge(api, cus, pm).json()
    assert settled["status"] == processing["status"] == "processing"
    failed = api.post(
        f"/v1/test_helpers/payment_intents/{settled['id']}/settle",
        data={"outcome": "insufficient_funds"},
    )
    assert failed.status_code == 200, failed.text
    snap = api.get("/_fake/dashboard/tenant").json()
    # Newest first, each as /v1 renders it.
    assert [pi["id"] for pi in snap["payment_intents"]] == [processing["id"], settled["id"]]
    assert snap["payment_intents"] == [
        api.get(f"/v1/payment_intents/{pi['id']}", headers=PREVIEW).json()
        for pi in (processing, settled)
    ]
    assert snap["payment_intents"][1]["status"] == "requires_payment_method"
    assert snap["payment_intents"][1]["last_payment_error"]["code"] == "insufficient_funds"
    assert [c["id"] for c in snap["charges"]] == [
        processing["latest_charge"],
        settled["latest_charge"],
    ]
    assert [c["status"] for c in snap["charges"]] == ["pending", "failed"]
    assert snap["charges"][1]["failure_code"] == "insufficient_funds"
    last4 = api.get(f"/v1/payment_methods/{pm}").json()["us_bank_account"]["last4"]
    assert {c["payment_method_details"]["us_bank_account"]["last4"] for c in snap["charges"]} == {
        last4
    }


def test_snapshot_needs_the_tenants_key_and_takes_no_params(base_client: httpx.Client) -> None:
    assert_error(base_client.get("/_fake/dashboard/tenant"), 401)
    pk = {"Authorization": "Bearer pk_test_abc"}
    assert_error(
        base_client.get("/_fake/dashboard/tenant", headers=pk),
        401,
        code="secret_key_required",
    )
    sk = {"Authorization": "Bearer sk_test_abc"}
    assert_error(
        base_client.get("/_fake/dashboard/tenant?limit=3", headers=sk),
        400,
        code="parameter_unknown",
        param="limit",
    )


def test_watching_a_tenant_consumes_none_of_its_fault_rules(api: httpx.Client) -> None:
    armed = api.post("/v1/test_helpers/faults", data={"path": "*", "status": "500"})
    assert armed.status_code == 200, armed.text
    for _ in range(3):
        snap = api.get("/_fake/dashboard/tenant")
        assert snap.status_code == 200
    assert snap.json()["faults"]["data"] == [armed.json()]
    assert api.get("/_fake/faults").json()["data"] == [armed.json()]
    assert_error(api.get("/v1/customers"), 500, type_="api_error")
    assert api.get("/_fake/faults").json()["data"] == []


# ---- /_fake/faults -----------------------------------------------------------------------------


def test_faults_are_listed_and_cleared_for_the_tenant_only(api: httpx.Client, key: str) -> None:
    other = {"Authorization": f"Bearer {key}other"}
    # (in this order: a rule on `*` would fail the next POST to the helper itself)
    api.post("/v1/test_helpers/faults", data={"path": "/v1/customers", "delay_ms": "10"})
    api.post("/v1/test_helpers/faults", data={"path": "*", "status": "503", "count": "5"})
    api.post("/v1/test_helpers/faults", data={"path": "*", "status": "500"}, headers=other)
    listed = api.get("/_fake/faults").json()
    assert listed["object"] == "list" and listed["url"] == "/_fake/faults"
    assert [(r["path"], r["status"], r["count"]) for r in listed["data"]] == [
        ("/v1/customers", None, 1),
        ("*", 503, 5),
    ]
    # The faults on `*` do not stand in the way of clearing them.
    cleared = api.delete("/_fake/faults")
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["data"] == listed["data"]
    assert api.get("/_fake/faults").json()["data"] == []
    assert api.get("/v1/customers").status_code == 200
    assert len(api.get("/_fake/faults", headers=other).json()["data"]) == 1


def test_faults_need_the_tenants_key(base_client: httpx.Client) -> None:
    assert_error(base_client.get("/_fake/faults"), 401)
    assert_error(base_client.delete("/_fake/faults"), 401)


# ---- `fake-stripe dashboard` -------------------------------------------------------------------


def fake_stripe_bin() -> str:
    return str(Path(sys.executable).parent / "fake-stripe")


def test_dashboard_command_prints_the_url_of_a_running_fake(server: Any) -> None:
    out = subprocess.run(
        [
            fake_stripe_bin(),
            "dashboard",
            "--base-url",
            server.url,
            "--api-key",
            "sk_test_demo",
            "--no-open",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    url = out.stdout.strip()
    assert url == f"{server.url}/_fake/dashboard?tenant=demo"
    assert httpx.get(url).status_code == 200


# ---- `fake-stripe scenarios run --serve --keep` ------------------------------------------------

FAILING = """
description = "A relink whose expectation is wrong on purpose: the session does succeed"
tags = ["dashboard"]

[given]
accounts = { checking = "checking" }

[[happens]]
deactivate = "checking"
reason = "token_expired"

[flow]
account = "checking"
user = "relink_same"

[expect]
session = { status = "failed" }
"""


@pytest.fixture
def kept(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    (tmp_path / "wrong-on-purpose.toml").write_text(FAILING)
    proc = subprocess.Popen(
        [fake_stripe_bin(), "scenarios", "run", str(tmp_path), "--serve", "--keep", "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=10)  # and close the pipe


def test_scenarios_keep_serves_the_failed_tenants_dashboard_until_sigterm(
    kept: subprocess.Popen[str],
) -> None:
    assert kept.stdout is not None
    lines: list[str] = []
    while not any(ln.startswith("Serving ") for ln in lines):
        line = kept.stdout.readline()
        assert line, "the runner ended before serving: " + "".join(lines)
        lines.append(line)
    found = [ln.split("dashboard: ", 1)[1].strip() for ln in lines if "  dashboard: " in ln]
    assert len(found) == 1, lines
    url = found[0]
    assert re.fullmatch(
        r"http://127\.0\.0\.1:\d+/_fake/dashboard\?tenant=scn_wrong_on_purpose_\w+", url
    )
    page = httpx.get(url)
    assert page.status_code == 200 and "fake-stripe dashboard" in page.text
    base, tenant = url.split("/_fake/dashboard?tenant=")
    snap = httpx.get(
        f"{base}/_fake/dashboard/tenant", headers={"Authorization": f"Bearer sk_test_{tenant}"}
    ).json()
    # What the failed scenario left behind: its relinked account and the succeeded session.
    assert [a["status"] for a in snap["accounts"]] == ["active"]
    assert "succeeded" in [s["status"] for s in snap["sessions"]]
    kept.send_signal(signal.SIGTERM)
    assert kept.wait(timeout=20) == 1  # the run's own status: a scenario failed


def test_scenarios_keep_needs_serve() -> None:
    out = subprocess.run(
        [fake_stripe_bin(), "scenarios", "run", "--keep", "-k", "zero-accounts"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "--keep needs --serve" in out.stderr
