"""Recorded Stripe responses checked against the spec (`fake-stripe spec validate FILE...`).

A recording is `{"method": "GET", "path": "/v1/...", "status": 200, "body": {...}}`. A file
holds one recording, a JSON list of them, or JSON lines (one recording per line). This is the
conformance job for a user's own recordings: the same check strict mode runs on the fake's
responses, run on what the user captured from Stripe (or from anything else).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .load import Spec
from .violations import Violation


class RecordingFormatError(ValueError):
    """A file or line that is not a recording."""


@dataclass(frozen=True)
class Recording:
    where: str  # "file" or "file:line"
    method: str
    path: str
    status: int
    body: object


@dataclass
class Checked:
    recording: Recording
    template: str | None
    violations: list[Violation] = field(default_factory=list)


def _recording(where: str, item: object) -> Recording:
    if not isinstance(item, Mapping):
        raise RecordingFormatError(f"{where}: expected an object with method, path, status, body")
    missing = [k for k in ("method", "path", "status", "body") if k not in item]
    if missing:
        raise RecordingFormatError(f"{where}: missing {', '.join(missing)}")
    method, path, status = item["method"], item["path"], item["status"]
    if not isinstance(method, str) or not isinstance(path, str):
        raise RecordingFormatError(f"{where}: method and path must be strings")
    if isinstance(status, bool) or not isinstance(status, int):
        raise RecordingFormatError(f"{where}: status must be an integer")
    return Recording(where, method.upper(), path, status, item["body"])


def read_recordings(path: Path) -> Iterator[Recording]:
    """Every recording in `path`: a JSON document (one or a list), else JSON lines. Each is
    named `FILE:LINE` (a list's items `FILE:LINE:COLUMN`, where the item starts)."""
    text = path.read_text(encoding="utf-8")
    try:
        whole: Any = json.loads(text)
    except json.JSONDecodeError:
        pass
    else:
        if not isinstance(whole, list):
            start = len(text) - len(text.lstrip())
            yield _recording(f"{path}:{text.count(chr(10), 0, start) + 1}", whole)
            return
        for where, item in _items(text):
            yield _recording(f"{path}:{where}", item)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as err:
            raise RecordingFormatError(f"{path}:{number}: not JSON ({err.msg})") from err
        yield _recording(f"{path}:{number}", item)


def _items(text: str) -> Iterator[tuple[str, Any]]:
    """The items of a JSON list already known to be valid, each with `LINE:COLUMN` of its start."""
    decoder = json.JSONDecoder()
    at = text.index("[") + 1
    while True:
        while text[at] in " \t\r\n,":
            at += 1
        if text[at] == "]":
            return
        item, end = decoder.raw_decode(text, at)
        line = text.count("\n", 0, at) + 1
        yield f"{line}:{at - text.rfind(chr(10), 0, at)}", item
        at = end


def check(spec: Spec, recording: Recording) -> Checked:
    template = spec.match(recording.method, recording.path)
    if template is None:
        return Checked(recording, None)
    found = spec.validate_response(
        recording.method, recording.path, recording.status, recording.body
    )
    return Checked(recording, template, found)
