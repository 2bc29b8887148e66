"""Worker threads that give the event loop its turns at the GIL.

A request's work on a worker thread (`core.lanes`) holds the GIL while it computes. The event
loop's thread, woken by another tenant's request, needs the GIL back at each of its callbacks
and waits for it every time: until the switch interval forces the worker off, or until a C
call the worker is in (a model validated from a large JSON document) returns. A tenant sending
the largest requests the limits allow so doubled another tenant's GET latency at the median.

So the work calls `checkpoint()` where it may pause (a staged read or write, an object
rendered, an event made). On a worker thread, once it has computed for `BUDGET` seconds since
its last pause, it sleeps `PAUSE` seconds, and the loop takes the GIL meanwhile. It pauses
only while other tenants are being served (a request of another tenant in the last `WINDOW`
seconds): a tenant alone on the server never waits, nor one whose requests do not overlap
another's. In-process, `checkpoint()` does nothing.

On the loop's own thread, work the caller bounds (`on_loop`: a read that may walk many objects,
tried there first because a hand-off to a worker thread costs more than most such reads) stops
at the first checkpoint past its budget, raising `OutOfTurn`: the read is then run again on a
worker thread, where the rules above apply. Any request's work on the loop's thread, bounded
or not, stops there too before a module's first import (`before_import`: a model's, pydantic's
with the first, tens of milliseconds that every other request would wait out).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

# GUESS (docs/limits.md): fake-only, measured with the chaos suite's largest-requests phase
# (docs/benchmarks.md): while another tenant is served, the largest requests take about twice
# as long, and that tenant's GET p99 stays near twice its idle value (about 3× without pauses).
BUDGET = 0.0002  # seconds of work between two pauses
PAUSE = 0.0001  # seconds the loop has the GIL to itself
WINDOW = 0.05  # seconds a request of another tenant counts as "being served"


class Recent:
    """The two tenants whose requests were seen last, and when (from the loop's thread): enough
    to tell whether a tenant other than a given one was served within `WINDOW`."""

    def __init__(self) -> None:
        self._last: tuple[str, float] = ("", float("-inf"))
        self._before: tuple[str, float] = ("", float("-inf"))

    def saw(self, tenant: str) -> None:
        last = self._last
        if last[0] != tenant:
            self._before = last
        self._last = (tenant, time.monotonic())

    def others(self, tenant: str) -> float:
        """When a tenant other than `tenant` last sent a request (monotonic seconds)."""
        last = self._last  # one read of each: the loop's thread replaces them whole
        return last[1] if last[0] != tenant else self._before[1]


class _Work:
    __slots__ = ("recent", "since", "tenant")

    def __init__(self, tenant: str, recent: Recent) -> None:
        self.tenant = tenant
        self.recent = recent
        self.since = time.perf_counter()


class OutOfTurn(BaseException):
    """Work bounded on the event loop's thread (`on_loop`) ran past its budget. A
    `BaseException`, so that no handler's `except Exception` takes it for its own error."""


class _Local(threading.local):
    work: _Work | None = None  # the class's default: a thread that never set it reads None
    deadline: float | None = None  # `on_loop`'s, on the loop's thread


_local = _Local()
# The threads running such work now, and the loops' threads running bounded work: while there
# are none (in-process, a quiet server), a checkpoint returns after two reads of globals.
# Adding and discarding are atomic.
_working: set[int] = set()
_bounded: set[int] = set()
# The loops' threads running a request's work with no budget (`LOOP`): a set rather than a
# thread-local flag, whose every change cost some thousand instructions.
_unbounded: set[int] = set()


@contextlib.contextmanager
def on_loop(budget: float) -> Iterator[None]:
    """Within the block, a checkpoint reached `budget` seconds after its start raises
    `OutOfTurn`."""
    me = threading.get_ident()
    _local.deadline = time.perf_counter() + budget
    _bounded.add(me)
    try:
        yield
    finally:
        _bounded.discard(me)
        _local.deadline = None


class _OnLoop:
    """A request's work on the loop's thread with no budget (a light request): it runs whole,
    but leaves the loop before a first import (`before_import`)."""

    def __enter__(self) -> None:
        _unbounded.add(threading.get_ident())

    def __exit__(self, *exc: object) -> None:
        _unbounded.discard(threading.get_ident())


LOOP = _OnLoop()


def before_import() -> None:
    """Called before importing a module for the first time (a model's, and pydantic with the
    first): a request's work on the event loop's thread stops here (`OutOfTurn`) and runs again
    on a worker thread, so no other request waits for the import."""
    if _local.deadline is not None or threading.get_ident() in _unbounded:
        raise OutOfTurn


def imported(name: str) -> bool:
    """Whether module `name` is imported whole. One that another thread is importing is in
    `sys.modules` already, half made (its spec marked `_initializing`, as `importlib` itself
    reads it); importing it waits for that thread to finish."""
    module = sys.modules.get(name)
    spec = getattr(module, "__spec__", None)
    return module is not None and not getattr(spec, "_initializing", False)


_pause = time.sleep  # (tests count the pauses here)


def taking_turns(tenant: str, recent: Recent, fn: Callable[..., T]) -> Callable[..., T]:
    """`fn` as a worker thread runs it for `tenant`: its checkpoints may pause."""

    def run(*args: Any) -> T:
        me = threading.get_ident()
        _local.work = _Work(tenant, recent)
        _working.add(me)
        try:
            return fn(*args)
        finally:
            _working.discard(me)
            _local.work = None

    return run


def checkpoint() -> None:
    """Pause, if this is a worker thread's work that has had its time while others wait; stop,
    if this is bounded work on the loop's thread past its budget."""
    if not _working and not _bounded:
        return
    deadline = _local.deadline
    if deadline is not None:
        if time.perf_counter() > deadline:
            raise OutOfTurn
        return
    work = _local.work
    if work is None:
        return
    now = time.perf_counter()
    if now - work.since < BUDGET:
        return
    if time.monotonic() - work.recent.others(work.tenant) < WINDOW:
        _pause(PAUSE)
        now = time.perf_counter()
    work.since = now


def unbounded() -> None:
    """No stop from here to the end of the bounded block: what follows (a commit) must run
    whole once begun."""
    _local.deadline = None
    if _unbounded:
        _unbounded.discard(threading.get_ident())


def waited() -> None:
    """The work has just waited (a store round trip) rather than computed: the loop could take
    the GIL meanwhile, so the budget starts again. Without this, a request whose time goes on
    waiting for its store would pause at every checkpoint while others are served, and pay
    each pause on top of its waits."""
    if not _working:
        return
    work = _local.work
    if work is not None:
        work.since = time.perf_counter()


def suspend() -> _Work | None:
    """No pauses until `resume`: for work that holds a lock every tenant's writes wait for
    (SQLite's one write lock), where a pause would lengthen all of their waits. Returns what
    `resume` takes."""
    work = _local.work
    _local.work = None
    return work


def resume(work: _Work | None) -> None:
    _local.work = work
