"""Per-tenant state: objects by id, ordered lists, counters, idempotency records.

A tenant is one test-mode account, named by its API key (`sk_test_X`, `rk_test_X` and
`pk_test_X` all reach tenant `X`). Objects are stored as JSON text keyed by id, so the in-memory
and SQLite backends behave alike (a handler that forgets to `put` a change loses it in both).
Lookups are by key; lists walk a per-kind sequence index from a bisected position, so no request
costs more as the store grows.
"""

from __future__ import annotations

import bisect
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any, Protocol


class Backend(Protocol):
    def get(self, tenant: str, obj_id: str) -> tuple[str, str] | None: ...
    def put(self, tenant: str, kind: str, obj_id: str, data: str) -> None: ...
    def delete(self, tenant: str, obj_id: str) -> None: ...
    def iter_desc(
        self, tenant: str, kind: str, before_id: str | None, after_id: str | None
    ) -> Iterator[tuple[str, str]]: ...
    def meta_get(self, tenant: str, name: str) -> str | None: ...
    def meta_set(self, tenant: str, name: str, value: str) -> None: ...
    def increment(self, tenant: str, name: str) -> int: ...
    def reset(self, tenant: str | None) -> None: ...
    def tenants(self) -> list[str]: ...
    def close(self) -> None: ...


class _Kind:
    __slots__ = ("seqs", "by_seq")

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.by_seq: dict[int, str] = {}


class _MemTenant:
    __slots__ = ("objects", "kinds", "meta", "seq")

    def __init__(self) -> None:
        # id -> (kind, seq, json)
        self.objects: dict[str, tuple[str, int, str]] = {}
        self.kinds: dict[str, _Kind] = {}
        self.meta: dict[str, str] = {}
        self.seq = 0


class MemoryBackend:
    """The default: everything in dicts, gone when the process ends."""

    def __init__(self) -> None:
        self._tenants: dict[str, _MemTenant] = {}

    def _t(self, tenant: str) -> _MemTenant:
        t = self._tenants.get(tenant)
        if t is None:
            t = self._tenants[tenant] = _MemTenant()
        return t

    def get(self, tenant: str, obj_id: str) -> tuple[str, str] | None:
        t = self._tenants.get(tenant)
        if t is None:
            return None
        row = t.objects.get(obj_id)
        return None if row is None else (row[0], row[2])

    def put(self, tenant: str, kind: str, obj_id: str, data: str) -> None:
        t = self._t(tenant)
        row = t.objects.get(obj_id)
        if row is not None:
            t.objects[obj_id] = (kind, row[1], data)
            return
        t.seq += 1
        t.objects[obj_id] = (kind, t.seq, data)
        k = t.kinds.get(kind)
        if k is None:
            k = t.kinds[kind] = _Kind()
        k.seqs.append(t.seq)
        k.by_seq[t.seq] = obj_id

    def delete(self, tenant: str, obj_id: str) -> None:
        t = self._tenants.get(tenant)
        if t is None:
            return
        row = t.objects.pop(obj_id, None)
        if row is not None:
            t.kinds[row[0]].by_seq.pop(row[1], None)

    def iter_desc(
        self, tenant: str, kind: str, before_id: str | None, after_id: str | None
    ) -> Iterator[tuple[str, str]]:
        """Objects of a kind, newest first; strictly older than `before_id` if given.

        With `after_id` the walk goes oldest-first from just newer than it (for `ending_before`).
        """
        t = self._tenants.get(tenant)
        if t is None or kind not in t.kinds:
            return
        k = t.kinds[kind]
        if after_id is not None:
            row = t.objects.get(after_id)
            start = bisect.bisect_right(k.seqs, row[1]) if row else len(k.seqs)
            for i in range(start, len(k.seqs)):
                oid = k.by_seq.get(k.seqs[i])
                # .get: the delivery thread may delete a row while a request walks the list
                row = t.objects.get(oid) if oid is not None else None
                if oid is not None and row is not None:
                    yield oid, row[2]
            return
        if before_id is not None:
            row = t.objects.get(before_id)
            end = bisect.bisect_left(k.seqs, row[1]) if row else 0
        else:
            end = len(k.seqs)
        for i in range(end - 1, -1, -1):
            oid = k.by_seq.get(k.seqs[i])
            row = t.objects.get(oid) if oid is not None else None
            if oid is not None and row is not None:
                yield oid, row[2]

    def meta_get(self, tenant: str, name: str) -> str | None:
        t = self._tenants.get(tenant)
        return None if t is None else t.meta.get(name)

    def meta_set(self, tenant: str, name: str, value: str) -> None:
        self._t(tenant).meta[name] = value

    def increment(self, tenant: str, name: str) -> int:
        meta = self._t(tenant).meta
        n = int(meta.get(name) or 0) + 1
        meta[name] = str(n)
        return n

    def reset(self, tenant: str | None) -> None:
        if tenant is None:
            self._tenants.clear()
        else:
            self._tenants.pop(tenant, None)

    def tenants(self) -> list[str]:
        return list(self._tenants)

    def close(self) -> None:
        pass


_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    tenant TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL,
    seq INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (tenant, id));
CREATE INDEX IF NOT EXISTS objects_by_kind ON objects (tenant, kind, seq);
CREATE TABLE IF NOT EXISTS meta (
    tenant TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (tenant, name));
CREATE TABLE IF NOT EXISTS seqs (tenant TEXT PRIMARY KEY, seq INTEGER NOT NULL);
"""


class SQLiteBackend:
    """A file that survives restarts and can be shared by several server processes (WAL)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def get(self, tenant: str, obj_id: str) -> tuple[str, str] | None:
        row = self._one("SELECT kind, data FROM objects WHERE tenant=? AND id=?", (tenant, obj_id))
        return None if row is None else (row[0], row[1])

    def put(self, tenant: str, kind: str, obj_id: str, data: str) -> None:
        with self._lock:
            cur = self._db.execute(
                "UPDATE objects SET data=?, kind=? WHERE tenant=? AND id=?",
                (data, kind, tenant, obj_id),
            )
            if cur.rowcount:
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO seqs (tenant, seq) VALUES (?, 1) "
                    "ON CONFLICT(tenant) DO UPDATE SET seq = seq + 1",
                    (tenant,),
                )
                (seq,) = self._db.execute(
                    "SELECT seq FROM seqs WHERE tenant=?", (tenant,)
                ).fetchone()
                self._db.execute(
                    "INSERT INTO objects (tenant, id, kind, seq, data) VALUES (?, ?, ?, ?, ?)",
                    (tenant, obj_id, kind, seq, data),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def delete(self, tenant: str, obj_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM objects WHERE tenant=? AND id=?", (tenant, obj_id))

    def iter_desc(
        self, tenant: str, kind: str, before_id: str | None, after_id: str | None
    ) -> Iterator[tuple[str, str]]:
        if after_id is not None:
            row = self._one("SELECT seq FROM objects WHERE tenant=? AND id=?", (tenant, after_id))
            pivot, op, order = (row[0] if row else 1 << 62), ">", "ASC"
        else:
            row = (
                self._one("SELECT seq FROM objects WHERE tenant=? AND id=?", (tenant, before_id))
                if before_id is not None
                else None
            )
            pivot = row[0] if row else (-1 if before_id is not None else 1 << 62)
            op, order = "<", "DESC"
        batch = 64
        while True:
            with self._lock:
                rows = self._db.execute(
                    f"SELECT id, data, seq FROM objects WHERE tenant=? AND kind=? AND seq {op} ? "
                    f"ORDER BY seq {order} LIMIT ?",
                    (tenant, kind, pivot, batch),
                ).fetchall()
            for oid, data, seq in rows:
                pivot = seq
                yield oid, data
            if len(rows) < batch:
                return

    def meta_get(self, tenant: str, name: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE tenant=? AND name=?", (tenant, name))
        return None if row is None else str(row[0])

    def meta_set(self, tenant: str, name: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO meta (tenant, name, value) VALUES (?, ?, ?) "
                "ON CONFLICT(tenant, name) DO UPDATE SET value=excluded.value",
                (tenant, name, value),
            )

    def increment(self, tenant: str, name: str) -> int:
        """Atomic across the processes sharing the file (one write transaction)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT value FROM meta WHERE tenant=? AND name=?", (tenant, name)
                ).fetchone()
                n = int(row[0] if row else 0) + 1
                self._db.execute(
                    "INSERT INTO meta (tenant, name, value) VALUES (?, ?, ?) "
                    "ON CONFLICT(tenant, name) DO UPDATE SET value=excluded.value",
                    (tenant, name, str(n)),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return n

    def reset(self, tenant: str | None) -> None:
        with self._lock:
            for table in ("objects", "meta", "seqs"):
                if tenant is None:
                    self._db.execute(f"DELETE FROM {table}")
                else:
                    self._db.execute(f"DELETE FROM {table} WHERE tenant=?", (tenant,))

    def tenants(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT tenant FROM seqs").fetchall()]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_backend(db: str | None) -> Backend:
    return SQLiteBackend(db) if db else MemoryBackend()
