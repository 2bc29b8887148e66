"""The delivery journal: every webhook attempt, per tenant, in the memory of the process that
made it (`/_fake/webhooks/deliveries` reads it).

What it keeps is bounded for the process, not only per tenant: keys cost nothing to invent, so
the tenants sharing the total (KEEP_TOTAL) each keep an equal share of it (at most KEEP, at
least KEEP_LEAST), and the tenants that wrote least recently give up their entries first. An
entry is kept as its JSON text, in dicts of text only, which the cyclic garbage collector does not
walk (its full collections stop every thread).
"""

from __future__ import annotations

import threading
from typing import Literal

from ..core.objects import Model

# GUESS (docs/limits.md): fake-only. Attempts kept per tenant at most: as many as one read of the
# journal returns (a tenant retrying at once up to 100 times fills it in minutes); for all
# tenants together (about 0.7 KB each with a 200-character answer, by tracemalloc); and per
# tenant however many tenants share the total.
KEEP = 10_000
KEEP_TOTAL = 50_000
KEEP_LEAST = 20


class Attempt(Model):
    """One line of the delivery journal."""

    seq: int = 0  # given by the journal
    time: float
    event: str
    type: str
    endpoint: str
    url: str
    attempt: int
    duplicate: bool
    redelivery: bool = False
    signature: str = ""  # the Stripe-Signature header sent
    status_code: int | None
    latency_ms: float
    response: str
    error: str | None
    outcome: Literal["succeeded", "failed"]
    next_attempt_at: float | None


class Journal:
    """Thread-safe: written by the delivery engine's store threads, read by requests."""

    def __init__(self, keep: int = KEEP, keep_total: int | None = None) -> None:
        self.keep = keep
        self.keep_total = KEEP_TOTAL if keep_total is None else keep_total
        self._lock = threading.Lock()
        # tenant -> seq -> the attempt's JSON; the tenant that wrote least recently first, and
        # each tenant's seqs contiguous, its newest `self._seq[tenant]`.
        self._attempts: dict[str, dict[int, str]] = {}
        self._total = 0
        # Never reset, so `after` cursors stay valid across a tenant's reset.
        self._seq: dict[str, int] = {}

    def share(self) -> int:
        """How many attempts each tenant keeps, as many tenants as now share the total."""
        tenants = max(1, len(self._attempts))
        return max(KEEP_LEAST, min(self.keep, self.keep_total // tenants))

    def record(self, tenant: str, attempt: Attempt) -> Attempt:
        with self._lock:
            seq = self._seq[tenant] = self._seq.get(tenant, 0) + 1
            entry = attempt.model_copy(update={"seq": seq})
            mine = self._attempts.pop(tenant, None) or {}
            self._attempts[tenant] = mine  # now the most recent writer
            mine[seq] = entry.model_dump_json()
            self._total += 1
            share = self.share()
            self._trim(tenant, share)
            while self._total > self.keep_total and len(self._attempts) > 1:
                oldest = next(iter(self._attempts))
                if len(self._attempts[oldest]) > share:
                    self._trim(oldest, share)
                else:
                    self._total -= len(self._attempts.pop(oldest))
        return entry

    def _trim(self, tenant: str, keep: int) -> None:
        mine = self._attempts[tenant]
        first = self._seq[tenant] - len(mine) + 1
        while len(mine) > keep:
            del mine[first]
            first += 1
            self._total -= 1

    def read(
        self,
        tenant: str,
        *,
        event: str | None = None,
        endpoint: str | None = None,
        outcome: str | None = None,
        type: str | None = None,
        after: int = 0,
        limit: int | None = None,
    ) -> list[Attempt]:
        """The tenant's attempts after `after`, oldest first, those that match; at most
        `limit` of them (only as many entries are decoded as it takes to find them)."""
        with self._lock:
            mine = self._attempts.get(tenant, {})
            last = self._seq.get(tenant, 0)
            kept = [mine[seq] for seq in range(max(after + 1, last - len(mine) + 1), last + 1)]
        found: list[Attempt] = []
        for text in kept:
            if limit is not None and len(found) >= limit:
                break
            a = Attempt.model_validate_json(text)
            if (
                (event is None or a.event == event)
                and (endpoint is None or a.endpoint == endpoint)
                and (outcome is None or a.outcome == outcome)
                and (type is None or a.type == type)
            ):
                found.append(a)
        return found

    def reset(self, tenant: str | None) -> None:
        with self._lock:
            if tenant is None:
                self._attempts.clear()
                self._total = 0
            else:
                self._total -= len(self._attempts.pop(tenant, {}))
