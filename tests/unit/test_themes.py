"""Themes are data files; the stylesheet uses theme variables only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netop.errors import NetopError
from netop.ui.themes import BUILTIN_DIR, NETOP_VARIABLES, load_theme_file, load_themes

STYLESHEET = Path(__file__).resolve().parents[2] / "netop" / "ui" / "netop.tcss"


def test_three_themes_ship_dark_light_and_high_contrast() -> None:
    themes = load_themes(BUILTIN_DIR)
    assert {"netop-dark", "netop-light", "netop-contrast"} <= set(themes.names)
    by_name = {t.name: t for t in themes.themes}
    assert by_name["netop-dark"].dark
    assert not by_name["netop-light"].dark
    for theme in themes.themes:
        assert set(NETOP_VARIABLES) <= set(theme.variables)


def test_theme_cycle_wraps_around() -> None:
    themes = load_themes(BUILTIN_DIR)
    names = themes.names
    assert themes.after(names[-1]) == names[0]
    assert themes.after(names[0]) == names[1]


def test_unknown_theme_lists_the_available_ones() -> None:
    with pytest.raises(NetopError, match="available: .*netop-dark"):
        load_themes(BUILTIN_DIR).check("solarised-ish")


def test_user_themes_override_and_extend(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text('name = "mine"\nprimary = "#112233"\n')
    themes = load_themes(BUILTIN_DIR, tmp_path)
    assert "mine" in themes.names


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('name = "x"\n', "primary colour is required"),
        ('name = "x"\nprimary = "not-a-colour"\n', "primary: not a colour"),
        ('name = "x"\nprimary = "#fff"\nvariables = 3\n', "variables must be a table"),
        ("primary = [", "theme"),
    ],
)
def test_broken_theme_file_is_one_clear_error(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(NetopError, match=re.escape(fragment)):
        load_theme_file(path)


def test_stylesheet_has_no_literal_colours() -> None:
    css = re.sub(r"/\*.*?\*/", "", STYLESHEET.read_text(), flags=re.S)
    assert not re.search(r"#[0-9a-fA-F]{3,8}\b", css)
    assert not re.search(r"\b(rgb|hsl)a?\(", css)
    values = re.findall(r"(?<![-\w])(?:color|background|border|border-title-color):\s*([^;]+);",
                        css)
    assert values
    kinds = {"round", "solid", "none", "tall", "wide", "heavy"}
    for value in values:
        for token in value.split():
            assert token.startswith("$") or token in kinds or token.endswith("%"), value


def test_top_level_themes_are_the_packaged_ones() -> None:
    """``themes/`` is what a user reads and copies; ``netop/themes`` is what pip installs.
    Two real copies (no symlink that works in one checkout only) that cannot drift."""
    top = Path(__file__).resolve().parents[2] / "themes"
    shipped = {p.name: p.read_bytes() for p in sorted(BUILTIN_DIR.glob("*.toml"))}
    readable = {p.name: p.read_bytes() for p in sorted(top.iterdir()) if p.is_file()}
    assert set(shipped) == {"netop-dark.toml", "netop-light.toml", "netop-contrast.toml"}
    assert readable == shipped
    assert not [p for p in top.iterdir() if p.is_symlink()]


def test_builtin_themes_are_package_data() -> None:
    """An installed (non-editable) netop finds its themes inside the package."""
    import tomllib

    import netop

    package = Path(netop.__file__).resolve().parent
    assert BUILTIN_DIR.resolve().parent == package
    pyproject = tomllib.loads((package.parent / "pyproject.toml").read_text())
    assert "themes/*.toml" in pyproject["tool"]["setuptools"]["package-data"]["netop"]
