"""The rest of Stripe's API, packaged next to the recorded spec: recorded once
(`fake-stripe spec record ... --rest FIXTURES`), read when the fake first needs it.

The packaged spec (`stripe-openapi.json`) holds what the fake models by hand. Its complement,
`stripe-openapi-rest.json.gz`, holds every other operation of a second Stripe file (the 2023 GA
spec) with the components they need that the packaged spec lacks, prose dropped and nullable
rewritten as for the packaged spec, plus one example object per resource: Stripe's fixture of
that resource put in the recorded shape (`examples.Shapes.conform`), or the least object of
that shape where Stripe has no fixture. Loaded over the packaged spec (whose paths and
components win), the two make one document of the whole API.

A third file, `stripe-openapi-routes.json`, lists every operation of the two (method and path
template) and nothing else: a server reads it when it starts, to route, while the rest of the
API is read only when a request first reaches it.
"""

from __future__ import annotations

import datetime
import functools
import gzip
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .examples import Shapes
from .load import PROVENANCE_KEY, Spec, load_spec
from .nullable import rewrite_nullable

if TYPE_CHECKING:
    from .record import Addition

HERE = Path(__file__).resolve().parent
PACKAGED_REST = HERE / "stripe-openapi-rest.json.gz"
PACKAGED_ROUTES = HERE / "stripe-openapi-routes.json"
# The rest's example objects, by component schema name.
EXAMPLES_KEY = "x-fake-stripe-examples"


def record_rest(
    recorded: Mapping[str, Any],
    other: Addition,
    fixtures: Mapping[str, Any],
    fixtures_name: str,
    fixtures_commits: Sequence[str] = (),
    recorded_on: str | None = None,
) -> dict[str, Any]:
    """The rest of `other`'s API over `recorded` (a recorded spec, header first): every
    operation `recorded` lacks, the components they need that it lacks, and the examples.

    `other.operations` is ignored: every operation `recorded` lacks is taken. `fixtures` is
    Stripe's `fixtures3.json` (`{"resources": {resource id: object}}`).
    """
    from .record import Addition, add_operations, missing_operations, operations_of, strip_prose

    base = {key: value for key, value in recorded.items() if key != PROVENANCE_KEY}
    wanted = operations_of(other.document)
    operations = missing_operations(base, other.document, wanted)
    merged, components = add_operations(
        base, Addition(other.document, other.source_name, operations, other.commits)
    )
    paths: dict[str, Any] = {}
    for method, path in operations:
        paths.setdefault(path, {})[method.lower()] = merged["paths"][path][method.lower()]
    sections: dict[str, dict[str, Any]] = {}
    for named in components:
        section, name = named.split("/", 1)
        sections.setdefault(section, {})[name] = merged["components"][section][name]
    body = rewrite_nullable(strip_prose({"paths": paths, "components": sections}))
    for item in body["paths"].values():
        for operation in item.values():
            for response in operation.get("responses", {}).values():
                response.setdefault("description", "")
    schemas = {**body["components"].get("schemas", {}), **base["components"]["schemas"]}
    examples, synthesized = _examples(schemas, fixtures.get("resources", fixtures))
    header = {
        "source": other.source_name,
        "source_version": other.document.get("info", {}).get("version"),
        "source_commits": list(other.commits),
        "over": recorded.get(PROVENANCE_KEY, {}).get("source"),
        "recorded_on": recorded_on or datetime.date.today().isoformat(),
        "prose": "dropped (description, summary; the examples' description texts)",
        "nullable": "rewritten",
        "operations": len(operations),
        "components": len(components),
        "examples": {
            "source": fixtures_name,
            "source_commits": list(fixtures_commits),
            "synthesized": synthesized,
        },
        "license": "MIT, Stripe, Inc.: see LICENSE.stripe-openapi next to this file",
    }
    return {PROVENANCE_KEY: header, **body, EXAMPLES_KEY: examples}


def _examples(
    schemas: Mapping[str, Any], fixtures: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """One object per resource schema (those with `x-resourceId`), and the schemas that had
    no fixture (their object is the least one of their shape)."""
    shapes = Shapes(schemas)
    examples: dict[str, Any] = {}
    synthesized: list[str] = []
    for name in sorted(schemas):
        schema = schemas[name]
        resource = schema.get("x-resourceId")
        if resource is None:
            continue
        fixture = fixtures.get(resource)
        if isinstance(fixture, Mapping):
            examples[name] = shapes.conform(_without_descriptions(fixture), schema)
        else:
            examples[name] = shapes.least(schema)
            synthesized.append(name)
    return examples, synthesized


def _without_descriptions(value: Any) -> Any:
    """A fixture without its `description` texts (Stripe's example sentences). The field is
    data Stripe always returns, so it stays, as null (or, where the schema does not allow
    null, the least value it takes, which `conform` puts in)."""
    if isinstance(value, Mapping):
        return {
            k: None if k == "description" and isinstance(v, str) else _without_descriptions(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_without_descriptions(item) for item in value]
    return value


def routes_index(recorded: Mapping[str, Any], rest: Mapping[str, Any]) -> dict[str, Any]:
    """Every operation of the packaged spec and its rest: what a server routes by."""
    from .record import operations_of

    operations = {*operations_of(recorded), *operations_of(rest)}
    header = {
        "spec": recorded.get(PROVENANCE_KEY, {}).get("source"),
        "rest": rest.get(PROVENANCE_KEY, {}).get("source"),
        "recorded_on": rest.get(PROVENANCE_KEY, {}).get("recorded_on"),
    }
    return {
        PROVENANCE_KEY: header,
        "operations": [list(op) for op in sorted(operations, key=lambda op: (op[1], op[0]))],
    }


def write_rest(document: Mapping[str, Any], out: Path = PACKAGED_REST) -> None:
    """Compact and gzipped, with no timestamp: the same inputs give the same bytes."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    out.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))


def write_routes(index: Mapping[str, Any], out: Path = PACKAGED_ROUTES) -> None:
    lines = ",\n".join(json.dumps(op) for op in index["operations"])
    header = json.dumps(index[PROVENANCE_KEY])
    out.write_text(
        f'{{"{PROVENANCE_KEY}": {header},\n"operations": [\n{lines}\n]}}\n', encoding="utf-8"
    )


def read_rest(path: Path = PACKAGED_REST) -> dict[str, Any]:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    document: dict[str, Any] = json.loads(raw)
    return document


def read_routes(path: Path = PACKAGED_ROUTES) -> list[tuple[str, str]]:
    """`(METHOD, path template)` of every operation, from the small index."""
    index = json.loads(path.read_text(encoding="utf-8"))
    return [(method, template) for method, template in index["operations"]]


class WholeSpec(Spec):
    """The packaged spec with its rest under it: one document of the whole API, with the
    rest's example objects (`examples`) and its header (`rest_provenance`)."""

    def __init__(self, spec: Spec, rest: Mapping[str, Any]) -> None:
        document = dict(spec.document)
        paths = dict(rest.get("paths", {}))
        for path, item in document.get("paths", {}).items():
            paths[path] = {**paths.get(path, {}), **item}
        document["paths"] = paths
        components = dict(rest.get("components", {}))
        for section, named in document.get("components", {}).items():
            components[section] = {**components.get(section, {}), **named}
        document["components"] = components
        super().__init__(document, source=spec.source)
        self.raw = document
        self.examples: dict[str, Any] = dict(rest.get(EXAMPLES_KEY, {}))
        self.rest_provenance: dict[str, Any] = dict(rest.get(PROVENANCE_KEY, {}))
        self.shapes = Shapes(components.get("schemas", {}))


@functools.cache
def load_whole() -> WholeSpec | None:
    """The whole API (read once per process), or None without the packaged spec."""
    spec = load_spec()
    if spec is None or not PACKAGED_REST.is_file():
        return None
    return WholeSpec(spec, read_rest())
