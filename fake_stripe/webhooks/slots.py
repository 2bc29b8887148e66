"""Fair turns for work of many tenants on one event loop: at most `per_key` at once for one
tenant and `total` in all; when the total is reached, a freed turn goes to the waiting tenant
that holds the fewest, so a tenant that asks for many waits behind its own work, not others
behind it.

The delivery engine takes one turn per webhook attempt (so one tenant's hanging receivers hold
at most its own share of connections), and the sender one per name lookup. Keys cost nothing
to invent, so many tenants together can still take every turn: `on_full` tells the owner when a
tenant starts waiting because of that (the engine then cuts the longest attempts short).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager


class Slots:
    """Used on one event loop only."""

    def __init__(self, per_key: int, total: int) -> None:
        self.per_key = per_key
        self.total = total
        self.busy: dict[str, int] = {}
        self._in_use = 0
        # Tenants with work waiting, in the order they get the next freed turn.
        self._waiting: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()
        # Called when a key starts waiting while every turn is taken.
        self.on_full: Callable[[], None] | None = None

    @asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[None]:
        await self._acquire(key)
        try:
            yield
        finally:
            self._release(key)

    async def acquire(self, key: str) -> None:
        """A turn for `key`, held until `release(key)` (when the block of `turn` cannot span
        the work: a thread that goes on after its awaiter gave up)."""
        await self._acquire(key)

    def release(self, key: str) -> None:
        self._release(key)

    @property
    def full(self) -> bool:
        return self._in_use >= self.total

    def waiting(self) -> list[str]:
        """The keys with work waiting for a turn."""
        return [key for key, queue in self._waiting.items() if any(not f.done() for f in queue)]

    async def _acquire(self, key: str) -> None:
        if key not in self._waiting and self._free(key):
            self._take(key)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, deque()).append(future)
        if self.on_full is not None and self.full:
            self.on_full()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release(key)  # granted as it was cancelled: hand the turn on
            else:
                self._forget(key, future)
            raise

    def _free(self, key: str) -> bool:
        return self._in_use < self.total and self.busy.get(key, 0) < self.per_key

    def _take(self, key: str) -> None:
        self._in_use += 1
        self.busy[key] = self.busy.get(key, 0) + 1

    def _release(self, key: str) -> None:
        self._in_use -= 1
        left = self.busy[key] - 1
        if left:
            self.busy[key] = left
        else:
            del self.busy[key]
        self._grant()

    def _forget(self, key: str, future: asyncio.Future[None]) -> None:
        queue = self._waiting.get(key)
        if queue is not None and future in queue:
            queue.remove(future)
            if not queue:
                del self._waiting[key]

    def _grant(self) -> None:
        while self._in_use < self.total:
            for key in list(self._waiting):
                queue = self._waiting[key]
                while queue and queue[0].done():  # its task was cancelled while it waited
                    queue.popleft()
                if not queue:
                    del self._waiting[key]
            ready = [key for key in self._waiting if self._free(key)]
            if not ready:
                return
            # The tenant holding the fewest turns goes first; among equals, the longest waiting.
            key = min(ready, key=lambda k: self.busy.get(k, 0))
            queue = self._waiting.pop(key)
            self._take(key)
            queue.popleft().set_result(None)
            if queue:
                self._waiting[key] = queue  # to the back of its equals
