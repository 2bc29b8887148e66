"""The ACH payments walkthrough (tests/ga_sdk_check.py) with the public-preview SDK build, in
both modes: create, confirm, settle by clock and by helper, fail by account state, relink,
charge again. CI runs the same walkthrough with the GA build in its own venv."""

from __future__ import annotations

from typing import Any

import pytest

from fake_stripe.sdk import stripe_client

from .ga_sdk_check import payments_walkthrough


@pytest.fixture
def sdk(mode: str, app: Any, key: str, request: pytest.FixtureRequest) -> Any:
    target = request.getfixturevalue("server").url if mode == "server" else app
    return stripe_client(target, key)


def test_preview_sdk_walks_an_ach_debit_through_its_life(sdk: Any) -> None:
    payments_walkthrough(sdk)
