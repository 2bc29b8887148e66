"""pytest plugin (entry point `fake_stripe`): the fake in-process for your own tests.

Fixtures, all prefixed so they never clash with a project's own:

- `fake_stripe_app`: one app per test session (in-memory store);
- `fake_stripe_key`: a fresh `sk_test_…` key per test, so each test has its own tenant;
- `fake_stripe_client`: the official SDK (`stripe.StripeClient`) on that key, in-process, with
  a preview `Stripe-Version` (the relink surface needs one);
- `fake_stripe_http`: a plain `httpx.Client` on that key, in-process;
- `fake_stripe_globals`: for code written against the module-level configuration
  (`stripe.api_key = ...; stripe.Customer.create(...)`): for the test's duration `stripe.api_key`
  is that key, the preview `stripe.api_version`, and the SDK's requests go in-process to the
  fake (`stripe.api_base` and `stripe.default_http_client`); yields the `stripe` module.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from .core.versions import PREVIEW_VERSION

if TYPE_CHECKING:
    from .app import App

_keys = itertools.count(1)


@pytest.fixture(scope="session")
def fake_stripe_app() -> Iterator[App]:
    from .app import create_app

    app = create_app()
    yield app
    app.fake.close()


@pytest.fixture
def fake_stripe_key() -> str:
    return f"sk_test_plugin{next(_keys)}"


@pytest.fixture
def fake_stripe_client(fake_stripe_app: App, fake_stripe_key: str) -> Any:
    from .sdk import stripe_client

    return stripe_client(fake_stripe_app, fake_stripe_key, stripe_version=PREVIEW_VERSION)


@pytest.fixture
def fake_stripe_globals(
    fake_stripe_app: App, fake_stripe_key: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    import stripe

    from .sdk import IN_PROCESS_BASE, http_client

    transport = http_client(fake_stripe_app)
    monkeypatch.setattr(stripe, "api_key", fake_stripe_key)
    monkeypatch.setattr(stripe, "api_base", IN_PROCESS_BASE)
    monkeypatch.setattr(stripe, "api_version", PREVIEW_VERSION)
    monkeypatch.setattr(stripe, "default_http_client", transport)
    yield stripe
    transport.close()


@pytest.fixture
def fake_stripe_http(fake_stripe_app: App, fake_stripe_key: str) -> Iterator[httpx.Client]:
    from .inprocess import client

    with client(
        fake_stripe_app,
        headers={"Authorization": f"Bearer {fake_stripe_key}", "Stripe-Version": PREVIEW_VERSION},
    ) as c:
        yield c
