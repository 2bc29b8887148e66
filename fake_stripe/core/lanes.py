"""Where a request's store work runs under a server: worker threads, a few per tenant.

A handler runs synchronously (its store transaction, the handler, rendering). On the event loop,
a handler that computes for a while or waits for a store lock would hold up every other
request. `Lanes.run` hands it to a bounded pool of threads instead and awaits the result, so
the loop goes on serving others. A tenant has at most `per_tenant` requests in the pool at once
(the rest wait their turn on the loop, holding no thread), so a tenant whose requests are slow
or blocked cannot take every worker from the others.

Stepped by hand in-process (`fake_stripe.inprocess` runs a `/v1` request with no task and no
turn of the loop) the work runs inline on the caller's thread: there is nobody else to serve,
and the hand-off would cost more than the fake's own work. Under a server, work the caller
knows to be light (a GET of one small object from memory) runs inline too: the hand-off to a
thread and back would cost about as much as the work, and the GIL hand-offs it takes are what
makes a request wait while another thread computes.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from .turns import Recent, taking_turns

T = TypeVar("T")

# GUESS (docs/limits.md): fake-only. Threads mostly wait (for a store lock, for PostgreSQL);
# CPU work is serialized by the GIL whatever their number.
WORKERS = 16
PER_TENANT = 4

_Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]


class Lanes:
    def __init__(
        self, workers: int = WORKERS, per_tenant: int = PER_TENANT, threads: bool = True
    ) -> None:
        self.workers = workers
        self.per_tenant = per_tenant
        # False: every request's work runs on the event loop, for a server with one client (the
        # scenario runner's own), which has no other tenant to keep waiting and would pay a
        # hand-off to a thread and back, and the GIL's switches with it, on every request.
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}
        self._waiting: dict[str, deque[_Waiter]] = {}
        # Whose requests the loop has seen lately: work in the pool pauses for the loop while
        # another tenant is being served (`core.turns`). The caller notes each request.
        self.recent = Recent()
        self._loop_writes: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None

    def inline(self, tenant: str, light: bool = False) -> bool:
        """Whether `run` would call its function on the caller's thread, at once: the caller
        is stepped by hand (no running task), the server has no worker threads (`threads`),
        or the work is `light` (bounded and waiting for nothing, the caller says) and the
        tenant has nothing in the pool (so it keeps its order)."""
        return (
            not self.threads
            or (light and tenant not in self._running)
            or asyncio.current_task() is None
        )

    async def run(self, tenant: str, fn: Callable[..., T], *args: Any, light: bool = False) -> T:
        """`fn(*args)` in a worker thread, once `tenant` has a free lane; inline where
        `inline` says."""
        if self.inline(tenant, light):
            return fn(*args)
        await self._enter(tenant)
        try:
            future = self._executor().submit(taking_turns(tenant, self.recent, fn), *args)
        except BaseException:
            self._leave(tenant)
            raise
        # The lane is given back when the work ends, not when the awaiting request does: a
        # request cancelled meanwhile leaves its work running in the thread until it is done.
        future.add_done_callback(lambda _f: self._leave(tenant))
        return await asyncio.wrap_future(future)

    async def aside(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker thread outside every tenant's lanes (work for the server as
        a whole, such as a module's first import), so that the loop goes on serving others;
        inline where `run` would be (stepped by hand, or no worker threads)."""
        if not self.threads or asyncio.current_task() is None:
            return fn(*args)
        return await asyncio.wrap_future(self._executor().submit(fn, *args))

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.workers, "fake-stripe-request")
        return self._pool

    async def _enter(self, tenant: str) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            n = self._running.get(tenant, 0)
            if n < self.per_tenant:
                self._running[tenant] = n + 1
                return
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiting.setdefault(tenant, deque()).append((loop, waiter))
        try:
            await waiter
        except asyncio.CancelledError:
            with self._lock:
                queue = self._waiting.get(tenant)
                if queue is not None and (loop, waiter) in queue:
                    queue.remove((loop, waiter))
                    if not queue:
                        del self._waiting[tenant]
                    raise
            if waiter.done() and not waiter.cancelled():
                self._leave(tenant)  # the lane reached this request just as it was cancelled
            # Otherwise the lane is on its way: `_hand` finds the waiter cancelled and frees it.
            raise

    def _leave(self, tenant: str) -> None:
        """Give the lane to the tenant's next waiting request, or free it. Any thread."""
        with self._lock:
            queue = self._waiting.get(tenant)
            if not queue:
                n = self._running.get(tenant, 1) - 1
                if n:
                    self._running[tenant] = n
                else:
                    self._running.pop(tenant, None)
                return
            loop, waiter = queue.popleft()
            if not queue:
                del self._waiting[tenant]
        try:
            loop.call_soon_threadsafe(self._hand, tenant, waiter)
        except RuntimeError:  # that loop is closed: nobody is waiting there any more
            self._leave(tenant)

    def _hand(self, tenant: str, waiter: asyncio.Future[None]) -> None:
        if waiter.done():  # cancelled while the lane was on its way
            self._leave(tenant)
        else:
            waiter.set_result(None)

    def loop_writes(self) -> asyncio.Lock:
        """The event loop's turn at a store's one write lock (`wire._serve_soon`): one of its
        requests at a time waits for it, the others queue here. One per loop."""
        loop = asyncio.get_running_loop()
        found = self._loop_writes
        if found is None or found[0] is not loop:
            found = self._loop_writes = (loop, asyncio.Lock())
        return found[1]

    def busy(self) -> dict[str, int]:
        """Requests in the pool per tenant (for tests and the health page)."""
        with self._lock:
            return dict(self._running)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
