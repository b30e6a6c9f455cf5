"""Themes as data: TOML files in ``themes/`` (and the user's config folder) → Textual themes."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

from netop.config import MAX_CONFIG_BYTES, UntrustedFile, config_home, read_trusted
from netop.errors import NetopError

#: Themes shipped with netop.
BUILTIN_DIR = Path(__file__).resolve().parent.parent / "themes"

#: Theme variables netop's stylesheet uses beyond Textual's own.
NETOP_VARIABLES = ("netop-rx", "netop-tx", "netop-dim", "netop-cursor")
_COLOUR_KEYS = ("primary", "secondary", "accent", "foreground", "background", "surface",
                "panel", "success", "warning", "error", "boost")


def user_theme_dir() -> Path:
    """``$XDG_CONFIG_HOME/netop/themes``: users drop their own theme files here."""
    return config_home() / "netop" / "themes"


@dataclass(frozen=True, slots=True)
class ThemeSet:
    """The themes found at start-up, in a stable order for the ``t`` key."""

    themes: tuple[Theme, ...]
    warnings: tuple[str, ...] = ()
    """Theme files that were skipped, and why (one line each)."""

    @property
    def names(self) -> tuple[str, ...]:
        """Theme names in cycling order."""
        return tuple(t.name for t in self.themes)

    def check(self, name: str) -> str:
        """``name`` if it is a known theme, else a clear error listing the known ones."""
        if name not in self.names:
            raise NetopError(f"unknown theme {name!r}; available: {', '.join(self.names)}")
        return name

    def after(self, name: str) -> str:
        """The theme that follows ``name`` in the cycle."""
        names = self.names
        if name not in names:
            return names[0]
        return names[(names.index(name) + 1) % len(names)]


def load_theme_file(path: Path) -> Theme:
    """One theme file → a Textual Theme; errors name the file and the key."""
    try:
        data = tomllib.loads(read_trusted(path, MAX_CONFIG_BYTES).decode("utf-8"))
    except UntrustedFile as exc:
        raise NetopError(f"theme {exc}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError,
            ValueError) as exc:  # fmt: skip
        raise NetopError(f"theme {path}: {exc}") from None
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name:
        raise NetopError(f"theme {path}: name must be a non-empty string")
    colours: dict[str, str] = {}
    for key in _COLOUR_KEYS:
        if key in data:
            colours[key] = _colour(path, key, data[key])
    if "primary" not in colours:
        raise NetopError(f"theme {path}: primary colour is required")
    variables_raw = data.get("variables", {})
    if not isinstance(variables_raw, dict):
        raise NetopError(f"theme {path}: variables must be a table")
    variables = {k: _colour(path, f"variables.{k}", v) for k, v in variables_raw.items()}
    background = Color.parse(colours.get("background", "#000000" if data.get("dark", True)
                                         else "#FFFFFF"))
    # The cursor row: the primary colour at 30% over the background unless the theme says.
    variables.setdefault("netop-cursor",
                         (background + Color.parse(colours["primary"]).with_alpha(0.3)).hex)
    for key in NETOP_VARIABLES:
        variables.setdefault(key, colours.get("accent", colours["primary"]))
    return Theme(
        name=name,
        dark=bool(data.get("dark", True)),
        variables=variables,
        primary=colours["primary"],
        secondary=colours.get("secondary"),
        accent=colours.get("accent"),
        foreground=colours.get("foreground"),
        background=colours.get("background"),
        surface=colours.get("surface"),
        panel=colours.get("panel"),
        success=colours.get("success"),
        warning=colours.get("warning"),
        error=colours.get("error"),
        boost=colours.get("boost"),
    )


def _colour(path: Path, key: str, value: object) -> str:
    if not isinstance(value, str):
        raise NetopError(f"theme {path}: {key} must be a colour string")
    try:
        Color.parse(value)
    except ColorParseError:
        raise NetopError(f"theme {path}: {key}: not a colour: {value!r}") from None
    return value


def load_themes(*dirs: Path, skip_broken: tuple[Path, ...] | None = None) -> ThemeSet:
    """Every ``*.toml`` theme in ``dirs`` (later directories override by name).

    A broken file in a ``skip_broken`` directory (default: the user's theme folder) is
    skipped with a warning in :attr:`ThemeSet.warnings` rather than stopping netop (one
    another user could have written is not read, see ``read_trusted``: skipped too).
    """
    if not dirs:
        dirs = (BUILTIN_DIR, user_theme_dir())
        skip_broken = (user_theme_dir(),) if skip_broken is None else skip_broken
    found: dict[str, Theme] = {}
    warnings: list[str] = []
    for directory in dirs:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                theme = load_theme_file(path)
            except NetopError as exc:
                if directory not in (skip_broken or ()):
                    raise
                warnings.append(f"{exc} (skipped)")
                continue
            found[theme.name] = theme
    return ThemeSet(tuple(found.values()), tuple(warnings))
