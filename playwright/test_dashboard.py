"""The dashboard at `/_fake/dashboard`, driven in Chromium as a developer would use it.

The relink story: pick the tenant, see its linked account, deactivate it for `token_expired`,
watch the event and its webhook delivery (to a receiver of the test's own) appear, complete a
relink session with `relink_same`, and see the account active again. The payments story: see
processing ACH debits and settle them, one failing for `insufficient_funds`, one succeeding. A
screenshot of each step goes to `test-artifacts/playwright/`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from conftest import ARTIFACTS
from playwright.sync_api import Page, expect

from fake_stripe.core.versions import DEFAULT_API_VERSION
from fake_stripe.http_server import ServerThread

TH = "/v1/test_helpers/financial_connections"


class Receiver:
    """A loopback webhook receiver that answers 200 and keeps what it got."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        got = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                got.append(
                    {"event": json.loads(body), "signature": self.headers["Stripe-Signature"]}
                )
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhooks"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def board(page: Page, stripe_js_hits: dict[str, int], final_screenshot: None) -> Page:
    """A laptop-sized page on which nothing may leave loopback (see `stripe_js_hits`)."""
    page.set_viewport_size({"width": 1280, "height": 800})
    return page


def link(sdk: Any, display_name: str | None = None) -> Any:
    """A customer with one account linked earlier, headlessly."""
    customer = sdk.v1.customers.create(params={"name": "Jenny Rosen", "email": "jenny@example.com"})
    session = sdk.v1.financial_connections.sessions.create(
        params={
            "account_holder": {"type": "customer", "customer": customer.id},
            "permissions": ["payment_method", "balances"],
        }
    )
    params: dict[str, Any] = {"outcome": "link"}
    if display_name is not None:
        params["accounts"] = [{"subcategory": "checking", "display_name": display_name}]
    sdk.raw_request("post", f"{TH}/sessions/{session.id}/complete", **params)
    return sdk.v1.financial_connections.sessions.retrieve(session.id).accounts.data[0]


def linked_and_watched(sdk: Any, receiver: Receiver) -> tuple[Any, Any]:
    """A linked account, and a webhook endpoint at `receiver` for every event."""
    account = link(sdk)
    endpoint = sdk.v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["*"]}
    )
    return account, endpoint


def debits(sdk: Any, amounts: list[int]) -> tuple[Any, list[Any]]:
    """A linked account, a PaymentMethod from it with a multi-use mandate (a confirmed
    SetupIntent), and one confirmed ACH PaymentIntent per amount: all `processing`."""
    account = link(sdk)
    customer = sdk.v1.financial_connections.accounts.retrieve(account.id).account_holder.customer
    pm = sdk.v1.payment_methods.create(
        params={
            "type": "us_bank_account",
            "us_bank_account": {"financial_connections_account": account.id},
            "billing_details": {"name": "Jenny Rosen"},
        }
    )
    sdk.v1.setup_intents.create(
        params={
            "customer": customer,
            "payment_method": pm.id,
            "payment_method_types": ["us_bank_account"],
            "confirm": True,
            "mandate_data": {
                "customer_acceptance": {
                    "type": "online",
                    "online": {"ip_address": "127.0.0.1", "user_agent": "playwright"},
                }
            },
        }
    )
    intents = [
        sdk.v1.payment_intents.create(
            params={
                "amount": amount,
                "currency": "usd",
                "customer": customer,
                "payment_method": pm.id,
                "payment_method_types": ["us_bank_account"],
                "confirm": True,
                "off_session": True,
            }
        )
        for amount in amounts
    ]
    assert [pi.status for pi in intents] == ["processing"] * len(amounts)
    return account, intents


def tenant_label(fake: ServerThread, key: str) -> str:
    """The fingerprint the dashboard names `key`'s tenant by."""
    snapshot = httpx.get(
        f"{fake.url}/_fake/dashboard/tenant", headers={"Authorization": f"Bearer {key}"}
    )
    return str(snapshot.json()["tenant"]["label"])


def snap(page: Page, request: pytest.FixtureRequest, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}--{step}.png"), animations="disabled")


def test_relink_story_on_the_dashboard(
    board: Page,
    fake: ServerThread,
    sdk: Any,
    key: str,
    receiver: Receiver,
    request: pytest.FixtureRequest,
) -> None:
    page = board
    account, endpoint = linked_and_watched(sdk, receiver)

    # Pick the tenant: the list names it by a fingerprint, never by its key, so opening it
    # takes the key; the page then remembers it for this tab.
    label = tenant_label(fake, key)
    page.goto(f"{fake.url}/_fake/dashboard")
    expect(page.get_by_role("heading", name="fake-stripe dashboard")).to_be_visible()
    picker = page.get_by_role("combobox", name="Tenant", exact=True)
    picker.select_option(label=f"Tenant {label} (needs its key)")
    expect(page.get_by_role("status").filter(has_text=f"Open Tenant {label}")).to_contain_text(
        "Enter its key"
    )
    expect(page.get_by_label("Open by key")).to_be_focused()
    snap(page, request, "0-picked-needs-its-key")
    page.get_by_label("Open by key").fill(key)
    page.get_by_label("Open by key").press("Enter")
    expect(page.get_by_role("heading", name=f"Tenant {label}")).to_be_visible()
    expect(picker.locator("option:checked")).to_have_text(f"Tenant {label}")
    # Every tenant has a Payments panel, empty until a PaymentIntent is made.
    expect(page.get_by_role("heading", name="Payments")).to_be_visible()
    assert key not in page.content() and key.split("_", 2)[2] not in page.content()

    # See the linked account under its customer and authorization.
    card = page.locator(f"#{account.id}")
    expect(card.get_by_role("heading", level=5)).to_contain_text(
        f"{account.display_name} ••••{account.last4}"
    )
    expect(card.get_by_role("heading", level=5)).to_contain_text("active")
    auth = page.get_by_role("region", name=re.compile(account.authorization))
    expect(auth).to_contain_text("StripeBank authorization")
    snap(page, request, "1-linked-account")

    # Deactivate it for token_expired.
    card.get_by_label("Reason").select_option("token_expired")
    card.get_by_role("button", name="Deactivate", exact=True).click()
    expect(
        page.get_by_role("status").filter(has_text=f"Deactivate {account.id} (token_expired): done")
    ).to_be_visible()
    expect(card.get_by_role("heading", level=5)).to_contain_text("inactive")
    expect(card).to_contain_text("inactive: access_expired, action relink_required")
    expect(auth.get_by_role("heading", level=4)).to_contain_text("inactive")
    snap(page, request, "2-deactivated")

    # Watch the event and its webhook delivery appear.
    events = page.get_by_role("region", name="Events")
    deactivated = events.get_by_role("listitem").filter(
        has_text="financial_connections.account.deactivated"
    )
    expect(deactivated).to_have_count(1)
    expect(deactivated).to_contain_text(account.id)
    # Labelled with the account's default version (the server's), not the request's.
    expect(deactivated).to_contain_text(DEFAULT_API_VERSION)
    deliveries = page.get_by_role("region", name="Webhook deliveries")
    delivery = deliveries.get_by_role("listitem").filter(
        has_text="financial_connections.account.deactivated"
    )
    expect(delivery).to_have_count(1)
    expect(delivery).to_contain_text("succeeded")
    expect(delivery).to_contain_text("HTTP 200")
    expect(delivery).to_contain_text(receiver.url)
    sent = next(
        r
        for r in receiver.received
        if r["event"]["type"] == "financial_connections.account.deactivated"
    )
    expect(delivery.locator("code.signature")).to_have_text(sent["signature"])
    delivery.get_by_text("Payload", exact=True).click()
    expect(delivery.locator("pre")).to_contain_text(
        '"type": "financial_connections.account.deactivated"'
    )
    expect(delivery.locator("pre")).to_contain_text(f'"id": "{sent["event"]["id"]}"')
    assert endpoint.id in page.get_by_role("region", name="Webhook deliveries").inner_text()
    page.evaluate("window.scrollTo(0, 0)")
    snap(page, request, "3-event-and-delivery")

    # Redeliver it: the receiver gets the same event again, and the journal says so.
    delivery.get_by_role("button", name="Redeliver").click()
    expect(page.get_by_role("status").filter(has_text="Redeliver")).to_contain_text(receiver.url)
    again = deliveries.get_by_role("listitem").filter(has_text="(redelivery)")
    expect(again).to_have_count(1)
    expect(again).to_contain_text("financial_connections.account.deactivated")
    expect(again).to_contain_text("HTTP 200")
    assert [r["event"]["id"] for r in receiver.received].count(sent["event"]["id"]) == 2
    again.scroll_into_view_if_needed()
    snap(page, request, "3b-redelivered")

    # Complete a relink session with relink_same: start one, then complete it from Sessions.
    auth.get_by_role("button", name="Start relink session").click()
    sessions = page.get_by_role("region", name="Sessions")
    pending = sessions.get_by_role("listitem").filter(has_text="pending")
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text(f"relink of {account.authorization}")
    pending.get_by_label("Outcome").select_option("relink_same")
    snap(page, request, "4-relink-session-pending")
    pending.get_by_role("button", name="Complete session").click()
    done = page.get_by_role("status").filter(has_text="(relink_same): done")
    expect(done).to_contain_text("succeeded")

    # The account is active again, and the reactivation reached the receiver too.
    expect(card.get_by_role("heading", level=5)).to_contain_text("active")
    expect(card.get_by_role("heading", level=5)).not_to_contain_text("inactive")
    expect(auth.get_by_role("heading", level=4)).not_to_contain_text("inactive")
    expect(
        events.get_by_role("listitem").filter(has_text="financial_connections.account.reactivated")
    ).to_have_count(1)
    expect(
        deliveries.get_by_role("listitem").filter(
            has_text="financial_connections.account.reactivated"
        )
    ).to_contain_text("succeeded")
    assert sdk.v1.financial_connections.accounts.retrieve(account.id).status == "active"
    snap(page, request, "5-active-again")


def test_a_display_name_with_markup_is_shown_as_text(
    board: Page, fake: ServerThread, sdk: Any, key: str, request: pytest.FixtureRequest
) -> None:
    page = board
    name = "<img src=x onerror=alert(1)>"
    account = link(sdk, display_name=name)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{fake.url}/_fake/dashboard?tenant={key.split('_', 2)[2]}")
    card = page.locator(f"#{account.id}")
    expect(card.get_by_role("heading", level=5)).to_contain_text(name)
    # The event's payload shows the name too, as JSON text.
    created = (
        page.get_by_role("region", name="Events")
        .get_by_role("listitem")
        .filter(has_text="financial_connections.account.created")
    )
    created.locator("summary").click()
    expect(created.locator("pre")).to_contain_text(json.dumps(name))
    expect(page.locator("#board img")).to_have_count(0)
    page.wait_for_timeout(1500)  # a poll or two more: still nothing runs
    assert dialogs == []
    snap(page, request, "markup-as-text")


def test_a_stripe_error_is_shown_as_an_error(
    board: Page, fake: ServerThread, sdk: Any, key: str, request: pytest.FixtureRequest
) -> None:
    page = board
    account = link(sdk)
    page.goto(f"{fake.url}/_fake/dashboard?tenant={key.split('_', 2)[2]}")
    card = page.locator(f"#{account.id}")
    card.get_by_label("In days").fill("0")
    card.get_by_role("button", name="Schedule deactivation").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(f"Schedule a deactivation of {account.id} in 0 days: failed")
    expect(alert).to_contain_text("This value must be greater than or equal to 1.")
    expect(alert).to_contain_text("days")  # param
    expect(alert).to_contain_text("invalid_request_error")
    expect(alert).to_contain_text("400")
    expect(alert).to_contain_text("req_")
    snap(page, request, "error")
    alert.get_by_role("button", name=re.compile("Dismiss")).click()
    expect(alert).to_have_count(0)


def test_keyboard_alone_deactivates_an_account(
    board: Page, fake: ServerThread, sdk: Any, key: str
) -> None:
    page = board
    account = link(sdk)
    page.goto(f"{fake.url}/_fake/dashboard?tenant={key.split('_', 2)[2]}")
    card = page.locator(f"#{account.id}")
    reason = card.get_by_label("Reason")
    reason.focus()
    reason.select_option("account_locked")
    page.keyboard.press("Tab")
    expect(card.get_by_role("button", name="Deactivate", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(card).to_contain_text("inactive: account_unavailable, action relink_required")
    # The redraw keeps the focus and the choice where they were.
    expect(card.get_by_role("button", name="Deactivate", exact=True)).to_be_focused()
    expect(card.get_by_label("Reason")).to_have_value("account_locked")


def test_settle_pending_ach_payments_from_the_dashboard(
    board: Page, fake: ServerThread, sdk: Any, key: str, request: pytest.FixtureRequest
) -> None:
    page = board
    account, (failing, paid) = debits(sdk, [1000, 2500])
    page.goto(f"{fake.url}/_fake/dashboard?tenant={key.split('_', 2)[2]}")

    # Both debits are processing, each with the last4 it is charged from and a Settle action.
    payments = page.get_by_role("region", name="Payments")
    row_failing = payments.locator(f"#{failing.id}")
    row_paid = payments.locator(f"#{paid.id}")
    for row, amount in ((row_failing, "10.00 USD"), (row_paid, "25.00 USD")):
        expect(row).to_contain_text("processing")
        expect(row).to_contain_text(f"{amount} from ••••{account.last4}")
        expect(row.get_by_role("button", name="Settle")).to_be_visible()
    payments.scroll_into_view_if_needed()
    snap(page, request, "1-processing")

    # Settle one with insufficient_funds: it asks for a new payment method, with the code.
    row_failing.get_by_label("Outcome").select_option("insufficient_funds")
    row_failing.get_by_role("button", name="Settle").click()
    toast = page.get_by_role("status").filter(
        has_text=f"Settle {failing.id} (insufficient_funds): done"
    )
    expect(toast).to_contain_text("requires_payment_method")
    expect(toast).to_contain_text("insufficient_funds")
    expect(toast).to_contain_text(f"••••{account.last4}")
    expect(row_failing).to_contain_text("requires_payment_method")
    expect(row_failing).to_contain_text("Failure code: insufficient_funds")
    expect(row_failing).to_contain_text("failed")  # its charge
    expect(row_failing.get_by_role("button", name="Settle")).to_have_count(0)
    expect(row_paid.get_by_role("button", name="Settle")).to_be_visible()
    events = page.get_by_role("region", name="Events")
    expect(
        events.get_by_role("listitem").filter(has_text="payment_intent.payment_failed")
    ).to_contain_text(failing.id)
    payments.scroll_into_view_if_needed()
    snap(page, request, "2-insufficient-funds")

    # Settle the other one succeeded.
    row_paid.get_by_label("Outcome").select_option("succeeded")
    row_paid.get_by_role("button", name="Settle").click()
    toast = page.get_by_role("status").filter(has_text=f"Settle {paid.id} (succeeded): done")
    expect(toast).to_contain_text("succeeded")
    expect(row_paid.locator(".badge")).to_have_text("succeeded")
    expect(row_paid).not_to_contain_text("Failure code")
    expect(row_paid.get_by_role("button", name="Settle")).to_have_count(0)
    expect(
        events.get_by_role("listitem").filter(has_text="payment_intent.succeeded")
    ).to_contain_text(paid.id)
    payments.scroll_into_view_if_needed()
    snap(page, request, "3-succeeded")

    # What the page showed is what the API says.
    failed_now = sdk.v1.payment_intents.retrieve(failing.id)
    assert failed_now.status == "requires_payment_method"
    assert failed_now.last_payment_error.code == "insufficient_funds"
    assert sdk.v1.payment_intents.retrieve(paid.id).status == "succeeded"


def test_only_the_newest_three_toasts_stay(
    board: Page, fake: ServerThread, key: str, request: pytest.FixtureRequest
) -> None:
    page = board
    page.goto(f"{fake.url}/_fake/dashboard?tenant={key.split('_', 2)[2]}")
    expect(page.get_by_role("heading", name="Payments")).to_be_visible()
    # Errors stay until dismissed (a success goes by itself after 5 s), so four of them in a
    # row would pile up but for the cap.
    opener = page.locator("#open-key")
    for n in range(1, 5):
        opener.get_by_label("Open by key").fill(f"sk_test_not-a-tenant-{n}")
        opener.get_by_role("button", name="Open").click()
        expect(page.get_by_role("alert")).to_have_count(min(n, 3))
    expect(page.locator("#toasts").get_by_role("alert")).to_have_count(3)
    snap(page, request, "three-toasts")


def test_settling_a_payment_that_settled_meanwhile_shows_stripes_error(
    board: Page, fake: ServerThread, sdk: Any, key: str, request: pytest.FixtureRequest
) -> None:
    page = board
    _, (intent,) = debits(sdk, [1000])
    page.goto(f"{fake.url}/_fake/dashboard?tenant={key.split('_', 2)[2]}")
    row = page.get_by_role("region", name="Payments").locator(f"#{intent.id}")
    expect(row.get_by_role("button", name="Settle")).to_be_visible()
    # With live updates off the page still offers Settle after the debit settled elsewhere.
    page.get_by_label("Live updates").uncheck()
    sdk.raw_request(
        "post", f"/v1/test_helpers/payment_intents/{intent.id}/settle", outcome="account_closed"
    )
    row.get_by_label("Outcome").select_option("succeeded")
    row.get_by_role("button", name="Settle").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(f"Settle {intent.id} (succeeded): failed")
    expect(alert).to_contain_text("Only a processing PaymentIntent can be settled")
    expect(alert).to_contain_text("payment_intent_unexpected_state")
    expect(alert).to_contain_text("400")
    # The refusal redraws the row as it is now.
    expect(row).to_contain_text("requires_payment_method")
    expect(row).to_contain_text("Failure code: account_closed")
    expect(row.get_by_role("button", name="Settle")).to_have_count(0)
    row.scroll_into_view_if_needed()
    snap(page, request, "error")


def test_open_by_key_refuses_a_live_key_as_the_api_does(
    board: Page, fake: ServerThread, request: pytest.FixtureRequest
) -> None:
    page = board
    page.goto(f"{fake.url}/_fake/dashboard")
    page.get_by_label("Open by key").fill("sk_live_nope")
    page.get_by_role("button", name="Open", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Open a tenant: failed")
    expect(alert).to_contain_text("never accepts live-mode API keys")
    expect(alert).to_contain_text("401")
    # Nothing opened: no tenant board, no tenant added to the picker.
    expect(page.locator("#board")).to_be_hidden()
    expect(page.get_by_role("combobox", name="Tenant", exact=True)).not_to_contain_text("nope")
    for refused in ("pk_test_nope", "sk_test_has-a-dash"):
        page.get_by_label("Open by key").fill(refused)
        page.get_by_role("button", name="Open", exact=True).click()
    expect(page.get_by_role("alert")).to_have_count(3)
    expect(page.get_by_role("alert").first).to_contain_text("Invalid API Key provided")
    expect(page.get_by_role("alert").nth(1)).to_contain_text("secret_key_required")
    expect(page.locator("#board")).to_be_hidden()
    snap(page, request, "refused-keys")


def test_tenants_whose_masked_keys_look_alike_have_distinct_labels(
    board: Page, fake: ServerThread, key: str, request: pytest.FixtureRequest
) -> None:
    """`sk_test_demo` and `sk_test_123` mask to stars alone; the picker tells them apart."""
    page = board
    suffix = key.split("_", 2)[2]
    keys = [f"sk_test_d{suffix}", f"sk_test_1{suffix}"]
    for k in keys:
        assert httpx.post(f"{fake.url}/v1/customers", auth=(k, "")).status_code == 200
    labels = [tenant_label(fake, k) for k in keys]
    page.goto(f"{fake.url}/_fake/dashboard?tenant={keys[0].split('_', 2)[2]}")
    expect(page.get_by_role("heading", name=f"Tenant {labels[0]}")).to_be_visible()
    options = page.get_by_role("combobox", name="Tenant", exact=True).locator("option")
    texts = options.all_inner_texts()
    assert f"Tenant {labels[0]}" in texts and f"Tenant {labels[1]} (needs its key)" in texts
    assert len(set(texts)) == len(texts)
    assert not any("*" in t or suffix in t for t in texts)
    snap(page, request, "distinct-labels")


def _overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def test_notices_never_cover_a_panel(
    board: Page,
    fake: ServerThread,
    sdk: Any,
    key: str,
    receiver: Receiver,
    request: pytest.FixtureRequest,
) -> None:
    page = board
    account, _ = linked_and_watched(sdk, receiver)
    sdk.raw_request("post", f"{TH}/accounts/{account.id}/deactivate", reason="token_expired")
    page.goto(f"{fake.url}/_fake/dashboard?tenant={key.split('_', 2)[2]}")
    deliveries = page.get_by_role("region", name="Webhook deliveries")
    expect(deliveries.get_by_role("listitem").first).to_be_visible()
    # Three errors (they stay until dismissed) and a success: the most notices at once.
    card = page.locator(f"#{account.id}")
    card.get_by_label("In days").fill("0")
    for _ in range(3):
        card.get_by_role("button", name="Schedule deactivation").click()
    page.get_by_role("button", name="Advance", exact=True).click()
    notices = page.locator("#toasts > .toast")
    expect(notices).to_have_count(3)
    expect(page.get_by_role("status").filter(has_text="Advance the clock")).to_be_visible()
    for where in ("top", "deliveries", "bottom"):
        if where == "deliveries":
            deliveries.scroll_into_view_if_needed()
        elif where == "bottom":
            page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        boxes = [b for b in (n.bounding_box() for n in notices.all()) if b is not None]
        assert len(boxes) == 3
        panels = [p.bounding_box() for p in page.locator(".panel").all()]
        covered = [
            i for i, panel in enumerate(panels) if panel and any(_overlaps(b, panel) for b in boxes)
        ]
        assert covered == [], f"notices cover panels {covered} when scrolled to the {where}"
        # Every notice is in view wherever the page is scrolled.
        assert all(0 <= b["y"] and b["y"] + b["height"] <= 800 for b in boxes), where
        snap(page, request, f"notices-{where}")


def test_the_events_column_never_strands_a_lone_value_on_a_line(
    board: Page, fake: ServerThread, sdk: Any, key: str, request: pytest.FixtureRequest
) -> None:
    """Each event's facts wrap only between them: `pending_webhooks 0` stays on one line."""
    page = board
    link(sdk)
    page.goto(f"{fake.url}/_fake/dashboard?tenant={key.split('_', 2)[2]}")
    events = page.get_by_role("region", name="Events").locator("summary")
    expect(events.first).to_be_visible()
    lines_of_each = page.evaluate(
        """() => [...document.querySelectorAll("#events summary .nowrap")].map((span) => {
          const range = document.createRange();
          range.selectNodeContents(span);
          return [span.textContent, new Set([...range.getClientRects()].map((r) => r.top)).size];
        })"""
    )
    pending = [n for text, n in lines_of_each if text.startswith("pending_webhooks ")]
    assert pending and all(n == 1 for n in pending), lines_of_each
    assert all(n == 1 for _, n in lines_of_each), lines_of_each
    snap(page, request, "events-column")
