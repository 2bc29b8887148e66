"""The PostgreSQL store: several `fake-stripe serve` instances, on any number of machines,
sharing one database (psycopg 3; `pip install 'fake-stripe[postgres]'`).

A connection per thread that uses the store (`threads.PerThread`). A write transaction takes a
per-tenant advisory lock first (`pg_advisory_xact_lock`), so the requests that change one tenant
run one after another across threads and instances while other tenants' requests run beside
them (each on its own connection, so a wait holds up nobody else); waiting for it is bounded by
`lock_timeout`, after which the request fails with `Busy`. A read transaction is `REPEATABLE
READ` and takes no lock: if it has to write and a concurrent writer changed the same rows,
PostgreSQL raises a serialization failure, which becomes `Conflict` (the request runs again,
writing). Deliveries are leased with `SELECT ... FOR UPDATE SKIP LOCKED`, so two instances never
claim the same one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from typing import Any

import psycopg
from psycopg import errors

from . import check
from .base import Busy, Conflict
from .threads import SETTLE_TIMEOUT, PerThread, Writers

LOCK_TIMEOUT = "5s"
CONNECT_TIMEOUT = 10  # seconds: an address that never answers is reported, not waited on
_MIGRATION_LOCK = (0x66616B65, 0x73747270)  # two-int advisory keys: apart from tenant locks

MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            "CREATE TABLE objects (tenant TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, "
            "seq BIGINT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (tenant, id))",
            "CREATE INDEX objects_by_kind ON objects (tenant, kind, seq)",
            "CREATE TABLE meta (tenant TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, "
            "PRIMARY KEY (tenant, name))",
            "CREATE TABLE seqs (tenant TEXT PRIMARY KEY, seq BIGINT NOT NULL)",
        ],
    ),
    (
        2,
        [
            "CREATE TABLE leases (tenant TEXT NOT NULL, id TEXT NOT NULL, owner TEXT NOT NULL, "
            "expires DOUBLE PRECISION NOT NULL, PRIMARY KEY (tenant, id))",
            "CREATE INDEX leases_by_expiry ON leases (expires)",
            "CREATE INDEX leases_by_owner ON leases (owner)",
            "CREATE TABLE lookup (tenant TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, "
            "value TEXT NOT NULL, kind TEXT NOT NULL, seq BIGINT NOT NULL, "
            "PRIMARY KEY (tenant, id, name))",
            "CREATE INDEX lookup_by_value ON lookup (tenant, kind, name, value, seq)",
            "INSERT INTO leases (tenant, id, owner, expires) "
            "SELECT tenant, id, '', 0 FROM objects WHERE kind = 'webhook_delivery'",
            # The fields the models index (`StripeObject.indexed`) when this step was written.
            "INSERT INTO lookup (tenant, id, name, value, kind, seq) "
            "SELECT tenant, id, 'email', data::jsonb->>'email', kind, seq FROM objects "
            "WHERE kind = 'customer' AND data::jsonb->>'email' IS NOT NULL",
            "INSERT INTO lookup (tenant, id, name, value, kind, seq) "
            "SELECT tenant, id, 'type', data::jsonb->>'type', kind, seq FROM objects "
            "WHERE kind = 'event' AND data::jsonb->>'type' IS NOT NULL",
        ],
    ),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


class _Rollback(Exception):
    """Leaves a transaction by rolling it back."""


class PostgresBackend:
    shared = True
    inline_reads = False

    def __init__(self, url: str, schema_version: int = SCHEMA_VERSION) -> None:
        """Connect, bring the schema up to date and check that the database can be written;
        `check.StoreError` (one line) when it cannot be used."""
        self.url = url
        self._threads: PerThread[psycopg.Connection[Any]] = PerThread(self._connect, _close)
        self._writers = Writers()
        try:
            self._migrate(schema_version)
            self._check_writable()
        except psycopg.Error as exc:
            self.close()
            raise check.postgres_error(url, exc) from None
        except BaseException:
            self.close()
            raise

    def _check_writable(self) -> None:
        """A write, rolled back: a read-only database or role is refused now, not with a 500
        on each request later."""
        conn = self._conn
        with contextlib.suppress(_Rollback), conn.transaction():
            conn.execute(
                "INSERT INTO meta (tenant, name, value) VALUES ('', 'write check', '') "
                "ON CONFLICT (tenant, name) DO NOTHING"
            )
            raise _Rollback

    @property
    def _conn(self) -> psycopg.Connection[Any]:
        return self._threads.slot().conn

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(
            self.url,
            autocommit=True,
            application_name="fake-stripe",
            connect_timeout=CONNECT_TIMEOUT,
        )
        conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        return conn

    def _migrate(self, target: int) -> None:
        with self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", _MIGRATION_LOCK)
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
            )
            row = self._conn.execute(
                "SELECT coalesce(max(version), 0) FROM schema_migrations"
            ).fetchone()
            current = int(row[0]) if row else 0
            if current > SCHEMA_VERSION:
                raise check.StoreError(
                    f"--db {check.redacted(self.url)} has schema version {current}, newer than "
                    f"this fake-stripe knows ({SCHEMA_VERSION}); upgrade fake-stripe to open it"
                )
            for version, steps in MIGRATIONS:
                if current < version <= target:
                    for step in steps:
                        self._conn.execute(step)
                    self._conn.execute(
                        "INSERT INTO schema_migrations VALUES (%s, %s)", (version, time.time())
                    )

    def schema_version(self) -> int:
        row = self._one("SELECT coalesce(max(version), 0) FROM schema_migrations", ())
        return int(row[0])

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
        if slot.conn.broken:
            slot = self._threads.replace(slot)
        conn = slot.conn
        slot.depth = 1
        held = None
        try:
            with conn.transaction():
                if write:
                    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (tenant,))
                else:
                    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                held = self._writers.begin(tenant)
                yield
        except (errors.SerializationFailure, errors.DeadlockDetected) as exc:
            raise Conflict(str(exc)) from exc
        except errors.LockNotAvailable as exc:
            raise Busy(str(exc)) from exc
        finally:
            slot.depth = 0
            if held is not None:
                self._writers.end(tenant, held)

    def settle(self, tenant: str, timeout: float = SETTLE_TIMEOUT) -> None:
        self._writers.settle(tenant, timeout)

    @contextlib.contextmanager
    def _atomic(self) -> Iterator[None]:
        slot = self._threads.slot()
        if slot.depth:
            yield
        else:
            with slot.conn.transaction():
                yield

    def _q(self, sql: str, args: tuple[Any, ...]) -> psycopg.Cursor[Any]:
        slot = self._threads.slot()
        if not slot.depth and slot.conn.broken:
            slot = self._threads.replace(slot)
        return slot.conn.execute(sql, args)

    def _row(self, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """The one row a statement always returns (`RETURNING` of an upsert)."""
        row = self._q(sql, args).fetchone()
        assert row is not None
        return tuple(row)

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        return self._q(sql, args).fetchone()

    # ---- objects -----------------------------------------------------------------------------
    def get(self, tenant: str, obj_id: str) -> tuple[str, str] | None:
        row = self._one(
            "SELECT kind, data FROM objects WHERE tenant=%s AND id=%s", (tenant, obj_id)
        )
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
            row = self._q(
                "UPDATE objects SET data=%s, kind=%s WHERE tenant=%s AND id=%s RETURNING seq",
                (data, kind, tenant, obj_id),
            ).fetchone()
            if row is None:
                (seq,) = self._row(
                    "INSERT INTO seqs (tenant, seq) VALUES (%s, 1) ON CONFLICT (tenant) "
                    "DO UPDATE SET seq = seqs.seq + 1 RETURNING seq",
                    (tenant,),
                )
                self._q(
                    "INSERT INTO objects (tenant, id, kind, seq, data) VALUES (%s, %s, %s, %s, %s)",
                    (tenant, obj_id, kind, seq, data),
                )
            else:
                seq = row[0]
            if index is not None:
                self._q("DELETE FROM lookup WHERE tenant=%s AND id=%s", (tenant, obj_id))
                for name, value in index.items():
                    self._q(
                        "INSERT INTO lookup (tenant, id, name, value, kind, seq) "
                        "VALUES (%s, %s, %s, %s, %s, %s)",
                        (tenant, obj_id, name, value, kind, seq),
                    )

    def delete(self, tenant: str, obj_id: str) -> None:
        with self._atomic():
            for table in ("objects", "lookup", "leases"):
                self._q(f"DELETE FROM {table} WHERE tenant=%s AND id=%s", (tenant, obj_id))

    def iter_desc(
        self,
        tenant: str,
        kind: str,
        before_id: str | None,
        after_id: str | None,
        match: tuple[str, str] | None = None,
    ) -> Iterator[tuple[str, str]]:
        seq_of = "SELECT seq FROM objects WHERE tenant=%s AND id=%s"
        if after_id is not None:
            row = self._one(seq_of, (tenant, after_id))
            pivot, op, order = (row[0] if row else 1 << 62), ">", "ASC"
        else:
            row = self._one(seq_of, (tenant, before_id)) if before_id is not None else None
            pivot = row[0] if row else (-1 if before_id is not None else 1 << 62)
            op, order = "<", "DESC"
        if match is None:
            sql = (
                "SELECT id, data, seq FROM objects WHERE tenant=%s AND kind=%s "
                f"AND seq {op} %s ORDER BY seq {order} LIMIT %s"
            )
            extra: tuple[Any, ...] = ()
        else:
            sql = (
                "SELECT o.id, o.data, l.seq FROM lookup l JOIN objects o "
                "ON o.tenant = l.tenant AND o.id = l.id "
                f"WHERE l.tenant=%s AND l.kind=%s AND l.seq {op} %s AND l.name=%s "
                f"AND l.value=%s ORDER BY l.seq {order} LIMIT %s"
            )
            extra = match
        batch = 64
        while True:
            rows = self._q(sql, (tenant, kind, pivot, *extra, batch)).fetchall()
            for oid, data, seq in rows:
                pivot = seq
                yield oid, data
            if len(rows) < batch:
                return

    # ---- metadata ----------------------------------------------------------------------------
    def meta_get(self, tenant: str, name: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE tenant=%s AND name=%s", (tenant, name))
        return None if row is None else str(row[0])

    def meta_set(self, tenant: str, name: str, value: str) -> None:
        self._q(
            "INSERT INTO meta (tenant, name, value) VALUES (%s, %s, %s) "
            "ON CONFLICT (tenant, name) DO UPDATE SET value = excluded.value",
            (tenant, name, value),
        )

    def meta_swap(self, tenant: str, name: str, old: str | None, new: str | None) -> bool:
        if new is None:
            cur = self._q(
                "DELETE FROM meta WHERE tenant=%s AND name=%s AND value=%s", (tenant, name, old)
            )
        elif old is None:
            cur = self._q(
                "INSERT INTO meta (tenant, name, value) VALUES (%s, %s, %s) "
                "ON CONFLICT (tenant, name) DO NOTHING",
                (tenant, name, new),
            )
        else:
            cur = self._q(
                "UPDATE meta SET value=%s WHERE tenant=%s AND name=%s AND value=%s",
                (new, tenant, name, old),
            )
        return cur.rowcount == 1

    def increment(self, tenant: str, name: str) -> int:
        row = self._row(
            "INSERT INTO meta (tenant, name, value) VALUES (%s, %s, '1') "
            "ON CONFLICT (tenant, name) DO UPDATE "
            "SET value = (meta.value::bigint + 1)::text RETURNING value",
            (tenant, name),
        )
        return int(row[0])

    # ---- leases ------------------------------------------------------------------------------
    def lease(self, tenant: str, obj_id: str, owner: str, until: float, now: float) -> bool:
        cur = self._q(
            "INSERT INTO leases (tenant, id, owner, expires) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (tenant, id) DO UPDATE SET owner = excluded.owner, "
            "expires = excluded.expires "
            "WHERE leases.owner = excluded.owner OR leases.expires < %s",
            (tenant, obj_id, owner, until, now),
        )
        return cur.rowcount == 1

    def renew(self, owner: str, until: float) -> int:
        return self._q("UPDATE leases SET expires=%s WHERE owner=%s", (until, owner)).rowcount

    def release_all(self, owner: str) -> None:
        self.renew(owner, 0.0)

    def claim_expired(
        self, owner: str, until: float, now: float, limit: int
    ) -> list[tuple[str, str]]:
        rows = self._q(
            "WITH due AS (SELECT tenant, id FROM leases WHERE expires < %s "
            "ORDER BY expires LIMIT %s FOR UPDATE SKIP LOCKED) "
            "UPDATE leases l SET owner = %s, expires = %s FROM due "
            "WHERE l.tenant = due.tenant AND l.id = due.id RETURNING l.tenant, l.id",
            (now, limit, owner, until),
        ).fetchall()
        return [(str(t), str(i)) for t, i in rows]

    # ---- whole tenants -----------------------------------------------------------------------
    def reset(self, tenant: str | None) -> None:
        with self._atomic():
            for table in ("objects", "meta", "seqs", "lookup", "leases"):
                if tenant is None:
                    self._q(f"DELETE FROM {table}", ())
                else:
                    self._q(f"DELETE FROM {table} WHERE tenant=%s", (tenant,))

    def tenants(self) -> list[str]:
        return [r[0] for r in self._q("SELECT tenant FROM seqs", ()).fetchall()]

    def close(self) -> None:
        self._threads.close()


def _close(conn: psycopg.Connection[Any]) -> None:
    conn.close()
