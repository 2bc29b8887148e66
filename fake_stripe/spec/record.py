"""Derive the packaged spec from a Stripe OpenAPI file (`fake-stripe spec record SOURCE`).

The packaged file is the project's own data: it keeps what the fake checks against (paths,
parameters, schemas, `x-stripe*` and the other `x-` facts) and none of Stripe's prose, so every
`description` and `summary` sentence is dropped. Stripe's `nullable: true` is rewritten once here
(see `load.rewrite_nullable`), so loading the packaged file costs no rewrite. The first key of the
result is a provenance header: the source file's name, its `info.version`, the source commits
it names, and the date of recording.
"""

from __future__ import annotations

import datetime
import gzip
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .load import PACKAGED_SPEC, PROVENANCE_KEY, rewrite_nullable

PROSE_KEYS = frozenset({"description", "summary"})

# Keys whose value maps *names* (fields, paths, media types, status codes) to objects: a field
# called `description` is a fact, not prose.
_NAME_MAPS = frozenset(
    {
        "properties",
        "patternProperties",
        "encoding",
        "schemas",
        "paths",
        "responses",
        "securitySchemes",
        "parameters",
        "requestBodies",
        "headers",
        "content",
        "x-subset-provenance",
    }
)

# Notes written for people about how the source was assembled; the header replaces them.
_DROPPED_INFO = frozenset({"x-subset-note"})

# A 40-digit commit named in the source's own notes ("at commit 93baee8d...").
_COMMIT = re.compile(r"\bcommit\s+([0-9a-f]{40})\b")


def read_source(source: Path) -> dict[str, Any]:
    """A Stripe OpenAPI document from `.json` or `.json.gz` (YAML needs PyYAML)."""
    raw = source.read_bytes()
    if source.suffix == ".gz":
        raw = gzip.decompress(raw)
    name = source.name.removesuffix(".gz")
    if name.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError as err:
            raise SystemExit(
                f"{source}: reading YAML needs PyYAML (pip install pyyaml), or give the JSON file"
            ) from err
        loaded = yaml.safe_load(raw)
    else:
        loaded = json.loads(raw)
    if not isinstance(loaded, dict) or "paths" not in loaded:
        raise ValueError(f"{source}: not an OpenAPI document (no paths)")
    return loaded


def strip_prose(node: Any, names: bool = False) -> Any:
    """`node` without `description`/`summary` strings, at any depth.

    `names` is true for a mapping whose keys are names (a schema's `properties`, `paths`, ...):
    there every key is kept, and each value is a document node again.
    """
    if isinstance(node, Mapping):
        result: dict[str, Any] = {}
        for key, value in node.items():
            if not names and key in PROSE_KEYS and isinstance(value, str):
                continue
            result[key] = strip_prose(value, names=not names and key in _NAME_MAPS)
        return result
    if isinstance(node, list):
        return [strip_prose(item) for item in node]
    return node


def prose_left(node: Any, names: bool = False, at: str = "") -> list[str]:
    """JSON pointers of every `description`/`summary` string still in `node` (the ship check)."""
    found: list[str] = []
    if isinstance(node, Mapping):
        for key, value in node.items():
            here = f"{at}/{key}"
            if not names and key in PROSE_KEYS and isinstance(value, str) and value.strip():
                found.append(here)
            found += prose_left(value, not names and key in _NAME_MAPS, here)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += prose_left(item, False, f"{at}/{index}")
    return found


def source_commits(document: Mapping[str, Any]) -> list[str]:
    """Commits the source's own `info` notes name (the subset's note names two)."""
    text = json.dumps(document.get("info", {}))
    return list(dict.fromkeys(_COMMIT.findall(text)))


def record(
    document: Mapping[str, Any],
    source_name: str,
    commits: Sequence[str] | None = None,
    recorded_on: str | None = None,
) -> dict[str, Any]:
    """The packaged form of `document`: provenance header first, prose gone, nullable rewritten."""
    info = dict(document.get("info", {}))
    header = {
        "source": source_name,
        "source_version": info.get("version"),
        "source_commits": list(commits) if commits else source_commits(document),
        "recorded_on": recorded_on or datetime.date.today().isoformat(),
        "prose": "dropped (description, summary)",
        "nullable": "rewritten",
        "license": "MIT, Stripe, Inc.: see LICENSE.stripe-openapi next to this file",
    }
    body = {key: value for key, value in document.items() if key != PROVENANCE_KEY}
    body["info"] = {key: value for key, value in info.items() if key not in _DROPPED_INFO}
    stripped: dict[str, Any] = strip_prose(body)
    _keep_responses_valid(stripped)
    return {PROVENANCE_KEY: header, **rewrite_nullable(stripped)}


def _keep_responses_valid(document: dict[str, Any]) -> None:
    """OpenAPI 3.0 requires a response's `description`; an empty one says nothing."""
    responses = [document.get("components", {}).get("responses", {})]
    for item in document.get("paths", {}).values():
        responses += [op.get("responses", {}) for op in item.values() if isinstance(op, dict)]
    for mapping in responses:
        for response in mapping.values():
            if isinstance(response, dict) and "$ref" not in response:
                response.setdefault("description", "")


def write(document: Mapping[str, Any], out: Path = PACKAGED_SPEC) -> None:
    """One key per line at the top levels, so a re-record shows in a diff as what moved."""
    text = json.dumps(document, indent=1, ensure_ascii=False)
    out.write_text(text + "\n", encoding="utf-8")


def record_file(
    source: Path,
    out: Path = PACKAGED_SPEC,
    commits: Sequence[str] | None = None,
    recorded_on: str | None = None,
) -> dict[str, Any]:
    """Read `source`, record it, write the result to `out`; return the header."""
    document = record(read_source(source), source.name, commits, recorded_on)
    write(document, out)
    header: dict[str, Any] = document[PROVENANCE_KEY]
    return header
