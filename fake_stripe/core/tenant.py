"""One tenant's world: typed access to its objects, its ID stream and its clock; and a request's
staged view of it.

IDs come from one seedable source: `prefix + base62(sha256(seed:tenant:n))`, with the counter n
kept in the tenant's metadata, so the same seed and the same requests give the same IDs, and a
restarted SQLite store never reissues one. A request counts its ids on from the counter it read
and writes the counter back with its other writes, inside its store transaction (which holds the
tenant's write lock, or fails as a `Conflict` if another writer came first), so no two requests
ever number alike; a request that fails consumes no ids.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from .clock import Clock, Schedule
from .errors import resource_missing
from .keys import KEY_RE as KEY_RE  # re-exported: the server reads keys through this module
from .keys import tenant_of as tenant_of
from .kinds import model_for
from .raw import Kind, RawObject
from .store import Backend
from .store.base import Match
from .turns import checkpoint, unbounded
from .views import View

if TYPE_CHECKING:
    from .objects import StripeObject

M = TypeVar("M")
Stored: TypeAlias = "StripeObject | RawObject"
Row = tuple[str, str]  # kind, JSON
Staged = tuple[str, str, dict[str, str] | None]  # kind, JSON, indexed values

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# byte -> base62 character (byte % 62): an id is one `translate` of its digest, not a
# big-integer division per character (ids are made on every write).
_BYTE_TO_B62 = bytes(ord(_B62[b % 62]) for b in range(256))

# Stripe's usual id lengths after the prefix.
ID_LENGTHS = {"cus": 14, "evt": 24, "req": 14, "we": 24, "whsec": 32, "seti": 24, "pm": 24}
ID_COUNTER = "id_counter"


@functools.lru_cache(maxsize=4096)
def _ids_from(seed: object, name: str) -> Any:
    """The digest every id of a tenant starts from (`seed:name:`); each id goes on with its
    number. Kept for the most recent tenants (never update it: copy it)."""
    return hashlib.sha256(f"{seed}:{name}:".encode())


def secret_matches(given: str, expected: str | None) -> bool:
    """Whether a client secret someone showed is the object's: in constant time."""
    return expected is not None and hmac.compare_digest(given.encode(), expected.encode())


class Tenant:
    def __init__(
        self,
        backend: Backend,
        name: str,
        seed: int,
        frozen_at: int | None = None,
        schedules: Mapping[str, Schedule[Any]] | None = None,
    ) -> None:
        self.backend = backend
        self.name = name
        self.seed = seed
        self.frozen_at = frozen_at
        self.schedules: Mapping[str, Schedule[Any]] = schedules or {}
        self.clock = Clock(self, self.schedules, frozen_at)

    def now(self) -> int:
        return self.clock.now()

    # ---- ids ---------------------------------------------------------------------------------
    def new_id(self, prefix: str, length: int | None = None) -> str:
        # Outside a request: one atomic increment, under the tenant's write lock so that it
        # never meets a request counting on from the same counter.
        with self.backend.transaction(self.name, True):
            n = self.backend.increment(self.name, ID_COUNTER)
        return self._id(prefix, n, length)

    def _id(self, prefix: str, n: int, length: int | None) -> str:
        size = length or ID_LENGTHS.get(prefix, 24)
        hasher = _ids_from(self.seed, self.name).copy()
        hasher.update(b"%d" % n)
        digest: bytes = hasher.digest()
        while len(digest) < size:
            digest += hashlib.sha256(digest).digest()
        return prefix + "_" + digest[:size].translate(_BYTE_TO_B62).decode("ascii")

    def client_secret(self, obj_id: str, length: int = 24) -> str:
        """A new client secret for the object `obj_id` (`<id>_secret_<random>`)."""
        return f"{obj_id}_secret_{self.new_id('x', length)[2:]}"

    def random_int(self, label: str, modulo: int) -> int:
        """A seed-deterministic number for `label` (seeds the made-up data of one object)."""
        digest = hashlib.sha256(f"{self.seed}:{self.name}:{label}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % modulo

    # ---- objects -----------------------------------------------------------------------------
    def _row(self, obj_id: str) -> Row | None:
        return self.backend.get(self.name, obj_id)

    def get(self, cls: Kind[M], obj_id: str) -> M | None:
        row = self._row(obj_id)
        if row is None or row[0] != cls.kind:
            return None
        checkpoint()
        return cls.model_validate_json(row[1])

    def load(self, cls: Kind[M], obj_id: str, param: str = "id", status: int | None = None) -> M:
        """The object, or Stripe's `resource_missing` naming `param`."""
        obj = self.get(cls, obj_id)
        if obj is None:
            raise resource_missing(cls.noun, obj_id, param, status)
        return obj

    def view(
        self, cls: Kind[StripeObject], obj_id: str, param: str = "id", status: int | None = None
    ) -> View:
        """As `load`, for an object that is only rendered: its model is built only if its JSON
        was never rendered at the reader's version (`core.views`)."""
        row = self._row(obj_id)
        if row is None or row[0] != cls.kind:
            raise resource_missing(cls.noun, obj_id, param, status)
        return View(cls, row[1])

    def get_any(self, obj_id: str) -> Stored | None:
        """The object with this id, whatever its kind (a `RawObject` for a kind with no model)."""
        row = self._row(obj_id)
        if row is None:
            return None
        try:
            model = model_for(row[0])
        except KeyError:
            return RawObject(row[0], json.loads(row[1]))
        return model.model_validate_json(row[1])

    def put(self, obj: Stored) -> str:
        """Store `obj`; its JSON as stored."""
        data = obj.model_dump_json()
        self.backend.put(self.name, obj.kind, obj.id, data, obj.index_values())
        return data

    def delete(self, obj: Stored) -> None:
        self.backend.delete(self.name, obj.id)

    def iterate(
        self,
        cls: Kind[M],
        where: Callable[[M], bool] | None = None,
        starting_after: str | None = None,
        ending_before: str | None = None,
        match: Match | None = None,
        among: Collection[str] | None = None,
    ) -> Iterator[M]:
        """Newest first (or, with `ending_before`, oldest first from just newer than it).

        `match=(field, value)` reads only the objects whose indexed `field` holds `value` (the
        field must be in `cls.indexed`), or with a list of them, those holding any; `among` only
        the objects with these ids (a few: a session's accounts); `where` still filters what is
        read.
        """
        for data in self.stored_json(cls, starting_after, ending_before, match, among):
            obj = cls.model_validate_json(data)
            if where is None or where(obj):
                yield obj

    def stored_json(
        self,
        cls: Kind[Any],
        starting_after: str | None = None,
        ending_before: str | None = None,
        match: Match | None = None,
        among: Collection[str] | None = None,
        first: int | None = None,
    ) -> Iterator[str]:
        """The JSON of each object `iterate` reads, in its order, before its `where`. `first`:
        how many the caller means to read before it may stop (`Backend.iter_desc`)."""
        walk = self._walk(cls.kind, starting_after, ending_before, match, among, first)
        for _oid, data in walk:
            yield data

    def _walk(
        self,
        kind: str,
        starting_after: str | None,
        ending_before: str | None,
        match: Match | None,
        among: Collection[str] | None,
        first: int | None = None,
    ) -> Iterator[tuple[str, str]]:
        """The stored objects a walk reads, in its order, as (id, JSON)."""
        if among is None:
            yield from self.backend.iter_desc(
                self.name, kind, starting_after, ending_before, match, first
            )
            return
        cursor = starting_after if starting_after is not None else ending_before
        order = self.backend.newest_first(self.name, [*among, *([cursor] if cursor else [])])
        if cursor is None:
            ids = order
        elif cursor not in order:  # as `iter_desc`: nothing older, everything newer
            ids = [] if starting_after is not None else order[::-1]
        elif starting_after is not None:
            ids = order[order.index(cursor) + 1 :]
        else:
            ids = order[: order.index(cursor)][::-1]
        wanted = set(among)
        for oid in ids:
            row = self.backend.get(self.name, oid) if oid in wanted else None
            if row is not None and row[0] == kind:
                yield oid, row[1]

    def every(self, cls: Kind[M]) -> list[M]:
        """Every object of a kind, newest first (for kinds a tenant has few of)."""
        if not self.backend.may_hold(self.name, cls.kind):
            return []
        return list(self.iterate(cls))

    def meta_get(self, name: str) -> str | None:
        return self.backend.meta_get(self.name, name)

    def meta_set(self, name: str, value: str) -> None:
        self.backend.meta_set(self.name, name, value)


class StagedTenant(Tenant):
    """A request's view of its tenant: writes are held until `commit`, so a request that ends
    in an error leaves the store as it found it. Reads see the request's own writes.

    It reads the store as little as it can, all inside the request's transaction (where nobody
    else writes the tenant): an object or a metadata name at most once; the clock and the id
    counter in one call, at the first metadata read; every object of a kind (`every`) once.
    Work that must follow the commit (handing new deliveries to webhook delivery) is queued in
    `after_commit`; it runs inside the transaction, after the writes.
    """

    def __init__(self, base: Tenant) -> None:
        # Not `Tenant.__init__`: a request's tenant has a clock of its own, fixed in time.
        self.backend, self.name, self.seed = base.backend, base.name, base.seed
        self.frozen_at, self.schedules = base.frozen_at, base.schedules
        self.clock = Clock(self, self.schedules, self.frozen_at, fixed=True, like=base.clock)
        self.base = base
        self._start()

    def _start(self) -> None:
        self._objects: dict[str, Staged | None] = {}  # first staged first; None: deleted
        self._meta: dict[str, str] = {}
        self._counter: int | None = None
        self._made: set[str] = set()  # ids numbered here: new objects
        self._kinds: set[str] = set()  # the kinds of the objects staged (kept if deleted)
        self.after_commit: list[Callable[[], None]] = []
        self.begin()

    def begin(self) -> None:
        """The request's transaction has begun: forget what was read before it (it may be
        stale), so that every read the request relies on is the transaction's."""
        self.clock.restart()
        self._stored: dict[str, Row | None] = {}  # rows read from the store
        self._meta_stored: dict[str, str | None] = {}
        self._prefetched = False
        self._lists: dict[str, list[Any]] = {}

    # ---- ids ---------------------------------------------------------------------------------
    def new_id(self, prefix: str, length: int | None = None) -> str:
        if self._counter is None:
            self._counter = int(self.meta_get(ID_COUNTER) or 0)
        self._counter += 1  # staged as the tenant's ID_COUNTER at the commit
        oid = self._id(prefix, self._counter, length)
        self._made.add(oid)
        return oid

    # ---- objects -----------------------------------------------------------------------------
    def _from_store(self, obj_id: str) -> Row | None:
        if obj_id not in self._stored:
            checkpoint()
            self._stored[obj_id] = self.backend.get(self.name, obj_id)
        return self._stored[obj_id]

    def _row(self, obj_id: str) -> Row | None:
        if obj_id in self._objects:
            staged = self._objects[obj_id]
            return None if staged is None else staged[:2]
        return self._from_store(obj_id)

    def put(self, obj: Stored) -> str:
        """Stage `obj`; its JSON as staged (an event of it may reuse it: `Ctx.emit`)."""
        checkpoint()
        if isinstance(obj, RawObject):
            data = obj.model_dump_json()
        else:  # `model_dump_json()` as it writes it, without its wrapper's keyword arguments
            data = obj.__pydantic_serializer__.to_json(obj).decode()
        self.put_row(obj.kind, obj.id, data, obj.index_values())
        return data

    def put_row(self, kind: str, oid: str, data: str, index: dict[str, str] | None) -> None:
        """Stage an object already written as JSON (as its model would write it)."""
        self._objects[oid] = (kind, data, index)
        self._kinds.add(kind)
        self._lists.pop(kind, None)
        checkpoint()

    def delete(self, obj: Stored) -> None:
        self._objects[obj.id] = None
        self._lists.pop(obj.kind, None)

    def _is_new(self, obj_id: str) -> bool:
        return obj_id in self._made or self._from_store(obj_id) is None

    def stored_json(
        self,
        cls: Kind[Any],
        starting_after: str | None = None,
        ending_before: str | None = None,
        match: Match | None = None,
        among: Collection[str] | None = None,
        first: int | None = None,
    ) -> Iterator[str]:
        entries = [] if match is None else match if isinstance(match, list) else [match]

        def matches(row: Staged) -> bool:
            held = row[2] or {}
            return match is None or any(held.get(f) == v for f, v in entries)

        fresh = [
            row[:2]
            for oid, row in self._objects.items()
            if row is not None
            and row[0] == cls.kind
            and matches(row)
            and (among is None or oid in among)
            and self._is_new(oid)
        ]

        def rows() -> Iterator[Row | None]:
            # Objects created in this request are the newest of all.
            if starting_after is None and ending_before is None:
                yield from reversed(fresh)
            walk = self._walk(cls.kind, starting_after, ending_before, match, among, first)
            for oid, data in walk:
                if oid in self._objects:
                    staged = self._objects[oid]
                    yield None if staged is None or not matches(staged) else staged[:2]
                else:
                    yield cls.kind, data
            if ending_before is not None:
                yield from fresh

        for found in rows():
            if found is None:
                continue
            checkpoint()
            yield found[1]

    def may_hold(self, kind: str) -> bool:
        """Whether the tenant may hold objects of `kind`, staged or stored (False: it holds
        none). Most tenants have no webhook endpoint, which every event asks for: where the
        store marks the kind (`Backend.marked`), its marker came with the request's meta."""
        if kind in self._kinds:
            return True
        marker = self.backend.marked.get(kind)
        if marker is None:
            return self.backend.may_hold(self.name, kind)
        return self.meta_get(marker) is not None

    def every(self, cls: Kind[M]) -> list[M]:
        kind = cls.kind
        found = self._lists.get(kind)
        if found is None:
            if self.may_hold(kind):
                found = list(self.iterate(cls))
            else:
                found = []
            self._lists[kind] = found
        return list(found)

    # ---- metadata ----------------------------------------------------------------------------
    def meta_get(self, name: str) -> str | None:
        if name in self._meta:
            return self._meta[name]
        stored = self._meta_stored
        if name in stored:
            return stored[name]
        if not self._prefetched:
            self._prefetched = True
            wanted = (*self.clock.names(), ID_COUNTER, *self.backend.marked.values())
            stored.update(dict.fromkeys(wanted))  # None: known to be unset
            stored.update(self.backend.meta_many(self.name, wanted))
            if name in stored:
                return stored[name]
        value = stored[name] = self.backend.meta_get(self.name, name)
        return value

    def meta_set(self, name: str, value: str) -> None:
        self._meta[name] = value

    # ---- the end of the request --------------------------------------------------------------
    def commit(self, last: bool = False) -> None:
        """Write what the request staged, then run `after_commit`. The caller holds the store's
        transaction, so other processes see all of it or none of it. `last`: the request ends
        here, so what this tenant read need not be brought up to date (a read after it, if
        any, finds what was written in the store)."""
        if self._counter is not None:  # ids were numbered: the next goes on from the store's
            self._meta[ID_COUNTER] = str(self._counter)
            self._counter = None
        if not (self._meta or self._objects or self.after_commit):
            return  # a read: nothing to write, nothing to follow
        unbounded()  # a read tried on the event loop that wrote after all: no stop past here
        if self._meta or self._objects:
            self.backend.write(self.name, self._meta, list(self._objects.items()), self._made)
            checkpoint()
        if last and not self.after_commit:
            self._meta, self._objects = {}, {}
            self._stored.clear()
            self._meta_stored.clear()
            self._prefetched = False
            return
        # What was written is what the store now holds (the transaction is still open).
        self._meta_stored.update(self._meta)
        self._stored.update({oid: None if r is None else r[:2] for oid, r in self._objects.items()})
        self._meta, self._objects = {}, {}
        self._made = set()  # stored now: a later commit of this tenant must look for them
        hooks, self.after_commit = self.after_commit, []
        for hook in hooks:
            hook()

    def discard(self) -> None:
        """Forget what was staged and read (the request runs again from the start)."""
        self._start()
