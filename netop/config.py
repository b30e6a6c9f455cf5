"""The TOML config file and the command-line flags that override it.

Only the top-level keys are validated here; each feature validates its own section
(``[capture]``, ``[[snmp.targets]]``, ``[collector]``...) from :attr:`Config.raw` with
the helpers below, so that every bad value is reported as one line naming its key.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from netop.errors import ConfigError

T = TypeVar("T")

DEFAULT_THEME = "netop-dark"


def default_config_path() -> Path:
    """``$XDG_CONFIG_HOME/netop/config.toml`` (``~/.config`` when unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "netop" / "config.toml"


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


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(str(path), exc.strerror or str(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "not valid UTF-8 text") from None


def _lookup(raw: Mapping[str, Any], key: str) -> Any:
    node: Any = raw
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _check_range(key: str, value: T, low: Any, high: Any) -> T:
    if low is not None and value < low:
        raise ConfigError(key, f"must be at least {low}, got {value}")
    if high is not None and value > high:
        raise ConfigError(key, f"must be at most {high}, got {value}")
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
        raise ConfigError(key, f"must be a number, got {value!r}")
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
        raise ConfigError(key, f"must be an integer, got {value!r}")
    return _check_range(key, value, low, high)


def get_str(raw: Mapping[str, Any], key: str, default: str) -> str:
    """A string at dotted ``key``, or ``default`` when absent."""
    value = _lookup(raw, key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ConfigError(key, f"must be a string, got {value!r}")
    return value


def get_bool(raw: Mapping[str, Any], key: str, default: bool) -> bool:
    """A boolean at dotted ``key``, or ``default`` when absent."""
    value = _lookup(raw, key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false, got {value!r}")
    return value


def get_section(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """A table at dotted ``key`` (empty when absent)."""
    value = _lookup(raw, key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(key, "must be a table")
    return value
