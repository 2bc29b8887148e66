"""Stripe's ``nullable: true`` rewritten into plain JSON Schema, once per document: JSON Schema
ignores the keyword, so without this a legitimate ``null`` would be rejected (``null`` is
neither in an enum nor in any branch of an ``anyOf``). The recorder stores the rewritten
document (``record.py``), so loading the packaged spec costs no rewrite."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# The branch a nullable schema gains; error reporting leaves it out for non-null values.
NULL_BRANCH: dict[str, Any] = {"enum": [None]}


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
    for method in HTTP_METHODS:
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
        return {"anyOf": [result, dict(NULL_BRANCH)]}
    return result
