"""Fault injection: make the next N matching requests of a tenant fail or arrive late.

Rules are set through `POST /v1/test_helpers/faults` (per tenant, with the tenant's key) and
consumed in order by the wire layer. A `before` rule answers before the endpoint runs, so a
faulted POST creates nothing; an `after` rule lets the endpoint run (and its idempotent result be
saved) and then loses the response, which is what a client's retry with the same idempotency
key must survive.
"""

from __future__ import annotations

import asyncio
import fnmatch
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import APIError, RateLimitError, StripeError

if TYPE_CHECKING:
    from .tenant import Tenant


@dataclass
class Rule:
    method: str
    path: str  # glob, e.g. /v1/financial_connections/sessions*
    remaining: int
    status: int | None  # 500/502/503/429, or None for a delay only
    delay_ms: int = 0
    when: str = "before"

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and fnmatch.fnmatchcase(path, self.path)


class Faults:
    def __init__(self) -> None:
        self._rules: dict[str, list[Rule]] = {}

    def add(self, tenant: str, rule: Rule) -> None:
        self._rules.setdefault(tenant, []).append(rule)

    def rules(self, tenant: str) -> list[Rule]:
        return list(self._rules.get(tenant, []))

    def reset(self, tenant: str | None) -> None:
        if tenant is None:
            self._rules.clear()
        else:
            self._rules.pop(tenant, None)

    async def before(self, tenant: Tenant, method: str, path: str) -> None:
        await self._apply(tenant, method, path, "before")

    async def after(self, tenant: Tenant, method: str, path: str) -> None:
        await self._apply(tenant, method, path, "after")

    async def _apply(self, tenant: Tenant, method: str, path: str, when: str) -> None:
        rules = self._rules.get(tenant.name)
        if not rules:
            return
        for rule in rules:
            if rule.when == when and rule.remaining > 0 and rule.matches(method, path):
                rule.remaining -= 1
                if rule.remaining == 0:
                    rules.remove(rule)
                if rule.delay_ms:
                    await asyncio.sleep(rule.delay_ms / 1000)
                if rule.status is not None:
                    raise fault_error(rule.status)
                return


def fault_error(status: int) -> StripeError:
    if status == 429:
        return RateLimitError(
            "Request rate limit exceeded. You can learn more about rate limits here "
            "https://stripe.com/docs/rate-limits.",
            code="rate_limit",
            headers={"Stripe-Should-Retry": "true", "Retry-After": "1"},
        )
    return APIError(
        "An unknown error occurred while processing your request (injected by fake-stripe).",
        status=status,
        headers={"Stripe-Should-Retry": "true"},
    )
