"""The TOML config file and the command-line flags that override it.

Only the top-level keys are validated here; each feature validates its own section
(``[capture]``, ``[[snmp.targets]]``, ``[collector]``...) from :attr:`Config.raw` with
the helpers below, so that every bad value is reported as one line naming its key.
"""

from __future__ import annotations

import argparse
import math
import os
import pwd
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from netop.errors import ConfigError, NetopError

T = TypeVar("T")

DEFAULT_THEME = "netop-dark"
#: Flow-table bounds: NetFlow's usual timeouts (Cisco: inactive 15 s, active 30 min).
DEFAULT_IDLE_TIMEOUT = 15.0
DEFAULT_ACTIVE_TIMEOUT = 1800.0
DEFAULT_MAX_FLOWS = 200_000
#: The socket table of process attribution holds as many sockets as the flow table flows.
DEFAULT_PROC_ENTRIES = DEFAULT_MAX_FLOWS
#: Kernel capture ring per interface, MiB (``capture.ring_mb``).
DEFAULT_RING_MB = 16


def config_home() -> Path:
    """``$XDG_CONFIG_HOME`` (``~/.config`` when unset).

    Root running for a sudo user (``SUDO_USER`` set; ``sudo -E`` keeps the user's
    ``XDG_CONFIG_HOME`` and maybe ``HOME``) uses root's own folder: a file the user can
    edit must not steer what root runs (``capture.helper``).
    """
    if os.geteuid() == 0 and os.environ.get("SUDO_USER"):
        return Path(pwd.getpwuid(0).pw_dir) / ".config"
    return Path(os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config"))


def default_config_path() -> Path:
    """``$XDG_CONFIG_HOME/netop/config.toml`` (see :func:`config_home`)."""
    return config_home() / "netop" / "config.toml"


class UntrustedFile(NetopError):
    """A file netop would act on that another user could have written."""


def untrusted(info: os.stat_result) -> str | None:
    """Why a file with this ``stat`` must not be trusted, or None.

    Trusted: owned by the effective user or root, and writable by neither its group
    nor others (as ssh does for its config and keys).
    """
    if info.st_uid not in (os.geteuid(), 0):
        try:
            name = f" ({pwd.getpwuid(info.st_uid).pw_name})"
        except KeyError:
            name = ""
        return f"it is owned by uid {info.st_uid}{name}, not by you or root"
    mode = stat.S_IMODE(info.st_mode)
    if mode & stat.S_IWOTH:
        return f"it is writable by other users (mode {mode:04o}); run: chmod go-w FILE"
    if mode & stat.S_IWGRP:
        return f"it is writable by its group (mode {mode:04o}); run: chmod g-w FILE"
    return None


def read_trusted(path: Path, limit: int | None = None) -> bytes:
    """The bytes of ``path`` if :func:`untrusted` finds nothing wrong with it (checked
    on the open file, so it cannot be swapped in between); at most ``limit`` bytes.

    Raises :class:`UntrustedFile`, or OSError for the caller to word.
    """
    with path.open("rb") as handle:
        problem = untrusted(os.fstat(handle.fileno()))
        if problem:
            raise UntrustedFile(f"refusing to read {path}: {problem.replace('FILE', str(path))}")
        data = handle.read(-1 if limit is None else limit + 1)
    if limit is not None and len(data) > limit:
        raise UntrustedFile(f"{path} is larger than {limit} bytes")
    return data


@dataclass(frozen=True, slots=True)
class Config:
    """Settings after the file and the flags are merged."""

    interval: float = 1.0
    """Seconds per engine tick (and per screen refresh)."""
    theme: str = DEFAULT_THEME
    """Name of the theme to start with."""
    hide_idle: bool = False
    """Start with idle interfaces hidden."""
    history_seconds: int = 120
    """How far back the interface sparklines reach."""
    path: str | None = None
    """The config file that was read, if any."""
    raw: Mapping[str, Any] = field(default_factory=dict)
    """The whole parsed file, for sections validated by their own features."""


def load_config(path: str | None, overrides: argparse.Namespace | None = None) -> Config:
    """Read the config file (when present) and apply command-line overrides."""
    raw: dict[str, Any] = {}
    source: Path | None = Path(path).expanduser() if path else default_config_path()
    if source is not None and source.exists():
        raw = _read_toml(source)
    elif path:
        raise ConfigError("--config", f"no such file: {path}")
    else:
        source = None
    interval = get_float(raw, "interval", 1.0, low=0.05, high=3600.0)
    theme = get_str(raw, "theme", DEFAULT_THEME)
    hide_idle = get_bool(raw, "hide_idle", False)
    history = get_int(raw, "history_seconds", 120, low=10, high=3600)
    if overrides is not None:
        flag_interval = getattr(overrides, "interval", None)
        if flag_interval is not None:
            interval = _check_range("--interval", float(flag_interval), 0.05, 3600.0)
        flag_theme = getattr(overrides, "theme", None)
        if flag_theme:
            theme = flag_theme
    return Config(
        interval=interval,
        theme=theme,
        hide_idle=hide_idle,
        history_seconds=history,
        path=str(source) if source else None,
        raw=raw,
    )


#: A config file is a few kilobytes; this bounds the parser's time and memory.
MAX_CONFIG_BYTES = 1 << 20


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # only with a config file (its import is ~10 ms)

    try:
        return tomllib.loads(read_trusted(path, MAX_CONFIG_BYTES).decode("utf-8"))
    except UntrustedFile as exc:
        raise ConfigError(str(path), str(exc)) from None
    except OSError as exc:
        raise ConfigError(str(path), exc.strerror or str(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "not valid UTF-8 text") from None
    except RecursionError:
        raise ConfigError(str(path), "not valid TOML: arrays or tables nested too deeply") from None
    except ValueError:  # Python's limit on the digits of an integer
        raise ConfigError(str(path), "not valid TOML: a number is too large") from None


def _lookup(raw: Mapping[str, Any], key: str) -> Any:
    node: Any = raw
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def shown(value: Any) -> str:
    """A config value for an error line: short (a 4000-digit integer is not shown)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**18:
        return f"a {value.bit_length()}-bit number"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_range(key: str, value: T, low: Any, high: Any) -> T:
    if isinstance(value, float) and math.isnan(value):
        raise ConfigError(key, "must be a number, got nan")
    if low is not None and value < low:
        raise ConfigError(key, f"must be at least {low}, got {shown(value)}")
    if high is not None and value > high:
        raise ConfigError(key, f"must be at most {high}, got {shown(value)}")
    return value


def get_float(
    raw: Mapping[str, Any], key: str, default: float, low: float | None = None,
    high: float | None = None,
) -> float:
    """A number at dotted ``key`` (ints allowed), or ``default`` when absent."""
    value = _lookup(raw, key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(key, f"must be a number, got {shown(value)}")
    return _check_range(key, float(value), low, high)


def get_int(
    raw: Mapping[str, Any], key: str, default: int, low: int | None = None,
    high: int | None = None,
) -> int:
    """An integer at dotted ``key``, or ``default`` when absent."""
    value = _lookup(raw, key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"must be an integer, got {shown(value)}")
    return _check_range(key, value, low, high)


def get_str(raw: Mapping[str, Any], key: str, default: str) -> str:
    """A string at dotted ``key``, or ``default`` when absent."""
    value = _lookup(raw, key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ConfigError(key, f"must be a string, got {shown(value)}")
    return value


def get_bool(raw: Mapping[str, Any], key: str, default: bool) -> bool:
    """A boolean at dotted ``key``, or ``default`` when absent."""
    value = _lookup(raw, key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false, got {shown(value)}")
    return value


def get_section(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """A table at dotted ``key`` (empty when absent)."""
    value = _lookup(raw, key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(key, "must be a table")
    return value
