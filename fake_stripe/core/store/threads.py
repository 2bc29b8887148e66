"""A connection per thread for the SQL stores, and the write transactions open in the process.

Requests run on several worker threads at once (`core.lanes`), beside the delivery thread and
the event loop. With one connection shared by all of them, a thread waiting for the store's
write lock (SQLite's `BEGIN IMMEDIATE`, a PostgreSQL advisory lock) would hold the connection,
and every other thread would wait behind it, reads included. With a connection each, a thread
waits only for what its own statement waits for.

A connection sees only what was committed, though, and a thread is sometimes told of a write
before its transaction commits (webhook delivery hears of a request's events from inside the
request's transaction, so the deliveries are stored with it). `Writers.settle` waits for the
transactions of a tenant open on other threads of the process at the time of the call.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

C = TypeVar("C")

# Long enough for any transaction of a request, short enough that a stuck one holds nobody long.
SETTLE_TIMEOUT = 10.0


class Slot(Generic[C]):
    """A thread's connection and where it stands: how deep in nested transactions, whether
    the open transaction is a read snapshot, and the statement that opens it when it is yet
    to be sent (PostgreSQL sends it with the transaction's first statement)."""

    __slots__ = ("conn", "depth", "reading", "opening", "__weakref__")

    def __init__(self, conn: C) -> None:
        self.conn = conn
        self.depth = 0
        self.reading = False
        self.opening: str | None = None


class PerThread(Generic[C]):
    def __init__(self, connect: Callable[[], C], close: Callable[[C], None]) -> None:
        self._connect = connect
        self._close = close
        self._local = threading.local()
        # Every open slot, to close them all at the end; a thread that ends drops its own.
        self._slots: weakref.WeakSet[Slot[C]] = weakref.WeakSet()
        self._lock = threading.Lock()
        self.closed = False

    def slot(self) -> Slot[C]:
        """The calling thread's slot, connecting on its first use."""
        found: Slot[C] | None = getattr(self._local, "slot", None)
        return self._open() if found is None else found

    def _open(self) -> Slot[C]:
        if self.closed:
            raise RuntimeError("the store is closed")
        slot = Slot(self._connect())
        # The connection of a thread that ended is closed when its slot goes.
        weakref.finalize(slot, self._close, slot.conn)
        with self._lock:
            self._slots.add(slot)
        self._local.slot = slot
        return slot

    def replace(self, slot: Slot[C]) -> Slot[C]:
        """A new connection for the calling thread (its connection broke)."""
        self._local.slot = None
        try:
            self._close(slot.conn)
        except Exception:  # already broken: nothing left to close
            pass
        return self._open()

    def close(self) -> None:
        self.closed = True
        with self._lock:
            slots = list(self._slots)
        for slot in slots:
            self._close(slot.conn)


class _Open:
    """A transaction open in this process: its thread, and the event a `settle` waits on, made
    only when one does (an event is a lock and a condition: most transactions end unwatched)."""

    __slots__ = ("owner", "done")

    def __init__(self, owner: int) -> None:
        self.owner = owner
        self.done: threading.Event | None = None


class Writers:
    """The transactions open in this process, per tenant."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, set[_Open]] = {}

    def begin(self, tenant: str) -> _Open:
        """A transaction of `tenant` holds its lock now; `end` it once it has ended."""
        held = _Open(threading.get_ident())
        with self._lock:
            found = self._open.get(tenant)
            if found is None:
                self._open[tenant] = {held}
            else:
                found.add(held)
        return held

    def end(self, tenant: str, held: _Open) -> None:
        with self._lock:
            found = self._open.get(tenant)
            if found is not None:
                found.discard(held)
                if not found:
                    del self._open[tenant]
            # A `settle` made its event under this lock while `held` was still listed: it is
            # seen here; one that comes after finds `held` gone.
            done = held.done
        if done is not None:
            done.set()

    def settle(self, tenant: str, timeout: float) -> None:
        """Wait, `timeout` seconds at most, for the transactions of `tenant` that other threads
        hold now to end (committed or rolled back)."""
        me = threading.get_ident()
        pending: list[threading.Event] = []
        with self._lock:
            for held in self._open.get(tenant, ()):
                if held.owner != me:
                    if held.done is None:
                        held.done = threading.Event()
                    pending.append(held.done)
        deadline = time.monotonic() + timeout
        for done in pending:
            done.wait(max(0.0, deadline - time.monotonic()))
