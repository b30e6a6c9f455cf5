"""Hostile text from the network becomes one line of literal, printable text."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from netop.text import MAX_COMBINING, REPLACEMENT, safe_text

HOSTILE = [
    "\x1b[31mred\x1b[0m.example.com",
    "\x1b]0;pwned\x07title",
    "\x1b[2J\x1b[Hclear",
    "[red]x[/]",
    "[link=http://evil]click[/link]",
    "line1\nline2\r\n",
    "tab\there",
    "abc\u202edcba.moc",  # right-to-left override
    "zero\u200bwidth\ufeff",
    "\u2066isolate\u2069",
    "c1\x9b31m",
    "del\x7f",
    "nul\x00byte",
    "surrogate\ud800",
    "private\ue000",
    "e" + "\u0301" * 500,
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_is_printable_single_line(hostile: str) -> None:
    safe = safe_text(hostile)
    assert safe.isprintable()
    assert "\n" not in safe
    assert "\x1b" not in safe
    assert "\x9b" not in safe
    assert not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in safe)


def test_specific_replacements() -> None:
    assert safe_text("\x1b[31mred") == f"{REPLACEMENT}[31mred"
    assert safe_text("a\nb\tc") == "a b c"
    assert safe_text("abc\u202edcba") == f"abc{REPLACEMENT}dcba"
    assert safe_text("e" + "\u0301" * 10) == "e" + "\u0301" * MAX_COMBINING
    assert safe_text("\u0301x") == "x"
    assert safe_text("[red]x[/]") == "[red]x[/]"  # markup stays literal text
    assert safe_text("www.example.com") == "www.example.com"
    assert safe_text("Zürich-ü.example") == "Zürich-ü.example"
    assert safe_text(b"\xff\x1bok") == f"{REPLACEMENT}{REPLACEMENT}ok"
    assert safe_text(42) == "42"


def test_length_limit() -> None:
    assert safe_text("a" * 300) == "a" * 252 + "…"
    assert len(safe_text("é" * 10_000, limit=20)) == 20
    assert safe_text("abc", limit=3) == "abc"
    assert len(safe_text("\x1b" * 10_000, limit=8)) == 8


def test_rich_shows_hostile_name_literally() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="truecolor", width=200)
    hostile = "[bold red]x[/]\x1b[2J\x1b]0;t\x07.example"
    console.print(Text(safe_text(hostile)))
    printed = out.getvalue()
    assert "[bold red]x[/]" in printed
    assert "\x1b[2J" not in printed
    assert "\x1b]0;" not in printed


@given(st.text(max_size=400), st.integers(1, 300))
def test_any_text_is_safe(text: str, limit: int) -> None:
    safe = safe_text(text, limit)
    assert len(safe) <= limit
    assert safe.isprintable()
