"""Errors that end a command with one clear line instead of a traceback."""

from __future__ import annotations


class NetopError(Exception):
    """A user-facing error: the CLI prints ``netop: <message>`` and exits non-zero."""

    exit_code = 2


class ConfigError(NetopError):
    """A bad value in the config file or on the command line, naming the key (a
    command-line flag such as ``--sort`` is named as it is, not as a config key)."""

    def __init__(self, key: str, problem: str) -> None:
        where = key if key.startswith("-") else f"config: {key}"
        super().__init__(f"{where}: {problem}")
        self.key = key
        self.problem = problem
