"""The `fake-stripe` command. Its subcommands are declared in one list; other distributions add
theirs through the `fake_stripe.commands` entry point group (as pytest finds its plugins), so
this package imports nothing of them: the scenario runner contributes `fake-stripe scenarios`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from . import coverage, dashboard, listen, serve, spec, trigger
from .common import Parser

AddParser = Callable[[argparse._SubParsersAction], None]  # type: ignore[type-arg]

SUBCOMMANDS: list[AddParser] = [
    serve.add_parser,
    listen.add_parser,
    trigger.add_parser,
    spec.add_parser,
    coverage.add_parser,
    dashboard.add_parser,
]
ENTRY_POINTS = "fake_stripe.commands"


# The subcommands above, by name: a command line that names one needs no installed package's
# contributions, whose lookup (importlib.metadata, reading every package's metadata) would
# otherwise delay `serve`'s start by about 25 ms.
BUILT_IN = ("serve", "listen", "trigger", "spec", "coverage", "dashboard")


def build_parser(contributed: bool = True) -> argparse.ArgumentParser:
    parser = Parser(
        prog="fake-stripe",
        description="A stateful, offline fake of Stripe's Financial Connections relink surface.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    if contributed:
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINTS):
            add_contributed: AddParser = ep.load()
            add_contributed(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    args = build_parser(contributed=not words or words[0] not in BUILT_IN).parse_args(words)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
