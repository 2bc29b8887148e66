"""Derive the packaged spec from a Stripe OpenAPI file (`fake-stripe spec record SOURCE`).

The packaged file is the project's own data: it keeps what the fake checks against (paths,
parameters, schemas, `x-stripe*` and the other `x-` facts) and none of Stripe's prose, so every
`description` and `summary` sentence is dropped. Stripe's `nullable: true` is rewritten once
here (`nullable.py`), so loading the packaged file costs no rewrite. The first key of the
result is a provenance header: the source file's name, its `info.version`, the source commits
it names, and the date of recording.

Operations SOURCE lacks can be taken from a second Stripe OpenAPI file (`--add-from OTHER`):
each operation, and every component it `$ref`s (transitively) that SOURCE does not have. A
component SOURCE has is never replaced, so SOURCE's patches stay. The header's `added_from`
names OTHER, its version and commits, the operations and the components taken.
"""

from __future__ import annotations

import copy
import datetime
import gzip
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .load import PACKAGED_SPEC, PROVENANCE_KEY
from .nullable import rewrite_nullable

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

# `GET /v1/charges`: an operation as the command line and the header name it.
_OPERATION = re.compile(r"^\s*([A-Za-z]+)\s+(/\S*)\s*$")
_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_YAML_EXTRA = "fake-stripe[record]"


def read_source(source: Path) -> dict[str, Any]:
    """A Stripe OpenAPI document from `.json`, `.yaml` or `.yml`, each optionally gzipped.

    YAML needs PyYAML, which only recording uses: the `record` extra installs it.
    """
    raw = source.read_bytes()
    if source.suffix == ".gz":
        raw = gzip.decompress(raw)
    name = source.name.removesuffix(".gz")
    if name.endswith((".yaml", ".yml")):
        loaded = _load_yaml(source, raw)
    else:
        loaded = json.loads(raw)
    if not isinstance(loaded, dict) or "paths" not in loaded:
        raise ValueError(f"{source}: not an OpenAPI document (no paths)")
    return loaded


def _load_yaml(source: Path, raw: bytes) -> Any:
    try:
        import yaml
    except ImportError as err:
        raise ValueError(
            f"{source}: reading YAML needs PyYAML: pip install '{_YAML_EXTRA}' "
            "(or give Stripe's JSON file)"
        ) from err
    base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # C is ~10x faster on 5 MB

    class Loader(base):  # type: ignore[misc]
        """Safe loading without YAML's timestamps: an unquoted date stays the string that
        Stripe's JSON spec has."""

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in base.yaml_implicit_resolvers.items()
    }
    return yaml.load(raw, Loader=Loader)


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


def parse_operation(text: str) -> tuple[str, str]:
    """`"GET /v1/charges"` -> `("GET", "/v1/charges")`."""
    found = _OPERATION.match(text)
    if found is None or found.group(1).lower() not in _HTTP_METHODS:
        raise ValueError(f"{text!r}: name an operation as METHOD /path (GET /v1/charges)")
    return found.group(1).upper(), found.group(2)


def operations_of(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every `(METHOD, path template)` of an OpenAPI document, in document order."""
    return [
        (method.upper(), path)
        for path, item in document.get("paths", {}).items()
        for method in item
        if method in _HTTP_METHODS
    ]


@dataclass(frozen=True)
class Addition:
    """Operations to take from a second OpenAPI document (`--add-from`)."""

    document: Mapping[str, Any]
    source_name: str
    operations: Sequence[tuple[str, str]]
    commits: Sequence[str] = ()


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _component(ref: str) -> tuple[str, str] | None:
    """`#/components/schemas/charge` -> `("schemas", "charge")`; None for any other pointer."""
    parts = ref.split("/")
    if len(parts) != 4 or parts[:2] != ["#", "components"]:
        return None
    return parts[2], parts[3].replace("~1", "/").replace("~0", "~")


def add_operations(base: Mapping[str, Any], addition: Addition) -> tuple[dict[str, Any], list[str]]:
    """`base` with `addition`'s operations and the components they need that `base` lacks.

    Returns the new document (`base` is not modified) and the added components, as
    `section/name` in the order found. An operation `base` already has, or `addition`'s
    document lacks, is refused: recording never replaces what SOURCE says.
    """
    other = addition.document
    result = copy.deepcopy(dict(base))
    paths: dict[str, Any] = result.setdefault("paths", {})
    components: dict[str, Any] = result.setdefault("components", {})
    pending: list[str] = []
    for method, path in addition.operations:
        operation = other.get("paths", {}).get(path, {}).get(method.lower())
        if not isinstance(operation, Mapping):
            raise ValueError(f"{addition.source_name} has no operation {method} {path}")
        if method.lower() in paths.get(path, {}):
            raise ValueError(f"{method} {path} is in SOURCE already; it is not replaced")
        taken = copy.deepcopy(dict(operation))
        # Parameters OTHER gives the whole path item belong to this operation (its own win);
        # on SOURCE's path item they would also reach SOURCE's operations.
        own = {(q.get("name"), q.get("in")) for q in taken.get("parameters", [])}
        shared = [
            copy.deepcopy(q)
            for q in other["paths"][path].get("parameters", [])
            if (q.get("name"), q.get("in")) not in own
        ]
        if shared:
            taken["parameters"] = [*taken.get("parameters", []), *shared]
        paths.setdefault(path, {})[method.lower()] = taken
        pending += _refs(taken)
    added: list[str] = []
    seen: set[str] = set()
    while pending:
        ref = pending.pop(0)
        if ref in seen:
            continue
        seen.add(ref)
        named = _component(ref)
        if named is None:
            raise ValueError(f"{addition.source_name}: cannot follow $ref {ref!r}")
        section, name = named
        if name in components.get(section, {}):
            continue  # SOURCE's own, with its patches: kept, and closed under $ref already
        found = other.get("components", {}).get(section, {}).get(name)
        if found is None:
            raise ValueError(f"{addition.source_name}: $ref {ref!r} names nothing")
        components.setdefault(section, {})[name] = copy.deepcopy(found)
        added.append(f"{section}/{name}")
        pending += _refs(found)
    return result, added


def missing_operations(
    base: Mapping[str, Any], other: Mapping[str, Any], wanted: Iterable[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Which of `other`'s operations to add: those whose `(METHOD, path shape)` is in `wanted`
    (the fake's routes, say) and that `base` lacks; sorted by path, then method."""
    have = {(method, _shape(path)) for method, path in operations_of(base)}
    shapes = {(method.upper(), _shape(path)) for method, path in wanted}
    return sorted(
        (
            (method, path)
            for method, path in operations_of(other)
            if (method, _shape(path)) in shapes and (method, _shape(path)) not in have
        ),
        key=lambda op: (op[1], op[0]),
    )


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def record(
    document: Mapping[str, Any],
    source_name: str,
    commits: Sequence[str] | None = None,
    recorded_on: str | None = None,
    additions: Sequence[Addition] = (),
) -> dict[str, Any]:
    """The packaged form of `document` (with `additions`): provenance header first, prose gone,
    nullable rewritten."""
    info = dict(document.get("info", {}))
    header: dict[str, Any] = {
        "source": source_name,
        "source_version": info.get("version"),
        "source_commits": list(commits) if commits else source_commits(document),
        "recorded_on": recorded_on or datetime.date.today().isoformat(),
        "prose": "dropped (description, summary)",
        "nullable": "rewritten",
        "license": "MIT, Stripe, Inc.: see LICENSE.stripe-openapi next to this file",
    }
    added_from = []
    for addition in additions:
        document, components = add_operations(document, addition)
        added_from.append(
            {
                "source": addition.source_name,
                "source_version": addition.document.get("info", {}).get("version"),
                "source_commits": list(addition.commits) or source_commits(addition.document),
                "operations": [f"{method} {path}" for method, path in addition.operations],
                "components": sorted(components),
            }
        )
    if added_from:
        header["added_from"] = added_from
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
    additions: Sequence[Addition] = (),
) -> dict[str, Any]:
    """Read `source`, record it (with `additions`), write the result to `out`; return the
    header."""
    document = record(read_source(source), source.name, commits, recorded_on, additions)
    write(document, out)
    header: dict[str, Any] = document[PROVENANCE_KEY]
    return header
