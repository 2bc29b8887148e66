"""Which operations of Stripe's recorded spec the fake implements (`fake-stripe coverage`).

The table is computed, never maintained by hand: the recorded spec's operations against the
routes table. `docs/coverage.md` is its output, and a test keeps it current.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..core.context import Endpoint
from .load import Spec

_PARAM = re.compile(r"\{[^}]*\}")


def _shape(path: str) -> str:
    """`/v1/setup_intents/{intent}` and `/v1/setup_intents/{id}` are the same URL."""
    return _PARAM.sub("{}", path)


def implemented_operations(table: Iterable[Endpoint]) -> set[tuple[str, str]]:
    """Every `(METHOD, path shape)` of a routes table."""
    return {(ep.method, _shape(ep.path)) for ep in table}


def is_implemented(table: Iterable[Endpoint], method: str, path: str) -> bool:
    return (method.upper(), _shape(path)) in implemented_operations(table)


def coverage_table(spec: Spec, table: list[Endpoint]) -> str:
    """The Markdown text: one row per recorded operation, then the fake's other endpoints."""
    implemented = implemented_operations(table)
    recorded = spec.operations()
    rows = [
        f"| `{method} {path}` | {'yes' if (method, _shape(path)) in implemented else 'no'} |"
        for method, path in sorted(recorded, key=lambda op: (op[1], op[0]))
    ]
    done = sum(1 for method, path in recorded if (method, _shape(path)) in implemented)
    shapes = {(method, _shape(path)) for method, path in recorded}
    extra = sorted(
        {
            (ep.method, ep.path)
            for ep in table
            if (ep.method, _shape(ep.path)) not in shapes and "/test_helpers/" not in ep.path
        },
        key=lambda op: (op[1], op[0]),
    )
    lines = [
        f"The fake implements {done} of the {len(recorded)} operations in Stripe's recorded "
        "spec. An operation it does not implement answers as Stripe answers an unknown URL "
        '(404, `invalid_request_error`, "Unrecognized request URL").',
        "",
        "| Operation | Implemented |",
        "|---|---|",
        *rows,
    ]
    if extra:
        lines += [
            "",
            "Also implemented, outside the recorded spec subset: "
            + ", ".join(f"`{method} {path}`" for method, path in extra)
            + ".",
        ]
    return "\n".join(lines) + "\n"
