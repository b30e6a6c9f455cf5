"""Subcommands of the netop CLI, one module each."""
