"""How the fake answers each operation it does not model by hand, for the coverage table:
`generic-stateful` (reads or changes what the tenant stores) or `generic-action` (answers the
object, and says what it changes: a status, the fields it names, or nothing)."""

from __future__ import annotations

from collections.abc import Iterable

from ..core.context import Endpoint
from ..spec.coverage import shape
from ..spec.rest import WholeSpec, load_whole
from .catalog import ACTION, BINARY, CREATE, Catalog, Operation
from .handlers import modelled

STATEFUL = "generic-stateful"
ACTED = "generic-action"


def label(catalog: Catalog, op: Operation) -> str:
    resource = op.resource
    by_hand = resource is not None and modelled(resource.store) is not None
    if op.kind == BINARY:
        return f"{ACTED}: a PDF naming the object"
    if op.kind == CREATE and resource is not None and (by_hand or not resource.has_id):
        why = "modelled by hand" if by_hand else "it has no id"
        return f"{ACTED}: answers a new `{sorted(resource.objects)[0]}`, stores nothing ({why})"
    if op.kind != ACTION:
        return STATEFUL
    if by_hand:
        return f"{ACTED}: changes nothing (the object is modelled by hand)"
    changes = []
    if op.status is not None:
        changes.append(f"status → `{op.status}`")
    if op.fields:
        changes.append("sets " + ", ".join(f"`{name}`" for name in op.fields))
    return f"{ACTED}: " + ("; ".join(changes) if changes else "changes nothing")


def answered(
    table: Iterable[Endpoint], operations: Iterable[tuple[str, str]], whole: WholeSpec | None = None
) -> dict[tuple[str, str], str]:
    """For each of `operations` the routes table does not implement, how it is answered (an
    operation the whole API lacks is left out)."""
    whole = whole if whole is not None else load_whole()
    if whole is None:
        return {}
    catalog = Catalog(whole)
    known = {(method, shape(path)): path for method, path in whole.operations()}
    by_hand = {(ep.method, shape(ep.path)) for ep in table}
    found: dict[tuple[str, str], str] = {}
    for method, path in operations:
        key = (method, shape(path))
        if key in by_hand or key not in known:
            continue
        found[(method, path)] = label(catalog, catalog.operation(method, known[key]))
    return found
