"""The document schemathesis fuzzes with: Stripe's recorded spec, narrowed to what the fake
implements, plus the single-parameter rules of Stripe's that fit in a schema but are missing
from the spec. Used by tests/test_schemathesis.py."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from fake_stripe.app import routes_table
from fake_stripe.core import params
from fake_stripe.core.params import Arr, Bool, Either, Enum, Hash, Int, Metadata, Param
from fake_stripe.financial_connections import sessions as fc_sessions
from fake_stripe.generic.routes import GenericRoutes
from fake_stripe.spec.load import Spec
from fake_stripe.spec.params import WIRE_PARAMS

FORM = "application/x-www-form-urlencoded"


def _declared(method: str, path: str) -> params.Spec:
    for ep in routes_table():
        if (ep.method, ep.path) == (method, path):
            # Session creation checks its parameters in the handler, by version; under the
            # `.preview` version sent here, against PREVIEW.
            return fc_sessions.PREVIEW if ep.params.open else ep.params
    # A generic operation checks the spec's own parameters.
    generic = GenericRoutes(routes_table()).endpoints(method, path)
    if method in generic:
        return generic[method].params
    raise KeyError((method, path))


def _prune(schema: dict[str, Any], param: Param, trail: str, cut: list[str]) -> None:
    """Narrow ``schema`` to what ``param`` implements, noting each cut in ``cut``."""
    for branch in schema.get("anyOf", ()):
        if branch.get("enum") != [""]:
            options = param.options if isinstance(param, Either) else (param,)
            kind = branch.get("type")
            match = next((o for o in options if _kind_of(o) == kind), None)
            if match is not None:
                _prune(branch, match, trail, cut)
    if isinstance(param, Hash) and "properties" in schema:
        for name in list(schema["properties"]):
            where = f"{trail}[{name}]" if trail else name
            if name in param.fields:
                _prune(schema["properties"][name], param.fields[name], where, cut)
            elif not (trail == "" and name in WIRE_PARAMS):
                del schema["properties"][name]
                cut.append(where)
    if isinstance(param, Arr) and isinstance(schema.get("items"), dict):
        _prune(schema["items"], param.item, f"{trail}[]", cut)
    if isinstance(param, Enum) and "enum" in schema:
        kept = [v for v in schema["enum"] if v in param.values or v == ""]
        if len(kept) < len(schema["enum"]):
            cut.append(f"{trail}=" + ",".join(v for v in schema["enum"] if v not in kept))
            schema["enum"] = kept


def _close(schema: Any) -> None:
    """Stripe refuses unknown parameters at every depth (`parameter_unknown`); its spec says
    so (`additionalProperties: false`) only at the top of a body. Say it everywhere, so that
    valid requests carry no invented keys and invalid ones may. Likewise metadata's limits."""
    if isinstance(schema, dict):
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        extra = schema.get("additionalProperties")
        if (
            schema.get("type") == "object"
            and isinstance(extra, dict)
            and extra.get("type") == "string"
        ):
            # Metadata: Stripe's documented limits (50 keys, keys up to 40 characters, values up
            # to 500), and a key must survive the bracket encoding (`metadata[key]`).
            schema["maxProperties"] = 50
            schema["propertyNames"] = {"pattern": r"^[^\[\]]{1,40}$"}
            schema["additionalProperties"] = {"type": "string", "maxLength": 500}
        for key in ("properties",):
            for sub in schema.get(key, {}).values():
                _close(sub)
        if isinstance(extra, dict) and extra.get("type") != "string":
            _close(extra)  # a map of hashes (`currency_options[eur][amount]`)
        for sub in schema.get("anyOf", ()):
            _close(sub)
        _close(schema.get("items"))


# Stripe's limits on single parameters that its spec leaves out, added to the fuzzed schema:
# valid requests then stay inside them, and invalid ones probe their edges (and must be refused).
# (operation or "*", parameter in bracket form, keywords, reason)
REFINEMENTS: tuple[tuple[str, str, dict[str, Any], str], ...] = (
    ("*", "limit", {"minimum": 1, "maximum": 100},
     "`limit` runs from 1 to 100, as its description says; the spec says only `integer`"),
    ("POST /v1/financial_connections/sessions", "limits[accounts]", {"minimum": 1, "maximum": 100},
     "a session links 1 to 100 accounts"),
    ("POST /v1/customers", "next_invoice_sequence", {"minimum": 1},
     "invoice numbering starts at 1"),
    ("POST /v1/customers/{customer}", "next_invoice_sequence", {"minimum": 1},
     "invoice numbering starts at 1"),
    ("GET /v1/events", "types", {"maxItems": 20},
     "`types` takes \"up to 20\" event types, as its description says"),
)  # fmt: skip
# Stripe's integers are 64-bit; JSON Schema's have no bounds.
_INT64 = {"minimum": -(2**63), "maximum": 2**63 - 1}


def _refine(schema: Any, keywords: Mapping[str, Any]) -> None:
    if not isinstance(schema, dict):
        return
    for branch in schema.get("anyOf", ()):
        _refine(branch, keywords)
    wanted = "array" if "maxItems" in keywords else "integer"
    if schema.get("type") == wanted:
        schema.update(keywords)


def _bound_integers(schema: Any) -> None:
    if isinstance(schema, dict):
        if schema.get("type") == "integer":
            for key, value in _INT64.items():
                schema.setdefault(key, value)
        for sub in [*schema.get("properties", {}).values(), *schema.get("anyOf", ())]:
            _bound_integers(sub)
        _bound_integers(schema.get("items"))


def _at(schema: dict[str, Any], path: list[str]) -> Any:
    node: Any = schema
    for key in path:
        if not isinstance(node, dict):
            return None
        if "anyOf" in node:
            node = next((b for b in node["anyOf"] if "properties" in b), node)
        node = node.get("properties", {}).get(key)
    return node


def _kind_of(param: Param) -> str:
    return {Hash: "object", Metadata: "object", Arr: "array", Int: "integer", Bool: "boolean"}.get(
        type(param), "string"
    )


def fuzzed_document(
    spec: Spec, implemented: list[tuple[str, str]]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The recorded spec (nullable already rewritten) cut to the fake's implemented surface.

    Operations the fake does not implement are dropped, and so are the parameters and enum
    values of implemented operations that the fake does not implement: a request that uses
    one is answered `parameter_unknown` (or "must be one of"), which says nothing about
    conformance. What is cut is returned too, so it stays visible. Stripe's rules that fit in
    a schema but are missing from the spec are added (`_close`, `_bound_integers`,
    `REFINEMENTS`).
    """
    document = copy.deepcopy(spec.document)
    paths: dict[str, Any] = {}
    cuts: dict[str, list[str]] = {}
    for method, path in implemented:
        operation = document["paths"][path][method.lower()]
        declared = _declared(method, path)
        top = Hash(declared.fields, declared.required)
        cut: list[str] = []
        if method != "POST":
            # Stripe's generator gives GET operations an empty form body too; their parameters
            # travel in the query string, and no client sends a body (spec.py ignores it too).
            operation.pop("requestBody", None)
        body = operation.get("requestBody", {}).get("content", {}).get(FORM, {})
        if "schema" in body:
            _prune(body["schema"], top, "", cut)
            _close(body["schema"])
            _bound_integers(body["schema"])
        kept = []
        for parameter in operation.get("parameters", ()):
            name = parameter["name"]
            if parameter["in"] != "query" or name in WIRE_PARAMS:
                kept.append(parameter)
            elif name in declared.fields:
                _prune(parameter["schema"], declared.fields[name], name, cut)
                _close(parameter["schema"])
                _bound_integers(parameter["schema"])
                kept.append(parameter)
            else:
                cut.append(name)
        operation["parameters"] = kept
        label = f"{method} {path}"
        for where, param, keywords, _reason in REFINEMENTS:
            if where not in ("*", label):
                continue
            head, *rest = re.findall(r"[^\[\]]+", param)
            for parameter in kept:
                if parameter["in"] == "query" and parameter["name"] == head:
                    _refine(_at(parameter["schema"], rest), keywords)
            if "schema" in body:
                _refine(_at(body["schema"], [head, *rest]), keywords)
        paths.setdefault(path, {})[method.lower()] = operation
        cuts[f"{method} {path}"] = cut
    document["paths"] = paths
    return document, cuts
