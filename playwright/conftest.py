"""Browser tests: the fake and the sample merchant page on loopback, Debian Chromium headless.

One strict fake and one merchant app serve the whole session, each under uvicorn on a free
loopback port. Every test gets its own tenant key. The browser never leaves loopback:
`https://js.stripe.com/**` is served by the fake through Playwright routing and anything else
off-host is aborted. Each test saves a screenshot of its final state to `test-artifacts/`.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import stripe
from merchant import REAL_STRIPE_JS, STRIPE_VERSION, Merchant, create_merchant_app
from playwright.sync_api import BrowserContext, FrameLocator, Page, Route, expect

from fake_stripe import create_app
from fake_stripe.http_server import ServerThread
from fake_stripe.sdk import stripe_client

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "playwright"
_tenants = itertools.count(1)


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    return {
        "executable_path": "/usr/bin/chromium",
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def base_url() -> str | None:
    # pytest-playwright's own fallback is declared on a plugin instance, which pytest 9
    # deprecates (an error under -W error); the pages here use absolute URLs anyway.
    return None


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1200, "height": 760}}


@pytest.fixture(scope="session")
def fake_app() -> Any:
    return create_app(seed=5150, strict=True)


@pytest.fixture(scope="session")
def fake(fake_app: Any) -> Iterator[ServerThread]:
    server = ServerThread(fake_app)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def merchant(fake: ServerThread) -> Iterator[Merchant]:
    m = Merchant(fake.url)
    yield m
    m.close()


@pytest.fixture(scope="session")
def merchant_server(merchant: Merchant) -> Iterator[ServerThread]:
    server = ServerThread(create_merchant_app(merchant))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def http() -> Iterator[requests.Session]:
    s = requests.Session()
    yield s
    s.close()


@pytest.fixture
def key(request: pytest.FixtureRequest) -> str:
    # stable across runs (the fake's seed is fixed too), unique per test
    return f"sk_test_pw{zlib.crc32(request.node.nodeid.encode()):08x}{next(_tenants)}"


@pytest.fixture
def sdk(fake: ServerThread, key: str, http: requests.Session) -> Any:
    """The official SDK on the test's tenant: how tests set up and check server state."""
    return stripe_client(
        fake.url,
        key,
        stripe_version=STRIPE_VERSION,
        http_client=stripe.RequestsClient(session=http),
    )


@pytest.fixture
def stripe_js_hits(context: BrowserContext, fake: ServerThread) -> dict[str, int]:
    """Serve js.stripe.com from the fake; refuse every other off-host request."""
    hits = {"js.stripe.com": 0}

    def stripe_js(route: Route) -> None:
        hits["js.stripe.com"] += 1
        path = urlsplit(route.request.url).path
        route.fulfill(response=route.fetch(url=fake.url + path))

    def elsewhere(route: Route) -> None:
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.fallback()
        else:
            route.abort()

    context.route(re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/])"), elsewhere)
    context.route("https://js.stripe.com/**", stripe_js)
    context.set_default_timeout(6000)
    expect.set_options(timeout=6000)
    return hits


@pytest.fixture
def final_screenshot(page: Page, request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True, animations="disabled"
    )


@pytest.fixture(autouse=True)
def _no_spec_violations(fake_app: Any) -> Iterator[None]:
    fake = fake_app.fake
    start = len(fake.violations)
    yield
    new = fake.violations[start:]
    assert not new, "responses violate the recorded Stripe spec:\n" + "\n".join(new)


class Shop:
    """One customer of the sample merchant, their bank accounts, and the page they use."""

    def __init__(
        self, page: Page, sdk: Any, merchant: Merchant, merchant_url: str, key: str
    ) -> None:
        self.page = page
        self.sdk = sdk
        self.merchant = merchant
        self.merchant_url = merchant_url
        self.key = key
        self.customer = sdk.v1.customers.create(
            params={"name": "Jenny Rosen", "email": "jenny@example.com"}
        ).id
        self.user_path = ""

    def link(self, institution: str = "fcinst_StripeBank", use_case: str = "payments") -> Any:
        """An account linked earlier (headlessly), with a PaymentMethod for the payments case."""
        params: dict[str, Any] = {
            "account_holder": {"type": "customer", "customer": self.customer},
            "permissions": ["payment_method", "balances"]
            if use_case == "payments"
            else ["balances", "transactions"],
        }
        if use_case == "payments":
            params["filters"] = {"account_subcategories": ["checking", "savings"]}
        session = self.sdk.v1.financial_connections.sessions.create(params=params)
        self.sdk.raw_request(
            "post",
            f"/v1/test_helpers/financial_connections/sessions/{session.id}/complete",
            outcome="link",
            institution=institution,
        )
        account = self.sdk.v1.financial_connections.sessions.retrieve(session.id).accounts.data[0]
        if use_case == "payments":
            pm = self.sdk.v1.payment_methods.create(
                params={
                    "type": "us_bank_account",
                    "us_bank_account": {"financial_connections_account": account.id},
                    "billing_details": {"name": "Jenny Rosen"},
                }
            )
            self.sdk.v1.setup_intents.create(
                params={
                    "customer": self.customer,
                    "payment_method_types": ["us_bank_account"],
                    "payment_method": pm.id,
                    "confirm": True,
                    "mandate_data": {"customer_acceptance": {"type": "offline"}},
                }
            )
        return account

    def deactivate(self, account_id: str, reason: str) -> None:
        self.sdk.raw_request(
            "post",
            f"/v1/test_helpers/financial_connections/accounts/{account_id}/deactivate",
            reason=reason,
        )

    def open(self, use_case: str = "payments", real_stripe_js: bool = False) -> Page:
        self.user_path = self.merchant.sign_in(
            self.key, self.customer, use_case, REAL_STRIPE_JS if real_stripe_js else None
        )
        self.page.goto(self.merchant_url + self.user_path)
        expect(self.page.get_by_role("heading", name="Payment settings")).to_be_visible()
        return self.page

    def row(self, account: Any) -> Any:
        """The page's list item for a Financial Connections account."""
        text = f"{account.display_name} \u2022\u2022\u2022\u2022{account.last4}"
        return self.page.get_by_role("listitem").filter(has_text=text)

    def flow(self) -> FrameLocator:
        return self.page.frame_locator('iframe[title="Link your bank account"]')

    def message(self) -> Any:
        return self.page.get_by_role("status")

    def last_session(self) -> Any:
        user = self.merchant.users[self.user_path.split("/")[2]]
        return self.sdk.v1.financial_connections.sessions.retrieve(user.sessions[-1])

    def sign_in(self, username: str = "jenny", password: str = "hunter2") -> None:
        flow = self.flow()
        flow.get_by_label("Username").fill(username)
        flow.get_by_label("Password").fill(password)
        flow.get_by_role("button", name="Sign in").click()

    def snapshot(self, step: str, request: pytest.FixtureRequest) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(
            path=str(ARTIFACTS / f"{request.node.name}--{step}.png"), animations="disabled"
        )


@pytest.fixture
def shop(
    page: Page,
    sdk: Any,
    merchant: Merchant,
    merchant_server: ServerThread,
    key: str,
    stripe_js_hits: dict[str, int],
    final_screenshot: None,
) -> Shop:
    """Every browser test goes through here: loopback-only browsing, a final screenshot."""
    return Shop(page, sdk, merchant, merchant_server.url, key)
