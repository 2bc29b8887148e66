"""Stripe's recorded OpenAPI subset, as seen by the fake.

This module owns reading the OpenAPI document (``FAKE_STRIPE_OPENAPI``, or the
spec packaged next to this module, recorded by ``record.py``), the one-time
rewrite of Stripe's ``nullable: true`` into plain JSON Schema, mapping concrete
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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import referencing
    from jsonschema.exceptions import ValidationError

SPEC_ENV = "FAKE_STRIPE_OPENAPI"

# Recorded from a Stripe OpenAPI file by `fake-stripe spec record`; ships with the package.
PACKAGED_SPEC = Path(__file__).resolve().parent / "stripe-openapi.json"
# The recorded file's first key: where it came from, and that its nullable is already rewritten.
PROVENANCE_KEY = "x-fake-stripe-recorded"

# Any URI works; it only has to be absolute so that the document's
# "#/components/schemas/..." references resolve against the document itself.
_DOCUMENT_URI = "urn:fake-stripe:openapi"

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Parameters of these methods travel in the query string, so their request
# schema is built from the query parameters.  Stripe's spec also gives them an
# (empty) form body, which says nothing useful.
_QUERY_METHODS = frozenset({"GET", "DELETE", "HEAD"})

_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"

_NULL_BRANCH: dict[str, Any] = {"enum": [None]}


@dataclass(frozen=True)
class Violation:
    """One way in which a response body disagrees with its schema."""

    pointer: str
    message: str
    value: object

    def __str__(self) -> str:
        return f"{self.pointer}: {self.message} (value: {self.value!r})"


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
            methods = [m for m in item if m in _HTTP_METHODS]
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
        if wanted not in _HTTP_METHODS:
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
        return _violations(validator.iter_errors(body))

    def validate_component(self, name: str, instance: object) -> list[Violation]:
        """Check ``instance`` against ``#/components/schemas/<name>``.

        Webhook payloads (``event.data.object``) carry resources outside any
        response, so they need a way in by schema name.
        """
        if name not in self.document.get("components", {}).get("schemas", {}):
            raise KeyError(f"no component schema named {name!r}")
        pointer = "/components/schemas/" + _escape(name)
        validator = self._validator(("component", name), pointer)
        return _violations(validator.iter_errors(instance))

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
        pointer = _pointer(("paths", template, method, "responses", key, "content", _JSON))
        pointer += "/schema"
        return self._validator(("response", template, method, key), pointer)

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


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _pointer(parts: Iterable[object]) -> str:
    return "".join("/" + _escape(str(part)) for part in parts)


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


# -- nullable rewrite -------------------------------------------------------


def rewrite_nullable(document: Mapping[str, Any]) -> dict[str, Any]:
    """Copy the document, rewriting every schema it contains.

    Only places the OpenAPI grammar says hold schemas are rewritten, so an
    example value or an ``x-`` extension that happens to contain a
    ``nullable`` key is left alone.
    """
    result = dict(document)
    components = dict(result.get("components", {}))
    if "schemas" in components:
        components["schemas"] = {
            name: _rewrite_schema(schema) for name, schema in components["schemas"].items()
        }
    for section, rewrite in (
        ("parameters", _rewrite_parameter),
        ("requestBodies", _rewrite_body),
        ("responses", _rewrite_body),
        ("headers", _rewrite_parameter),
    ):
        if section in components:
            components[section] = {
                name: rewrite(value) for name, value in components[section].items()
            }
    if "components" in result:
        result["components"] = components
    result["paths"] = {
        template: _rewrite_path_item(item) for template, item in result.get("paths", {}).items()
    }
    return result


def _rewrite_path_item(item: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(item)
    if "parameters" in result:
        result["parameters"] = [_rewrite_parameter(p) for p in result["parameters"]]
    for method in _HTTP_METHODS:
        if method not in result:
            continue
        operation = dict(result[method])
        if "parameters" in operation:
            operation["parameters"] = [_rewrite_parameter(p) for p in operation["parameters"]]
        if "requestBody" in operation:
            operation["requestBody"] = _rewrite_body(operation["requestBody"])
        if "responses" in operation:
            operation["responses"] = {
                code: _rewrite_body(response) for code, response in operation["responses"].items()
            }
        result[method] = operation
    return result


def _rewrite_parameter(parameter: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(parameter)
    if "schema" in result:
        result["schema"] = _rewrite_schema(result["schema"])
    return result


def _rewrite_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """Rewrite a request body or a response: both keep schemas under content."""
    result = dict(body)
    if "content" in result:
        result["content"] = {
            media: _rewrite_parameter(entry) for media, entry in result["content"].items()
        }
    if "headers" in result:
        result["headers"] = {
            name: _rewrite_parameter(header) for name, header in result["headers"].items()
        }
    return result


def _rewrite_schema(schema: Any) -> Any:
    """Return ``schema`` with ``nullable: true`` turned into ``anyOf [..., null]``.

    Stripe writes ``nullable`` next to ``anyOf`` and ``enum``; JSON Schema
    ignores the keyword, so without this a legitimate ``null`` would be
    rejected (``null`` is neither in the enum nor in any branch).
    """
    if not isinstance(schema, Mapping):
        return schema
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties") and isinstance(value, Mapping):
            result[key] = {name: _rewrite_schema(sub) for name, sub in value.items()}
        elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
            result[key] = [_rewrite_schema(sub) for sub in value]
        elif key in ("items", "additionalProperties", "not"):
            result[key] = _rewrite_schema(value)
        else:
            result[key] = value
    if result.pop("nullable", False) is True:
        return {"anyOf": [result, dict(_NULL_BRANCH)]}
    return result


# -- error reporting ----------------------------------------------------------


def _violations(errors: Iterable[ValidationError]) -> list[Violation]:
    found: list[Violation] = []
    for error in errors:
        for leaf in _specific(error):
            found.append(
                Violation(
                    pointer=_pointer(leaf.absolute_path), message=leaf.message, value=leaf.instance
                )
            )
    unique = {(v.pointer, v.message): v for v in found}
    return sorted(unique.values(), key=lambda v: (v.pointer, v.message))


def _specific(error: ValidationError) -> list[ValidationError]:
    """Replace an ``anyOf`` failure by the errors of the branch that was meant.

    "x is not valid under any of the given schemas" hides the real problem.
    When exactly one branch accepts the value's type (ignoring the synthetic
    null branch for non-null values), its errors explain the failure; when
    several do, the one with the fewest errors at this level is preferred.
    Otherwise the ``anyOf`` error is the honest answer.
    """
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    branches = _branches(error)
    fitting = [errors for errors in branches.values() if _fits(errors)]
    if not fitting and len(branches) == 1:
        # A nullable scalar of the wrong type: the type error says it best.
        fitting = list(branches.values())
    if not fitting:
        return [error]
    ranked = sorted(fitting, key=lambda errs: (_shallow(errs), len(errs)))
    if len(ranked) > 1 and (_shallow(ranked[0]), len(ranked[0])) == (
        _shallow(ranked[1]),
        len(ranked[1]),
    ):
        return [error]
    return [leaf for sub in ranked[0] for leaf in _specific(sub)]


def _branches(error: ValidationError) -> dict[object, list[ValidationError]]:
    options = error.validator_value
    grouped: dict[object, list[ValidationError]] = {}
    for sub in error.context or ():
        index = sub.relative_schema_path[0]
        if error.instance is not None and options[index] == _NULL_BRANCH:
            continue
        grouped.setdefault(index, []).append(sub)
    return grouped


def _fits(errors: Sequence[ValidationError]) -> bool:
    """Whether a branch accepted the value's type and failed only on details."""
    for sub in errors:
        if sub.relative_path:
            continue
        if sub.validator == "type":
            return False
        if sub.validator in ("anyOf", "oneOf") and not any(
            _fits(group) for group in _branches(sub).values()
        ):
            return False
    return True


def _shallow(errors: Sequence[ValidationError]) -> int:
    return sum(1 for sub in errors if not sub.relative_path)
