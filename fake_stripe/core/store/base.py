"""What every store offers (`Backend`), and the two ways a store can refuse a transaction.

Three stores implement it: memory (one process), SQLite (the processes of one machine sharing a
file) and PostgreSQL (instances on many machines sharing a database). Each gives the guarantees
below by its own means; the rest of the fake only speaks to this interface.

- **One transaction per request** (`transaction`). A write transaction takes the store's write
  lock at its start (SQLite `BEGIN IMMEDIATE`, PostgreSQL a per-tenant advisory lock), so a
  request's read-modify-write cannot interleave with another process's. Why a lock at the start
  rather than version checks at the end: a handler reads from many places (objects, metadata,
  list walks), so a version check would have to track every read, and a conflict would mean
  running the handler again; requests last milliseconds, so letting writers wait for each other
  costs less. A read transaction (`write=False`, used by GETs) takes no lock: it reads a
  snapshot, and should it need to write after all (the tenant clock's due work runs on any
  request), a write that finds the store changed since its snapshot raises `Conflict` and the
  caller runs the request again in a write transaction.
- **Atomic counters and claims**: `increment` (ids, sequence numbers) and `meta_swap`
  (idempotency keys: one request wins a key) are single atomic statements.
- **Threads**: requests run on several threads at once (`core.lanes`), beside webhook
  delivery's. A store never makes one tenant's transaction wait for another tenant's, except
  where the engine has one lock for all (SQLite's write lock), and a thread's read never waits
  for another thread's transaction.
- **Leases** on objects (webhook deliveries): exactly one live owner attempts each one. An
  owner renews its leases while it lives; the leases of an owner that stopped renewing expire
  and `claim_expired` hands them to whoever asks first.
- **Lookups** (`put(..., index=...)`, `iter_desc(..., match=...)`): a few fields (a customer's
  `email`, an event's `type`) are indexed, so a filtered list reads only matching objects.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

# An object to store: its kind, its JSON and its indexed values (None: keep those it has).
Written = tuple[str, str, Mapping[str, str] | None]
# What a filtered walk reads: the objects whose indexed field holds a value, (field, value), or
# those that match any of several such entries (a list).
Match = tuple[str, str] | list[tuple[str, str]]


class Conflict(Exception):
    """A read transaction had to write, and another process wrote first: run again, writing."""


class Busy(Exception):
    """The store stayed locked by another process for longer than the store's lock timeout."""


class WouldWait(Exception):
    """A write transaction asked not to wait (`wait=False`) found the write lock taken: by a
    thread of this process (`here`), whose transaction is short, or by another process."""

    def __init__(self, message: str, here: bool) -> None:
        super().__init__(message)
        self.here = here


class Backend(Protocol):
    # Whether other processes may share this store (memory: no). Only a shared store needs to
    # look for the expired leases of processes that died.
    shared: bool
    # Whether a read may run on the event loop: it never waits for a lock another thread or
    # process holds (memory: the tenant's own lock only; SQLite in WAL mode: readers never wait
    # for the writer) and does no network I/O (PostgreSQL does).
    inline_reads: bool
    # Kinds whose presence in a tenant the store records under a meta name (kind -> name), set
    # in the write that stores the tenant's first object of the kind and kept after deletes: a
    # request reads it with the rest of its meta (`StagedTenant.may_hold`) where `may_hold`
    # would cost a statement (SQL stores); empty where `may_hold` costs nothing (memory).
    marked: Mapping[str, str]

    def transaction(
        self, tenant: str, write: bool, wait: bool = True
    ) -> AbstractContextManager[None]:
        """Everything inside is one atomic unit; an exception rolls it back. Nested
        transactions join the outer one. `tenant` scopes the write lock where the store can.
        `wait=False`: a write whose lock another thread or process holds raises `WouldWait`
        on entering rather than waiting for it (for work on the event loop)."""
        ...

    def settle(self, tenant: str, timeout: float = ...) -> None:
        """Wait for the transactions of `tenant` that other threads of this process hold now:
        once they end, this thread sees what they committed (a thread told of a write from
        inside its transaction, as webhook delivery is, calls this before reading)."""
        ...

    def get(self, tenant: str, obj_id: str) -> tuple[str, str] | None: ...
    def put(
        self,
        tenant: str,
        kind: str,
        obj_id: str,
        data: str,
        index: Mapping[str, str] | None = None,
    ) -> None:
        """Store an object; `index` (when not None) replaces its indexed field values."""
        ...

    def delete(self, tenant: str, obj_id: str) -> None: ...
    def write(
        self,
        tenant: str,
        meta: Mapping[str, str],
        objects: Sequence[tuple[str, Written | None]],
        new: Collection[str] = (),
    ) -> None:
        """What one request changed, at once: metadata names and values, then objects in the
        order they were first changed, each (id, (kind, JSON, index)) or (id, None) to delete.
        The same as `meta_set`, `put` and `delete` one by one, in as few statements as the
        store can (SQL: one per table). `new`: ids the caller numbered in this transaction,
        which no stored object has (the store need not look for them)."""
        ...

    def iter_desc(
        self,
        tenant: str,
        kind: str,
        starting_after: str | None,
        ending_before: str | None,
        match: Match | None = None,
        first: int | None = None,
    ) -> Iterator[tuple[str, str]]:
        """Objects of a kind, newest first; strictly older than `starting_after` if given. With
        `ending_before` the walk goes oldest-first from just newer than it. With
        `match=(field, value)` only objects whose indexed `field` equals `value`; with a list
        of such entries, the objects that match any of them (each once). `first`: how many the
        caller means to read before it may stop (a page and one more), a hint a store that
        reads in batches sizes its first batch by."""
        ...

    def may_hold(self, tenant: str, kind: str) -> bool:
        """False only when the tenant is known to hold no object of `kind` (a walk of it would
        find nothing); True when it may (a store that cannot tell cheaply says True)."""
        ...

    def newest_first(self, tenant: str, ids: Collection[str]) -> list[str]:
        """Those of `ids` that name stored objects, in `iter_desc`'s order (a list filtered to a
        few known ids reads only those)."""
        ...

    def meta_get(self, tenant: str, name: str) -> str | None: ...
    def meta_many(self, tenant: str, names: tuple[str, ...]) -> dict[str, str]:
        """Several names at once (one round trip): those that are set, with their values."""
        ...

    def meta_set(self, tenant: str, name: str, value: str) -> None: ...
    def meta_swap(self, tenant: str, name: str, old: str | None, new: str | None) -> bool:
        """Set `name` to `new` only if it still holds `old` (None: only if absent); `new` None
        removes it. Atomic across processes; True when this call made the change."""
        ...

    def increment(self, tenant: str, name: str) -> int: ...

    def lease(self, tenant: str, obj_id: str, owner: str, until: float, now: float) -> bool:
        """Take or renew the lease on an object: granted when nobody holds it, when its lease
        expired before `now`, or when `owner` holds it already."""
        ...

    def renew(self, owner: str, until: float) -> int:
        """Extend every lease `owner` holds; returns how many it holds."""
        ...

    def release_all(self, owner: str) -> None:
        """Let every lease of `owner` expire now (a clean shutdown: a successor takes over at
        once instead of waiting for the expiry)."""
        ...

    def claim_expired(
        self, owner: str, until: float, now: float, limit: int
    ) -> list[tuple[str, str]]:
        """Take up to `limit` leases that expired before `now`; returns (tenant, id) pairs.
        Two callers never get the same lease."""
        ...

    def any_expired(self, now: float) -> bool:
        """Whether some lease expired before `now` (one `claim_expired` would take), read
        without taking it."""
        ...

    def reset(self, tenant: str | None) -> None: ...
    def tenants(self) -> list[str]: ...
    def close(self) -> None: ...
