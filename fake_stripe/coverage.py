"""`fake-stripe coverage`: which operations of Stripe's recorded spec the fake implements.

The table is computed, never maintained by hand: the recorded spec's operations against the
routes table. The README and `docs/coverage.md` carry its output, and a test keeps them current.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .spec import SPEC_ENV, Spec, load_spec, spec_path

START_MARKER = "<!-- coverage:start -->"
END_MARKER = "<!-- coverage:end -->"

_PARAM = re.compile(r"\{[^}]*\}")


def _shape(path: str) -> str:
    """`/v1/setup_intents/{intent}` and `/v1/setup_intents/{id}` are the same URL."""
    return _PARAM.sub("{}", path)


def implemented_operations() -> set[tuple[str, str]]:
    """Every `(METHOD, path shape)` the fake serves under `/v1`, from the routes table."""
    from .app import routes_table

    return {(ep.method, _shape(ep.path)) for ep in routes_table()}


def is_implemented(method: str, path: str) -> bool:
    return (method.upper(), _shape(path)) in implemented_operations()


def coverage_table(spec: Spec) -> str:
    """The Markdown text: one row per recorded operation, then the fake's other endpoints."""
    from .app import routes_table

    implemented = implemented_operations()
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
            for ep in routes_table()
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


def readme_section(text: str) -> str | None:
    """The text between the coverage markers of a README, or None without both markers."""
    start = text.find(START_MARKER)
    end = text.find(END_MARKER)
    if start < 0 or end < start:
        return None
    return text[start + len(START_MARKER) : end].strip("\n") + "\n"


def run(args: argparse.Namespace) -> int:
    path = Path(args.spec) if args.spec else None
    spec = load_spec(path)
    if spec is None:
        where = path if path is not None else spec_path()
        print(
            f"fake-stripe coverage: Stripe's recorded spec not found at {where}; "
            f"set {SPEC_ENV} or pass --spec",
            file=sys.stderr,
        )
        return 1
    table = coverage_table(spec)
    if args.write:
        Path(args.write).write_text(table, encoding="utf-8")
    else:
        sys.stdout.write(table)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "coverage",
        help="print which operations of Stripe's recorded spec the fake implements (Markdown)",
    )
    parser.add_argument("--spec", default=None, help=f"the recorded spec (default: ${SPEC_ENV})")
    parser.add_argument("--write", default=None, metavar="FILE", help="write the table to FILE")
    parser.set_defaults(func=run)
