"""An object read for a GET of one object (`View`): rendered from the JSON the store holds,
building its model only the first time that JSON is rendered at a version.

A rendering is a function of the stored JSON and the reader's version alone
(`StripeObject.to_api`: preview gating, `omit_if_none`, `adjust`), so renderings are kept by
(kind, version, JSON). A write stores new JSON, which misses: what was kept for the old JSON is
never served again (invalidation by content), and only the most recent renderings are kept.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from pydantic_core import to_json

RENDERINGS = 4096  # kept at most; a customer's is about 1 KiB, and its JSON half that


class Renders(Protocol):
    def to_api(self, version: str) -> dict[str, Any]: ...


class ViewKind(Protocol):
    @property
    def kind(self) -> str: ...

    def model_validate_json(self, json_data: str, /) -> Renders: ...


class Rendering(dict[str, Any]):
    """A kept rendering, with its compact JSON once a response has encoded it: a GET of the
    same object at the same version sends the same bytes without encoding them again."""

    __slots__ = ("json",)

    def __init__(self, rendered: dict[str, Any]) -> None:
        super().__init__(rendered)
        self.json: bytes | None = None

    def encoded(self) -> bytes:
        found = self.json
        if found is None:
            found = self.json = to_json(self)
        return found


_kept: dict[tuple[str, str, str], Rendering] = {}
_lock = threading.Lock()  # for inserts; a read is one dict lookup


class View:
    """One stored object: its kind and its JSON."""

    __slots__ = ("cls", "data", "built")

    def __init__(self, cls: ViewKind, data: str, built: Renders | None = None) -> None:
        self.cls = cls
        self.data = data
        self.built = built  # its model, when the reader built it already (a list's filter)

    def model(self) -> Renders:
        if self.built is None:
            self.built = self.cls.model_validate_json(self.data)
        return self.built

    def to_api(self, version: str) -> dict[str, Any]:
        """The rendering, shared with every reader of the same JSON at the same version: never
        change it (`render` builds the model to expand into a copy of its own)."""
        key = (self.cls.kind, version, self.data)
        found = _kept.get(key)
        if found is None:
            found = Rendering(self.model().to_api(version))
            with _lock:
                if len(_kept) >= RENDERINGS:
                    del _kept[next(iter(_kept))]  # the oldest: a dict keeps insertion order
                _kept[key] = found
        return found


def forget() -> None:
    """Drop every kept rendering (tests that change how a kind renders)."""
    with _lock:
        _kept.clear()
