"""Webhook delivery: signed POSTs, retries with backoff, at least once.

Each event goes to every enabled endpoint of its tenant whose `enabled_events` match. The
listener runs once the request that caused the event has committed; it only stores one pending
`Delivery` per endpoint in the tenant's store and hands it to a loop of its own in a daemon
thread, so a request never waits on a receiver. The same loop serves every way the app is run
(uvicorn, in-process transports whose loops come and go, Starlette's TestClient), and `close()`
ends it.

The store is the truth: a worker re-reads the `Delivery` before each attempt and drops it when
it is gone (tenant reset, endpoint deleted or disabled). Pending deliveries therefore survive a
restart with a SQLite or PostgreSQL store, and `resume_pending` schedules them again. Deliveries
to one endpoint go out one at a time, in the order the events happened (unless the tenant turns
on shuffling); retries go to the back. Every attempt is journaled (`journal.py`, in memory, per
process).

No tenant can hold delivery for the others: an attempt takes a fair turn first (`slots.py`: one
per endpoint, 16 per tenant, 256 in all), is one POST bounded in time and bytes (`sender.py`),
and reads and writes the store in two store threads where tenants take turns, never on the loop.

Several processes may share a store, so each delivery is leased (`Backend.lease`): the process
whose request made it holds it, renews all its leases every third of `lease_seconds`, and
attempts only what it holds. A process that dies stops renewing; once its leases expire, any
other process (or its own restart) claims them and carries on. A clean shutdown releases its
leases at once. A delivery stored in a shape that cannot be resumed is logged and left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from ..core.events import Event
from ..core.objects import StripeObject
from ..core.store import Backend
from ..core.tenant import Tenant
from ..resources.webhook_endpoints import MAX_ENDPOINTS, WebhookEndpoint
from .journal import Attempt, Journal
from .schedule import RetrySchedule, Settings
from .sender import Reply, Sender, describe
from .slots import Slots

log = logging.getLogger("fake_stripe")
T = TypeVar("T")

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
LEASE_SECONDS = 30.0  # a dead process's deliveries are taken over after about this long
RETRY_AFTER_FAULT = 5.0  # seconds: an attempt the fake itself failed (store busy) goes again
# Attempts in flight at once: per endpoint one (its deliveries go out in order), per tenant as
# many as Stripe lets it have endpoints, and in all a share of the process's sockets.
TENANT_IN_FLIGHT = MAX_ENDPOINTS
IN_FLIGHT = 256
STORE_THREADS = 2
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


def sign(secret: str, timestamp: int, body: str) -> str:
    """The `Stripe-Signature` header: `t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def render_payload(ev: Event, ep: WebhookEndpoint) -> str:
    """The event as this endpoint sees it: at the endpoint's `api_version`, else at the event's
    (the account's default version when it happened)."""
    version = ep.payload_version(ev.api_version)
    body = ev.render_at(version) if version else ev.to_api("")
    # Stripe sends its payloads pretty-printed.
    return json.dumps(body, indent=2, ensure_ascii=False)


HeapItem = tuple[float, int, str, str, str]  # due, order, tenant, delivery id, endpoint id


@dataclass(frozen=True)
class _Job:
    """One attempt as read from the store: what to send, or why it cannot be sent."""

    rec: Delivery
    ep: WebhookEndpoint
    ev: Event
    schedule: RetrySchedule
    started: float
    body: bytes
    headers: dict[str, str]
    failure: str | None


class Deliveries:
    """The delivery engine of one server (`FakeStripe.webhooks`): `tenant` gives the tenant of
    a name, `backend` lists the tenants whose pending deliveries `resume_pending` schedules."""

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
        self._order = itertools.count()
        self._rng = random.Random(seed)
        self._last_due = 0.0
        self._lock = threading.Lock()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.attempts = Journal()
        # Touched only on the delivery loop:
        self._heap: list[HeapItem] = []
        self._scheduled: set[tuple[str, str]] = set()
        self._queues: dict[tuple[str, str], deque[tuple[str, str]]] = {}
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._pump_task: asyncio.Task[None] | None = None
        self._lease_task: asyncio.Task[None] | None = None
        self._slots = Slots(TENANT_IN_FLIGHT, IN_FLIGHT)
        self.sender = Sender(allow_private)
        # The store is read and written off the loop: a write may wait seconds for a lock
        # another process holds, and the loop serves every tenant's attempts. Tenants take
        # turns at its threads, so one tenant's queue of store work never delays another's.
        self._store = ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="fake-stripe-hooks")
        self._store_turns = Slots(1, STORE_THREADS)

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

    # ---- the listener (runs once the request that emitted the event has committed) ---------
    def on_event(self, tenant: Tenant, ev: Event) -> None:
        # Inside the request's transaction when a request emitted the event: the deliveries
        # and their leases are stored with it, or not at all.
        with self.backend.transaction(tenant.name, True):
            self._store_deliveries(tenant, ev)

    def _store_deliveries(self, tenant: Tenant, ev: Event) -> None:
        endpoints = [
            ep
            for ep in tenant.iterate(WebhookEndpoint)
            if ep.status == "enabled" and ep.matches(ev.type)
        ]
        if not endpoints:
            return
        ev.pending_webhooks = len(endpoints)
        tenant.put(ev)
        settings = self.settings(tenant)
        now = time.time()
        for ep in reversed(endpoints):  # oldest endpoint first
            if settings.shuffle:
                due = now + self._rng.uniform(0, settings.shuffle_window)
            else:
                # a clock step backwards must not reorder deliveries
                due = self._last_due = max(now, self._last_due)
            rec = Delivery(
                id=f"whdel_{ev.id}_{ep.id}",
                event=ev.id,
                endpoint=ep.id,
                next_at=due,
                copies=1 if settings.duplicate else 0,
            )
            tenant.put(rec)
            self.backend.lease(tenant.name, rec.id, self.owner, now + self.lease_seconds, now)
            self._submit(tenant.name, rec.id, ep.id, due)

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
        self._submit(tenant.name, rec.id, ep.id, now)
        return rec

    def resume_pending(self) -> int:
        """Claim the deliveries nobody holds (after a restart, or left by a process that died)
        and schedule them. Returns how many were scheduled. With a store other processes may
        share, keep looking for expired leases while the server runs."""
        found = self._claim_expired()
        found.sort(key=lambda f: f[0])
        for due, name, rec in found:
            self._submit(name, rec.id, rec.endpoint, due)
        if found:
            log.info("resuming %d pending webhook deliveries", len(found))
        if self.backend.shared:
            self._ensure_loop()
        return len(found)

    def _claim_expired(self) -> list[tuple[float, str, Delivery]]:
        found: list[tuple[float, str, Delivery]] = []
        while True:
            now = time.time()
            claimed = self.backend.claim_expired(
                self.owner, now + self.lease_seconds, now, limit=500
            )
            for name, delivery_id in claimed:
                rec = self._load(self.tenant(name), delivery_id)
                if rec is not None:
                    found.append((rec.next_at, name, rec))
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

    # ---- the loop ----------------------------------------------------------------------------
    def _submit(self, tenant: str, delivery_id: str, endpoint_id: str, due: float) -> None:
        """Thread-safe: hand a delivery to the loop (started on first use)."""
        loop = self._ensure_loop()
        if loop is None:
            return  # closed: it stays in the store for the next run
        item = (due, next(self._order), tenant, delivery_id, endpoint_id)
        with contextlib.suppress(RuntimeError):  # closed meanwhile: it stays stored
            loop.call_soon_threadsafe(self._push, item)

    def _ensure_loop(self) -> asyncio.AbstractEventLoop | None:
        with self._lock:
            if self._closed:
                return None
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._run, args=(self._loop,), name="fake-stripe-webhooks", daemon=True
                )
                self._thread.start()
            return self._loop

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        self._pump_task = loop.create_task(self._pump())
        if self.backend.shared:
            self._lease_task = loop.create_task(self._keep_leases())
        loop.run_forever()

    async def _keep_leases(self) -> None:
        """Renew this process's leases, and take over those of processes that stopped."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                found = await loop.run_in_executor(self._store, self._renew_and_claim)
            except Exception as exc:
                log.warning("renewing webhook delivery leases failed (%s); trying again", exc)
                continue
            for due, name, rec in found:
                self._push((due, next(self._order), name, rec.id, rec.endpoint))

    def _renew_and_claim(self) -> list[tuple[float, str, Delivery]]:
        self.backend.renew(self.owner, time.time() + self.lease_seconds)
        return self._claim_expired()

    def _push(self, item: HeapItem) -> None:
        key = (item[2], item[3])
        if key in self._scheduled:
            return
        self._scheduled.add(key)
        heapq.heappush(self._heap, item)
        self._wake.set()

    async def _pump(self) -> None:
        while True:
            now = time.time()
            while self._heap and self._heap[0][0] <= now:
                _due, _n, tenant, delivery_id, endpoint_id = heapq.heappop(self._heap)
                key = (tenant, endpoint_id)
                self._queues.setdefault(key, deque()).append((tenant, delivery_id))
                if key not in self._workers:
                    self._workers[key] = asyncio.get_running_loop().create_task(self._worker(key))
            self._wake.clear()
            timeout = self._heap[0][0] - now if self._heap else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _worker(self, key: tuple[str, str]) -> None:
        queue = self._queues[key]
        try:
            while queue:
                tenant, delivery_id = queue.popleft()
                async with self._slots.turn(tenant):
                    next_at = await self._attempt(tenant, delivery_id)
                if next_at is None:
                    self._scheduled.discard((tenant, delivery_id))
                else:
                    item = (next_at, next(self._order), tenant, delivery_id, key[1])
                    heapq.heappush(self._heap, item)
                    self._wake.set()
        finally:
            self._workers.pop(key, None)
            if not queue:
                self._queues.pop(key, None)

    async def _attempt(self, tenant: str, delivery_id: str) -> float | None:
        """One POST. Returns when to try this delivery again, or None when it is done."""
        try:
            job = await self._in_store(tenant, self._prepare, tenant, delivery_id)
            if not isinstance(job, _Job):
                return job
            if job.failure is None:
                reply = await self.sender.post(
                    tenant, job.ep.url, job.body, job.headers, job.schedule.timeout
                )
            else:
                reply = Reply(None, "", job.failure)
            latency_ms = round((time.time() - job.started) * 1000, 3)
            return await self._in_store(
                tenant, self._finish, tenant, delivery_id, job, reply, latency_ms
            )
        except Exception as exc:
            # A fault of the fake's store (busy, or gone for a moment): the delivery stays
            # stored and goes again a little later.
            log.warning(
                "webhook delivery %s of tenant %s: the store failed (%s); trying again in %gs",
                delivery_id,
                tenant,
                describe(exc),
                RETRY_AFTER_FAULT,
            )
            return time.time() + RETRY_AFTER_FAULT

    async def _in_store(self, tenant: str, work: Callable[..., T], *args: Any) -> T:
        async with self._store_turns.turn(tenant):
            return await asyncio.get_running_loop().run_in_executor(self._store, work, *args)

    def _prepare(self, tenant_name: str, delivery_id: str) -> _Job | float | None:
        """In a store thread: what the attempt sends, or when to look again (None: never)."""
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
            body = render_payload(ev, ep)
        except Exception as exc:  # an event stored in a shape this version cannot render
            log.warning("webhook delivery %s: its payload cannot be rendered", delivery_id)
            return _Job(rec, ep, ev, schedule, started, b"", {}, describe(exc))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Accept": "*/*; q=0.5, application/xml",
            "Cache-Control": "no-cache",
            "Stripe-Signature": sign(ep.secret, int(started), body),
        }
        return _Job(rec, ep, ev, schedule, started, body.encode(), headers, None)

    def _finish(
        self, tenant_name: str, delivery_id: str, job: _Job, reply: Reply, latency_ms: float
    ) -> float | None:
        """In a store thread: journal the attempt and store what it changed."""
        tenant = self.tenant(tenant_name)
        ok = reply.status is not None and 200 <= reply.status < 300
        with self.backend.transaction(tenant_name, True):
            # Re-read: the tenant may have been reset while the request was in flight.
            current = tenant.get(Delivery, delivery_id)
            next_at = None if current is None else self._next_at(current, ok, job.schedule)
            # Journal first, so whoever sees the new state (pending_webhooks) also sees it.
            self.attempts.record(
                tenant_name,
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
        """Stop the loop (pending deliveries stay stored) and close its connections."""
        with self._lock:
            self._closed = True
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        except Exception:
            log.exception("webhook delivery loop did not shut down cleanly")
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        try:
            # A successor need not wait for the leases to expire.
            self.backend.release_all(self.owner)
        except Exception:
            log.exception("releasing webhook delivery leases failed")

    async def _shutdown(self) -> None:
        tasks = [
            t for t in (self._pump_task, self._lease_task, *self._workers.values()) if t is not None
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.sender.close()
        self._store.shutdown(wait=True, cancel_futures=True)
        loop = asyncio.get_running_loop()
        await loop.shutdown_asyncgens()
        await loop.shutdown_default_executor()
