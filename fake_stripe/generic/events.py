"""The events a generic change records, through the same event log (and webhook delivery) as
every other: `<object>.created`, `.updated`, `.deleted`, and an action's own (`invoice.finalized`)
beside `.updated`, each only when Stripe's spec names that event type.

GUESS (docs/guesses.md): the spec has the event types but not which change causes which, so
the name is looked up from the object and where it was changed: the object itself
(`product.created`), with `_` for `.` (`issuing_card.created`), under the collection it was
made in (`customer.source.created`), or under an object it points to (`customer.subscription`,
`charge.dispute`); an action's event is its verb in the past tense (`invoice.voided`), or the
status it leads to (`invoice.paid`).
"""

from __future__ import annotations

from typing import Any

from ..core.context import Ctx
from ..core.objects import StripeObject
from ..core.raw import RawObject
from ..spec.coverage import param_of, segments
from .catalog import ACTION, SINGLETON, Catalog, Operation

_PLAIN = ("created", "updated", "deleted")


def past(verb: str) -> str:
    """`finalize` -> `finalized`, `void` -> `voided`, `pay` -> `paid`, `mark_uncollectible` ->
    `marked_uncollectible`, `cancel` -> `canceled` (Stripe spells it so)."""
    first, sep, rest = verb.partition("_")
    if first == "pay":
        done = "paid"
    elif first == "cancel":
        done = "canceled"
    elif first.endswith("e"):
        done = first + "d"
    elif first.endswith("it"):
        done = first + "ted"
    else:
        done = first + "ed"
    return done + sep + rest


def _bases(catalog: Catalog, op: Operation, obj: str, data: dict[str, Any]) -> list[str]:
    bases = [obj, obj.replace(".", "_")]
    parts = segments(op.template)
    for index, segment in enumerate(parts[:-1]):
        name = param_of(segment)
        parent = op.parents[-1] if op.parents else None
        if parent is not None and name == parent.param and parent.objects:
            collection = parts[index + 1].removesuffix("s")
            owner = sorted(parent.objects)[0]
            bases += [f"{owner}.{collection}", f"{owner}.{obj}"]
    schema = catalog.by_object.get(obj)
    properties = catalog.schemas[schema].get("properties", {}) if schema else {}
    for field in properties:
        if isinstance(data.get(field), str):
            for owner in sorted(catalog.expansion_targets(obj, field) or ()):
                bases.append(f"{owner}.{obj}")
    return bases


def types_for(
    catalog: Catalog, op: Operation, data: dict[str, Any], what: str, changed: bool
) -> list[str]:
    """The event types to record: `what` is `created`, `updated`, `deleted` or a verb."""
    obj = data.get("object")
    if not isinstance(obj, str):
        return []
    known = catalog.event_types
    bases = _bases(catalog, op, obj, data)
    wanted = [what] if what in _PLAIN else [past(what)]
    status = data.get("status")
    if op.kind in (ACTION, SINGLETON) and isinstance(status, str) and op.status == status:
        wanted.append(status)
    found: list[str] = []
    if what not in _PLAIN and changed:
        # The change itself first, then what the action is called (`invoice.finalized`).
        match = next((f"{b}.updated" for b in bases if f"{b}.updated" in known), None)
        if match is not None:
            found.append(match)
    for suffix in wanted:
        match = next((f"{b}.{suffix}" for b in bases if f"{b}.{suffix}" in known), None)
        if match is not None:
            found.append(match)
            break
    return found


def emit(
    catalog: Catalog,
    ctx: Ctx,
    op: Operation,
    obj: StripeObject | RawObject,
    what: str,
    previous: dict[str, Any] | None = None,
) -> None:
    data = obj.data if isinstance(obj, RawObject) else obj.to_api(ctx.version)
    changed = bool(previous)
    for event_type in types_for(catalog, op, data, what, changed):
        # Stripe's spec gives `previous_attributes` to `*.updated` events only
        # (`invoice.finalized` carries none, though the same change has `invoice.updated`).
        keep = event_type.endswith(".updated")
        ctx.emit(event_type, obj, previous_attributes=previous if keep else None)
