"""One tenant's world: typed access to its objects, its ID stream and its clock.

IDs come from one seedable source: `prefix + base62(sha256(seed:tenant:n))`, with the counter n
kept in the tenant's metadata, so the same seed and the same requests give the same IDs, and a
restarted SQLite store never reissues one. The clock is real time plus an offset the tenant can
advance (`/v1/test_helpers/clock/advance`), or a frozen instant.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from .errors import invalid_param, resource_missing
from .objects import StripeObject, model_for
from .raw import Kind, RawObject
from .store import Backend

M = TypeVar("M")
Stored = StripeObject | RawObject

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# byte -> base62 character (byte % 62): an id is one `translate` of its digest, not a
# big-integer division per character (ids are made on every write).
_BYTE_TO_B62 = bytes(ord(_B62[b % 62]) for b in range(256))

# Stripe's usual id lengths after the prefix.
ID_LENGTHS = {"cus": 14, "evt": 24, "req": 14, "we": 24, "whsec": 32, "seti": 24, "pm": 24}


# GUESS (docs/limits.md): how far a tenant's clock may be advanced in all, so that every date
# the fake computes from it (a settlement, a TAN expiry, a deactivation 10 years ahead) stays a
# real calendar date and far from the end of Stripe's timestamps.
MAX_CLOCK_OFFSET = 100 * 365 * 86_400

# An API key, matched in full (`fullmatch`: `$` would also match before a final newline).
KEY_RE = re.compile(r"(sk|rk|pk)_(test|live)_([A-Za-z0-9_]+)")


def tenant_of(key: str) -> str:
    """The one way from an API key to its tenant's name: `sk_test_abc` / `rk_test_abc` /
    `pk_test_abc` -> `abc`. A tenant name is never read as a key again (`sk_test_sk_test_x`
    is tenant `sk_test_x`, not `x`). Raises ValueError for anything that is not a whole key."""
    m = KEY_RE.fullmatch(key)
    if m is None:
        raise ValueError("not an API key")
    return m.group(3)


class Tenant:
    def __init__(self, backend: Backend, name: str, seed: int, frozen_at: int | None) -> None:
        self.backend = backend
        self.name = name
        self.seed = seed
        self._frozen_at = frozen_at

    # ---- ids ---------------------------------------------------------------------------------
    def new_id(self, prefix: str, length: int | None = None) -> str:
        # Straight from the store, atomically: processes sharing a SQLite file never reissue an
        # id, even inside a request's transaction.
        n = self.backend.increment(self.name, "id_counter")
        size = length or ID_LENGTHS.get(prefix, 24)
        digest = hashlib.sha256(f"{self.seed}:{self.name}:{n}".encode()).digest()
        while len(digest) < size:
            digest += hashlib.sha256(digest).digest()
        return prefix + "_" + digest[:size].translate(_BYTE_TO_B62).decode("ascii")

    def random_int(self, label: str, modulo: int) -> int:
        """A seed-deterministic number for `label` (seeds the made-up data of one object)."""
        digest = hashlib.sha256(f"{self.seed}:{self.name}:{label}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % modulo

    # ---- clock -------------------------------------------------------------------------------
    def now(self) -> int:
        frozen = self.meta_get("clock_frozen")
        offset = int(self.meta_get("clock_offset") or 0)
        if frozen is not None:
            return int(frozen) + offset
        if self._frozen_at is not None:
            return self._frozen_at + offset
        return int(time.time()) + offset

    def advance(self, seconds: int, param: str = "seconds") -> int:
        """Move the clock `seconds` ahead; past MAX_CLOCK_OFFSET in all, a 400 naming `param`."""
        before = int(self.meta_get("clock_offset") or 0)
        if before + seconds > MAX_CLOCK_OFFSET:
            raise invalid_param(
                param,
                f"The test clock can move at most {MAX_CLOCK_OFFSET} seconds (100 years) ahead "
                f"in all; it has moved {before} seconds already.",
            )
        self.meta_set("clock_offset", str(before + seconds))
        return self.now()

    # ---- objects -----------------------------------------------------------------------------
    def _row(self, obj_id: str) -> tuple[str, str] | None:
        return self.backend.get(self.name, obj_id)

    def get(self, cls: Kind[M], obj_id: str) -> M | None:
        row = self._row(obj_id)
        if row is None or row[0] != cls.kind:
            return None
        return cls.model_validate_json(row[1])

    def load(self, cls: Kind[M], obj_id: str, param: str = "id", status: int | None = None) -> M:
        """The object, or Stripe's `resource_missing` naming `param`."""
        obj = self.get(cls, obj_id)
        if obj is None:
            raise resource_missing(cls.noun, obj_id, param, status)
        return obj

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

    def put(self, obj: Stored) -> None:
        self.backend.put(self.name, obj.kind, obj.id, obj.model_dump_json(), obj.index_values())

    def delete(self, obj: Stored) -> None:
        self.backend.delete(self.name, obj.id)

    def iterate(
        self,
        cls: Kind[M],
        where: Callable[[M], bool] | None = None,
        starting_after: str | None = None,
        ending_before: str | None = None,
        match: tuple[str, str] | None = None,
    ) -> Iterator[M]:
        """Newest first (or, with `ending_before`, oldest first from just newer than it).

        `match=(field, value)` reads only the objects whose indexed `field` holds `value` (the
        field must be in `cls.indexed`); `where` still filters what is read.
        """
        for _oid, data in self.backend.iter_desc(
            self.name, cls.kind, starting_after, ending_before, match
        ):
            obj = cls.model_validate_json(data)
            if where is None or where(obj):
                yield obj

    def meta_get(self, name: str) -> str | None:
        return self.backend.meta_get(self.name, name)

    def meta_set(self, name: str, value: str) -> None:
        self.backend.meta_set(self.name, name, value)


class StagedTenant(Tenant):
    """A request's view of its tenant: writes are held until `commit`, so a request that ends
    in an error leaves the store as it found it (and consumes no ids).

    Reads see the request's own writes. Work that must follow the commit (handing new events to
    webhook delivery) is queued in `after_commit`.
    """

    def __init__(self, base: Tenant) -> None:
        super().__init__(base.backend, base.name, base.seed, base._frozen_at)
        self.base = base
        # id -> (kind, json, indexed values); None: deleted
        self._objects: dict[str, tuple[str, str, dict[str, str] | None] | None] = {}
        self._new: list[str] = []  # ids created here, oldest first
        self._meta: dict[str, str] = {}
        self.after_commit: list[Callable[[], None]] = []

    def _row(self, obj_id: str) -> tuple[str, str] | None:
        if obj_id in self._objects:
            staged = self._objects[obj_id]
            return None if staged is None else staged[:2]
        return self.backend.get(self.name, obj_id)

    def put(self, obj: Stored) -> None:
        if obj.id not in self._objects and self.backend.get(self.name, obj.id) is None:
            self._new.append(obj.id)
        self._objects[obj.id] = (obj.kind, obj.model_dump_json(), obj.index_values())

    def delete(self, obj: Stored) -> None:
        self._objects[obj.id] = None

    def iterate(
        self,
        cls: Kind[M],
        where: Callable[[M], bool] | None = None,
        starting_after: str | None = None,
        ending_before: str | None = None,
        match: tuple[str, str] | None = None,
    ) -> Iterator[M]:
        def matches(row: tuple[str, str, dict[str, str] | None]) -> bool:
            return match is None or (row[2] or {}).get(match[0]) == match[1]

        fresh = [
            row[:2]
            for oid in self._new
            if (row := self._objects.get(oid)) is not None and row[0] == cls.kind and matches(row)
        ]

        def rows() -> Iterator[tuple[str, str] | None]:
            # Objects created in this request are the newest of all.
            if starting_after is None and ending_before is None:
                yield from reversed(fresh)
            for oid, data in self.backend.iter_desc(
                self.name, cls.kind, starting_after, ending_before, match
            ):
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
            obj = cls.model_validate_json(found[1])
            if where is None or where(obj):
                yield obj

    def meta_get(self, name: str) -> str | None:
        if name in self._meta:
            return self._meta[name]
        return self.backend.meta_get(self.name, name)

    def meta_set(self, name: str, value: str) -> None:
        self._meta[name] = value

    def commit(self) -> None:
        """Write what the request staged, then run `after_commit`. The caller holds the store's
        transaction, so other processes see all of it or none of it."""
        for name, value in self._meta.items():
            self.backend.meta_set(self.name, name, value)
        for oid, row in self._objects.items():
            if row is None:
                self.backend.delete(self.name, oid)
            else:
                self.backend.put(self.name, row[0], oid, row[1], row[2])
        self._objects.clear()
        self._new.clear()
        self._meta.clear()
        hooks, self.after_commit = self.after_commit, []
        for hook in hooks:
            hook()

    def discard(self) -> None:
        """Forget what was staged (the request runs again from the start)."""
        self._objects.clear()
        self._new.clear()
        self._meta.clear()
        self.after_commit.clear()
