"""The `fake-stripe` command and its subcommands."""
