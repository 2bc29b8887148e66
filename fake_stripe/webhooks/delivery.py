"""Webhook delivery as the store holds it: signed POSTs, retries with backoff, at least once.

Each event goes to every enabled endpoint of its tenant whose `enabled_events` match. When a
request records an event, `route` counts the endpoints that want it (its `pending_webhooks`,
so the event is written once) from the tenant's endpoint list, read once per request; once the
request commits, one pending `Delivery` per endpoint is stored and leased with the request's
writes and handed to the engine (`engine.py`), so a request never waits on a receiver.

The store is the truth: before each attempt the `Delivery` is read again (`_prepare`), and
dropped when it is gone (tenant reset, endpoint deleted or disabled); after it, its outcome is
journaled (`journal.py`, in memory, per process) and stored (`_finish`). Pending deliveries
therefore survive a restart with a SQLite or PostgreSQL store, and `resume_pending` schedules
them again.

Several processes may share a store, so each delivery is leased (`Backend.lease`): the process
whose request made it holds it, renews all its leases, and attempts only what it holds. A
process that dies stops renewing; once its leases expire, any other process (or its own
restart) claims them and carries on. A clean shutdown releases its leases at once. A delivery
stored in a shape that cannot be resumed is logged and left alone.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from ..core.events import Event, Recorded
from ..core.objects import StripeObject
from ..core.store import Backend
from ..core.tenant import StagedTenant, Tenant
from ..resources.webhook_endpoints import WebhookEndpoint
from . import signing
from .engine import Engine, Job
from .journal import Attempt, Journal
from .schedule import LEASE_SECONDS, RetrySchedule
from .sender import Reply, describe
from .settings import Settings

log = logging.getLogger("fake_stripe")

_SETTINGS_META = "webhooks:settings"


class Delivery(StripeObject):
    """One event owed to one endpoint (stored until it succeeds or is given up)."""

    kind: ClassVar[str] = "webhook_delivery"

    object: str = "webhook_delivery"
    event: str
    endpoint: str
    next_at: float  # unix time of the next attempt
    attempts: int = 0  # failed attempts of the current send
    send: int = 0  # 0 for the original, 1.. for duplicates
    copies: int = 0  # duplicate sends still owed
    delivered: bool = False
    redelivery: bool = False  # asked for through `redeliver`, not caused by the event


@dataclass(frozen=True)
class _Attempt(Job):
    """An attempt with what its outcome is recorded against."""

    rec: Delivery
    ep: WebhookEndpoint
    ev: Event
    schedule: RetrySchedule


class Deliveries:
    """Webhook delivery of one server (`FakeStripe.webhooks`): `tenant` gives the tenant of a
    name, `backend` is the store whose pending deliveries `resume_pending` schedules."""

    def __init__(
        self,
        backend: Backend,
        tenant: Callable[[str], Tenant],
        seed: int,
        schedule: RetrySchedule | None = None,
        lease_seconds: float = LEASE_SECONDS,
        allow_private: bool = True,
    ) -> None:
        self.backend = backend
        # Names this process in the store's leases: never reused, so a restart is a new owner.
        self.owner = uuid.uuid4().hex
        self.lease_seconds = lease_seconds
        self.tenant = tenant
        self.schedule = (schedule or RetrySchedule()).check()
        self._rng = random.Random(seed)
        self._last_due = 0.0
        self.attempts = Journal()
        claims = self._renew_and_claim if backend.shared else None
        self.engine = Engine(self._prepare, self._finish, claims, lease_seconds, allow_private)

    # ---- configuration -----------------------------------------------------------------------
    def configure(self, **changes: Any) -> RetrySchedule:
        """Change the server-wide schedule: `base_delay`, `factor`, `max_attempts`,
        `time_scale`, `timeout` (tenants may override it through `/_fake/webhooks/settings`).
        Raises ScheduleError (a ValueError) for a value out of `BOUNDS`; nothing changes then."""
        self.schedule = dataclasses.replace(self.schedule, **changes).check()
        return self.schedule

    def settings(self, tenant: Tenant) -> Settings:
        raw = tenant.meta_get(_SETTINGS_META)
        if raw is None:
            return Settings()
        try:
            return Settings.model_validate_json(raw)
        except ValueError:
            # Stored before settings had bounds: the defaults serve until the tenant sets
            # them again.
            log.warning("tenant %s: stored webhook settings out of bounds, ignored", tenant.name)
            return Settings()

    def set_settings(self, tenant: Tenant, settings: Settings) -> None:
        tenant.meta_set(_SETTINGS_META, settings.model_dump_json())

    # ---- events (`EventLog.routers`) ---------------------------------------------------------
    def route(self, tenant: StagedTenant, ev: Recorded) -> None:
        """As a request records `ev`: how many endpoints it is owed to, and, once the request
        has committed, a delivery for each."""
        if not tenant.may_hold(WebhookEndpoint.kind):
            return
        endpoints = [
            ep
            for ep in tenant.every(WebhookEndpoint)
            if ep.status == "enabled" and ep.matches(ev.type)
        ]
        if not endpoints:
            return
        ev.pending_webhooks = len(endpoints)
        settings = self.settings(tenant)
        tenant.after_commit.append(lambda: self._owe(tenant.base, ev.id, endpoints, settings))

    def _owe(
        self, tenant: Tenant, event: str, endpoints: list[WebhookEndpoint], settings: Settings
    ) -> None:
        """Inside the request's transaction, after its writes: the deliveries and their leases
        are stored with it, or not at all."""
        now = time.time()
        for ep in reversed(endpoints):  # oldest endpoint first
            if settings.shuffle:
                due = now + self._rng.uniform(0, settings.shuffle_window)
            else:
                # a clock step backwards must not reorder deliveries
                due = self._last_due = max(now, self._last_due)
            rec = Delivery(
                id=f"whdel_{event}_{ep.id}",
                event=event,
                endpoint=ep.id,
                next_at=due,
                copies=1 if settings.duplicate else 0,
            )
            tenant.put(rec)
            self.backend.lease(tenant.name, rec.id, self.owner, now + self.lease_seconds, now)
            self.engine.submit(tenant.name, rec.id, ep.id, due)

    def redeliver(self, tenant: Tenant, ev: Event, ep: WebhookEndpoint) -> Delivery:
        """Send `ev` to `ep` again, now: Stripe's "Resend" of an event to one endpoint.

        It is a delivery of its own (retried as any other), queued behind what the endpoint
        already has pending. GUESS: a resend does not count in the event's `pending_webhooks`,
        which tracks the automatic delivery only.
        """
        n = tenant.backend.increment(tenant.name, "webhooks:redeliveries")
        now = time.time()
        rec = Delivery(
            id=f"whdel_{ev.id}_{ep.id}_r{n}",
            event=ev.id,
            endpoint=ep.id,
            next_at=now,
            delivered=True,  # so its success leaves pending_webhooks alone
            redelivery=True,
        )
        with self.backend.transaction(tenant.name, True):
            tenant.put(rec)
            self.backend.lease(tenant.name, rec.id, self.owner, now + self.lease_seconds, now)
        self.engine.submit(tenant.name, rec.id, ep.id, now)
        return rec

    # ---- what other processes left ----------------------------------------------------------
    def resume_pending(self) -> int:
        """Claim the deliveries nobody holds (after a restart, or left by a process that died)
        and schedule them. Returns how many were scheduled. With a store other processes may
        share, keep looking for expired leases while the server runs."""
        found = sorted(self._claim_expired(), key=lambda f: f[0])
        for due, name, delivery_id, endpoint_id in found:
            self.engine.submit(name, delivery_id, endpoint_id, due)
        if found:
            log.info("resuming %d pending webhook deliveries", len(found))
        if self.backend.shared:
            self.engine.start()
        return len(found)

    def _renew_and_claim(self) -> list[tuple[float, str, str, str]]:
        self.backend.renew(self.owner, time.time() + self.lease_seconds)
        return self._claim_expired()

    def _claim_expired(self) -> list[tuple[float, str, str, str]]:
        found: list[tuple[float, str, str, str]] = []
        while True:
            now = time.time()
            claimed = self.backend.claim_expired(
                self.owner, now + self.lease_seconds, now, limit=500
            )
            for name, delivery_id in claimed:
                rec = self._load(self.tenant(name), delivery_id)
                if rec is not None:
                    found.append((rec.next_at, name, rec.id, rec.endpoint))
            if len(claimed) < 500:
                return found

    @staticmethod
    def _load(tenant: Tenant, delivery_id: str) -> Delivery | None:
        """The stored delivery; None (logged) when it is missing or cannot be resumed."""
        try:
            rec = tenant.get(Delivery, delivery_id)
        except ValueError as exc:
            log.warning(
                "skipping stored webhook delivery %s of tenant %s: it cannot be resumed (%s)",
                delivery_id,
                tenant.name,
                str(exc).splitlines()[0][:200],
            )
            return None
        if rec is not None and not math.isfinite(rec.next_at):
            log.warning(
                "skipping stored webhook delivery %s of tenant %s: its next attempt time is %r",
                delivery_id,
                tenant.name,
                rec.next_at,
            )
            return None
        return rec

    # ---- the journal -------------------------------------------------------------------------
    def journal(self, tenant: str, **filters: Any) -> list[Attempt]:
        """Every attempt for a tenant (by name, as `tenant_of` gives it: a name is never read
        as a key), oldest first, optionally filtered (`Journal.read`)."""
        return self.attempts.read(tenant, **filters)

    def reset(self, tenant: str | None) -> None:
        """Forget the journal of one tenant, or of all (stored deliveries go with the store)."""
        self.attempts.reset(tenant)

    # ---- one attempt, in the engine's store threads ------------------------------------------
    def _prepare(self, tenant_name: str, delivery_id: str) -> _Attempt | float | None:
        """What the attempt sends, or when to look again (None: never)."""
        tenant = self.tenant(tenant_name)
        rec = self._load(tenant, delivery_id)
        if rec is None:
            return None
        if rec.next_at > time.time() + 0.001:
            return rec.next_at
        now = time.time()
        if not self.backend.lease(
            tenant_name, delivery_id, self.owner, now + self.lease_seconds, now
        ):
            return None  # another process holds it (it took over while this one stalled)
        ep = tenant.get(WebhookEndpoint, rec.endpoint)
        ev = tenant.get(Event, rec.event)
        if ep is None or ev is None or ep.status != "enabled":
            # Stripe stops retrying for an endpoint that was disabled or deleted.
            with self.backend.transaction(tenant_name, True):
                tenant.delete(rec)
            return None
        schedule = self.settings(tenant).schedule(self.schedule)
        started = time.time()
        try:
            body = signing.render_payload(ev, ep)
        except Exception as exc:  # an event stored in a shape this version cannot render
            log.warning("webhook delivery %s: its payload cannot be rendered", delivery_id)
            return _Attempt(
                ep.url, b"", {}, schedule.timeout, started, describe(exc), rec, ep, ev, schedule
            )
        sent = signing.headers(ep.secret, int(started), body)
        return _Attempt(
            ep.url, body.encode(), sent, schedule.timeout, started, None, rec, ep, ev, schedule
        )

    def _finish(
        self, tenant_name: str, delivery_id: str, job: _Attempt, reply: Reply, latency_ms: float
    ) -> float | None:
        """Journal the attempt and store what it changed."""
        tenant = self.tenant(tenant_name)
        ok = reply.status is not None and 200 <= reply.status < 300
        with self.backend.transaction(tenant_name, True):
            # Re-read: the tenant may have been reset while the request was in flight.
            current = tenant.get(Delivery, delivery_id)
            next_at = None if current is None else self._next_at(current, ok, job.schedule)
            # Journal first, so whoever sees the new state (pending_webhooks) also sees it.
            self.attempts.record(tenant_name, _journal_entry(job, reply, latency_ms, next_at))
            if current is not None:
                self._apply(tenant, current, ok, next_at)
        return next_at

    @staticmethod
    def _next_at(rec: Delivery, ok: bool, schedule: RetrySchedule) -> float | None:
        """When this delivery goes out next after this attempt; None when it is finished."""
        if ok:
            return time.time() if rec.copies > 0 else None  # a duplicate goes out at once
        failed = rec.attempts + 1
        if failed >= schedule.max_attempts:
            return None  # given up: Stripe keeps counting the event in pending_webhooks
        return time.time() + schedule.delay(failed)

    @staticmethod
    def _apply(tenant: Tenant, rec: Delivery, ok: bool, next_at: float | None) -> None:
        if ok and not rec.delivered:
            ev = tenant.get(Event, rec.event)
            if ev is not None and ev.pending_webhooks > 0:
                ev.pending_webhooks -= 1
                tenant.put(ev)
        if next_at is None:
            tenant.delete(rec)
            return
        if ok:
            rec.delivered = True
            rec.copies -= 1
            rec.send += 1
            rec.attempts = 0
        else:
            rec.attempts += 1
        rec.next_at = next_at
        tenant.put(rec)

    def close(self) -> None:
        """Stop the engine (pending deliveries stay stored) and release this process's leases,
        so that a successor need not wait for them to expire."""
        if not self.engine.close():
            return
        try:
            self.backend.release_all(self.owner)
        except Exception:
            log.exception("releasing webhook delivery leases failed")


def _journal_entry(
    job: _Attempt, reply: Reply, latency_ms: float, next_at: float | None
) -> Attempt:
    ok = reply.status is not None and 200 <= reply.status < 300
    return Attempt(
        time=round(job.started, 6),
        event=job.ev.id,
        type=job.ev.type,
        endpoint=job.ep.id,
        url=job.ep.url,
        attempt=job.rec.attempts + 1,
        duplicate=job.rec.send > 0,
        redelivery=job.rec.redelivery,
        signature=job.headers.get("Stripe-Signature", ""),
        status_code=reply.status,
        latency_ms=latency_ms,
        response=reply.snippet,
        error=reply.error,
        outcome="succeeded" if ok else "failed",
        next_attempt_at=None if next_at is None else round(next_at, 6),
    )
