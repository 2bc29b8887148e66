"""The base of every Stripe object model, and the one serializer that turns models into JSON.

Models hold everything the fake stores about an object. Class-level sets decide what the API
shows: `internal` fields are never sent, `omit_if_none` fields are absent rather than null
(Stripe omits optional hashes), and `preview` fields appear only under a `.preview`
`Stripe-Version` (the relink surface is in public preview), unless `ga_since` names the GA
version date from which a GA reader sees them too (Stripe's GA grew some preview fields later).
Every rendering takes the reader's version, never a yes/no for preview.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic_core import to_json

from .turns import checkpoint
from .versions import shows_since

# The models defined so far, by kind and by id prefix (`core.kinds` reads them: it names the
# models not imported yet, and imports a kind's module when its model is asked for).
REGISTRY: dict[str, type[StripeObject]] = {}
BY_PREFIX: dict[str, type[StripeObject]] = {}


class Model(BaseModel):
    """A nested hash of a Stripe object (built lazily, like the objects)."""

    model_config = ConfigDict(defer_build=True)


class StripeObject(BaseModel):
    # Schemas are built on first use, so the server starts before every model is compiled.
    model_config = ConfigDict(extra="forbid", defer_build=True)

    kind: ClassVar[str] = ""
    prefix: ClassVar[str] = ""
    noun: ClassVar[str] = ""  # as in "No such <noun>: 'id'"
    internal: ClassVar[frozenset[str]] = frozenset()
    omit_if_none: ClassVar[frozenset[str]] = frozenset()
    preview: ClassVar[frozenset[str]] = frozenset()
    # preview field -> the first GA version date (`YYYY-MM-DD`) that has it
    ga_since: ClassVar[dict[str, str]] = {}
    # field -> object kind it expands to (the field holds that object's id)
    expandable: ClassVar[dict[str, str]] = {}
    # String fields the store indexes (dotted for a field of a hash: `account_holder.customer`),
    # so a list filtered on one reads only the matching objects. Objects stored before a field
    # was added are indexed again when the store is opened (`core.indexes`).
    indexed: ClassVar[tuple[str, ...]] = ()
    # Nested parts `adjust` renders itself (objects shown at the reader's version), left out of
    # the model's own dump: `{"accounts": {"data"}}` leaves out the items of a nested list.
    rendered_apart: ClassVar[dict[str, Any]] = {}

    id: str

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if cls.kind:
            REGISTRY[cls.kind] = cls
            if cls.prefix:
                BY_PREFIX[cls.prefix] = cls

    @classmethod
    def fetch(cls, tenant: Any, obj_id: str) -> StripeObject | None:
        """Look an object up for `expand[]` (catalog objects override this)."""
        found: StripeObject | None = tenant.get(cls, obj_id)
        return found

    def index_values(self) -> dict[str, str] | None:
        """The indexed fields that hold a value (None: this kind indexes nothing)."""
        if not self.indexed:
            return None
        found = {}
        for path in self.indexed:
            value: Any = self
            for name in path.split("."):
                value = getattr(value, name, None)
            if isinstance(value, str):
                found[path] = value
        return found

    def to_api(self, version: str) -> dict[str, Any]:
        """The object as a reader at `version` (a `Stripe-Version`) sees it."""
        checkpoint()
        exclude = _hidden_at(type(self), version)
        if self.rendered_apart:
            apart = {**dict.fromkeys(exclude, True), **self.rendered_apart}
            data = self.model_dump(mode="json", exclude=apart)
        else:
            data = self.model_dump(mode="json", exclude=exclude)
        for name in self.omit_if_none:
            if name in data and data[name] is None:
                del data[name]
        return self.adjust(data, version)

    def adjust(self, data: dict[str, Any], version: str) -> dict[str, Any]:
        """Per-object tweaks to the rendered dict (nested preview-only parts, deleted stubs)."""
        return data

    def renders_plain(self) -> bool:
        """Whether this object renders as `to_api` renders every object, with an `adjust` that
        leaves it as it is (a model that overrides `adjust` says when)."""
        cls = type(self)
        return cls.adjust is StripeObject.adjust and cls.to_api is StripeObject.to_api

    def api_json(self, version: str) -> bytes | None:
        """`to_api(version)` as compact JSON, written by the model's serializer in one step,
        when the rendering is the model's own dump less the fields the version hides (nothing
        omitted, nothing rendered apart, nothing adjusted); None otherwise."""
        cls = type(self)
        if cls.omit_if_none or cls.rendered_apart or not self.renders_plain():
            return None
        checkpoint()
        return self.__pydantic_serializer__.to_json(self, exclude=_hidden_at(cls, version))

    def api_json_from(self, stored: str, version: str) -> bytes | None:
        """`api_json(version)` cut from `stored`, this object's JSON as `put` wrote it (the
        object unchanged since), without serializing it again: `stored` itself where the
        version hides no field, or `stored` less its end where the hidden fields are the
        model's last ones and hold their defaults (a customer's `deleted`). None otherwise."""
        cls = type(self)
        if cls.omit_if_none or cls.rendered_apart or not self.renders_plain():
            return None
        if not _hidden_at(cls, version):
            return stored.encode()
        tail = _tail_at(cls, version)
        if tail is None:
            return None
        names, defaults, end = tail
        for name, default in zip(names, defaults, strict=True):
            value = getattr(self, name)
            if value is not default and (type(value) is not type(default) or value != default):
                return None
        if not stored.endswith(end):
            return None  # not the JSON `put` wrote of this object
        return (stored[: -len(end)] + "}").encode()


# (model, version) -> the fields a reader at that version is not shown. Versions are the
# readers' (checked against Stripe's format, not a list): at most `_HIDDEN_KEPT`, emptied when
# full.
_hidden: dict[tuple[type[StripeObject], str], set[str]] = {}
_HIDDEN_KEPT = 512


def _hidden_at(cls: type[StripeObject], version: str) -> set[str]:
    """The fields of `cls` a reader at `version` is not shown (never change the set)."""
    found = _hidden.get((cls, version))
    if found is not None:
        return found
    found = set(cls.internal)
    found |= {f for f in cls.preview if not shows_since(version, cls.ga_since.get(f))}
    if len(_hidden) >= _HIDDEN_KEPT:
        _hidden.clear()
    _hidden[(cls, version)] = found
    return found


# (model, version) -> the names of the model's last fields when they are the ones a reader at
# that version is not shown and each has a plain default (None, a bool, an int, a string), those
# defaults, and how a stored object that holds them ends (`,"deleted":false}`); None when the
# hidden fields are not such a tail. Kept as `_hidden` is.
_Tail = tuple[tuple[str, ...], tuple[Any, ...], str]
_tails: dict[tuple[type[StripeObject], str], _Tail | None] = {}


def _tail_at(cls: type[StripeObject], version: str) -> _Tail | None:
    key = (cls, version)
    if key in _tails:
        return _tails[key]
    hidden = _hidden_at(cls, version)
    fields = cls.model_fields
    names = tuple(fields)[-len(hidden) :]
    found: _Tail | None = None
    decorators = cls.__pydantic_decorators__
    serializers = decorators.field_serializers.values()
    if (
        set(names) == hidden
        and not cls.model_computed_fields
        and not decorators.model_serializers
        and not any(set(s.info.fields) & hidden for s in serializers)
        and all(
            fields[n].default_factory is None
            and fields[n].alias is None
            and fields[n].serialization_alias is None
            and not fields[n].exclude
            and (fields[n].default is None or type(fields[n].default) in (bool, int, str))
            for n in names
        )
    ):
        defaults = tuple(fields[n].default for n in names)
        found = (names, defaults, "," + to_json({n: fields[n].default for n in names}).decode()[1:])
    if len(_tails) >= _HIDDEN_KEPT:
        _tails.clear()
    _tails[key] = found
    return found
