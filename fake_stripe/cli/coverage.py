"""`fake-stripe coverage`: print (or write) the coverage table of the recorded spec (also part of
`fake-stripe spec show`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..spec.load import SPEC_ENV, Spec, load_spec, spec_path
from ..spec.rest import load_whole
from .common import USAGE


def table_of(spec: Spec, whole: bool) -> str:
    """The coverage table of `spec`; with `whole`, of the whole API the package ships (the
    recorded spec and its rest)."""
    from ..app import routes_table  # the server, imported only by the commands that read it
    from ..generic.coverage import answered
    from ..spec.coverage import coverage_table

    source: Spec = (load_whole() or spec) if whole else spec
    table = routes_table()
    return coverage_table(source, table, answered(table, source.operations()))


def run(args: argparse.Namespace) -> int:
    path = Path(args.spec) if args.spec else None
    spec = load_spec(path)
    if spec is None:
        where = path if path is not None else spec_path()
        print(
            f"fake-stripe coverage: no OpenAPI file at {where}; fix {SPEC_ENV} or --spec "
            "(unset, the packaged spec is used)",
            file=sys.stderr,
        )
        return USAGE
    text = table_of(spec, whole=path is None)
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "coverage",
        help="print what answers each operation of Stripe's recorded spec (Markdown): "
        "modelled by hand, generic-stateful or generic-action",
    )
    parser.add_argument(
        "--spec",
        default=None,
        help=f"an OpenAPI file instead of the packaged spec (default: ${SPEC_ENV}, if set)",
    )
    parser.add_argument("--write", default=None, metavar="FILE", help="write the table to FILE")
    parser.set_defaults(func=run)
