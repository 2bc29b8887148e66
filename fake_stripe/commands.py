"""Registers the subcommands that live outside `cli.py` (listen, trigger, scenarios, coverage)."""

from scenarios import cli as scenarios_cli

from . import cli, coverage, listen, trigger

cli.SUBCOMMANDS["listen"] = listen.add_parser
cli.SUBCOMMANDS["trigger"] = trigger.add_parser
cli.SUBCOMMANDS["scenarios"] = scenarios_cli.register
cli.SUBCOMMANDS["coverage"] = coverage.register
cli.SUBCOMMANDS["coverage"] = coverage.register
