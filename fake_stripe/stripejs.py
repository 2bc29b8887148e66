"""The fake Stripe.js (`GET /v3/`) and the endpoints its authentication flow calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from .app import FakeStripe


def routes(fake: FakeStripe) -> list[BaseRoute]:
    return []
