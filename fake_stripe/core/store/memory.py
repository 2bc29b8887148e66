"""The default store: everything in dicts, gone when the process ends.

Objects are kept as JSON text keyed by id, as in the SQL stores, so every store behaves alike
(a handler that forgets to `put` a change loses it in all of them). Lists walk a per-kind
sequence index from a bisected position, so no request costs more as the store grows.

Each tenant has its own lock, held for a whole transaction: requests of one tenant (on the
request threads and the delivery thread) take turns, those of different tenants never wait for
each other. Reads outside a transaction take no lock.
"""

from __future__ import annotations

import bisect
import contextlib
import heapq
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence

from .base import Match, Written


class _Seqs:
    """Sequence numbers (ascending) and the object each one names."""

    __slots__ = ("seqs", "by_seq")

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.by_seq: dict[int, str] = {}

    def add(self, seq: int, obj_id: str) -> None:
        if not self.seqs or seq > self.seqs[-1]:
            self.seqs.append(seq)
        elif seq not in self.by_seq:
            i = bisect.bisect_left(self.seqs, seq)
            if i == len(self.seqs) or self.seqs[i] != seq:
                self.seqs.insert(i, seq)
        self.by_seq[seq] = obj_id


class _MemTenant:
    __slots__ = ("objects", "kinds", "lookup", "indexed", "meta", "seq", "lock")

    def __init__(self) -> None:
        self.lock = threading.RLock()
        # id -> (kind, seq, json)
        self.objects: dict[str, tuple[str, int, str]] = {}
        self.kinds: dict[str, _Seqs] = {}
        # (kind, field, value) -> the objects whose indexed field holds value
        self.lookup: dict[tuple[str, str, str], _Seqs] = {}
        self.indexed: dict[str, Mapping[str, str]] = {}
        self.meta: dict[str, str] = {}
        self.seq = 0


class MemoryBackend:
    shared = False
    inline_reads = True

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

    @contextlib.contextmanager
    def transaction(self, tenant: str, write: bool) -> Iterator[None]:
        t = self._acquire(tenant)
        try:
            yield
        finally:
            t.lock.release()

    def settle(self, tenant: str, timeout: float = 0.0) -> None:
        """Nothing to wait for: a write is seen by every thread as soon as it is made."""

    def get(self, tenant: str, obj_id: str) -> tuple[str, str] | None:
        t = self._tenants.get(tenant)
        if t is None:
            return None
        row = t.objects.get(obj_id)
        return None if row is None else (row[0], row[2])

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
        row = t.objects.get(obj_id)
        if row is not None:
            seq = row[1]
            t.objects[obj_id] = (kind, seq, data)
        else:
            t.seq += 1
            seq = t.seq
            t.objects[obj_id] = (kind, seq, data)
            k = t.kinds.get(kind)
            if k is None:
                k = t.kinds.setdefault(kind, _Seqs())
            k.add(seq, obj_id)
        if index is not None and t.indexed.get(obj_id) != index:
            self._unindex(t, kind, obj_id, seq)
            for field, value in index.items():
                t.lookup.setdefault((kind, field, value), _Seqs()).add(seq, obj_id)
            t.indexed[obj_id] = dict(index)

    @staticmethod
    def _unindex(t: _MemTenant, kind: str, obj_id: str, seq: int) -> None:
        for field, value in t.indexed.pop(obj_id, {}).items():
            entry = t.lookup.get((kind, field, value))
            if entry is not None and entry.by_seq.pop(seq, None) is not None:
                i = bisect.bisect_left(entry.seqs, seq)
                if i < len(entry.seqs) and entry.seqs[i] == seq:
                    del entry.seqs[i]

    def write(
        self,
        tenant: str,
        meta: Mapping[str, str],
        objects: Sequence[tuple[str, Written | None]],
    ) -> None:
        t = self._acquire(tenant)
        try:
            t.meta.update(meta)
            for oid, row in objects:
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
            row = t.objects.pop(obj_id, None)
            if row is not None:
                t.kinds[row[0]].by_seq.pop(row[1], None)
                self._unindex(t, row[0], obj_id, row[1])
        finally:
            t.lock.release()
        with self._lease_lock:
            self._leases.pop((tenant, obj_id), None)

    def iter_desc(
        self,
        tenant: str,
        kind: str,
        starting_after: str | None,
        ending_before: str | None,
        match: Match | None = None,
    ) -> Iterator[tuple[str, str]]:
        t = self._tenants.get(tenant)
        if t is None:
            return
        if isinstance(match, list):
            yield from self._any_of(t, kind, starting_after, ending_before, match)
            return
        k = t.kinds.get(kind) if match is None else t.lookup.get((kind, *match))
        if k is None:
            return
        if ending_before is not None:
            row = t.objects.get(ending_before)
            start = bisect.bisect_right(k.seqs, row[1]) if row else len(k.seqs)
            for i in range(start, len(k.seqs)):
                oid = k.by_seq.get(k.seqs[i])
                # .get: the delivery thread may delete a row while a request walks the list
                row = t.objects.get(oid) if oid is not None else None
                if oid is not None and row is not None:
                    yield oid, row[2]
            return
        if starting_after is not None:
            row = t.objects.get(starting_after)
            end = bisect.bisect_left(k.seqs, row[1]) if row else 0
        else:
            end = len(k.seqs)
        for i in range(end - 1, -1, -1):
            if i >= len(k.seqs):
                continue  # an index entry was removed while the walk was under way
            oid = k.by_seq.get(k.seqs[i])
            row = t.objects.get(oid) if oid is not None else None
            if oid is not None and row is not None:
                yield oid, row[2]

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
        found = [k for e in entries if (k := t.lookup.get((kind, *e))) is not None]
        cursor = t.objects.get(starting_after or ending_before or "")
        newer = ending_before is not None
        if (starting_after or ending_before) and cursor is None:
            return  # as the one-entry walk: nothing past a cursor that is not stored

        def seqs(k: _Seqs) -> Iterator[int]:
            # By index, not by a slice: only as many entries as the caller reads.
            if newer:
                start = bisect.bisect_right(k.seqs, cursor[1]) if cursor else len(k.seqs)
                indexes: Iterator[int] = iter(range(start, len(k.seqs)))
            else:
                end = bisect.bisect_left(k.seqs, cursor[1]) if cursor else len(k.seqs)
                indexes = iter(range(end - 1, -1, -1))
            for i in indexes:
                if i < len(k.seqs):  # an entry may be removed while the walk is under way
                    yield k.seqs[i]

        last = None
        for seq in heapq.merge(*(seqs(k) for k in found), reverse=not newer):
            if seq == last:
                continue
            last = seq
            oid = next((k.by_seq[seq] for k in found if seq in k.by_seq), None)
            row = t.objects.get(oid) if oid is not None else None
            if oid is not None and row is not None:
                yield oid, row[2]

    def newest_first(self, tenant: str, ids: Collection[str]) -> list[str]:
        t = self._tenants.get(tenant)
        if t is None:
            return []
        rows = [(row[1], oid) for oid in set(ids) if (row := t.objects.get(oid)) is not None]
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
