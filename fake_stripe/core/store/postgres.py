"""The PostgreSQL store: several `fake-stripe serve` instances, on any number of machines,
sharing one database (psycopg 3; `pip install 'fake-stripe[postgres]'`). Its statements are
`sql.py`'s; this module connects and runs transactions.

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
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import errors

from .. import turns
from . import check
from .base import Busy, Conflict, WouldWait
from .sql import SCHEMA_VERSION, WRITE_CHECK, Dialect, SQLBackend
from .threads import PerThread, Slot

LOCK_TIMEOUT = "5s"
CONNECT_TIMEOUT = 10  # seconds: an address that never answers is reported, not waited on
_MIGRATION_LOCK = (0x66616B65, 0x73747270)  # two-int advisory keys: apart from tenant locks

DIALECT = Dialect(
    placeholder="%s",
    bigint="BIGINT",
    double="DOUBLE PRECISION",
    json_field="data::jsonb->>'{}'",
    # Rows another instance is claiming at this moment are skipped, not waited for.
    claim="UPDATE leases l SET owner = ?, expires = ? FROM (SELECT tenant, id FROM leases "
    "WHERE expires < ? ORDER BY expires LIMIT ? FOR UPDATE SKIP LOCKED) due "
    "WHERE l.tenant = due.tenant AND l.id = due.id RETURNING l.tenant, l.id",
    keyed=True,
)


class _Rollback(Exception):
    """Leaves a transaction by rolling it back."""


class PostgresBackend(SQLBackend):
    shared = True
    inline_reads = False
    dialect = DIALECT

    def __init__(self, url: str, schema_version: int = SCHEMA_VERSION) -> None:
        """Connect, bring the schema up to date and check that the database can be written;
        `check.StoreError` (one line) when it cannot be used."""
        self.url = url
        self.where = check.redacted(url)
        super().__init__()
        self._threads: PerThread[psycopg.Connection[Any]] = PerThread(self._connect, _close)
        self._open(schema_version)

    def _check_writable(self) -> None:
        with contextlib.suppress(_Rollback), self._conn.transaction():
            self._conn.execute(WRITE_CHECK)
            raise _Rollback

    def _store_error(self, exc: BaseException) -> check.StoreError | None:
        return check.postgres_error(self.url, exc) if isinstance(exc, psycopg.Error) else None

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
        # Generic plans: psycopg prepares a statement at its fifth run, and the server would
        # then plan it again at every run where a custom plan looks cheaper than the generic
        # one, as a list's does in a large tenant (a generic plan cannot know the LIMIT):
        # planning that costs more than the walk, and only in a large store. Every statement
        # here is answered from the index it was written for whatever its values, and a
        # generic plan reads that index too.
        conn.execute(
            f"SET lock_timeout = '{LOCK_TIMEOUT}'; SET plan_cache_mode = force_generic_plan"
        )
        return conn

    @contextlib.contextmanager
    def _migrating(self) -> Iterator[None]:
        with self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", _MIGRATION_LOCK)
            yield

    # ---- transactions ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _begin(
        self, slot: Slot[psycopg.Connection[Any]], tenant: str, write: bool, wait: bool
    ) -> Iterator[None]:
        """A request's transaction. `BEGIN` travels with the statement after it, in one round
        trip: a write's with the tenant's lock, a read's with its first read (a read that reads
        nothing sends nothing). A write always waits, for the network at least."""
        if write and not wait:
            raise WouldWait(tenant, here=False)
        if slot.conn.broken:
            slot = self._threads.replace(slot)
        conn = slot.conn
        slot.depth = 1
        try:
            try:
                if write:
                    psycopg.ClientCursor(conn).execute(_LOCKED_BEGIN, (tenant,))
                    turns.waited()
                else:
                    slot.opening = _READ_BEGIN
                yield
            except BaseException:
                _rollback(conn)
                raise
            if slot.opening is None:
                conn.execute("COMMIT")
                turns.waited()
        except (errors.SerializationFailure, errors.DeadlockDetected) as exc:
            raise Conflict(str(exc)) from exc
        except errors.LockNotAvailable as exc:
            raise Busy(str(exc)) from exc
        finally:
            slot.depth = 0
            slot.opening = None

    def _begin_unlocked(self, slot: Slot[psycopg.Connection[Any]]) -> Any:
        return slot.conn.transaction()

    def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        slot = self._threads.slot()
        if slot.opening is not None:
            _open_now(slot)
        with slot.conn.cursor() as cur:
            cur.executemany(DIALECT.sql(sql), rows)
        turns.waited()

    def _q(self, sql: str, args: tuple[Any, ...]) -> psycopg.Cursor[Any]:
        slot = self._threads.slot()
        if not slot.depth and slot.conn.broken:
            slot = self._threads.replace(slot)
        if slot.opening is not None:
            # The transaction's first statement: `BEGIN` with it, bound on this side (a query
            # of two statements cannot take server-side parameters), then its own result.
            cursor: psycopg.Cursor[Any] = psycopg.ClientCursor(slot.conn)
            cursor.execute(f"{slot.opening}; {DIALECT.sql(sql)}", args)
            slot.opening = None
            cursor.nextset()
        else:
            cursor = slot.conn.execute(DIALECT.sql(sql), args)
        turns.waited()
        return cursor


# A write takes the tenant's lock at once (so `Writers` counts it as held from then on).
_LOCKED_BEGIN = "BEGIN; SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
_READ_BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ"


def _open_now(slot: Slot[psycopg.Connection[Any]]) -> None:
    """Send the transaction's `BEGIN` on its own (before a statement that cannot carry it)."""
    assert slot.opening is not None
    slot.conn.execute(slot.opening)
    slot.opening = None
    turns.waited()


def _rollback(conn: psycopg.Connection[Any]) -> None:
    """End a transaction that failed, if one is open (a broken connection has none left)."""
    if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        return
    with contextlib.suppress(psycopg.Error):
        conn.execute("ROLLBACK")


def _close(conn: psycopg.Connection[Any]) -> None:
    conn.close()
