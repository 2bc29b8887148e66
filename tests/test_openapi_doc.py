"""`GET /_fake/openapi.json`: the fake's own OpenAPI document."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis

from fake_stripe import create_app
from fake_stripe.app import routes_table
from fake_stripe.control.openapi import PATH, param_schema
from fake_stripe.core.params import Arr, Bool, Either, Enum, Hash, Int, Metadata, Str
from fake_stripe.financial_connections import test_helpers
from fake_stripe.inprocess import client as inprocess_client
from fake_stripe.spec.load import SPEC_ENV

from .spec_guard import recorded_spec

SPEC = recorded_spec()


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "delete", "put", "patch")
    }


def _assert_valid_openapi(document: dict[str, Any]) -> None:
    # Schemathesis validates against the OpenAPI 3.0 meta-schema (and needs every $ref).
    schemathesis.openapi.from_dict(copy.deepcopy(document)).validate()
    names = set(document["components"]["schemas"])
    for ref in _refs(document):
        assert re.fullmatch(r"#/components/schemas/.+", ref), ref
        assert ref.removeprefix("#/components/schemas/") in names, ref


def test_document_lists_every_route_and_control_route(base_client: httpx.Client) -> None:
    resp = base_client.get(PATH)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.headers["request-id"].startswith("req_")
    document = resp.json()
    assert document["openapi"] == "3.0.0"
    expected = {(ep.method, ep.path) for ep in routes_table()}
    expected |= {("GET", "/_fake/health"), ("POST", "/_fake/reset"), ("GET", PATH)}
    assert expected <= _operations(document)
    _assert_valid_openapi(document)


def test_recorded_operations_are_copied_from_the_recorded_spec(base_client: httpx.Client) -> None:
    document = base_client.get(PATH).json()
    recorded = set(SPEC.operations())
    for ep in routes_table():
        operation = document["paths"][ep.path][ep.method.lower()]
        if (ep.method, ep.path) in recorded:
            assert operation.pop("x-fake-stripe-source") == "recorded-spec"
            assert operation == SPEC.raw["paths"][ep.path][ep.method.lower()], ep.path
        else:
            assert operation["x-fake-stripe-source"] == "params"
    # Unimplemented operations of the recorded spec are not offered.
    for method, path in recorded:
        if (method, path) not in {(ep.method, ep.path) for ep in routes_table()}:
            assert method.lower() not in document["paths"].get(path, {}), (method, path)


def test_test_helpers_are_described_from_their_declared_params(
    base_client: httpx.Client,
) -> None:
    document = base_client.get(PATH).json()
    path = "/v1/test_helpers/financial_connections/sessions/{session}/complete"
    operation = document["paths"][path]["post"]
    assert operation["x-fake-stripe-test-helper"] is True
    assert operation["parameters"][0] == {
        "in": "path",
        "name": "session",
        "required": True,
        "schema": {"type": "string", "maxLength": 5000},
        "style": "simple",
    }
    form = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]
    schema = form["schema"]
    assert schema["required"] == ["outcome"]
    assert schema["properties"]["outcome"]["enum"] == list(test_helpers.OUTCOMES)
    accounts = schema["properties"]["accounts"]
    assert accounts["items"]["properties"]["last4"] == {"type": "string", "maxLength": 4}
    assert form["encoding"]["accounts"] == {"style": "deepObject", "explode": True}
    clock = document["paths"]["/v1/test_helpers/clock"]["get"]
    assert {p["name"] for p in clock["parameters"]} == {"expand"}


def test_reset_is_described_with_its_key_parameter(base_client: httpx.Client) -> None:
    document = base_client.get(PATH).json()
    reset = document["paths"]["/_fake/reset"]["post"]
    assert reset["x-fake-stripe-control"] is True
    body = reset["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert body["properties"]["key"] == {"type": "string", "maxLength": 5000}


def test_without_the_spec_file_every_operation_is_described_from_params(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(SPEC_ENV, str(tmp_path / "absent.json"))
    with inprocess_client(create_app(seed=1)) as c:
        document = c.get(PATH).json()
    expected = {(ep.method, ep.path) for ep in routes_table()}
    assert expected <= _operations(document)
    sources = {
        op["x-fake-stripe-source"] for item in document["paths"].values() for op in item.values()
    }
    assert sources == {"params"}
    assert set(document["components"]["schemas"]) == {"error"}
    sessions = document["paths"]["/v1/financial_connections/sessions"]["post"]
    body = sessions["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert "relink_options" in body["properties"]
    _assert_valid_openapi(document)


def test_document_needs_the_control_token_when_one_is_set() -> None:
    with inprocess_client(create_app(seed=1, control_token="s3cret")) as c:
        assert c.get(PATH).status_code == 401
        ok = c.get(PATH, headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("param", "schema"),
    [
        (Str(max_length=40), {"type": "string", "maxLength": 40}),
        (Enum(("a", "b"), emptyable=True), {"type": "string", "enum": ["a", "b", ""]}),
        (Int(1, 100), {"type": "integer", "minimum": 1, "maximum": 100}),
        (
            Int(emptyable=True),
            {"anyOf": [{"type": "integer"}, {"type": "string", "enum": [""]}]},
        ),
        (Bool(), {"type": "boolean"}),
        (
            Arr(Str(), max_items=3),
            {"type": "array", "items": {"type": "string", "maxLength": 5000}, "maxItems": 3},
        ),
        (
            Hash({"a": Bool()}, required=("a",)),
            {
                "type": "object",
                "properties": {"a": {"type": "boolean"}},
                "additionalProperties": False,
                "required": ["a"],
            },
        ),
        (
            Metadata(),
            {
                "anyOf": [
                    {"type": "object", "additionalProperties": {"type": "string"}},
                    {"type": "string", "enum": [""]},
                ]
            },
        ),
        (
            Either((Int(), Bool())),
            {"anyOf": [{"type": "integer"}, {"type": "boolean"}]},
        ),
    ],
    ids=["str", "enum", "int", "int-emptyable", "bool", "arr", "hash", "metadata", "either"],
)
def test_param_dsl_becomes_an_openapi_schema(param: Any, schema: dict[str, Any]) -> None:
    assert param_schema(param) == schema
