"""The delivery journal: every webhook attempt, per tenant, in the memory of the process that
made it (`/_fake/webhooks/deliveries` reads it)."""

from __future__ import annotations

import threading
from collections import deque
from typing import Literal

from ..core.objects import Model

# Attempts kept per tenant: as many as one read of the journal returns. A tenant retrying at
# once up to 100 times fills it in minutes; more would cost the process about 1 KB per attempt.
KEEP = 10_000


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

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self._lock = threading.Lock()
        self._attempts: dict[str, deque[Attempt]] = {}
        # Never reset, so `after` cursors stay valid across a tenant's reset.
        self._seq: dict[str, int] = {}

    def record(self, tenant: str, attempt: Attempt) -> Attempt:
        with self._lock:
            seq = self._seq[tenant] = self._seq.get(tenant, 0) + 1
            entry = attempt.model_copy(update={"seq": seq})
            self._attempts.setdefault(tenant, deque(maxlen=self.keep)).append(entry)
        return entry

    def read(
        self,
        tenant: str,
        *,
        event: str | None = None,
        endpoint: str | None = None,
        outcome: str | None = None,
        type: str | None = None,
        after: int = 0,
    ) -> list[Attempt]:
        with self._lock:
            attempts = list(self._attempts.get(tenant, ()))
        return [
            a
            for a in attempts
            if a.seq > after
            and (event is None or a.event == event)
            and (endpoint is None or a.endpoint == endpoint)
            and (outcome is None or a.outcome == outcome)
            and (type is None or a.type == type)
        ]

    def reset(self, tenant: str | None) -> None:
        with self._lock:
            if tenant is None:
                self._attempts.clear()
            else:
                self._attempts.pop(tenant, None)
