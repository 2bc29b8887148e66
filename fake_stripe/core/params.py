"""Declared request parameters: types, enums, lengths, required keys; coercion of form strings.

Every endpoint declares its parameters with these small types; `check` turns the decoded form
tree into typed Python values or raises a ParamError naming the parameter in Stripe's bracket
form (`relink_options[authorization]`). Unknown parameters are rejected as Stripe does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ParamError, invalid_param, missing_param, unknown_param
from .formdata import Repeated


class _Unset:
    """An empty string sent to clear a value (`limits[accounts]=`, `description=`).

    False in a condition, as the empty string it stands for: `p.get("metadata") or {}` and
    `if p.get("code")` read an unset value as no value, never as a given one.
    """

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def clean(value: Any) -> Any:
    """The value with every unset (empty-string) entry dropped, recursively."""
    if value is UNSET:
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if v is not UNSET}
    return value


def merge(current: dict[str, Any], value: Any) -> dict[str, Any]:
    """Stripe's update of a hash: keys merge into what is there, a key set to "" is removed,
    and the hash unset as a whole (`metadata=`) clears everything."""
    if value is UNSET:
        return {}
    merged = {**current, **value}
    return {k: v for k, v in merged.items() if v is not UNSET}


def merge_metadata(current: dict[str, str], value: Any) -> dict[str, str]:
    return merge(current, value)


def one_of(values: tuple[str, ...]) -> str:
    """`a, b, or c` as Stripe lists enum values."""
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return f"{values[0]} or {values[1]}"
    return ", ".join(values[:-1]) + f", or {values[-1]}"


def _empty(name: str) -> ParamError:
    return invalid_param(
        name,
        f"You passed an empty string for '{name}'. We assume empty values are an attempt to "
        f"unset a parameter; however '{name}' cannot be unset. You should remove '{name}' from "
        "your request or supply a non-empty value.",
        code="parameter_invalid_empty",
    )


def _scalar(name: str, value: Any) -> str:
    if isinstance(value, Repeated):
        return value[-1]
    if isinstance(value, str):
        return value
    kind = "an array" if isinstance(value, list) else "a hash"
    raise invalid_param(name, f"Invalid string: {name} is {kind}")


class Param:
    emptyable = False

    def check(self, name: str, value: Any) -> Any:
        raise NotImplementedError


@dataclass
class Str(Param):
    max_length: int = 5000
    emptyable: bool = False

    def check(self, name: str, value: Any) -> Any:
        s = _scalar(name, value)
        if s == "":
            if self.emptyable:
                return UNSET
            raise _empty(name)
        if len(s) > self.max_length:
            raise invalid_param(
                name,
                f"Invalid string: {s[:4]}...{s[-4:]}; must be at most {self.max_length} characters",
            )
        return s


@dataclass
class Enum(Param):
    values: tuple[str, ...]
    emptyable: bool = False

    def check(self, name: str, value: Any) -> Any:
        s = _scalar(name, value)
        if s == "" and self.emptyable:
            return UNSET
        if s not in self.values:
            raise invalid_param(name, f"Invalid {name}: must be one of {one_of(self.values)}")
        return s


_INTEGER = re.compile(r"-?[0-9]{1,19}")
_INDEX = re.compile(r"[0-9]{1,19}")


@dataclass
class Int(Param):
    minimum: int | None = None
    maximum: int | None = None
    emptyable: bool = False

    def check(self, name: str, value: Any) -> Any:
        s = _scalar(name, value)
        if s == "" and self.emptyable:
            return UNSET
        # Stripe's integers are 64-bit. `str.isdigit` would also pass "²" and "١٢".
        n = int(s) if _INTEGER.fullmatch(s) else None
        if n is None or not -(2**63) <= n < 2**63:
            raise invalid_param(
                name, f"Invalid integer: {s[:40]}", code="parameter_invalid_integer"
            )
        # Wording of Stripe's integer-bound errors; unverified for `limit` in particular.
        if self.minimum is not None and n < self.minimum:
            raise invalid_param(
                name,
                f"This value must be greater than or equal to {self.minimum}.",
                code="parameter_invalid_integer",
            )
        if self.maximum is not None and n > self.maximum:
            raise invalid_param(
                name,
                f"This value must be less than or equal to {self.maximum}.",
                code="parameter_invalid_integer",
            )
        return n


def _given(param: Param, name: str, value: Any) -> str | None:
    """The string given; None for an empty one where the parameter may be unset."""
    s = _scalar(name, value)
    return None if s == "" and param.emptyable else s


# GUESS (docs/guesses.md): Stripe's decimals (`percentage=12.5`) in its integer error's wording.
_DECIMAL = re.compile(r"-?[0-9]{1,19}(\.[0-9]{1,19})?([eE][-+]?[0-9]{1,3})?")


@dataclass
class Num(Param):
    """A decimal number (`application_fee_percent=12.5`), read as a float."""

    emptyable: bool = False

    def check(self, name: str, value: Any) -> Any:
        s = _given(self, name, value)
        if s is None:
            return UNSET
        number = float(s) if _DECIMAL.fullmatch(s) else math.inf
        if not math.isfinite(number):
            raise invalid_param(name, f"Invalid decimal: {s[:40]}")
        return number


@dataclass
class Bool(Param):
    emptyable: bool = False

    def check(self, name: str, value: Any) -> Any:
        s = _given(self, name, value)
        if s is None:
            return UNSET
        if s not in ("true", "false"):
            raise invalid_param(name, f"Invalid boolean: {s[:40]}")
        return s == "true"


def _as_list(name: str, value: Any, max_items: int) -> list[Any]:
    if isinstance(value, (list, dict)) and len(value) > max_items:
        # Counted before anything else is done with the items (sorting indexes, checking each).
        raise invalid_param(name, f"Array {name} exceeded maximum {max_items} allowed elements.")
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        # stripe-python sends arrays indexed: a[0]=x&a[1]=y. ASCII digits only: `str.isdigit`
        # also passes "²" and "١", which `int` refuses.
        if value and all(_INDEX.fullmatch(k) for k in value):
            return [value[k] for k in sorted(value, key=int)]
        raise invalid_param(name, "Invalid array")
    if value == "":
        return []
    raise invalid_param(name, "Invalid array")


# GUESS (docs/limits.md): the cap of an array whose limit Stripe does not document. Stripe caps
# most list parameters at 100 items (`limit`, a session's `limits[accounts]`).
DEFAULT_MAX_ITEMS = 100


@dataclass
class Arr(Param):
    """An array of `item`, at most `max_items` long (Stripe's wording past it: "Array types
    exceeded maximum 20 allowed elements."). With `unique`, a value given twice counts once,
    in the order first given: a set of choices such as `features` or `permissions`."""

    item: Param
    max_items: int = DEFAULT_MAX_ITEMS
    unique: bool = False

    def check(self, name: str, value: Any) -> Any:
        items = _as_list(name, value, self.max_items)
        checked = [self.item.check(f"{name}[{i}]", v) for i, v in enumerate(items)]
        return list(dict.fromkeys(checked)) if self.unique else checked


@dataclass
class Hash(Param):
    fields: Mapping[str, Param]
    required: Iterable[str] = ()
    emptyable: bool = False

    def check(self, name: str, value: Any) -> Any:
        if value == "" and self.emptyable:
            return UNSET
        if not isinstance(value, dict):
            raise invalid_param(name, "Invalid object")
        return check_fields(self.fields, value, tuple(self.required), prefix=name)


@dataclass
class Map(Param):
    """A hash whose keys are the caller's (`currency_options[eur][amount_off]=5`), each value
    of one shape."""

    value: Param
    emptyable: bool = False

    def check(self, name: str, value: Any) -> Any:
        if value == "" and self.emptyable:
            return UNSET
        if not isinstance(value, dict):
            raise invalid_param(name, "Invalid object")
        return {k: self.value.check(f"{name}[{k}]", v) for k, v in value.items()}


@dataclass
class Metadata(Param):
    emptyable: bool = True

    def check(self, name: str, value: Any) -> Any:
        if value == "":
            return UNSET
        if not isinstance(value, dict):
            raise invalid_param(name, "Invalid object")
        if len(value) > 50:
            raise invalid_param(name, "You can specify up to 50 keys in metadata.")
        out: dict[str, Any] = {}
        for k, v in value.items():
            if len(k) > 40:
                raise invalid_param(name, f"Invalid key: {k} must be a string under 40 characters")
            if not isinstance(v, str):
                raise invalid_param(f"{name}[{k}]", f"Invalid string: {name}[{k}]")
            if len(v) > 500:
                raise invalid_param(
                    name, f"Invalid val: {v[:20]} must be a string under 500 characters"
                )
            out[k] = UNSET if v == "" else v
        return out


@dataclass
class Either(Param):
    """A value that is one of several shapes (`transacted_at=123` or `transacted_at[gte]=1`)."""

    options: tuple[Param, ...]

    def check(self, name: str, value: Any) -> Any:
        errors: list[tuple[Param, ParamError]] = []
        for opt in self.options:
            try:
                return opt.check(name, value)
            except ParamError as e:
                errors.append((opt, e))
        # The error of the option shaped like the value says most ("" given where a string or
        # a hash may go is an empty string, not a bad hash).
        container = isinstance(value, (dict, list))
        for opt, error in errors:
            if isinstance(opt, (Hash, Map, Metadata, Arr)) == container:
                raise error
        raise errors[-1][1]


@dataclass
class Spec:
    fields: Mapping[str, Param]
    required: tuple[str, ...] = ()
    # The wire layer hands the handler the decoded tree unchecked: it checks it itself (against
    # a spec it chooses, such as a session's by API version).
    open: bool = False


EXPAND = Arr(Str(), max_items=50)
PAGINATION: dict[str, Param] = {
    "limit": Int(1, 100),
    "starting_after": Str(),
    "ending_before": Str(),
    "expand": EXPAND,
}
RANGE = Either((Int(), Hash({"gt": Int(), "gte": Int(), "lt": Int(), "lte": Int()})))


def in_range(value: int, rng: int | dict[str, int] | None) -> bool:
    """Whether `value` passes a RANGE filter (`created=123` or `created[gte]=1&created[lt]=9`)."""
    if rng is None:
        return True
    if isinstance(rng, int):
        return value == rng
    return (
        ("gt" not in rng or value > rng["gt"])
        and ("gte" not in rng or value >= rng["gte"])
        and ("lt" not in rng or value < rng["lt"])
        and ("lte" not in rng or value <= rng["lte"])
    )


def check_fields(
    fields: Mapping[str, Param],
    values: Mapping[str, Any],
    required: tuple[str, ...] = (),
    prefix: str = "",
) -> dict[str, Any]:
    for k in values:
        if k not in fields:
            raise unknown_param(_full(prefix, k))
    out: dict[str, Any] = {}
    for k, v in values.items():
        out[k] = fields[k].check(f"{prefix}[{k}]" if prefix else k, v)
    for k in required:
        # An explicit empty value passed its type's check (e.g. `limits[accounts]=`).
        if k not in out:
            raise missing_param(_full(prefix, k))
    return out


def _full(prefix: str, k: str) -> str:
    """Field `k`'s name as a parameter, inside `prefix` (a hash's name) if any."""
    return f"{prefix}[{k}]" if prefix else k


def check(spec: Spec, values: Mapping[str, Any]) -> dict[str, Any]:
    return check_fields(spec.fields, values, spec.required)
