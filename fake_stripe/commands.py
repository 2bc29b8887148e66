"""Registers the subcommands that live outside `cli.py` (scenarios, listen, trigger, coverage)."""
