"""The SQLite store: a file that survives restarts and is shared by the server processes of one
machine (WAL journal; `synchronous=NORMAL`: a power cut may lose the last commits, never
corrupt the file). Its statements are `sql.py`'s; this module connects and runs transactions.

A connection per thread (`threads.PerThread`). Write transactions are `BEGIN IMMEDIATE`:
SQLite's one write lock is taken at the start, so no other thread or process writes between a
request's reads and its writes; a thread waiting for it waits up to `BUSY_TIMEOUT_MS`, then the
request fails with `Busy`. Reads run in a deferred transaction (a snapshot, no lock), on their
own connection, so they never wait for a writer.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from .. import turns
from . import check
from .base import Busy, Conflict, WouldWait
from .sql import SCHEMA_VERSION, WRITE_CHECK, Dialect, SQLBackend
from .threads import PerThread, Slot

BUSY_TIMEOUT_MS = 5000

DIALECT = Dialect(
    placeholder="?",
    bigint="INTEGER",
    double="REAL",
    json_field="json_extract(data, '$.{}')",
    # One write lock for the whole file: a claim needs nothing more to be taken once.
    claim="UPDATE leases SET owner = ?, expires = ? WHERE (tenant, id) IN "
    "(SELECT tenant, id FROM leases WHERE expires < ? ORDER BY expires LIMIT ?) "
    "RETURNING tenant, id",
)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


class SQLiteBackend(SQLBackend):
    shared = True
    inline_reads = False  # True once the file is known to be in WAL mode
    dialect = DIALECT

    def __init__(self, path: str, schema_version: int = SCHEMA_VERSION) -> None:
        """Open the store, bring its schema up to date and check that it can be written;
        `check.StoreError` (one line) when it cannot be used."""
        self.path = self.where = path
        check.sqlite_file(path)
        super().__init__()
        # The file has one write lock. This process's writers queue for it here, woken as soon
        # as it is free, rather than polling SQLite for it against each other.
        self._writer = threading.Lock()
        self._checkpointing = threading.Lock()
        self._unchecked = 0  # commits since the last checkpoint
        self._closed = False
        # Whether the holder of `_writer` is waiting for the file's lock (another process's).
        self._elsewhere = False
        self._threads: PerThread[sqlite3.Connection] = PerThread(self._connect, _close)
        self._open(schema_version)

    def _before_migrating(self) -> None:
        check.sqlite_tables(self._db, self.path)

    def _check_writable(self) -> None:
        """A read-only file or mount lets SQLite open the file and read it, and refuses only
        the first write. Then: whether reads may run on the event loop (WAL mode)."""
        db = self._db
        try:
            self._begin_immediate(db)
        except Busy:
            pass  # another process is writing to it: so can this one, once it is done
        else:
            try:
                db.execute(WRITE_CHECK)
            finally:
                db.execute("ROLLBACK")
        (mode,) = self._one("PRAGMA journal_mode", ())
        self.inline_reads = str(mode).lower() == "wal"

    def _store_error(self, exc: BaseException) -> check.StoreError | None:
        return check.sqlite_error(self.path, exc) if isinstance(exc, sqlite3.Error) else None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints run on a thread of their own (`_checkpoint_soon`), never in a commit.
        db.execute("PRAGMA wal_autocheckpoint=0")
        # A WAL that starts over is cut back to this size (SQLite keeps it at its largest).
        db.execute(f"PRAGMA journal_size_limit={self.JOURNAL_LIMIT}")
        return db

    @property
    def _db(self) -> sqlite3.Connection:
        return self._threads.slot().conn

    def _migrating(self) -> AbstractContextManager[None]:
        return self.transaction("", write=True)

    # ---- transactions ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _begin(
        self, slot: Slot[sqlite3.Connection], tenant: str, write: bool, wait: bool = True
    ) -> Iterator[None]:
        db = slot.conn
        paused = None
        if write:
            if wait:
                deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
                if not self._writer.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
                    raise Busy("database is locked")
            else:
                if not self._writer.acquire(blocking=False):
                    # The holder may itself be waiting for another process: then so would this.
                    raise WouldWait("database is locked", here=not self._elsewhere)
            try:
                try:
                    self._begin_immediate(db, 0.0)  # free: the usual case
                except Busy:
                    if not wait:
                        raise
                    self._elsewhere = True  # from now on this waits for another process
                    try:
                        self._begin_immediate(db, deadline)
                    finally:
                        self._elsewhere = False
            except Busy as exc:
                self._writer.release()
                if wait:
                    raise
                raise WouldWait(str(exc), here=False) from None
            except BaseException:
                self._writer.release()
                raise
            paused = turns.suspend()  # the file's one write lock: every tenant's writes wait
        else:
            db.execute("BEGIN")
        slot.depth, slot.reading = 1, not write
        try:
            yield
            db.execute("COMMIT")
            if write:
                self._checkpoint_soon()  # counted under the process's write lock
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            slot.depth, slot.reading = 0, False
            if write:
                turns.resume(paused)
                self._writer.release()

    def _begin_unlocked(self, slot: Slot[sqlite3.Connection]) -> AbstractContextManager[None]:
        return self._begin(slot, "", write=True)  # a write takes the file's one lock anyway

    # SQLite checkpoints the WAL itself in the commit that finds it past 1,000 pages: it copies
    # the pages into the file and syncs both, holding up every other write of the process (they
    # wait for its write lock) and, for a write on the event loop (`wire._serve_soon`), every
    # request. So no connection checkpoints in a commit (`wal_autocheckpoint=0`): a thread of
    # their own does, one every `CHECKPOINT_EVERY` commits of the process. It copies the WAL
    # beside the writes (SQLite lets a checkpoint run while others write, and the copy leaves
    # the GIL to them), again over what they added meanwhile until little is left, then takes
    # the process's write lock for a last pass: the WAL starts over from its beginning only when
    # a write begins after a checkpoint that caught up with it, which never happens while writes
    # go on beside the checkpoint (the WAL then grew by some 70 KB a write). A page written
    # again between two checkpoints is copied once: every 240 writes of about 17 pages each (a
    # WAL of some 18 MB at most), a served POST costs 14-16% less CPU than every 60 and a GET
    # the same; every 600 (40 MB), a POST a little less again but a GET 7% more: a read looks
    # for its pages in the part of the WAL not yet copied (`docs/benchmarks.md`).
    CHECKPOINT_EVERY = 240
    # Sooner, whatever the count, once the WAL file is larger than this: a tenant writing the
    # largest requests there are (a session completed with 100 accounts) adds megabytes a
    # commit, and 240 of them made a WAL of over 1 GB in 40 seconds. A `stat` of the file
    # after a commit costs about 3 µs here (`python -m timeit`), a SQLite write some hundreds.
    WAL_HIGH = 64 * 1024 * 1024
    JOURNAL_LIMIT = 32 * 1024 * 1024
    # Unlocked passes go on while more frames than this are left, at most `CHECKPOINT_PASSES`.
    CHECKPOINT_LEFT = 256
    CHECKPOINT_PASSES = 4

    def close(self) -> None:
        """Close every connection, once a checkpoint under way has finished (none starts after):
        a closed store leaves its file alone, and the last connection's close copies the rest of
        the WAL into the file and removes it."""
        if not self._closed:
            self._closed = True
            self._checkpointing.acquire(timeout=2 * BUSY_TIMEOUT_MS / 1000)  # kept: no more
        super().close()

    def _checkpoint_soon(self) -> None:
        self._unchecked += 1
        if self._checkpointing.locked():
            return
        if self._unchecked < self.CHECKPOINT_EVERY and self._wal_size() <= self.WAL_HIGH:
            return
        self._unchecked = 0
        try:
            threading.Thread(target=self._checkpoint, name="fake-stripe-checkpoint").start()
        except RuntimeError:  # no thread to be had now (the interpreter is stopping, or
            pass  # out of threads): the next one will do it; the write stands

    def _wal_size(self) -> int:
        try:
            return os.stat(self.path + "-wal").st_size
        except OSError:
            return 0

    def _checkpoint(self) -> None:
        if not self._checkpointing.acquire(blocking=False):
            return
        try:
            db = sqlite3.connect(self.path, isolation_level=None)
            try:
                for _ in range(self.CHECKPOINT_PASSES):  # beside the writes
                    busy, frames, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if busy or frames - copied <= self.CHECKPOINT_LEFT:
                        break
                if not self._writer.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
                    return  # the next one will do it
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)")  # what they added meanwhile
                finally:
                    self._writer.release()
            finally:
                db.close()
        except sqlite3.Error:  # the store is closing, or busy: the next one will do it
            pass
        finally:
            self._checkpointing.release()

    @staticmethod
    def _begin_immediate(db: sqlite3.Connection, deadline: float | None = None) -> None:
        """`BEGIN IMMEDIATE`, waiting for the write lock in short steps: SQLite's own busy
        handler sleeps up to 100 ms between tries, which under contention between processes
        leaves the lock idle most of the time."""
        db.execute("PRAGMA busy_timeout=0")
        try:
            if deadline is None:
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

    def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self._q(sql, rows, many=True)

    def _q(self, sql: str, args: Any, many: bool = False) -> sqlite3.Cursor:
        """One statement (`many`: run over each of the rows `args`). A write in a read snapshot
        needs the write lock, which SQLite refuses when another process wrote since the
        snapshot: the request then runs again, writing."""
        slot = self._threads.slot()
        try:
            if many:
                return slot.conn.executemany(sql, args)
            return slot.conn.execute(sql, args)
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            if slot.reading:
                raise Conflict(str(exc)) from exc
            raise Busy(str(exc)) from exc


def _close(db: sqlite3.Connection) -> None:
    db.close()
