"""What answers each operation of Stripe's recorded spec (`fake-stripe coverage`).

The table is computed, never maintained by hand: the recorded spec's operations against the
routes table, and, for the others, how the generic resources answer them (given by the caller).
`docs/coverage.md` is its output, and a test keeps it current.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from ..core.context import Endpoint
from .load import Spec

_PARAM = re.compile(r"\{[^}]*\}")
_ONE_PARAM = re.compile(r"^\{(\w+)\}$")


def shape(path: str) -> str:
    """`/v1/setup_intents/{intent}` and `/v1/setup_intents/{id}` are the same URL."""
    return _PARAM.sub("{}", path)


def segments(template: str) -> list[str]:
    return template.strip("/").split("/")


def param_of(segment: str) -> str | None:
    """`intent` for the segment `{intent}`; None for a literal one."""
    found = _ONE_PARAM.match(segment)
    return found.group(1) if found else None


def implemented_operations(table: Iterable[Endpoint]) -> set[tuple[str, str]]:
    """Every `(METHOD, path shape)` of a routes table."""
    return {(ep.method, shape(ep.path)) for ep in table}


def is_implemented(table: Iterable[Endpoint], method: str, path: str) -> bool:
    return (method.upper(), shape(path)) in implemented_operations(table)


MODELLED = "modelled"


def coverage_table(
    spec: Spec, table: list[Endpoint], answered: Mapping[tuple[str, str], str] | None = None
) -> str:
    """The Markdown text: one row per recorded operation, saying what answers it (`modelled`,
    or, from `answered`, how it is answered generically; `no` for neither), then the fake's
    other endpoints."""
    implemented = implemented_operations(table)
    answered = answered or {}
    recorded = sorted(spec.operations(), key=lambda op: (op[1], op[0]))

    def how(method: str, path: str) -> str:
        if (method, shape(path)) in implemented:
            return MODELLED
        return answered.get((method, path), "no")

    rows = [f"| `{method} {path}` | {how(method, path)} |" for method, path in recorded]
    shapes = {(method, shape(path)) for method, path in recorded}
    extra = sorted(
        {
            (ep.method, ep.path)
            for ep in table
            if (ep.method, shape(ep.path)) not in shapes and "/test_helpers/" not in ep.path
        },
        key=lambda op: (op[1], op[0]),
    )
    lines = [
        summary(spec, table, answered),
        "",
        "| Operation | Answered by |",
        "|---|---|",
        *rows,
    ]
    if extra:
        lines += [
            "",
            "Also implemented, outside the recorded spec: "
            + ", ".join(f"`{method} {path}`" for method, path in extra)
            + ".",
        ]
    return "\n".join(lines) + "\n"


def summary(
    spec: Spec, table: list[Endpoint], answered: Mapping[tuple[str, str], str] | None = None
) -> str:
    """One paragraph: how many of the recorded operations each way answers."""
    implemented = implemented_operations(table)
    answered = answered or {}
    recorded = spec.operations()
    by_hand = sum(1 for method, path in recorded if (method, shape(path)) in implemented)
    kinds = Counter(
        answered[(method, path)].split(":")[0]
        for method, path in recorded
        if (method, shape(path)) not in implemented and (method, path) in answered
    )
    missing = len(recorded) - by_hand - sum(kinds.values())
    text = (
        f"Of the {len(recorded)} operations in Stripe's recorded spec, {by_hand} are modelled "
        f"by hand, {kinds['generic-stateful']} answered by generic stateful resources and "
        f"{kinds['generic-action']} by generic actions (docs/generic.md)."
    )
    if missing:
        text += (
            f" The other {missing} answer as Stripe answers an unknown URL (404, "
            '`invalid_request_error`, "Unrecognized request URL").'
        )
    return text
