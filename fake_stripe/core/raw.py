"""Objects without a model: a resource the fake answers from Stripe's spec rather than by hand is
stored as the JSON dict it renders as (`RawObject`), and read back by its kind (`RawKind`), which
the tenant and the list helpers accept wherever they accept a model class.

A top-level key that starts with `_` is the fake's own note on the object (the parent a nested
object belongs to): kept in the store and in event snapshots, never rendered. Stripe's fields
never start with `_`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

INTERNAL = "_"

T_co = TypeVar("T_co", covariant=True)


class Kind(Protocol[T_co]):
    """What the tenant needs to read objects of one kind: a model class, or a `RawKind`."""

    @property
    def kind(self) -> str: ...

    @property
    def noun(self) -> str: ...

    def model_validate_json(self, json_data: str, /) -> T_co: ...


class RawObject:
    """One stored object of a kind the fake has no model for."""

    __slots__ = ("kind", "data", "indexed")

    def __init__(self, kind: str, data: dict[str, Any], indexed: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.data = data
        self.indexed = indexed

    @property
    def id(self) -> str:
        return str(self.data.get("id", ""))

    def model_dump_json(self) -> str:
        return json.dumps(self.data, separators=(",", ":"))

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        return copy.deepcopy(self.data)

    def index_values(self) -> dict[str, str] | None:
        if not self.indexed:
            return None
        found = {}
        for name in self.indexed:
            value = self.data.get(name)
            if isinstance(value, dict):  # an object shown whole (a promotion code's coupon)
                value = value.get("id")
            if isinstance(value, str):
                found[name] = value
        return found

    def to_api(self, version: str) -> dict[str, Any]:
        """What the API shows: the stored dict without the fake's own notes (every reader sees
        the same fields: the shape comes from one recorded spec)."""
        return {k: copy.deepcopy(v) for k, v in self.data.items() if not k.startswith(INTERNAL)}


@dataclass(frozen=True)
class RawKind:
    """A kind of `RawObject`, as `Tenant.get`/`iterate` and `paginate` take a model class:
    `kind` (the store's kind), `noun` (as in "No such <noun>"), and how to read one back."""

    kind: str
    noun: str
    indexed: tuple[str, ...] = field(default=())

    def model_validate_json(self, data: str | bytes) -> RawObject:
        return RawObject(self.kind, json.loads(data), self.indexed)

    def of(self, data: Mapping[str, Any]) -> RawObject:
        return RawObject(self.kind, dict(data), self.indexed)


@dataclass(frozen=True)
class File:
    """An answer that is a file, not JSON (a quote's PDF)."""

    content_type: str
    data: bytes
