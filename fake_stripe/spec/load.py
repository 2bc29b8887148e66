"""Stripe's recorded OpenAPI subset, as seen by the fake.

This module owns reading the OpenAPI document (``FAKE_STRIPE_OPENAPI``, or the
spec packaged next to this module, recorded by ``record.py``), the one-time
rewrite of Stripe's ``nullable: true`` into plain JSON Schema (``nullable.py``), mapping concrete
request paths onto the spec's path templates, and checking the fake's JSON
responses against the recorded response schemas.  It also hands out request schemas so that request
validation can be built elsewhere; it does not validate requests itself, and
it never decides what a failed check means for the caller.
"""

from __future__ import annotations

import copy
import functools
import gzip
import json
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .nullable import HTTP_METHODS, rewrite_nullable
from .violations import Violation, pointer, violations

if TYPE_CHECKING:
    import referencing

SPEC_ENV = "FAKE_STRIPE_OPENAPI"

# Recorded from a Stripe OpenAPI file by `fake-stripe spec record`; ships with the package.
PACKAGED_SPEC = Path(__file__).resolve().parent / "stripe-openapi.json"
# The recorded file's first key: where it came from, and that its nullable is already rewritten.
PROVENANCE_KEY = "x-fake-stripe-recorded"

# Any URI works; it only has to be absolute so that the document's
# "#/components/schemas/..." references resolve against the document itself.
_DOCUMENT_URI = "urn:fake-stripe:openapi"

# Parameters of these methods travel in the query string, so their request
# schema is built from the query parameters.  Stripe's spec also gives them an
# (empty) form body, which says nothing useful.
_QUERY_METHODS = frozenset({"GET", "DELETE", "HEAD"})

_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"


def spec_path() -> Path:
    """Where the spec is read from: ``$FAKE_STRIPE_OPENAPI``, else the packaged file."""
    configured = os.environ.get(SPEC_ENV)
    if configured:
        return Path(configured).expanduser()
    return PACKAGED_SPEC


def load_spec(path: Path | None = None) -> Spec | None:
    """Load the spec, or return None when the file does not exist (only a wrong
    ``$FAKE_STRIPE_OPENAPI`` or ``path`` can do that: the packaged file is always there).

    The parsed spec is cached per resolved path: parsing and rewriting 1.6 MB
    of JSON on every request or every test would dominate run time.
    """
    target = spec_path() if path is None else Path(path)
    if not target.is_file():
        # Not cached, so a spec that appears later is still picked up.
        return None
    return _load_cached(target.resolve())


# Unbounded on purpose: a process sees one or two spec files, never many.
@functools.cache
def _load_cached(path: Path) -> Spec:
    with path.open("rb") as handle:
        raw = handle.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    document = json.loads(raw)
    return Spec(document, source=path)


class Spec:
    """An OpenAPI 3.0 document with response validation on top.

    ``document`` is a private copy in which every ``nullable: true`` schema
    has been rewritten (a recorded file comes rewritten and is used as is); the
    caller's mapping is never modified. ``raw`` is the document as read, for
    republishing it. ``provenance`` is the recorded file's header (empty for a
    file straight from Stripe).
    """

    def __init__(self, document: Mapping[str, Any], source: Path | None = None) -> None:
        self.source = source
        self.raw: Mapping[str, Any] = document
        self.provenance: dict[str, Any] = dict(document.get(PROVENANCE_KEY) or {})
        if self.provenance.get("nullable") == "rewritten":
            self.document: dict[str, Any] = dict(document)
        else:
            self.document = rewrite_nullable(document)
        self._operations: list[tuple[str, str]] = []
        self._routes: dict[int, list[tuple[tuple[str | None, ...], str]]] = {}
        for template, item in self.document.get("paths", {}).items():
            methods = [m for m in item if m in HTTP_METHODS]
            self._operations.extend((m.upper(), template) for m in methods)
            segments = tuple(
                None if _is_param(segment) else segment for segment in _split(template)
            )
            self._routes.setdefault(len(segments), []).append((segments, template))
        # Built once; referencing resolves pointers lazily, so this is cheap.
        import referencing
        import referencing.jsonschema

        resource = referencing.jsonschema.DRAFT4.create_resource(self.document)
        self._registry: referencing.Registry[Any] = referencing.Registry().with_resource(
            _DOCUMENT_URI, resource
        )
        self._validators: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Spec(source={self.source!r}, operations={len(self._operations)})"

    def operations(self) -> list[tuple[str, str]]:
        """Every ``(METHOD, path template)`` pair in document order."""
        return list(self._operations)

    def match(self, method: str, path: str) -> str | None:
        """Map a concrete path onto the template serving ``method``, if any.

        When several templates fit, the one with a literal segment at the
        first point of difference wins, so ``/sessions/list`` style literals
        are not swallowed by ``/sessions/{session}``.
        """
        wanted = method.lower()
        if wanted not in HTTP_METHODS:
            # Path items also hold non-operation keys such as "parameters".
            return None
        segments = _split(path.split("?", 1)[0])
        paths = self.document.get("paths", {})
        best: tuple[tuple[int, ...], str] | None = None
        for pattern, template in self._routes.get(len(segments), ()):
            if wanted not in paths[template]:
                continue
            score: list[int] = []
            for expected, actual in zip(pattern, segments, strict=True):
                if expected is None:
                    if not actual:
                        break
                    score.append(1)
                elif expected == actual:
                    score.append(0)
                else:
                    break
            else:
                candidate = (tuple(score), template)
                if best is None or candidate < best:
                    best = candidate
        return None if best is None else best[1]

    def validate_response(
        self, method: str, path: str, status: int, body: object
    ) -> list[Violation]:
        """Check ``body`` against the schema recorded for this response.

        ``path`` may be concrete or a template.  Unknown operations, and
        responses the spec gives no JSON schema for, yield no violations: the
        caller decides whether an undocumented endpoint is acceptable.
        """
        template = self.match(method, path)
        if template is None:
            return []
        validator = self._response_validator(method.lower(), template, status)
        if validator is None:
            return []
        return violations(validator.iter_errors(body))

    def validate_component(self, name: str, instance: object) -> list[Violation]:
        """Check ``instance`` against ``#/components/schemas/<name>``.

        Webhook payloads (``event.data.object``) carry resources outside any
        response, so they need a way in by schema name.
        """
        if name not in self.document.get("components", {}).get("schemas", {}):
            raise KeyError(f"no component schema named {name!r}")
        validator = self._validator(("component", name), pointer(("components", "schemas", name)))
        return violations(validator.iter_errors(instance))

    def request_schema(self, method: str, path_template: str) -> dict[str, Any] | None:
        """The schema a request's parameters must satisfy, or None if unknown.

        For methods that send parameters in the body this is the form body
        schema.  For GET-like methods it is synthesised from the ``in: query``
        parameters, closed with ``additionalProperties: false`` because Stripe
        rejects unknown parameters the same way for both.  The result is a
        copy; callers may modify it.
        """
        verb = method.upper()
        item = self.document.get("paths", {}).get(path_template)
        if item is None:
            template = self.match(verb, path_template)
            if template is None:
                return None
            item = self.document["paths"][template]
        operation = item.get(verb.lower())
        if operation is None:
            return None
        if verb in _QUERY_METHODS:
            return _query_schema([*item.get("parameters", ()), *operation.get("parameters", ())])
        body = operation.get("requestBody", {}).get("content", {}).get(_FORM)
        if body is None or "schema" not in body:
            return None
        schema: dict[str, Any] = copy.deepcopy(body["schema"])
        return schema

    def _response_validator(self, method: str, template: str, status: int) -> Any:
        responses = self.document["paths"][template][method].get("responses", {})
        for key in (str(status), f"{status // 100}XX", "default"):
            if key in responses:
                break
        else:
            return None
        if "schema" not in responses[key].get("content", {}).get(_JSON, {}):
            return None
        where = pointer(("paths", template, method, "responses", key, "content", _JSON, "schema"))
        return self._validator(("response", template, method, key), where)

    def _validator(self, key: tuple[str, ...], pointer: str) -> Any:
        validator = self._validators.get(key)
        if validator is not None:
            return validator
        with self._lock:
            validator = self._validators.get(key)
            if validator is None:
                # Pointing into the registered document (rather than copying
                # the subschema out) keeps every nested $ref resolvable.
                import jsonschema

                validator = jsonschema.Draft4Validator(
                    {"$ref": f"{_DOCUMENT_URI}#{pointer}"}, registry=self._registry
                )
                self._validators[key] = validator
        return validator


def _split(path: str) -> list[str]:
    return path.strip("/").split("/")


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _query_schema(parameters: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for parameter in parameters:
        if parameter.get("in") != "query":
            continue
        name = parameter["name"]
        properties[name] = copy.deepcopy(parameter.get("schema", {}))
        if parameter.get("required"):
            required.append(name)
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        # Draft 4 forbids an empty "required" array.
        schema["required"] = required
    return schema
