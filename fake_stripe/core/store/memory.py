"""The default store: everything in dicts, gone when the process ends.

Objects are kept as JSON text keyed by id, as in the SQL stores, so every store behaves alike
(a handler that forgets to `put` a change loses it in all of them). Lists walk a per-kind
sequence index from a bisected position, so no request costs more as the store grows.

Each tenant has its own lock, held for a whole transaction: requests of one tenant (on the
request threads and the delivery thread) take turns, those of different tenants never wait for
each other. Reads outside a transaction take no lock.
"""

from __future__ import annotations

import heapq
import json
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from itertools import chain

from ..turns import checkpoint
from . import seqs as ordered
from .base import Match, WouldWait, Written


def _encode_index(index: Mapping[str, str]) -> str:
    """An object's index entries as the store keeps them: one string (a dict or a tuple would
    be walked by the collector), its fields and values joined by NUL, or JSON (which starts
    with `{`, as no field does) when a value holds a NUL itself."""
    joined = "\0".join(chain.from_iterable(index.items()))
    if joined.count("\0") != 2 * len(index) - 1:
        return json.dumps(index)
    return joined


def _decode_index(entries: str) -> Iterable[tuple[str, str]]:
    if entries.startswith("{"):
        found: dict[str, str] = json.loads(entries)
        return found.items()
    parts = entries.split("\0")
    return zip(parts[::2], parts[1::2], strict=True)


def _lookup_key(kind: str, field: str, value: str) -> str:
    # kind and field are the fake's own names (no NUL): the value, last, cannot make two
    # entries meet.
    return f"{kind}\0{field}\0{value}"


class _MemTenant:
    """One tenant's objects, held in containers the cyclic garbage collector does not walk.

    Every structure below holds only strings, ints and bytearrays (`seqs`), none of which the
    collector tracks; a dict of such values is never tracked either. A full collection, during
    which every thread of the process waits, so costs the same whatever a tenant has stored (a
    dict of tuples, or lists of ints, are walked entry by entry: about 16 ms at 130,000
    objects, a pause every other tenant's request waits out).
    """

    __slots__ = (
        *("objects", "kind_of", "seq_of", "ids", "kinds", "lookup", "indexed", "meta"),
        *("seq", "lock"),
    )

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.objects: dict[str, str] = {}  # id -> json
        self.kind_of: dict[str, str] = {}
        self.seq_of: dict[str, int] = {}
        self.ids: dict[int, str] = {}  # seq -> id, of the objects stored now
        self.kinds: dict[str, bytearray] = {}  # kind -> its objects' seqs, ascending
        # _lookup_key(kind, field, value) -> the seqs of the objects whose field holds value
        self.lookup: dict[str, bytearray] = {}
        self.indexed: dict[str, str] = {}  # id -> its index entries, as JSON
        self.meta: dict[str, str] = {}
        self.seq = 0


class _Held:
    """A transaction of the memory store: the tenant's lock, held until the block ends (a
    class, not a generator: every request opens one)."""

    __slots__ = ("_t",)

    def __init__(self, t: _MemTenant) -> None:
        self._t = t

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self._t.lock.release()


_NOTHING_HELD: AbstractContextManager[None] = nullcontext()


class MemoryBackend:
    shared = False
    inline_reads = True
    marked: Mapping[str, str] = {}  # `may_hold` reads the tenant's kinds

    def __init__(self) -> None:
        self._tenants: dict[str, _MemTenant] = {}
        # Leases span tenants (the delivery thread claims any tenant's): one short lock.
        self._lease_lock = threading.Lock()
        self._leases: dict[tuple[str, str], tuple[str, float]] = {}

    def _t(self, tenant: str) -> _MemTenant:
        t = self._tenants.get(tenant)
        if t is None:
            # setdefault: two threads meeting a new tenant at once keep the same one
            t = self._tenants.setdefault(tenant, _MemTenant())
        return t

    def _acquire(self, tenant: str) -> _MemTenant:
        """The tenant, its lock now held by the caller, who releases it. Every write holds it
        (re-entered inside a transaction). Not a context manager: writes are the hot path."""
        t = self._t(tenant)
        t.lock.acquire()
        while self._tenants.get(tenant) is not t:  # reset while this one waited: a new tenant
            t.lock.release()
            t = self._t(tenant)
            t.lock.acquire()
        return t

    def transaction(
        self, tenant: str, write: bool, wait: bool = True
    ) -> AbstractContextManager[None]:
        if not write and tenant not in self._tenants:
            # A tenant that never wrote has nothing to read or to hold: nothing is made for it
            # (keys cost nothing to invent, and each one's reads would be kept for ever). A
            # write in the block makes it (`write`).
            return _NOTHING_HELD
        if wait:
            return _Held(self._acquire(tenant))
        t = self._t(tenant)
        if not t.lock.acquire(blocking=False):
            raise WouldWait(tenant, here=True)
        if self._tenants.get(tenant) is not t:  # reset meanwhile: not worth waiting for either
            t.lock.release()
            raise WouldWait(tenant, here=True)
        return _Held(t)

    def settle(self, tenant: str, timeout: float = 0.0) -> None:
        """Nothing to wait for: a write is seen by every thread as soon as it is made."""

    def get(self, tenant: str, obj_id: str) -> tuple[str, str] | None:
        t = self._tenants.get(tenant)
        if t is None:
            return None
        data = t.objects.get(obj_id)
        kind = t.kind_of.get(obj_id)  # None if deleted since: a put sets it before the data
        return None if data is None or kind is None else (kind, data)

    def put(
        self,
        tenant: str,
        kind: str,
        obj_id: str,
        data: str,
        index: Mapping[str, str] | None = None,
    ) -> None:
        t = self._acquire(tenant)
        try:
            self._put(t, kind, obj_id, data, index)
        finally:
            t.lock.release()

    def _put(
        self, t: _MemTenant, kind: str, obj_id: str, data: str, index: Mapping[str, str] | None
    ) -> None:
        seq = t.seq_of.get(obj_id)
        new = seq is None
        if seq is None:
            # The tenant's next seq: larger than every entry of every index, so it goes last.
            seq = t.seq = t.seq + 1
            entry = ordered.pack(seq)
            t.kind_of[obj_id] = kind
            t.seq_of[obj_id] = seq
            t.ids[seq] = obj_id
            k = t.kinds.get(kind)
            if k is None:
                k = t.kinds.setdefault(kind, bytearray())
            k += entry
        else:
            t.kind_of[obj_id] = kind
            entry = None
        t.objects[obj_id] = data
        if index:
            entries = _encode_index(index)
            if new or t.indexed.get(obj_id) != entries:
                if not new:
                    self._unindex(t, kind, obj_id, seq)
                for field, value in index.items():
                    key = f"{kind}\0{field}\0{value}"  # (`_lookup_key`, inline)
                    found = t.lookup.get(key)
                    if found is None:
                        found = t.lookup.setdefault(key, bytearray())
                    if entry is None:
                        ordered.add(found, seq)  # in order, and only if not there
                    else:
                        found += entry
                t.indexed[obj_id] = entries
        elif index is not None and obj_id in t.indexed:
            self._unindex(t, kind, obj_id, seq)

    @staticmethod
    def _unindex(t: _MemTenant, kind: str, obj_id: str, seq: int) -> None:
        entries = t.indexed.pop(obj_id, None)
        for field, value in _decode_index(entries) if entries else ():
            found = t.lookup.get(_lookup_key(kind, field, value))
            if found is not None:
                ordered.remove(found, seq)

    def write(
        self,
        tenant: str,
        meta: Mapping[str, str],
        objects: Sequence[tuple[str, Written | None]],
        new: Collection[str] = (),  # (a dict lookup finds an id's seq here: nothing to save)
    ) -> None:
        t = self._acquire(tenant)
        try:
            t.meta.update(meta)
            for oid, row in objects:
                checkpoint()
                if row is None:
                    self.delete(tenant, oid)
                else:
                    self._put(t, row[0], oid, row[1], row[2])
        finally:
            t.lock.release()

    def delete(self, tenant: str, obj_id: str) -> None:
        if tenant not in self._tenants:
            return
        t = self._acquire(tenant)
        try:
            if t.objects.pop(obj_id, None) is not None:
                # Its seq stays in the kind's sequence, which walks skip when no id answers.
                seq = t.seq_of.pop(obj_id)
                kind = t.kind_of.pop(obj_id)
                del t.ids[seq]
                self._unindex(t, kind, obj_id, seq)
        finally:
            t.lock.release()
        with self._lease_lock:
            self._leases.pop((tenant, obj_id), None)

    def may_hold(self, tenant: str, kind: str) -> bool:
        # A deleted object's seq stays in its kind's sequence: True then, and the walk skips it.
        t = self._tenants.get(tenant)
        return t is not None and bool(t.kinds.get(kind))

    def iter_desc(
        self,
        tenant: str,
        kind: str,
        starting_after: str | None,
        ending_before: str | None,
        match: Match | None = None,
        first: int | None = None,  # (nothing is read ahead here)
    ) -> Iterator[tuple[str, str]]:
        t = self._tenants.get(tenant)
        if t is None:
            return
        if isinstance(match, list):
            yield from self._any_of(t, kind, starting_after, ending_before, match)
            return
        k = t.kinds.get(kind) if match is None else t.lookup.get(_lookup_key(kind, *match))
        if k is None:
            return
        # .get throughout: the delivery thread may delete an object while a request walks
        if ending_before is not None:
            cursor = t.seq_of.get(ending_before)
            start = ordered.bisect_right(k, cursor) if cursor is not None else ordered.count(k)
            walk = ordered.ascending(k, start)
        else:
            cursor = None if starting_after is None else t.seq_of.get(starting_after)
            if starting_after is None:
                end = ordered.count(k)
            else:
                end = ordered.bisect_left(k, cursor) if cursor is not None else 0
            walk = ordered.descending(k, end)
        for seq in walk:
            oid = t.ids.get(seq)
            data = t.objects.get(oid) if oid is not None else None
            if oid is not None and data is not None:
                yield oid, data

    @staticmethod
    def _any_of(
        t: _MemTenant,
        kind: str,
        starting_after: str | None,
        ending_before: str | None,
        entries: list[tuple[str, str]],
    ) -> Iterator[tuple[str, str]]:
        """The objects that match any of `entries`, each once: the entries' sequences merged,
        read from the cursor on as far as the caller goes."""
        found = [k for e in entries if (k := t.lookup.get(_lookup_key(kind, *e))) is not None]
        cursor = t.seq_of.get(starting_after or ending_before or "")
        newer = ending_before is not None
        if (starting_after or ending_before) and cursor is None:
            return  # as the one-entry walk: nothing past a cursor that is not stored

        def seqs(k: bytearray) -> Iterator[int]:
            # A slice at a time: about as many entries as the caller reads.
            if newer:
                start = ordered.bisect_right(k, cursor) if cursor is not None else ordered.count(k)
                return ordered.ascending(k, start)
            end = ordered.bisect_left(k, cursor) if cursor is not None else ordered.count(k)
            return ordered.descending(k, end)

        last = None
        for seq in heapq.merge(*(seqs(k) for k in found), reverse=not newer):
            if seq == last:
                continue
            last = seq
            oid = t.ids.get(seq)
            data = t.objects.get(oid) if oid is not None else None
            if oid is not None and data is not None:
                yield oid, data

    def newest_first(self, tenant: str, ids: Collection[str]) -> list[str]:
        t = self._tenants.get(tenant)
        if t is None:
            return []
        rows = [(seq, oid) for oid in set(ids) if (seq := t.seq_of.get(oid)) is not None]
        return [oid for _seq, oid in sorted(rows, reverse=True)]

    def meta_get(self, tenant: str, name: str) -> str | None:
        t = self._tenants.get(tenant)
        return None if t is None else t.meta.get(name)

    def meta_many(self, tenant: str, names: tuple[str, ...]) -> dict[str, str]:
        t = self._tenants.get(tenant)
        if t is None:
            return {}
        return {n: t.meta[n] for n in names if n in t.meta}

    def meta_set(self, tenant: str, name: str, value: str) -> None:
        t = self._acquire(tenant)
        try:
            t.meta[name] = value
        finally:
            t.lock.release()

    def meta_swap(self, tenant: str, name: str, old: str | None, new: str | None) -> bool:
        t = self._acquire(tenant)
        try:
            if t.meta.get(name) != old:
                return False
            if new is None:
                t.meta.pop(name, None)
            else:
                t.meta[name] = new
            return True
        finally:
            t.lock.release()

    def increment(self, tenant: str, name: str) -> int:
        t = self._acquire(tenant)
        try:
            n = int(t.meta.get(name) or 0) + 1
            t.meta[name] = str(n)
            return n
        finally:
            t.lock.release()

    def lease(self, tenant: str, obj_id: str, owner: str, until: float, now: float) -> bool:
        with self._lease_lock:
            held = self._leases.get((tenant, obj_id))
            if held is not None and held[0] != owner and held[1] >= now:
                return False
            self._leases[(tenant, obj_id)] = (owner, until)
            return True

    def renew(self, owner: str, until: float) -> int:
        with self._lease_lock:
            mine = [k for k, (o, _u) in self._leases.items() if o == owner]
            for k in mine:
                self._leases[k] = (owner, until)
            return len(mine)

    def release_all(self, owner: str) -> None:
        self.renew(owner, 0.0)

    def claim_expired(
        self, owner: str, until: float, now: float, limit: int
    ) -> list[tuple[str, str]]:
        with self._lease_lock:
            found = [k for k, (_o, u) in self._leases.items() if u < now][:limit]
            for k in found:
                self._leases[k] = (owner, until)
            return found

    def any_expired(self, now: float) -> bool:
        with self._lease_lock:
            return any(u < now for _o, u in self._leases.values())

    def reset(self, tenant: str | None) -> None:
        names = list(self._tenants) if tenant is None else [tenant]
        for name in names:
            # Under the tenant's lock: a transaction under way finishes first, and the next
            # one starts on a fresh tenant.
            t = self._acquire(name)
            self._tenants.pop(name, None)
            t.lock.release()
        with self._lease_lock:
            for k in [k for k in self._leases if tenant is None or k[0] == tenant]:
                del self._leases[k]

    def tenants(self) -> list[str]:
        return list(self._tenants)

    def close(self) -> None:
        pass
