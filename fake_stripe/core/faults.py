"""Fault injection: make the next N matching requests of a tenant fail or arrive late.

Rules are set through `POST /v1/test_helpers/faults` (per tenant, with the tenant's key) and
consumed in order by the wire layer. A `before` rule answers before the endpoint runs, so a
faulted POST creates nothing; an `after` rule lets the endpoint run (and its idempotent result be
saved) and then loses the response, which is what a client's retry with the same idempotency
key must survive. The wire layer takes the matching rule (`take`) where the request's work runs
and waits out its delay on the event loop.

A tenant holds at most MAX_RULES rules: each request of the tenant is matched against them.
"""

from __future__ import annotations

import fnmatch
import re
import threading
from dataclasses import dataclass, field

from .errors import APIError, RateLimitError, StripeError, invalid_param

# GUESS (docs/limits.md): fake-only caps. Matching a request against every rule of its tenant
# costs about 0.1 µs per rule on a usual path; the glob's length bounds a rule's own cost.
MAX_RULES = 200
MAX_GLOB = 500


@dataclass
class Rule:
    method: str
    path: str  # glob, e.g. /v1/financial_connections/sessions*
    remaining: int
    status: int | None  # 500/502/503/429, or None for a delay only
    delay_ms: int = 0
    when: str = "before"
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Compiled once: `fnmatch` would look the glob up in its cache on every request.
        self._regex = re.compile(fnmatch.translate(self.path))

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and self._regex.match(path) is not None


class Faults:
    def __init__(self) -> None:
        self._rules: dict[str, list[Rule]] = {}
        # Rules are added and taken on the request threads.
        self._lock = threading.Lock()

    def add(self, tenant: str, rule: Rule) -> None:
        with self._lock:
            rules = self._rules.setdefault(tenant, [])
            if len(rules) >= MAX_RULES:
                raise invalid_param(
                    "path",
                    f"This account already has {MAX_RULES} fault rules armed, the most it may "
                    "have; clear them (DELETE /_fake/faults) or let them run out.",
                )
            rules.append(rule)

    def rules(self, tenant: str) -> list[Rule]:
        with self._lock:
            return list(self._rules.get(tenant, []))

    def reset(self, tenant: str | None) -> None:
        with self._lock:
            if tenant is None:
                self._rules.clear()
            else:
                self._rules.pop(tenant, None)

    def take(self, tenant: str, method: str, path: str, when: str) -> Rule | None:
        """The first armed rule of `tenant` for this request at `when` ("before" or "after"),
        counted as used; None when no rule matches. Matched outside the lock: one tenant's
        rules never make another tenant's requests wait."""
        if tenant not in self._rules:
            return None
        with self._lock:
            armed = list(self._rules.get(tenant, ()))
        for rule in armed:
            if rule.when != when or not rule.matches(method, path):
                continue
            with self._lock:
                if rule.remaining <= 0:
                    continue  # used up by a request of the tenant meanwhile
                rule.remaining -= 1
                if rule.remaining == 0:
                    rest = [r for r in self._rules.get(tenant, ()) if r is not rule]
                    if rest:
                        self._rules[tenant] = rest
                    else:
                        self._rules.pop(tenant, None)
                return rule
        return None


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
