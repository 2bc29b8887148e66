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

from .encode import to_json

RENDERINGS = 4096  # kept at most; a customer's is about 1 KiB, and its JSON half that
# And at most this much stored JSON rendered: a kept rendering, its encoding and (from SQL
# stores) its key hold about three times its JSON, so one tenant reading its largest objects
# over and over holds no more than some 25 MB here.
RENDERED_JSON = 8 * 1024 * 1024  # characters


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
_kept_json = 0  # the characters of stored JSON `_kept` renders
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
        global _kept_json
        key = (self.cls.kind, version, self.data)
        found = _kept.get(key)
        if found is None:
            found = Rendering(self.model().to_api(version))
            size = len(self.data)
            if size > RENDERED_JSON:
                return found  # rendered for this reader alone
            with _lock:
                while _kept and (len(_kept) >= RENDERINGS or _kept_json + size > RENDERED_JSON):
                    oldest = next(iter(_kept))  # a dict keeps insertion order
                    del _kept[oldest]
                    _kept_json -= len(oldest[2])
                if key not in _kept:
                    _kept_json += size
                _kept[key] = found
        return found


def forget() -> None:
    """Drop every kept rendering (tests that change how a kind renders)."""
    global _kept_json
    with _lock:
        _kept.clear()
        _kept_json = 0
