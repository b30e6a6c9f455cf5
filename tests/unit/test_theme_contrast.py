"""Every shipped theme is readable: WCAG AA (4.5:1) for each text/background pair the
stylesheets use (netop.tcss, the header, footer, filter bar, help, the cursor row)."""

from __future__ import annotations

import pytest
from textual.color import Color

from netop.ui.themes import BUILTIN_DIR, load_themes

AA = 4.5

#: (text variable, background variable) as the stylesheets pair them.
PAIRS = (
    ("foreground", "background"),  # pane text, border titles
    ("foreground", "surface"),  # help text, filter input
    ("netop-dim", "background"),  # column headers, dim cells
    ("netop-rx", "background"),
    ("netop-tx", "background"),
    ("warning", "background"),
    ("error", "background"),
    ("success", "background"),
    ("accent", "background"),  # the all row, group headers
    ("primary", "surface"),  # help title
    ("primary", "background"),  # detail screen sections
    ("error", "surface"),  # filter input, invalid
    ("success", "surface"),  # filter input, valid
    ("netop-dim", "surface"),  # filter verdict
    ("footer-foreground", "footer-background"),  # header bar, filter label
    ("footer-key-foreground", "footer-background"),
    ("footer-description-foreground", "footer-background"),
)

#: Text shown on the cursor row (``$netop-cursor``).
CURSOR_TEXT = ("foreground", "netop-rx", "netop-tx", "accent")

THEMES = load_themes(BUILTIN_DIR).themes


def luminance(colour: Color) -> float:
    """WCAG relative luminance."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.r) + 0.7152 * channel(colour.g) + 0.0722 * channel(colour.b)


def contrast(a: Color, b: Color) -> float:
    """WCAG contrast ratio of two opaque colours."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_of_known_pairs() -> None:
    assert contrast(Color(0, 0, 0), Color(255, 255, 255)) == pytest.approx(21)
    assert contrast(Color(255, 255, 255), Color(255, 255, 255)) == pytest.approx(1)


@pytest.mark.parametrize("theme", THEMES, ids=[t.name for t in THEMES])
def test_every_text_pair_meets_aa(theme: object) -> None:
    variables = {**theme.to_color_system().generate(), **theme.variables}  # type: ignore[attr-defined]
    used = {name for pair in PAIRS for name in pair} | {*CURSOR_TEXT, "netop-cursor"}
    colour = {k: Color.parse(variables[k]) for k in used}
    cursor = colour["netop-cursor"]
    failures = [f"{fg} on {bg}: {contrast(colour[fg], colour[bg]):.2f}"
                for fg, bg in PAIRS if contrast(colour[fg], colour[bg]) < AA]
    failures += [f"{fg} on cursor row: {contrast(colour[fg], cursor):.2f}"
                 for fg in CURSOR_TEXT if contrast(colour[fg], cursor) < AA]
    assert not failures, failures
