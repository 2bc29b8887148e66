"""Request parameters from the recorded spec, in the fake's parameter DSL.

This module owns two things: turning an operation's request schema (``Spec.request_schema``)
into a ``params.Spec`` of ``Str/Int/Bool/Enum/Arr/Hash/Metadata/Either``, so an endpoint can
check its parameters exactly as the spec says, and comparing such a declaration with the one an
endpoint wrote by hand (``differences``), so drift between the two is visible.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..core import params
from ..core.params import Arr, Bool, Either, Enum, Hash, Int, Map, Metadata, Num, Param, Str
from .load import Spec as OpenAPISpec

# Stripe's default for strings whose schema gives no maxLength (`params.Str` uses it too).
DEFAULT_MAX_LENGTH = 5000

# `expand` is taken out of every request by the wire layer before an endpoint's own
# parameters are checked, so an endpoint never has to declare it.
WIRE_PARAMS = frozenset({"expand"})


class UnsupportedSchema(ValueError):
    """A request schema uses a construct the parameter DSL cannot express."""


def operation_params(spec: OpenAPISpec, method: str, path: str) -> params.Spec | None:
    """The parameters of ``method path`` as the recorded spec declares them, or None."""
    schema = spec.request_schema(method, path)
    if schema is None:
        return None
    return from_schema(schema)


def from_schema(schema: Mapping[str, Any]) -> params.Spec:
    """Convert an operation's top-level request schema (an object) into a ``params.Spec``."""
    if schema.get("type", "object") != "object":
        raise UnsupportedSchema(f"a request schema must be an object, not {schema.get('type')!r}")
    fields = {name: to_param(sub, f"{name}") for name, sub in schema.get("properties", {}).items()}
    return params.Spec(fields, required=tuple(schema.get("required", ())))


def to_param(schema: Mapping[str, Any], where: str = "") -> Param:
    """Convert one parameter's schema; ``where`` names it in errors."""
    if "anyOf" in schema:
        return _any_of(list(schema["anyOf"]), where)
    kind = schema.get("type")
    if "enum" in schema:
        if kind not in (None, "string"):
            raise UnsupportedSchema(f"{where}: enum of type {kind!r}")
        values = tuple(schema["enum"])
        # `enum: ["", "a", "b"]` is Stripe's other way of writing "may be unset".
        return Enum(tuple(v for v in values if v != ""), emptyable="" in values)
    if kind == "string":
        return Str(max_length=int(schema.get("maxLength", DEFAULT_MAX_LENGTH)))
    if kind == "integer":
        return Int(minimum=schema.get("minimum"), maximum=schema.get("maximum"))
    if kind == "number":
        return Num()
    if kind == "boolean":
        return Bool()
    if kind == "array":
        items = schema.get("items")
        if not isinstance(items, Mapping):
            raise UnsupportedSchema(f"{where}: array without an item schema")
        # An array the spec gives no `maxItems` gets the parameter language's default cap.
        cap = int(schema.get("maxItems", params.DEFAULT_MAX_ITEMS))
        return Arr(to_param(items, f"{where}[]"), max_items=cap)
    if kind == "object":
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        if properties is None:
            if isinstance(extra, Mapping) and extra.get("type") == "string":
                # Stripe's metadata: any keys, string values.
                return Metadata(emptyable=False)
            if isinstance(extra, Mapping) and extra:
                # Keys of the caller's choosing (currencies), each value of one shape.
                return Map(to_param(extra, f"{where}[]"))
            raise UnsupportedSchema(f"{where}: object without properties")
        return Hash(
            {name: to_param(sub, f"{where}[{name}]") for name, sub in properties.items()},
            required=tuple(schema.get("required", ())),
        )
    raise UnsupportedSchema(f"{where}: unsupported schema {dict(schema)!r}")


def _is_empty_branch(branch: Mapping[str, Any]) -> bool:
    return branch.get("enum") == [""]


def _any_of(branches: list[Mapping[str, Any]], where: str) -> Param:
    # Stripe writes "this may be unset" as an extra `enum: [""]` branch.
    emptyable = any(_is_empty_branch(b) for b in branches)
    options = [to_param(b, where) for b in branches if not _is_empty_branch(b)]
    if emptyable:
        options = [_emptyable(option) for option in options]
    if not options:
        raise UnsupportedSchema(f"{where}: anyOf with no usable branch")
    if len(options) == 1:
        return options[0]
    # Scalars first: a container value fails them quickly, while a scalar value given to a
    # container option would produce a less specific error ("Invalid object").
    options.sort(key=lambda option: isinstance(option, (Hash, Map, Metadata, Arr)))
    return Either(tuple(options))


def _emptyable(param: Param) -> Param:
    if isinstance(param, (Str, Enum, Int, Num, Bool, Hash, Map, Metadata)):
        return replace(param, emptyable=True)
    # `Arr` reads an empty string as the empty list; `Either` has no empty form.
    return param


# -- comparing a hand-written declaration with the spec --------------------------------------


@dataclass(frozen=True)
class Difference:
    """One way in which the fake's declared parameters disagree with the spec's."""

    param: str  # Stripe's bracket form; `[]` stands for "every item"
    kind: str  # "unknown", "required", "enum", "type", "emptyable", "max_length"
    fake: object
    spec: object

    def __str__(self) -> str:
        return f"{self.param}: {self.kind} (fake: {self.fake!r}, spec: {self.spec!r})"


def differences(fake: params.Spec, spec: params.Spec) -> list[Difference]:
    """Compare what an endpoint declares with what the recorded spec declares.

    Reported: parameters the fake accepts that the spec does not have (``unknown``),
    parameters that one side requires and the other does not (``required``), enums that differ
    (``enum``; the values are given as sorted tuples), kinds that differ (``type``, e.g. a
    free string where the spec has an enum), whether an empty string unsets the parameter
    (``emptyable``), and string length limits that differ (``max_length``). The wire layer's
    own parameters (``expand``) are left out.
    """
    fields = {k: v for k, v in fake.fields.items() if k not in WIRE_PARAMS}
    theirs = {k: v for k, v in spec.fields.items() if k not in WIRE_PARAMS}
    return sorted(
        _compare_fields(fields, fake.required, theirs, spec.required, ""),
        key=lambda d: (d.param, d.kind),
    )


def _name(prefix: str, key: str) -> str:
    return f"{prefix}[{key}]" if prefix else key


def _compare_fields(
    fake: Mapping[str, Param],
    fake_required: Any,
    spec: Mapping[str, Param],
    spec_required: Any,
    prefix: str,
) -> Iterator[Difference]:
    for key in fake:
        if key not in spec:
            yield Difference(_name(prefix, key), "unknown", _kind(fake[key]), None)
    required, theirs_required = set(fake_required), set(spec_required)
    for key in spec_required:
        if key not in required:
            yield Difference(_name(prefix, key), "required", "optional", "required")
    for key in fake_required:
        if key not in theirs_required and key in spec:
            yield Difference(_name(prefix, key), "required", "required", "optional")
    for key, theirs in spec.items():
        if key in fake:
            yield from _compare(fake[key], theirs, _name(prefix, key))


def _compare(fake: Param, spec: Param, name: str) -> Iterator[Difference]:
    fake_options = _options(fake)
    spec_options = _options(spec)
    if len(fake_options) == 1 and len(spec_options) == 1:
        yield from _compare_one(fake_options[0], spec_options[0], name)
        return
    # Alternatives (`created=123` or `created[gte]=1`): pair each of the fake's options with
    # the spec option of the same kind that it matches best (a spec may offer two objects).
    if {_kind(o) for o in fake_options} != {_kind(o) for o in spec_options}:
        yield Difference(name, "type", _kinds(fake_options), _kinds(spec_options))
        return
    for option in fake_options:
        candidates = [
            list(_compare_one(option, theirs, name))
            for theirs in spec_options
            if _kind(theirs) == _kind(option)
        ]
        yield from min(candidates, key=len)


def _compare_one(fake: Param, spec: Param, name: str) -> Iterator[Difference]:
    if _kind(fake) != _kind(spec):
        yield Difference(name, "type", _kind(fake), _kind(spec))
        return
    if _emptyable_flag(fake) != _emptyable_flag(spec):
        yield Difference(name, "emptyable", _emptyable_flag(fake), _emptyable_flag(spec))
    if isinstance(fake, Enum) and isinstance(spec, Enum):
        if set(fake.values) != set(spec.values):
            yield Difference(name, "enum", tuple(sorted(fake.values)), tuple(sorted(spec.values)))
    if isinstance(fake, Str) and isinstance(spec, Str) and fake.max_length != spec.max_length:
        yield Difference(name, "max_length", fake.max_length, spec.max_length)
    elif isinstance(fake, Arr) and isinstance(spec, Arr):
        yield from _compare(fake.item, spec.item, f"{name}[]")
    elif isinstance(fake, Hash) and isinstance(spec, Hash):
        yield from _compare_fields(fake.fields, fake.required, spec.fields, spec.required, name)


def _emptyable_flag(param: Param) -> bool | None:
    """Whether an empty string unsets the parameter; None where the DSL has no such switch."""
    if isinstance(param, (Str, Enum, Int, Hash)):
        return bool(param.emptyable)
    return None


def _options(param: Param) -> tuple[Param, ...]:
    return param.options if isinstance(param, Either) else (param,)


def _kind(param: Param) -> str:
    if isinstance(param, Either):
        return _kinds(param.options)
    return {
        Str: "string",
        Enum: "enum",
        Int: "integer",
        Bool: "boolean",
        Arr: "array",
        Hash: "object",
        Metadata: "metadata",
        Num: "number",
        Map: "map",
    }.get(type(param), type(param).__name__)


def _kinds(options: tuple[Param, ...]) -> str:
    return " | ".join(_kind(option) for option in options)
