"""The fake's own OpenAPI document, served at `GET /_fake/openapi.json`.

It describes what this server answers, so users can point their own tools at it: every
operation of Stripe's recorded spec that the fake implements, copied from that spec (read
through `load_spec()` when the document is requested; nothing of it lives in this
repository), plus the endpoints the spec does not have, described from the routes table and
the parameter DSL each endpoint declares: the `/v1/test_helpers/...` routes, Stripe endpoints
outside the recorded subset, and the server's `/_fake/` routes. Without the spec file, every
endpoint is described from its declared parameters.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..core import params
from ..core.context import Endpoint
from ..core.params import Arr, Bool, Either, Enum, Hash, Int, Metadata, Param, Str
from ..core.versions import DEFAULT_API_VERSION
from ..spec.load import Spec, load_spec
from .guard import ControlServer, server_route
from .webhooks import TARGET

PATH = "/_fake/openapi.json"
_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"
_QUERY_METHODS = frozenset({"GET", "DELETE", "HEAD"})
_REF = re.compile(r"^#/components/schemas/(.+)$")
_SECURITY: list[dict[str, list[str]]] = [{"basicAuth": []}, {"bearerAuth": []}]

# The fake's own error schema, used when the recorded spec (and its `error`) is absent.
_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "code": {"type": "string"},
                "message": {"type": "string"},
                "param": {"type": "string"},
                "doc_url": {"type": "string"},
                "request_log_url": {"type": "string"},
            },
            "required": ["type"],
        }
    },
    "required": ["error"],
}
_SECURITY_SCHEMES: dict[str, Any] = {
    "basicAuth": {"type": "http", "scheme": "basic", "description": "Authorization: Basic <key>"},
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "Authorization: Bearer <key>",
    },
}

# `/_fake/` routes have no entry in the routes table; their parameters are declared here in the
# same DSL. A `/_fake/` route missing from this table is still listed, without parameters.
_FAKE_ROUTES: dict[tuple[str, str], tuple[str, params.Spec]] = {
    ("GET", "/_fake/health"): (
        "Server health, seed, default API version and strict mode",
        params.Spec({}),
    ),
    ("POST", "/_fake/reset"): (
        "Forget every tenant's objects, or one tenant's (`key`)",
        params.Spec({"key": Str()}),
    ),
    ("GET", PATH): ("This document", params.Spec({})),
    ("GET", "/_fake/tenants"): ("The tenants the store holds, newest first", params.Spec({})),
    ("GET", "/_fake/dashboard/tenant"): (
        "The caller's tenant as the dashboard draws it (its key is the credential)",
        params.Spec({}),
    ),
    ("GET", "/_fake/faults"): ("The caller's armed fault rules", params.Spec({})),
    ("DELETE", "/_fake/faults"): ("Remove the caller's fault rules", params.Spec({})),
    ("GET", "/_fake/webhooks/payload"): (
        "An event's body as a delivery to one of the caller's endpoints would send it",
        TARGET,
    ),
    ("POST", "/_fake/webhooks/redeliver"): (
        "Send one of the caller's events to one of its endpoints again",
        TARGET,
    ),
}


# -- params DSL -> OpenAPI ---------------------------------------------------------------------


def param_schema(param: Param) -> dict[str, Any]:
    """The JSON schema (OpenAPI 3.0 flavour) of one declared parameter."""
    if isinstance(param, Str):
        return {"type": "string", "maxLength": param.max_length}
    if isinstance(param, Enum):
        values = list(param.values) + ([""] if param.emptyable else [])
        return {"type": "string", "enum": values}
    if isinstance(param, Int):
        schema: dict[str, Any] = {"type": "integer"}
        if param.minimum is not None:
            schema["minimum"] = param.minimum
        if param.maximum is not None:
            schema["maximum"] = param.maximum
        return _emptyable(schema) if param.emptyable else schema
    if isinstance(param, Bool):
        return {"type": "boolean"}
    if isinstance(param, Arr):
        schema = {"type": "array", "items": param_schema(param.item)}
        if param.max_items is not None:
            schema["maxItems"] = param.max_items
        return schema
    if isinstance(param, Hash):
        schema = _object(param.fields, tuple(param.required))
        return _emptyable(schema) if param.emptyable else schema
    if isinstance(param, Metadata):
        schema = {"type": "object", "additionalProperties": {"type": "string"}}
        return _emptyable(schema) if param.emptyable else schema
    if isinstance(param, Either):
        return {"anyOf": [param_schema(option) for option in param.options]}
    # A parameter type this module does not know yet: say nothing rather than something wrong.
    return {}


def _emptyable(schema: dict[str, Any]) -> dict[str, Any]:
    # Stripe's own way of writing "an empty string unsets it".
    return {"anyOf": [schema, {"type": "string", "enum": [""]}]}


def _object(fields: Mapping[str, Param], required: tuple[str, ...]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: param_schema(p) for name, p in fields.items()},
        # The fake rejects unknown parameters at every level (`parameter_unknown`).
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


def form_schema(spec: params.Spec) -> dict[str, Any]:
    """A declared parameter set as a form body schema, with `expand` as the wire accepts it."""
    fields = {"expand": params.EXPAND, **spec.fields}
    return _object(fields, spec.required)


def _is_container(param: Param) -> bool:
    if isinstance(param, Either):
        return any(_is_container(option) for option in param.options)
    return isinstance(param, (Arr, Hash, Metadata))


def _operation_id(method: str, path: str) -> str:
    """Stripe's style: `GetFinancialConnectionsSessionsSession`."""
    words = re.split(r"[/_{}]+", path.removeprefix("/v1"))
    return method.capitalize() + "".join(w[:1].upper() + w[1:] for w in words if w)


def described_operation(
    method: str, path: str, spec: params.Spec, summary: str, error_ref: str
) -> dict[str, Any]:
    """An OpenAPI operation for an endpoint the recorded spec does not have."""
    declared = {"expand": params.EXPAND, **spec.fields}
    operation: dict[str, Any] = {
        "operationId": _operation_id(method, path),
        "summary": summary,
        "x-fake-stripe-source": "params",
    }
    parameters: list[dict[str, Any]] = [
        {
            "in": "path",
            "name": name,
            "required": True,
            "schema": {"type": "string", "maxLength": 5000},
            "style": "simple",
        }
        for name in re.findall(r"\{([^}]+)\}", path)
    ]
    if method in _QUERY_METHODS:
        for name, param in declared.items():
            parameters.append(
                {
                    "in": "query",
                    "name": name,
                    "required": name in spec.required,
                    "schema": param_schema(param),
                    **(
                        {"style": "deepObject", "explode": True}
                        if _is_container(param)
                        else {"style": "form"}
                    ),
                }
            )
    else:
        operation["requestBody"] = {
            "required": bool(spec.required),
            "content": {
                _FORM: {
                    "schema": form_schema(spec),
                    "encoding": {
                        name: {"style": "deepObject", "explode": True}
                        for name, param in declared.items()
                        if _is_container(param)
                    },
                }
            },
        }
    if parameters:
        operation["parameters"] = parameters
    operation["responses"] = {
        "200": {
            "description": "Successful response.",
            "content": {_JSON: {"schema": {"type": "object"}}},
        },
        "default": {
            "description": "Error response.",
            "content": {_JSON: {"schema": {"$ref": error_ref}}},
        },
    }
    return operation


# -- the document ------------------------------------------------------------------------------


def _open_params(ep: Endpoint) -> params.Spec:
    if not ep.params.open:
        return ep.params
    # An open route checks its parameters in the handler; the only one today is session
    # creation, which takes the preview parameters under a `.preview` version.
    from ..financial_connections import sessions as fc_sessions

    if (ep.method, ep.path) == ("POST", "/v1/financial_connections/sessions"):
        return fc_sessions.PREVIEW
    return params.Spec({})


def _summary(ep: Endpoint) -> str:
    doc = (ep.handler.__doc__ or "").strip().splitlines()
    if doc and doc[0]:
        return doc[0]
    kind = "Test helper" if "/test_helpers/" in ep.path else "Endpoint"
    return f"{kind}: {ep.method} {ep.path}"


def build(
    spec: Spec | None, table: Iterable[Endpoint], fake_routes: Iterable[tuple[str, str]]
) -> dict[str, Any]:
    """The whole document: recorded operations first, then the fake's own."""
    paths: dict[str, dict[str, Any]] = {}
    recorded = set(spec.operations()) if spec is not None else set()
    error_ref = "#/components/schemas/error"
    for ep in table:
        item = paths.setdefault(ep.path, {})
        if (ep.method, ep.path) in recorded and spec is not None:
            operation = copy.deepcopy(spec.raw["paths"][ep.path][ep.method.lower()])
            operation["x-fake-stripe-source"] = "recorded-spec"
        else:
            operation = described_operation(
                ep.method, ep.path, _open_params(ep), _summary(ep), error_ref
            )
        if "/test_helpers/" in ep.path:
            operation["x-fake-stripe-test-helper"] = True
        item[ep.method.lower()] = operation
    for method, path in fake_routes:
        summary, declared = _FAKE_ROUTES.get(
            (method, path), (f"Fake-only control route: {method} {path}", params.Spec({}))
        )
        operation = described_operation(method, path, declared, summary, error_ref)
        operation["x-fake-stripe-control"] = True
        paths.setdefault(path, {})[method.lower()] = operation
    schemas: dict[str, Any]
    if spec is not None:
        schemas = _referenced_schemas(spec.raw, paths)
        security_schemes = copy.deepcopy(spec.raw.get("components", {}).get("securitySchemes"))
        version = str(spec.raw.get("info", {}).get("version", DEFAULT_API_VERSION))
    else:
        schemas, security_schemes, version = {"error": _ERROR_SCHEMA}, None, DEFAULT_API_VERSION
    return {
        "openapi": "3.0.0",
        "info": {
            "title": "fake-stripe",
            "version": version,
            "description": "The operations this fake Stripe server answers. Operations marked "
            "`x-fake-stripe-source: recorded-spec` are copied from Stripe's recorded OpenAPI "
            "spec; the others (test helpers, `/_fake/` control routes, Stripe endpoints outside "
            "the recorded subset) are described from the parameters the fake declares.",
        },
        "servers": [{"url": "/"}],
        "security": _SECURITY,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": security_schemes or _SECURITY_SCHEMES,
        },
    }


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str):
            match = _REF.match(ref)
            if match:
                yield match.group(1)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _referenced_schemas(raw: Mapping[str, Any], paths: Mapping[str, Any]) -> dict[str, Any]:
    """The component schemas the operations need, closed under `$ref`."""
    available = raw.get("components", {}).get("schemas", {})
    wanted = ["error", *_refs(paths)]
    found: dict[str, Any] = {}
    while wanted:
        name = wanted.pop()
        if name in found or name not in available:
            continue
        found[name] = copy.deepcopy(available[name])
        wanted.extend(_refs(found[name]))
    return dict(sorted(found.items()))


def _fake_routes(routes: Iterable[BaseRoute]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for route in routes:
        if isinstance(route, Route) and route.path.startswith("/_fake/"):
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    out.append((method, route.path))
    if ("GET", PATH) not in out:
        out.append(("GET", PATH))
    return out


def routes(server: ControlServer, table: Callable[[], Iterable[Endpoint]]) -> list[BaseRoute]:
    """`GET /_fake/openapi.json`, guarded like the other `/_fake/` routes. `table` gives the
    routes table, its handlers loaded (it is asked for on the first request only)."""
    cache: dict[int, bytes] = {}

    async def openapi(request: Request) -> Response:
        spec = load_spec()
        # The spec object is cached per file, so its identity keys the built document.
        key = id(spec)
        body = cache.get(key)
        if body is None:
            document = build(spec, table(), _fake_routes(request.app.routes))
            body = cache[key] = json.dumps(document, separators=(",", ":")).encode()
        return Response(body, media_type=_JSON)

    return [Route(PATH, server_route(server, openapi), methods=["GET"])]
