"""The SQL store, written once for SQLite and PostgreSQL: the schema and its migrations, and every
operation of `Backend` as statements.

What differs between the two engines is small and named in a `Dialect`: the placeholder, the
integer and float column types, reading a field of a JSON document, how expired leases are
claimed (PostgreSQL skips rows another instance is claiming; SQLite's one write lock serializes
claims), and whether a filter walks one byte-string key per index row (PostgreSQL, from schema
version 4: see `lookup_key`). Statements are written with `?` and each engine's `Dialect` turns
that into its own placeholder. The engine modules (`sqlite.py`, `postgres.py`) keep what is
theirs alone: connecting, transactions and locks, and turning the driver's errors into `Busy`,
`Conflict` and `StoreError`.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from .base import Match, Written
from .check import StoreError
from .threads import SETTLE_TIMEOUT, PerThread, Slot, Writers


@dataclass(frozen=True)
class Dialect:
    placeholder: str  # what `?` becomes
    bigint: str  # column types, as the first released schema wrote them
    double: str
    json_field: str  # a top-level text field of `data`: `{}` is the field's name
    # Take up to `limit` expired leases: parameters owner, until, now, limit.
    claim: str
    # Whether `lookup` is walked by one byte string per row (`vkey`, see `lookup_key`) rather
    # than by its columns: PostgreSQL's.
    keyed: bool = False

    def field(self, name: str) -> str:
        return self.json_field.format(name)

    @functools.cache  # noqa: B019 - two dialects, a few dozen statements
    def sql(self, statement: str) -> str:
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)


def migrations(d: Dialect) -> list[tuple[int, list[str]]]:
    """The schema, one step per version; a store at version n runs the steps after n when it
    is opened, so an upgraded fake keeps what users stored. Never edit a step once released:
    add one."""
    return [
        (
            1,
            [
                # SQLite files made before versioning have these tables already.
                "CREATE TABLE IF NOT EXISTS objects (tenant TEXT NOT NULL, id TEXT NOT NULL, "
                f"kind TEXT NOT NULL, seq {d.bigint} NOT NULL, data TEXT NOT NULL, "
                "PRIMARY KEY (tenant, id))",
                "CREATE INDEX IF NOT EXISTS objects_by_kind ON objects (tenant, kind, seq)",
                "CREATE TABLE IF NOT EXISTS meta (tenant TEXT NOT NULL, name TEXT NOT NULL, "
                "value TEXT NOT NULL, PRIMARY KEY (tenant, name))",
                "CREATE TABLE IF NOT EXISTS seqs "
                f"(tenant TEXT PRIMARY KEY, seq {d.bigint} NOT NULL)",
            ],
        ),
        (
            2,
            [
                "CREATE TABLE leases (tenant TEXT NOT NULL, id TEXT NOT NULL, owner TEXT NOT NULL, "
                f"expires {d.double} NOT NULL, PRIMARY KEY (tenant, id))",
                "CREATE INDEX leases_by_expiry ON leases (expires)",
                "CREATE INDEX leases_by_owner ON leases (owner)",
                "CREATE TABLE lookup (tenant TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, "
                f"value TEXT NOT NULL, kind TEXT NOT NULL, seq {d.bigint} NOT NULL, "
                "PRIMARY KEY (tenant, id, name))",
                "CREATE INDEX lookup_by_value ON lookup (tenant, kind, name, value, seq)",
                # Deliveries stored before leases existed: anyone may take them.
                "INSERT INTO leases (tenant, id, owner, expires) "
                "SELECT tenant, id, '', 0 FROM objects WHERE kind = 'webhook_delivery'",
                # The fields the models index (`StripeObject.indexed`) when this step was written.
                "INSERT INTO lookup (tenant, id, name, value, kind, seq) "
                f"SELECT tenant, id, 'email', {d.field('email')}, kind, seq FROM objects "
                f"WHERE kind = 'customer' AND {d.field('email')} IS NOT NULL",
                "INSERT INTO lookup (tenant, id, name, value, kind, seq) "
                f"SELECT tenant, id, 'type', {d.field('type')}, kind, seq FROM objects "
                f"WHERE kind = 'event' AND {d.field('type')} IS NOT NULL",
            ],
        ),
        (
            3,
            [
                # The kinds `MARKED` named when this step was written.
                "INSERT INTO meta (tenant, name, value) "
                "SELECT DISTINCT tenant, 'holds:webhook_endpoint', '1' FROM objects "
                "WHERE kind = 'webhook_endpoint' ON CONFLICT (tenant, name) DO NOTHING",
            ],
        ),
        (
            4,
            [
                "DROP INDEX lookup_by_value",
                # An object's key with its id first: a descent compares the id alone, found at
                # the tuple's start, where (tenant, id) compared the tenant first, equal all the
                # way down in a tenant of many objects, then found the id past it.
                "ALTER TABLE objects DROP CONSTRAINT objects_pkey",
                # Names compared byte by byte (`COLLATE "C"`) rather than by the database's
                # locale: the same equalities, at a fraction of the cost of every comparison
                # of a key (a primary key's descent compares a dozen). Only equality is asked
                # of them: nothing is ordered by a name.
                *(
                    f"ALTER TABLE {table} "
                    + ", ".join(f'ALTER COLUMN {c} TYPE TEXT COLLATE "C"' for c in columns)
                    for table, columns in _NAMES.items()
                ),
                "ALTER TABLE objects ADD PRIMARY KEY (id, tenant)",
                "ALTER TABLE lookup ADD COLUMN vkey BYTEA",
                f"UPDATE lookup SET vkey = {_KEY_OF_ROW}",
                "ALTER TABLE lookup ALTER COLUMN vkey SET NOT NULL",
                "CREATE INDEX lookup_by_key ON lookup (vkey)",
            ]
            if d.keyed
            else [],
        ),
    ]


SCHEMA_VERSION = 4
# The text columns of each table that a key or a condition names (all but the stored JSON).
_NAMES = {
    "objects": ("tenant", "id", "kind"),
    "meta": ("tenant", "name", "value"),
    "seqs": ("tenant",),
    "leases": ("tenant", "id", "owner"),
    "lookup": ("tenant", "id", "name", "value", "kind"),
}
# `lookup_key` in SQL, of a `lookup` row: its tenant, kind, field and value in UTF-8, each
# ended by a zero byte, then its sequence number in 8 bytes, most significant first.
_KEY_OF_ROW = (
    "convert_to(tenant, 'UTF8') || '\\x00'::bytea || convert_to(kind, 'UTF8') || '\\x00'::bytea "
    "|| convert_to(name, 'UTF8') || '\\x00'::bytea || convert_to(value, 'UTF8') "
    "|| '\\x00'::bytea || int8send(seq)"
)


def lookup_key(tenant: str, kind: str, field: str, value: str) -> bytes:
    """The start of the `vkey` of every `lookup` row of one index entry; a row's key is this and
    its sequence number in 8 bytes, most significant first.

    PostgreSQL 15 checks every tuple of a B-tree leaf page it reads against every key of the
    scan, and reads a whole page of matches where a page of a list needs a dozen: against the
    five text columns of an index on (tenant, kind, field, value, seq), most of them found only
    by walking the tuple, a page of customers with one email in a large tenant cost a fifth
    more than in an empty one. One byte string orders the same rows the same way and is checked
    twice a tuple, at its start: the rows of an entry after a sequence number are those between
    two keys. No part holds a zero byte (PostgreSQL's text cannot), so each part ends where its
    zero byte is, and only the entry's own rows begin with these bytes."""
    return b"\0".join((tenant.encode(), kind.encode(), field.encode(), value.encode(), b""))


def _between(prefix: bytes, pivot: int, newer: bool) -> tuple[bytes, bytes]:
    """The keys that bound the rows of an entry past `pivot` (exclusive): after it if `newer`,
    else before it (none before 0)."""
    at = prefix + max(pivot, 0).to_bytes(8, "big")
    return (at, prefix[:-1] + b"\1") if newer else (prefix, at)


# `Backend.marked`: every event asks for its tenant's webhook endpoints, which most tenants have
# none of; a walk of the kind would cost a statement of each event-writing request (a round trip
# on PostgreSQL), the marker nothing more than the meta the request reads anyway. A kind added
# here needs a migration step that marks the tenants already holding one.
MARKED: Mapping[str, str] = {"webhook_endpoint": "holds:webhook_endpoint"}
# The write that proves a store writable, rolled back: a read-only file, mount, database or role
# is refused when the store is opened, not with a 500 on each request later.
WRITE_CHECK = (
    "INSERT INTO meta (tenant, name, value) VALUES ('', 'write check', '') "
    "ON CONFLICT (tenant, name) DO NOTHING"
)
_VERSIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
    "applied_at {} NOT NULL)"
)
_SEQ_OF = "SELECT seq FROM objects WHERE tenant=? AND id=?"
# Take n sequence numbers at once (parameters: tenant, n, n): returns the last one taken.
_SEQS_TAKE = (
    "INSERT INTO seqs (tenant, seq) VALUES (?, ?) ON CONFLICT (tenant) "
    "DO UPDATE SET seq = seqs.seq + ? RETURNING seq"
)
_META_SET = (
    "INSERT INTO meta (tenant, name, value) VALUES (?, ?, ?) "
    "ON CONFLICT (tenant, name) DO UPDATE SET value = excluded.value"
)
_TABLES = ("objects", "meta", "seqs", "lookup", "leases")
_BATCH = 64  # rows a list walk reads at a time
# ... at first, when the caller does not say how many it means to read (`iter_desc`'s `first`;
# a list page says its limit and one more): a page costs no more in a large store than in a
# small one, where a batch of 64 would read rows the page never shows. Read ahead of what the
# page needs, rows cost more in a large store, where there are more of them to read.
_FIRST_BATCH = 16
_END = 1 << 62  # past every sequence number


class SQLBackend:
    """Every `Backend` operation in SQL. An engine provides `dialect`, `where` (the store as
    its messages name it), `_threads` (a connection per thread), `_q` (one statement, its
    errors mapped), `_begin` (a thread's outermost transaction, under the tenant's write lock
    when it writes), `_begin_unlocked` (one without the tenant's lock, for a write of several
    statements outside any request) and `_migrating` (a transaction no other process
    migrates in at the same time)."""

    dialect: Dialect
    where: str
    _threads: PerThread[Any]
    marked = MARKED

    def __init__(self) -> None:
        self._writers = Writers()

    def _q(self, sql: str, args: tuple[Any, ...]) -> Any:
        raise NotImplementedError

    def _begin(
        self, slot: Slot[Any], tenant: str, write: bool, wait: bool
    ) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _begin_unlocked(self, slot: Slot[Any]) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _migrating(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _check_writable(self) -> None:
        """A write, rolled back (see `WRITE_CHECK`)."""
        raise NotImplementedError

    def _store_error(self, exc: BaseException) -> StoreError | None:
        """The driver's error as the one line that says what is wrong; None for any other."""
        raise NotImplementedError

    def _open(self, schema_version: int) -> None:
        """Bring the schema up to date and check that the store can be written; closed again
        and `StoreError` when it cannot be used."""
        try:
            self._before_migrating()
            self._migrate(schema_version)
            self._check_writable()
        except BaseException as exc:
            self.close()
            error = self._store_error(exc)
            if error is None:
                raise
            raise error from None

    def _before_migrating(self) -> None:
        """What the engine checks first (SQLite: that the file is fake-stripe's)."""

    # ---- transactions ------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, tenant: str, write: bool, wait: bool = True) -> Iterator[None]:
        slot = self._threads.slot()
        if slot.depth:  # a nested transaction joins the outer one
            slot.depth += 1
            try:
                yield
            finally:
                slot.depth -= 1
            return
        held = None
        try:
            with self._begin(slot, tenant, write, wait):
                held = self._writers.begin(tenant)
                yield
        finally:
            if held is not None:
                self._writers.end(tenant, held)

    def settle(self, tenant: str, timeout: float = SETTLE_TIMEOUT) -> None:
        self._writers.settle(tenant, timeout)

    @contextlib.contextmanager
    def _atomic(self) -> Iterator[None]:
        """A write of several statements: joins the open transaction, or opens one."""
        slot = self._threads.slot()
        if slot.depth:
            yield
        else:
            with self._begin_unlocked(slot):
                yield

    def close(self) -> None:
        self._threads.close()

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        return self._q(sql, args).fetchone()

    # ---- schema ------------------------------------------------------------------------------
    def _migrate(self, target: int) -> None:
        with self._migrating():
            self._q(_VERSIONS.format(self.dialect.double), ())
            current = self.schema_version()
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"--db {self.where} has schema version {current}, newer than this "
                    f"fake-stripe knows ({SCHEMA_VERSION}); upgrade fake-stripe to open it"
                )
            for version, steps in migrations(self.dialect):
                if current < version <= target:
                    for step in steps:
                        self._q(step, ())
                    self._q("INSERT INTO schema_migrations VALUES (?, ?)", (version, time.time()))

    def schema_version(self) -> int:
        (v,) = self._one("SELECT coalesce(max(version), 0) FROM schema_migrations", ())
        return int(v)

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
        self.write(tenant, {}, [(obj_id, (kind, data, index))])

    def write(
        self,
        tenant: str,
        meta: Mapping[str, str],
        objects: Sequence[tuple[str, Written | None]],
        new: Collection[str] = (),
    ) -> None:
        """The objects that exist found in one query (none for a write of new objects only),
        the new ones numbered in one (in the order given), then each table written by one
        statement over its rows."""
        marked = self.marked
        marks = {marked[row[0]] for _, row in objects if row is not None and row[0] in marked}
        with self._atomic():
            if meta or marks:
                named = [(tenant, n, v) for n, v in meta.items()]
                named.extend((tenant, name, "1") for name in marks)
                self._many(_META_SET, named)
            gone = [(tenant, oid) for oid, row in objects if row is None]
            for table in ("objects", "lookup", "leases") if gone else ():
                self._many(f"DELETE FROM {table} WHERE tenant=? AND id=?", gone)
            kept = {oid: row for oid, row in objects if row is not None}
            if not kept:
                return
            seqs = self._seqs_of(tenant, [oid for oid in kept if oid not in new])
            stored = set(seqs)  # only these can have lookup rows: they go with their object
            unstored = [oid for oid in kept if oid not in seqs]
            if unstored:
                count = len(unstored)
                (last,) = self._one(_SEQS_TAKE, (tenant, count, count))
                seqs.update({oid: last - count + 1 + i for i, oid in enumerate(unstored)})
            self._many(
                "INSERT INTO objects (tenant, id, kind, seq, data) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant, id) DO UPDATE SET kind = excluded.kind, data = excluded.data",
                [(tenant, oid, row[0], seqs[oid], row[1]) for oid, row in kept.items()],
            )
            indexed = [(oid, row) for oid, row in kept.items() if row[2] is not None]
            if indexed:
                unindexed = [(tenant, o) for o, _ in indexed if o in stored]
                if unindexed:
                    self._many("DELETE FROM lookup WHERE tenant=? AND id=?", unindexed)
                rows = [
                    (tenant, oid, name, value, row[0], seqs[oid])
                    for oid, row in indexed
                    for name, value in (row[2] or {}).items()
                ]
                if rows and self.dialect.keyed:
                    self._many(
                        "INSERT INTO lookup (tenant, id, name, value, kind, seq, vkey) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [
                            (*r, lookup_key(tenant, r[4], r[2], r[3]) + r[5].to_bytes(8, "big"))
                            for r in rows
                        ],
                    )
                elif rows:
                    self._many(
                        "INSERT INTO lookup (tenant, id, name, value, kind, seq) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        rows,
                    )

    def _seqs_of(self, tenant: str, ids: list[str]) -> dict[str, int]:
        """The sequence numbers of those of `ids` that are stored, a batch of ids a query."""
        found: dict[str, int] = {}
        for at in range(0, len(ids), _BATCH):  # (no query for no ids)
            chunk = ids[at : at + _BATCH]
            marks = ", ".join("?" * len(chunk))
            sql = f"SELECT id, seq FROM objects WHERE tenant=? AND id IN ({marks})"
            found.update((str(i), int(n)) for i, n in self._q(sql, (tenant, *chunk)).fetchall())
        return found

    def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """One statement over several rows."""
        raise NotImplementedError

    def delete(self, tenant: str, obj_id: str) -> None:
        self.write(tenant, {}, [(obj_id, None)])

    def iter_desc(
        self,
        tenant: str,
        kind: str,
        starting_after: str | None,
        ending_before: str | None,
        match: Match | None = None,
        first: int | None = None,
    ) -> Iterator[tuple[str, str]]:
        size = _FIRST_BATCH if first is None else max(1, min(first, _BATCH))
        if ending_before is not None:
            row = self._one(_SEQ_OF, (tenant, ending_before))
            pivot, newer = (row[0] if row else _END), True
        else:
            row = self._one(_SEQ_OF, (tenant, starting_after)) if starting_after else None
            pivot, newer = row[0] if row else (-1 if starting_after is not None else _END), False
        walk: Iterator[tuple[int, str, str]]
        entries = match if isinstance(match, list) or match is None else [match]
        if entries is None:
            walk = self._walk(tenant, kind, pivot, newer, None, size)
        elif not entries:  # none of no entries: nothing
            walk = iter(())
        elif len(entries) == 1:
            walk = self._walk(tenant, kind, pivot, newer, entries[0], size)
        else:
            walk = self._walk_any(tenant, kind, pivot, newer, entries, size)
        for _seq, oid, data in walk:
            yield oid, data

    def _walk(
        self,
        tenant: str,
        kind: str,
        pivot: int,
        newer: bool,
        match: tuple[str, str] | None,
        size: int = _FIRST_BATCH,
    ) -> Iterator[tuple[int, str, str]]:
        """(seq, id, JSON) of a kind, from `pivot` on: older first unless `newer`; `size` rows
        read by the first statement, `_BATCH` by each after it."""
        op, order = (">", "ASC") if newer else ("<", "DESC")
        if match is not None and self.dialect.keyed:
            sql = (
                "SELECT o.id, o.data, l.seq FROM lookup l JOIN objects o "
                "ON o.tenant = l.tenant AND o.id = l.id "
                f"WHERE l.vkey > ? AND l.vkey < ? ORDER BY l.vkey {order} LIMIT ?"
            )
            prefix = lookup_key(tenant, kind, *match)
            return self._batches(
                lambda after, n: self._q(sql, (*_between(prefix, after, newer), n)).fetchall(),
                pivot,
                size,
            )
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
        return self._batches(
            lambda after, n: self._q(sql, (tenant, kind, after, *extra, n)).fetchall(), pivot, size
        )

    def _walk_any(
        self,
        tenant: str,
        kind: str,
        pivot: int,
        newer: bool,
        entries: list[tuple[str, str]],
        size: int,
    ) -> Iterator[tuple[int, str, str]]:
        """`_walk` of the objects matching any of several entries, each once. A statement
        takes the next `size` (seq, id) of each entry from the index alone, keeps the `size`
        first of them all (an object two entries match once), and only then reads those
        objects: a page reads the objects it shows and one more, not `size` of each entry's
        (each a seek into a table that grows with the store)."""
        op, order = (">", "ASC") if newer else ("<", "DESC")
        keyed = self.dialect.keyed
        if keyed:
            one = (
                "SELECT seq, id FROM (SELECT seq, id FROM lookup WHERE vkey > ? AND vkey < ? "
                f"ORDER BY vkey {order} LIMIT ?) e{{}}"
            )
        else:
            one = (
                "SELECT seq, id FROM (SELECT seq, id FROM lookup WHERE tenant=? AND kind=? "
                f"AND seq {op} ? AND name=? AND value=? ORDER BY seq {order} LIMIT ?) e{{}}"
            )
        sql = (
            "SELECT o.id, o.data, p.seq FROM ("
            + " UNION ".join(one.format(i) for i in range(len(entries)))
            + f" ORDER BY seq {order} LIMIT ?) p JOIN objects o ON o.tenant=? AND o.id=p.id"
        )
        prefixes = [lookup_key(tenant, kind, *e) for e in entries] if keyed else []

        def run(after: int, n: int) -> list[tuple[str, str, int]]:
            args: list[Any]
            if keyed:
                args = [a for p in prefixes for a in (*_between(p, after, newer), n)]
            else:
                args = [a for e in entries for a in (tenant, kind, after, *e, n)]
            rows: list[tuple[str, str, int]] = self._q(sql, (*args, n, tenant)).fetchall()
            rows.sort(key=lambda r: r[2], reverse=not newer)  # (a join keeps no order)
            return rows

        # A statement that reads fewer than it asks for ends the walk: every entry had fewer
        # left (one with as many would alone have filled it).
        return self._batches(run, pivot, size)

    @staticmethod
    def _batches(
        run: Callable[[int, int], list[tuple[str, str, int]]], pivot: int, size: int
    ) -> Iterator[tuple[int, str, str]]:
        """(seq, id, JSON) of the rows (id, JSON, seq) `run(after, n)` reads, statement after
        statement, each going on after the last row read: `size` rows asked by the first,
        `_BATCH` by each after it, until one reads fewer than it asked."""
        while True:
            rows = run(pivot, size)
            for oid, data, seq in rows:
                pivot = seq
                yield seq, oid, data
            if len(rows) < size:
                return
            size = _BATCH

    def may_hold(self, tenant: str, kind: str) -> bool:
        marker = self.marked.get(kind)
        # Unmarked kinds: asking would cost a statement, as the walk does.
        return marker is None or self.meta_get(tenant, marker) is not None

    def newest_first(self, tenant: str, ids: Collection[str]) -> list[str]:
        seqs = self._seqs_of(tenant, sorted(set(ids)))
        return sorted(seqs, key=seqs.__getitem__, reverse=True)

    # ---- metadata ----------------------------------------------------------------------------
    def meta_get(self, tenant: str, name: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE tenant=? AND name=?", (tenant, name))
        return None if row is None else str(row[0])

    def meta_many(self, tenant: str, names: tuple[str, ...]) -> dict[str, str]:
        if not names:
            return {}
        marks = ", ".join("?" * len(names))
        rows = self._q(
            f"SELECT name, value FROM meta WHERE tenant=? AND name IN ({marks})",
            (tenant, *names),
        ).fetchall()
        return {str(n): str(v) for n, v in rows}

    def meta_set(self, tenant: str, name: str, value: str) -> None:
        self._q(_META_SET, (tenant, name, value))

    def meta_swap(self, tenant: str, name: str, old: str | None, new: str | None) -> bool:
        if new is None:
            cur = self._q(
                "DELETE FROM meta WHERE tenant=? AND name=? AND value=?", (tenant, name, old)
            )
        elif old is None:
            cur = self._q(
                "INSERT INTO meta (tenant, name, value) VALUES (?, ?, ?) "
                "ON CONFLICT (tenant, name) DO NOTHING",
                (tenant, name, new),
            )
        else:
            cur = self._q(
                "UPDATE meta SET value=? WHERE tenant=? AND name=? AND value=?",
                (new, tenant, name, old),
            )
        return bool(cur.rowcount == 1)

    def increment(self, tenant: str, name: str) -> int:
        """One statement: atomic across the processes sharing the store."""
        (value,) = self._one(
            "INSERT INTO meta (tenant, name, value) VALUES (?, ?, '1') "
            "ON CONFLICT (tenant, name) DO UPDATE "
            "SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT) RETURNING value",
            (tenant, name),
        )
        return int(value)

    # ---- leases ------------------------------------------------------------------------------
    def lease(self, tenant: str, obj_id: str, owner: str, until: float, now: float) -> bool:
        cur = self._q(
            "INSERT INTO leases (tenant, id, owner, expires) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (tenant, id) DO UPDATE SET owner = excluded.owner, "
            "expires = excluded.expires "
            "WHERE leases.owner = excluded.owner OR leases.expires < ?",
            (tenant, obj_id, owner, until, now),
        )
        return bool(cur.rowcount == 1)

    def renew(self, owner: str, until: float) -> int:
        return int(self._q("UPDATE leases SET expires=? WHERE owner=?", (until, owner)).rowcount)

    def release_all(self, owner: str) -> None:
        self.renew(owner, 0.0)

    def claim_expired(
        self, owner: str, until: float, now: float, limit: int
    ) -> list[tuple[str, str]]:
        with self._atomic():
            rows = self._q(self.dialect.claim, (owner, until, now, limit)).fetchall()
        return [(str(t), str(i)) for t, i in rows]

    def any_expired(self, now: float) -> bool:
        found = self._q("SELECT 1 FROM leases WHERE expires < ? LIMIT 1", (now,)).fetchone()
        return found is not None

    # ---- whole tenants -----------------------------------------------------------------------
    def reset(self, tenant: str | None) -> None:
        with self._atomic():
            for table in _TABLES:
                if tenant is None:
                    self._q(f"DELETE FROM {table}", ())
                else:
                    self._q(f"DELETE FROM {table} WHERE tenant=?", (tenant,))

    def tenants(self) -> list[str]:
        return [str(r[0]) for r in self._q("SELECT tenant FROM seqs", ()).fetchall()]
