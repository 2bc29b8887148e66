"""The delivery engine: when each pending delivery goes out, one POST at a time per endpoint,
on one event loop of its own in a daemon thread.

It knows deliveries only by tenant and id: what an attempt sends and what its outcome changes
are read and written by the store side (`delivery.Deliveries`, through `prepare` and `finish`),
in two store threads where tenants take turns, never on the loop. The same loop serves every
way the app is run (served, in-process transports whose loops come and go, Starlette's
TestClient), and `close()` ends it.

Deliveries to one endpoint go out one at a time, in the order they are due (the order the
events happened, unless the tenant shuffles them); retries go to the back. No tenant can hold
delivery for the others: an attempt takes a fair turn first (`slots.py`: one per endpoint, 16
per tenant, 256 in all) and is one POST bounded in time and bytes (`sender.py`). Keys cost
nothing to invent, so many tenants together can take all 256 turns with receivers that never
answer: then, while a tenant holding fewer turns waits, the busiest tenant's oldest attempt that
has run `CUT_AFTER` seconds is cut short (a failed attempt, retried as any other). With a store
other processes share, the engine renews this process's leases every third of `lease_seconds`
and takes over those of processes that stopped (`renew_and_claim`).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..resources.webhook_endpoints import MAX_ENDPOINTS
from .sender import InFlight, Reply, Sender, describe
from .slots import Slots

log = logging.getLogger("fake_stripe")
T = TypeVar("T")

RETRY_AFTER_FAULT = 5.0  # seconds: an attempt the fake itself failed (store busy) goes again
# Attempts in flight at once: per endpoint one (its deliveries go out in order), per tenant as
# many as Stripe lets it have endpoints, and in all a share of the process's sockets.
TENANT_IN_FLIGHT = MAX_ENDPOINTS
IN_FLIGHT = 256
STORE_THREADS = 2
# How long an attempt runs before it may be cut short for a tenant waiting for a turn: the
# longest such a wait lasts, whatever timeouts the busy tenants set (up to 300 s).
CUT_AFTER = 5.0  # seconds

HeapItem = tuple[float, int, str, str, str]  # due, order, tenant, delivery id, endpoint id


@dataclass(frozen=True)
class Job:
    """One attempt as the store side prepared it: what to send where, or why it cannot be sent
    (`failure`: the attempt fails without a POST)."""

    url: str
    body: bytes
    headers: dict[str, str]
    timeout: float
    started: float
    failure: str | None


J = TypeVar("J", bound=Job)
# (tenant, delivery id, the attempt, its reply, latency in ms) -> when to try again, or None.
Finish = Callable[[str, str, J, Reply, float], float | None]
# Leases renewed, the expired ones claimed: (due, tenant, delivery id, endpoint id) of each.
Claim = Callable[[], list[tuple[float, str, str, str]]]


class Engine(Generic[J]):
    def __init__(
        self,
        # (tenant, delivery id) -> the attempt, when to look again (unix time), or None: done
        prepare: Callable[[str, str], J | float | None],
        finish: Finish[J],
        renew_and_claim: Claim | None,
        lease_seconds: float,
        allow_private: bool,
    ) -> None:
        self.prepare = prepare
        self.finish = finish
        self.renew_and_claim = renew_and_claim  # None: nobody else shares the store
        self.lease_seconds = lease_seconds
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        # Touched only on the loop:
        self._heap: list[HeapItem] = []
        # (tenant, delivery id) -> when it is due: a heap entry due at another time is stale (a
        # delivery handed over again for sooner, as the same id is after a tenant's reset).
        self._scheduled: dict[tuple[str, str], float] = {}
        self._queues: dict[tuple[str, str], deque[tuple[float, str, str]]] = {}
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._slots = Slots(TENANT_IN_FLIGHT, IN_FLIGHT)
        self._slots.on_full = self._cut_for_waiters
        self._flights: dict[str, list[InFlight]] = {}  # tenant -> its attempts, oldest first
        self._cut_timer: asyncio.TimerHandle | None = None
        self.sender = Sender(allow_private)
        # The store is read and written off the loop: a write may wait seconds for a lock
        # another process holds, and the loop serves every tenant's attempts. Tenants take
        # turns at its threads, so one tenant's queue of store work never delays another's.
        self._store = ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="fake-stripe-hooks")
        self._store_turns = Slots(1, STORE_THREADS)

    # ---- handing deliveries to the loop (any thread) ----------------------------------------
    def submit(self, tenant: str, delivery_id: str, endpoint_id: str, due: float) -> None:
        """Thread-safe: hand a delivery to the loop (started on first use)."""
        loop = self.start()
        if loop is None:
            return  # closed: it stays in the store for the next run
        item = (due, next(self._order), tenant, delivery_id, endpoint_id)
        with contextlib.suppress(RuntimeError):  # closed meanwhile: it stays stored
            loop.call_soon_threadsafe(self._push, item)

    def start(self) -> asyncio.AbstractEventLoop | None:
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
        self._tasks.append(loop.create_task(self._pump()))
        if self.renew_and_claim is not None:
            self._tasks.append(loop.create_task(self._keep_leases(self.renew_and_claim)))
        loop.run_forever()

    # ---- on the loop -------------------------------------------------------------------------
    async def _keep_leases(self, renew_and_claim: Claim) -> None:
        """Renew this process's leases, and take over those of processes that stopped."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                found = await loop.run_in_executor(self._store, renew_and_claim)
            except Exception as exc:
                log.warning("renewing webhook delivery leases failed (%s); trying again", exc)
                continue
            for due, name, delivery_id, endpoint_id in found:
                self._push((due, next(self._order), name, delivery_id, endpoint_id))

    def _push(self, item: HeapItem) -> None:
        key = (item[2], item[3])
        known = self._scheduled.get(key)
        if known is not None and known <= item[0]:
            return  # it goes out then anyway (and reads what is stored then)
        self._scheduled[key] = item[0]
        heapq.heappush(self._heap, item)
        self._wake.set()

    async def _pump(self) -> None:
        while True:
            now = time.time()
            while self._heap and self._heap[0][0] <= now:
                due, _n, tenant, delivery_id, endpoint_id = heapq.heappop(self._heap)
                if self._scheduled.get((tenant, delivery_id)) != due:
                    continue  # handed over again since, for sooner
                key = (tenant, endpoint_id)
                self._queues.setdefault(key, deque()).append((due, tenant, delivery_id))
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
                due, tenant, delivery_id = queue.popleft()
                flight = InFlight(tenant)
                async with self._slots.turn(tenant):
                    self._flights.setdefault(tenant, []).append(flight)
                    try:
                        next_at = await self._attempt(tenant, delivery_id, flight)
                    finally:
                        self._landed(flight)
                if self._slots.full:
                    self._cut_for_waiters()  # the turn it freed went to one of them; others?
                if self._scheduled.get((tenant, delivery_id)) == due:
                    del self._scheduled[(tenant, delivery_id)]
                if next_at is not None:
                    self._push((next_at, next(self._order), tenant, delivery_id, key[1]))
        finally:
            self._workers.pop(key, None)
            if not queue:
                self._queues.pop(key, None)

    def _landed(self, flight: InFlight) -> None:
        flights = self._flights[flight.tenant]
        flights.remove(flight)
        if not flights:
            del self._flights[flight.tenant]

    def _cut_for_waiters(self) -> None:
        """Every turn is taken: for each tenant waiting, cut short the oldest attempt that has
        run `CUT_AFTER` of the tenant holding the most turns, if it holds more than the waiter
        served next; if none has run that long yet, look again when the first will have."""
        slots = self._slots
        waiting = slots.waiting()
        if not slots.full or not waiting:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        fewest = min(slots.busy.get(key, 0) for key in waiting)
        # Turns not yet handed on; an attempt already cut hands its turn on soon.
        held = {t: sum(not f.was_cut for f in flights) for t, flights in self._flights.items()}
        cut = sum(len(flights) for flights in self._flights.values()) - sum(held.values())
        soonest: float | None = None
        for _ in range(len(waiting) - cut):
            sending = [
                (t, f)
                for t, flights in self._flights.items()
                if held[t] > fewest
                for f in flights
                if f.deadline is not None and not f.was_cut
            ]
            ready = [(t, f) for t, f in sending if now - (f.since or now) >= CUT_AFTER]
            if not ready:
                starts = [f.since for _t, f in sending if f.since is not None]
                soonest = min(starts) + CUT_AFTER if starts else None
                break
            tenant, flight = max(ready, key=lambda tf: (held[tf[0]], -(tf[1].since or now)))
            flight.cut()
            held[tenant] -= 1
        if soonest is not None and self._cut_timer is None:
            self._cut_timer = loop.call_at(soonest, self._cut_again)

    def _cut_again(self) -> None:
        self._cut_timer = None
        self._cut_for_waiters()

    async def _attempt(self, tenant: str, delivery_id: str, flight: InFlight) -> float | None:
        """One POST. Returns when to try this delivery again, or None when it is done."""
        try:
            job = await self._in_store(tenant, self.prepare, tenant, delivery_id)
            if not isinstance(job, Job):
                return job
            if job.failure is None:
                reply = await self.sender.post(
                    tenant, job.url, job.body, job.headers, job.timeout, flight
                )
            else:
                reply = Reply(None, "", job.failure)
            latency_ms = round((time.time() - job.started) * 1000, 3)
            return await self._in_store(
                tenant, self.finish, tenant, delivery_id, job, reply, latency_ms
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

    # ---- the end -----------------------------------------------------------------------------
    def close(self) -> bool:
        """Stop the loop and close its connections; pending deliveries stay stored. False when
        it never ran."""
        with self._lock:
            self._closed = True
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            self._store.shutdown(wait=False)
            return False
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        except Exception:
            log.exception("webhook delivery loop did not shut down cleanly")
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        return True

    async def _shutdown(self) -> None:
        tasks = [*self._tasks, *self._workers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.sender.close()
        self._store.shutdown(wait=True, cancel_futures=True)
        loop = asyncio.get_running_loop()
        await loop.shutdown_asyncgens()
        await loop.shutdown_default_executor()
