"""The `fake-stripe` command. Its subcommands are declared in one list; other distributions add
theirs through the `fake_stripe.commands` entry point group (as pytest finds its plugins), so
this package imports nothing of them: the scenario runner contributes `fake-stripe scenarios`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from .common import Parser

AddParser = Callable[[argparse._SubParsersAction], None]  # type: ignore[type-arg]

# The built-in subcommands, each a module of this package with an `add_parser`. A command line
# that names one loads only that one: the others import what `serve` has no use for (the spec
# reader, the trigger catalog), and installed packages' contributions are looked up
# (importlib.metadata reads every package's metadata) only when no built-in one is named.
BUILT_IN = ("serve", "listen", "trigger", "spec", "coverage", "dashboard")
ENTRY_POINTS = "fake_stripe.commands"


def build_parser(contributed: bool = True, only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every built-in command (or of `only`), with the contributed ones."""
    parser = Parser(
        prog="fake-stripe",
        description="A stateful, offline fake of Stripe's Financial Connections relink surface.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in BUILT_IN if only is None else (only,):
        add: AddParser = importlib.import_module(f"{__package__}.{name}").add_parser
        add(sub)
    if contributed:
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINTS):
            add_contributed: AddParser = ep.load()
            add_contributed(sub)
    return parser


def _without_httpx_cli() -> None:
    """Keep `httpx` from importing its own command-line client in this command's process.

    httpx imports `httpx._main` (the `httpx` console command, built on click, rich and pygments)
    whenever those are installed, which a test environment's tools often bring: about 40 ms of
    every run that imports httpx (the `stripe` SDK does), for a command no `fake-stripe` command
    runs. Without it, httpx's `main` is its stub that names the missing dependencies. Only the
    command's own process is concerned (`main` reading `sys.argv`), not a program that calls
    `main` with its arguments or imports `fake_stripe`."""
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        _without_httpx_cli()
    words = sys.argv[1:] if argv is None else argv
    named = words[0] if words and words[0] in BUILT_IN else None
    args = build_parser(contributed=named is None, only=named).parse_args(words)
    # Whether this is the command's own process (`main` reading `sys.argv`), which a command
    # may set up for itself alone, as above; not a program calling `main` with its arguments.
    args.own_process = argv is None
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
