"""The SQLite store: a file that survives restarts and is shared by the server processes of one
machine (WAL journal; `synchronous=NORMAL`: a power cut may lose the last commits, never
corrupt the file).

A connection per thread (`threads.PerThread`). Write transactions are `BEGIN IMMEDIATE`:
SQLite's one write lock is taken at the start, so no other thread or process writes between a
request's reads and its writes; a thread waiting for it waits up to `BUSY_TIMEOUT_MS`, then the
request fails with `Busy`. Reads run in a deferred transaction (a snapshot, no lock), on their
own connection, so they never wait for a writer.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator, Mapping
from typing import Any

from . import check
from .base import Busy, Conflict
from .threads import SETTLE_TIMEOUT, PerThread, Writers

BUSY_TIMEOUT_MS = 5000

# The schema, one step per version; a store at version n runs the steps after n at start-up,
# so an upgraded fake keeps what users stored. Never edit a step once released: add one.
MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            # The layout before versioning: a file made then has these tables already.
            "CREATE TABLE IF NOT EXISTS objects (tenant TEXT NOT NULL, id TEXT NOT NULL, "
            "kind TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, "
            "PRIMARY KEY (tenant, id))",
            "CREATE INDEX IF NOT EXISTS objects_by_kind ON objects (tenant, kind, seq)",
            "CREATE TABLE IF NOT EXISTS meta (tenant TEXT NOT NULL, name TEXT NOT NULL, "
            "value TEXT NOT NULL, PRIMARY KEY (tenant, name))",
            "CREATE TABLE IF NOT EXISTS seqs (tenant TEXT PRIMARY KEY, seq INTEGER NOT NULL)",
        ],
    ),
    (
        2,
        [
            "CREATE TABLE leases (tenant TEXT NOT NULL, id TEXT NOT NULL, owner TEXT NOT NULL, "
            "expires REAL NOT NULL, PRIMARY KEY (tenant, id))",
            "CREATE INDEX leases_by_expiry ON leases (expires)",
            "CREATE INDEX leases_by_owner ON leases (owner)",
            "CREATE TABLE lookup (tenant TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, "
            "value TEXT NOT NULL, kind TEXT NOT NULL, seq INTEGER NOT NULL, "
            "PRIMARY KEY (tenant, id, name))",
            "CREATE INDEX lookup_by_value ON lookup (tenant, kind, name, value, seq)",
            # Deliveries stored before leases existed: anyone may take them.
            "INSERT INTO leases (tenant, id, owner, expires) "
            "SELECT tenant, id, '', 0 FROM objects WHERE kind = 'webhook_delivery'",
            # The fields the models index (`StripeObject.indexed`) when this step was written.
            "INSERT INTO lookup (tenant, id, name, value, kind, seq) "
            "SELECT tenant, id, 'email', json_extract(data, '$.email'), kind, seq FROM objects "
            "WHERE kind = 'customer' AND json_extract(data, '$.email') IS NOT NULL",
            "INSERT INTO lookup (tenant, id, name, value, kind, seq) "
            "SELECT tenant, id, 'type', json_extract(data, '$.type'), kind, seq FROM objects "
            "WHERE kind = 'event' AND json_extract(data, '$.type') IS NOT NULL",
        ],
    ),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


class SQLiteBackend:
    shared = True
    inline_reads = False  # True once the file is known to be in WAL mode

    def __init__(self, path: str, schema_version: int = SCHEMA_VERSION) -> None:
        """Open the store, bring its schema up to date and check that it can be written;
        `check.StoreError` (one line) when it cannot be used."""
        self.path = path
        check.sqlite_file(path)
        self._threads: PerThread[sqlite3.Connection] = PerThread(self._connect, _close)
        self._writers = Writers()
        try:
            check.sqlite_tables(self._db, path)
            self._migrate(schema_version)
            self._check_writable()
            (mode,) = self._one("PRAGMA journal_mode", ())
            self.inline_reads = str(mode).lower() == "wal"
        except sqlite3.Error as exc:
            self.close()
            raise check.sqlite_error(path, exc) from None
        except BaseException:
            self.close()
            raise

    def _check_writable(self) -> None:
        """A write, rolled back: a read-only file or mount lets SQLite open the file and read
        it, and refuses only the first write."""
        db = self._db
        try:
            self._begin_immediate(db)
        except Busy:
            return  # another process is writing to it: so can this one, once it is done
        try:
            db.execute(
                "INSERT INTO meta (tenant, name, value) VALUES ('', 'write check', '') "
                "ON CONFLICT(tenant, name) DO NOTHING"
            )
        finally:
            db.execute("ROLLBACK")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    @property
    def _db(self) -> sqlite3.Connection:
        return self._threads.slot().conn

    def _migrate(self, target: int) -> None:
        with self.transaction("", write=True):
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
            )
            (current,) = self._db.execute(
                "SELECT coalesce(max(version), 0) FROM schema_migrations"
            ).fetchone()
            if current > SCHEMA_VERSION:
                raise check.StoreError(
                    f"--db {self.path} has schema version {current}, newer than this "
                    f"fake-stripe knows ({SCHEMA_VERSION}); upgrade fake-stripe to open it"
                )
            for version, steps in MIGRATIONS:
                if current < version <= target:
                    for step in steps:
                        self._db.execute(step)
                    self._db.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?)", (version, time.time())
                    )

    def schema_version(self) -> int:
        (v,) = self._one("SELECT coalesce(max(version), 0) FROM schema_migrations", ())
        return int(v)

    # ---- transactions ------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, tenant: str, write: bool) -> Iterator[None]:
        slot = self._threads.slot()
        if slot.depth:
            slot.depth += 1
            try:
                yield
            finally:
                slot.depth -= 1
            return
        db = slot.conn
        if write:
            self._begin_immediate(db)
        else:
            db.execute("BEGIN")
        slot.depth, slot.reading = 1, not write
        held = self._writers.begin(tenant)
        try:
            yield
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            slot.depth, slot.reading = 0, False
            self._writers.end(tenant, held)

    def settle(self, tenant: str, timeout: float = SETTLE_TIMEOUT) -> None:
        self._writers.settle(tenant, timeout)

    @staticmethod
    def _begin_immediate(db: sqlite3.Connection) -> None:
        """`BEGIN IMMEDIATE`, waiting for the write lock in short steps: SQLite's own busy
        handler sleeps up to 100 ms between tries, which under contention between processes
        leaves the lock idle most of the time."""
        db.execute("PRAGMA busy_timeout=0")
        try:
            deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
            pause = 0.0002
            while True:
                try:
                    db.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if not _is_busy(exc):
                        raise
                    if time.monotonic() > deadline:
                        raise Busy(str(exc)) from exc
                time.sleep(pause)
                pause = min(pause * 1.5, 0.002)
        finally:
            db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    @contextlib.contextmanager
    def _atomic(self) -> Iterator[None]:
        """A write of several statements: joins the open transaction, or opens one."""
        if self._threads.slot().depth:
            yield
        else:
            with self.transaction("", write=True):
                yield

    def _exec(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Cursor:
        """A write. In a read snapshot it needs the write lock, which SQLite refuses when
        another process wrote since the snapshot: the request then runs again, writing."""
        slot = self._threads.slot()
        try:
            return slot.conn.execute(sql, args)
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            if slot.reading:
                raise Conflict(str(exc)) from exc
            raise Busy(str(exc)) from exc

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        return self._db.execute(sql, args).fetchone()

    # ---- objects -----------------------------------------------------------------------------
    def get(self, tenant: str, obj_id: str) -> tuple[str, str] | None:
        row = self._one("SELECT kind, data FROM objects WHERE tenant=? AND id=?", (tenant, obj_id))
        return None if row is None else (row[0], row[1])

    def put(
        self,
        tenant: str,
        kind: str,
        obj_id: str,
        data: str,
        index: Mapping[str, str] | None = None,
    ) -> None:
        with self._atomic():
            row = self._exec(
                "UPDATE objects SET data=?, kind=? WHERE tenant=? AND id=? RETURNING seq",
                (data, kind, tenant, obj_id),
            ).fetchone()
            if row is None:
                (seq,) = self._exec(
                    "INSERT INTO seqs (tenant, seq) VALUES (?, 1) "
                    "ON CONFLICT(tenant) DO UPDATE SET seq = seq + 1 RETURNING seq",
                    (tenant,),
                ).fetchone()
                self._exec(
                    "INSERT INTO objects (tenant, id, kind, seq, data) VALUES (?, ?, ?, ?, ?)",
                    (tenant, obj_id, kind, seq, data),
                )
            else:
                seq = row[0]
            if index is not None:
                self._exec("DELETE FROM lookup WHERE tenant=? AND id=?", (tenant, obj_id))
                for name, value in index.items():
                    self._exec(
                        "INSERT INTO lookup (tenant, id, name, value, kind, seq) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (tenant, obj_id, name, value, kind, seq),
                    )

    def delete(self, tenant: str, obj_id: str) -> None:
        with self._atomic():
            for table in ("objects", "lookup", "leases"):
                self._exec(f"DELETE FROM {table} WHERE tenant=? AND id=?", (tenant, obj_id))

    def iter_desc(
        self,
        tenant: str,
        kind: str,
        before_id: str | None,
        after_id: str | None,
        match: tuple[str, str] | None = None,
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
        if match is None:
            sql = (
                f"SELECT id, data, seq FROM objects WHERE tenant=? AND kind=? AND seq {op} ? "
                f"ORDER BY seq {order} LIMIT ?"
            )
            extra: tuple[Any, ...] = ()
        else:
            sql = (
                "SELECT o.id, o.data, l.seq FROM lookup l JOIN objects o "
                "ON o.tenant = l.tenant AND o.id = l.id "
                f"WHERE l.tenant=? AND l.kind=? AND l.seq {op} ? AND l.name=? AND l.value=? "
                f"ORDER BY l.seq {order} LIMIT ?"
            )
            extra = match
        batch = 64
        while True:
            rows = self._db.execute(sql, (tenant, kind, pivot, *extra, batch)).fetchall()
            for oid, data, seq in rows:
                pivot = seq
                yield oid, data
            if len(rows) < batch:
                return

    # ---- metadata ----------------------------------------------------------------------------
    def meta_get(self, tenant: str, name: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE tenant=? AND name=?", (tenant, name))
        return None if row is None else str(row[0])

    def meta_set(self, tenant: str, name: str, value: str) -> None:
        self._exec(
            "INSERT INTO meta (tenant, name, value) VALUES (?, ?, ?) "
            "ON CONFLICT(tenant, name) DO UPDATE SET value=excluded.value",
            (tenant, name, value),
        )

    def meta_swap(self, tenant: str, name: str, old: str | None, new: str | None) -> bool:
        if new is None:
            cur = self._exec(
                "DELETE FROM meta WHERE tenant=? AND name=? AND value=?", (tenant, name, old)
            )
        elif old is None:
            cur = self._exec(
                "INSERT INTO meta (tenant, name, value) VALUES (?, ?, ?) "
                "ON CONFLICT(tenant, name) DO NOTHING",
                (tenant, name, new),
            )
        else:
            cur = self._exec(
                "UPDATE meta SET value=? WHERE tenant=? AND name=? AND value=?",
                (new, tenant, name, old),
            )
        return cur.rowcount == 1

    def increment(self, tenant: str, name: str) -> int:
        """One statement: atomic across the processes sharing the file."""
        (value,) = self._exec(
            "INSERT INTO meta (tenant, name, value) VALUES (?, ?, '1') "
            "ON CONFLICT(tenant, name) DO UPDATE SET value = CAST(value AS INTEGER) + 1 "
            "RETURNING value",
            (tenant, name),
        ).fetchone()
        return int(value)

    # ---- leases ------------------------------------------------------------------------------
    def lease(self, tenant: str, obj_id: str, owner: str, until: float, now: float) -> bool:
        cur = self._exec(
            "INSERT INTO leases (tenant, id, owner, expires) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(tenant, id) DO UPDATE SET owner=excluded.owner, "
            "expires=excluded.expires WHERE leases.owner=excluded.owner OR leases.expires < ?",
            (tenant, obj_id, owner, until, now),
        )
        return cur.rowcount == 1

    def renew(self, owner: str, until: float) -> int:
        return self._exec("UPDATE leases SET expires=? WHERE owner=?", (until, owner)).rowcount

    def release_all(self, owner: str) -> None:
        self.renew(owner, 0.0)

    def claim_expired(
        self, owner: str, until: float, now: float, limit: int
    ) -> list[tuple[str, str]]:
        with self._atomic():
            found = self._db.execute(
                "SELECT tenant, id FROM leases WHERE expires < ? ORDER BY expires LIMIT ?",
                (now, limit),
            ).fetchall()
            for tenant, obj_id in found:
                self._exec(
                    "UPDATE leases SET owner=?, expires=? WHERE tenant=? AND id=?",
                    (owner, until, tenant, obj_id),
                )
            return [(str(t), str(i)) for t, i in found]

    # ---- whole tenants -----------------------------------------------------------------------
    def reset(self, tenant: str | None) -> None:
        with self._atomic():
            for table in ("objects", "meta", "seqs", "lookup", "leases"):
                if tenant is None:
                    self._exec(f"DELETE FROM {table}", ())
                else:
                    self._exec(f"DELETE FROM {table} WHERE tenant=?", (tenant,))

    def tenants(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT tenant FROM seqs").fetchall()]

    def close(self) -> None:
        self._threads.close()


def _close(db: sqlite3.Connection) -> None:
    db.close()
