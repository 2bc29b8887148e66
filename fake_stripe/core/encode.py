"""Compact JSON, as the API writes it: pydantic-core's serializer (the JSON of `json.dumps`
with `separators=(",", ":")` and `ensure_ascii=False`, several times faster), imported on its
first use, so that a server's start does not import it before it has something to encode."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import turns

_encoder: Callable[[Any], bytes] | None = None

_PLAIN = re.compile(r"[\w./:\-]*\Z", re.ASCII).match  # a string JSON writes as it is


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


def json_string(value: str) -> str:
    """`value` as a JSON string, as `to_json` writes it: an id, a name or a path in quotes as it
    is, anything else through the serializer."""
    return f'"{value}"' if _PLAIN(value) else to_json(value).decode()
