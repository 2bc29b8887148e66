"""The tenant clock: what time it is for a tenant, and the named schedules of work that time
makes due.

Tenant time is real time (or the server's frozen instant) plus the offset the tenant advanced
(`/v1/test_helpers/clock/advance`, at most `MAX_CLOCK_OFFSET` in all). A schedule is a list of
items `[due, *payload]` kept sorted in the tenant's metadata, with its earliest due time stored
beside it, so that "is anything due?" decodes nothing. The floors above register theirs as a
`Schedule` (a name, where its items are stored, what to do with the items that came due):
Financial Connections its deactivations and account-number expiries, ACH its settlements.
Before every request's handler the clock runs what is due (`run_due`), acting alone: the
events it records carry no request.

A request reads the clock once: the offset and every schedule's next due time are among the
names its tenant reads in one store call when the request first reads metadata (`names`), and
a request's clock reads real time once, so every timestamp the request writes is one instant.
"""

from __future__ import annotations

import importlib
import json
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from .errors import invalid_param

# GUESS (docs/limits.md): how far a tenant's clock may be advanced in all, so that every date
# the fake computes from it (a settlement, a TAN expiry, a deactivation 10 years ahead) stays a
# real calendar date and far from the end of Stripe's timestamps.
MAX_CLOCK_OFFSET = 100 * 365 * 86_400
OFFSET = "clock_offset"

Item = list[Any]


class Metadata(Protocol):
    """Where a clock keeps its state: a tenant's metadata (`Tenant`, `StagedTenant`)."""

    def meta_get(self, name: str) -> str | None: ...
    def meta_set(self, name: str, value: str) -> None: ...


class Request(Protocol):
    """What the clock needs of the request it runs due work in (`Ctx`)."""

    def acting_alone(self, alone: bool = True) -> AbstractContextManager[None]: ...


R = TypeVar("R", bound=Request)


@dataclass(frozen=True)
class Schedule(Generic[R]):
    name: str
    # Its items' metadata name (the next due time is `<key>_next`).
    key: str
    # Called with the items that came due, oldest first, acting alone: the function, or where
    # it is (`package.module:function`), imported when something first comes due.
    fire: Callable[[R, list[Item]], None] | str
    next_key: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "next_key", self.key + "_next")

    def run(self, ctx: R, items: list[Item]) -> None:
        fire = self.fire
        if isinstance(fire, str):
            module, name = fire.split(":")
            fire = getattr(importlib.import_module(module), name)
            object.__setattr__(self, "fire", fire)
        fire(ctx, items)


def by_name(*schedules: Schedule[Any]) -> dict[str, Schedule[Any]]:
    return {s.name: s for s in schedules}


class Clock:
    """One tenant's clock, read and written through `tenant` (a request's staged tenant, whose
    reads are the request's one read and whose writes commit with it). `fixed`: real time is
    read once, for a request; otherwise at each `now`."""

    def __init__(
        self,
        tenant: Metadata,
        schedules: Mapping[str, Schedule[Any]],
        frozen_at: int | None,
        fixed: bool = False,
        like: Clock | None = None,
    ) -> None:
        # A request's tenant holds its clock: a weak reference back keeps the pair out of the
        # cyclic collector, so a request's staged state is freed as the request ends.
        self.tenant: Metadata = weakref.proxy(tenant)
        self.schedules = schedules
        self.frozen_at = frozen_at
        self.fixed = fixed
        self._wall: int | None = None
        self._now: int | None = None  # a fixed clock's `now`, until the offset moves
        self._next_keys: tuple[str, ...]
        self._names: tuple[str, ...]
        if like is not None:  # a clock over the same schedules: its names are these
            self._next_keys, self._names = like._next_keys, like._names
        else:
            self._next_keys = tuple(s.next_key for s in schedules.values())
            self._names = (OFFSET, *self._next_keys)

    def restart(self) -> None:
        """A fixed clock reads real time again at its next `now` (a new transaction)."""
        self._wall = self._now = None

    def names(self) -> tuple[str, ...]:
        """What a request reads of the clock: the offset and each schedule's next due time."""
        return self._names

    # ---- time --------------------------------------------------------------------------------
    def now(self) -> int:
        if self._now is not None:
            return self._now
        now = self._base() + int(self.tenant.meta_get(OFFSET) or 0)
        if self.fixed:  # its time and its offset move only through `restart` and `advance`
            self._now = now
        return now

    def _base(self) -> int:
        if self.frozen_at is not None:
            return self.frozen_at
        if not self.fixed:
            return int(time.time())
        if self._wall is None:
            self._wall = int(time.time())
        return self._wall

    def advance(self, seconds: int, param: str = "seconds") -> int:
        """Move the clock `seconds` ahead; past MAX_CLOCK_OFFSET in all, a 400 naming `param`."""
        before = int(self.tenant.meta_get(OFFSET) or 0)
        if before + seconds > MAX_CLOCK_OFFSET:
            raise invalid_param(
                param,
                f"The test clock can move at most {MAX_CLOCK_OFFSET} seconds (100 years) ahead "
                f"in all; it has moved {before} seconds already.",
            )
        self.tenant.meta_set(OFFSET, str(before + seconds))
        self._now = None
        return self.now()

    # ---- schedules ---------------------------------------------------------------------------
    def add(self, name: str, due: int, *payload: Any) -> None:
        schedule = self.schedules[name]
        items = self._items(schedule)
        items.append([due, *payload])
        items.sort(key=lambda i: i[0])
        self._store(schedule, items)

    def remove(self, name: str, match: Callable[[Item], bool]) -> None:
        """Take out the items of schedule `name` that `match`."""
        schedule = self.schedules[name]
        if self.tenant.meta_get(schedule.key):
            self._store(schedule, [i for i in self._items(schedule) if not match(i)])

    def due(self, name: str) -> list[Item]:
        """Take out and return the items of schedule `name` due now, oldest first."""
        schedule = self.schedules[name]
        nxt = self._next(schedule)
        now = self.now()
        if nxt is None or nxt > now:
            return []
        items = self._items(schedule)
        self._store(schedule, [i for i in items if i[0] > now])
        return [i for i in items if i[0] <= now]

    def next_due(self) -> int | None:
        """When the earliest item of any schedule is due (tenant time), if any."""
        get = self.tenant.meta_get  # asked before every request: kept to plain reads
        found: int | None = None
        for key in self._next_keys:
            if nxt := get(key):
                at = int(nxt)
                found = at if found is None or at < found else found
        return found

    def due_now(self) -> bool:
        nxt = self.next_due()
        return nxt is not None and nxt <= self.now()

    def run_due(self, ctx: Request, names: Iterable[str] | None = None) -> None:
        """Fire what is due in every schedule (or those named), acting alone."""
        if names is None and not self.due_now():
            return  # the common case, read from the next due times alone
        for name in self.schedules if names is None else names:
            items = self.due(name)
            if items:
                with ctx.acting_alone():
                    self.schedules[name].run(ctx, items)

    def _next(self, schedule: Schedule[Any]) -> int | None:
        nxt = self.tenant.meta_get(schedule.next_key)
        return int(nxt) if nxt else None

    def _items(self, schedule: Schedule[Any]) -> list[Item]:
        items: list[Item] = json.loads(self.tenant.meta_get(schedule.key) or "[]")
        return items

    def _store(self, schedule: Schedule[Any], items: list[Item]) -> None:
        self.tenant.meta_set(schedule.key, json.dumps(items))
        self.tenant.meta_set(schedule.next_key, str(items[0][0]) if items else "")
