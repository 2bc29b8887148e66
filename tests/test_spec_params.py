"""fake_stripe.spec.params: request schemas of the recorded spec as the fake's parameter DSL."""

from __future__ import annotations

import pytest

from fake_stripe.core import formdata, params
from fake_stripe.core.errors import ParamError
from fake_stripe.core.params import UNSET, Arr, Bool, Either, Enum, Hash, Int, Metadata, Str
from fake_stripe.spec.params import (
    UnsupportedSchema,
    differences,
    from_schema,
    operation_params,
    to_param,
)

from .spec_guard import recorded_spec

SPEC = recorded_spec()
SESSIONS = "/v1/financial_connections/sessions"


def _session_params() -> params.Spec:
    converted = operation_params(SPEC, "POST", SESSIONS)
    assert converted is not None
    return converted


def _check(spec: params.Spec, body: str) -> dict[str, object]:
    return params.check(spec, formdata.decode(body.encode()))


def test_session_create_converts_with_required_fields_and_enums() -> None:
    spec = _session_params()
    assert spec.required == ("permissions",)
    relink = spec.fields["relink_options"]
    assert isinstance(relink, Hash)
    assert tuple(relink.required) == ("authorization",)
    permissions = spec.fields["permissions"]
    assert isinstance(permissions, Arr) and isinstance(permissions.item, Enum)
    assert set(permissions.item.values) == {
        "balances",
        "ownership",
        "payment_method",
        "transactions",
    }
    limits = spec.fields["limits"]
    assert isinstance(limits, Hash)
    assert limits.fields["accounts"] == Int(emptyable=True)


def test_converted_spec_checks_requests_the_way_stripe_names_params() -> None:
    spec = _session_params()
    ok = _check(
        spec,
        "permissions[0]=payment_method&relink_options[authorization]=fcauth_1&limits[accounts]=",
    )
    assert ok["relink_options"] == {"authorization": "fcauth_1"}
    assert ok["limits"] == {"accounts": UNSET}
    with pytest.raises(ParamError) as unknown:
        _check(spec, "permissions[0]=balances&relink_options[authorization]=a&relink_options[x]=1")
    assert (unknown.value.code, unknown.value.param) == (
        "parameter_unknown",
        "relink_options[x]",
    )
    with pytest.raises(ParamError) as missing:
        _check(spec, "permissions[0]=balances&relink_options[account]=fca_1")
    assert (missing.value.code, missing.value.param) == (
        "parameter_missing",
        "relink_options[authorization]",
    )
    with pytest.raises(ParamError) as enum:
        _check(spec, "permissions[0]=balances&ui_mode=sideways")
    assert enum.value.param == "ui_mode"
    assert "must be one of hosted or modal" in enum.value.message


def test_query_parameters_convert_for_get_operations() -> None:
    spec = operation_params(SPEC, "GET", "/v1/events")
    assert spec is not None
    assert spec.fields["delivery_success"] == Bool()
    created = spec.fields["created"]
    # Scalars first, so `created=5` is read as an integer and `created[gte]=5` as a range.
    assert isinstance(created, Either)
    assert isinstance(created.options[0], Int) and isinstance(created.options[1], Hash)
    assert _check(spec, "created[gte]=5")["created"] == {"gte": 5}
    assert _check(spec, "created=5")["created"] == 5


def test_stripe_ways_of_writing_unset_become_emptyable() -> None:
    assert to_param({"enum": ["", "exempt", "none"], "type": "string"}) == Enum(
        ("exempt", "none"), emptyable=True
    )
    assert to_param(
        {"anyOf": [{"type": "string", "maxLength": 40}, {"enum": [""], "type": "string"}]}
    ) == Str(max_length=40, emptyable=True)
    metadata = to_param(
        {
            "anyOf": [
                {"type": "object", "additionalProperties": {"type": "string"}},
                {"enum": [""], "type": "string"},
            ]
        }
    )
    assert metadata == Metadata(emptyable=True)


def test_unsupported_schemas_are_refused_with_their_location() -> None:
    with pytest.raises(UnsupportedSchema, match=r"filters\[\]"):
        to_param({"type": "array", "items": {"type": "null"}}, "filters")
    with pytest.raises(UnsupportedSchema):
        from_schema({"type": "array"})


def test_differences_name_each_kind_of_drift() -> None:
    spec = params.Spec(
        {
            "mode": Enum(("a", "b")),
            "name": Str(max_length=100),
            "count": Int(),
            "inner": Hash({"x": Str(), "y": Str()}, required=("x",)),
            "tags": Arr(Enum(("t1", "t2"))),
            "note": Str(emptyable=True),
            "expand": Arr(Str()),
        },
        required=("mode",),
    )
    fake = params.Spec(
        {
            "mode": Enum(("a",)),
            "name": Str(),
            "count": Str(),
            "inner": Hash({"x": Str(), "z": Str()}, required=("z",)),
            "tags": Arr(Enum(("t1", "t2"))),
            "note": Str(),
            "bogus": Bool(),
        }
    )
    found = {(d.param, d.kind) for d in differences(fake, spec)}
    assert found == {
        ("bogus", "unknown"),
        ("mode", "required"),
        ("mode", "enum"),
        ("name", "max_length"),
        ("count", "type"),
        ("inner[z]", "unknown"),
        ("inner[x]", "required"),
        ("note", "emptyable"),
    }
    assert differences(spec, spec) == []


def test_alternatives_are_paired_with_the_closest_spec_option() -> None:
    spec = params.Spec(
        {"m": Either((Hash({"a": Str()}, required=("a",)), Hash({"b": Str()}, required=("b",))))}
    )
    # One object against two alternatives: compared with the one it matches.
    assert differences(params.Spec({"m": Hash({"b": Str()}, required=("b",))}), spec) == []
    loose = params.Spec({"m": Hash({"b": Str()})})
    assert [(d.param, d.kind) for d in differences(loose, spec)] == [("m[b]", "required")]
    fake_both = params.Spec(
        {"m": Either((Hash({"a": Str()}, required=("a",)), Hash({"b": Str()}, required=("b",))))}
    )
    assert differences(fake_both, spec) == []
