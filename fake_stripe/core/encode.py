"""Compact JSON, as the API writes it: pydantic-core's serializer (the JSON of `json.dumps`
with `separators=(",", ":")` and `ensure_ascii=False`, several times faster), imported on its
first use, so that a server's start does not import it before it has something to encode."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import turns

_encoder: Callable[[Any], bytes] | None = None


def to_json(value: Any) -> bytes:
    encoder = _encoder
    if encoder is None:
        encoder = _load()
    return encoder(value)


def _load() -> Callable[[Any], bytes]:
    global _encoder
    turns.before_import()
    from pydantic_core import to_json as encoder

    _encoder = encoder
    return encoder
