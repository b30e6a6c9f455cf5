"""Where SNMP secrets come from, and how they are kept out of sight.

A community or v3 key may be written in the config file, named by an environment
variable or read from a file. :class:`Secret` never shows its value in ``repr``,
``str``, logs or tracebacks; a config or key file that other users can read earns a
warning (the caller turns it into an event or a stderr line). A key file another user
owns or can write is refused, as is one over :data:`MAX_SECRET_BYTES`.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from netop.config import UntrustedFile, read_trusted
from netop.errors import ConfigError

#: A community or passphrase is short; this keeps ``/dev/zero`` or a log file out.
MAX_SECRET_BYTES = 4096


class Secret:
    """A string that never appears in ``repr``, ``str``, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself: only for handing to the SNMP engine."""
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def read_secret(
    raw: Mapping[str, Any],
    base: str,
    prefix: str,
    env: Mapping[str, str],
    warnings: list[str],
) -> tuple[Secret | None, bool]:
    """A secret from ``base``, ``base_env`` or ``base_file``; second item: was inline."""
    given = [k for k in (base, f"{base}_env", f"{base}_file") if k in raw]
    if len(given) > 1:
        raise ConfigError(f"{prefix}.{given[1]}", f"give only one of {', '.join(given)}")
    if not given:
        return None, False
    key = given[0]
    value = raw[key]
    if not isinstance(value, str) or (not value and key != base):
        raise ConfigError(f"{prefix}.{key}", "must be a non-empty string")
    if key == base:
        return Secret(value), True
    if key.endswith("_env"):
        if value not in env:
            raise ConfigError(f"{prefix}.{key}", f"environment variable {value} is not set")
        return Secret(env[value]), False
    return Secret(read_secret_file(Path(value).expanduser(), f"{prefix}.{key}", warnings)), False


def read_secret_file(path: Path, key: str, warnings: list[str]) -> str:
    """The first line of a key file (a warning if others can read it)."""
    try:
        text = read_trusted(path, MAX_SECRET_BYTES).decode("utf-8")
    except UntrustedFile as exc:
        raise ConfigError(key, str(exc)) from None
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(key, f"{path} is not UTF-8 text") from None
    problem = readable_by_others(path)
    if problem:
        warnings.append(f"secret file {path} {problem}; run: chmod 600 {path}")
    value = text.strip("\r\n")
    if not value:
        raise ConfigError(key, f"{path} is empty")
    return value


def readable_by_others(path: Path) -> str | None:
    """Why ``path`` is readable by other users, or None when it is not."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        return f"is readable by other users (mode {stat.S_IMODE(mode):04o})"
    return None


def env_secret(env: Mapping[str, str], name: str, warnings: list[str]) -> Secret | None:
    """A secret from ``$NAME`` or from the file named by ``$NAME_FILE``, if either is set."""
    if env.get(name):
        return Secret(env[name])
    file_name = env.get(f"{name}_FILE")
    if file_name:
        return Secret(read_secret_file(Path(file_name).expanduser(), f"${name}_FILE", warnings))
    return None
