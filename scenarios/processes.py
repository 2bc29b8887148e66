"""Scenarios played by several processes, forked from the runner once it has imported what they
need.

Playing a scenario is CPU work under one interpreter's lock (the reference client, the SDK,
and in-process the fake itself), so the threads of one runner share one core however many
there are. Forked processes share the imports (made once, before the fork) and use every core.

Each process plays scenarios with `workers` threads against its own target: in-process, its
own fake (every scenario has its own tenant anyway, so no scenario sees another's state); at a
URL, the one server. The runner hands out one scenario at a time as a process's thread becomes
free, the scenarios that wait for webhook deliveries first, and reads the results back as they
end. A process that dies (a crash, a kill) costs the scenarios it was playing, each reported
as an error naming how the process ended; the others go on.

Only a process with no other thread forks (a thread's locks would be copied held): elsewhere,
and where `os.fork` is missing or unsafe (Windows, macOS), the runner plays every scenario
itself (`can_fork`).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from types import TracebackType
from typing import Any

from . import MAX_PROCESSES
from .expect import Mismatch
from .model import Scenario
from .runner import Result, play, waiting_first
from .target import Target

TargetFactory = Callable[[], AbstractContextManager[Target]]


def can_fork() -> bool:
    """Whether this process may fork scenario processes now."""
    return (
        hasattr(os, "fork")
        and sys.platform != "darwin"  # fork without exec is unsafe with macOS's system libraries
        and threading.active_count() == 1
    )


def cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_processes(scenarios: int, workers: int) -> int:
    """One process per core, at most MAX_PROCESSES, and no more than the scenarios fill."""
    needed = -(-scenarios // max(workers, 1))
    return max(1, min(cores(), MAX_PROCESSES, needed))


@dataclass
class _Child:
    process: Any  # multiprocessing's forked Process
    tasks: Connection  # scenario indices to play; None: no more
    results: Connection  # (index, result fields) as each scenario ends
    running: set[int] = field(default_factory=set)
    closed: bool = False


class Processes:
    """`count` forked processes playing `scenarios`, `workers` threads each. Entering forks
    them; `collect` hands out the scenarios and returns the results in the order given."""

    def __init__(
        self,
        scenarios: Sequence[Scenario],
        make_target: TargetFactory,
        count: int,
        workers: int,
        seed: int | None = None,
    ) -> None:
        self.items = list(scenarios)
        self.make_target = make_target
        self.count = count
        self.workers = workers
        self.seed = seed
        self.children: list[_Child] = []

    def __enter__(self) -> Processes:
        context = multiprocessing.get_context("fork")
        try:
            for _ in range(self.count):
                tasks_out, tasks_in = context.Pipe(duplex=False)
                results_out, results_in = context.Pipe(duplex=False)
                # Ends the parent keeps: the new process closes them (and every earlier
                # process's), so that each process's end of the run is seen as its pipes' end.
                kept = [c for child in self.children for c in (child.tasks, child.results)]
                kept += [tasks_in, results_out]
                process = context.Process(
                    target=_child,
                    args=(self, tasks_out, results_in, kept),
                    name="fake-stripe-scenarios",
                    daemon=True,
                )
                process.start()
                tasks_out.close()
                results_in.close()
                self.children.append(_Child(process, tasks_in, results_out))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def collect(self, on_done: Callable[[Result], None] | None = None) -> list[Result]:
        results: dict[int, Result] = {}

        def done(i: int, r: Result) -> None:
            results[i] = r
            if on_done is not None:
                on_done(r)

        pending = deque(waiting_first(self.items))
        live = {child.results: child for child in self.children}
        for child in self.children:
            for _ in range(self.workers):
                self._give(child, pending)
        while live:
            for conn in wait(list(live)):
                child = live[conn]  # type: ignore[index]
                try:
                    i, fields = child.results.recv()
                except (EOFError, OSError):
                    del live[conn]  # type: ignore[arg-type]
                    if child.running:
                        why = _ended(child)
                        for lost in sorted(child.running):
                            done(lost, Result(self.items[lost], "error", 0.0, error=why))
                        child.running.clear()
                    continue
                child.running.discard(i)
                done(i, Result(self.items[i], *fields))
                self._give(child, pending)
        for i in pending:
            done(i, Result(self.items[i], "error", 0.0, error="not played: no process was left"))
        return [results[i] for i in range(len(self.items))]

    def _give(self, child: _Child, pending: deque[int]) -> None:
        """The child's next scenario, or its end once it has nothing left to play."""
        if child.closed:
            return
        try:
            if pending:
                i = pending.popleft()
                child.running.add(i)
                try:
                    child.tasks.send(i)
                except BaseException:
                    child.running.discard(i)
                    pending.appendleft(i)
                    raise
            elif not child.running:
                child.closed = True
                child.tasks.send(None)
        except OSError:  # the process is gone: its results pipe says so next
            child.closed = True

    def close(self) -> None:
        for child in self.children:
            child.tasks.close()
            child.results.close()
        for child in self.children:
            child.process.join(timeout=5)
            if child.process.is_alive():
                child.process.terminate()
                child.process.join(timeout=5)


def _ended(child: _Child) -> str:
    """How a scenario process that stopped answering ended."""
    child.process.join(timeout=5)
    code = child.process.exitcode
    if code is None:
        how = "stopped answering"
    elif code < 0:
        how = f"was killed by signal {-code} ({signal.Signals(-code).name})"
    else:
        how = f"exited with status {code}"
    return f"the process playing it {how} before it ended"


def _child(
    pool: Processes, tasks: Connection, results: Connection, foreign: list[Connection]
) -> None:
    """A scenario process: play each scenario index received, send its result back."""
    # Ctrl-C reaches the whole process group: the runner stops its processes itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for conn in foreign:
        conn.close()
    lock = threading.Lock()

    def send(i: int, r: Result) -> None:
        fields = (r.outcome, r.seconds, r.mismatches, r.error, r.key)
        with lock:
            try:
                results.send((i, fields))
            except OSError:
                raise
            except Exception:  # a value that does not pickle: sent as it is shown
                shown = [
                    Mismatch(m.where, _Shown(m.expected), _Shown(m.actual), m.note)
                    for m in r.mismatches
                ]
                results.send((i, (r.outcome, r.seconds, shown, r.error, r.key)))

    broken = None
    try:
        where = pool.make_target()
        target = where.__enter__()
    except Exception as err:
        broken = f"the process playing it could not start: {type(err).__name__}: {err}"
    with ThreadPoolExecutor(pool.workers, "scenario") as threads:
        while True:
            try:
                i = tasks.recv()
            except (EOFError, OSError):
                break
            if i is None:
                break
            if broken is not None:
                send(i, Result(pool.items[i], "error", 0.0, error=broken))
            else:
                threads.submit(_play_and_send, pool, target, i, send)
    if broken is None:
        where.__exit__(None, None, None)


def _play_and_send(
    pool: Processes, target: Target, i: int, send: Callable[[int, Result], None]
) -> None:
    send(i, play(pool.items[i], target, pool.seed))


class _Shown:
    """A value as a mismatch shows it."""

    def __init__(self, value: Any) -> None:
        self.text = repr(value)

    def __repr__(self) -> str:
        return self.text
