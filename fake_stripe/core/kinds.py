"""Which model each object kind has, without importing pydantic until a model is wanted: the
kinds' homes (`expect`), a kind's model (`model_for`, `Lazy`), and a handler's answer
(`Written`).

A kind's module is imported when its model is first asked for (`model_for`), so a server
starts with none loaded, and with pydantic not imported until the first request that needs a
model: a read that finds nothing to render needs none (`core.render.paginate`).
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Generic, NamedTuple, TypeVar, cast

from . import turns

if TYPE_CHECKING:
    from .objects import StripeObject

M = TypeVar("M", bound="StripeObject")

_OBJECTS = "fake_stripe.core.objects"  # the models' base, and pydantic with it

# Where each kind's model is defined, and the id prefix of its objects (`expect`).
_HOMES: dict[str, tuple[str, str]] = {}
_KIND_OF_PREFIX: dict[str, str] = {}


class Written(NamedTuple):
    """A handler's answer: `obj`, and its JSON as the request staged it (`StagedTenant.put`),
    `obj` unchanged since. Rendered without expansions, the answer is cut from that JSON
    (`StripeObject.api_json_from`) rather than written again."""

    obj: StripeObject
    stored: str


class Lazy(Generic[M]):
    """A model's kind as the tenant and the list helpers take it (`core.raw.Kind`), without its
    module: the model is imported when the first object of the kind is read into it."""

    __slots__ = ("kind", "noun", "_model")

    def __init__(self, kind: str, noun: str) -> None:
        self.kind = kind
        self.noun = noun
        self._model: type[M] | None = None

    def model(self) -> type[M]:
        found = self._model
        if found is None:
            found = self._model = cast("type[M]", model_for(self.kind))
        return found

    def model_validate_json(self, json_data: str, /) -> M:
        return self.model().model_validate_json(json_data)


def expect(homes: dict[str, tuple[str, str]]) -> None:
    """Name the models not imported yet: kind -> (id prefix, the module that defines it)."""
    _HOMES.update(homes)
    _KIND_OF_PREFIX.update({prefix: kind for kind, (prefix, _m) in homes.items() if prefix})


def model_for(kind: str) -> type[StripeObject]:
    """The model of `kind` (KeyError: a kind no model has), its module imported if need be (off
    the event loop: `turns.before_import`)."""
    home = _HOMES.get(kind)
    if home is not None and not turns.imported(home[1]):
        turns.before_import()
        importlib.import_module(home[1])  # (waits for another thread importing it)
    elif home is None and _OBJECTS not in sys.modules:
        raise KeyError(kind)  # no model is defined yet, and none is expected of this kind
    from .objects import REGISTRY

    return REGISTRY[kind]


def base() -> type[StripeObject] | None:
    """`StripeObject` once its module (and pydantic) is imported; None before, when no object
    can be one."""
    module = sys.modules.get(_OBJECTS)
    return None if module is None else cast("type[StripeObject]", module.StripeObject)


def models() -> list[type[StripeObject]]:
    """Every model of an object kind, imported or expected."""
    from .objects import REGISTRY

    return [model_for(kind) for kind in {**REGISTRY, **_HOMES}]


def model_for_id(obj_id: str) -> type[StripeObject] | None:
    from .objects import BY_PREFIX

    prefix = obj_id.split("_", 1)[0] if "_" in obj_id else ""
    found = BY_PREFIX.get(prefix)
    if found is None and prefix in _KIND_OF_PREFIX:
        found = model_for(_KIND_OF_PREFIX[prefix])
    return found
